package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// RobustConfig parameterises the RobustCV predictor.
type RobustConfig struct {
	// BaselineFrac sets the shortest time span over which the angular
	// velocity is differenced, as a fraction of the running mean sample
	// interval: the newest sample is differenced with the newest older
	// one at least that far back. Bunched samples (timestamps that nearly
	// coincide because of stamping jitter) then no longer blow up the
	// velocity, while with regular sampling it is the previous sample.
	// 0 differences the last two samples.
	BaselineFrac float64
	// Decay is the time constant of an exponential decay of the
	// extrapolated velocity: displacement = v·T·(1−e^(−τ/T)); 0 keeps it
	// constant.
	Decay time.Duration
	// PosWindow is the span of the least-squares line fitted to recent
	// positions to estimate the linear velocity (position noise is large
	// relative to the motion between two samples); 0 differences the
	// last two samples.
	PosWindow time.Duration
	// PosDecay is Decay for position.
	PosDecay time.Duration
	// UseClientVelocity makes the predictor use the angular and linear
	// velocity the client sent with the newest sample, when it did.
	UseClientVelocity bool
}

// DefaultRobustConfig is the configuration of the "robust-cv" predictor,
// chosen by leave-one-trace-out evaluation (see docs/prediction.md).
var DefaultRobustConfig = RobustConfig{
	BaselineFrac:      0.75,
	Decay:             300 * time.Millisecond,
	PosWindow:         50 * time.Millisecond,
	PosDecay:          300 * time.Millisecond,
	UseClientVelocity: true,
}

// RobustCV is constant-velocity extrapolation on SO(3) made robust to
// what real traces contain: the angular velocity is differenced over an
// adaptive minimum baseline (robust to timestamp jitter and bunched
// samples), the linear velocity comes from a least-squares fit over a
// short window (robust to position noise), and the extrapolated velocity
// decays exponentially (heads rarely keep turning at constant speed for
// long horizons). It inherits the track's handling of sign flips,
// glitches, gaps and stale samples.
type RobustCV struct {
	name string
	cfg  RobustConfig
	tr   track

	ok     bool
	w, v   mgl64.Vec3
	meanDt float64 // running mean sample interval, seconds

	ts []float64
	ps []mgl64.Vec3
}

// NewRobustCV returns a RobustCV predictor named name.
func NewRobustCV(name string, cfg RobustConfig) *RobustCV {
	return &RobustCV{name: name, cfg: cfg}
}

// Name implements Predictor.
func (f *RobustCV) Name() string { return f.name }

// Observe implements Predictor.
func (f *RobustCV) Observe(p Pose) {
	acc, restart := f.tr.observe(p)
	if !acc {
		return
	}
	h := f.tr.hist
	last := h[len(h)-1]
	if restart {
		f.meanDt = 0
	}
	if len(h) < 2 {
		f.ok = last.hasVel && f.cfg.UseClientVelocity
		f.w, f.v = last.w, last.v
		return
	}
	d := (last.t - h[len(h)-2].t).Seconds()
	if f.meanDt == 0 {
		f.meanDt = d
	} else {
		// Running mean interval; each step is clamped so that one long
		// gap does not inflate it.
		f.meanDt += 0.05 * (math.Min(d, 3*f.meanDt) - f.meanDt)
	}
	base := time.Duration(f.cfg.BaselineFrac * f.meanDt * float64(time.Second))
	j := len(h) - 2
	for j > 0 && last.t-h[j].t < base {
		j--
	}
	dt := (last.t - h[j].t).Seconds()
	f.w = quatLog(last.q.Mul(h[j].q.Conjugate())).Mul(1 / dt)
	if f.cfg.PosWindow > 0 {
		f.ts, f.ps = f.ts[:0], f.ps[:0]
		for i := len(h) - 1; i >= 0; i-- {
			if last.t-h[i].t > f.cfg.PosWindow && len(f.ts) >= 2 {
				break
			}
			f.ts = append(f.ts, -(last.t - h[i].t).Seconds())
			f.ps = append(f.ps, h[i].p.Sub(last.p))
		}
		f.v = fitSlope(f.ts, f.ps)
	} else {
		a := h[len(h)-2]
		f.v = last.p.Sub(a.p).Mul(1 / (last.t - a.t).Seconds())
	}
	if last.hasVel && f.cfg.UseClientVelocity && last.w.Len() <= GlitchAngularSpeed && last.v.Len() <= GlitchLinearSpeed {
		f.w, f.v = last.w, last.v
	}
	f.ok = finiteVec(f.w) && finiteVec(f.v)
}

// Predict implements Predictor.
func (f *RobustCV) Predict(at time.Duration) Pose {
	tau, ok := f.tr.horizon(at)
	if !ok || !f.ok {
		return f.tr.current()
	}
	r := f.w.Mul(decayed(tau, f.cfg.Decay))
	dp := f.v.Mul(decayed(tau, f.cfg.PosDecay))
	return f.tr.result(at, r, dp, f.w, f.v)
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
