// Package scenetest builds glTF 2.0 files in memory for tests and
// benchmarks: a Builder that packs meshes, materials, textures and nodes
// into one buffer and writes .glb or .gltf (with the buffer embedded as a
// data URI), and generators of test shapes and of models of a chosen
// triangle count.
package scenetest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"

	"github.com/qmuntal/gltf"
)

// Builder accumulates a glTF document and its single binary buffer.
type Builder struct {
	Doc *gltf.Document
	buf bytes.Buffer
}

// New returns an empty Builder with one scene.
func New() *Builder {
	return &Builder{Doc: &gltf.Document{
		Asset:  gltf.Asset{Version: "2.0", Generator: "holocast scenetest"},
		Scenes: []*gltf.Scene{{}},
		Scene:  gltf.Index(0),
	}}
}

// view appends data (4-byte aligned) as a buffer view and returns it.
func (b *Builder) view(data []byte) int {
	for b.buf.Len()%4 != 0 {
		b.buf.WriteByte(0)
	}
	off := b.buf.Len()
	b.buf.Write(data)
	b.Doc.BufferViews = append(b.Doc.BufferViews, &gltf.BufferView{Buffer: 0, ByteOffset: off, ByteLength: len(data)})
	return len(b.Doc.BufferViews) - 1
}

// Floats adds an accessor of float32 elements of type typ.
func (b *Builder) Floats(typ gltf.AccessorType, v []float32) int {
	data := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(f))
	}
	n := typ.Components()
	a := &gltf.Accessor{BufferView: gltf.Index(b.view(data)), ComponentType: gltf.ComponentFloat, Count: len(v) / n, Type: typ}
	if typ == gltf.AccessorVec3 && len(v) >= 3 {
		mn, mx := []float64{math.Inf(1), math.Inf(1), math.Inf(1)}, []float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		for i, f := range v {
			mn[i%3] = math.Min(mn[i%3], float64(f))
			mx[i%3] = math.Max(mx[i%3], float64(f))
		}
		a.Min, a.Max = mn, mx
	}
	b.Doc.Accessors = append(b.Doc.Accessors, a)
	return len(b.Doc.Accessors) - 1
}

// Indices adds an UNSIGNED_INT index accessor.
func (b *Builder) Indices(idx []uint32) int {
	data := make([]byte, 4*len(idx))
	for i, v := range idx {
		binary.LittleEndian.PutUint32(data[4*i:], v)
	}
	b.Doc.Accessors = append(b.Doc.Accessors, &gltf.Accessor{BufferView: gltf.Index(b.view(data)), ComponentType: gltf.ComponentUint, Count: len(idx), Type: gltf.AccessorScalar})
	return len(b.Doc.Accessors) - 1
}

// Prim is a primitive to add: positions (xyz), optional normals, texture
// coordinates (uv), RGBA colours and indices.
type Prim struct {
	Pos, Normal, UV, Color []float32
	Indices                []uint32
	Mode                   gltf.PrimitiveMode
	Material               *int
}

// Mesh adds a mesh of the given primitives.
func (b *Builder) Mesh(prims ...Prim) int {
	m := &gltf.Mesh{}
	for _, p := range prims {
		gp := &gltf.Primitive{Attributes: gltf.PrimitiveAttributes{gltf.POSITION: b.Floats(gltf.AccessorVec3, p.Pos)}, Mode: p.Mode, Material: p.Material}
		if p.Normal != nil {
			gp.Attributes[gltf.NORMAL] = b.Floats(gltf.AccessorVec3, p.Normal)
		}
		if p.UV != nil {
			gp.Attributes[gltf.TEXCOORD_0] = b.Floats(gltf.AccessorVec2, p.UV)
		}
		if p.Color != nil {
			gp.Attributes[gltf.COLOR_0] = b.Floats(gltf.AccessorVec4, p.Color)
		}
		if p.Indices != nil {
			gp.Indices = gltf.Index(b.Indices(p.Indices))
		}
		m.Primitives = append(m.Primitives, gp)
	}
	b.Doc.Meshes = append(b.Doc.Meshes, m)
	return len(b.Doc.Meshes) - 1
}

// Material adds a material.
func (b *Builder) Material(m *gltf.Material) int {
	b.Doc.Materials = append(b.Doc.Materials, m)
	return len(b.Doc.Materials) - 1
}

// Texture adds img as a PNG image in the buffer with sampler s (nil: the
// default sampler) and returns the texture index.
func (b *Builder) Texture(img image.Image, s *gltf.Sampler) int {
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		panic(fmt.Sprintf("scenetest: encode PNG: %v", err))
	}
	b.Doc.Images = append(b.Doc.Images, &gltf.Image{BufferView: gltf.Index(b.view(pb.Bytes())), MimeType: "image/png"})
	t := &gltf.Texture{Source: gltf.Index(len(b.Doc.Images) - 1)}
	if s != nil {
		b.Doc.Samplers = append(b.Doc.Samplers, s)
		t.Sampler = gltf.Index(len(b.Doc.Samplers) - 1)
	}
	b.Doc.Textures = append(b.Doc.Textures, t)
	return len(b.Doc.Textures) - 1
}

