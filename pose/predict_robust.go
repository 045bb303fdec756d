package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// RobustConfig parameterises the RobustCV predictor.
type RobustConfig struct {
	// ClockGain is the phase gain of the sample-clock loop (0 < g ≤ 1;
	// the period gain is g²/4). Head trackers sample at a regular rate,
	// but the timestamps that reach the node are jittered labels of those
	// instants; the loop recovers the regular grid. 0 disables the model:
	// recorded timestamps are used as they are.
	ClockGain float64
	// Decay is the time constant of an exponential decay of the
	// extrapolated angular velocity: rotation = ω·T·(1−e^(−τ/T)); 0 keeps
	// it constant.
	Decay time.Duration
	// PosWindow, when > 0, is the span of a least-squares line fitted to
	// recent positions (against grid times) to estimate the linear
	// velocity. 0 differences the last two samples over their interval
	// on the clock in use, which does better on the HoloLens traces once
	// the sample clock has removed the timestamp jitter.
	PosWindow time.Duration
	// PosDecay is Decay for position (0: none; head translation, such as
	// walking, persists longer than any decay helps).
	PosDecay time.Duration
	// StraightWindow, when > 0, scales the extrapolated rotation by how
	// straight the orientation path of the last StraightWindow was: s =
	// net rotation / path length ∈ [0,1], factor StraightFloor +
	// (1−StraightFloor)·s. A head that has been turning steadily keeps
	// turning; one that has been wobbling or reversing does not.
	StraightWindow time.Duration
	StraightFloor  float64
	// TiltDecay, when > 0, is the decay time constant of the horizontal
	// (pitch/roll about gravity) components of the world-frame angular
	// velocity; Decay then applies to the vertical (yaw) component only.
	// Turning the head about the vertical is free and smooth; tilting it
	// works against gravity and the neck's range, so tilt motion is
	// short and reverses soon.
	TiltDecay time.Duration
	// SmoothDecay makes the orientation decays critically damped: the
	// extrapolated velocity follows (1+τ/T)·e^(−τ/T), flat at first (a
	// head's velocity cannot change at once), instead of e^(−τ/T).
	SmoothDecay bool
	// DecelWindow is the span of a quadratic least-squares fit of the
	// recent orientations (on the sample grid, anchored at the newest
	// sample) that gives the angular acceleration, for DecelGain and
	// AdaptAccel. When DecelGain > 0 and the acceleration along the
	// angular velocity is negative (the head is slowing down), the
	// extrapolated speed falls at DecelGain times that rate until it
	// reaches zero. (The default leaves this at 0: the learned
	// acceleration coefficients of AdaptAccel do better.)
	DecelWindow time.Duration
	DecelGain   float64
	// AdaptMemory, when > 0, turns on per-session gains learned online:
	// on every sample the predictor scores the extrapolations it made
	// from the previous samples, 1…adaptLags sample periods ago, against
	// where the head actually is now, and keeps, per look-ahead and
	// separately for yaw and tilt, the least-squares ratio of the actual
	// to the extrapolated rotation (forgetting over AdaptMemory samples;
	// shrunk toward 1 as if AdaptPrior samples had ratio 1; clamped to
	// [AdaptMin, AdaptMax]). Lags below AdaptFirst periods keep a gain
	// of 1. A prediction scales its extrapolation by the gains
	// interpolated linearly at its look-ahead (1 at zero).
	AdaptMemory float64
	AdaptPrior  float64
	AdaptMin    float64
	AdaptMax    float64
	AdaptFirst  int
	// AdaptAccel also learns, per look-ahead and for yaw and tilt, how
	// much of the current acceleration to extrapolate: the coefficient κ
	// of ½·a·τ² (a from the DecelWindow fit) that best explains what the
	// learned gains left unexplained, least squares, shrunk toward 0 by
	// AdaptPrior, clamped to [0, 1]. Extrapolating acceleration is worse
	// on average, but some users' acceleration persists; this finds them.
	AdaptAccel bool
	// UseClientVelocity makes the predictor use the angular and linear
	// velocity the client sent with the newest sample, when it did.
	UseClientVelocity bool
}

