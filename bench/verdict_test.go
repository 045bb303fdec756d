package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// synthSeries makes a session's series every 250 ms from 0 to end s, the
// point at t being f(t) with TS set.
func synthSeries(end float64, f func(t float64) SeriesPoint) []SeriesPoint {
	var out []SeriesPoint
	for t := 0.25; t <= end+1e-9; t += 0.25 {
		p := f(t)
		p.TS = t
		out = append(out, p)
	}
	return out
}

// capped is a run over a link capped at capKbps (steps at the given
// times to the given rates), with a window from 2 s to end.
func capped(capKbps float64, end float64, f func(t float64) SeriesPoint, steps ...RateStep) (*Config, *RunResult) {
	cfg := &Config{BitRate: 4_000_000, Impair: &Impairment{RateBps: int64(capKbps * 1000), RateSteps: steps, Delay: 25 * time.Millisecond}}
	res := &RunResult{FPSTarget: 30, FPSMin: 29, WindowS: end - 2, ConnectedS: 0.5, WindowStartS: 2,
		PoseToFrameMS: Dist{Count: 100, P50: 60, P95: 150}, PoseToFrameSteadyMS: Dist{Count: 90, P50: 60, P95: 150}}
	res.PerSession = []Session{{Series: synthSeries(end, f)}}
	return cfg, res
}

func targetsOf(v *Verdict) map[string]Target {
	m := map[string]Target{}
	for _, t := range v.Targets {
		m[t.Name] = t
	}
	return m
}

// TestVerdict scores synthetic runs against the network targets: each
// case breaks one target (or none) and checks that exactly that one
// fails.
func TestVerdict(t *testing.T) {
	good := func(capKbps float64) func(t float64) SeriesPoint {
		return func(t float64) SeriesPoint {
			d := min(t/2, 1) * 0.9 * capKbps // reaches 60 % at 1.33 s
			return SeriesPoint{DeliveredKbps: d, OfferedKbps: d * 1.05, CapKbps: capKbps, FPS: 30}
		}
	}
	step := func(at float64, from, to float64, settle float64) func(t float64) SeriesPoint {
		return func(t float64) SeriesPoint {
			c := from
			if t >= at {
				c = to
			}
			p := good(c)(t)
			if t >= at && t < at+settle {
				p.FPS, p.FrozenMS = 5, 300
				p.DeliveredKbps = 0.2 * to
				if to < from && t < at+1 {
					p.LossPct = 10 // the queue overflows at the step
				}
			}
			return p
		}
	}
	for _, c := range []struct {
		name   string
		run    func() (*Config, *RunResult)
		failed []string // the targets that must fail; the others pass
	}{
		{"all met", func() (*Config, *RunResult) { return capped(1000, 20, good(1000)) }, nil},
		{"slow ramp", func() (*Config, *RunResult) {
			return capped(1000, 20, func(t float64) SeriesPoint {
				p := good(1000)(t)
				p.DeliveredKbps = min(t/8, 1) * 900 // 60 % at 5.3 s
				return p
			})
		}, []string{"ramp"}},
		{"over the cap and lossy", func() (*Config, *RunResult) {
			return capped(1000, 20, func(t float64) SeriesPoint {
				p := good(1000)(t)
				p.OfferedKbps, p.LossPct = 1300, 5
				return p
			})
		}, []string{"under_cap", "loss"}},
		{"slow, frozen and late", func() (*Config, *RunResult) {
			cfg, res := capped(1000, 20, good(1000))
			res.FPSMin, res.PoseToFrameSteadyMS.P95 = 12, 260 // budget 200 + 2 × 25 ms
			res.PerSession[0].FreezeMS = 600                  // 2 s per minute of an 18 s window
			return cfg, res
		}, []string{"fps", "freeze", "p95"}},
		{"step down settles in 1.5 s", func() (*Config, *RunResult) {
			return capped(4000, 20, step(8, 4000, 1000, 1.5), RateStep{At: 8 * time.Second, Bps: 1_000_000})
		}, nil},
		{"step down settles in 3 s", func() (*Config, *RunResult) {
			return capped(4000, 20, step(8, 4000, 1000, 3), RateStep{At: 8 * time.Second, Bps: 1_000_000})
		}, []string{"step@8s"}},
		// Late frames while the stream settles (the queue of the step
		// drains) count against the step's 2 s, not the p95 target.
		{"step down: late for 1.5 s", func() (*Config, *RunResult) {
			cfg, res := capped(4000, 20, lateAfterStep(good(4000), 8, 1000, 1.5), RateStep{At: 8 * time.Second, Bps: 1_000_000})
			res.PoseToFrameMS.P95 = 400
			return cfg, res
		}, nil},
		{"step down: late for 3 s", func() (*Config, *RunResult) {
			return capped(4000, 20, lateAfterStep(good(4000), 8, 1000, 3), RateStep{At: 8 * time.Second, Bps: 1_000_000})
		}, []string{"step@8s"}},
		{"step down never settles", func() (*Config, *RunResult) {
			return capped(4000, 12, step(8, 4000, 1000, 10), RateStep{At: 8 * time.Second, Bps: 1_000_000})
		}, []string{"fps", "step@8s"}},
		{"step up in 4 s", func() (*Config, *RunResult) {
			return capped(1000, 20, step(8, 1000, 4000, 4), RateStep{At: 8 * time.Second, Bps: 4_000_000})
		}, nil},
		{"step up in 6 s", func() (*Config, *RunResult) {
			return capped(1000, 20, step(8, 1000, 4000, 6), RateStep{At: 8 * time.Second, Bps: 4_000_000})
		}, []string{"step@8s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, res := c.run()
			if c.name == "step down never settles" {
				res.FPSMin = 5
			}
			v := verdict(cfg, res)
			got := targetsOf(v)
			for _, name := range []string{"fps", "ramp", "under_cap", "loss", "freeze", "p95"} {
				if _, ok := got[name]; !ok {
					t.Errorf("no %s target: %+v", name, v.Targets)
				}
			}
			var failed []string
			for _, tg := range v.Targets {
				if !tg.Pass {
					failed = append(failed, tg.Name)
				}
			}
			if strings.Join(failed, ",") != strings.Join(c.failed, ",") {
				t.Errorf("failed %v, want %v: %s", failed, c.failed, targetsText(v.Targets))
			}
			if v.Pass != (len(c.failed) == 0) {
				t.Errorf("pass %v with %v failed", v.Pass, failed)
			}
		})
	}
}

