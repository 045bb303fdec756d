package pose

import (
	"fmt"
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
	"google.golang.org/protobuf/proto"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// Limits applied by Decode.
const (
	// MaxDatagramSize bounds a pose datagram; a full Pose with velocities
	// encodes to well under 100 bytes.
	MaxDatagramSize = 512
	// UnitTolerance is how far |q| may be from 1 and still be normalised;
	// farther is rejected as ErrNotUnit.
	UnitTolerance = 0.05
	// MaxPosition is the largest accepted |coordinate| in metres.
	MaxPosition = 10_000
	// MaxReportedAngularSpeed is the largest accepted angular speed in rad/s
	// (about 5700°/s, far above any head).
	MaxReportedAngularSpeed = 100
	// MaxReportedLinearSpeed is the largest accepted linear speed in m/s.
	MaxReportedLinearSpeed = 100
)

// Decode parses and validates one binary Pose datagram. A quaternion whose
// norm is within UnitTolerance of 1 is normalised; anything else invalid is
// rejected with an error wrapping one of the Err… sentinels.
func Decode(b []byte) (Pose, error) {
	if len(b) > MaxDatagramSize {
		return Pose{}, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(b), MaxDatagramSize)
	}
	var m holocastv1.Pose
	if err := proto.Unmarshal(b, &m); err != nil {
		return Pose{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return FromProto(&m)
}

// FromProto validates a decoded Pose message and converts it.
func FromProto(m *holocastv1.Pose) (Pose, error) {
	if m.GetSeq() == 0 {
		return Pose{}, ErrNoSeq
	}
	o := m.GetOrientation()
	if o == nil {
		return Pose{}, fmt.Errorf("seq %d: %w", m.GetSeq(), ErrNoOrientation)
	}
	q := wire.QuatFromProto(o)
	if !finite(q.W, q.V[0], q.V[1], q.V[2]) {
		return Pose{}, fmt.Errorf("seq %d: orientation: %w", m.GetSeq(), ErrNotFinite)
	}
	n := q.Len()
	if math.Abs(n-1) > UnitTolerance {
		return Pose{}, fmt.Errorf("seq %d: |q| = %.4g: %w", m.GetSeq(), n, ErrNotUnit)
	}
	p := Pose{
		Seq:         m.GetSeq(),
		Time:        time.Duration(m.GetSampleTimeUs()) * time.Microsecond,
		Orientation: q.Scale(1 / n),
	}
	var err error
	if p.Position, err = vec(m.GetPosition(), MaxPosition, "position"); err != nil {
		return Pose{}, fmt.Errorf("seq %d: %w", m.GetSeq(), err)
	}
	if m.GetAngularVelocity() != nil || m.GetLinearVelocity() != nil {
		p.HasVelocity = true
		if p.AngularVelocity, err = vec(m.GetAngularVelocity(), MaxReportedAngularSpeed, "angular velocity"); err != nil {
			return Pose{}, fmt.Errorf("seq %d: %w", m.GetSeq(), err)
		}
		if p.LinearVelocity, err = vec(m.GetLinearVelocity(), MaxReportedLinearSpeed, "linear velocity"); err != nil {
			return Pose{}, fmt.Errorf("seq %d: %w", m.GetSeq(), err)
		}
	}
	return p, nil
}

// ToProto converts a Pose to its wire message (the inverse of FromProto).
func ToProto(p Pose) *holocastv1.Pose {
	m := &holocastv1.Pose{
		Seq:          p.Seq,
		SampleTimeUs: p.Time.Microseconds(),
		Orientation:  wire.QuatToProto(p.Orientation),
		Position:     wire.Vec3ToProto(p.Position),
	}
	if p.HasVelocity {
		m.AngularVelocity = wire.Vec3ToProto(p.AngularVelocity)
		m.LinearVelocity = wire.Vec3ToProto(p.LinearVelocity)
	}
	return m
}

func vec(v *holocastv1.Vec3, limit float64, what string) (mgl64.Vec3, error) {
	out := wire.Vec3FromProto(v)
	if !finite(out[0], out[1], out[2]) {
		return mgl64.Vec3{}, fmt.Errorf("%s: %w", what, ErrNotFinite)
	}
	if out.Len() > limit {
		return mgl64.Vec3{}, fmt.Errorf("%s |%.4g| > %g: %w", what, out.Len(), limit, ErrOutOfRange)
	}
	return out, nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
