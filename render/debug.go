package render

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
)

// RGBA converts the frame back to an RGBA image (BT.601 limited range,
// nearest chroma). It is meant for debugging and tests, not the hot path.
func (f *Frame) RGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	cw := f.Width / 2
	clamp := func(v int32) uint8 {
		if v < 0 {
			return 0
		}
		if v > 255 {
			return 255
		}
		return uint8(v)
	}
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			c := 1192 * (int32(f.Y[y*f.Width+x]) - 16)
			u := int32(f.U[(y/2)*cw+x/2]) - 128
			v := int32(f.V[(y/2)*cw+x/2]) - 128
			// 1.164, 1.596, 0.392, 0.813, 2.017 in 10-bit fixed point.
			r := (c + 1634*v + 512) >> 10
			g := (c - 401*u - 832*v + 512) >> 10
			b := (c + 2066*u + 512) >> 10
			i := img.PixOffset(x, y)
			img.Pix[i+0], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = clamp(r), clamp(g), clamp(b), 255
		}
	}
	return img
}

// EncodePNG writes the frame as a PNG image (see RGBA).
func (f *Frame) EncodePNG(w io.Writer) error {
	if err := png.Encode(w, f.RGBA()); err != nil {
		return fmt.Errorf("render: encode png: %w", err)
	}
	return nil
}

// WritePNG writes the frame to a PNG file at path, for looking at what a
// renderer produced.
func WritePNG(path string, f *Frame) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("render: write png: %w", err)
	}
	if err := f.EncodePNG(file); err != nil {
		_ = file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("render: write png: %w", err)
	}
	return nil
}
