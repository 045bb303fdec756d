//go:build egl && cgo

package glrender

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl32"

	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/scene"
)

// LODPixelError is the largest screen-space error, in pixels, that level
// of detail may introduce: a chunk is drawn at the coarsest level whose
// simplification error projects to at most this many pixels.
const LODPixelError = 1.0

// vertexLightPixels is the largest on-screen distance, in pixels, between
// the vertices of a chunk's drawn level (its longest edge, projected at
// the chunk's nearest point) at which the chunk may be lit per vertex
// rather than per fragment (see modelVS). llvmpipe runs the fragment
// shader for every 4×4 block a triangle touches, so lighting sub-pixel
// triangles per fragment costs many times the pixels they show, while
// lighting their vertices shades a point every pixel or few, as Reyes
// does. The longest edge is about three times the level's Error, so at
// LODPixelError (1 px) the levels drawn have edges of up to 3–4.5 px.
const vertexLightPixels = 4.0

// vertexLightLobes bounds how far the surface may turn between the two
// ends of an edge (scene.Level.Bend) for lighting per vertex, in widths
// of the material's highlight (1/√shininess radians): a shiny material's
// narrow highlight would be lost between vertices, a rough one's broad
// highlight and the diffuse light are interpolated closely. With both
// limits the 1M-triangle benchmark model (roughness 0.6) changes by 0.1
// luma levels on average (TestVertexLightingMatchesFragmentLighting).
const vertexLightLobes = 3.0

// gpuModel is a scene.Model uploaded to one Worker's context, shared by
// every Renderer of that Worker that shows the model.
type gpuModel struct {
	vao, vbo, ibo uint32
	textures      []uint32
}

// upload returns the worker's copy of m, uploading it on first use;
// worker goroutine only.
func (w *Worker) upload(m *scene.Model) (*gpuModel, error) {
	if g, ok := w.models[m]; ok {
		return g, nil
	}
	if len(m.Vertices) == 0 || len(m.Indices) == 0 {
		return nil, fmt.Errorf("model %q is empty", m.Name)
	}
	for _, i := range m.Indices {
		if int(i) >= len(m.Vertices) {
			return nil, fmt.Errorf("model %q: index %d out of range (%d vertices)", m.Name, i, len(m.Vertices))
		}
	}
	for _, c := range m.Chunks {
		if c.Material < 0 || c.Material >= len(m.Materials) {
			return nil, fmt.Errorf("model %q: chunk material %d out of range", m.Name, c.Material)
		}
		for _, l := range c.Levels {
			if l.First < 0 || l.Count < 0 || l.First+l.Count > len(m.Indices) {
				return nil, fmt.Errorf("model %q: chunk level %+v out of range", m.Name, l)
			}
		}
	}
	g := &gpuModel{}
	gl.GenVertexArrays(1, &g.vao)
	gl.BindVertexArray(g.vao)
	gl.GenBuffers(1, &g.vbo)
	gl.BindBuffer(gl.ARRAY_BUFFER, g.vbo)
	stride := int32(unsafe.Sizeof(scene.Vertex{}))
	gl.BufferData(gl.ARRAY_BUFFER, len(m.Vertices)*int(stride), unsafe.Pointer(&m.Vertices[0]), gl.STATIC_DRAW)
	for i, a := range []struct {
		n   int32
		off uintptr
	}{{3, 0}, {3, 12}, {2, 24}, {4, 32}} {
		gl.EnableVertexAttribArray(uint32(i))
		gl.VertexAttribPointerWithOffset(uint32(i), a.n, gl.FLOAT, false, stride, a.off)
	}
	gl.GenBuffers(1, &g.ibo)
	gl.BindBuffer(gl.ELEMENT_ARRAY_BUFFER, g.ibo)
	gl.BufferData(gl.ELEMENT_ARRAY_BUFFER, len(m.Indices)*4, gl.Ptr(&m.Indices[0]), gl.STATIC_DRAW)
	gl.BindVertexArray(0)
	gl.BindBuffer(gl.ARRAY_BUFFER, 0)
	for _, t := range m.Textures {
		if t.Width <= 0 || t.Height <= 0 || len(t.Pix) != 4*t.Width*t.Height {
			g.delete()
			return nil, fmt.Errorf("model %q: texture %dx%d with %d bytes", m.Name, t.Width, t.Height, len(t.Pix))
		}
		var id uint32
		gl.GenTextures(1, &id)
		g.textures = append(g.textures, id)
		gl.BindTexture(gl.TEXTURE_2D, id)
		gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
		gl.TexImage2D(gl.TEXTURE_2D, 0, gl.SRGB8_ALPHA8, int32(t.Width), int32(t.Height), 0, gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&t.Pix[0]))
		gl.GenerateMipmap(gl.TEXTURE_2D)
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, glWrap(t.WrapS))
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, glWrap(t.WrapT))
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, glFilter(t.Mag))
		gl.TexParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, glFilter(t.Min))
	}
	gl.BindTexture(gl.TEXTURE_2D, 0)
	if err := glError("upload model"); err != nil {
		g.delete()
		return nil, err
	}
	w.models[m] = g
	return g, nil
}

