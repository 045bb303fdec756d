//go:build egl && cgo

package glrender

import (
	"bytes"
	"math"
	"testing"

	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// TestVertexLightingMatchesFragmentLighting: the 1M-triangle benchmark
// model, fitted 2 m ahead, rendered at 1280×720 with culling and level of
// detail while the head turns, lit per vertex where its drawn levels are
// micropolygons and lit per fragment everywhere. Most of its triangles
// must be lit per vertex, and the two pictures must differ by far less
// than level of detail at LODPixelError differs from full detail
// (TestLODErrorBelowEncoderError: 0.28 luma levels).
func TestVertexLightingMatchesFragmentLighting(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 1M-triangle model")
	}
	const width, height, frames = 1280, 720, 6
	w := newWorker(t)
	r := newRenderer(t, w, width, height)
	m := decodeModel(t, scenetest.Spheres(256, 4000))
	if err := r.SetModel(m, scene.Fit(m.Bounds)); err != nil {
		t.Fatal(err)
	}
	lumas := func(fragmentOnly bool) (ys [][]byte, tris, vlit int) {
		r.setFragmentLighting(fragmentOnly)
		for i := range frames {
			f, err := r.Render(views(width, height, yawPose(20*math.Sin(float64(i)*0.5))))
			if err != nil {
				t.Fatal(err)
			}
			ys = append(ys, bytes.Clone(f.Y))
			tris += f.Triangles
			vlit += r.vertexLitTriangles()
		}
		return ys, tris, vlit
	}
	perFragment, tris, vlit := lumas(true)
	if vlit != 0 {
		t.Fatalf("lighting per fragment only, %d triangles lit per vertex", vlit)
	}
	perVertex, tris2, vlit := lumas(false)
	if tris2 != tris {
		t.Fatalf("%d triangles drawn lit per vertex, %d per fragment", tris2, tris)
	}
	var sum, n, worst int
	for i := range perFragment {
		for j := range perFragment[i] {
			d := int(perFragment[i][j]) - int(perVertex[i][j])
			d = max(d, -d)
			sum += d
			worst = max(worst, d)
		}
		n += len(perFragment[i])
	}
	mean := float64(sum) / float64(n)
	t.Logf("%d of %d triangles lit per vertex; mean luma difference %.3f from lighting per fragment (largest %d)", vlit, tris, mean, worst)
	if vlit < tris/2 {
		t.Errorf("only %d of %d triangles lit per vertex", vlit, tris)
	}
	if mean > 0.15 {
		t.Errorf("lighting per vertex changes the picture by %.3f luma levels on average, want at most 0.15", mean)
	}
}

// TestVertexLightingOnlyForMicropolygons: models whose triangles are
// large on screen (the golden-image models) and shiny models are lit per
// fragment only.
func TestVertexLightingOnlyForMicropolygons(t *testing.T) {
	w := newWorker(t)
	r := newRenderer(t, w, goldW, goldH)
	for _, model := range [][]byte{transformsModel(), unlitModel(), doubleSidedModel()} {
		m := decodeModel(t, model)
		picture(t, r, m, ahead(2), yawPose(0))
		if n := r.vertexLitTriangles(); n != 0 {
			t.Errorf("model of %d triangles: %d triangles lit per vertex", m.Triangles, n)
		}
	}
	// Spheres 8 m away: their triangles are a pixel or a few.
	m := decodeModel(t, scenetest.Spheres(4, 3000))
	picture(t, r, m, ahead(8), yawPose(0))
	if n := r.vertexLitTriangles(); n == 0 {
		t.Errorf("spheres of 3000 triangles 8 m away at %dx%d: none lit per vertex", goldW, goldH)
	}
	// Shiny, their highlights are narrower than the turn of the surface
	// between vertices.
	for i := range m.Materials {
		m.Materials[i].Roughness = 0.15
	}
	picture(t, r, m, ahead(8), yawPose(0))
	if n := r.vertexLitTriangles(); n != 0 {
		t.Errorf("shiny spheres 8 m away: %d triangles lit per vertex", n)
	}
}
