package scene

import (
	"math"

	"github.com/go-gl/mathgl/mgl32"
)

// Vertex is one vertex of a Model in model space: position, unit normal,
// texture coordinate of the material's base-colour texture and linear RGBA
// vertex colour (1,1,1,1 when the file has none). It is 48 bytes, tightly
// packed, ready to upload.
type Vertex struct {
	Pos    [3]float32
	Normal [3]float32
	UV     [2]float32
	Color  [4]float32
}

// AlphaMode is how a material's alpha is used.
type AlphaMode int

const (
	// AlphaOpaque ignores alpha.
	AlphaOpaque AlphaMode = iota
	// AlphaMask discards fragments whose alpha is below AlphaCutoff.
	AlphaMask
	// AlphaBlend blends with what is behind (drawn after opaque geometry).
	AlphaBlend
)

// String returns the glTF name of the mode.
func (a AlphaMode) String() string {
	switch a {
	case AlphaMask:
		return "MASK"
	case AlphaBlend:
		return "BLEND"
	}
	return "OPAQUE"
}

// Material is a glTF metallic-roughness material as the renderer uses it.
type Material struct {
	Name string
	// BaseColor is the linear RGBA base-colour factor.
	BaseColor [4]float32
	// Texture indexes Model.Textures for the base colour, or is -1.
	Texture int
	// UVTransform maps Vertex.UV to texture coordinates
	// (KHR_texture_transform; identity otherwise).
	UVTransform mgl32.Mat3
	// Metallic and Roughness are the factors in [0,1].
	Metallic, Roughness float32
	// Emissive is the linear RGB emissive factor.
	Emissive [3]float32
	// Alpha and AlphaCutoff say how alpha is used.
	Alpha       AlphaMode
	AlphaCutoff float32
	// DoubleSided materials are drawn without back-face culling.
	DoubleSided bool
	// Unlit materials (KHR_materials_unlit) show the base colour as is.
	Unlit bool
}

// Wrap is a texture coordinate wrapping mode.
type Wrap int

// Wrap modes of glTF samplers.
const (
	WrapRepeat Wrap = iota
	WrapClamp
	WrapMirror
)

// Filter is a texture filter.
type Filter int

// Filters of glTF samplers. Mipmap filters are on the minification side
// only; the renderer builds the mipmaps.
const (
	FilterLinear Filter = iota
	FilterNearest
	FilterLinearMipmapLinear
	FilterNearestMipmapNearest
	FilterLinearMipmapNearest
	FilterNearestMipmapLinear
)

// Mipmapped reports whether a minification filter samples mipmaps.
func (f Filter) Mipmapped() bool { return f >= FilterLinearMipmapLinear }

// Texture is a decoded image with its sampler. Pix is RGBA8, sRGB-encoded
// as stored in the file, not premultiplied, top row first.
type Texture struct {
	Width, Height int
	Pix           []byte
	WrapS, WrapT  Wrap
	Mag, Min      Filter
}

// Box is an axis-aligned bounding box. An empty box has Min > Max.
type Box struct {
	Min mgl32.Vec3 `json:"min"`
	Max mgl32.Vec3 `json:"max"`
}

// EmptyBox returns a box that contains nothing; Add grows it.
func EmptyBox() Box {
	inf := float32(math.Inf(1))
	return Box{Min: mgl32.Vec3{inf, inf, inf}, Max: mgl32.Vec3{-inf, -inf, -inf}}
}

// Empty reports whether the box contains no point.
func (b Box) Empty() bool { return b.Min[0] > b.Max[0] }

// Add grows the box to contain p.
func (b *Box) Add(p mgl32.Vec3) {
	for i := range 3 {
		b.Min[i] = min(b.Min[i], p[i])
		b.Max[i] = max(b.Max[i], p[i])
	}
}

// Union grows the box to contain o.
func (b *Box) Union(o Box) {
	if o.Empty() {
		return
	}
	b.Add(o.Min)
	b.Add(o.Max)
}

// Center returns the centre of the box.
func (b Box) Center() mgl32.Vec3 { return b.Min.Add(b.Max).Mul(0.5) }

// Size returns the extent of the box along each axis.
func (b Box) Size() mgl32.Vec3 { return b.Max.Sub(b.Min) }

// Transform returns the bounding box of b transformed by m.
func (b Box) Transform(m mgl32.Mat4) Box {
	out := EmptyBox()
	if b.Empty() {
		return out
	}
	for i := range 8 {
		p := mgl32.Vec3{b.Min[0], b.Min[1], b.Min[2]}
		if i&1 != 0 {
			p[0] = b.Max[0]
		}
		if i&2 != 0 {
			p[1] = b.Max[1]
		}
		if i&4 != 0 {
			p[2] = b.Max[2]
		}
		out.Add(m.Mul4x1(p.Vec4(1)).Vec3())
	}
	return out
}

// Range is a run of Model.Indices: Count indices from First.
type Range struct {
	First, Count int
}

// Level is one level of detail of a Chunk: its indices and the typical
// geometric error of the simplification in model units (0 for full
// detail).
type Level struct {
	Range
	Error float32
	// Edge is the longest edge of the level's triangles in model units
	// and Bend the largest angle, in radians, between the normals at the
	// two ends of one of its edges: how far apart its vertices lie and
	// how much the surface turns between them, so that a renderer knows
	// where shading at the vertices is as fine as shading per pixel.
	// Both 0 when unknown.
	Edge, Bend float32
}

// Chunk is a spatially compact group of triangles with one material: one
// primitive of one node, or a part of a large one. A renderer culls it by
// Bounds and draws one of its Levels.
type Chunk struct {
	Material int
	Bounds   Box
	// Levels are ordered from full detail (Levels[0]) to coarsest.
	Levels []Level
}

// Model is a loaded glTF scene, in the file's units and axes (glTF: metres,
// +Y up), with every node transform applied.
type Model struct {
	// Name is the scene's name (the file name without extension).
	Name      string
	Vertices  []Vertex
	Indices   []uint32
	Materials []Material
	Textures  []Texture
	// Chunks are sorted by material, blended materials last.
	Chunks []Chunk
	// Bounds contains every vertex.
	Bounds Box
	// Triangles is the number of triangles at full detail.
	Triangles int
	// Notes name what the file has that is not drawn.
	Notes []string
}
