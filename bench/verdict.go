package bench

import (
	"fmt"
	"math"
	"time"
)

// The network targets a run is scored against (Verdict): a stream over a
// narrow, lossy or changing link keeps flowing, fills the link soon and
// never overfills it.
const (
	// minFPSShare: at least 2/3 of the node's frame rate arrives (20 fps
	// at 30).
	minFPSShare = 2.0 / 3
	// rampShare of the reachable rate (the cap, at most --bitrate) must
	// be delivered within rampTime of the headsets connecting.
	rampShare = 0.6
	rampTime  = 3 * time.Second
	// maxLossPct is the most of the packets reaching the bottleneck that
	// may be dropped there in the steady state.
	maxLossPct = 2.0
	// maxFreezePerMinute is the most freezing per minute of window, ms.
	maxFreezePerMinute = 1000.0
	// p95Budget is the pose-to-frame p95 allowed, plus twice the
	// one-way delay, in ms.
	p95Budget = 200.0
	// settleDown: after a step down the stream is back to these figures
	// within it; rampUp: after a step up it delivers rampShare of the new
	// reachable rate within it.
	settleDown = 2 * time.Second
	rampUp     = 5 * time.Second
	// steadyAfter is when, after the headsets connected, the steady
	// state begins (the ramp's time).
	steadyAfter = rampTime
)

// Verdict scores a run against the network targets. Each target applies
// to every session of the run: the figure given is the worst session's.
type Verdict struct {
	// Pass ("pass") is set when every target that applies was met.
	Pass bool `json:"pass"`
	// Targets ("targets") are the targets that apply, in a fixed order:
	// fps, ramp, under_cap, loss, freeze, p95 (ramp without a rate cap
	// is to 60 % of --bitrate; under_cap and loss need a rate cap).
	Targets []Target `json:"targets"`
	// RampS ("ramp_s") is the time from the headsets connecting to
	// delivering 60 % of the reachable rate (the slowest session's), in
	// seconds; -1 never, 0 when it does not apply.
	RampS float64 `json:"ramp_s"`
	// Steps ("steps") score each rate@ step of the link within the run.
	Steps []StepVerdict `json:"steps"`
}

// Target is one target's outcome.
type Target struct {
	// Name ("name") is fps, ramp, under_cap, loss, freeze, p95 or
	// step@S (a rate step S seconds into the run).
	Name string `json:"name"`
	// Measured and Limit ("measured", "limit") say what was measured and
	// what the target allows, as text.
	Measured string `json:"measured"`
	Limit    string `json:"limit"`
	Pass     bool   `json:"pass"`
}

// StepVerdict is how the stream followed one rate step.
type StepVerdict struct {
	// AtS ("at_s") is the step's time from the run's start, s.
	AtS float64 `json:"at_s"`
	// FromKbps and ToKbps ("from_kbps", "to_kbps") are the rates.
	FromKbps float64 `json:"from_kbps"`
	ToKbps   float64 `json:"to_kbps"`
	// SettledS ("settled_s") is, after a step down, the time until the
	// stream was back to the targets (fps, no bottleneck loss, no
	// freeze, pose-to-frame p95) for the rest of the step; after a step up, the time until
	// it delivered 60 % of the new reachable rate; -1 never (within the
	// step), in seconds.
	SettledS float64 `json:"settled_s"`
	Pass     bool    `json:"pass"`
}

