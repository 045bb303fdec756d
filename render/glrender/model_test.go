//go:build egl && cgo

package glrender

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/go-gl/mathgl/mgl64"
	"github.com/qmuntal/gltf"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/")

const goldW, goldH = 320, 180

// ahead places a model's origin d metres in front of the starting head.
func ahead(d float32) mgl32.Mat4 { return mgl32.Translate3D(0, 0, -d) }

func decodeModel(t testing.TB, data []byte) *scene.Model {
	t.Helper()
	m, err := scene.Decode(data, nil, scene.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// picture renders m with xf from pose p and returns the side-by-side RGBA
// picture, top row first.
func picture(t testing.TB, r *Renderer, m *scene.Model, xf mgl32.Mat4, p pose.Pose) *image.NRGBA {
	t.Helper()
	if err := r.SetModel(m, xf); err != nil {
		t.Fatal(err)
	}
	w, h := r.Size()
	px, err := r.RenderRGBA(views(w, h, p))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		copy(img.Pix[y*img.Stride:(y+1)*img.Stride], px[(h-1-y)*w*4:(h-y)*w*4])
	}
	return img
}

// compareGolden compares img with testdata/name.png: the mean absolute
// channel difference must stay under 1.5 and under 0.5 % of pixels may
// differ by more than 24 in a channel (rasterisation may move an edge by
// a pixel between Mesa versions). -update rewrites the file.
func compareGolden(t *testing.T, name string, img *image.NRGBA) {
	t.Helper()
	path := filepath.Join("testdata", name+".png")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	gi, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if gi.Bounds() != img.Bounds() {
		t.Fatalf("golden %v, got %v", gi.Bounds(), img.Bounds())
	}
	var sum, bad int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.NRGBAModel.Convert(gi.At(x, y)).(color.NRGBA)
			c := img.NRGBAAt(x, y)
			worst := 0
			for _, d := range []int{int(g.R) - int(c.R), int(g.G) - int(c.G), int(g.B) - int(c.B)} {
				d = max(d, -d)
				sum += d
				worst = max(worst, d)
			}
			if worst > 24 {
				bad++
			}
		}
	}
	n := b.Dx() * b.Dy()
	mean := float64(sum) / float64(3*n)
	if mean > 1.5 || float64(bad) > 0.005*float64(n) {
		out := filepath.Join(t.TempDir(), name+".png")
		if f, err := os.Create(out); err == nil {
			_ = png.Encode(f, img)
			_ = f.Close()
		}
		t.Errorf("%s: mean difference %.2f, %d of %d pixels off by more than 24 (picture in %s)", name, mean, bad, n, out)
	}
}

// at returns the colour of the left eye's picture at fractions (fx, fy).
func at(img *image.NRGBA, fx, fy float64) color.NRGBA {
	b := img.Bounds()
	return img.NRGBAAt(int(fx*float64(b.Dx()/2)), int(fy*float64(b.Dy())))
}

func mat(b *scenetest.Builder, m gltf.Material) *int { return gltf.Index(b.Material(&m)) }

func rgba(r, g, bl, a float64) *[4]float64 { return &[4]float64{r, g, bl, a} }

func pbr(c *[4]float64) *gltf.PBRMetallicRoughness {
	return &gltf.PBRMetallicRoughness{BaseColorFactor: c, MetallicFactor: gltf.Float(0), RoughnessFactor: gltf.Float(1)}
}