func (g *gpuModel) delete() {
	gl.DeleteVertexArrays(1, &g.vao)
	gl.DeleteBuffers(1, &g.vbo)
	gl.DeleteBuffers(1, &g.ibo)
	if len(g.textures) > 0 {
		gl.DeleteTextures(int32(len(g.textures)), &g.textures[0])
	}
}

func glWrap(w scene.Wrap) int32 {
	switch w {
	case scene.WrapClamp:
		return gl.CLAMP_TO_EDGE
	case scene.WrapMirror:
		return gl.MIRRORED_REPEAT
	}
	return gl.REPEAT
}

func glFilter(f scene.Filter) int32 {
	switch f {
	case scene.FilterNearest:
		return gl.NEAREST
	case scene.FilterLinearMipmapLinear:
		return gl.LINEAR_MIPMAP_LINEAR
	case scene.FilterNearestMipmapNearest:
		return gl.NEAREST_MIPMAP_NEAREST
	case scene.FilterLinearMipmapNearest:
		return gl.LINEAR_MIPMAP_NEAREST
	case scene.FilterNearestMipmapLinear:
		return gl.NEAREST_MIPMAP_LINEAR
	}
	return gl.LINEAR
}

// shown is the model a Renderer draws and where.
type shown struct {
	m     *scene.Model
	g     *gpuModel
	xf    mgl32.Mat4
	nrm   mgl32.Mat3  // inverse transpose of xf's 3×3
	scale float32     // largest scale factor of xf
	boxes []scene.Box // chunk bounds in world space
	// Culling and LOD switch off for benchmarks that measure them.
	noCull, noLOD bool
	lodErr        float32   // pixels; see SetLODPixelError
	vertexPx      float32   // vertexLightPixels; 0: always per fragment
	maxBend       []float32 // per material: the largest Level.Bend lit per vertex
}

var _ render.ModelViewer = (*Renderer)(nil)

// SetModel implements render.ModelViewer: the model is uploaded to the
// Worker once and shared by its Renderers; it is drawn with the built-in
// scene's floor and sky around it.
func (r *Renderer) SetModel(m *scene.Model, transform mgl32.Mat4) error {
	if r.closed {
		return ErrClosed
	}
	for _, v := range transform {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("glrender: set model: transform is not finite")
		}
	}
	var err error
	if derr := r.w.do(func() error { err = r.setModel(m, transform); return nil }); derr != nil {
		return fmt.Errorf("glrender: set model: %w", derr)
	}
	if err != nil {
		return fmt.Errorf("glrender: set model: %w", err)
	}
	return nil
}

