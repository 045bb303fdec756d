package wire

import (
	"github.com/go-gl/mathgl/mgl64"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// QuatToProto converts a quaternion to its wire form.
func QuatToProto(q mgl64.Quat) *holocastv1.Quat {
	return &holocastv1.Quat{X: float32(q.V[0]), Y: float32(q.V[1]), Z: float32(q.V[2]), W: float32(q.W)}
}

// Vec3ToProto converts a vector to its wire form.
func Vec3ToProto(v mgl64.Vec3) *holocastv1.Vec3 {
	return &holocastv1.Vec3{X: float32(v[0]), Y: float32(v[1]), Z: float32(v[2])}
}

// QuatFromProto converts a wire quaternion (nil means identity) without
// validation; pose.FromProto validates.
func QuatFromProto(q *holocastv1.Quat) mgl64.Quat {
	if q == nil {
		return mgl64.QuatIdent()
	}
	return mgl64.Quat{W: float64(q.GetW()), V: mgl64.Vec3{float64(q.GetX()), float64(q.GetY()), float64(q.GetZ())}}
}

// Vec3FromProto converts a wire vector (nil means zero) without validation.
func Vec3FromProto(v *holocastv1.Vec3) mgl64.Vec3 {
	return mgl64.Vec3{float64(v.GetX()), float64(v.GetY()), float64(v.GetZ())}
}
