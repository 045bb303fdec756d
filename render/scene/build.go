package scene

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // glTF images are PNG or JPEG
	_ "image/png"
	"math"
	"sort"
	"strings"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/qmuntal/gltf"
	"github.com/qmuntal/gltf/ext/texturetransform"
	"github.com/qmuntal/gltf/ext/unlit"
)

// prim is one decoded primitive in its mesh's space.
type prim struct {
	pos, nrm, uv, col []float32 // nrm, uv, col may be nil
	colN              int       // components of col (3 or 4)
	tris              []uint32  // triangle list
	material          int       // index into Model.Materials
}

// part is the triangles of one primitive of one node, in model space.
type part struct {
	material int
	tris     []uint32 // indices into Model.Vertices
}

type primKey struct{ mesh, prim int }

func (l *loader) build() (*Model, error) {
	l.m = &Model{Bounds: EmptyBox()}
	doc := l.doc
	if len(doc.Cameras) > 0 {
		l.note("%d cameras ignored", len(doc.Cameras))
	}
	if len(doc.Skins) > 0 {
		l.note("%d skins ignored (drawn in bind pose)", len(doc.Skins))
	}
	if len(doc.Animations) > 0 {
		l.note("%d animations ignored", len(doc.Animations))
	}
	for _, e := range doc.ExtensionsUsed {
		if !supportedExtensions[e] {
			l.note("extension %s ignored", e)
		}
	}
	matIdx := map[int]int{}
	texIdx := map[int]int{}
	var parts []part
	prims := map[primKey]*prim{}
	var totalPixels int

	material := func(i *int) (int, error) {
		key := -1
		if i != nil {
			key = *i
			if key < 0 || key >= len(doc.Materials) {
				return 0, fmt.Errorf("%w: material %d does not exist", ErrInvalid, key)
			}
		}
		if mi, ok := matIdx[key]; ok {
			return mi, nil
		}
		mat := Material{BaseColor: [4]float32{1, 1, 1, 1}, Texture: -1, UVTransform: mgl32.Ident3(), Metallic: 1, Roughness: 1, AlphaCutoff: 0.5}
		if key >= 0 {
			if err := l.material(doc.Materials[key], &mat, texIdx, &totalPixels); err != nil {
				return 0, fmt.Errorf("material %d: %w", key, err)
			}
		}
		l.m.Materials = append(l.m.Materials, mat)
		matIdx[key] = len(l.m.Materials) - 1
		return matIdx[key], nil
	}

	var visited int
	var visit func(n int, parent mgl32.Mat4, depth int, onPath map[int]bool) error
	visit = func(n int, parent mgl32.Mat4, depth int, onPath map[int]bool) error {
		if n < 0 || n >= len(doc.Nodes) {
			return fmt.Errorf("%w: node %d does not exist", ErrInvalid, n)
		}
		if onPath[n] {
			return fmt.Errorf("%w: node %d is its own ancestor (cycle in the node graph)", ErrInvalid, n)
		}
		if depth > l.lim.MaxDepth {
			return fmt.Errorf("node %d: nesting deeper than %d: %w", n, l.lim.MaxDepth, ErrLimit)
		}
		if visited++; visited > l.lim.MaxNodes {
			return fmt.Errorf("more than %d node instances: %w", l.lim.MaxNodes, ErrLimit)
		}
		node := doc.Nodes[n]
		local, err := nodeMatrix(node)
		if err != nil {
			return fmt.Errorf("node %d: %w", n, err)
		}
		world := parent.Mul4(local)
		if node.Mesh != nil {
			mi := *node.Mesh
			if mi < 0 || mi >= len(doc.Meshes) {
				return fmt.Errorf("%w: node %d: mesh %d does not exist", ErrInvalid, n, mi)
			}
			if len(node.Weights) > 0 || node.Skin != nil {
				l.note("node %d: skin or morph weights ignored", n)
			}
			for pi, p := range doc.Meshes[mi].Primitives {
				key := primKey{mi, pi}
				pr, ok := prims[key]
				if !ok {
					mat, err := material(p.Material)
					if err != nil {
						return fmt.Errorf("mesh %d primitive %d: %w", mi, pi, err)
					}
					pr, err = l.primitive(p, mat)
					if err != nil {
						return fmt.Errorf("mesh %d primitive %d: %w", mi, pi, err)
					}
					prims[key] = pr
				}
				if pr == nil {
					continue
				}
				pt, err := l.bake(pr, world)
				if err != nil {
					return fmt.Errorf("mesh %d primitive %d: %w", mi, pi, err)
				}
				if len(pt.tris) > 0 {
					parts = append(parts, pt)
				}
			}
		}
		onPath[n] = true
		defer delete(onPath, n)
		for _, c := range node.Children {
			if err := visit(c, world, depth+1, onPath); err != nil {
				return err
			}
		}
		return nil
	}

	roots, err := l.roots()
	if err != nil {
		return nil, err
	}
	for _, r := range roots {
		if err := visit(r, mgl32.Ident4(), 0, map[int]bool{}); err != nil {
			return nil, err
		}
	}
	if l.m.Triangles == 0 {
		if len(l.m.Notes) > 0 {
			return nil, fmt.Errorf("%w: the scene has no triangles (%s)", ErrInvalid, strings.Join(l.m.Notes, "; "))
		}
		return nil, fmt.Errorf("%w: the scene has no triangles", ErrInvalid)
	}
	l.chunk(parts)
	return l.m, nil
}

