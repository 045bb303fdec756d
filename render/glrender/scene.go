package glrender

import (
	"errors"
	"fmt"
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Vertex is one vertex of a Scene: world-space position, unit normal and
// linear RGB colour in [0,1]. It is uploaded as is (36 bytes, tightly
// packed).
type Vertex struct {
	Pos    [3]float32 // world position, metres
	Normal [3]float32 // unit normal
	Color  [3]float32 // base colour before lighting
}

// Material selects the shader of a Draw.
type Material int

const (
	// MaterialLit is per-vertex Lambert lighting from Scene.LightDir plus
	// hemispheric ambient, with distance fog.
	MaterialLit Material = iota
	// MaterialGrid is an unlit floor whose grid lines (every metre, major
	// every 5 m) are computed in the fragment shader; vertex colours are
	// ignored.
	MaterialGrid
)

// Draw is a range of Scene.Indices drawn with one material. Draws are
// issued in order, so put near geometry first to help the depth test.
type Draw struct {
	Material     Material
	First, Count int
}

// Scene is static geometry in one vertex buffer and one index buffer, drawn
// as indexed triangles (counter-clockwise front faces, back faces culled).
type Scene struct {
	// Vertices go into one vertex buffer.
	Vertices []Vertex
	// Indices (triangles) go into one index buffer.
	Indices []uint32
	// Draws are issued in order for each eye.
	Draws []Draw
	// Sky draws a gradient sky with a sun behind everything else;
	// otherwise the background is FogColor.
	Sky bool
	// LightDir points from the scene towards the directional light.
	LightDir mgl32.Vec3
	// FogColor is the horizon colour that distant geometry fades to.
	FogColor mgl32.Vec3
	// FogDensity is the exponential fog density per metre (0: no fog).
	FogDensity float32
}

// Triangles returns the number of triangles in the scene.
func (s *Scene) Triangles() int { return len(s.Indices) / 3 }

// Validate checks that the scene can be uploaded: it is not empty, its
// indices refer to existing vertices and its draws to existing indices.
func (s *Scene) Validate() error {
	if len(s.Vertices) == 0 || len(s.Indices) == 0 {
		return errors.New("empty scene")
	}
	for _, i := range s.Indices {
		if int(i) >= len(s.Vertices) {
			return fmt.Errorf("index %d out of range (%d vertices)", i, len(s.Vertices))
		}
	}
	for _, d := range s.Draws {
		if d.First < 0 || d.Count < 0 || d.First+d.Count > len(s.Indices) {
			return fmt.Errorf("draw %+v out of range (%d indices)", d, len(s.Indices))
		}
		if d.Material != MaterialLit && d.Material != MaterialGrid {
			return fmt.Errorf("draw %+v: unknown material", d)
		}
	}
	return nil
}

// FloorY is the height of the default scene's floor: the default scene is
// laid out for a WebXR "local" reference space, where the head starts at
// the origin, so the floor is one standing eye height below it.
const FloorY = -1.6

// builder accumulates indexed geometry.
type builder struct {
	v   []Vertex
	idx []uint32
}

func (b *builder) vert(p, n, c mgl32.Vec3) uint32 {
	b.v = append(b.v, Vertex{Pos: p, Normal: n, Color: c})
	return uint32(len(b.v) - 1)
}

// quad adds a flat quad a,b,c,d in counter-clockwise order seen from the
// front.
func (b *builder) quad(a, bb, c, d, col mgl32.Vec3) {
	n := bb.Sub(a).Cross(d.Sub(a)).Normalize()
	i := b.vert(a, n, col)
	b.vert(bb, n, col)
	b.vert(c, n, col)
	b.vert(d, n, col)
	b.idx = append(b.idx, i, i+1, i+2, i, i+2, i+3)
}

func (b *builder) tri(a, bb, c, col mgl32.Vec3) {
	n := bb.Sub(a).Cross(c.Sub(a)).Normalize()
	i := b.vert(a, n, col)
	b.vert(bb, n, col)
	b.vert(c, n, col)
	b.idx = append(b.idx, i, i+1, i+2)
}

// box adds an axis-aligned box (rotated by yaw radians about its vertical
// axis) from centre-bottom c, with half-sizes hx, hz and height h.
func (b *builder) box(c mgl32.Vec3, hx, h, hz, yaw float32, col mgl32.Vec3) {
	s, co := float32(math.Sin(float64(yaw))), float32(math.Cos(float64(yaw)))
	p := func(x, y, z float32) mgl32.Vec3 {
		return mgl32.Vec3{c[0] + x*co + z*s, c[1] + y, c[2] - x*s + z*co}
	}
	x0, x1, z0, z1 := -hx, hx, -hz, hz
	// +Z, -Z, +X, -X, top.
	b.quad(p(x0, 0, z1), p(x1, 0, z1), p(x1, h, z1), p(x0, h, z1), col)
	b.quad(p(x1, 0, z0), p(x0, 0, z0), p(x0, h, z0), p(x1, h, z0), col)
	b.quad(p(x1, 0, z1), p(x1, 0, z0), p(x1, h, z0), p(x1, h, z1), col)
	b.quad(p(x0, 0, z0), p(x0, 0, z1), p(x0, h, z1), p(x0, h, z0), col)
	b.quad(p(x0, h, z1), p(x1, h, z1), p(x1, h, z0), p(x0, h, z0), col)
	if c[1] > FloorY+1e-3 {
		// Not resting on the floor: the underside may be seen.
		b.quad(p(x0, 0, z0), p(x1, 0, z0), p(x1, 0, z1), p(x0, 0, z1), col)
	}
}

// cylinder adds an n-sided prism with smooth side normals and a flat top.
func (b *builder) cylinder(c mgl32.Vec3, r, h float32, n int, col mgl32.Vec3) {
	base := uint32(len(b.v))
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		x, z := float32(math.Cos(a)), float32(-math.Sin(a))
		nrm := mgl32.Vec3{x, 0, z}
		b.vert(mgl32.Vec3{c[0] + r*x, c[1], c[2] + r*z}, nrm, col)
		b.vert(mgl32.Vec3{c[0] + r*x, c[1] + h, c[2] + r*z}, nrm, col)
	}
	for i := uint32(0); i < uint32(n); i++ {
		v := base + 2*i
		b.idx = append(b.idx, v, v+2, v+3, v, v+3, v+1)
	}
	top := mgl32.Vec3{c[0], c[1] + h, c[2]}
	up := mgl32.Vec3{0, 1, 0}
	ci := b.vert(top, up, col)
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		b.vert(mgl32.Vec3{c[0] + r*float32(math.Cos(a)), c[1] + h, c[2] - r*float32(math.Sin(a))}, up, col)
	}
	for i := uint32(0); i < uint32(n); i++ {
		b.idx = append(b.idx, ci, ci+1+i, ci+2+i)
	}
}

