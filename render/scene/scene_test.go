package scene_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/qmuntal/gltf"

	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// samples is where Debian's assimp-testmodels package installs the
// Khronos glTF sample models.
const samples = "/usr/share/assimp/models/glTF2"

func sample(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(samples, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not installed (apt-get install assimp-testmodels): %v", p, err)
	}
	return p
}

// checkModel asserts the invariants every loaded model keeps.
func checkModel(t testing.TB, m *scene.Model) {
	t.Helper()
	for _, c := range m.Chunks {
		if c.Material < 0 || c.Material >= len(m.Materials) {
			t.Fatalf("chunk material %d of %d", c.Material, len(m.Materials))
		}
		if len(c.Levels) == 0 {
			t.Fatal("chunk without levels")
		}
		for _, l := range c.Levels {
			if l.First < 0 || l.Count%3 != 0 || l.First+l.Count > len(m.Indices) {
				t.Fatalf("level %+v outside %d indices", l, len(m.Indices))
			}
			for _, i := range m.Indices[l.First : l.First+l.Count] {
				if int(i) >= len(m.Vertices) {
					t.Fatalf("index %d of %d vertices", i, len(m.Vertices))
				}
			}
		}
	}
	for _, mt := range m.Materials {
		if mt.Texture >= len(m.Textures) {
			t.Fatalf("material texture %d of %d", mt.Texture, len(m.Textures))
		}
	}
	for _, tx := range m.Textures {
		if len(tx.Pix) != 4*tx.Width*tx.Height {
			t.Fatalf("texture %dx%d has %d bytes", tx.Width, tx.Height, len(tx.Pix))
		}
	}
}

func TestLoadSamples(t *testing.T) {
	for _, tc := range []struct {
		file      string
		triangles int
		textures  int
		min, max  mgl32.Vec3
	}{
		{"BoxTextured-glTF/BoxTextured.gltf", 12, 1, mgl32.Vec3{-.5, -.5, -.5}, mgl32.Vec3{.5, .5, .5}},
		{"BoxTextured-glTF-Binary/BoxTextured.glb", 12, 1, mgl32.Vec3{-.5, -.5, -.5}, mgl32.Vec3{.5, .5, .5}},
		{"BoxTextured-glTF-Embedded/BoxTextured.gltf", 12, 1, mgl32.Vec3{-.5, -.5, -.5}, mgl32.Vec3{.5, .5, .5}},
		{"glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_04.gltf", 2, 0, mgl32.Vec3{-.5, -.5, 0}, mgl32.Vec3{.5, .5, 0}},
		{"glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_05.gltf", 2, 0, mgl32.Vec3{-.5, -.5, 0}, mgl32.Vec3{.5, .5, 0}},
		{"glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_06.gltf", 2, 0, mgl32.Vec3{-.5, -.5, 0}, mgl32.Vec3{.5, .5, 0}},
		{"2CylinderEngine-glTF-Binary/2CylinderEngine.glb", 121496, 0, mgl32.Vec3{-371.7, -181, -140}, mgl32.Vec3{371.7, 92.05, 128}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := scene.Load(sample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			checkModel(t, m)
			if m.Triangles != tc.triangles || len(m.Textures) != tc.textures {
				t.Errorf("%d triangles, %d textures; want %d, %d", m.Triangles, len(m.Textures), tc.triangles, tc.textures)
			}
			for a := range 3 {
				if math.Abs(float64(m.Bounds.Min[a]-tc.min[a])) > 0.1 || math.Abs(float64(m.Bounds.Max[a]-tc.max[a])) > 0.1 {
					t.Errorf("bounds %v..%v, want %v..%v", m.Bounds.Min, m.Bounds.Max, tc.min, tc.max)
				}
			}
			if want := strings.TrimSuffix(filepath.Base(tc.file), filepath.Ext(tc.file)); m.Name != want {
				t.Errorf("name %q, want %q", m.Name, want)
			}
		})
	}
}

