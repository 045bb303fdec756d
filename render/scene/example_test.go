package scene_test

import (
	"fmt"

	"github.com/qmuntal/gltf"

	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// Decode a .glb (here generated: one quad, drawn by two nodes, so two
// chunks that are culled apart) and
// place it the way the node does by default.
func ExampleDecode() {
	b := scenetest.New()
	mesh := b.Mesh(scenetest.Quad(2, 1))
	b.Node(&gltf.Node{Mesh: gltf.Index(mesh)}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(mesh), Translation: [3]float64{0, 1, 0}}, true)

	m, err := scene.Decode(b.GLB(), nil, scene.DefaultLimits)
	if err != nil {
		fmt.Println(err)
		return
	}
	fitted := m.Bounds.Transform(scene.Fit(m.Bounds))
	fmt.Printf("%d triangles in %d chunk(s), bounds %v to %v\n", m.Triangles, len(m.Chunks), m.Bounds.Min, m.Bounds.Max)
	fmt.Printf("fitted: %.2f m wide, floor at %.1f m\n", fitted.Size()[0], fitted.Min[1])
	// Output:
	// 4 triangles in 2 chunk(s), bounds [-1 -0.5 0] to [1 1.5 0]
	// fitted: 1.50 m wide, floor at -1.6 m
}