// transformsModel: a parent node translated and turned with a scaled
// child, a node with a matrix, and a mirrored node, each a coloured box.
func transformsModel() []byte {
	b := scenetest.New()
	box := func(c *[4]float64) int {
		p := scenetest.Sphere(0.25, 4, 2) // an octahedron-like solid, flat enough to show the turn
		p.Normal = nil                    // generated flat normals
		p.UV = nil
		p.Material = mat(b, gltf.Material{PBRMetallicRoughness: pbr(c)})
		return b.Mesh(p)
	}
	red, green, blue, white := box(rgba(1, 0.1, 0.1, 1)), box(rgba(0.1, 1, 0.1, 1)), box(rgba(0.1, 0.2, 1, 1)), box(rgba(1, 1, 1, 1))
	s := math.Sqrt(0.5)
	child := b.Node(&gltf.Node{Mesh: gltf.Index(green), Translation: [3]float64{0, 0.6, 0}, Scale: [3]float64{0.5, 0.5, 0.5}}, false)
	b.Node(&gltf.Node{Mesh: gltf.Index(red), Translation: [3]float64{-0.6, -0.2, 0}, Rotation: [4]float64{s, 0, 0, s}, Children: []int{child}}, true)
	m := gltf.DefaultMatrix
	m[0], m[12], m[13] = 1.5, 0.6, -0.2 // stretched along x, moved right and down
	b.Node(&gltf.Node{Mesh: gltf.Index(blue), Matrix: m}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(white), Translation: [3]float64{0, -0.5, 0}, Scale: [3]float64{-1, 0.6, 1}}, true)
	return b.GLB()
}

func checkerImage(n, cell int, a, c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			if (x/cell+y/cell)%2 == 0 {
				img.SetNRGBA(x, y, a)
			} else {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	return img
}

// texturesModel: a checker with nearest filtering, the same repeated 3×
// with linear mipmaps and KHR_texture_transform (scale 3, rotated), and
// vertex colours on an untextured quad.
func texturesModel() []byte {
	b := scenetest.New()
	chk := checkerImage(8, 1, color.NRGBA{240, 240, 240, 255}, color.NRGBA{30, 60, 200, 255})
	nearest := b.Texture(chk, &gltf.Sampler{MagFilter: gltf.MagNearest, MinFilter: gltf.MinNearest, WrapS: gltf.WrapClampToEdge, WrapT: gltf.WrapClampToEdge})
	linear := b.Texture(chk, &gltf.Sampler{MagFilter: gltf.MagLinear, MinFilter: gltf.MinLinearMipMapLinear})
	q1 := scenetest.Quad(0.8, 0.8)
	q1.Material = mat(b, gltf.Material{PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorTexture: &gltf.TextureInfo{Index: nearest}}, Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	q2 := scenetest.Quad(0.8, 0.8)
	q2.Material = mat(b, gltf.Material{Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}, PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorTexture: &gltf.TextureInfo{Index: linear,
		Extensions: gltf.Extensions{"KHR_texture_transform": map[string]any{"scale": []float64{3, 3}, "rotation": 0.3}}}}})
	q3 := scenetest.Quad(0.8, 0.4)
	q3.Color = []float32{1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1}
	q3.Material = mat(b, gltf.Material{Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(q1)), Translation: [3]float64{-0.45, 0.2, 0}}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(q2)), Translation: [3]float64{0.45, 0.2, 0}}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(q3)), Translation: [3]float64{0, -0.5, 0}}, true)
	b.Doc.ExtensionsUsed = []string{"KHR_materials_unlit", "KHR_texture_transform"}
	return b.GLTF()
}

// alphaModel: an opaque red quad behind a half-transparent blue blended
// quad (left half) and a mask-mode checker whose transparent cells are
// cut out (right half).
func alphaModel() []byte {
	b := scenetest.New()
	back := scenetest.Quad(1.6, 0.6)
	back.Material = mat(b, gltf.Material{PBRMetallicRoughness: pbr(rgba(0.9, 0.1, 0.1, 1)), Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	blend := scenetest.Quad(0.6, 0.9)
	blend.Material = mat(b, gltf.Material{AlphaMode: gltf.AlphaBlend, PBRMetallicRoughness: pbr(rgba(0.1, 0.2, 1, 0.5)), Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	holes := b.Texture(checkerImage(4, 1, color.NRGBA{255, 255, 255, 255}, color.NRGBA{255, 255, 255, 20}), &gltf.Sampler{MagFilter: gltf.MagNearest, MinFilter: gltf.MinNearest})
	mask := scenetest.Quad(0.6, 0.9)
	mask.Material = mat(b, gltf.Material{AlphaMode: gltf.AlphaMask, PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: rgba(0.1, 0.9, 0.2, 1), BaseColorTexture: &gltf.TextureInfo{Index: holes}}, Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(back)), Translation: [3]float64{0, 0, -0.3}}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(blend)), Translation: [3]float64{-0.4, 0, 0}}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(mask)), Translation: [3]float64{0.4, 0, 0}}, true)
	return b.GLB()
}