func TestLoadSampleTextureTransform(t *testing.T) {
	m, err := scene.Load(sample(t, "textureTransform/TextureTransformTest.gltf"))
	if err != nil {
		t.Fatal(err)
	}
	transformed := 0
	for _, mt := range m.Materials {
		if mt.UVTransform != mgl32.Ident3() {
			transformed++
		}
	}
	if transformed == 0 {
		t.Error("no material has a KHR_texture_transform")
	}
}

func TestLoadBadSamples(t *testing.T) {
	for _, tc := range []struct {
		file string
		err  error
		text string
	}{
		{"IndexOutOfRange/IndexOutOfRange.gltf", scene.ErrInvalid, "out of range"},
		{"IndexOutOfRange/AllIndicesOutOfRange.gltf", scene.ErrInvalid, "out of range"},
		{"MissingBin/BoxTextured.gltf", os.ErrNotExist, "BoxTextured0.bin"},
		{"RecursiveNodes/RecursiveNodes.gltf", scene.ErrInvalid, "cycle"},
		{"draco/2CylinderEngine.gltf", scene.ErrUnsupported, "KHR_draco_mesh_compression"},
		{"BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb", scene.ErrInvalid, "not finite"},
		{"wrongTypes/badArray.gltf", scene.ErrInvalid, "JSON"},
		{"glTF-Asset-Generator/Mesh_PrimitiveMode/Mesh_PrimitiveMode_00.gltf", scene.ErrInvalid, "no triangles"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := scene.Load(sample(t, tc.file))
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v containing %q", err, tc.err, tc.text)
			}
		})
	}
}

func decode(t testing.TB, data []byte) (*scene.Model, error) {
	t.Helper()
	m, err := scene.Decode(data, nil, scene.DefaultLimits)
	if err == nil {
		checkModel(t, m)
	}
	return m, err
}

func near(a, b mgl32.Vec3) bool { return a.ApproxEqualThreshold(b, 1e-4) }

func TestTransformsAndModes(t *testing.T) {
	b := scenetest.New()
	tri := scenetest.Prim{Pos: []float32{0, 0, 0, 1, 0, 0, 0, 1, 0}}
	mesh := b.Mesh(tri)
	// Parent: translate (10,0,0), rotate 90° about Y. Child: scale 2.
	child := b.Node(&gltf.Node{Mesh: gltf.Index(mesh), Scale: [3]float64{2, 2, 2}}, false)
	s := math.Sqrt(0.5)
	b.Node(&gltf.Node{Translation: [3]float64{10, 0, 0}, Rotation: [4]float64{0, s, 0, s}, Children: []int{child}}, true)
	// Matrix node: translate (0,5,0).
	mat := gltf.DefaultMatrix
	mat[13] = 5
	b.Node(&gltf.Node{Mesh: gltf.Index(mesh), Matrix: mat}, true)
	for name, data := range map[string][]byte{"glb": b.GLB(), "gltf": b.GLTF()} {
		t.Run(name, func(t *testing.T) {
			m, err := decode(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Triangles != 2 || len(m.Vertices) != 6 {
				t.Fatalf("%d triangles, %d vertices", m.Triangles, len(m.Vertices))
			}
			// Non-indexed without normals: flat normals, one vertex each.
			want := []mgl32.Vec3{{10, 0, 0}, {10, 0, -2}, {10, 2, 0}, {0, 5, 0}, {1, 5, 0}, {0, 6, 0}}
			found := 0
			for _, w := range want {
				for _, v := range m.Vertices {
					if near(v.Pos, w) {
						found++
						break
					}
				}
			}
			if found != len(want) {
				t.Errorf("vertices %v, want %v", m.Vertices, want)
			}
			for _, v := range m.Vertices {
				n := mgl32.Vec3(v.Normal)
				if !near(n, mgl32.Vec3{0, 0, 1}) && !near(n, mgl32.Vec3{1, 0, 0}) {
					t.Errorf("normal %v, want +Z (matrix node) or +X (rotated node)", n)
				}
			}
		})
	}
}

func TestStripFanMirror(t *testing.T) {
	quad := []float32{0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0}
	for _, tc := range []struct {
		name  string
		mode  gltf.PrimitiveMode
		pos   []float32
		idx   []uint32
		scale float64
		tris  int
	}{
		{"strip", gltf.PrimitiveTriangleStrip, quad, nil, 1, 2},
		{"fan indexed", gltf.PrimitiveTriangleFan, quad, []uint32{0, 1, 3, 2}, 1, 2},
		{"list mirrored", gltf.PrimitiveTriangles, quad, []uint32{0, 1, 3, 0, 3, 2}, -1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenetest.New()
			mesh := b.Mesh(scenetest.Prim{Pos: tc.pos, Indices: tc.idx, Mode: tc.mode})
			b.Node(&gltf.Node{Mesh: gltf.Index(mesh), Scale: [3]float64{tc.scale, 1, 1}}, true)
			m, err := decode(t, b.GLB())
			if err != nil {
				t.Fatal(err)
			}
			if m.Triangles != tc.tris {
				t.Fatalf("%d triangles, want %d", m.Triangles, tc.tris)
			}
			// Every triangle faces +Z (counter-clockwise seen from +Z),
			// mirrored or not.
			l := m.Chunks[0].Levels[0]
			idx := m.Indices[l.First : l.First+l.Count]
			for i := 0; i < len(idx); i += 3 {
				a, b2, c := mgl32.Vec3(m.Vertices[idx[i]].Pos), mgl32.Vec3(m.Vertices[idx[i+1]].Pos), mgl32.Vec3(m.Vertices[idx[i+2]].Pos)
				if n := b2.Sub(a).Cross(c.Sub(a)); n[2] <= 0 {
					t.Errorf("triangle %d winds %v", i/3, n)
				}
				if nz := m.Vertices[idx[i]].Normal[2]; nz < 0.99 {
					t.Errorf("generated normal z %v", nz)
				}
			}
		})
	}
}

