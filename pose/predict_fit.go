package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// FitConfig parameterises the Fit predictor.
type FitConfig struct {
	// Window is how far back samples enter the fit.
	Window time.Duration
	// Degree is 1 (velocity) or 2 (velocity and acceleration).
	Degree int
	// Anchor selects the fitted pose at the newest sample's time as the
	// start of the extrapolation instead of the newest sample itself.
	Anchor bool
	// VelDecay, when > 0, is the time constant of an exponential decay
	// of the extrapolated velocity: displacement = ω·T·(1−e^(−τ/T)).
	VelDecay time.Duration
	// AccelGain scales the acceleration term (Degree 2).
	AccelGain float64
	// PosWindow, PosDegree as Window and Degree for position.
	PosWindow time.Duration
	PosDegree int
	PosDecay  time.Duration
}

// DefaultFitConfig is the configuration of the "fit" predictor.
var DefaultFitConfig = FitConfig{
	Window:    50 * time.Millisecond,
	Degree:    1,
	PosWindow: 50 * time.Millisecond,
	PosDegree: 1,
}

// Fit estimates velocity (and optionally acceleration) by a weighted
// least-squares polynomial fit over a short time window of recent samples
// instead of the last two, which makes it robust to timestamp jitter, and
// extrapolates on SO(3) from the newest sample.
type Fit struct {
	name string
	cfg  FitConfig
	tr   track

	ok         bool
	ra, rb, rc mgl64.Vec3 // orientation: offset, velocity, acceleration
	pa, pb, pc mgl64.Vec3

	ts []float64
	rs []mgl64.Vec3
}

// NewFit returns a Fit predictor named name with configuration cfg.
func NewFit(name string, cfg FitConfig) *Fit { return &Fit{name: name, cfg: cfg} }

// Name implements Predictor.
func (f *Fit) Name() string { return f.name }

// Observe implements Predictor.
func (f *Fit) Observe(p Pose) {
	if acc, _ := f.tr.observe(p); !acc {
		return
	}
	h := f.tr.hist
	last := h[len(h)-1]
	if len(h) < 2 {
		f.ok = false
		return
	}
	inv := last.q.Conjugate()
	f.ts, f.rs = f.ts[:0], f.rs[:0]
	for i := len(h) - 1; i >= 0; i-- {
		d := last.t - h[i].t
		if d > f.cfg.Window && len(f.ts) >= 2 {
			break
		}
		f.ts = append(f.ts, -d.Seconds())
		f.rs = append(f.rs, quatLog(h[i].q.Mul(inv)))
	}
	f.ra, f.rb, f.rc = polyFit(f.ts, f.rs, f.cfg.Degree)
	f.ts, f.rs = f.ts[:0], f.rs[:0]
	for i := len(h) - 1; i >= 0; i-- {
		d := last.t - h[i].t
		if d > f.cfg.PosWindow && len(f.ts) >= 2 {
			break
		}
		f.ts = append(f.ts, -d.Seconds())
		f.rs = append(f.rs, h[i].p.Sub(last.p))
	}
	f.pa, f.pb, f.pc = polyFit(f.ts, f.rs, f.cfg.PosDegree)
	f.ok = finiteVec(f.ra) && finiteVec(f.rb) && finiteVec(f.rc) && finiteVec(f.pa) && finiteVec(f.pb) && finiteVec(f.pc)
}

// decayed returns ∫₀^τ e^(−s/T) ds, or τ when T is 0.
func decayed(tau float64, T time.Duration) float64 {
	if T <= 0 {
		return tau
	}
	t := T.Seconds()
	return t * (1 - math.Exp(-tau/t))
}

// Predict implements Predictor.
func (f *Fit) Predict(at time.Duration) Pose {
	tau, ok := f.tr.horizon(at)
	if !ok || !f.ok {
		return f.tr.current()
	}
	g := decayed(tau, f.cfg.VelDecay)
	r := f.rb.Mul(g).Add(f.rc.Mul(f.cfg.AccelGain * tau * tau / 2))
	gp := decayed(tau, f.cfg.PosDecay)
	dp := f.pb.Mul(gp).Add(f.pc.Mul(tau * tau / 2))
	if f.cfg.Anchor {
		r = r.Add(f.ra)
		dp = dp.Add(f.pa)
	}
	return f.tr.result(at, r, dp, f.rb, f.pb)
}

// polyFit fits y(t) ≈ a + b·t + c·t²/2 by least squares over the points
// (ts[i], ys[i]) for degree 1 (c = 0) or 2. With too few distinct points
// for the degree it lowers the degree.
func polyFit(ts []float64, ys []mgl64.Vec3, degree int) (a, b, c mgl64.Vec3) {
	n := len(ts)
	if n == 0 {
		return
	}
	if n == 1 {
		return ys[0], b, c
	}
	if degree >= 2 && n >= 3 {
		// Normal equations for basis 1, t, t²/2.
		var s [5]float64
		var m [3]mgl64.Vec3
		for i, t := range ts {
			u := t * t / 2
			s[0]++
			s[1] += t
			s[2] += t * t
			s[3] += u
			s[4] += u * u
			m[0] = m[0].Add(ys[i])
			m[1] = m[1].Add(ys[i].Mul(t))
			m[2] = m[2].Add(ys[i].Mul(u))
		}
		var tu float64
		for _, t := range ts {
			tu += t * t * t / 2
		}
		A := mgl64.Mat3{s[0], s[1], s[3], s[1], s[2], tu, s[3], tu, s[4]}
		if math.Abs(A.Det()) > 1e-30 {
			inv := A.Inv()
			for k := 0; k < 3; k++ {
				v := inv.Mul3x1(mgl64.Vec3{m[0][k], m[1][k], m[2][k]})
				a[k], b[k], c[k] = v[0], v[1], v[2]
			}
			if finiteVec(a) && finiteVec(b) && finiteVec(c) {
				return a, b, c
			}
			a, b, c = mgl64.Vec3{}, mgl64.Vec3{}, mgl64.Vec3{}
		}
	}
	var st, stt float64
	var sy, sty mgl64.Vec3
	for i, t := range ts {
		st += t
		stt += t * t
		sy = sy.Add(ys[i])
		sty = sty.Add(ys[i].Mul(t))
	}
	fn := float64(n)
	den := fn*stt - st*st
	if den <= 1e-18 {
		return ys[0], b, c
	}
	b = sty.Mul(fn).Sub(sy.Mul(st)).Mul(1 / den)
	a = sy.Sub(b.Mul(st)).Mul(1 / fn)
	return a, b, c
}
