package session

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render"
)

func defaultOutput() Output {
	return Output{Width: 1280, Height: 720, FPS: 30, Device: render.DefaultDevice(640, 720)}
}

func TestApplyDeviceConfig(t *testing.T) {
	deg := func(d float64) float32 { return float32(d * math.Pi / 180) }
	fov := &holocastv1.Fov{Left: deg(50), Right: deg(40), Up: deg(45), Down: deg(55)}
	proj := make([]float32, 16)
	for i := 0; i < 4; i++ {
		proj[i*5] = 1
	}
	tests := []struct {
		name  string
		in    *holocastv1.DeviceConfig
		want  error
		check func(t *testing.T, o Output)
	}{
		{name: "empty keeps defaults", in: &holocastv1.DeviceConfig{}, check: func(t *testing.T, o Output) {
			if o.Width != 1280 || o.Height != 720 || o.FPS != 30 || o.Device.IPD != render.DefaultIPD {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "size clamped and even", in: &holocastv1.DeviceConfig{Width: 9999, Height: 1001, MaxFps: 500}, check: func(t *testing.T, o Output) {
			if o.Width != DefaultLimits.MaxWidth || o.Height != 1000 || o.FPS != DefaultLimits.MaxFPS {
				t.Errorf("got %dx%d@%d", o.Width, o.Height, o.FPS)
			}
		}},
		{name: "fov and ipd", in: &holocastv1.DeviceConfig{IpdM: 0.07, Left: &holocastv1.EyeView{Fov: fov}}, check: func(t *testing.T, o Output) {
			if math.Abs(o.Device.IPD-0.07) > 1e-6 || math.Abs(o.Device.Left.FOV.Down-55*math.Pi/180) > 1e-6 {
				t.Errorf("got %+v", o.Device)
			}
			if o.Device.Right.FOV == o.Device.Left.FOV {
				t.Error("right eye took the left eye's FOV")
			}
		}},
		{name: "projection and offset", in: &holocastv1.DeviceConfig{Right: &holocastv1.EyeView{ProjectionMatrix: proj, Offset: &holocastv1.Vec3{X: 0.03}}}, check: func(t *testing.T, o Output) {
			if o.Device.Right.Projection == nil || o.Device.Right.Offset == nil || o.Device.Right.Offset[0] < 0.029 {
				t.Errorf("got %+v", o.Device.Right)
			}
		}},
		{name: "tiny size", in: &holocastv1.DeviceConfig{Width: 10, Height: 10}, want: ErrBadDeviceConfig},
		{name: "absurd ipd", in: &holocastv1.DeviceConfig{IpdM: 2}, want: ErrBadDeviceConfig},
		{name: "NaN ipd", in: &holocastv1.DeviceConfig{IpdM: float32(math.NaN())}, want: ErrBadDeviceConfig},
		{name: "fov too wide", in: &holocastv1.DeviceConfig{Left: &holocastv1.EyeView{Fov: &holocastv1.Fov{Left: 2, Right: 1, Up: 1, Down: 1}}}, want: ErrBadDeviceConfig},
		{name: "zero fov", in: &holocastv1.DeviceConfig{Left: &holocastv1.EyeView{Fov: &holocastv1.Fov{}}}, want: ErrBadDeviceConfig},
		{name: "short projection", in: &holocastv1.DeviceConfig{Left: &holocastv1.EyeView{ProjectionMatrix: []float32{1, 2}}}, want: ErrBadDeviceConfig},
		{name: "singular projection", in: &holocastv1.DeviceConfig{Left: &holocastv1.EyeView{ProjectionMatrix: make([]float32, 16)}}, want: ErrBadDeviceConfig},
		{name: "far eye offset", in: &holocastv1.DeviceConfig{Left: &holocastv1.EyeView{Offset: &holocastv1.Vec3{Z: 3}}}, want: ErrBadDeviceConfig},
		{name: "bad refresh", in: &holocastv1.DeviceConfig{RefreshRateHz: -5}, want: ErrBadDeviceConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := defaultOutput()
			got, err := applyDeviceConfig(cur, tt.in, DefaultLimits)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if got.Width != cur.Width || got.Device.IPD != cur.Device.IPD {
					t.Error("rejected config changed the output")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// FuzzDeviceConfig: any bytes from the control channel either fail to
// decode, are rejected, or yield an output within the limits.
func FuzzDeviceConfig(f *testing.F) {
	seed, _ := proto.Marshal(&holocastv1.DeviceConfig{Width: 1920, Height: 1080, IpdM: 0.064, MaxFps: 72,
		Left: &holocastv1.EyeView{Fov: &holocastv1.Fov{Left: 0.8, Right: 0.8, Up: 0.8, Down: 0.8}}})
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m holocastv1.DeviceConfig
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		o, err := applyDeviceConfig(defaultOutput(), &m, DefaultLimits)
		if err != nil {
			return
		}
		if o.Width < 64 || o.Height < 64 || o.Width > DefaultLimits.MaxWidth || o.Height > DefaultLimits.MaxHeight || o.Width%4 != 0 || o.Height%2 != 0 {
			t.Fatalf("size %dx%d", o.Width, o.Height)
		}
		if o.FPS < 1 || o.FPS > DefaultLimits.MaxFPS {
			t.Fatalf("fps %d", o.FPS)
		}
		for _, e := range []render.EyeParams{o.Device.Left, o.Device.Right} {
			fv := e.FOV
			for _, x := range []float64{fv.Left, fv.Right, fv.Up, fv.Down, o.Device.IPD} {
				if math.IsNaN(x) || math.IsInf(x, 0) || x <= 0 {
					t.Fatalf("bad optics %+v", o.Device)
				}
			}
		}
	})
}