func checker(n int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			c := color.NRGBA{255, 255, 255, 255}
			if (x+y)%2 == 1 {
				c = color.NRGBA{200, 0, 0, 128}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func TestMaterials(t *testing.T) {
	b := scenetest.New()
	tex := b.Texture(checker(4), &gltf.Sampler{WrapS: gltf.WrapClampToEdge, WrapT: gltf.WrapMirroredRepeat, MagFilter: gltf.MagNearest, MinFilter: gltf.MinNearest})
	red := [4]float64{1, 0, 0, 0.5}
	blend := b.Material(&gltf.Material{Name: "blend", AlphaMode: gltf.AlphaBlend, DoubleSided: true,
		PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &red, BaseColorTexture: &gltf.TextureInfo{Index: tex}}})
	mask := b.Material(&gltf.Material{Name: "mask", AlphaMode: gltf.AlphaMask, AlphaCutoff: gltf.Float(0.3),
		Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	opaque := b.Material(&gltf.Material{Name: "opaque"})
	q := scenetest.Quad(1, 1)
	pb, pm, po := q, q, q
	pb.Material, pm.Material, po.Material = gltf.Index(blend), gltf.Index(mask), gltf.Index(opaque)
	pm.Color = []float32{1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0.5}
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(pb, pm, po))}, true)
	b.Doc.ExtensionsUsed = []string{"KHR_materials_unlit"}
	b.Doc.ExtensionsRequired = []string{"KHR_materials_unlit"}
	m, err := decode(t, b.GLB())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Materials) != 3 || len(m.Textures) != 1 || len(m.Chunks) != 3 {
		t.Fatalf("%d materials, %d textures, %d chunks", len(m.Materials), len(m.Textures), len(m.Chunks))
	}
	byName := map[string]scene.Material{}
	for _, mt := range m.Materials {
		byName[mt.Name] = mt
	}
	if mt := byName["blend"]; mt.Alpha != scene.AlphaBlend || !mt.DoubleSided || mt.Texture != 0 || mt.BaseColor != [4]float32{1, 0, 0, 0.5} {
		t.Errorf("blend material %+v", mt)
	}
	if mt := byName["mask"]; mt.Alpha != scene.AlphaMask || mt.AlphaCutoff != 0.3 || !mt.Unlit || mt.Texture != -1 {
		t.Errorf("mask material %+v", mt)
	}
	// Chunks: opaque, then mask, then blend.
	var order []scene.AlphaMode
	for _, c := range m.Chunks {
		order = append(order, m.Materials[c.Material].Alpha)
	}
	if order[0] != scene.AlphaOpaque || order[1] != scene.AlphaMask || order[2] != scene.AlphaBlend {
		t.Errorf("chunk order %v", order)
	}
	tx := m.Textures[0]
	if tx.Width != 4 || tx.WrapS != scene.WrapClamp || tx.WrapT != scene.WrapMirror || tx.Mag != scene.FilterNearest || tx.Min != scene.FilterNearest {
		t.Errorf("texture %+v", tx)
	}
	if got := tx.Pix[4:8]; !bytes.Equal(got, []byte{200, 0, 0, 128}) {
		t.Errorf("texel (1,0) = %v, want not premultiplied 200,0,0,128", got)
	}
	colours := 0
	for _, v := range m.Vertices {
		if v.Color == [4]float32{0, 1, 0, 1} {
			colours++
		}
	}
	if colours != 1 {
		t.Errorf("vertex colour (0,1,0,1) found %d times, want 1", colours)
	}
}