// doubleSidedModel: two quads turned away from the viewer; only the
// double-sided one (left) is seen, lit from its back face.
func doubleSidedModel() []byte {
	b := scenetest.New()
	one := scenetest.Quad(0.7, 0.7)
	one.Material = mat(b, gltf.Material{PBRMetallicRoughness: pbr(rgba(1, 0.6, 0.1, 1))})
	two := scenetest.Quad(0.7, 0.7)
	two.Material = mat(b, gltf.Material{DoubleSided: true, PBRMetallicRoughness: pbr(rgba(1, 0.6, 0.1, 1))})
	away := [4]float64{0, 1, 0, 0} // 180° about Y
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(two)), Translation: [3]float64{-0.45, 0, 0}, Rotation: away}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(one)), Translation: [3]float64{0.45, 0, 0}, Rotation: away}, true)
	return b.GLB()
}

// unlitModel: the same colour lit (left) and unlit (right).
func unlitModel() []byte {
	b := scenetest.New()
	lit := scenetest.Quad(0.7, 0.7)
	lit.Material = mat(b, gltf.Material{PBRMetallicRoughness: pbr(rgba(0.2, 0.5, 0.9, 1))})
	unlit := scenetest.Quad(0.7, 0.7)
	unlit.Material = mat(b, gltf.Material{PBRMetallicRoughness: pbr(rgba(0.2, 0.5, 0.9, 1)), Extensions: gltf.Extensions{"KHR_materials_unlit": map[string]any{}}})
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(lit)), Translation: [3]float64{-0.45, 0, 0}}, true)
	b.Node(&gltf.Node{Mesh: gltf.Index(b.Mesh(unlit)), Translation: [3]float64{0.45, 0, 0}}, true)
	b.Doc.ExtensionsRequired = []string{"KHR_materials_unlit"}
	return b.GLB()
}

func near(c color.NRGBA, r, g, b uint8, tol int) bool {
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	return d(c.R, r) <= tol && d(c.G, g) <= tol && d(c.B, b) <= tol
}

func TestModelGolden(t *testing.T) {
	w := newWorker(t)
	r := newRenderer(t, w, goldW, goldH)
	for _, tc := range []struct {
		name  string
		model []byte
		check func(t *testing.T, img *image.NRGBA)
	}{
		{"transforms", transformsModel(), nil},
		{"textures", texturesModel(), func(t *testing.T, img *image.NRGBA) {
			// Vertex colours: red bottom-left corner region of the lower quad.
			if c := at(img, 0.41, 0.66); c.R <= 150 || c.G >= 100 || c.B >= 100 {
				t.Errorf("vertex-coloured quad at its red corner is %v", c)
			}
		}},
		{"alpha", alphaModel(), func(t *testing.T, img *image.NRGBA) {
			// Blend: blue over red gives purple, neither pure colour.
			if c := at(img, 0.35, 0.5); c.R <= 60 || c.B <= 60 {
				t.Errorf("blended quad over red is %v, want a mix", c)
			}
		}},
		{"double-sided", doubleSidedModel(), func(t *testing.T, img *image.NRGBA) {
			if c := at(img, 0.31, 0.5); c.R <= 200 || c.B >= 150 {
				t.Errorf("double-sided quad seen from behind is %v, want orange", c)
			}
			if c := at(img, 0.69, 0.5); c.R > 200 && c.B < 150 {
				t.Errorf("single-sided quad seen from behind is drawn: %v", c)
			}
		}},
		{"unlit", unlitModel(), func(t *testing.T, img *image.NRGBA) {
			// Unlit shows the base colour as is: linear (0.2,0.5,0.9)
			// is sRGB about (124,186,243), less 1.6 % fog at 2 m.
			if c := at(img, 0.69, 0.5); !near(c, 124, 186, 243, 8) {
				t.Errorf("unlit quad is %v, want about (124,186,243)", c)
			}
			if c := at(img, 0.31, 0.5); near(c, 124, 186, 243, 8) {
				t.Errorf("lit quad %v looks unlit", c)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := decodeModel(t, tc.model)
			img := picture(t, r, m, ahead(2), yawPose(0))
			compareGolden(t, "model-"+tc.name, img)
			if tc.check != nil {
				tc.check(t, img)
			}
		})
	}
}

func diffImages(a, b *image.NRGBA) float64 {
	var s int
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a.Pix))
}

