package yuv_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/yuv"
)

// maxDiff is the largest difference between two planes' samples.
func maxDiff(a, b []byte) int {
	d := 0
	for i := range a {
		d = max(d, max(int(a[i])-int(b[i]), int(b[i])-int(a[i])))
	}
	return d
}

// TestMatchesGo: on solid colours and random images, with and without
// the flip, libyuv's conversion gives render.ConvertRGBA's samples within
// rounding (Y within 1, U and V within 2), at the node's frame sizes.
func TestMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type img struct {
		name string
		fill func(p []byte)
	}
	solid := func(r, g, b byte) func(p []byte) {
		return func(p []byte) {
			for i := 0; i < len(p); i += 4 {
				p[i], p[i+1], p[i+2], p[i+3] = r, g, b, 255
			}
		}
	}
	imgs := []img{
		{"white", solid(255, 255, 255)}, {"black", solid(0, 0, 0)}, {"grey", solid(128, 128, 128)},
		{"red", solid(255, 0, 0)}, {"green", solid(0, 255, 0)}, {"blue", solid(0, 0, 255)},
		{"random", func(p []byte) {
			for i := range p {
				p[i] = byte(rng.IntN(256))
			}
		}},
		{"gradient", func(p []byte) {
			for i := 0; i < len(p); i += 4 {
				p[i], p[i+1], p[i+2], p[i+3] = byte(i/4), byte(i/16), byte(i/64), 255
			}
		}},
	}
	for _, sz := range [][2]int{{2, 2}, {64, 48}, {640, 360}, {1280, 720}} {
		for _, im := range imgs {
			for _, flip := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%d/%s/flip=%v", sz[0], sz[1], im.name, flip), func(t *testing.T) {
					w, h := sz[0], sz[1]
					rgba := make([]byte, w*h*4)
					im.fill(rgba)
					want, _ := render.NewFrame(w, h)
					got, _ := render.NewFrame(w, h)
					if err := render.ConvertRGBA(want, rgba, w, h, flip); err != nil {
						t.Fatal(err)
					}
					if err := yuv.ConvertRGBA(got, rgba, w, h, flip); err != nil {
						t.Fatal(err)
					}
					if d := maxDiff(got.Y, want.Y); d > 1 {
						t.Errorf("Y differs by up to %d", d)
					}
					if d := max(maxDiff(got.U, want.U), maxDiff(got.V, want.V)); d > 2 {
						t.Errorf("U/V differ by up to %d", d)
					}
				})
			}
		}
	}
}

// TestFlip: with flipY the bottom row of the image is the top of the
// frame.
func TestFlip(t *testing.T) {
	w, h := 4, 4
	rgba := make([]byte, w*h*4)
	for i := 0; i < w*2*4; i += 4 { // the first two rows white, the rest black
		rgba[i], rgba[i+1], rgba[i+2] = 255, 255, 255
	}
	for _, c := range []struct {
		flip        bool
		top, bottom byte
	}{{false, 235, 16}, {true, 16, 235}} {
		f, _ := render.NewFrame(w, h)
		if err := yuv.ConvertRGBA(f, rgba, w, h, c.flip); err != nil {
			t.Fatal(err)
		}
		if f.Y[0] != c.top || f.Y[w*h-1] != c.bottom {
			t.Errorf("flip %v: top-left Y %d, bottom-right Y %d, want %d and %d", c.flip, f.Y[0], f.Y[w*h-1], c.top, c.bottom)
		}
	}
}

// TestErrors: what render.ConvertRGBA refuses, this refuses too, before
// libyuv reads or writes anything.
func TestErrors(t *testing.T) {
	f, _ := render.NewFrame(4, 4)
	for _, c := range []struct {
		name string
		dst  *render.Frame
		rgba []byte
		w, h int
	}{
		{"nil frame", nil, make([]byte, 64), 4, 4},
		{"odd width", f, make([]byte, 64), 3, 4},
		{"zero height", f, make([]byte, 64), 4, 0},
		{"frame of another size", f, make([]byte, 256), 8, 8},
		{"short image", f, make([]byte, 63), 4, 4},
	} {
		if err := yuv.ConvertRGBA(c.dst, c.rgba, c.w, c.h, true); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// BenchmarkConvert compares libyuv with the portable Go conversion (two
// goroutines) at the node's frame sizes: ms per frame and the ratio.
func BenchmarkConvert(b *testing.B) {
	for _, sz := range [][2]int{{1280, 720}, {1920, 1080}} {
		w, h := sz[0], sz[1]
		rgba := make([]byte, w*h*4)
		for i := range rgba {
			rgba[i] = byte(i * 7)
		}
		f, _ := render.NewFrame(w, h)
		for _, impl := range []struct {
			name string
			conv func(*render.Frame, []byte, int, int, bool) error
		}{{"libyuv", yuv.ConvertRGBA}, {"go", render.ConvertRGBA}} {
			b.Run(fmt.Sprintf("%dx%d/%s", w, h, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(rgba)))
				for b.Loop() {
					if err := impl.conv(f, rgba, w, h, true); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