// glb assembles a GLB file from a JSON document and a BIN chunk.
func glb(js string, bin []byte) []byte {
	for len(js)%4 != 0 {
		js += " "
	}
	var out bytes.Buffer
	total := 12 + 8 + len(js)
	if bin != nil {
		total += 8 + len(bin)
	}
	_ = binary.Write(&out, binary.LittleEndian, []uint32{0x46546C67, 2, uint32(total), uint32(len(js)), 0x4E4F534A})
	out.WriteString(js)
	if bin != nil {
		_ = binary.Write(&out, binary.LittleEndian, []uint32{uint32(len(bin)), 0x004E4942})
		out.Write(bin)
	}
	return out.Bytes()
}

const triJSON = `{"asset":{"version":"2.0"},"scenes":[{"nodes":[0]}],"nodes":[{"mesh":0}],
"meshes":[{"primitives":[{"attributes":{"POSITION":0}%s}]}],
"accessors":[{"bufferView":0,"componentType":5126,"count":%d,"type":"VEC3"}%s],
"bufferViews":[{"buffer":0,"byteLength":%d}%s],
"buffers":[{"byteLength":%d%s}]%s}`

func triangle() []byte {
	b := make([]byte, 36)
	for i, f := range []float32{0, 0, 0, 1, 0, 0, 0, 1, 0} {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// TestHostile feeds malformed files and checks each gets a clear error
// without allocating what it declares.
func TestHostile(t *testing.T) {
	bin := triangle()
	uri := `,"uri":"data:application/octet-stream;base64,` + base64.StdEncoding.EncodeToString(bin) + `"`
	deep := `{"asset":{"version":"2.0"},"scenes":[{"nodes":[0]}],"nodes":[`
	for i := range 500 {
		deep += fmt.Sprintf(`{"children":[%d]},`, i+1)
	}
	deep += `{}]}`
	// Each node has the next one twice as its child: 2^40 paths.
	dag := `{"asset":{"version":"2.0"},"scenes":[{"nodes":[0]}],"meshes":[{"primitives":[{"attributes":{"POSITION":0}}]}],` +
		`"accessors":[{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3"}],"bufferViews":[{"buffer":0,"byteLength":36}],"buffers":[{"byteLength":36` + uri + `}],"nodes":[`
	for i := range 40 {
		dag += fmt.Sprintf(`{"mesh":0,"children":[%d,%d]},`, i+1, i+1)
	}
	dag += `{"mesh":0}]}`
	for _, tc := range []struct {
		name string
		data []byte
		err  error
		text string
	}{
		{"4 GB buffer in a GLB", glb(fmt.Sprintf(triJSON, "", 3, "", 36, "", 4<<30-1, "", ""), bin), scene.ErrLimit, "bytes declared"},
		{"buffer larger than the BIN chunk", glb(fmt.Sprintf(triJSON, "", 3, "", 36, "", 1<<20, "", ""), bin), scene.ErrInvalid, "BIN chunk has 36 bytes"},
		{"data URI shorter than declared", []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 1<<20, uri, "")), scene.ErrInvalid, "truncated"},
		{"huge accessor count", glb(fmt.Sprintf(triJSON, "", 1<<30, "", 36, "", 36, "", ""), bin), scene.ErrInvalid, "need"},
		{"view outside buffer", glb(fmt.Sprintf(triJSON, "", 3, "", 1<<30, "", 36, "", ""), bin), scene.ErrInvalid, "outside buffer"},
		{"missing buffer view", glb(fmt.Sprintf(triJSON, `,"indices":1`, 3, `,{"bufferView":7,"componentType":5125,"count":3,"type":"SCALAR"}`, 36, "", 36, "", ""), bin), scene.ErrInvalid, ""},
		{"index out of range", glb(fmt.Sprintf(triJSON, `,"indices":1`, 3, `,{"bufferView":1,"componentType":5121,"count":3,"type":"SCALAR"}`, 36, `,{"buffer":0,"byteOffset":13,"byteLength":3}`, 36, "", ""), bin), scene.ErrInvalid, "out of range"},
		{"path traversal", []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, `,"uri":"../../etc/passwd"`, "")), scene.ErrInvalid, "leaves the model's directory"},
		{"absolute path", []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, `,"uri":"/etc/passwd"`, "")), scene.ErrInvalid, "leaves the model's directory"},
		{"remote URI", []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, `,"uri":"http://example.com/a.bin"`, "")), scene.ErrUnsupported, "only relative"},
		{"missing external buffer", []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, `,"uri":"a.bin"`, "")), scene.ErrInvalid, "no directory"},
		{"required extension", []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, uri, `,"extensionsRequired":["EXT_meshopt_compression"]`)), scene.ErrUnsupported, "EXT_meshopt_compression"},
		{"bad mesh reference", []byte(strings.Replace(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, uri, ""), `"mesh":0`, `"mesh":9`, 1)), scene.ErrInvalid, "mesh 9"},
		{"deep nesting", []byte(deep), scene.ErrLimit, "deeper"},
		{"exponential instancing", []byte(dag), scene.ErrLimit, ""},
		{"truncated GLB", glb(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, "", ""), bin)[:40], scene.ErrInvalid, "GLB"},
		{"not JSON", []byte("\x00\x01garbage"), scene.ErrInvalid, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := decode(t, tc.data)
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v containing %q", err, tc.err, tc.text)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 128<<20 {
				t.Errorf("allocated %d MB for a %d-byte file", grew>>20, len(tc.data))
			}
			t.Log(err)
		})
	}
}