// roots returns the root nodes of the scene to draw: doc.Scene, else the
// first scene, else every node that is no other node's child.
func (l *loader) roots() ([]int, error) {
	doc := l.doc
	if doc.Scene != nil {
		if *doc.Scene < 0 || *doc.Scene >= len(doc.Scenes) {
			return nil, fmt.Errorf("%w: scene %d does not exist", ErrInvalid, *doc.Scene)
		}
		return doc.Scenes[*doc.Scene].Nodes, nil
	}
	if len(doc.Scenes) > 0 {
		return doc.Scenes[0].Nodes, nil
	}
	child := make([]bool, len(doc.Nodes))
	for _, n := range doc.Nodes {
		for _, c := range n.Children {
			if c >= 0 && c < len(child) {
				child[c] = true
			}
		}
	}
	var roots []int
	for i, c := range child {
		if !c {
			roots = append(roots, i)
		}
	}
	return roots, nil
}

// nodeMatrix returns a node's local transform (matrix, or T·R·S).
func nodeMatrix(n *gltf.Node) (mgl32.Mat4, error) {
	var m mgl32.Mat4
	if n.Matrix != gltf.DefaultMatrix && n.Matrix != ([16]float64{}) {
		for i, v := range n.Matrix {
			m[i] = float32(v)
		}
	} else {
		t, r, s := n.Translation, n.RotationOrDefault(), n.ScaleOrDefault()
		q := mgl32.Quat{W: float32(r[3]), V: mgl32.Vec3{float32(r[0]), float32(r[1]), float32(r[2])}}
		if l := q.Len(); l > 1e-6 {
			q = q.Scale(1 / l)
		} else {
			q = mgl32.QuatIdent()
		}
		m = mgl32.Translate3D(float32(t[0]), float32(t[1]), float32(t[2])).
			Mul4(q.Mat4()).
			Mul4(mgl32.Scale3D(float32(s[0]), float32(s[1]), float32(s[2])))
	}
	for _, v := range m {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return m, fmt.Errorf("%w: transform is not finite", ErrInvalid)
		}
	}
	return m, nil
}

