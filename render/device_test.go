package render

import (
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
)

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

func TestViews(t *testing.T) {
	d := DefaultDevice(640, 720)
	yaw90 := mgl64.QuatRotate(math.Pi/2, mgl64.Vec3{0, 1, 0})
	tests := []struct {
		name string
		pose pose.Pose
		// world point (w=1) or direction (w=0) and where the left eye
		// should see it in eye space.
		in, wantLeft, wantRight mgl64.Vec4
	}{
		{"identity origin", pose.Identity(), mgl64.Vec4{0, 0, 0, 1}, mgl64.Vec4{0.0315, 0, 0, 1}, mgl64.Vec4{-0.0315, 0, 0, 1}},
		{"identity forward", pose.Identity(), mgl64.Vec4{0, 0, -1, 0}, mgl64.Vec4{0, 0, -1, 0}, mgl64.Vec4{0, 0, -1, 0}},
		{"yaw90 world -X is forward", pose.Pose{Orientation: yaw90}, mgl64.Vec4{-1, 0, 0, 0}, mgl64.Vec4{0, 0, -1, 0}, mgl64.Vec4{0, 0, -1, 0}},
		{"yaw90 world -Z is right", pose.Pose{Orientation: yaw90}, mgl64.Vec4{0, 0, -1, 0}, mgl64.Vec4{1, 0, 0, 0}, mgl64.Vec4{1, 0, 0, 0}},
		{"translated head", pose.Pose{Orientation: mgl64.QuatIdent(), Position: mgl64.Vec3{1, 1.6, 2}}, mgl64.Vec4{1, 1.6, 2, 1}, mgl64.Vec4{0.0315, 0, 0, 1}, mgl64.Vec4{-0.0315, 0, 0, 1}},
		{"zero quaternion is identity", pose.Pose{}, mgl64.Vec4{0, 0, -1, 0}, mgl64.Vec4{0, 0, -1, 0}, mgl64.Vec4{0, 0, -1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := d.Views(tc.pose)
			in := mgl32.Vec4{float32(tc.in[0]), float32(tc.in[1]), float32(tc.in[2]), float32(tc.in[3])}
			for _, e := range []struct {
				name string
				m    mgl32.Mat4
				want mgl64.Vec4
			}{{"left", v.Left.View, tc.wantLeft}, {"right", v.Right.View, tc.wantRight}} {
				got := e.m.Mul4x1(in)
				for i := range 4 {
					if !near(float64(got[i]), e.want[i], 1e-5) {
						t.Errorf("%s eye: got %v, want %v", e.name, got, e.want)
						break
					}
				}
			}
		})
	}
}

func TestViewsLeftTranslation(t *testing.T) {
	v := DefaultDevice(640, 720).Views(pose.Identity())
	if got := v.Left.View.Col(3).X(); !near(float64(got), DefaultIPD/2, 1e-7) {
		t.Errorf("left view translation x = %v, want +IPD/2", got)
	}
	if got := v.Right.View.Col(3).X(); !near(float64(got), -DefaultIPD/2, 1e-7) {
		t.Errorf("right view translation x = %v, want -IPD/2", got)
	}
}

func TestViewsOverrides(t *testing.T) {
	d := DefaultDevice(640, 720)
	off := mgl64.Vec3{-0.05, 0.01, -0.02}
	proj := mgl32.Ortho(-1, 1, -1, 1, 0.1, 10)
	d.Left.Offset = &off
	d.Right.Projection = &proj
	v := d.Views(pose.Identity())
	got := v.Left.View.Col(3)
	if !near(float64(got[0]), 0.05, 1e-6) || !near(float64(got[1]), -0.01, 1e-6) || !near(float64(got[2]), 0.02, 1e-6) {
		t.Errorf("left view translation %v, want -offset", got)
	}
	if v.Right.Projection != proj {
		t.Errorf("right projection not overridden")
	}
}

func TestProjectionEdges(t *testing.T) {
	fovs := []FOV{
		{Left: math.Pi / 4, Right: math.Pi / 4, Up: math.Pi / 4, Down: math.Pi / 4},
		{Left: 0.9, Right: 0.7, Up: 0.8, Down: 0.95}, // asymmetric, Quest-like
		{Left: 0.3, Right: 1.1, Up: 0.5, Down: 0.6},
	}
	for _, f := range fovs {
		m := FrustumFromFOV(f, 0.05, 200)
		for _, z := range []float64{0.05, 1, 37} {
			check := func(name string, p mgl64.Vec3, axis int, want float64) {
				c := m.Mul4x1(p.Vec4(1))
				ndc := c[axis] / c[3]
				if !near(ndc, want, 1e-9) {
					t.Errorf("fov %+v z=%v %s edge: ndc %v, want %v", f, z, name, ndc, want)
				}
			}
			check("left", mgl64.Vec3{-z * math.Tan(f.Left), 0, -z}, 0, -1)
			check("right", mgl64.Vec3{z * math.Tan(f.Right), 0, -z}, 0, 1)
			check("up", mgl64.Vec3{0, z * math.Tan(f.Up), -z}, 1, 1)
			check("down", mgl64.Vec3{0, -z * math.Tan(f.Down), -z}, 1, -1)
		}
		for _, c := range []struct{ z, want float64 }{{0.05, -1}, {200, 1}} {
			p := m.Mul4x1(mgl64.Vec4{0, 0, -c.z, 1})
			if !near(p[2]/p[3], c.want, 1e-9) {
				t.Errorf("depth at %v: %v, want %v", c.z, p[2]/p[3], c.want)
			}
		}
	}
}

func TestDefaultDeviceAspect(t *testing.T) {
	for _, sz := range [][2]int{{640, 720}, {960, 1080}, {1440, 1600}, {512, 576}} {
		d := DefaultDevice(sz[0], sz[1])
		f := d.Left.FOV
		aspect := math.Tan(f.Left) / math.Tan(f.Up)
		if !near(aspect, float64(sz[0])/float64(sz[1]), 1e-9) {
			t.Errorf("%v: frustum aspect %v", sz, aspect)
		}
		if !near(f.Up, math.Pi/4, 1e-12) || d.IPD != 0.063 || d.Near != 0.05 || d.Far != 200 {
			t.Errorf("%v: unexpected device %+v", sz, d)
		}
	}
}
