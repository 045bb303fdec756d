package eval

import (
	"testing"
	"time"

	"github.com/holocast/holocast/pose/trace/corbillon"
)

// TestEmbeddedTraces runs the prediction checks that need no shared data:
// on the embedded Corbillon excerpts (real head motion, MIT licence), so
// that a plain clone checks its predictors too. Every predictor must beat
// not predicting by far, and the node's default must hold the mean error
// of constant velocity (measured on these excerpts: robust-cv 0.24/0.87/
// 1.65° against constant velocity 0.25/0.88/1.70° at 20/60/100 ms).
func TestEmbeddedTraces(t *testing.T) {
	var tr []Trace
	for _, n := range corbillon.Names() {
		s, err := corbillon.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		tr = append(tr, Trace{Name: n, Samples: s})
	}
	hs := []time.Duration{ms(20), ms(60), ms(100)}
	res := pooled(t, tr, []string{"none", "constant-velocity", "kalman", "robust-cv"}, hs)
	for i, h := range hs {
		none := res["none"][i].OrientationDeg.Mean
		for _, p := range []string{"constant-velocity", "kalman", "robust-cv"} {
			if got := res[p][i].OrientationDeg.Mean; got > 0.6*none {
				t.Errorf("%s at %v: mean error %.3f°, not under 60%% of no prediction's %.3f°", p, h, got, none)
			}
		}
		cv, rcv := res["constant-velocity"][i].OrientationDeg.Mean, res["robust-cv"][i].OrientationDeg.Mean
		if rcv > 1.02*cv {
			t.Errorf("robust-cv at %v: mean error %.3f° > constant velocity's %.3f° + 2%%", h, rcv, cv)
		}
	}
}
