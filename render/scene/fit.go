package scene

import "github.com/go-gl/mathgl/mgl32"

// Placement of a fitted model in the viewer's space (WebXR "local"
// reference space: the head starts at the origin looking down -Z).
const (
	// FitSize is the largest extent a fitted model is scaled to, metres.
	FitSize = 1.5
	// FitDistance is how far ahead of the viewer a fitted model stands.
	FitDistance = 2.0
	// FloorY is the floor's height below the starting head position.
	FloorY = -1.6
)

// Fit returns the transform that scales a model with bounds b uniformly so
// that its largest extent is FitSize and puts it on the floor (FloorY),
// its centre FitDistance ahead of the viewer (-Z). An empty or degenerate
// box gets a translation only.
func Fit(b Box) mgl32.Mat4 {
	if b.Empty() {
		return mgl32.Translate3D(0, FloorY, -FitDistance)
	}
	size := b.Size()
	longest := max(size[0], size[1], size[2])
	s := float32(1)
	if longest > 0 {
		s = FitSize / longest
	}
	c := b.Center()
	return mgl32.Translate3D(0, FloorY, -FitDistance).
		Mul4(mgl32.Scale3D(s, s, s)).
		Mul4(mgl32.Translate3D(-c[0], -b.Min[1], -c[2]))
}