// pyramid adds a square pyramid (no base) with flat-shaded faces.
func (b *builder) pyramid(c mgl32.Vec3, half, h float32, col mgl32.Vec3) {
	apex := mgl32.Vec3{c[0], c[1] + h, c[2]}
	p := func(x, z float32) mgl32.Vec3 { return mgl32.Vec3{c[0] + x, c[1], c[2] + z} }
	b.tri(p(-half, half), p(half, half), apex, col)
	b.tri(p(half, half), p(half, -half), apex, col)
	b.tri(p(half, -half), p(-half, -half), apex, col)
	b.tri(p(-half, -half), p(-half, half), apex, col)
}

// cone adds an n-sided cone with smooth-ish side normals (no base).
func (b *builder) cone(c mgl32.Vec3, r, h float32, n int, col mgl32.Vec3) {
	apex := mgl32.Vec3{c[0], c[1] + h, c[2]}
	slope := r / h
	for i := 0; i < n; i++ {
		a0 := 2 * math.Pi * float64(i) / float64(n)
		a1 := 2 * math.Pi * float64(i+1) / float64(n)
		am := (a0 + a1) / 2
		p0 := mgl32.Vec3{c[0] + r*float32(math.Cos(a0)), c[1], c[2] - r*float32(math.Sin(a0))}
		p1 := mgl32.Vec3{c[0] + r*float32(math.Cos(a1)), c[1], c[2] - r*float32(math.Sin(a1))}
		n0 := mgl32.Vec3{float32(math.Cos(a0)), slope, float32(-math.Sin(a0))}.Normalize()
		n1 := mgl32.Vec3{float32(math.Cos(a1)), slope, float32(-math.Sin(a1))}.Normalize()
		nm := mgl32.Vec3{float32(math.Cos(am)), slope, float32(-math.Sin(am))}.Normalize()
		i0 := b.vert(p0, n0, col)
		b.vert(p1, n1, col)
		b.vert(apex, nm, col)
		b.idx = append(b.idx, i0, i0+1, i0+2)
	}
}

