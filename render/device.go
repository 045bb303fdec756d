package render

import (
	"math"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
)

// FOV is an eye's field of view as four half-angles in radians, measured
// from the eye's forward axis (-Z) to each edge of the frustum. All four are
// positive (unlike OpenXR, where Left and Down are negative).
type FOV struct {
	Left, Right, Up, Down float64
}

// EyeParams describes one eye's optics.
type EyeParams struct {
	// FOV is used to build an asymmetric frustum when Projection is nil.
	FOV FOV
	// Projection, when set, is used as is (column-major, OpenGL clip
	// conventions, e.g. a WebXR view's projectionMatrix) and FOV, Near
	// and Far are ignored for this eye.
	Projection *mgl32.Mat4
	// Offset, when set, is the eye's position relative to the head centre
	// in head space (metres, +X right, +Y up, -Z forward); it overrides
	// the ±IPD/2 along head X derived from Device.IPD.
	Offset *mgl64.Vec3
}

// Device describes a headset's optics: what Views needs to turn a head pose
// into two eye views.
type Device struct {
	// IPD is the inter-pupillary distance in metres.
	IPD float64
	// Left and Right are the per-eye parameters.
	Left, Right EyeParams
	// Near and Far are the clip plane distances in metres.
	Near, Far float64
}

// DefaultIPD is the inter-pupillary distance used by DefaultDevice, in
// metres (an adult average).
const DefaultIPD = 0.063

// DefaultDevice returns a typical headset for eyes of eyeW×eyeH pixels:
// IPD 0.063 m, symmetric vertical half-FOV of 45°, horizontal half-FOV
// derived from the eye viewport's aspect ratio so that pixels are square,
// near plane 0.05 m, far plane 200 m.
func DefaultDevice(eyeW, eyeH int) Device {
	if eyeW <= 0 || eyeH <= 0 {
		eyeW, eyeH = 1, 1
	}
	v := math.Pi / 4
	h := math.Atan(math.Tan(v) * float64(eyeW) / float64(eyeH))
	fov := FOV{Left: h, Right: h, Up: v, Down: v}
	return Device{
		IPD:   DefaultIPD,
		Left:  EyeParams{FOV: fov},
		Right: EyeParams{FOV: fov},
		Near:  0.05,
		Far:   200,
	}
}

// Views returns the left and right eye views for head pose p.
//
// The view matrix of an eye is the inverse of its eye-to-world transform,
// which is the head pose (rotation p.Orientation, then translation
// p.Position) followed by the eye offset in head space: -IPD/2 along head X
// for the left eye and +IPD/2 for the right, unless EyeParams.Offset says
// otherwise. A zero Orientation is treated as identity.
func (d Device) Views(p pose.Pose) StereoViews {
	q := p.Orientation
	if q.Len() < 1e-9 {
		q = mgl64.QuatIdent()
	} else {
		q = q.Normalize()
	}
	// World to head: R^T * T(-P).
	headInv := q.Conjugate().Mat4().Mul4(mgl64.Translate3D(-p.Position[0], -p.Position[1], -p.Position[2]))
	eye := func(e EyeParams, defX float64) Eye {
		off := mgl64.Vec3{defX, 0, 0}
		if e.Offset != nil {
			off = *e.Offset
		}
		view := mgl64.Translate3D(-off[0], -off[1], -off[2]).Mul4(headInv)
		var proj mgl32.Mat4
		if e.Projection != nil {
			proj = *e.Projection
		} else {
			proj = Mat64To32(FrustumFromFOV(e.FOV, d.Near, d.Far))
		}
		return Eye{View: Mat64To32(view), Projection: proj}
	}
	return StereoViews{
		Left:  eye(d.Left, -d.IPD/2),
		Right: eye(d.Right, d.IPD/2),
	}
}

// FrustumFromFOV returns the OpenGL-convention (clip z in [-w, w])
// asymmetric perspective projection for the given half-angles and clip
// distances.
func FrustumFromFOV(f FOV, near, far float64) mgl64.Mat4 {
	if near <= 0 {
		near = 0.05
	}
	if far <= near {
		far = near * 4000
	}
	return mgl64.Frustum(
		-near*math.Tan(f.Left), near*math.Tan(f.Right),
		-near*math.Tan(f.Down), near*math.Tan(f.Up),
		near, far)
}

// Mat64To32 converts a float64 matrix to float32.
func Mat64To32(m mgl64.Mat4) mgl32.Mat4 {
	var r mgl32.Mat4
	for i := range m {
		r[i] = float32(m[i])
	}
	return r
}
