package eval

import (
	"flag"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/holocast/holocast/pose"
)

var loo = flag.Bool("loo", false, "run the leave-one-trace-out tuning report on the shared traces")

// looScore is the orientation error of one predictor on one trace:
// [horizon 20, 40, 60, 80, 100 ms][mean, p99].
type looScore [5][2]float64

// looObjective is what a configuration is chosen by on a training trace:
// the mean error at 60 and 100 ms relative to constant-velocity,
// penalised wherever a mean or p99 at 20–100 ms is worse than
// constant-velocity.
func looObjective(s, b looScore) float64 {
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

// TestLeaveOneTraceOut reproduces how robust-cv's constants were chosen:
// for each shared HoloLens trace, pick the configuration that does best
// (looObjective) on the other traces, each scored on its own, then score
// it on the held-out trace. The previous default is scored too, for
// comparison.
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
		cfg  pose.RobustConfig
	}
	var cs []cand
	for _, tilt := range []int{0, 40, 60, 80, 120} {
		for _, dg := range []float64{0, 0.25, 0.5} {
			for _, sw := range []int{70, 100} {
				for _, sf := range []float64{0.5, 0.7, 1} {
					for _, mem := range []float64{0, 300, 1000} {
						for _, acc := range []bool{false, true} {
							if acc && mem == 0 {
								continue
							}
							cfg := pose.DefaultRobustConfig
							cfg.TiltDecay, cfg.DecelGain, cfg.AdaptMemory, cfg.AdaptAccel = ms(tilt), dg, mem, acc
							cfg.StraightWindow, cfg.StraightFloor = ms(sw), sf
							cs = append(cs, cand{fmt.Sprintf("tilt=%dms decel=%.2f straight=%dms/%.1f adapt=%.0f accel=%v", tilt, dg, sw, sf, mem, acc), cfg})
						}
					}
				}
			}
		}
	}
	prev := pose.RobustConfig{ClockGain: 0.2, Decay: ms(700), StraightWindow: ms(100), StraightFloor: 0.5,
		PosWindow: ms(50), PosDecay: ms(700), UseClientVelocity: true}
	cs = append(cs, cand{"previous default", prev})

	eval := func(x Trace, p Predictor) looScore {
		var s looScore
		for i, e := range Run([]Trace{x}, []Predictor{p}, hs)[0] {
			st := Summarize(e.OrientationDeg)
			s[i] = [2]float64{st.Mean, st.P99}
		}
		return s
	}
	cv := Predictor{Name: "constant-velocity", New: func() pose.Predictor { return pose.NewConstantVelocity() }}
	base := make([]looScore, len(tr))
	sc := make([][]looScore, len(cs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); sem <- struct{}{}; f(); <-sem }()
	}
	for j := range tr {
		run(func() { base[j] = eval(tr[j], cv) })
	}
	for ci := range cs {
		sc[ci] = make([]looScore, len(tr))
		for j := range tr {
			c := cs[ci]
			run(func() {
				sc[ci][j] = eval(tr[j], Predictor{Name: c.name, New: func() pose.Predictor { return pose.NewRobustCV(c.name, c.cfg) }})
			})
		}
	}
	wg.Wait()
	ratios := func(s, b looScore) string {
		return fmt.Sprintf("mean vs constant-velocity at 20/60/100 ms: %.3f %.3f %.3f; p99: %.3f %.3f %.3f; worst p99 at 20–100 ms: %.3f",
			s[0][0]/b[0][0], s[2][0]/b[2][0], s[4][0]/b[4][0], s[0][1]/b[0][1], s[2][1]/b[2][1], s[4][1]/b[4][1],
			max(s[0][1]/b[0][1], s[1][1]/b[1][1], s[2][1]/b[2][1], s[3][1]/b[3][1], s[4][1]/b[4][1]))
	}
	for o := range tr {
		best, bi := math.Inf(1), 0
		for ci := range cs[:len(cs)-1] {
			var v float64
			for j := range tr {
				if j != o {
					v += looObjective(sc[ci][j], base[j])
				}
			}
			if v < best {
				best, bi = v, ci
			}
		}
		t.Logf("held out %s: chose %s; %s", tr[o].Name, cs[bi].name, ratios(sc[bi][o], base[o]))
		t.Logf("  previous default on %s: %s", tr[o].Name, ratios(sc[len(cs)-1][o], base[o]))
	}
}
