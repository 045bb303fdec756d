package scene_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/qmuntal/gltf"

	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// fuzzLimits keep each fuzz input cheap while still exercising every path.
var fuzzLimits = scene.Limits{
	MaxFileSize: 4 << 20, MaxTriangles: 200_000, MaxVertices: 300_000, MaxDepth: 32,
	MaxNodes: 1000, MaxTexturePixels: 256 * 256, MaxTotalPixels: 1 << 20,
}

// FuzzDecode feeds arbitrary bytes to the loader as a .gltf or .glb file.
// Seeds are the Khronos sample files of Debian's assimp-testmodels (those
// with embedded data), generated models and the malformed cases of
// TestHostile. Whatever the input, Decode returns an error or a model
// whose every index and range is in bounds.
func FuzzDecode(f *testing.F) {
	for _, rel := range []string{
		"BoxTextured-glTF-Binary/BoxTextured.glb",
		"BoxTextured-glTF-Embedded/BoxTextured.gltf",
		"BoxBadNormals-glTF-Binary/BoxBadNormals.glb",
		"BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb",
		"RecursiveNodes/RecursiveNodes.gltf",
		"TestNoRootNode/NoScene.gltf",
		"wrongTypes/badUint.gltf",
	} {
		if b, err := os.ReadFile(filepath.Join(samples, rel)); err == nil {
			f.Add(b)
		}
	}
	b := scenetest.New()
	q := scenetest.Quad(1, 1)
	q.Material = gltf.Index(b.Material(&gltf.Material{AlphaMode: gltf.AlphaMask, DoubleSided: true,
		PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorTexture: &gltf.TextureInfo{Index: b.Texture(checker(4), &gltf.Sampler{})}}}))
	q.Color = []float32{1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1}
	mesh := b.Mesh(q, scenetest.Prim{Pos: []float32{0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0}, Mode: gltf.PrimitiveTriangleStrip})
	child := b.Node(&gltf.Node{Mesh: gltf.Index(mesh), Scale: [3]float64{-1, 1, 1}}, false)
	b.Node(&gltf.Node{Mesh: gltf.Index(mesh), Children: []int{child}, Rotation: [4]float64{0, 0.7071, 0, 0.7071}}, true)
	f.Add(b.GLB())
	f.Add(b.GLTF())
	f.Add(scenetest.Spheres(2, 200))
	bin := triangle()
	f.Add(glb(`{"asset":{"version":"2.0"},"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0,"children":[0]}],"meshes":[{"primitives":[{"attributes":{"POSITION":0},"indices":1}]}],"accessors":[{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3"},{"bufferView":1,"componentType":5121,"count":3,"type":"SCALAR"}],"bufferViews":[{"buffer":0,"byteLength":36},{"buffer":0,"byteOffset":13,"byteLength":3}],"buffers":[{"byteLength":4294967295}]}`, bin))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := scene.Decode(data, nil, fuzzLimits)
		if err != nil {
			return
		}
		checkModel(t, m)
		if m.Triangles <= 0 || m.Triangles > fuzzLimits.MaxTriangles {
			t.Fatalf("%d triangles", m.Triangles)
		}
	})
}
