package pose

import (
	"math"

	"github.com/go-gl/mathgl/mgl64"
)

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

// gainLearner learns, per session, how much of a predictor's extrapolated
// rotation to apply at each look-ahead, separately for yaw (about world
// +Y) and tilt (about the horizontal axes). It keeps the extrapolations
// made from the latest samples and, on every new sample, scores those
// made 1…adaptLags sample periods ago against where the head actually
// went: the gain at each lag is the least-squares ratio of the actual to
// the extrapolated rotation, forgotten over memory samples, shrunk toward
// 1 as if prior samples had ratio 1, clamped to [lo, hi]. With accel it
// also learns, per lag, the coefficient κ ∈ [0, 1] of the acceleration
// term ½·a·τ² that best explains what the gains left unexplained (shrunk
// toward 0 by prior). See RobustConfig's Adapt fields.
type gainLearner struct {
	memory float64 // AdaptMemory: forgetting horizon, samples (> 0 to learn)
	prior  float64 // AdaptPrior: shrinkage, samples
	lo, hi float64 // AdaptMin, AdaptMax: gain bounds
	first  int     // AdaptFirst: lags below this keep a gain of 1
	accel  bool    // AdaptAccel: learn acceleration coefficients too

	// ring holds the extrapolations made from the latest samples; sums
	// the forgetting sums per lag and component (yaw, tilt): Σ
	// actual·extrapolated, Σ extrapolated², Σ 1.
	ring  []adaptEntry
	sums  [adaptLags][2][3]float64
	gains [adaptLags][2]float64
	// accSums are the forgetting sums per lag and component of
	// residual·term and term², and accGains the resulting κ.
	accSums  [adaptLags][2][2]float64
	accGains [adaptLags][2]float64
}

// newGainLearner returns a learner configured by cfg's Adapt fields.
func newGainLearner(cfg RobustConfig) gainLearner {
	return gainLearner{
		memory: cfg.AdaptMemory,
		prior:  cfg.AdaptPrior,
		lo:     cfg.AdaptMin,
		hi:     cfg.AdaptMax,
		first:  cfg.AdaptFirst,
		accel:  cfg.AdaptAccel,
	}
}

// reset drops the kept extrapolations (the history was restarted); what
// was learned stays.
func (l *gainLearner) reset() { l.ring = l.ring[:0] }

// score scores the kept extrapolations against orientation q, the newest
// sample, at time now (seconds, on the clock the extrapolations were
// based on) and updates the gains. Extrapolations that are not close to a
// whole number of periods old are skipped.
func (l *gainLearner) score(now float64, q mgl64.Quat) {
	beta := 1 / l.memory
	for _, e := range l.ring {
		x := (now - e.t) / e.period
		k := int(math.Floor(x + 0.5))
		if k < 1 || k > adaptLags || math.Abs(x-float64(k)) > 0.35 {
			continue // not close to a whole number of periods
		}
		p := e.r[k-1].Mul(x / float64(k))
		y := quatLog(q.Mul(e.q.Conjugate()))
		if !finiteVec(p) || !finiteVec(y) {
			continue
		}
		s := &l.sums[k-1]
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
				n := s[c][2] * l.memory
				g = (s[c][0]/s[c][1]*n + l.prior) / (n + l.prior)
			}
			l.gains[k-1][c] = math.Max(l.lo, math.Min(l.hi, g))
		}
		if l.accel {
			l.scoreAccel(k, beta, x*e.period, e.acc, p, y)
		}
	}
}