// sphere adds a UV sphere with smooth normals.
func (b *builder) sphere(c mgl32.Vec3, r float32, slices, stacks int, col mgl32.Vec3) {
	base := uint32(len(b.v))
	for j := 0; j <= stacks; j++ {
		phi := math.Pi * float64(j) / float64(stacks) // 0 at the top
		for i := 0; i <= slices; i++ {
			th := 2 * math.Pi * float64(i) / float64(slices)
			n := mgl32.Vec3{
				float32(math.Sin(phi) * math.Cos(th)),
				float32(math.Cos(phi)),
				float32(-math.Sin(phi) * math.Sin(th)),
			}
			b.vert(c.Add(n.Mul(r)), n, col)
		}
	}
	row := uint32(slices + 1)
	for j := uint32(0); j < uint32(stacks); j++ {
		for i := uint32(0); i < uint32(slices); i++ {
			a := base + j*row + i
			b.idx = append(b.idx, a, a+row, a+row+1, a, a+row+1, a+1)
		}
	}
}

// polar returns the floor point at distance r and compass bearing deg
// (0 = north = -Z, 90 = east = +X).
func polar(deg, r, y float32) mgl32.Vec3 {
	a := float64(deg) * math.Pi / 180
	return mgl32.Vec3{r * float32(math.Sin(a)), y, -r * float32(math.Cos(a))}
}