// TestModelPictureFollowsPoseAndTransform: the picture of a model changes
// when the head turns and when the model transform moves, turns or scales
// the model; the same inputs give the same picture.
func TestModelPictureFollowsPoseAndTransform(t *testing.T) {
	w := newWorker(t)
	r := newRenderer(t, w, goldW, goldH)
	m := decodeModel(t, transformsModel())
	base := picture(t, r, m, ahead(2), yawPose(0))
	again := picture(t, r, m, ahead(2), yawPose(0))
	if d := diffImages(base, again); d != 0 {
		t.Fatalf("same pose and transform, pictures differ by %.3f", d)
	}
	for _, tc := range []struct {
		name string
		xf   mgl32.Mat4
		p    pose.Pose
	}{
		{"head turned", ahead(2), yawPose(15)},
		{"head moved", ahead(2), pose.Pose{Orientation: mgl64.QuatIdent(), Position: mgl64.Vec3{0.3, 0, 0}}},
		{"model moved", mgl32.Translate3D(0.4, 0, -2), yawPose(0)},
		{"model turned", ahead(2).Mul4(mgl32.HomogRotate3DY(0.6)), yawPose(0)},
		{"model scaled", ahead(2).Mul4(mgl32.Scale3D(1.5, 1.5, 1.5)), yawPose(0)},
	} {
		img := picture(t, r, m, tc.xf, tc.p)
		if d := diffImages(base, img); d < 0.5 {
			t.Errorf("%s: picture changed by only %.3f", tc.name, d)
		}
	}
	// Back to the built-in scene.
	if err := r.SetModel(nil, mgl32.Ident4()); err != nil {
		t.Fatal(err)
	}
	f, err := r.Render(views(goldW, goldH, yawPose(0)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Triangles < DefaultScene().Triangles() {
		t.Errorf("built-in scene drew %d triangles", f.Triangles)
	}
}

// TestModelCullingAndLOD: a grid of 40 spheres of 3000 triangles. Around
// the viewer, culling drops the spheres behind; far away, LOD draws them
// coarser while the picture stays close to the full-detail one.
func TestModelCullingAndLOD(t *testing.T) {
	w := newWorker(t)
	r := newRenderer(t, w, goldW, goldH)
	m := decodeModel(t, scenetest.Spheres(40, 3000))
	count := func(xf mgl32.Mat4, cull, lod bool) (int, *image.NRGBA) {
		r.SetCulling(cull, lod)
		img := picture(t, r, m, xf, yawPose(0))
		f, err := r.Render(views(goldW, goldH, yawPose(0)))
		if err != nil {
			t.Fatal(err)
		}
		return f.Triangles, img
	}
	around := mgl32.Translate3D(-3, -1.6, -3) // the grid spans z -3..+2
	all, _ := count(around, false, false)
	culled, _ := count(around, true, false)
	t.Logf("around the viewer: %d triangles drawn without culling, %d with (model %d, both eyes %d)", all, culled, m.Triangles, 2*m.Triangles)
	if all < 2*m.Triangles {
		t.Errorf("without culling %d triangles drawn, want both eyes' %d", all, 2*m.Triangles)
	}
	if culled >= all*7/10 {
		t.Errorf("culling kept %d of %d triangles", culled, all)
	}
	far := mgl32.Translate3D(-3, -1.6, -14) // the grid spans z -14..-9
	full, fullImg := count(far, true, false)
	lod, lodImg := count(far, true, true)
	t.Logf("9-14 m away: %d triangles drawn at full detail, %d with LOD", full, lod)
	if lod >= full*7/10 {
		t.Errorf("LOD kept %d of %d triangles", lod, full)
	}
	if d := diffImages(fullImg, lodImg); d > 1 {
		t.Errorf("LOD picture differs from full detail by %.2f", d)
	} else {
		t.Logf("LOD picture differs from full detail by %.3f per channel", d)
	}
}

// benchModels are generated assemblies of about 10k, 100k and 1M
// triangles: n sphere parts of tris triangles each.
var benchModels = []struct {
	name     string
	parts    int
	perPart  int
	model    *scene.Model
	fileSize int
}{
	{name: "10k", parts: 16, perPart: 640},
	{name: "100k", parts: 64, perPart: 1600},
	{name: "1M", parts: 256, perPart: 4000},
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(d []time.Duration, q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(int(q*float64(len(s))), len(s)-1)].Microseconds()) / 1000
}

// BenchmarkModel renders generated models of about 10k, 100k and 1M
// triangles, fitted to 1.5 m on the floor 2 m ahead (scene.Fit), at
// 1280×720 and 1920×1080 side by side, with the head turning ±20°: with
// nothing skipped ("all"), with frustum culling ("cull") and with culling
// and level of detail ("cull+lod"). It reports median and p99 GL time
// (render-ms, render-p99-ms) and the triangles drawn per frame.
func BenchmarkModel(b *testing.B) {
	w := newWorker(b)
	for i := range benchModels {
		bm := &benchModels[i]
		if bm.model == nil {
			bm.model = decodeModel(b, scenetest.Spheres(bm.parts, bm.perPart))
		}
		for _, sz := range [][2]int{{1280, 720}, {1920, 1080}} {
			for _, mode := range []struct {
				name      string
				cull, lod bool
			}{{"all", false, false}, {"cull", true, false}, {"cull+lod", true, true}} {
				b.Run(fmt.Sprintf("%s/%dx%d/%s", bm.name, sz[0], sz[1], mode.name), func(b *testing.B) {
					r := newRenderer(b, w, sz[0], sz[1])
					r.SetCulling(mode.cull, mode.lod)
					if err := r.SetModel(bm.model, scene.Fit(bm.model.Bounds)); err != nil {
						b.Fatal(err)
					}
					if _, err := r.Render(views(sz[0], sz[1], pose.Identity())); err != nil {
						b.Fatal(err)
					}
					var rend []time.Duration
					var tris int
					i := 0
					cpu0 := cpuTime(b)
					for b.Loop() {
						yaw := 20 * math.Sin(float64(i)*0.1)
						i++
						f, err := r.Render(views(sz[0], sz[1], yawPose(yaw)))
						if err != nil {
							b.Fatal(err)
						}
						rend = append(rend, f.Timings.Render)
						tris += f.Triangles
					}
					// CPU time of the whole process (llvmpipe's threads
					// included) per frame: steadier than wall time on a
					// shared machine.
					b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(len(rend)), "cpu-ms/frame")
					b.ReportMetric(percentile(rend, 0.5), "render-ms")
					b.ReportMetric(percentile(rend, 0.99), "render-p99-ms")
					b.ReportMetric(float64(tris)/float64(len(rend)), "triangles/frame")
					b.ReportMetric(float64(bm.model.Triangles), "model-triangles")
				})
			}
		}
	}
}