// Node adds a node; root nodes are added to the scene.
func (b *Builder) Node(n *gltf.Node, root bool) int {
	if n.Matrix == ([16]float64{}) {
		n.Matrix = gltf.DefaultMatrix
	}
	if n.Rotation == ([4]float64{}) {
		n.Rotation = gltf.DefaultRotation
	}
	if n.Scale == ([3]float64{}) {
		n.Scale = gltf.DefaultScale
	}
	b.Doc.Nodes = append(b.Doc.Nodes, n)
	i := len(b.Doc.Nodes) - 1
	if root {
		b.Doc.Scenes[0].Nodes = append(b.Doc.Scenes[0].Nodes, i)
	}
	return i
}

func (b *Builder) finish() *gltf.Document {
	for b.buf.Len()%4 != 0 {
		b.buf.WriteByte(0)
	}
	doc := *b.Doc
	doc.Buffers = []*gltf.Buffer{{ByteLength: b.buf.Len(), Data: b.buf.Bytes()}}
	return &doc
}

// GLB returns the model as a binary .glb file.
func (b *Builder) GLB() []byte {
	doc := b.finish()
	var out bytes.Buffer
	enc := gltf.NewEncoder(&out)
	enc.AsBinary = true
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("scenetest: encode GLB: %v", err))
	}
	return out.Bytes()
}

// GLTF returns the model as a .gltf file with its buffer embedded as a
// base64 data URI.
func (b *Builder) GLTF() []byte {
	doc := b.finish()
	doc.Buffers[0].EmbeddedResource()
	var out bytes.Buffer
	enc := gltf.NewEncoder(&out)
	enc.AsBinary = false
	if err := enc.Encode(doc); err != nil {
		panic(fmt.Sprintf("scenetest: encode glTF: %v", err))
	}
	return out.Bytes()
}

// Quad returns a w×h quad in the XY plane centred on the origin, facing
// +Z, with texture coordinates (0,0) top left to (1,1) bottom right.
func Quad(w, h float32) Prim {
	x, y := w/2, h/2
	return Prim{
		Pos:     []float32{-x, -y, 0, x, -y, 0, x, y, 0, -x, y, 0},
		Normal:  []float32{0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1},
		UV:      []float32{0, 1, 1, 1, 1, 0, 0, 0},
		Indices: []uint32{0, 1, 2, 0, 2, 3},
	}
}

// Sphere returns a UV sphere of radius r with slices×stacks quads
// (2·slices·stacks triangles, some degenerate at the poles).
func Sphere(r float32, slices, stacks int) Prim {
	var p Prim
	for j := 0; j <= stacks; j++ {
		phi := math.Pi * float64(j) / float64(stacks)
		for i := 0; i <= slices; i++ {
			th := 2 * math.Pi * float64(i) / float64(slices)
			n := [3]float32{float32(math.Sin(phi) * math.Cos(th)), float32(math.Cos(phi)), float32(-math.Sin(phi) * math.Sin(th))}
			p.Pos = append(p.Pos, n[0]*r, n[1]*r, n[2]*r)
			p.Normal = append(p.Normal, n[:]...)
			p.UV = append(p.UV, float32(i)/float32(slices), float32(j)/float32(stacks))
		}
	}
	row := uint32(slices + 1)
	for j := uint32(0); j < uint32(stacks); j++ {
		for i := uint32(0); i < uint32(slices); i++ {
			a := j*row + i
			p.Indices = append(p.Indices, a, a+row, a+row+1, a, a+row+1, a+1)
		}
	}
	return p
}

// Spheres returns a .glb of n sphere nodes on a square grid (1 m apart,
// radius 0.4 m), each with about tris triangles, coloured by position:
// a stand-in for a heavy assembly of n parts.
func Spheres(n, tris int) []byte {
	b := New()
	slices := max(int(math.Sqrt(float64(tris)/2)), 3)
	stacks := max(tris/(2*slices), 2)
	side := int(math.Ceil(math.Sqrt(float64(n))))
	var mats []int
	for i := range 4 {
		c := [4]float64{0.3 + 0.2*float64(i), 0.8 - 0.15*float64(i), 0.4 + 0.1*float64(i), 1}
		mats = append(mats, b.Material(&gltf.Material{PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &c, MetallicFactor: gltf.Float(0), RoughnessFactor: gltf.Float(0.6)}}))
	}
	meshes := make([]int, len(mats))
	for i, m := range mats {
		p := Sphere(0.4, slices, stacks)
		p.Material = gltf.Index(m)
		meshes[i] = b.Mesh(p)
	}
	for i := range n {
		x, z := float64(i%side), float64(i/side)
		b.Node(&gltf.Node{Mesh: gltf.Index(meshes[i%len(meshes)]), Translation: [3]float64{x, 0.4, z}}, true)
	}
	return b.GLB()
}