// scoreAccel updates the acceleration coefficients of lag k (forgetting
// weight beta) from an extrapolation made tau seconds ago, p (rescaled to
// tau), with acceleration acc then, while the head actually rotated by y:
// it regresses what the gains leave against the term ½·acc·τ².
func (l *gainLearner) scoreAccel(k int, beta, tau float64, acc, p, y mgl64.Vec3) {
	s := &l.sums[k-1]
	g := l.gains[k-1]
	res := y.Sub(mgl64.Vec3{p[0] * g[1], p[1] * g[0], p[2] * g[1]})
	a := acc.Mul(0.5 * tau * tau)
	rc := [2]float64{res[1] * a[1], res[0]*a[0] + res[2]*a[2]}
	aa := [2]float64{a[1] * a[1], a[0]*a[0] + a[2]*a[2]}
	for c := range rc {
		as := &l.accSums[k-1][c]
		as[0] += beta * (rc[c] - as[0])
		as[1] += beta * (aa[c] - as[1])
		kappa := 0.0
		if as[1] > 1e-18 {
			n := s[c][2] * l.memory
			kappa = as[0] / as[1] * n / (n + l.prior)
		}
		l.accGains[k-1][c] = math.Max(0, math.Min(1, kappa))
	}
}

// keep records the extrapolations made from the newest sample, with
// orientation q at time now and fitted acceleration acc, for scoring by
// later samples: extrapolate(τ) is the rotation vector expected over τ
// seconds, taken at 1…adaptLags periods. period is the sample period;
// when it is not known yet, the interval since the previous kept entry
// stands in, and without either nothing is kept.
func (l *gainLearner) keep(now, period float64, q mgl64.Quat, acc mgl64.Vec3, extrapolate func(tau float64) mgl64.Vec3) {
	if period <= 0 && len(l.ring) > 0 {
		period = now - l.ring[len(l.ring)-1].t
	}
	if !(period > 0) || math.IsInf(period, 0) {
		return
	}
	if len(l.ring) == adaptLags+2 {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:adaptLags+1]
	}
	e := adaptEntry{t: now, period: period, q: q, acc: acc}
	for k := range e.r {
		e.r[k] = extrapolate(float64(k+1) * period)
	}
	l.ring = append(l.ring, e)
}

// gain returns the learned yaw and tilt gains at look-ahead tau seconds,
// interpolated linearly between whole periods (1 at zero, below first
// periods and before anything is learned).
func (l *gainLearner) gain(tau float64) (yaw, tilt float64) {
	if l.memory <= 0 || len(l.ring) == 0 {
		return 1, 1
	}
	x := tau / l.ring[len(l.ring)-1].period
	g := func(k, c int) float64 {
		if k < 1 || k < l.first {
			return 1
		}
		if v := l.gains[min(k, adaptLags)-1][c]; v != 0 {
			return v
		}
		return 1
	}
	k := int(math.Floor(x))
	a := x - float64(k)
	return g(k, 0)*(1-a) + g(k+1, 0)*a, g(k, 1)*(1-a) + g(k+1, 1)*a
}

// accGain returns the learned yaw and tilt acceleration coefficients at
// look-ahead tau seconds, interpolated linearly between whole periods (0
// at zero look-ahead and before anything is learned).
func (l *gainLearner) accGain(tau float64) (yaw, tilt float64) {
	if len(l.ring) == 0 {
		return 0, 0
	}
	x := tau / l.ring[len(l.ring)-1].period
	g := func(k, c int) float64 {
		if k < 1 {
			return 0
		}
		return l.accGains[min(k, adaptLags)-1][c]
	}
	k := int(math.Floor(x))
	a := x - float64(k)
	return g(k, 0)*(1-a) + g(k+1, 0)*a, g(k, 1)*(1-a) + g(k+1, 1)*a
}

// apply scales the extrapolated rotation r (world frame) by the learned
// gains at look-ahead tau seconds and, with accel, adds the learned share
// of the acceleration term ½·acc·τ².
func (l *gainLearner) apply(tau float64, r, acc mgl64.Vec3) mgl64.Vec3 {
	gy, gt := l.gain(tau)
	r = mgl64.Vec3{r[0] * gt, r[1] * gy, r[2] * gt}
	if l.accel {
		ky, kt := l.accGain(tau)
		h := 0.5 * tau * tau
		r = r.Add(mgl64.Vec3{acc[0] * kt * h, acc[1] * ky * h, acc[2] * kt * h})
	}
	return r
}
