package pose

import (
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// KalmanConfig holds the noise parameters of the Kalman predictor. The
// process is white-noise acceleration (continuous), so the discretised
// process noise follows each sample's own interval: uneven sampling and
// timestamp jitter change how much the filter trusts a step.
type KalmanConfig struct {
	// OrientAccel is the spectral density, as a standard deviation in
	// rad/s²/√Hz, of the angular acceleration noise.
	OrientAccel float64
	// OrientMeas is the orientation measurement noise (rad, per axis).
	OrientMeas float64
	// PosAccel is the spectral density of the linear acceleration noise
	// (m/s²/√Hz).
	PosAccel float64
	// PosMeas is the position measurement noise (m, per axis).
	PosMeas float64
}

// DefaultKalmanConfig holds the parameters of the "kalman" predictor,
// chosen by leave-one-trace-out evaluation on real head-motion traces.
var DefaultKalmanConfig = KalmanConfig{
	OrientAccel: 10,
	OrientMeas:  0.003,
	PosAccel:    3,
	PosMeas:     0.002,
}

// cv2 is a per-axis constant-velocity Kalman covariance [[a,b],[b,c]];
// the three axes of a vector share it since they share dt and noise.
type cv2 struct{ a, b, c float64 }

func (p *cv2) predict(dt, q float64) {
	a := p.a + 2*dt*p.b + dt*dt*p.c + q*dt*dt*dt/3
	b := p.b + dt*p.c + q*dt*dt/2
	c := p.c + q*dt
	p.a, p.b, p.c = a, b, c
}

// update applies a position measurement with variance r and returns the
// gains for value and rate.
func (p *cv2) update(r float64) (k0, k1 float64) {
	s := p.a + r
	k0, k1 = p.a/s, p.b/s
	a := (1 - k0) * p.a
	b := (1 - k0) * p.b
	c := p.c - k1*p.b
	p.a, p.b, p.c = a, b, c
	return k0, k1
}

// Kalman is a constant-velocity Kalman filter on position (per axis) and
// orientation (multiplicative, on SO(3): the state is a unit quaternion
// and an angular velocity, the innovation is the rotation vector from the
// estimate to the measurement), after Gül et al., ACM MM 2020, with
// process noise discretised over each actual sample interval. Prediction
// integrates the filtered velocities from the filtered pose.
type Kalman struct {
	cfg KalmanConfig
	tr  track

	init   bool
	t      time.Duration
	q      mgl64.Quat
	w      mgl64.Vec3
	p, v   mgl64.Vec3
	po, pp cv2
}

// NewKalman returns a Kalman predictor with DefaultKalmanConfig.
func NewKalman() *Kalman { return NewKalmanWith(DefaultKalmanConfig) }

// NewKalmanWith returns a Kalman predictor with the given noise.
func NewKalmanWith(cfg KalmanConfig) *Kalman { return &Kalman{cfg: cfg} }

// Name implements Predictor.
func (k *Kalman) Name() string { return "kalman" }

// Observe implements Predictor.
func (k *Kalman) Observe(p Pose) {
	acc, restart := k.tr.observe(p)
	if !acc {
		return
	}
	z := k.tr.last
	if restart || !k.init {
		k.init = true
		k.t, k.q, k.p = z.Time, z.Orientation, z.Position
		k.w, k.v = mgl64.Vec3{}, mgl64.Vec3{}
		if z.HasVelocity {
			k.w, k.v = z.AngularVelocity, z.LinearVelocity
		}
		rv := k.cfg.OrientMeas * k.cfg.OrientMeas
		k.po = cv2{a: rv, c: 4} // (2 rad/s)² initial angular velocity variance
		rp := k.cfg.PosMeas * k.cfg.PosMeas
		k.pp = cv2{a: rp, c: 1}
		return
	}
	dt := (z.Time - k.t).Seconds()
	k.t = z.Time
	// Predict.
	k.q = rotateBy(k.w.Mul(dt), k.q)
	k.p = k.p.Add(k.v.Mul(dt))
	k.po.predict(dt, k.cfg.OrientAccel*k.cfg.OrientAccel)
	k.pp.predict(dt, k.cfg.PosAccel*k.cfg.PosAccel)
	// Update.
	r := quatLog(alignQuat(z.Orientation, k.q).Mul(k.q.Conjugate()))
	k0, k1 := k.po.update(k.cfg.OrientMeas * k.cfg.OrientMeas)
	k.q = rotateBy(r.Mul(k0), k.q)
	k.w = k.w.Add(r.Mul(k1))
	d := z.Position.Sub(k.p)
	k0, k1 = k.pp.update(k.cfg.PosMeas * k.cfg.PosMeas)
	k.p = k.p.Add(d.Mul(k0))
	k.v = k.v.Add(d.Mul(k1))
	if !finiteQuat(k.q) || !finiteVec(k.w) || !finiteVec(k.p) || !finiteVec(k.v) {
		k.init = false
	}
}

// Predict implements Predictor.
func (k *Kalman) Predict(at time.Duration) Pose {
	if _, ok := k.tr.horizon(at); !ok || !k.init {
		return k.tr.current()
	}
	d := at - k.t
	if d < 0 {
		d = 0
	}
	if d > MaxExtrapolation {
		d = MaxExtrapolation
	}
	tau := d.Seconds()
	out := k.tr.last
	out.Time = at
	out.Orientation = rotateBy(k.w.Mul(tau), k.q)
	out.Position = k.p.Add(k.v.Mul(tau))
	out.AngularVelocity, out.LinearVelocity, out.HasVelocity = k.w, k.v, true
	return out
}
