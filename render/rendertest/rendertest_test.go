package rendertest_test

import (
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/rendertest"
)

func TestYawLuma(t *testing.T) {
	dev := render.DefaultDevice(320, 240)
	for _, tc := range []struct {
		yawDeg float64
		want   byte
	}{{0, 16}, {90, 126}, {-90, 126}, {180, 235}} {
		p := pose.Identity()
		p.Orientation = mgl64.QuatRotate(tc.yawDeg*math.Pi/180, mgl64.Vec3{0, 1, 0})
		if got := rendertest.YawLuma(dev.Views(p).Left); got < tc.want-2 || got > tc.want+2 {
			t.Errorf("yaw %v°: luma %d, want about %d", tc.yawDeg, got, tc.want)
		}
	}
}

func TestRenderer(t *testing.T) {
	var f rendertest.Factory
	if _, err := f.NewRenderer(10, 10); err == nil {
		t.Error("NewRenderer(10, 10): want an error for a width not a multiple of 4")
	}
	r, err := f.NewRenderer(64, 32)
	if err != nil {
		t.Fatal(err)
	}
	dev := render.DefaultDevice(32, 32)
	fr, err := r.Render(dev.Views(pose.Identity()))
	if err != nil {
		t.Fatal(err)
	}
	if fr.Width != 64 || fr.Height != 32 || len(fr.Y) != 64*32 || len(fr.U) != 32*16 || fr.Y[100] != 16 || fr.U[0] != 128 {
		t.Errorf("frame %dx%d Y[100]=%d U[0]=%d", fr.Width, fr.Height, fr.Y[100], fr.U[0])
	}
	if err := r.(render.Resizer).SetSize(128, 64); err != nil {
		t.Fatal(err)
	}
	if fr, _ = r.Render(dev.Views(pose.Identity())); fr.Width != 128 || len(fr.Y) != 128*64 {
		t.Errorf("after SetSize: %dx%d", fr.Width, fr.Height)
	}
	if n := len(f.Renderers()[0].Views()); n != 2 || f.Open() != 1 {
		t.Errorf("views %d, open %d", n, f.Open())
	}
	_ = r.Close()
	if _, err := r.Render(render.StereoViews{}); err == nil || f.Open() != 0 {
		t.Errorf("Render after Close: %v; open %d", err, f.Open())
	}
}
