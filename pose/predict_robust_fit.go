package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// The fits and decays of RobustCV: velocity, acceleration and path
// straightness from the history, and the extrapolation they give.

// posVelocity estimates the linear velocity from the history.
func (f *RobustCV) posVelocity(h []sample) mgl64.Vec3 {
	n := len(h)
	last := h[n-1]
	grid := f.clock.grid
	if f.cfg.PosWindow <= 0 {
		// Difference of the last two samples over the interval of the
		// clock in use (as for the angular velocity).
		dt := (last.t - h[n-2].t).Seconds()
		if dg := grid[n-1] - grid[n-2]; f.useGrid && dg > 0 {
			dt = dg
		}
		return last.p.Sub(h[n-2].p).Mul(1 / dt)
	}
	f.ts, f.ps = f.ts[:0], f.ps[:0]
	win := f.cfg.PosWindow.Seconds()
	for i := n - 1; i >= 0; i-- {
		if grid[n-1]-grid[i] > win && len(f.ts) >= 2 {
			break
		}
		f.ts = append(f.ts, grid[i]-grid[n-1])
		f.ps = append(f.ps, h[i].p.Sub(last.p))
	}
	return fitSlope(f.ts, f.ps)
}

// straightness returns how straight the orientation path of the last
// StraightWindow of h was: net rotation / path length ∈ [0,1] (1 when
// StraightWindow is 0 or the head did not turn).
func (f *RobustCV) straightness(h []sample) float64 {
	if f.cfg.StraightWindow <= 0 {
		return 1
	}
	n := len(h)
	last := h[n-1]
	var path float64
	j := n - 1
	for j > 0 && last.t-h[j-1].t <= f.cfg.StraightWindow {
		path += quatAngle(h[j].q, h[j-1].q)
		j--
	}
	if path > 1e-9 {
		return quatAngle(last.q, h[j].q) / path
	}
	return 1
}

// fitAcceleration fits q_i·q_n⁻¹ ≈ b·t + c·t² (rotation vectors, grid
// times relative to the newest sample) over DecelWindow and sets acc =
// 2c, and decel to the rate at which the head is slowing down along its
// angular velocity w (−acc·ŵ when that is positive, else 0).
func (f *RobustCV) fitAcceleration(h []sample) {
	n := len(h)
	grid := f.clock.grid
	inv := h[n-1].q.Conjugate()
	var s2, s3, s4 float64
	var y1, y2 mgl64.Vec3
	k := 0
	for i := n - 2; i >= 0; i-- {
		t := grid[i] - grid[n-1]
		if -t > f.cfg.DecelWindow.Seconds()+1e-9 {
			break
		}
		y := quatLog(h[i].q.Mul(inv))
		s2 += t * t
		s3 += t * t * t
		s4 += t * t * t * t
		y1 = y1.Add(y.Mul(t))
		y2 = y2.Add(y.Mul(t * t))
		k++
	}
	det := s2*s4 - s3*s3
	if k < 2 || !(det > 1e-30) {
		return
	}
	acc := y2.Mul(s2).Sub(y1.Mul(s3)).Mul(2 / det)
	if !finiteVec(acc) {
		return
	}
	f.acc = acc
	if s := f.w.Len(); s > 1e-9 && f.cfg.DecelGain > 0 {
		if a := acc.Dot(f.w) / s; a < 0 {
			f.decel = -a
		}
	}
}

// extrapolate returns the world-frame rotation vector expected over the
// next tau seconds, before the learned gains.
func (f *RobustCV) extrapolate(tau float64) mgl64.Vec3 {
	var r mgl64.Vec3
	if f.cfg.TiltDecay > 0 {
		yaw, tilt := f.decayed(tau, f.cfg.Decay), f.decayed(tau, f.cfg.TiltDecay)
		r = mgl64.Vec3{f.w[0] * tilt, f.w[1] * yaw, f.w[2] * tilt}
	} else {
		r = f.w.Mul(f.decayed(tau, f.cfg.Decay))
	}
	if f.decel > 0 && tau > 0 {
		// Speed s falling at rate a: angle sτ − aτ²/2 until it stops.
		s, a := f.w.Len(), f.decel*f.cfg.DecelGain
		ang := 0.5 * s * s / a
		if stop := s / a; tau < stop {
			ang = s*tau - 0.5*a*tau*tau
		}
		r = r.Mul(ang / (s * tau))
	}
	if f.cfg.StraightWindow > 0 {
		r = r.Mul(f.cfg.StraightFloor + (1-f.cfg.StraightFloor)*f.straight)
	}
	return r
}

// decayed is the orientation decay: ∫₀^τ of the velocity profile.
func (f *RobustCV) decayed(tau float64, T time.Duration) float64 {
	if !f.cfg.SmoothDecay || T <= 0 {
		return decayed(tau, T)
	}
	t := T.Seconds()
	return 2*t - (2*t+tau)*math.Exp(-tau/t)
}

// decayed returns ∫₀^τ e^(−s/T) ds, or τ when T is 0.
func decayed(tau float64, T time.Duration) float64 {
	if T <= 0 {
		return tau
	}
	t := T.Seconds()
	return t * (1 - math.Exp(-tau/t))
}

// fitSlope returns the slope of the least-squares line through the points
// (ts[i], ys[i]) (zero for fewer than two distinct times).
func fitSlope(ts []float64, ys []mgl64.Vec3) mgl64.Vec3 {
	n := float64(len(ts))
	var st, stt float64
	var sy, sty mgl64.Vec3
	for i, t := range ts {
		st += t
		stt += t * t
		sy = sy.Add(ys[i])
		sty = sty.Add(ys[i].Mul(t))
	}
	den := n*stt - st*st
	if len(ts) < 2 || den <= 1e-18 {
		return mgl64.Vec3{}
	}
	return sty.Mul(n).Sub(sy.Mul(st)).Mul(1 / den)
}