// primitive decodes a primitive in its mesh's space; nil (no error) for
// primitives that are not drawn (points, lines).
func (l *loader) primitive(p *gltf.Primitive, mat int) (*prim, error) {
	switch p.Mode {
	case gltf.PrimitiveTriangles, gltf.PrimitiveTriangleStrip, gltf.PrimitiveTriangleFan:
	default:
		l.note("primitives of mode %v ignored", p.Mode)
		return nil, nil
	}
	if len(p.Targets) > 0 {
		l.note("morph targets ignored")
	}
	posIdx, ok := p.Attributes[gltf.POSITION]
	if !ok {
		return nil, fmt.Errorf("%w: no POSITION", ErrInvalid)
	}
	pr := &prim{material: mat}
	var err error
	if pr.pos, err = l.floats(posIdx, gltf.AccessorVec3); err != nil {
		return nil, fmt.Errorf("POSITION: %w", err)
	}
	nv := len(pr.pos) / 3
	if nv > l.lim.MaxVertices {
		return nil, fmt.Errorf("%d vertices: %w", nv, ErrLimit)
	}
	if i, ok := p.Attributes[gltf.NORMAL]; ok {
		if pr.nrm, err = l.floats(i, gltf.AccessorVec3); err != nil {
			return nil, fmt.Errorf("NORMAL: %w", err)
		}
		if len(pr.nrm) != len(pr.pos) {
			return nil, fmt.Errorf("%w: NORMAL has %d elements, POSITION %d", ErrInvalid, len(pr.nrm)/3, nv)
		}
	}
	m := l.m.Materials[mat]
	if m.Texture >= 0 {
		set := l.texCoord[mat]
		name := fmt.Sprintf("TEXCOORD_%d", set)
		if i, ok := p.Attributes[name]; ok {
			if pr.uv, err = l.floats(i, gltf.AccessorVec2); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(pr.uv)/2 != nv {
				return nil, fmt.Errorf("%w: %s has %d elements, POSITION %d", ErrInvalid, name, len(pr.uv)/2, nv)
			}
		} else {
			l.note("a textured primitive has no %s", name)
		}
	}
	if i, ok := p.Attributes[gltf.COLOR_0]; ok {
		typ := gltf.AccessorVec4
		pr.colN = 4
		if i >= 0 && i < len(l.doc.Accessors) && l.doc.Accessors[i].Type == gltf.AccessorVec3 {
			typ, pr.colN = gltf.AccessorVec3, 3
		}
		if pr.col, err = l.floats(i, typ); err != nil {
			return nil, fmt.Errorf("COLOR_0: %w", err)
		}
		if len(pr.col)/pr.colN != nv {
			return nil, fmt.Errorf("%w: COLOR_0 has %d elements, POSITION %d", ErrInvalid, len(pr.col)/pr.colN, nv)
		}
	}
	var idx []uint32
	if p.Indices != nil {
		if idx, err = l.indices(*p.Indices, nv); err != nil {
			return nil, fmt.Errorf("indices: %w", err)
		}
	} else {
		idx = make([]uint32, nv)
		for i := range idx {
			idx[i] = uint32(i)
		}
	}
	pr.tris = triangulate(p.Mode, idx)
	return pr, nil
}

// triangulate turns a list, strip or fan into a triangle list.
func triangulate(mode gltf.PrimitiveMode, idx []uint32) []uint32 {
	switch mode {
	case gltf.PrimitiveTriangleStrip:
		if len(idx) < 3 {
			return nil
		}
		out := make([]uint32, 0, 3*(len(idx)-2))
		for i := 0; i+2 < len(idx); i++ {
			if i%2 == 0 {
				out = append(out, idx[i], idx[i+1], idx[i+2])
			} else {
				out = append(out, idx[i+1], idx[i], idx[i+2])
			}
		}
		return out
	case gltf.PrimitiveTriangleFan:
		if len(idx) < 3 {
			return nil
		}
		out := make([]uint32, 0, 3*(len(idx)-2))
		for i := 1; i+1 < len(idx); i++ {
			out = append(out, idx[0], idx[i], idx[i+1])
		}
		return out
	}
	return idx[:len(idx)/3*3]
}

