package scene

import (
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/qmuntal/gltf"

	"github.com/holocast/holocast/render/scene/scenetest"
)

// levelsMaps and clusterMaps are the first implementation of levels, with
// Go maps per level and per chunk, kept to compare the flat-slice
// simplifier with: same levels, same picture, less time and memory.
func (l *loader) levelsMaps(c *Chunk, tris []uint32) {
	m := l.m
	size := c.Bounds.Size()
	longest := max(size[0], size[1], size[2])
	if len(tris)/3 < 64 || longest <= 0 {
		return
	}
	uniq := map[uint32]struct{}{}
	for _, i := range tris {
		uniq[i] = struct{}{}
	}
	res := math.Sqrt(float64(len(uniq)))
	prev := len(tris)
	for len(c.Levels) <= maxLevels {
		res /= math.Sqrt2
		if res < 2 {
			break
		}
		cell := longest / float32(res)
		out := l.clusterMaps(tris, c.Bounds.Min, cell)
		if len(out) == 0 {
			break
		}
		if float64(len(out)) > 0.6*float64(prev) {
			continue
		}
		c.Levels = append(c.Levels, Level{Range: Range{First: len(m.Indices), Count: len(out)}, Error: cell / 2})
		m.Indices = append(m.Indices, out...)
		prev = len(out)
		if len(out)/3 < 32 {
			break
		}
	}
}

func (l *loader) clusterMaps(tris []uint32, origin mgl32.Vec3, cell float32) []uint32 {
	m := l.m
	type acc struct {
		idx      uint32
		pos, nrm mgl32.Vec3
		n        float32
	}
	cells := map[uint64]*acc{}
	var order []*acc
	vid := map[uint32]*acc{}
	key := func(p mgl32.Vec3) uint64 {
		var k uint64
		for a := range 3 {
			q := uint64(max((p[a]-origin[a])/cell, 0)) & 0x1FFFFF
			k = k<<21 | q
		}
		return k
	}
	for _, i := range tris {
		if _, ok := vid[i]; ok {
			continue
		}
		v := m.Vertices[i]
		k := key(v.Pos)
		a, ok := cells[k]
		if !ok {
			a = &acc{idx: i}
			cells[k] = a
			order = append(order, a)
		}
		a.pos = a.pos.Add(v.Pos)
		a.nrm = a.nrm.Add(v.Normal)
		a.n++
		vid[i] = a
	}
	newIdx := map[*acc]uint32{}
	for _, a := range order {
		v := m.Vertices[a.idx]
		v.Pos = a.pos.Mul(1 / a.n)
		if n := a.nrm.Len(); n > 1e-6 {
			v.Normal = a.nrm.Mul(1 / n)
		}
		newIdx[a] = uint32(len(m.Vertices))
		m.Vertices = append(m.Vertices, v)
	}
	var out []uint32
	for t := 0; t+2 < len(tris); t += 3 {
		a, b, c := newIdx[vid[tris[t]]], newIdx[vid[tris[t+1]]], newIdx[vid[tris[t+2]]]
		if a == b || b == c || a == c {
			continue
		}
		out = append(out, a, b, c)
	}
	return out
}

// fullDetail returns the model's chunks cut back to full detail, the
// vertices they use and the indices of each chunk.
func fullDetail(m *Model) (vs []Vertex, chunks []Chunk, runs [][]uint32) {
	n := 0
	for _, c := range m.Chunks {
		for _, i := range m.Indices[c.Levels[0].First : c.Levels[0].First+c.Levels[0].Count] {
			n = max(n, int(i)+1)
		}
	}
	for _, c := range m.Chunks {
		l0 := c.Levels[0]
		c.Levels = []Level{l0}
		chunks = append(chunks, c)
		runs = append(runs, m.Indices[l0.First:l0.First+l0.Count])
	}
	return m.Vertices[:n:n], chunks, runs
}

// buildLevels builds every chunk's levels from full detail, with the
// flat simplifier or with maps.
func buildLevels(vs []Vertex, chunks []Chunk, runs [][]uint32, maps bool) *Model {
	l := &loader{m: &Model{Vertices: vs}}
	l.m.Chunks = append([]Chunk(nil), chunks...)
	l.simp.reset(len(vs))
	for i, tris := range runs {
		c := &l.m.Chunks[i]
		c.Levels = append([]Level(nil), c.Levels...)
		if maps {
			l.levelsMaps(c, tris)
		} else {
			l.levels(c, tris)
		}
	}
	return l.m
}

