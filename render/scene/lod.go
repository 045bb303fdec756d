package scene

import (
	"math"
	"slices"

	"github.com/go-gl/mathgl/mgl32"
)

// ChunkTriangles is the most triangles a chunk holds: large primitives are
// split into spatially compact chunks of about this size (in Morton
// order of their triangles' centroids) so that culling and level of
// detail work inside one big mesh too.
const ChunkTriangles = 8192

// maxLevels bounds the simplified levels of a chunk.
const maxLevels = 6

// chunk splits the parts into chunks, builds their levels of detail and
// writes Model.Indices and Model.Chunks, ordered by material (blended
// last).
func (l *loader) chunk(parts []part) {
	m := l.m
	rank := make([]int, len(m.Materials))
	for r, mi := range materialOrder(m.Materials) {
		rank[mi] = r
	}
	slices.SortStableFunc(parts, func(a, b part) int { return rank[a.material] - rank[b.material] })
	total := 0
	for _, p := range parts {
		total += len(p.tris)
	}
	m.Indices = make([]uint32, 0, total+total/2)
	// Full detail of every chunk first, in chunk order, so that the
	// chunks of one material drawn at full detail are one run of indices
	// (one draw call); the simplified levels follow.
	var runs [][]uint32
	for _, p := range parts {
		for _, tris := range split(m.Vertices, p.tris) {
			c := Chunk{Material: p.material, Bounds: EmptyBox()}
			for _, i := range tris {
				c.Bounds.Add(m.Vertices[i].Pos)
			}
			c.Levels = []Level{{Range: Range{First: len(m.Indices), Count: len(tris)}}}
			m.Indices = append(m.Indices, tris...)
			m.Chunks = append(m.Chunks, c)
			runs = append(runs, tris)
		}
	}
	for i, tris := range runs {
		l.levels(&m.Chunks[i], tris)
	}
}

// split cuts a triangle list into runs of at most ChunkTriangles,
// spatially compact when it is longer.
func split(vs []Vertex, tris []uint32) [][]uint32 {
	n := len(tris) / 3
	if n <= ChunkTriangles {
		return [][]uint32{tris}
	}
	box := EmptyBox()
	for _, i := range tris {
		box.Add(vs[i].Pos)
	}
	size := box.Size()
	type keyed struct {
		code uint64
		tri  int
	}
	ks := make([]keyed, n)
	for t := range n {
		c := mgl32.Vec3(vs[tris[3*t]].Pos).Add(vs[tris[3*t+1]].Pos).Add(vs[tris[3*t+2]].Pos).Mul(1.0 / 3)
		var q [3]uint64
		for a := range 3 {
			f := float32(0)
			if size[a] > 0 {
				f = (c[a] - box.Min[a]) / size[a]
			}
			q[a] = uint64(min(max(f, 0), 1) * 1023)
		}
		ks[t] = keyed{morton(q), t}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if a.code < b.code {
			return -1
		}
		if a.code > b.code {
			return 1
		}
		return a.tri - b.tri
	})
	var out [][]uint32
	for s := 0; s < n; s += ChunkTriangles {
		e := min(s+ChunkTriangles, n)
		run := make([]uint32, 0, 3*(e-s))
		for _, k := range ks[s:e] {
			run = append(run, tris[3*k.tri], tris[3*k.tri+1], tris[3*k.tri+2])
		}
		out = append(out, run)
	}
	return out
}

// morton interleaves three 10-bit coordinates.
func morton(q [3]uint64) uint64 {
	var c uint64
	for b := range 10 {
		for a := range 3 {
			c |= (q[a] >> b & 1) << (3*b + a)
		}
	}
	return c
}

// levels appends a chunk's simplified levels to the model. Levels come
// from vertex clustering on ever coarser grids: vertices in one grid cell
// merge into their mean, triangles that collapse disappear. A level's
// Error is half its cell size: how far a merged vertex typically moves
// (at most the cell's diagonal).
func (l *loader) levels(c *Chunk, tris []uint32) {
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
		out := l.cluster(tris, c.Bounds.Min, cell)
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

// cluster simplifies tris on a grid of the given cell size, appending the
// merged vertices to the model, and returns the surviving triangles.
func (l *loader) cluster(tris []uint32, origin mgl32.Vec3, cell float32) []uint32 {
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