// DefaultScene returns the built-in scene, made so that a viewer can tell
// where they are looking and feel depth:
//
//   - a 200 m floor with a 1 m / 5 m grid drawn in the fragment shader;
//   - a landmark 20 m away in each compass direction, each with its own
//     colour and shape: a red square tower with a pyramid roof at north
//     (-Z), a green sphere on a pedestal at east (+X), a blue gate at south
//     (+Z) and a yellow pyramid at west (-X);
//   - lit columns, cubes and a small turned cube on a plinth within a few
//     metres, for stereo depth, and a scatter of conifers at 8-16 m;
//   - a gradient sky with a sun, drawn last only where nothing else is.
//
// It has about 1.9k triangles; on llvmpipe the cost is fill, which the
// scene keeps low with back-face culling, front-to-back order and cheap
// per-vertex lighting.
func DefaultScene() *Scene {
	var b builder
	f := float32(FloorY)
	stone := mgl32.Vec3{0.82, 0.79, 0.72}

	// Nearest first: a slim plinth with a turned cube, in front and to the
	// right, for strong stereo depth.
	b.box(mgl32.Vec3{0.8, f, -2.0}, 0.15, 1.0, 0.15, 0, mgl32.Vec3{0.6, 0.6, 0.66})
	b.box(mgl32.Vec3{0.8, f + 1.0, -2.0}, 0.14, 0.28, 0.14, math.Pi/4, mgl32.Vec3{1.0, 0.5, 0.15})

	// Cubes at 2.8 m and columns at 3.6 m, off the compass directions so
	// they hide no landmark.
	cubes := []struct {
		deg float32
		col mgl32.Vec3
	}{
		{60, mgl32.Vec3{0.95, 0.45, 0.4}},  // coral
		{120, mgl32.Vec3{0.3, 0.75, 0.75}}, // teal
		{240, mgl32.Vec3{0.65, 0.5, 0.9}},  // lavender
		{300, mgl32.Vec3{0.9, 0.78, 0.5}},  // sand
	}
	for i, c := range cubes {
		b.box(polar(c.deg, 2.8, f), 0.35, 0.7, 0.35, float32(i)*0.4+0.2, c.col)
	}
	for _, deg := range []float32{28, 152, 208, 332} {
		p := polar(deg, 3.6, f)
		b.box(p, 0.4, 0.2, 0.4, 0, stone)
		b.cylinder(p.Add(mgl32.Vec3{0, 0.2, 0}), 0.25, 2.6, 16, stone)
		b.box(p.Add(mgl32.Vec3{0, 2.8, 0}), 0.4, 0.25, 0.4, 0, stone)
	}

	// Trees between 8 and 16 m, kept out of 14° corridors around the
	// compass directions. Positions come from a fixed LCG so the scene is
	// the same on every node.
	seed := uint32(12345)
	rnd := func() float32 {
		seed = seed*1664525 + 1013904223
		return float32(seed>>8) / (1 << 24)
	}
	for placed := 0; placed < 18; {
		deg := rnd() * 360
		r := 8 + rnd()*8
		if d := math.Mod(float64(deg)+14, 90); d < 28 {
			continue
		}
		placed++
		p := polar(deg, r, f)
		h := 2.5 + rnd()*2
		b.cylinder(p, 0.18, h*0.35, 8, mgl32.Vec3{0.45, 0.3, 0.18})
		b.cone(p.Add(mgl32.Vec3{0, h * 0.3, 0}), 0.9+rnd()*0.4, h*0.75, 12, mgl32.Vec3{0.2, 0.3 + rnd()*0.05, 0.27})
	}

	// Landmarks at 20 m.
	north := polar(0, 20, f)
	roof := mgl32.Vec3{0.6, 0.08, 0.08}
	b.box(north, 1.8, 13, 1.8, 0, mgl32.Vec3{1.0, 0.14, 0.1})
	b.box(north.Add(mgl32.Vec3{0, 12.7, 0}), 2.3, 0.4, 2.3, 0, roof)
	b.pyramid(north.Add(mgl32.Vec3{0, 13.1, 0}), 2.3, 4, roof)

	east := polar(90, 20, f)
	b.cylinder(east, 1.4, 3, 20, mgl32.Vec3{0.2, 0.75, 0.2})
	b.sphere(east.Add(mgl32.Vec3{0, 6.2, 0}), 3.3, 24, 14, mgl32.Vec3{0.35, 1.0, 0.25})

	blue := mgl32.Vec3{0.15, 0.35, 1.0}
	south := polar(180, 20, f)
	for _, dx := range []float32{-4, 4} {
		b.cylinder(south.Add(mgl32.Vec3{dx, 0, 0}), 0.7, 8, 16, blue)
	}
	b.box(south.Add(mgl32.Vec3{0, 8, 0}), 6.2, 1.0, 0.9, 0, blue)
	b.box(south.Add(mgl32.Vec3{0, 6.0, 0}), 4.8, 0.6, 0.5, 0, mgl32.Vec3{0.1, 0.22, 0.75})

	west := polar(270, 20, f)
	b.pyramid(west, 6, 9, mgl32.Vec3{1.0, 0.85, 0.15})

	lit := Draw{Material: MaterialLit, First: 0, Count: len(b.idx)}

	// Floor last among opaque geometry: it is behind everything else.
	first := len(b.idx)
	const r = 100
	b.quad(mgl32.Vec3{-r, f, r}, mgl32.Vec3{r, f, r}, mgl32.Vec3{r, f, -r}, mgl32.Vec3{-r, f, -r}, mgl32.Vec3{})
	grid := Draw{Material: MaterialGrid, First: first, Count: len(b.idx) - first}

	return &Scene{
		Vertices:   b.v,
		Indices:    b.idx,
		Draws:      []Draw{lit, grid},
		Sky:        true,
		LightDir:   mgl32.Vec3{0.3, 0.85, 0.45}.Normalize(),
		FogColor:   mgl32.Vec3{0.72, 0.8, 0.9},
		FogDensity: 0.008,
	}
}

// EnvironmentScene is what surrounds a user's model: the built-in scene's
// floor grid and sky without its landmarks, so that a model stands on a
// floor under a horizon.
func EnvironmentScene() *Scene {
	var b builder
	f := float32(FloorY)
	const r = 100
	b.quad(mgl32.Vec3{-r, f, r}, mgl32.Vec3{r, f, r}, mgl32.Vec3{r, f, -r}, mgl32.Vec3{-r, f, -r}, mgl32.Vec3{})
	d := DefaultScene()
	return &Scene{
		Vertices:   b.v,
		Indices:    b.idx,
		Draws:      []Draw{{Material: MaterialGrid, First: 0, Count: len(b.idx)}},
		Sky:        true,
		LightDir:   d.LightDir,
		FogColor:   d.FogColor,
		FogDensity: d.FogDensity,
	}
}