func (r *Renderer) setModel(m *scene.Model, xf mgl32.Mat4) error {
	if m == nil {
		if r.model != nil {
			r.model = nil
			return r.uploadScene(DefaultScene())
		}
		return nil
	}
	g, err := r.w.upload(m)
	if err != nil {
		return err
	}
	if r.model == nil {
		if err := r.uploadScene(EnvironmentScene()); err != nil {
			return err
		}
	}
	s := &shown{m: m, g: g, xf: xf, nrm: xf.Mat3().Inv().Transpose()}
	s.noCull, s.noLOD, s.lodErr = r.noCull, r.noLOD, r.lodPixelError()
	s.vertexPx = vertexLightPixels
	if r.fragmentLitOnly {
		s.vertexPx = 0
	}
	s.maxBend = make([]float32, len(m.Materials))
	for i := range m.Materials {
		s.maxBend[i] = maxBend(&m.Materials[i])
	}
	for c := range 3 {
		s.scale = max(s.scale, xf.Col(c).Vec3().Len())
	}
	s.boxes = make([]scene.Box, len(m.Chunks))
	for i, c := range m.Chunks {
		s.boxes[i] = c.Bounds.Transform(xf)
	}
	r.model = s
	return nil
}

// uploadScene replaces the Renderer's built-in geometry.
func (r *Renderer) uploadScene(s *Scene) error {
	if err := s.Validate(); err != nil {
		return err
	}
	r.scene = s
	stride := int(unsafe.Sizeof(Vertex{}))
	gl.BindBuffer(gl.ARRAY_BUFFER, r.vbo)
	gl.BufferData(gl.ARRAY_BUFFER, len(s.Vertices)*stride, unsafe.Pointer(&s.Vertices[0]), gl.STATIC_DRAW)
	gl.BindBuffer(gl.ARRAY_BUFFER, 0)
	gl.BindVertexArray(r.vao)
	gl.BufferData(gl.ELEMENT_ARRAY_BUFFER, len(s.Indices)*4, gl.Ptr(&s.Indices[0]), gl.STATIC_DRAW)
	gl.BindVertexArray(0)
	return glError("upload scene")
}

// frustum is six planes (a,b,c,d), inside where a·x+b·y+c·z+d ≥ 0.
type frustum [6]mgl32.Vec4

func frustumOf(vp mgl32.Mat4) frustum {
	r0, r1, r2, r3 := vp.Row(0), vp.Row(1), vp.Row(2), vp.Row(3)
	return frustum{r3.Add(r0), r3.Sub(r0), r3.Add(r1), r3.Sub(r1), r3.Add(r2), r3.Sub(r2)}
}

// outside reports whether b lies wholly outside one of the planes.
func (f *frustum) outside(b scene.Box) bool {
	for _, p := range f {
		// The box corner farthest along the plane's normal.
		x, y, z := b.Min[0], b.Min[1], b.Min[2]
		if p[0] >= 0 {
			x = b.Max[0]
		}
		if p[1] >= 0 {
			y = b.Max[1]
		}
		if p[2] >= 0 {
			z = b.Max[2]
		}
		if p[0]*x+p[1]*y+p[2]*z+p[3] < 0 {
			return true
		}
	}
	return false
}

// eyeDraw is what one eye draws of the model.
type eyeDraw struct {
	runs       []scene.Range // opaque and mask, merged per material
	mats       []int         // material of each run
	vlit       []bool        // whether each run is lit per vertex
	blend      []int         // visible blended chunks, back to front
	blendLvl   []scene.Range
	blendVlit  []bool
	triangles  int
	vertexLitN int // triangles lit per vertex
}

