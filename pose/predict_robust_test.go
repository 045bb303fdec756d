package pose

import (
	"math"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// TestRobustDeceleration: a head slowing down at a constant rate about a
// fixed axis. With DecelGain 1 the predictor follows the slowdown until
// the head stops; without it, it overshoots.
func TestRobustDeceleration(t *testing.T) {
	axis := mgl64.Vec3{0.3, 1, 0.2}.Normalize()
	const s0, dec = 2.0, 8.0 // rad/s, rad/s²: stops after 250 ms
	angle := func(t float64) float64 {
		t = math.Min(t, s0/dec)
		return s0*t - 0.5*dec*t*t
	}
	at := func(tt time.Duration) Pose {
		return Pose{Time: tt, Orientation: quatExp(axis.Mul(angle(tt.Seconds())))}
	}
	base := RobustConfig{ClockGain: 0.2, DecelWindow: 35 * time.Millisecond}
	on, off := base, base
	on.DecelGain = 1
	pOn, pOff := NewRobustCV("on", on), NewRobustCV("off", off)
	period := time.Second / 60
	var last time.Duration
	for i := 0; i <= 9; i++ { // up to 150 ms
		last = time.Duration(i) * period
		pOn.Observe(at(last))
		pOff.Observe(at(last))
	}
	for _, h := range []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond} {
		want := at(last + h).Orientation
		eOn, eOff := angleDeg(pOn.Predict(last+h).Orientation, want), angleDeg(pOff.Predict(last+h).Orientation, want)
		// The two-sample velocity is the mean speed over the last
		// interval, half a period old: the slowdown is followed up to
		// that lag (dec·period/2·h).
		if tol := dec*period.Seconds()/2*h.Seconds()/deg + 1e-3; eOn > tol {
			t.Errorf("h=%v: decelerating prediction off by %.3f° (tolerance %.3f°)", h, eOn, tol)
		}
		if eOff < 2*eOn {
			t.Errorf("h=%v: deceleration gained little: %.3f° vs %.3f° without", h, eOn, eOff)
		}
	}
	// Speeding up is not extrapolated: a head accelerating from rest is
	// predicted at constant velocity.
	acc := NewRobustCV("on", on)
	cv := NewRobustCV("cv", base)
	for i := 0; i <= 9; i++ {
		tt := time.Duration(i) * period
		s := tt.Seconds()
		p := Pose{Time: tt, Orientation: quatExp(axis.Mul(0.5 * dec * s * s))}
		acc.Observe(p)
		cv.Observe(p)
	}
	h := last + 60*time.Millisecond
	if a := angleDeg(acc.Predict(h).Orientation, cv.Predict(h).Orientation); a > 1e-9 {
		t.Errorf("acceleration extrapolated: %g° from constant velocity", a)
	}
}

// TestRobustLearnedGain: the online gains learn from how the predictor's
// own extrapolations turned out. A steady turn extrapolated with a decay
// far too fast undershoots: the gains rise, up to AdaptMax. A back-and-forth
// motion makes constant velocity overshoot: the gains fall below 1.
// Below AdaptFirst periods the gain stays 1.
func TestRobustLearnedGain(t *testing.T) {
	period := time.Second / 60
	run := func(cfg RobustConfig, at func(time.Duration) Pose) (*RobustCV, float64, float64) {
		adapt := cfg
		adapt.AdaptMemory, adapt.AdaptPrior, adapt.AdaptMin, adapt.AdaptMax, adapt.AdaptFirst = 300, 20, 0.5, 1.3, 2
		pa, pb := NewRobustCV("adapt", adapt), NewRobustCV("base", cfg)
		var ea, eb float64
		var n int
		for i := 0; i < 1200; i++ {
			tt := time.Duration(i) * period
			pa.Observe(at(tt))
			pb.Observe(at(tt))
			if i < 600 {
				continue
			}
			h := tt + 100*time.Millisecond
			ea += angleDeg(pa.Predict(h).Orientation, at(h).Orientation)
			eb += angleDeg(pb.Predict(h).Orientation, at(h).Orientation)
			n++
		}
		for k := range pa.learner.gains {
			for c, g := range pa.learner.gains[k] {
				if g < adapt.AdaptMin || g > adapt.AdaptMax {
					t.Errorf("gain[%d][%d] = %v outside [%v, %v]", k, c, g, adapt.AdaptMin, adapt.AdaptMax)
				}
			}
		}
		if gy, gt := pa.learner.gain(0.9 * period.Seconds()); gy != 1 || gt != 1 {
			t.Errorf("gains below AdaptFirst periods = %v, %v, want 1", gy, gt)
		}
		return pa, ea / float64(n), eb / float64(n)
	}

	fast := RobustConfig{ClockGain: 0.2, Decay: 100 * time.Millisecond}
	pa, ea, eb := run(fast, turn.at)
	t.Logf("steady turn, decay 100 ms, at 100 ms: learned gains %.3f°, without %.3f°", ea, eb)
	if ea > 0.7*eb {
		t.Errorf("steady turn: learned gains did not help: %.3f° vs %.3f°", ea, eb)
	}
	if gy, gt := pa.learner.gain(6 * period.Seconds()); gy != 1.3 || gt != 1.3 {
		t.Errorf("steady turn: gains at 6 periods %v, %v; want the cap 1.3", gy, gt)
	}

	wobble := func(tt time.Duration) Pose { // ±20° yaw at 1.5 Hz
		a := 20 * deg * math.Sin(2*math.Pi*1.5*tt.Seconds())
		return Pose{Time: tt, Orientation: mgl64.QuatRotate(a, mgl64.Vec3{0, 1, 0})}
	}
	pa, ea, eb = run(RobustConfig{ClockGain: 0.2}, wobble)
	t.Logf("wobble at 100 ms: learned gains %.3f°, without %.3f°", ea, eb)
	if ea >= eb {
		t.Errorf("wobble: learned gains did not help: %.3f° vs %.3f°", ea, eb)
	}
	if gy, _ := pa.learner.gain(6 * period.Seconds()); gy >= 0.95 {
		t.Errorf("wobble: yaw gain at 6 periods %v, want < 0.95", gy)
	}
}