// verdict scores res (scored, with its sessions' series) for a run of
// cfg.
func verdict(cfg *Config, res *RunResult) *Verdict {
	v := &Verdict{Pass: true}
	add := func(name, measured, limit string, pass bool) {
		v.Targets = append(v.Targets, Target{Name: name, Measured: measured, Limit: limit, Pass: pass})
		v.Pass = v.Pass && pass
	}
	minFPS := minFPSShare * res.FPSTarget
	add("fps", fmt.Sprintf("%.1f", res.FPSMin), fmt.Sprintf(">= %.0f", minFPS), res.FPSMin >= minFPS)

	var delay time.Duration
	var steps []RateStep
	hasCap := cfg.Impair != nil && cfg.Impair.RateBps > 0
	if cfg.Impair != nil {
		delay = cfg.Impair.Delay
		steps = cfg.Impair.RateSteps
	}
	reach := func(p SeriesPoint) float64 { // kbit/s
		if p.CapKbps > 0 && cfg.BitRate > 0 {
			return min(p.CapKbps, float64(cfg.BitRate)/1000)
		}
		return max(p.CapKbps, float64(cfg.BitRate)/1000)
	}
	if hasCap || cfg.BitRate > 0 {
		worst := 0.0
		for _, s := range res.PerSession {
			t := firstAbove(s.Series, res.ConnectedS, math.Inf(1), reach)
			if t < 0 {
				worst = -1
				break
			}
			worst = max(worst, t-res.ConnectedS)
		}
		v.RampS = round3(worst)
		limit := fmt.Sprintf("<= %gs to 60%% of the cap", rampTime.Seconds())
		if !hasCap {
			limit = fmt.Sprintf("<= %gs to 60%% of --bitrate", rampTime.Seconds())
		}
		add("ramp", secondsText(v.RampS), limit, v.RampS >= 0 && v.RampS <= rampTime.Seconds())
	}
	if hasCap {
		worstShare, worstLoss := 0.0, 0.0
		for _, s := range res.PerSession {
			offered, capKbps, loss, n := 0.0, 0.0, 0.0, 0
			for _, p := range s.Series {
				if !steady(p.TS, res, steps) {
					continue
				}
				offered += p.OfferedKbps
				capKbps += p.CapKbps
				loss += p.LossPct
				n++
			}
			if n > 0 {
				worstShare = max(worstShare, offered/capKbps)
				worstLoss = max(worstLoss, loss/float64(n))
			}
		}
		add("under_cap", fmt.Sprintf("%.0f%% of the cap", 100*worstShare), "<= 100%", worstShare <= 1)
		add("loss", fmt.Sprintf("%.2f%%", worstLoss), fmt.Sprintf("< %g%%", maxLossPct), worstLoss < maxLossPct)
	}
	worstFreeze := 0.0
	if res.WindowS > 0 {
		for _, s := range res.PerSession {
			worstFreeze = max(worstFreeze, s.FreezeMS*60/res.WindowS)
		}
	}
	add("freeze", fmt.Sprintf("%.0f ms/min", worstFreeze), fmt.Sprintf("< %.0f ms/min", maxFreezePerMinute), worstFreeze < maxFreezePerMinute)
	// Outside the time a step down allows the stream to settle (the same
	// as PoseToFrameMS without steps down).
	budget := p95Budget + 2*ms(delay)
	p95 := res.PoseToFrameSteadyMS.P95
	add("p95", fmt.Sprintf("%.0f ms", p95), fmt.Sprintf("<= %.0f ms", budget), res.PoseToFrameSteadyMS.Count > 0 && p95 <= budget)

	for i, st := range steps {
		from := float64(cfg.Impair.RateBps) / 1000
		if i > 0 {
			from = float64(steps[i-1].Bps) / 1000
		}
		end := math.Inf(1)
		if i+1 < len(steps) {
			end = steps[i+1].At.Seconds()
		}
		sv := stepVerdict(res, st.At.Seconds(), end, from, float64(st.Bps)/1000, minFPS, budget, reach)
		if sv == nil {
			continue
		}
		v.Steps = append(v.Steps, *sv)
		limit := fmt.Sprintf("<= %gs to 60%% of the new cap", rampUp.Seconds())
		if sv.ToKbps < sv.FromKbps {
			limit = fmt.Sprintf("<= %gs back to the targets", settleDown.Seconds())
		}
		add(fmt.Sprintf("step@%gs", sv.AtS), secondsText(sv.SettledS), limit, sv.Pass)
	}
	return v
}

// stepVerdict scores the step at (s from the run's start) from from to
// to kbit/s, which lasts until end; nil when the run ended before it.
func stepVerdict(res *RunResult, at, end, from, to, minFPS, p95Budget float64, reach func(SeriesPoint) float64) *StepVerdict {
	sv := &StepVerdict{AtS: at, FromKbps: from, ToKbps: to, Pass: true}
	seen := false
	for _, s := range res.PerSession {
		settled := -1.0
		if to >= from {
			if t := firstAbove(s.Series, at, end, reach); t >= 0 {
				settled = t - at
			}
		} else {
			settled = settleAfter(s.Series, at, end, minFPS, p95Budget)
		}
		for _, p := range s.Series {
			if p.TS > at {
				seen = true
				break
			}
		}
		switch {
		case settled < 0:
			sv.SettledS = -1
		case sv.SettledS >= 0:
			sv.SettledS = round3(max(sv.SettledS, settled))
		}
	}
	if !seen {
		return nil
	}
	limit := rampUp
	if to < from {
		limit = settleDown
	}
	sv.Pass = sv.SettledS >= 0 && sv.SettledS <= limit.Seconds()
	return sv
}

// firstAbove returns the time of the first point in [from, end) that
// delivered rampShare of the reachable rate, or -1.
func firstAbove(ps []SeriesPoint, from, end float64, reach func(SeriesPoint) float64) float64 {
	for _, p := range ps {
		if p.TS < from || p.TS >= end {
			continue
		}
		if r := reach(p); r > 0 && p.DeliveredKbps >= rampShare*r {
			return p.TS
		}
	}
	return -1
}

// settleAfter returns how long after a step at `at` (lasting until end)
// the stream was back to the targets for good: the end of the last
// point in (at, end) with too few frames in the last second, bottleneck
// loss, a freeze in progress or a pose-to-frame p95 over p95Budget ms
// in the last 500 ms, less at; -1 when that was the step's
// last point (never settled), 0 when none was bad.
func settleAfter(ps []SeriesPoint, at, end, minFPS, p95Budget float64) float64 {
	lastBad, last := -1.0, -1.0
	for _, p := range ps {
		if p.TS <= at || p.TS >= end {
			continue
		}
		last = p.TS
		if p.FPS < minFPS || p.LossPct >= maxLossPct || p.FrozenMS > 0 || p.PoseToFrameP95MS > p95Budget {
			lastBad = p.TS
		}
	}
	switch {
	case last < 0:
		return -1
	case lastBad < 0:
		return 0
	case lastBad == last:
		return -1
	}
	return lastBad + seriesInterval.Seconds() - at
}

// steady reports whether t (s from the run's start) is in the steady
// state of res's window: inside the window, rampTime after the headsets
// connected and not within settleDown of a rate step.
func steady(t float64, res *RunResult, steps []RateStep) bool {
	if t < res.WindowStartS || t < res.ConnectedS+steadyAfter.Seconds() {
		return false
	}
	for _, s := range steps {
		if d := t - s.At.Seconds(); d >= 0 && d < settleDown.Seconds() {
			return false
		}
	}
	return true
}

// secondsText prints a time in seconds, or "never" for -1.
func secondsText(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2fs", s)
}
