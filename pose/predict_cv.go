package pose

import (
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// ConstantVelocity extrapolates the motion between the last two accepted
// samples: the angular velocity is the axis-angle of their relative
// rotation divided by their time difference, integrated exactly on SO(3)
// (q(t+τ) = exp(ωτ)·q(t)); the linear velocity is their difference
// quotient. With fewer than two samples in the current history (start, or
// after a glitch or long gap) it returns the newest pose.
type ConstantVelocity struct {
	tr track
	w  mgl64.Vec3 // world-frame angular velocity, rad/s
	v  mgl64.Vec3 // linear velocity, m/s
	ok bool
}

// NewConstantVelocity returns a constant-velocity predictor.
func NewConstantVelocity() *ConstantVelocity { return &ConstantVelocity{} }

// Name implements Predictor.
func (c *ConstantVelocity) Name() string { return "constant-velocity" }

// Observe implements Predictor.
func (c *ConstantVelocity) Observe(p Pose) {
	if acc, _ := c.tr.observe(p); !acc {
		return
	}
	h := c.tr.hist
	if len(h) < 2 {
		c.ok = false
		return
	}
	a, b := h[len(h)-2], h[len(h)-1]
	dt := (b.t - a.t).Seconds()
	c.w = quatLog(b.q.Mul(a.q.Conjugate())).Mul(1 / dt)
	c.v = b.p.Sub(a.p).Mul(1 / dt)
	c.ok = true
}

// Predict implements Predictor.
func (c *ConstantVelocity) Predict(at time.Duration) Pose {
	tau, ok := c.tr.horizon(at)
	if !ok || !c.ok {
		return c.tr.current()
	}
	return c.tr.result(at, c.w.Mul(tau), c.v.Mul(tau), c.w, c.v)
}
