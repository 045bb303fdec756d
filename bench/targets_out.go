package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// writeVerdicts prints each run's targets, pass or fail, and with
// --repeat each level's spread.
func writeVerdicts(w io.Writer, rep *Report) {
	if len(rep.Runs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nnetwork targets (worst session; ramp from the headsets connecting):")
	for i, r := range rep.Runs {
		if r.Verdict == nil {
			continue
		}
		fmt.Fprintf(w, "  run %d (%d session(s)", i+1, r.Sessions)
		if rep.Config.Repeat > 1 {
			fmt.Fprintf(w, ", repeat %d", r.Repeat+1)
		}
		fmt.Fprintf(w, "): %s  %s\n", passText(r.Verdict.Pass), targetsText(r.Verdict.Targets))
	}
	if rep.Config.Repeat <= 1 {
		return
	}
	fmt.Fprintln(w, "\nspread over the repeats (min / median / max):")
	for _, g := range groupRuns(rep.Runs) {
		s := spreadOf(g)
		fmt.Fprintf(w, "  %d session(s), %d runs: fps %s  kbit/s %s  lost %s  freeze ms %s  pose→frame p50 %s  p95 %s  ramp s %s  targets met %d of %d\n",
			g[0].Sessions, len(g), s.fps, s.kbps, s.lost, s.freeze, s.p50, s.p95, s.ramp, s.passed, len(g))
	}
}

// passText is "PASS" or "FAIL".
func passText(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// targetsText lists targets as "name measured (limit) ok|FAIL".
func targetsText(ts []Target) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		mark := "ok"
		if !t.Pass {
			mark = "FAIL"
		}
		parts = append(parts, fmt.Sprintf("%s %s (%s) %s", t.Name, t.Measured, t.Limit, mark))
	}
	return strings.Join(parts, " | ")
}

// groupRuns splits runs into the consecutive runs of each concurrency
// level (a level's repeats).
func groupRuns(runs []*RunResult) [][]*RunResult {
	var out [][]*RunResult
	for i, r := range runs {
		if i == 0 || r.Repeat == 0 || r.Sessions != runs[i-1].Sessions {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}

// spread is a group of runs' figures as "min / median / max" texts.
type spread struct {
	fps, kbps, share, lost, freeze, p50, p95, ramp string
	passed                                         int
}

// spreadOf summarises runs.
func spreadOf(runs []*RunResult) spread {
	var fps, kb, share, lost, freeze, p50, p95, ramp []float64
	s := spread{}
	for _, r := range runs {
		fps = append(fps, r.FPS)
		kb = append(kb, r.BitrateKbps)
		if c := meanCapKbps(r); c > 0 {
			share = append(share, 100*r.BitrateKbps/c)
		}
		lost = append(lost, float64(r.FramesLost))
		freeze = append(freeze, r.FreezeMS)
		p50 = append(p50, r.PoseToFrameMS.P50)
		p95 = append(p95, scoredP95(r))
		if r.Verdict != nil {
			if r.Verdict.RampS != 0 {
				ramp = append(ramp, r.Verdict.RampS)
			}
			if r.Verdict.Pass {
				s.passed++
			}
		}
	}
	s.fps, s.kbps, s.share = mmm(fps, "%.1f"), mmm(kb, "%.0f"), mmm(share, "%.0f%%")
	s.lost, s.freeze, s.p50, s.p95 = mmm(lost, "%.0f"), mmm(freeze, "%.0f"), mmm(p50, "%.0f"), mmm(p95, "%.0f")
	reached := slices.DeleteFunc(ramp, func(x float64) bool { return x < 0 })
	never := len(ramp) - len(reached)
	switch {
	case never == 0:
		s.ramp = mmm(reached, "%.1f")
	case len(reached) == 0:
		s.ramp = "never"
	default:
		s.ramp = fmt.Sprintf("%s, %d never", mmm(reached, "%.1f"), never)
	}
	return s
}

// scoredP95 is the pose-to-frame p95 the p95 target is scored on: that
// of the frames outside the 2 s after a step down (all of them in a run
// without one, or in a report written before that figure).
func scoredP95(r *RunResult) float64 {
	if r.PoseToFrameSteadyMS.Count > 0 {
		return r.PoseToFrameSteadyMS.P95
	}
	return r.PoseToFrameMS.P95
}

// mmm is "min / median / max" of v in format f (one figure for one
// value, "–" for none).
func mmm(v []float64, f string) string {
	if len(v) == 0 {
		return "–"
	}
	if len(v) == 1 {
		return fmt.Sprintf(f, v[0])
	}
	s := slices.Clone(v)
	return fmt.Sprintf(f+" / "+f+" / "+f, slices.Min(s), median(s), slices.Max(s))
}

// meanCapKbps is the mean link cap over res's window (headset 0's
// series), in kbit/s; 0 without a cap.
func meanCapKbps(res *RunResult) float64 {
	if len(res.PerSession) == 0 {
		return 0
	}
	sum, n := 0.0, 0
	for _, p := range res.PerSession[0].Series {
		if p.TS >= res.WindowStartS && p.CapKbps > 0 {
			sum += p.CapKbps
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// WriteProofTable prints one markdown row per report (a proof run: one
// concurrency level, possibly repeated) with the figures of the network
// targets: fps, delivered kbit/s and its share of the cap, frames lost,
// freeze ms, pose→frame p50 / p95 (the p95 as scored: outside the 2 s
// after a step down), time to 60 % of the cap and whether
// the targets were met. Repeated runs print min / median / max and how
// many runs met every target.
func WriteProofTable(w io.Writer, reps []*Report) error {
	var b strings.Builder
	b.WriteString("| link | --bitrate | runs | fps | delivered kbit/s | share of the cap | frames lost | freeze ms | pose→frame p50 / p95 ms | ramp s | steps settled s | targets met |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, rep := range reps {
		link := "loopback"
		if rep.Config.Impair != nil {
			link = "`" + rep.Config.Impair.Spec + "`"
		}
		for _, g := range groupRuns(rep.Runs) {
			s := spreadOf(g)
			var steps []string
			var failed []string
			for _, r := range g {
				if r.Verdict == nil {
					continue
				}
				for _, st := range r.Verdict.Steps {
					steps = append(steps, fmt.Sprintf("%g→%g: %s", st.FromKbps/1000, st.ToKbps/1000, secondsText(st.SettledS)))
				}
				for _, t := range r.Verdict.Targets {
					if !t.Pass && !slices.Contains(failed, t.Name) {
						failed = append(failed, t.Name)
					}
				}
			}
			met := fmt.Sprintf("%d of %d", s.passed, len(g))
			if len(failed) > 0 {
				met += " (missed: " + strings.Join(failed, ", ") + ")"
			}
			sessions := ""
			if g[0].Sessions > 1 {
				sessions = fmt.Sprintf(", %d sessions", g[0].Sessions)
			}
			fmt.Fprintf(&b, "| %s%s | %d | %d | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s |\n",
				link, sessions, rep.Config.BitRate, len(g), s.fps, s.kbps, s.share, s.lost, s.freeze, s.p50, s.p95, s.ramp,
				orDash(strings.Join(steps, "; ")), met)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
