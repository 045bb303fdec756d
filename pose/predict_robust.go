package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// RobustConfig parameterises the RobustCV predictor.
type RobustConfig struct {
	// ClockGain is the phase gain of the sample-clock loop (0 < g ≤ 1;
	// the period is the running mean interval, whatever g). Head
	// trackers sample at a regular rate, but the timestamps that reach
	// the node are jittered labels of those instants; the loop recovers
	// the regular grid (see sampleClock). 0 disables the model: recorded
	// timestamps are used as they are.
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
	// clock is the tracker's sample clock; clock.grid[i] is the grid
	// time of tr.hist[i].
	clock sampleClock
	// learner holds the online gains (used when cfg.AdaptMemory > 0).
	learner gainLearner

	// ok tells whether w and v hold a usable velocity estimate.
	ok   bool
	w, v mgl64.Vec3

	// Which clock explains the samples better: running one-step
	// prediction errors (rad²) of the grid and the raw timestamps, and
	// the angular velocity on each.
	errGrid, errRaw float64
	wRaw            mgl64.Vec3
	wGrid           mgl64.Vec3
	useGrid         bool
	// straight is how straight the recent orientation path was (see
	// RobustConfig.StraightWindow).
	straight float64

	// ts, ps are scratch space for the position fit.
	ts []float64
	ps []mgl64.Vec3

	// decel is the rate (rad/s², > 0) at which the head is slowing down
	// along w, or 0.
	decel float64
	// acc is the acceleration of the DecelWindow fit (rad/s², world
	// frame).
	acc mgl64.Vec3
}

// clockScoreGain is the EWMA weight of each one-step error when scoring
// the two clocks.
const clockScoreGain = 0.05

// NewRobustCV returns a RobustCV predictor named name.
func NewRobustCV(name string, cfg RobustConfig) *RobustCV {
	return &RobustCV{
		name:    name,
		cfg:     cfg,
		clock:   sampleClock{gain: cfg.ClockGain},
		learner: newGainLearner(cfg),
	}
}

// Name implements Predictor.
func (f *RobustCV) Name() string { return f.name }

// Observe implements Predictor. An accepted sample advances the sample
// clock, renews the velocity and acceleration estimates (or takes the
// client's velocity) and, with AdaptMemory, scores past extrapolations
// and records new ones for the learned gains.
func (f *RobustCV) Observe(p Pose) {
	accepted, restart := f.tr.observe(p)
	if !accepted {
		return
	}
	if restart {
		f.restart()
	}
	h := f.tr.hist
	f.clock.advance(h)
	f.ok = false
	if len(h) >= 2 {
		f.estimateVelocity(h)
	}
	f.decel, f.acc = 0, mgl64.Vec3{}
	if f.ok && f.cfg.DecelWindow > 0 && (f.cfg.DecelGain > 0 || f.cfg.AdaptAccel) {
		f.fitAcceleration(h)
	}
	f.takeClientVelocity(h[len(h)-1])
	f.ok = f.ok && finiteVec(f.w) && finiteVec(f.v)
	if f.cfg.AdaptMemory > 0 {
		f.learn(restart)
	}
}

// restart forgets the sample clock and the clock scores: the track has
// restarted its history.
func (f *RobustCV) restart() {
	f.clock.reset()
	f.errGrid, f.errRaw, f.useGrid = 0, 0, false
	f.wRaw, f.wGrid = mgl64.Vec3{}, mgl64.Vec3{}
}

// estimateVelocity sets w, v and straight from h (at least two samples):
// the angular velocity of the last two samples over their interval on
// the clock that has explained the samples better, and the linear
// velocity on the same clock.
func (f *RobustCV) estimateVelocity(h []sample) {
	n := len(h)
	last := h[n-1]
	dg, dr := f.clock.grid[n-1]-f.clock.grid[n-2], (last.t - h[n-2].t).Seconds()
	if n >= 3 && f.cfg.ClockGain > 0 {
		f.scoreClocks(h, dg, dr)
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
	f.straight = f.straightness(h)
}

// scoreClocks scores both clocks on how well the angular velocity they
// gave at the previous sample, over their interval to the newest sample
// (dg on the grid, dr on the raw timestamps), predicted it, and sets
// useGrid to the better one.
func (f *RobustCV) scoreClocks(h []sample, dg, dr float64) {
	n := len(h)
	prev, last := h[n-2].q, h[n-1].q
	eg := quatAngle(quatExp(f.wGrid.Mul(dg)).Mul(prev), last)
	er := quatAngle(quatExp(f.wRaw.Mul(dr)).Mul(prev), last)
	f.errGrid += clockScoreGain * (eg*eg - f.errGrid)
	f.errRaw += clockScoreGain * (er*er - f.errRaw)
	f.useGrid = f.errGrid < f.errRaw
}

// takeClientVelocity replaces the estimated velocities by those the
// client sent with s, when UseClientVelocity is set and they are
// plausible.
func (f *RobustCV) takeClientVelocity(s sample) {
	if s.hasVel && f.cfg.UseClientVelocity && s.w.Len() <= GlitchAngularSpeed && s.v.Len() <= GlitchLinearSpeed {
		f.w, f.v, f.ok = s.w, s.v, true
	}
}

// learn scores the extrapolations the gain learner kept against the
// newest sample and, when there is a usable velocity, records the newest
// sample's extrapolations.
func (f *RobustCV) learn(restart bool) {
	if restart {
		f.learner.reset()
	}
	now, q := f.baseTime(), f.tr.hist[len(f.tr.hist)-1].q
	f.learner.score(now, q)
	if f.ok {
		f.learner.keep(now, f.clock.period, q, f.acc, f.extrapolate)
	}
}

// baseTime is the newest sample's time, seconds, on the clock in use.
func (f *RobustCV) baseTime() float64 {
	if f.useGrid {
		return f.clock.newest()
	}
	return f.tr.last.Time.Seconds()
}

// Predict implements Predictor.
func (f *RobustCV) Predict(at time.Duration) Pose {
	if _, ok := f.tr.horizon(at); !ok || !f.ok {
		return f.tr.current()
	}
	// Look-ahead from the newest sample's time on the chosen clock.
	tau := at.Seconds() - f.baseTime()
	tau = math.Max(0, math.Min(tau, MaxExtrapolation.Seconds()))
	r := f.extrapolate(tau)
	if f.cfg.AdaptMemory > 0 {
		r = f.learner.apply(tau, r, f.acc)
	}
	dp := f.v.Mul(decayed(tau, f.cfg.PosDecay))
	return f.tr.result(at, r, dp, f.w, f.v)
}
