package session

import (
	"fmt"
	"math"

	"github.com/go-gl/mathgl/mgl32"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render"
)

// Limits bounds what a client may ask for.
type Limits struct {
	// MaxWidth and MaxHeight bound the side-by-side frame.
	MaxWidth, MaxHeight int
	// MaxFPS bounds the frame rate.
	MaxFPS int
}

// DefaultLimits allow up to 2×1440×1600 at 90 Hz.
var DefaultLimits = Limits{MaxWidth: 2 * 1440, MaxHeight: 1600, MaxFPS: 90}

// Output is what the frame loop renders: size, rate and optics.
type Output struct {
	Width, Height int
	FPS           int
	Device        render.Device
}

// applyDeviceConfig returns cur changed as the client asks, validated and
// clamped to lim. The width is rounded down to a multiple of 4 (each eye a
// whole number of I420 chroma blocks), the height to an even number.
func applyDeviceConfig(cur Output, m *holocastv1.DeviceConfig, lim Limits) (Output, error) {
	out := cur
	if w, h := int(m.GetWidth()), int(m.GetHeight()); w != 0 || h != 0 {
		if w < 64 || h < 64 {
			return cur, fmt.Errorf("%w: size %dx%d below 64x64", ErrBadDeviceConfig, w, h)
		}
		out.Width = min(w, lim.MaxWidth) &^ 3
		out.Height = min(h, lim.MaxHeight) &^ 1
	}
	if f := int(m.GetMaxFps()); f != 0 {
		out.FPS = max(1, min(f, lim.MaxFPS))
	}
	if r := m.GetRefreshRateHz(); r != 0 {
		if !finite32(r) || r < 0 || r > 1000 {
			return cur, fmt.Errorf("%w: refresh rate %g Hz", ErrBadDeviceConfig, r)
		}
	}
	d := render.DefaultDevice(out.Width/2, out.Height)
	if ipd := m.GetIpdM(); ipd != 0 {
		if !finite32(ipd) || ipd < 0.03 || ipd > 0.10 {
			return cur, fmt.Errorf("%w: ipd %g m outside [0.03, 0.10]", ErrBadDeviceConfig, ipd)
		}
		d.IPD = float64(ipd)
	}
	var err error
	if d.Left, err = eyeParams(d.Left, m.GetLeft(), "left"); err != nil {
		return cur, err
	}
	if d.Right, err = eyeParams(d.Right, m.GetRight(), "right"); err != nil {
		return cur, err
	}
	out.Device = d
	return out, nil
}

func eyeParams(def render.EyeParams, v *holocastv1.EyeView, which string) (render.EyeParams, error) {
	if v == nil {
		return def, nil
	}
	out := def
	if f := v.GetFov(); f != nil {
		const maxHalf = 85 * math.Pi / 180
		a := []float32{f.GetLeft(), f.GetRight(), f.GetUp(), f.GetDown()}
		for _, x := range a {
			if !finite32(x) || x <= 0 || x > maxHalf {
				return def, fmt.Errorf("%w: %s eye fov half-angle %g rad not in (0, 85°]", ErrBadDeviceConfig, which, x)
			}
		}
		out.FOV = render.FOV{Left: float64(a[0]), Right: float64(a[1]), Up: float64(a[2]), Down: float64(a[3])}
	}
	if pm := v.GetProjectionMatrix(); len(pm) != 0 {
		if len(pm) != 16 {
			return def, fmt.Errorf("%w: %s eye projection has %d values, want 16", ErrBadDeviceConfig, which, len(pm))
		}
		var p mgl32.Mat4
		for i, x := range pm {
			if !finite32(x) {
				return def, fmt.Errorf("%w: %s eye projection not finite", ErrBadDeviceConfig, which)
			}
			p[i] = x
		}
		if p.Det() == 0 {
			return def, fmt.Errorf("%w: %s eye projection is singular", ErrBadDeviceConfig, which)
		}
		out.Projection = &p
	}
	if o := v.GetOffset(); o != nil {
		off := wire.Vec3FromProto(o)
		if !finite32(o.GetX(), o.GetY(), o.GetZ()) || off.Len() > 0.2 {
			return def, fmt.Errorf("%w: %s eye offset %v not within 0.2 m of the head", ErrBadDeviceConfig, which, off)
		}
		out.Offset = &off
	}
	return out, nil
}

func finite32(xs ...float32) bool {
	for _, x := range xs {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
