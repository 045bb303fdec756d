// Package pose owns head poses on the node: the Pose type, validation and
// intake of pose datagrams from the unordered "pose" data channel, and the
// Predictor implementations that extrapolate a pose to the moment its frame
// reaches the eyes.
//
// All poses use WebXR's frame of reference: right-handed, +Y up, -Z forward,
// positions in metres, orientations as unit quaternions.
package pose

import (
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// Pose is one head pose sample.
type Pose struct {
	// Seq is the client's sequence number, strictly increasing per session.
	Seq uint64
	// Time is when the client sampled the pose, on the client's clock
	// (an offset from an arbitrary epoch that is fixed per session). The
	// node never compares it with its own clock; it only uses differences.
	Time time.Duration
	// Orientation is a unit quaternion (head to world).
	Orientation mgl64.Quat
	// Position is the head position in metres.
	Position mgl64.Vec3
	// AngularVelocity is the client-reported angular velocity in rad/s in
	// the world frame; valid when HasVelocity is set.
	AngularVelocity mgl64.Vec3
	// LinearVelocity is the client-reported linear velocity in m/s in the
	// world frame; valid when HasVelocity is set.
	LinearVelocity mgl64.Vec3
	// HasVelocity tells whether the velocity fields were sent.
	HasVelocity bool
}

// Identity returns the pose at the origin looking down -Z, the pose used
// before a client has sent any.
func Identity() Pose {
	return Pose{Orientation: mgl64.QuatIdent()}
}

// Predictor extrapolates head motion. Implementations are not safe for
// concurrent use; the session that owns one serialises calls.
type Predictor interface {
	// Observe feeds one accepted pose. Poses arrive in increasing Seq
	// order (intake drops stale ones) but their Time may be uneven.
	Observe(p Pose)
	// Predict returns the pose expected at client time at (same clock as
	// Pose.Time). Before any Observe it returns Identity().
	Predict(at time.Duration) Pose
	// Name is a short stable identifier such as "none" or
	// "constant-velocity".
	Name() string
}

// NoPrediction is the baseline Predictor: it returns the newest pose as is.
type NoPrediction struct {
	last Pose
	seen bool
}

// NewNoPrediction returns a Predictor that does not extrapolate.
func NewNoPrediction() *NoPrediction { return &NoPrediction{} }

// Observe implements Predictor.
func (n *NoPrediction) Observe(p Pose) { n.last, n.seen = p, true }

// Predict implements Predictor.
func (n *NoPrediction) Predict(at time.Duration) Pose {
	if !n.seen {
		return Identity()
	}
	return n.last
}

// Name implements Predictor.
func (n *NoPrediction) Name() string { return "none" }