func loadSpheres(t testing.TB, parts, perPart int) *Model {
	t.Helper()
	m, err := Decode(scenetest.Spheres(parts, perPart), nil, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLevelsSameAsMaps: the flat simplifier builds the levels the map
// version built: same counts and errors, and every triangle of every
// level has the same corners (positions and normals).
func TestLevelsSameAsMaps(t *testing.T) {
	vs, chunks, runs := fullDetail(loadSpheres(t, 16, 3000))
	flat := buildLevels(vs, chunks, runs, false)
	maps := buildLevels(vs, chunks, runs, true)
	levels := 0
	for i := range chunks {
		a, b := flat.Chunks[i].Levels, maps.Chunks[i].Levels
		if len(a) != len(b) {
			t.Fatalf("chunk %d: %d levels, maps %d", i, len(a), len(b))
		}
		for j := 1; j < len(a); j++ {
			levels++
			if a[j].Count != b[j].Count || a[j].Error != b[j].Error {
				t.Fatalf("chunk %d level %d: %+v, maps %+v", i, j, a[j], b[j])
			}
			for k := range a[j].Count {
				va := flat.Vertices[flat.Indices[a[j].First+k]]
				vb := maps.Vertices[maps.Indices[b[j].First+k]]
				if va.Pos != vb.Pos || va.Normal != vb.Normal {
					t.Fatalf("chunk %d level %d index %d: %v, maps %v", i, j, k, va, vb)
				}
			}
		}
	}
	if levels == 0 {
		t.Fatal("no simplified levels built")
	}
	if len(flat.Vertices) > len(maps.Vertices) {
		t.Errorf("flat simplifier kept %d vertices, maps %d", len(flat.Vertices), len(maps.Vertices))
	}
}

// BenchmarkLevels builds the levels of detail of the generated 100k and
// 1M triangle models with the map version (before) and the flat
// simplifier (after), in one run: time and bytes allocated per build.
func BenchmarkLevels(b *testing.B) {
	for _, bm := range []struct {
		name           string
		parts, perPart int
	}{{"100k", 64, 1600}, {"1M", 256, 4000}} {
		vs, chunks, runs := fullDetail(loadSpheres(b, bm.parts, bm.perPart))
		for _, impl := range []struct {
			name string
			maps bool
		}{{"maps", true}, {"flat", false}} {
			b.Run(bm.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					buildLevels(vs, chunks, runs, impl.maps)
				}
			})
		}
	}
}

// TestLevelExtent: every level knows its longest edge and the largest
// turn of the normals along an edge; coarser levels have longer edges
// and turn more, and a level's edge is at least its error.
func TestLevelExtent(t *testing.T) {
	m := loadSpheres(t, 4, 3000)
	for ci, c := range m.Chunks {
		if len(c.Levels) < 3 {
			t.Fatalf("chunk %d has %d levels", ci, len(c.Levels))
		}
		for k, l := range c.Levels {
			if l.Edge <= 0 || l.Bend <= 0 || l.Bend > math.Pi {
				t.Errorf("chunk %d level %d: edge %g, bend %g", ci, k, l.Edge, l.Bend)
			}
			if l.Edge < l.Error {
				t.Errorf("chunk %d level %d: edge %g below error %g", ci, k, l.Edge, l.Error)
			}
			if k > 0 && (l.Edge <= c.Levels[k-1].Edge || l.Bend <= c.Levels[k-1].Bend) {
				t.Errorf("chunk %d level %d: edge %g, bend %g; the finer level's %g, %g", ci, k, l.Edge, l.Bend, c.Levels[k-1].Edge, c.Levels[k-1].Bend)
			}
		}
	}
	// A flat quad does not bend.
	q := scenetest.New()
	q.Node(&gltf.Node{Mesh: gltf.Index(q.Mesh(scenetest.Quad(1, 2)))}, true)
	qm, err := Decode(q.GLB(), nil, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	l := qm.Chunks[0].Levels[0]
	if l.Bend > 1e-3 || math.Abs(float64(l.Edge)-math.Sqrt(5)) > 1e-4 {
		t.Errorf("quad 1×2: edge %g (want √5), bend %g (want 0)", l.Edge, l.Bend)
	}
}