// plan culls the chunks against one eye's frustum, picks each visible
// chunk's level of detail and merges adjacent index ranges of the same
// material into one draw.
func (s *shown) plan(e render.Eye, eyeHeight int, d *eyeDraw) {
	d.runs, d.mats, d.vlit, d.blend, d.blendLvl, d.blendVlit = d.runs[:0], d.mats[:0], d.vlit[:0], d.blend[:0], d.blendLvl[:0], d.blendVlit[:0]
	d.triangles, d.vertexLitN = 0, 0
	vp := e.Projection.Mul4(e.View)
	f := frustumOf(vp)
	eye := e.View.Inv().Col(3).Vec3()
	// Pixels per metre at distance 1 along the view axis.
	pxPerRad := e.Projection[5] * float32(eyeHeight) / 2
	type blended struct {
		i    int
		dist float32
		lvl  scene.Range
		vlit bool
	}
	var bl []blended
	for i, c := range s.m.Chunks {
		b := s.boxes[i]
		if !s.noCull && f.outside(b) {
			continue
		}
		half := b.Size().Mul(0.5).Len()
		dist := max(b.Center().Sub(eye).Len()-half, 1e-3)
		pxPerUnit := s.scale * pxPerRad / dist // at the chunk's nearest point
		lv := c.Levels[0]
		if !s.noLOD {
			for _, l := range c.Levels[1:] {
				if l.Error*pxPerUnit > s.lodErr {
					break
				}
				lv = l
			}
		}
		lvl := lv.Range
		mat := &s.m.Materials[c.Material]
		vlit := s.vertexPx > 0 && lv.Edge > 0 && lv.Edge*pxPerUnit <= s.vertexPx && lv.Bend <= s.maxBend[c.Material]
		d.triangles += lvl.Count / 3
		if vlit {
			d.vertexLitN += lvl.Count / 3
		}
		if mat.Alpha == scene.AlphaBlend {
			bl = append(bl, blended{i, b.Center().Sub(eye).Len(), lvl, vlit})
			continue
		}
		if n := len(d.runs); n > 0 && d.mats[n-1] == c.Material && d.vlit[n-1] == vlit && d.runs[n-1].First+d.runs[n-1].Count == lvl.First {
			d.runs[n-1].Count += lvl.Count
			continue
		}
		d.runs = append(d.runs, lvl)
		d.mats = append(d.mats, c.Material)
		d.vlit = append(d.vlit, vlit)
	}
	slices.SortFunc(bl, func(a, b blended) int {
		if a.dist > b.dist {
			return -1
		}
		if a.dist < b.dist {
			return 1
		}
		return 0
	})
	for _, b := range bl {
		d.blend = append(d.blend, b.i)
		d.blendLvl = append(d.blendLvl, b.lvl)
		d.blendVlit = append(d.blendVlit, b.vlit)
	}
}

// maxBend returns the largest Level.Bend at which m may be lit per
// vertex: vertexLightLobes widths of its highlight, the shininess as the
// model program computes it; -1 (never) for unlit and double-sided
// materials (a vertex does not know which face is seen).
func maxBend(m *scene.Material) float32 {
	if m.Unlit || m.DoubleSided {
		return -1
	}
	r := float64(max(m.Roughness, 0.05))
	shin := min(max(2/(r*r*r*r)-2, 1), 2048)
	return float32(vertexLightLobes / math.Sqrt(shin))
}

// drawModel draws one eye's opaque and masked runs (blend false) or its
// blended chunks (blend true); worker goroutine only.
func (r *Renderer) drawModel(e render.Eye, d *eyeDraw, blend bool) {
	s := r.model
	u := modelUniforms{vp: e.Projection.Mul4(e.View), eye: e.View.Inv().Col(3).Vec3(), sc: r.scene}
	gl.ActiveTexture(gl.TEXTURE0)
	gl.BindVertexArray(s.g.vao)
	cur, curV := -1, modelVariant(0)
	var prog *program
	var set [numModelVariants]bool // per-frame uniforms set in this pass
	draw := func(mat int, rg scene.Range, vlit bool) {
		m := &s.m.Materials[mat]
		v := variantOf(m)
		if vlit {
			v |= variantVertexLit
		}
		if mat != cur || v != curV {
			cur, curV = mat, v
			p, err := r.w.progs.modelProgram(v)
			if err != nil {
				// A variant that does not compile draws nothing; the
				// plain variant compiled when the worker started.
				cur, prog = -1, nil
				return
			}
			if p != prog {
				prog = p
				gl.UseProgram(p.id)
				if !set[v] {
					set[v] = true
					u.set(p, s)
				}
			}
			r.setMaterial(p, m)
		}
		if prog == nil {
			return
		}
		gl.DrawElementsWithOffset(gl.TRIANGLES, int32(rg.Count), gl.UNSIGNED_INT, uintptr(rg.First*4))
	}
	if !blend {
		for i, rg := range d.runs {
			draw(d.mats[i], rg, d.vlit[i])
		}
	} else if len(d.blend) > 0 {
		gl.Enable(gl.BLEND)
		gl.BlendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA)
		gl.DepthMask(false)
		for i, c := range d.blend {
			draw(s.m.Chunks[c].Material, d.blendLvl[i], d.blendVlit[i])
		}
		gl.DepthMask(true)
		gl.Disable(gl.BLEND)
	}
	gl.Enable(gl.CULL_FACE)
	gl.BindVertexArray(r.vao)
}