// DefaultRobustConfig is the configuration of the "robust-cv" predictor,
// chosen by leave-one-trace-out evaluation on the shared HoloLens traces
// (see docs/prediction.md).
var DefaultRobustConfig = RobustConfig{
	ClockGain:         0.2,
	Decay:             700 * time.Millisecond,
	TiltDecay:         40 * time.Millisecond,
	SmoothDecay:       true,
	DecelWindow:       35 * time.Millisecond,
	StraightWindow:    70 * time.Millisecond,
	StraightFloor:     0.5,
	AdaptMemory:       1000,
	AdaptPrior:        200,
	AdaptMin:          0.5,
	AdaptMax:          1.3,
	AdaptFirst:        2,
	AdaptAccel:        true,
	UseClientVelocity: true,
}

// RobustCV is constant-velocity extrapolation on SO(3) made robust to
// what real traces contain:
//
//   - timestamp jitter: a second-order loop locks onto the tracker's
//     regular sample clock (counting dropped samples as whole periods);
//     the angular velocity of the last two samples is divided by their
//     grid interval, not by their jittered timestamp difference, and the
//     look-ahead is counted from the newest sample's grid time. When the
//     timestamps leave the grid by more than a period (rate change,
//     irregular sender) the loop restarts on the newest sample;
//   - position noise: the linear velocity is the slope of a
//     least-squares line over a short window;
//   - long horizons: the extrapolated velocity decays (tilt much faster
//     than yaw), falls further when the head is decelerating, and is
//     scaled down when the recent path was not straight;
//   - per-user behaviour: gains on the yaw and tilt extrapolation per
//     look-ahead, learned online from how its own past extrapolations
//     turned out;
//   - sign flips, glitches, gaps and stale samples, as every predictor
//     here (see track).
type RobustCV struct {
	name string
	cfg  RobustConfig
	tr   track

	ok   bool
	w, v mgl64.Vec3

	// Sample clock, seconds on the client clock; grid[i] is the grid
	// time of tr.hist[i].
	period    float64
	intervals int
	grid      []float64
	// Which clock explains the samples better: running one-step
	// prediction errors (rad²) of the grid and the raw timestamps.
	errGrid, errRaw float64
	wRaw            mgl64.Vec3 // angular velocity on raw timestamps
	wGrid           mgl64.Vec3
	straight        float64
	useGrid         bool

	ts []float64
	ps []mgl64.Vec3

	// decel is the rate (rad/s², > 0) at which the head is slowing down
	// along w, or 0.
	decel float64
	// acc is the acceleration of the DecelWindow fit (rad/s², world
	// frame).
	acc mgl64.Vec3

	// Online gains: ring holds the extrapolations made from the latest
	// samples; sums the forgetting sums per lag and component (yaw,
	// tilt): Σ actual·extrapolated, Σ extrapolated², Σ 1.
	ring  []adaptEntry
	sums  [adaptLags][2][3]float64
	gains [adaptLags][2]float64
	// Acceleration coefficients: forgetting sums per lag and component of
	// residual·term and term², and the resulting κ.
	accSums  [adaptLags][2][2]float64
	accGains [adaptLags][2]float64
}

// adaptLags is the number of look-aheads, in sample periods, with a
// learned gain (6 periods = 100 ms at 60 Hz); longer look-aheads use the
// last one.
const adaptLags = 6

// adaptEntry is one sample's extrapolations, kept to score them later.
type adaptEntry struct {
	t, period float64 // base time and sample period, seconds
	q         mgl64.Quat
	r         [adaptLags]mgl64.Vec3 // rotation extrapolated k+1 periods ahead
	acc       mgl64.Vec3            // fitted acceleration then
}