// TestImageBomb: a tiny PNG that declares a huge image is refused before
// it is decoded; the model still loads, untextured, with a note.
func TestImageBomb(t *testing.T) {
	var pb bytes.Buffer
	if err := png.Encode(&pb, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := pb.Bytes()
	binary.BigEndian.PutUint32(p[16:], 30000) // IHDR width
	binary.BigEndian.PutUint32(p[20:], 30000) // IHDR height
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	b := scenetest.New()
	b.Doc.Images = append(b.Doc.Images, &gltf.Image{URI: "data:image/png;base64," + base64.StdEncoding.EncodeToString(p)})
	b.Doc.Textures = append(b.Doc.Textures, &gltf.Texture{Source: gltf.Index(0)})
	q := scenetest.Quad(1, 1)
	q.Material = gltf.Index(b.Material(&gltf.Material{PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorTexture: &gltf.TextureInfo{Index: 0}}}))
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(q))}, true)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := decode(t, b.GLB())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Textures) != 0 || m.Materials[0].Texture != -1 {
		t.Fatal("the bomb was decoded")
	}
	if len(m.Notes) == 0 || !strings.Contains(strings.Join(m.Notes, ";"), "30000x30000") {
		t.Errorf("notes %q do not name the image size", m.Notes)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d MB", grew>>20)
	}
}

func TestExternalFilesStayInDirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "model")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := triangle()
	if err := os.WriteFile(filepath.Join(dir, "outside.bin"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "tri.bin"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "outside.bin"), filepath.Join(sub, "link.bin")); err != nil {
		t.Fatal(err)
	}
	write := func(name, uri string) string {
		p := filepath.Join(sub, name)
		if err := os.WriteFile(p, []byte(fmt.Sprintf(triJSON, "", 3, "", 36, "", 36, `,"uri":"`+uri+`"`, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := scene.Load(write("ok.gltf", "tri.bin"))
	if err != nil || m.Triangles != 1 || m.Name != "ok" {
		t.Fatalf("external buffer: %v", err)
	}
	for _, uri := range []string{"../outside.bin", "link.bin", "%2e%2e/outside.bin"} {
		if _, err := scene.Load(write("bad.gltf", uri)); err == nil {
			t.Errorf("uri %q read a file outside the model's directory", uri)
		} else {
			t.Log(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sub, "short.bin"), bin[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scene.Load(write("short.gltf", "short.bin")); !errors.Is(err, scene.ErrInvalid) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated external buffer: %v", err)
	}
}

func TestLevelsOfDetail(t *testing.T) {
	m, err := decode(t, scenetest.Spheres(4, 20000))
	if err != nil {
		t.Fatal(err)
	}
	if m.Triangles < 4*15000 {
		t.Fatalf("%d triangles", m.Triangles)
	}
	var full, coarse int
	for _, c := range m.Chunks {
		if len(c.Levels) < 2 {
			t.Fatalf("chunk of %d indices has %d levels", c.Levels[0].Count, len(c.Levels))
		}
		full += c.Levels[0].Count / 3
		coarse += c.Levels[len(c.Levels)-1].Count / 3
		for i := 1; i < len(c.Levels); i++ {
			if c.Levels[i].Count >= c.Levels[i-1].Count || c.Levels[i].Error <= c.Levels[i-1].Error {
				t.Errorf("level %d %+v does not simplify level %d %+v", i, c.Levels[i], i-1, c.Levels[i-1])
			}
		}
	}
	if full != m.Triangles || coarse*10 > full {
		t.Errorf("full detail %d triangles (model %d), coarsest %d", full, m.Triangles, coarse)
	}
	// A 20k-triangle sphere is split into chunks of at most ChunkTriangles.
	if len(m.Chunks) < 8 {
		t.Errorf("%d chunks", len(m.Chunks))
	}
}

func TestFit(t *testing.T) {
	b := scene.Box{Min: mgl32.Vec3{-10, 5, -2}, Max: mgl32.Vec3{30, 25, 2}}
	f := b.Transform(scene.Fit(b))
	size := f.Size()
	if math.Abs(float64(max(size[0], size[1], size[2])-scene.FitSize)) > 1e-4 {
		t.Errorf("fitted size %v", size)
	}
	if math.Abs(float64(f.Min[1]-scene.FloorY)) > 1e-4 || !near(f.Center().Mul(1), mgl32.Vec3{0, f.Center()[1], -scene.FitDistance}) {
		t.Errorf("fitted box %v..%v", f.Min, f.Max)
	}
}

// BenchmarkLoad decodes generated .glb models of about 10k, 100k and 1M
// triangles (sphere parts, as glrender's BenchmarkModel draws them),
// building their chunks and levels of detail. It reports the file size
// and the memory the loaded model holds (vertices and indices, all levels).
func BenchmarkLoad(b *testing.B) {
	for _, bm := range []struct {
		name           string
		parts, perPart int
	}{{"10k", 16, 640}, {"100k", 64, 1600}, {"1M", 256, 4000}} {
		b.Run(bm.name, func(b *testing.B) {
			data := scenetest.Spheres(bm.parts, bm.perPart)
			b.ReportAllocs()
			var m *scene.Model
			for b.Loop() {
				var err error
				if m, err = scene.Decode(data, nil, scene.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))/(1<<20), "file-MB")
			b.ReportMetric(float64(len(m.Vertices)*48+len(m.Indices)*4)/(1<<20), "model-MB")
			b.ReportMetric(float64(m.Triangles), "triangles")
		})
	}
}