// bake appends the primitive's vertices transformed by world to the model
// and returns its triangles. Without normals, each triangle gets its own
// vertices with the face normal (flat shading).
func (l *loader) bake(pr *prim, world mgl32.Mat4) (part, error) {
	m := l.m
	ntri := len(pr.tris) / 3
	if m.Triangles+ntri > l.lim.MaxTriangles {
		return part{}, fmt.Errorf("more than %d triangles: %w", l.lim.MaxTriangles, ErrLimit)
	}
	nv := len(pr.pos) / 3
	if pr.nrm == nil {
		nv = len(pr.tris)
	}
	if len(m.Vertices)+nv > l.lim.MaxVertices {
		return part{}, fmt.Errorf("more than %d vertices: %w", l.lim.MaxVertices, ErrLimit)
	}
	normalM := world.Mat3().Inv().Transpose()
	flip := world.Mat3().Det() < 0
	vert := func(i uint32) Vertex {
		v := Vertex{Color: [4]float32{1, 1, 1, 1}}
		p := world.Mul4x1(mgl32.Vec4{pr.pos[3*i], pr.pos[3*i+1], pr.pos[3*i+2], 1}).Vec3()
		v.Pos = p
		m.Bounds.Add(p)
		if pr.nrm != nil {
			n := normalM.Mul3x1(mgl32.Vec3{pr.nrm[3*i], pr.nrm[3*i+1], pr.nrm[3*i+2]})
			if l := n.Len(); l > 1e-12 {
				n = n.Mul(1 / l)
			}
			v.Normal = n
		}
		if pr.uv != nil {
			v.UV = [2]float32{pr.uv[2*i], pr.uv[2*i+1]}
		}
		if pr.col != nil {
			c := pr.col[int(i)*pr.colN:]
			v.Color[0], v.Color[1], v.Color[2] = c[0], c[1], c[2]
			if pr.colN == 4 {
				v.Color[3] = c[3]
			}
		}
		return v
	}
	base := uint32(len(m.Vertices))
	tris := make([]uint32, 0, len(pr.tris))
	if pr.nrm != nil {
		for i := range uint32(len(pr.pos) / 3) {
			m.Vertices = append(m.Vertices, vert(i))
		}
		for t := 0; t < len(pr.tris); t += 3 {
			a, b, c := pr.tris[t], pr.tris[t+1], pr.tris[t+2]
			if flip {
				b, c = c, b
			}
			tris = append(tris, base+a, base+b, base+c)
		}
	} else {
		for t := 0; t < len(pr.tris); t += 3 {
			a, b, c := vert(pr.tris[t]), vert(pr.tris[t+1]), vert(pr.tris[t+2])
			if flip {
				b, c = c, b
			}
			n := mgl32.Vec3(b.Pos).Sub(a.Pos).Cross(mgl32.Vec3(c.Pos).Sub(a.Pos))
			if l := n.Len(); l > 1e-20 {
				n = n.Mul(1 / l)
			}
			a.Normal, b.Normal, c.Normal = n, n, n
			i := uint32(len(m.Vertices))
			m.Vertices = append(m.Vertices, a, b, c)
			tris = append(tris, i, i+1, i+2)
		}
	}
	m.Triangles += ntri
	return part{material: pr.material, tris: tris}, nil
}

// material fills mat from a glTF material.
func (l *loader) material(gm *gltf.Material, mat *Material, texIdx map[int]int, totalPixels *int) error {
	mat.Name = gm.Name
	if pbr := gm.PBRMetallicRoughness; pbr != nil {
		if f := pbr.BaseColorFactor; f != nil {
			for i, v := range f {
				mat.BaseColor[i] = clamp01(v)
			}
		}
		mat.Metallic = clamp01(pbr.MetallicFactorOrDefault())
		mat.Roughness = clamp01(pbr.RoughnessFactorOrDefault())
		if ti := pbr.BaseColorTexture; ti != nil {
			set := ti.TexCoord
			if tt, ok := ti.Extensions[texturetransform.ExtensionName].(*texturetransform.TextureTranform); ok {
				mat.UVTransform = uvTransform(tt)
				if tt.TexCoord != nil {
					set = *tt.TexCoord
				}
			}
			t, err := l.texture(ti.Index, texIdx, totalPixels)
			if err != nil {
				l.note("base colour texture %d not drawn: %v", ti.Index, err)
			} else {
				mat.Texture = t
				if l.texCoord == nil {
					l.texCoord = map[int]int{}
				}
				l.texCoord[len(l.m.Materials)] = set
			}
		}
		if pbr.MetallicRoughnessTexture != nil {
			l.note("metallic-roughness textures ignored (factors used)")
		}
	}
	for i, v := range gm.EmissiveFactor {
		mat.Emissive[i] = clamp01(v)
	}
	if gm.NormalTexture != nil || gm.OcclusionTexture != nil || gm.EmissiveTexture != nil {
		l.note("normal, occlusion and emissive textures ignored")
	}
	switch gm.AlphaMode {
	case gltf.AlphaMask:
		mat.Alpha = AlphaMask
	case gltf.AlphaBlend:
		mat.Alpha = AlphaBlend
	}
	mat.AlphaCutoff = float32(gm.AlphaCutoffOrDefault())
	if c := float64(mat.AlphaCutoff); math.IsNaN(c) || c < 0 {
		mat.AlphaCutoff = 0.5
	}
	mat.DoubleSided = gm.DoubleSided
	if _, ok := gm.Extensions[unlit.ExtensionName]; ok {
		mat.Unlit = true
	}
	return nil
}

func clamp01(v float64) float32 {
	if math.IsNaN(v) {
		return 0
	}
	return float32(min(max(v, 0), 1))
}