// clockScoreGain is the EWMA weight of each one-step error when scoring
// the two clocks.
const clockScoreGain = 0.05

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
		f.period, f.intervals, f.grid = 0, 0, f.grid[:0]
		f.errGrid, f.errRaw, f.useGrid = 0, 0, false
		f.wRaw, f.wGrid = mgl64.Vec3{}, mgl64.Vec3{}
	}
	f.advanceClock(h)
	f.ok = false
	if n := len(h); n >= 2 {
		dg, dr := f.grid[n-1]-f.grid[n-2], (last.t - h[n-2].t).Seconds()
		if n >= 3 && f.cfg.ClockGain > 0 {
			// Score both clocks on how well their velocity, over their
			// interval, predicted this sample.
			eg := quatAngle(quatExp(f.wGrid.Mul(dg)).Mul(h[n-2].q), last.q)
			er := quatAngle(quatExp(f.wRaw.Mul(dr)).Mul(h[n-2].q), last.q)
			f.errGrid += clockScoreGain * (eg*eg - f.errGrid)
			f.errRaw += clockScoreGain * (er*er - f.errRaw)
			f.useGrid = f.errGrid < f.errRaw
		}
		rel := quatLog(last.q.Mul(h[n-2].q.Conjugate()))
		f.wRaw = rel.Mul(1 / dr)
		f.wGrid = f.wRaw
		if dg > 0 {
			f.wGrid = rel.Mul(1 / dg)
		}
		f.w = f.wRaw
		if f.useGrid {
			f.w = f.wGrid
		}
		f.v = f.posVelocity(h)
		f.ok = true
		f.straight = 1
		if f.cfg.StraightWindow > 0 {
			var path float64
			j := n - 1
			for j > 0 && last.t-h[j-1].t <= f.cfg.StraightWindow {
				path += quatAngle(h[j].q, h[j-1].q)
				j--
			}
			if path > 1e-9 {
				f.straight = quatAngle(last.q, h[j].q) / path
			}
		}
	}
	f.decel, f.acc = 0, mgl64.Vec3{}
	if f.ok && f.cfg.DecelWindow > 0 && (f.cfg.DecelGain > 0 || f.cfg.AdaptAccel) {
		f.fitAcceleration(h)
	}
	if last.hasVel && f.cfg.UseClientVelocity && last.w.Len() <= GlitchAngularSpeed && last.v.Len() <= GlitchLinearSpeed {
		f.w, f.v, f.ok = last.w, last.v, true
	}
	f.ok = f.ok && finiteVec(f.w) && finiteVec(f.v)
	if f.cfg.AdaptMemory > 0 {
		f.adapt(restart)
	}
}

// baseTime is the newest sample's time, seconds, on the clock in use.
func (f *RobustCV) baseTime() float64 {
	if f.useGrid {
		return f.grid[len(f.grid)-1]
	}
	return f.tr.last.Time.Seconds()
}

