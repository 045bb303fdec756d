package pose

import (
	"math"

	"github.com/go-gl/mathgl/mgl64"
)

// Quaternion helpers shared by the predictors. All rotation vectors are
// axis·angle in radians; quaternions are head-to-world, so a world-frame
// rotation increment d is applied as d·q.

// finiteVec reports whether every component of v is finite.
func finiteVec(v mgl64.Vec3) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// finiteQuat reports whether every component of q is finite.
func finiteQuat(q mgl64.Quat) bool {
	return finiteVec(q.V) && !math.IsNaN(q.W) && !math.IsInf(q.W, 0)
}

// normalizeQuat returns q scaled to unit length, and false when q is not
// finite or too close to zero to define a rotation.
func normalizeQuat(q mgl64.Quat) (mgl64.Quat, bool) {
	if !finiteQuat(q) {
		return mgl64.QuatIdent(), false
	}
	// Scale first so that huge or tiny components do not overflow.
	m := math.Max(math.Abs(q.W), math.Max(math.Abs(q.V[0]), math.Max(math.Abs(q.V[1]), math.Abs(q.V[2]))))
	if m == 0 || math.IsInf(m, 0) {
		return mgl64.QuatIdent(), false
	}
	q = mgl64.Quat{W: q.W / m, V: q.V.Mul(1 / m)}
	n := math.Sqrt(q.W*q.W + q.V.Dot(q.V))
	if n < 1e-9 {
		return mgl64.QuatIdent(), false
	}
	return mgl64.Quat{W: q.W / n, V: q.V.Mul(1 / n)}, true
}

// alignQuat returns q or −q, whichever lies in ref's hemisphere.
func alignQuat(q, ref mgl64.Quat) mgl64.Quat {
	if q.Dot(ref) < 0 {
		return mgl64.Quat{W: -q.W, V: q.V.Mul(-1)}
	}
	return q
}

// quatLog returns the rotation vector of the unit quaternion q (the
// shortest rotation, angle in [0, π]).
func quatLog(q mgl64.Quat) mgl64.Vec3 {
	if q.W < 0 {
		q = mgl64.Quat{W: -q.W, V: q.V.Mul(-1)}
	}
	s := q.V.Len()
	if s < 1e-12 {
		return q.V.Mul(2)
	}
	angle := 2 * math.Atan2(s, q.W)
	return q.V.Mul(angle / s)
}

// quatExp returns the unit quaternion of the rotation vector r.
func quatExp(r mgl64.Vec3) mgl64.Quat {
	theta := r.Len()
	if theta < 1e-12 {
		q, _ := normalizeQuat(mgl64.Quat{W: 1, V: r.Mul(0.5)})
		return q
	}
	if math.IsInf(theta, 0) || math.IsNaN(theta) {
		return mgl64.QuatIdent()
	}
	return mgl64.Quat{W: math.Cos(theta / 2), V: r.Mul(math.Sin(theta/2) / theta)}
}

// quatAngle returns the sign-invariant rotation angle between two unit
// quaternions in radians: 2·acos(|⟨a,b⟩|).
func quatAngle(a, b mgl64.Quat) float64 {
	d := math.Abs(a.Dot(b))
	if d > 1 {
		d = 1
	}
	return 2 * math.Acos(d)
}

// QuatAngle returns the sign-invariant angle in radians between two unit
// quaternions, 2·acos(|⟨a,b⟩|) with the dot product clamped to 1.
func QuatAngle(a, b mgl64.Quat) float64 { return quatAngle(a, b) }

// rotateBy applies the world-frame rotation vector r to q and returns a
// unit quaternion.
func rotateBy(r mgl64.Vec3, q mgl64.Quat) mgl64.Quat {
	out, ok := normalizeQuat(quatExp(r).Mul(q))
	if !ok {
		return q
	}
	return out
}
