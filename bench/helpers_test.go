package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTrace writes a 20 s neutral-CSV trace turning at 60°/s about Y and
// back (a triangle wave of ±60°), 60 Hz, with a slow walk.
func writeTrace(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t_ms,qx,qy,qz,qw,px,py,pz\n")
	for i := 0; i < 20*60; i++ {
		ts := float64(i) / 60
		ph := math.Mod(ts, 4)
		deg := 60 * ph
		if ph > 2 {
			deg = 60 * (4 - ph)
		}
		deg -= 60
		h := deg * math.Pi / 360
		fmt.Fprintf(&b, "%.3f,0,%g,0,%g,%g,1.6,0\n", ts*1000, math.Sin(h), math.Cos(h), 0.2*ts)
	}
	p := filepath.Join(t.TempDir(), "turn.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
