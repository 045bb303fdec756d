package render

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// NewFrame allocates an I420 frame of w×h pixels. I420 subsamples chroma
// 2×2, so w and h must be positive and even; odd sizes are rejected rather
// than padded so that the frame size always equals what the encoder is told.
func NewFrame(w, h int) (*Frame, error) {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("render: frame size %dx%d: width and height must be positive and even", w, h)
	}
	cw, ch := w/2, h/2
	buf := make([]byte, w*h+2*cw*ch)
	return &Frame{
		Width:  w,
		Height: h,
		Y:      buf[: w*h : w*h],
		U:      buf[w*h : w*h+cw*ch : w*h+cw*ch],
		V:      buf[w*h+cw*ch:],
	}, nil
}

// BT.601 limited-range coefficients in 16.16 fixed point (the studio-swing
// matrix scaled by 1/255): Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255,
// U = 128 + (-37.797 R - 74.203 G + 112 B)/255,
// V = 128 + (112 R - 93.786 G - 18.214 B)/255.
// The U and V rows sum to zero so that greys give exactly 128.
const (
	yR, yG, yB = 16829, 33039, 6416
	uR, uG, uB = -9714, -19070, 28784
	vR, vG, vB = 28784, -24103, -4681
)

// minRowPairsPerWorker keeps tiny frames on one goroutine.
const minRowPairsPerWorker = 32

// ConvertRGBA converts a tightly packed w×h RGBA8 image (alpha ignored) into
// dst as I420, BT.601 limited range. Chroma is the average of each 2×2
// block. With flipY the first row of rgba is the bottom of the picture, as
// glReadPixels returns it. dst must have been made by NewFrame(w, h) (or
// have the same sizes); rgba must hold at least w*h*4 bytes.
//
// The work is split by rows across up to runtime.GOMAXPROCS(0) goroutines.
func ConvertRGBA(dst *Frame, rgba []byte, w, h int, flipY bool) error {
	if err := CheckConvert(dst, rgba, w, h); err != nil {
		return err
	}
	pairs := h / 2
	n := runtime.GOMAXPROCS(0)
	if m := pairs / minRowPairsPerWorker; n > m {
		n = m
	}
	if n <= 1 {
		convertRows(dst, rgba, w, h, flipY, 0, pairs)
		return nil
	}
	var wg sync.WaitGroup
	per := (pairs + n - 1) / n
	for lo := per; lo < pairs; lo += per {
		hi := min(lo+per, pairs)
		wg.Add(1)
		go func() {
			defer wg.Done()
			convertRows(dst, rgba, w, h, flipY, lo, hi)
		}()
	}
	convertRows(dst, rgba, w, h, flipY, 0, min(per, pairs))
	wg.Wait()
	return nil
}

// CheckConvert checks the arguments of an RGBA→I420 conversion (of
// ConvertRGBA, or of another converter with its contract): w and h
// positive and even, dst a w×h frame as NewFrame makes, rgba at least
// w*h*4 bytes.
func CheckConvert(dst *Frame, rgba []byte, w, h int) error {
	if dst == nil {
		return errors.New("render: convert: nil frame")
	}
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("render: convert: size %dx%d: width and height must be positive and even", w, h)
	}
	if dst.Width != w || dst.Height != h || len(dst.Y) < w*h || len(dst.U) < w*h/4 || len(dst.V) < w*h/4 {
		return fmt.Errorf("render: convert: frame is %dx%d, image is %dx%d", dst.Width, dst.Height, w, h)
	}
	if len(rgba) < w*h*4 {
		return fmt.Errorf("render: convert: rgba has %d bytes, want %d", len(rgba), w*h*4)
	}
	return nil
}

// convertRows converts row pairs [lo, hi) of the output.
func convertRows(dst *Frame, rgba []byte, w, h int, flipY bool, lo, hi int) {
	stride := w * 4
	cw := w / 2
	for p := lo; p < hi; p++ {
		y0 := 2 * p
		s0, s1 := y0, y0+1
		if flipY {
			s0, s1 = h-1-y0, h-2-y0
		}
		r0 := rgba[s0*stride : s0*stride+stride]
		r1 := rgba[s1*stride : s1*stride+stride]
		d0 := dst.Y[y0*w : y0*w+w]
		d1 := dst.Y[(y0+1)*w : (y0+1)*w+w]
		du := dst.U[p*cw : p*cw+cw]
		dv := dst.V[p*cw : p*cw+cw]
		for x := range cw {
			a := r0[x*8 : x*8+8 : x*8+8]
			b := r1[x*8 : x*8+8 : x*8+8]
			ra, ga, ba := int32(a[0]), int32(a[1]), int32(a[2])
			rb, gb, bb := int32(a[4]), int32(a[5]), int32(a[6])
			rc, gc, bc := int32(b[0]), int32(b[1]), int32(b[2])
			rd, gd, bd := int32(b[4]), int32(b[5]), int32(b[6])
			yy := d0[2*x : 2*x+2 : 2*x+2]
			yy[0] = byte((yR*ra + yG*ga + yB*ba + (16<<16 + 1<<15)) >> 16)
			yy[1] = byte((yR*rb + yG*gb + yB*bb + (16<<16 + 1<<15)) >> 16)
			yy = d1[2*x : 2*x+2 : 2*x+2]
			yy[0] = byte((yR*rc + yG*gc + yB*bc + (16<<16 + 1<<15)) >> 16)
			yy[1] = byte((yR*rd + yG*gd + yB*bd + (16<<16 + 1<<15)) >> 16)
			sr, sg, sb := ra+rb+rc+rd, ga+gb+gc+gd, ba+bb+bc+bd
			du[x] = byte((uR*sr + uG*sg + uB*sb + (128<<18 + 1<<17)) >> 18)
			dv[x] = byte((vR*sr + vG*sg + vB*sb + (128<<18 + 1<<17)) >> 18)
		}
	}
}