// adapt scores the kept extrapolations against the newest sample,
// updates the gains, and keeps the newest sample's extrapolations.
func (f *RobustCV) adapt(restart bool) {
	if restart {
		f.ring = f.ring[:0]
	}
	last := f.tr.hist[len(f.tr.hist)-1]
	now := f.baseTime()
	beta := 1 / f.cfg.AdaptMemory
	for _, e := range f.ring {
		x := (now - e.t) / e.period
		k := int(math.Floor(x + 0.5))
		if k < 1 || k > adaptLags || math.Abs(x-float64(k)) > 0.35 {
			continue // not close to a whole number of periods
		}
		p := e.r[k-1].Mul(x / float64(k))
		y := quatLog(last.q.Mul(e.q.Conjugate()))
		if !finiteVec(p) || !finiteVec(y) {
			continue
		}
		s := &f.sums[k-1]
		for c := range s {
			yp, pp := y[1]*p[1], p[1]*p[1] // yaw: about world +Y
			if c == 1 {
				yp, pp = y[0]*p[0]+y[2]*p[2], p[0]*p[0]+p[2]*p[2]
			}
			s[c][0] += beta * (yp - s[c][0])
			s[c][1] += beta * (pp - s[c][1])
			s[c][2] += beta * (1 - s[c][2])
			g := 1.0
			if s[c][1] > 1e-18 {
				n := s[c][2] * f.cfg.AdaptMemory
				g = (s[c][0]/s[c][1]*n + f.cfg.AdaptPrior) / (n + f.cfg.AdaptPrior)
			}
			f.gains[k-1][c] = math.Max(f.cfg.AdaptMin, math.Min(f.cfg.AdaptMax, g))
		}
		if f.cfg.AdaptAccel {
			// What the gains leave, against the acceleration term.
			g := f.gains[k-1]
			res := y.Sub(mgl64.Vec3{p[0] * g[1], p[1] * g[0], p[2] * g[1]})
			tau := x * e.period
			a := e.acc.Mul(0.5 * tau * tau)
			rc := [2]float64{res[1] * a[1], res[0]*a[0] + res[2]*a[2]}
			aa := [2]float64{a[1] * a[1], a[0]*a[0] + a[2]*a[2]}
			for c := range rc {
				as := &f.accSums[k-1][c]
				as[0] += beta * (rc[c] - as[0])
				as[1] += beta * (aa[c] - as[1])
				kappa := 0.0
				if as[1] > 1e-18 {
					n := s[c][2] * f.cfg.AdaptMemory
					kappa = as[0] / as[1] * n / (n + f.cfg.AdaptPrior)
				}
				f.accGains[k-1][c] = math.Max(0, math.Min(1, kappa))
			}
		}
	}
	if !f.ok {
		return
	}
	period := f.period
	if period <= 0 && len(f.ring) > 0 {
		period = now - f.ring[len(f.ring)-1].t
	}
	if !(period > 0) || math.IsInf(period, 0) {
		return
	}
	if len(f.ring) == adaptLags+2 {
		copy(f.ring, f.ring[1:])
		f.ring = f.ring[:adaptLags+1]
	}
	e := adaptEntry{t: now, period: period, q: last.q, acc: f.acc}
	for k := range e.r {
		e.r[k] = f.extrapolate(float64(k+1) * period)
	}
	f.ring = append(f.ring, e)
}

// gain returns the learned yaw and tilt gains at look-ahead tau seconds.
func (f *RobustCV) gain(tau float64) (yaw, tilt float64) {
	if f.cfg.AdaptMemory <= 0 || len(f.ring) == 0 {
		return 1, 1
	}
	x := tau / f.ring[len(f.ring)-1].period
	g := func(k, c int) float64 {
		if k < 1 || k < f.cfg.AdaptFirst {
			return 1
		}
		if v := f.gains[min(k, adaptLags)-1][c]; v != 0 {
			return v
		}
		return 1
	}
	k := int(math.Floor(x))
	a := x - float64(k)
	return g(k, 0)*(1-a) + g(k+1, 0)*a, g(k, 1)*(1-a) + g(k+1, 1)*a
}

// accGain returns the learned yaw and tilt acceleration coefficients at
// look-ahead tau seconds (0 at zero look-ahead).
func (f *RobustCV) accGain(tau float64) (yaw, tilt float64) {
	if len(f.ring) == 0 {
		return 0, 0
	}
	x := tau / f.ring[len(f.ring)-1].period
	g := func(k, c int) float64 {
		if k < 1 {
			return 0
		}
		return f.accGains[min(k, adaptLags)-1][c]
	}
	k := int(math.Floor(x))
	a := x - float64(k)
	return g(k, 0)*(1-a) + g(k+1, 0)*a, g(k, 1)*(1-a) + g(k+1, 1)*a
}