// TestRobustLearnedAcceleration: a head whose acceleration persists (a
// slow, smooth ±40° yaw sweep at 0.5 Hz) teaches AdaptAccel to extrapolate
// it: the coefficients rise toward 1 and the error falls well below that
// of the learned gains alone (which can only scale the velocity: in a
// sweep the acceleration is uncorrelated with it).
func TestRobustLearnedAcceleration(t *testing.T) {
	at := func(tt time.Duration) Pose {
		a := 40 * deg * math.Sin(2*math.Pi*0.5*tt.Seconds())
		return Pose{Time: tt, Orientation: mgl64.QuatRotate(a, mgl64.Vec3{0, 1, 0})}
	}
	base := RobustConfig{ClockGain: 0.2, DecelWindow: 35 * time.Millisecond,
		AdaptMemory: 300, AdaptPrior: 20, AdaptMin: 0.5, AdaptMax: 1.3, AdaptFirst: 2}
	acc := base
	acc.AdaptAccel = true
	pa, pb := NewRobustCV("accel", acc), NewRobustCV("gains", base)
	period := time.Second / 60
	var ea, eb float64
	var n int
	for i := 0; i < 600; i++ {
		tt := time.Duration(i) * period
		pa.Observe(at(tt))
		pb.Observe(at(tt))
		if i < 300 {
			continue
		}
		h := tt + 100*time.Millisecond
		ea += angleDeg(pa.Predict(h).Orientation, at(h).Orientation)
		eb += angleDeg(pb.Predict(h).Orientation, at(h).Orientation)
		n++
	}
	ea, eb = ea/float64(n), eb/float64(n)
	t.Logf("mean error at 100 ms: with learned acceleration %.4f°, gains only %.4f°", ea, eb)
	if ea > 0.5*eb {
		t.Errorf("learned acceleration did not help: %.4f° vs %.4f°", ea, eb)
	}
	for k := range pa.learner.accGains {
		for c, g := range pa.learner.accGains[k] {
			if g < 0 || g > 1 {
				t.Errorf("accGains[%d][%d] = %v outside [0, 1]", k, c, g)
			}
		}
	}
	if ky, _ := pa.learner.accGain(6 * period.Seconds()); ky < 0.5 {
		t.Errorf("yaw acceleration coefficient at 6 periods = %v, want near 1", ky)
	}
	if ky, kt := pa.learner.accGain(0); ky != 0 || kt != 0 {
		t.Errorf("acceleration coefficients at zero look-ahead = %v, %v", ky, kt)
	}
}

// TestRobustYawUnaffectedByTilt: a pure yaw turn is extrapolated with the
// yaw decay only; the tilt decay, deceleration and learned gains leave it
// (almost) exact, as the node's live test expects.
func TestRobustYawUnaffectedByTilt(t *testing.T) {
	p := NewRobustCV("robust-cv", DefaultRobustConfig)
	yaw := func(tt time.Duration) Pose {
		return Pose{Time: tt, Orientation: mgl64.QuatRotate(math.Pi/2*tt.Seconds(), mgl64.Vec3{0, 1, 0})}
	}
	period := time.Second / 90
	var last time.Duration
	for i := 0; i < 180; i++ {
		last = time.Duration(i) * period
		p.Observe(yaw(last))
	}
	h := 50 * time.Millisecond
	if a := angleDeg(p.Predict(last+h).Orientation, yaw(last+h).Orientation); a > 0.05 {
		t.Errorf("90°/s yaw at 50 ms: off by %.3f°", a)
	}
}
