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
	l.simp.reset(len(m.Vertices))
	// The levels add about half the vertices again (each level about
	// half of the one before): grow once instead of doubling on append.
	m.Vertices = slices.Grow(m.Vertices, len(m.Vertices)*3/4)
	for i, tris := range runs {
		l.levels(&m.Chunks[i], tris)
	}
	l.simp = simplifier{}
	for i := range m.Chunks {
		for k := range m.Chunks[i].Levels {
			lv := &m.Chunks[i].Levels[k]
			lv.Edge, lv.Bend = extent(m.Vertices, m.Indices[lv.First:lv.First+lv.Count])
		}
	}
}

// extent returns the longest edge of the triangles tris and the largest
// angle between the normals at the ends of an edge (π where a normal is
// zero).
func extent(vs []Vertex, tris []uint32) (edge, bend float32) {
	var e2 float32
	cos := float32(1)
	for t := 0; t+2 < len(tris); t += 3 {
		for k := range 3 {
			a, b := &vs[tris[t+k]], &vs[tris[t+(k+1)%3]]
			e2 = max(e2, mgl32.Vec3(a.Pos).Sub(mgl32.Vec3(b.Pos)).LenSqr())
			na, nb := mgl32.Vec3(a.Normal), mgl32.Vec3(b.Normal)
			l := na.Len() * nb.Len()
			if l <= 0 {
				cos = -1
				continue
			}
			cos = min(cos, na.Dot(nb)/l)
		}
	}
	return float32(math.Sqrt(float64(e2))), float32(math.Acos(float64(max(cos, -1))))
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
// (at most the cell's diagonal). tris may only name vertices below
// len(l.simp.stamp) (the model's vertices before any level was built).
func (l *loader) levels(c *Chunk, tris []uint32) {
	m := l.m
	size := c.Bounds.Size()
	longest := max(size[0], size[1], size[2])
	if len(tris)/3 < 64 || longest <= 0 {
		return
	}
	s := &l.simp
	s.prepare(tris)
	res := math.Sqrt(float64(len(s.verts)))
	prev := len(tris)
	for len(c.Levels) <= maxLevels {
		res /= math.Sqrt2
		if res < 2 {
			break
		}
		cell := longest / float32(res)
		out := s.cluster(m.Vertices, c.Bounds.Min, cell)
		if len(out) == 0 {
			break
		}
		if float64(len(out)) > 0.6*float64(prev) {
			continue
		}
		base := uint32(len(m.Vertices))
		m.Vertices = s.appendVertices(m.Vertices)
		first := len(m.Indices)
		for _, i := range out {
			m.Indices = append(m.Indices, base+i)
		}
		c.Levels = append(c.Levels, Level{Range: Range{First: first, Count: len(out)}, Error: cell / 2})
		prev = len(out)
		if len(out)/3 < 32 {
			break
		}
	}
}

// simplifier clusters the vertices of one chunk at a time. Its buffers
// are flat slices indexed by vertex, reused from level to level and from
// chunk to chunk, so that building the levels of a model allocates
// little beyond the levels themselves.
type simplifier struct {
	// Per model vertex (the model's vertices before levels were added):
	// stamp is the chunk generation that last met it, local its index
	// in that chunk.
	stamp, local []uint32
	gen          uint32

	verts []uint32 // local vertex → model vertex, in order of first use
	tri   []uint32 // the chunk's triangles as local vertices

	// Per level.
	keys  []uint64 // local vertex → grid cell
	order []uint32 // local vertices sorted by cell
	group []uint32 // local vertex → output vertex
	rep   []uint32 // output vertex → first model vertex in its cell
	pos   []mgl32.Vec3
	nrm   []mgl32.Vec3
	n     []float32
	out   []uint32 // surviving triangles, output vertex indices
}

// reset sizes the per-vertex tables for a model of n vertices.
func (s *simplifier) reset(n int) {
	if cap(s.stamp) < n {
		s.stamp, s.local = make([]uint32, n), make([]uint32, n)
		s.gen = 0
	}
	s.stamp, s.local = s.stamp[:n], s.local[:n]
}

// prepare makes tris the current chunk.
func (s *simplifier) prepare(tris []uint32) {
	s.gen++
	if s.gen == 0 { // wrapped: forget every stamp
		clear(s.stamp)
		s.gen = 1
	}
	s.verts, s.tri = s.verts[:0], s.tri[:0]
	for _, i := range tris {
		if s.stamp[i] != s.gen {
			s.stamp[i] = s.gen
			s.local[i] = uint32(len(s.verts))
			s.verts = append(s.verts, i)
		}
		s.tri = append(s.tri, s.local[i])
	}
}

// cluster merges the current chunk's vertices on a grid of the given cell
// size and returns the surviving triangles as indices of the merged
// vertices (valid until the next call); appendVertices appends those.
func (s *simplifier) cluster(vs []Vertex, origin mgl32.Vec3, cell float32) []uint32 {
	n := len(s.verts)
	s.keys = slices.Grow(s.keys[:0], n)[:n]
	s.order = slices.Grow(s.order[:0], n)[:n]
	s.group = slices.Grow(s.group[:0], n)[:n]
	for j, v := range s.verts {
		p := vs[v].Pos
		var k uint64
		for a := range 3 {
			q := uint64(max((p[a]-origin[a])/cell, 0)) & 0x1FFFFF
			k = k<<21 | q
		}
		s.keys[j] = k
		s.order[j] = uint32(j)
	}
	slices.SortFunc(s.order, func(a, b uint32) int {
		if s.keys[a] < s.keys[b] {
			return -1
		}
		if s.keys[a] > s.keys[b] {
			return 1
		}
		return int(a) - int(b)
	})
	// Output vertices are numbered in order of their first local vertex,
	// and sums are taken in local order.
	for k, j := range s.order {
		if k > 0 && s.keys[j] == s.keys[s.order[k-1]] {
			s.group[j] = s.group[s.order[k-1]]
		} else {
			s.group[j] = j | 1<<31 // the cell's first local vertex, not yet numbered
		}
	}
	s.rep, s.pos, s.nrm, s.n = s.rep[:0], s.pos[:0], s.nrm[:0], s.n[:0]
	for j := range n {
		g := s.group[j]
		if g&(1<<31) != 0 {
			// First member of its cell in local order is the cell's
			// head: number it now and point its members at the number.
			head := g &^ (1 << 31)
			if uint32(j) == head {
				s.group[j] = uint32(len(s.rep))
				s.rep = append(s.rep, s.verts[j])
				s.pos = append(s.pos, mgl32.Vec3{})
				s.nrm = append(s.nrm, mgl32.Vec3{})
				s.n = append(s.n, 0)
			} else {
				s.group[j] = s.group[head]
			}
		}
		o := s.group[j]
		v := &vs[s.verts[j]]
		s.pos[o] = s.pos[o].Add(v.Pos)
		s.nrm[o] = s.nrm[o].Add(v.Normal)
		s.n[o]++
	}
	s.out = s.out[:0]
	for t := 0; t+2 < len(s.tri); t += 3 {
		a, b, c := s.group[s.tri[t]], s.group[s.tri[t+1]], s.group[s.tri[t+2]]
		if a == b || b == c || a == c {
			continue
		}
		s.out = append(s.out, a, b, c)
	}
	return s.out
}

// appendVertices appends the merged vertices of the last cluster call.
func (s *simplifier) appendVertices(vs []Vertex) []Vertex {
	vs = slices.Grow(vs, len(s.rep))
	for o, r := range s.rep {
		v := vs[r]
		v.Pos = s.pos[o].Mul(1 / s.n[o])
		if n := s.nrm[o].Len(); n > 1e-6 {
			v.Normal = s.nrm[o].Mul(1 / n)
		}
		vs = append(vs, v)
	}
	return vs
}
