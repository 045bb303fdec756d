package eval

import (
	"flag"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/holocast/holocast/pose"
)

var loo = flag.Bool("loo", false, "run the leave-one-trace-out tuning report on the shared traces")

// TestLeaveOneTraceOut reproduces how robust-cv's constants were chosen:
// for each shared HoloLens trace, pick the configuration that does best
// on the other traces, each scored on its own (mean error at 60 and
// 100 ms relative to constant-velocity, penalised wherever a mean or p99
// at 20–100 ms is worse than constant-velocity), then score it on the
// held-out trace.
//
//	go test ./pose/eval -run LeaveOneTraceOut -v -args -loo
func TestLeaveOneTraceOut(t *testing.T) {
	if !*loo {
		t.Skip("run with -args -loo")
	}
	tr := loadShared(t, "gul-nossdav20/raw/User*.csv")
	hs := []time.Duration{ms(20), ms(40), ms(60), ms(80), ms(100)}
	type cand struct {
		name string
		p    Predictor
	}
	var cs []cand
	for _, dec := range []int{0, 300, 450, 700} {
		for _, cg := range []float64{0, 0.1, 0.2} {
			for _, st := range [][2]float64{{0, 0}, {100, 0}, {100, 0.5}} {
				cfg := pose.DefaultRobustConfig
				cfg.Decay, cfg.PosDecay, cfg.ClockGain = ms(dec), ms(dec), cg
				cfg.StraightWindow, cfg.StraightFloor = ms(int(st[0])), st[1]
				name := fmt.Sprintf("decay=%dms clock-gain=%.2f straight=%.0fms/%.1f", dec, cg, st[0], st[1])
				cs = append(cs, cand{name, Predictor{Name: name, New: func() pose.Predictor { return pose.NewRobustCV(name, cfg) }}})
			}
		}
	}
	cv := Predictor{Name: "constant-velocity", New: func() pose.Predictor { return pose.NewConstantVelocity() }}
	type score [5][2]float64 // [horizon][mean, p99]
	eval := func(traces []Trace, p Predictor) score {
		var s score
		for i, e := range Run(traces, []Predictor{p}, hs)[0] {
			st := Summarize(e.OrientationDeg)
			s[i] = [2]float64{st.Mean, st.P99}
		}
		return s
	}
	objective := func(s, b score) float64 {
		obj := (s[2][0]/b[2][0] + s[4][0]/b[4][0]) / 2
		for i := range s {
			for k := 0; k < 2; k++ {
				if r := s[i][k] / b[i][k]; r > 1 {
					obj += 5 * (r - 1)
				}
			}
		}
		return obj
	}
	for o := range tr {
		var train []Trace
		for j := range tr {
			if j != o {
				train = append(train, tr[j])
			}
		}
		// Score each training trace on its own, so that a configuration
		// that is worse than constant-velocity on any one of them pays.
		var base []score
		for j := range train {
			base = append(base, eval(train[j:j+1], cv))
		}
		best, bi := math.Inf(1), 0
		for ci, c := range cs {
			var v float64
			for j := range train {
				v += objective(eval(train[j:j+1], c.p), base[j])
			}
			if v < best {
				best, bi = v, ci
			}
		}
		held, hb := eval(tr[o:o+1], cs[bi].p), eval(tr[o:o+1], cv)
		t.Logf("held out %s: chose %s; mean vs constant-velocity at 20/60/100 ms: %.3f %.3f %.3f; p99: %.3f %.3f %.3f",
			tr[o].Name, cs[bi].name, held[0][0]/hb[0][0], held[2][0]/hb[2][0], held[4][0]/hb[4][0],
			held[0][1]/hb[0][1], held[2][1]/hb[2][1], held[4][1]/hb[4][1])
	}
}