// uvTransform is KHR_texture_transform's T·R·S as a 3×3 matrix.
func uvTransform(tt *texturetransform.TextureTranform) mgl32.Mat3 {
	s := tt.ScaleOrDefault()
	r := tt.Rotation
	if math.IsNaN(r) || math.IsInf(r, 0) {
		r = 0
	}
	c, sn := float32(math.Cos(r)), float32(math.Sin(r))
	fin := func(v float64) float32 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return float32(v)
	}
	t := mgl32.Mat3{1, 0, 0, 0, 1, 0, fin(tt.Offset[0]), fin(tt.Offset[1]), 1}
	rot := mgl32.Mat3{c, -sn, 0, sn, c, 0, 0, 0, 1}
	sc := mgl32.Mat3{fin(s[0]), 0, 0, 0, fin(s[1]), 0, 0, 0, 1}
	return t.Mul3(rot).Mul3(sc)
}

// texture decodes glTF texture i (image and sampler) once.
func (l *loader) texture(i int, texIdx map[int]int, totalPixels *int) (int, error) {
	if t, ok := texIdx[i]; ok {
		return t, nil
	}
	doc := l.doc
	if i < 0 || i >= len(doc.Textures) {
		return 0, fmt.Errorf("%w: texture %d does not exist", ErrInvalid, i)
	}
	gt := doc.Textures[i]
	if gt.Source == nil || *gt.Source < 0 || *gt.Source >= len(doc.Images) {
		return 0, fmt.Errorf("%w: texture %d has no usable image", ErrInvalid, i)
	}
	data, err := l.imageBytes(*gt.Source)
	if err != nil {
		return 0, fmt.Errorf("image %d: %w", *gt.Source, err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("image %d: %w", *gt.Source, err)
	}
	px := cfg.Width * cfg.Height
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 1<<15 || cfg.Height > 1<<15 || px > l.lim.MaxTexturePixels {
		return 0, fmt.Errorf("image %d: %dx%d: %w (at most %d pixels)", *gt.Source, cfg.Width, cfg.Height, ErrLimit, l.lim.MaxTexturePixels)
	}
	if *totalPixels+px > l.lim.MaxTotalPixels {
		return 0, fmt.Errorf("image %d: textures beyond %d pixels in all: %w", *gt.Source, l.lim.MaxTotalPixels, ErrLimit)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("image %d: %w", *gt.Source, err)
	}
	*totalPixels += px
	b := img.Bounds()
	nrgba, ok := img.(*image.NRGBA)
	if !ok || nrgba.Stride != 4*b.Dx() || b.Min != (image.Point{}) {
		nrgba = image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(nrgba, nrgba.Bounds(), img, b.Min, draw.Src)
	}
	t := Texture{Width: b.Dx(), Height: b.Dy(), Pix: nrgba.Pix, Mag: FilterLinear, Min: FilterLinearMipmapLinear}
	if gt.Sampler != nil {
		if *gt.Sampler < 0 || *gt.Sampler >= len(doc.Samplers) {
			return 0, fmt.Errorf("%w: texture %d: sampler %d does not exist", ErrInvalid, i, *gt.Sampler)
		}
		s := doc.Samplers[*gt.Sampler]
		t.WrapS, t.WrapT = wrap(s.WrapS), wrap(s.WrapT)
		if s.MagFilter == gltf.MagNearest {
			t.Mag = FilterNearest
		}
		switch s.MinFilter {
		case gltf.MinLinear:
			t.Min = FilterLinear
		case gltf.MinNearest:
			t.Min = FilterNearest
		case gltf.MinNearestMipMapNearest:
			t.Min = FilterNearestMipmapNearest
		case gltf.MinLinearMipMapNearest:
			t.Min = FilterLinearMipmapNearest
		case gltf.MinNearestMipMapLinear:
			t.Min = FilterNearestMipmapLinear
		}
	}
	l.m.Textures = append(l.m.Textures, t)
	texIdx[i] = len(l.m.Textures) - 1
	return texIdx[i], nil
}

func wrap(w gltf.WrappingMode) Wrap {
	switch w {
	case gltf.WrapClampToEdge:
		return WrapClamp
	case gltf.WrapMirroredRepeat:
		return WrapMirror
	}
	return WrapRepeat
}

// materialOrder sorts materials opaque, mask, blend.
func materialOrder(ms []Material) []int {
	order := make([]int, len(ms))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ms[order[a]].Alpha < ms[order[b]].Alpha })
	return order
}