// fitAcceleration fits q_i·q_n⁻¹ ≈ b·t + c·t² (rotation vectors, grid
// times relative to the newest sample) over DecelWindow and sets acc =
// 2c, and decel to the rate at which the head is slowing down along its
// angular velocity w (−acc·ŵ when that is positive, else 0).
func (f *RobustCV) fitAcceleration(h []sample) {
	n := len(h)
	inv := h[n-1].q.Conjugate()
	var s2, s3, s4 float64
	var y1, y2 mgl64.Vec3
	k := 0
	for i := n - 2; i >= 0; i-- {
		t := f.grid[i] - f.grid[n-1]
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

// advanceClock appends the grid time of the newest sample of h.
func (f *RobustCV) advanceClock(h []sample) {
	if len(f.grid) >= len(h) { // history dropped its oldest sample
		copy(f.grid, f.grid[len(f.grid)-len(h)+1:])
		f.grid = f.grid[:len(h)-1]
	}
	t := h[len(h)-1].t.Seconds()
	if len(h) < 2 || f.cfg.ClockGain <= 0 {
		f.grid = append(f.grid, t)
		return
	}
	prev := f.grid[len(f.grid)-1]
	d := t - h[len(h)-2].t.Seconds()
	n := 1.0
	if f.intervals > 0 {
		// Periods elapsed: dropped samples show as whole multiples.
		n = math.Max(1, math.Floor(d/f.period+0.25))
	}
	if n > 4 {
		// A gap of many periods: restart the phase on this sample.
		f.grid = append(f.grid, t)
		return
	}
	// The period is the mean interval (jitter cancels out in it): a
	// cumulative mean at first, then an EWMA.
	f.intervals++
	a := math.Max(1/float64(f.intervals), 0.05)
	if f.intervals == 1 {
		f.period = d
	} else {
		f.period += a * (math.Min(d/n, 2*f.period) - f.period)
	}
	pred := prev + n*f.period
	e := t - pred
	if math.Abs(e) > f.period {
		// Off the grid (rate change, irregular sender): resync the phase.
		f.grid = append(f.grid, t)
		return
	}
	f.grid = append(f.grid, pred+f.cfg.ClockGain*e)
}

// posVelocity estimates the linear velocity from the history.
func (f *RobustCV) posVelocity(h []sample) mgl64.Vec3 {
	n := len(h)
	last := h[n-1]
	if f.cfg.PosWindow <= 0 {
		// Difference of the last two samples over the interval of the
		// clock in use (as for the angular velocity).
		dt := (last.t - h[n-2].t).Seconds()
		if dg := f.grid[n-1] - f.grid[n-2]; f.useGrid && dg > 0 {
			dt = dg
		}
		return last.p.Sub(h[n-2].p).Mul(1 / dt)
	}
	f.ts, f.ps = f.ts[:0], f.ps[:0]
	win := f.cfg.PosWindow.Seconds()
	for i := n - 1; i >= 0; i-- {
		if f.grid[n-1]-f.grid[i] > win && len(f.ts) >= 2 {
			break
		}
		f.ts = append(f.ts, f.grid[i]-f.grid[n-1])
		f.ps = append(f.ps, h[i].p.Sub(last.p))
	}
	return fitSlope(f.ts, f.ps)
}

// Predict implements Predictor.
func (f *RobustCV) Predict(at time.Duration) Pose {
	if _, ok := f.tr.horizon(at); !ok || !f.ok {
		return f.tr.current()
	}
	// Look-ahead from the newest sample's time on the chosen clock.
	tau := at.Seconds() - f.tr.last.Time.Seconds()
	if f.useGrid {
		tau = at.Seconds() - f.grid[len(f.grid)-1]
	}
	tau = math.Max(0, math.Min(tau, MaxExtrapolation.Seconds()))
	r := f.extrapolate(tau)
	if f.cfg.AdaptMemory > 0 {
		gy, gt := f.gain(tau)
		r = mgl64.Vec3{r[0] * gt, r[1] * gy, r[2] * gt}
		if f.cfg.AdaptAccel {
			ky, kt := f.accGain(tau)
			h := 0.5 * tau * tau
			r = r.Add(mgl64.Vec3{f.acc[0] * kt * h, f.acc[1] * ky * h, f.acc[2] * kt * h})
		}
	}
	dp := f.v.Mul(decayed(tau, f.cfg.PosDecay))
	return f.tr.result(at, r, dp, f.w, f.v)
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
