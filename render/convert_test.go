package render

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

func solid(w, h int, r, g, b byte) []byte {
	p := make([]byte, w*h*4)
	for i := 0; i < len(p); i += 4 {
		p[i], p[i+1], p[i+2], p[i+3] = r, g, b, 255
	}
	return p
}

func TestNewFrame(t *testing.T) {
	for _, sz := range [][2]int{{0, 2}, {2, 0}, {3, 2}, {2, 3}, {-2, 2}} {
		if _, err := NewFrame(sz[0], sz[1]); err == nil {
			t.Errorf("NewFrame(%d,%d): want error", sz[0], sz[1])
		}
	}
	f, err := NewFrame(6, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Y) != 24 || len(f.U) != 6 || len(f.V) != 6 || cap(f.Y) != 24 || cap(f.U) != 6 {
		t.Errorf("plane sizes %d %d %d", len(f.Y), len(f.U), len(f.V))
	}
}

func TestConvertColours(t *testing.T) {
	tests := []struct {
		name    string
		r, g, b byte
		y, u, v byte
	}{
		{"white", 255, 255, 255, 235, 128, 128},
		{"black", 0, 0, 0, 16, 128, 128},
		{"grey", 128, 128, 128, 126, 128, 128},
		{"red", 255, 0, 0, 81, 90, 240},
		{"green", 0, 255, 0, 145, 54, 34},
		{"blue", 0, 0, 255, 41, 240, 110},
		{"yellow", 255, 255, 0, 210, 16, 146},
	}
	for _, tc := range tests {
		for _, sz := range [][2]int{{2, 2}, {64, 48}, {640, 360}} {
			t.Run(fmt.Sprintf("%s/%dx%d", tc.name, sz[0], sz[1]), func(t *testing.T) {
				w, h := sz[0], sz[1]
				f, _ := NewFrame(w, h)
				if err := ConvertRGBA(f, solid(w, h, tc.r, tc.g, tc.b), w, h, true); err != nil {
					t.Fatal(err)
				}
				for i, y := range f.Y {
					if y != tc.y {
						t.Fatalf("Y[%d] = %d, want %d", i, y, tc.y)
					}
				}
				for i := range f.U {
					if f.U[i] != tc.u || f.V[i] != tc.v {
						t.Fatalf("U,V[%d] = %d,%d, want %d,%d", i, f.U[i], f.V[i], tc.u, tc.v)
					}
				}
			})
		}
	}
}

func TestConvertChromaAverageAndFlip(t *testing.T) {
	// 2x4 image: top 2x2 block white, bottom 2x2 block: red, black / black, black.
	w, h := 2, 4
	img := make([]byte, w*h*4)
	set := func(x, y int, r, g, b byte) {
		i := (y*w + x) * 4
		img[i], img[i+1], img[i+2] = r, g, b
	}
	set(0, 0, 255, 255, 255)
	set(1, 0, 255, 255, 255)
	set(0, 1, 255, 255, 255)
	set(1, 1, 255, 255, 255)
	set(0, 2, 255, 0, 0)
	f, _ := NewFrame(w, h)
	if err := ConvertRGBA(f, img, w, h, false); err != nil {
		t.Fatal(err)
	}
	if f.Y[0] != 235 || f.Y[4] != 81 || f.Y[5] != 16 {
		t.Errorf("Y = %v", f.Y)
	}
	// Average of one red and three blacks: U = 128 - 37.797/4, V = 128 + 28.
	if f.U[0] != 128 || f.V[0] != 128 || f.U[1] != 119 || f.V[1] != 156 {
		t.Errorf("U = %v V = %v", f.U, f.V)
	}
	g, _ := NewFrame(w, h)
	if err := ConvertRGBA(g, img, w, h, true); err != nil {
		t.Fatal(err)
	}
	// Flipped: row y of g is row h-1-y of f.
	for y := range h {
		for x := range w {
			if g.Y[y*w+x] != f.Y[(h-1-y)*w+x] {
				t.Fatalf("flip mismatch at %d,%d", x, y)
			}
		}
	}
	if g.U[0] != f.U[1] || g.V[1] != f.V[0] {
		t.Errorf("chroma not flipped: %v %v / %v %v", g.U, g.V, f.U, f.V)
	}
}

// TestConvertParallelMatchesSerial checks that the row split across
// goroutines gives the same bytes as one goroutine, on a size whose row
// pairs do not divide evenly.
func TestConvertParallelMatchesSerial(t *testing.T) {
	w, h := 642, 362
	img := make([]byte, w*h*4)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img {
		img[i] = byte(rng.IntN(256))
	}
	a, _ := NewFrame(w, h)
	b, _ := NewFrame(w, h)
	old := runtime.GOMAXPROCS(1)
	err := ConvertRGBA(a, img, w, h, true)
	runtime.GOMAXPROCS(4)
	err2 := ConvertRGBA(b, img, w, h, true)
	runtime.GOMAXPROCS(old)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	for i := range a.Y {
		if a.Y[i] != b.Y[i] {
			t.Fatalf("Y differs at %d", i)
		}
	}
	for i := range a.U {
		if a.U[i] != b.U[i] || a.V[i] != b.V[i] {
			t.Fatalf("UV differs at %d", i)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	f, _ := NewFrame(4, 4)
	if ConvertRGBA(nil, make([]byte, 64), 4, 4, false) == nil {
		t.Error("nil frame: want error")
	}
	if ConvertRGBA(f, make([]byte, 63), 4, 4, false) == nil {
		t.Error("short rgba: want error")
	}
	if ConvertRGBA(f, make([]byte, 4*6*4), 4, 6, false) == nil {
		t.Error("size mismatch: want error")
	}
	if ConvertRGBA(f, make([]byte, 64), 3, 4, false) == nil {
		t.Error("odd width: want error")
	}
}

func TestFrameRGBARoundTrip(t *testing.T) {
	f, _ := NewFrame(4, 4)
	_ = ConvertRGBA(f, solid(4, 4, 200, 60, 30), 4, 4, false)
	c := f.RGBA().RGBAAt(1, 1)
	if d := int(c.R) - 200; d < -3 || d > 3 {
		t.Errorf("round trip %v", c)
	}
	if d := int(c.G) - 60; d < -3 || d > 3 {
		t.Errorf("round trip %v", c)
	}
}

func BenchmarkConvert(b *testing.B) {
	for _, sz := range [][2]int{{1280, 720}, {1920, 1080}} {
		w, h := sz[0], sz[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			img := make([]byte, w*h*4)
			for i := range img {
				img[i] = byte(i * 7)
			}
			f, _ := NewFrame(w, h)
			b.SetBytes(int64(len(img)))
			b.ResetTimer()
			for b.Loop() {
				if err := ConvertRGBA(f, img, w, h, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}
