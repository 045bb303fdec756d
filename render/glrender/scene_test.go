package glrender

import "testing"

func TestDefaultScene(t *testing.T) {
	s := DefaultScene()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := s.Triangles(); n < 500 || n > 10000 {
		t.Errorf("default scene has %d triangles", n)
	}
	covered := 0
	for _, d := range s.Draws {
		if d.First != covered {
			t.Errorf("draw %+v leaves a gap at %d", d, covered)
		}
		covered = d.First + d.Count
	}
	if covered != len(s.Indices) {
		t.Errorf("draws cover %d of %d indices", covered, len(s.Indices))
	}
	for i, v := range s.Vertices {
		n := v.Normal
		if l := n[0]*n[0] + n[1]*n[1] + n[2]*n[2]; l < 0.98 || l > 1.02 {
			t.Fatalf("vertex %d normal %v not unit", i, n)
		}
		if v.Pos[1] < FloorY-1e-4 {
			t.Fatalf("vertex %d below the floor: %v", i, v.Pos)
		}
	}
	// The same scene every time (nodes must render identical pictures).
	if s2 := DefaultScene(); len(s2.Vertices) != len(s.Vertices) || s2.Vertices[len(s.Vertices)-10] != s.Vertices[len(s.Vertices)-10] {
		t.Error("DefaultScene is not deterministic")
	}
	bad := &Scene{Vertices: s.Vertices[:3], Indices: []uint32{0, 1, 3}}
	if bad.Validate() == nil {
		t.Error("out-of-range index: want error")
	}
	bad = &Scene{Vertices: s.Vertices[:3], Indices: []uint32{0, 1, 2}, Draws: []Draw{{First: 0, Count: 6}}}
	if bad.Validate() == nil {
		t.Error("out-of-range draw: want error")
	}
}
