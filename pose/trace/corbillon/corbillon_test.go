package corbillon_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/pose/trace/corbillon"
)

func TestEmbedded(t *testing.T) {
	names := corbillon.Names()
	if len(names) != 2 {
		t.Fatalf("Names() = %v, want 2 traces", names)
	}
	for _, n := range names {
		s, err := corbillon.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		span := s[len(s)-1].T - s[0].T
		if len(s) < 3000 || span < 59*time.Second || span > 61*time.Second {
			t.Errorf("%s: %d samples over %v, want about 3500 over 60 s", n, len(s), span)
		}
		for i, x := range s {
			if l := x.Orientation.Len(); l < 0.99 || l > 1.01 {
				t.Fatalf("%s sample %d: |q| = %v", n, i, l)
			}
		}
		// Real head motion: the viewer turns by tens of degrees in a minute.
		var maxDeg float64
		for _, x := range s {
			maxDeg = max(maxDeg, pose.QuatAngle(x.Orientation, s[0].Orientation)*180/math.Pi)
		}
		if maxDeg < 20 {
			t.Errorf("%s: head turned at most %.1f° from the start", n, maxDeg)
		}
	}
	if _, err := corbillon.Open("user1"); err == nil {
		t.Error("Open without the prefix: want an error")
	}
	if _, err := corbillon.Open(corbillon.Prefix + "nope"); err == nil {
		t.Error("Open of an unknown trace: want an error")
	}
	if !strings.Contains(corbillon.Licence(), "MIT License") || !strings.Contains(corbillon.Licence(), "Corbillon") {
		t.Error("licence text missing")
	}
}