// modelUniforms are the model program's uniforms that stay the same for
// one eye.
type modelUniforms struct {
	vp  mgl32.Mat4
	eye mgl32.Vec3
	sc  *Scene
}

func (u *modelUniforms) set(p *program, s *shown) {
	gl.UniformMatrix4fv(p.loc("uViewProj"), 1, false, &u.vp[0])
	gl.UniformMatrix4fv(p.loc("uModel"), 1, false, &s.xf[0])
	gl.UniformMatrix3fv(p.loc("uNormalMat"), 1, false, &s.nrm[0])
	gl.Uniform3fv(p.loc("uEye"), 1, &u.eye[0])
	gl.Uniform3fv(p.loc("uLightDir"), 1, &u.sc.LightDir[0])
	gl.Uniform3fv(p.loc("uFogColor"), 1, &u.sc.FogColor[0])
	gl.Uniform1f(p.loc("uFogDensity"), u.sc.FogDensity)
	gl.Uniform1i(p.loc("uTex"), 0)
}

// setMaterial sets the material uniforms of p, the texture and face
// culling.
func (r *Renderer) setMaterial(p *program, m *scene.Material) {
	gl.Uniform4fv(p.loc("uBase"), 1, &m.BaseColor[0])
	gl.Uniform3fv(p.loc("uEmissive"), 1, &m.Emissive[0])
	gl.Uniform1f(p.loc("uMetal"), m.Metallic)
	gl.Uniform1f(p.loc("uRough"), m.Roughness)
	gl.Uniform1f(p.loc("uCutoff"), m.AlphaCutoff)
	gl.UniformMatrix3fv(p.loc("uUVT"), 1, false, &m.UVTransform[0])
	if m.Texture >= 0 {
		gl.BindTexture(gl.TEXTURE_2D, r.model.g.textures[m.Texture])
	}
	if m.DoubleSided {
		gl.Disable(gl.CULL_FACE)
	} else {
		gl.Enable(gl.CULL_FACE)
	}
}

// SetCulling switches frustum culling and level of detail of the shown
// model on or off (both are on by default); benchmarks use it to measure
// what each saves. It applies to the current and later models.
func (r *Renderer) SetCulling(cull, lod bool) {
	_ = r.w.do(func() error {
		r.noCull, r.noLOD = !cull, !lod
		if r.model != nil {
			r.model.noCull, r.model.noLOD = !cull, !lod
		}
		return nil
	})
}

// SetLODPixelError sets the largest screen-space error, in pixels, that
// level of detail may introduce for the current and later models; 0 or
// less restores LODPixelError.
func (r *Renderer) SetLODPixelError(px float64) {
	_ = r.w.do(func() error {
		r.lodErr = float32(px)
		if r.model != nil {
			r.model.lodErr = r.lodPixelError()
		}
		return nil
	})
}

func (r *Renderer) lodPixelError() float32 {
	if r.lodErr > 0 {
		return r.lodErr
	}
	return LODPixelError
}