// lateAfterStep is f with a link stepping to toKbps at `at` whose
// frames' pose-to-frame p95 is 400 ms (over the 250 ms budget) for
// `late` s after it.
func lateAfterStep(f func(t float64) SeriesPoint, at, toKbps, late float64) func(t float64) SeriesPoint {
	return func(t float64) SeriesPoint {
		p := f(t)
		p.PoseToFrameP95MS = 80
		if t >= at {
			p.CapKbps, p.DeliveredKbps, p.OfferedKbps = toKbps, 0.9*toKbps, 0.95*toKbps
			if t < at+late {
				p.PoseToFrameP95MS = 400
			}
		}
		return p
	}
}

// TestSettleSpans: only steps down get the 2 s to settle.
func TestSettleSpans(t *testing.T) {
	imp := &Impairment{RateBps: 4_000_000, RateSteps: []RateStep{
		{At: 8 * time.Second, Bps: 1_000_000}, {At: 16 * time.Second, Bps: 4_000_000}, {At: 20 * time.Second, Bps: 2_000_000}}}
	got := settleSpans(imp)
	want := []span{{8 * time.Second, 10 * time.Second}, {20 * time.Second, 22 * time.Second}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("settleSpans = %v, want %v", got, want)
	}
	if s := settleSpans(&Impairment{RateBps: 1_000_000}); s != nil {
		t.Errorf("no steps: %v", s)
	}
	if s := settleSpans(nil); s != nil {
		t.Errorf("no impairment: %v", s)
	}
	start := time.Now()
	a := newRunAcc(&Config{Impair: imp}, start, start, time.Second/30)
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{7 * time.Second, false}, {8 * time.Second, true}, {9900 * time.Millisecond, true}, {10 * time.Second, false}, {17 * time.Second, false}, {21 * time.Second, true}} {
		if got := a.settling(start.Add(c.at)); got != c.want {
			t.Errorf("settling at %v = %v, want %v", c.at, got, c.want)
		}
	}
}

// TestVerdictUncapped: without a rate cap the ramp is to 60 % of
// --bitrate and the cap's targets do not apply.
func TestVerdictUncapped(t *testing.T) {
	cfg := &Config{BitRate: 4_000_000}
	res := &RunResult{FPSTarget: 30, FPSMin: 30, WindowS: 8, ConnectedS: 0.2, WindowStartS: 2, PoseToFrameMS: Dist{Count: 10, P95: 50}, PoseToFrameSteadyMS: Dist{Count: 10, P95: 50}}
	res.PerSession = []Session{{Series: synthSeries(10, func(t float64) SeriesPoint {
		return SeriesPoint{DeliveredKbps: 500 * t, FPS: 30} // 2400 kbit/s at 5 s, 4.8 s after connecting
	})}}
	v := verdict(cfg, res)
	got := targetsOf(v)
	if _, ok := got["under_cap"]; ok {
		t.Errorf("under_cap without a cap: %+v", v.Targets)
	}
	if r := got["ramp"]; r.Pass || v.RampS != 4.8 || !strings.Contains(r.Limit, "--bitrate") {
		t.Errorf("ramp %+v (%.2f s)", r, v.RampS)
	}
}

// TestProofTable: repeated runs print min / median / max and how many
// met the targets; the share of the cap is of the window's mean cap.
func TestProofTable(t *testing.T) {
	mk := func(fps float64, pass bool) *RunResult {
		r := &RunResult{Sessions: 1, FPS: fps, BitrateKbps: 10 * fps, WindowStartS: 1,
			PoseToFrameMS: Dist{P50: 40, P95: 90}, Verdict: &Verdict{Pass: pass, RampS: 1.5}}
		if !pass {
			r.Verdict.Targets = []Target{{Name: "fps", Pass: false}}
		}
		r.PerSession = []Session{{Series: []SeriesPoint{{TS: 2, CapKbps: 800}}}}
		return r
	}
	rep := &Report{Config: ConfigSummary{BitRate: 3_000_000, Impair: &Impairment{Spec: "rate=800kbit"}, Repeat: 3}}
	for i, r := range []*RunResult{mk(20, true), mk(28, true), mk(10, false)} {
		r.Repeat = i
		rep.Runs = append(rep.Runs, r)
	}
	var b bytes.Buffer
	if err := WriteProofTable(&b, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| `rate=800kbit` | 3000000 | 3 | 10.0 / 20.0 / 28.0 | 100 / 200 / 280 | 12% / 25% / 35% |", "2 of 3 (missed: fps)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
