package bench

import (
	"fmt"
	"html"
	"strings"
)

// maxChartedSessions bounds the sessions whose network charts a report
// draws per run.
const maxChartedSessions = 4

// reportNetwork writes each run's network targets and, per session, its
// series over time: the node's congestion estimate, the encoder's target,
// the delivered (and with a cap the offered) bit rate and the cap, loss,
// frame rate, freezes and resolution.
func reportNetwork(b *strings.Builder, rep *Report) {
	b.WriteString("<h2>Network targets</h2>\n<p class=\"note\">Each run against the targets (docs/bench.md, &ldquo;Network targets&rdquo;): the worst session's figure; the ramp is timed from the headsets connecting.</p>\n<table><tr><th>run</th><th>sessions</th><th>result</th><th>targets</th></tr>\n")
	for i, r := range rep.Runs {
		if r.Verdict == nil {
			continue
		}
		fmt.Fprintf(b, "<tr><td>%d</td><td>%d</td><td>%s</td><td style=\"text-align:left\">%s</td></tr>\n",
			i+1, r.Sessions, passText(r.Verdict.Pass), html.EscapeString(targetsText(r.Verdict.Targets)))
	}
	b.WriteString("</table>\n")
	b.WriteString("<h2>Network over time</h2>\n<p class=\"note\">Per session, every 250 ms from the headsets connecting to the window's end, in seconds from the run's start (when the headsets began to connect; rate steps count from it); the window's start is given in each heading. Delivered: H.264 bytes of the frames that arrived in the last 500 ms; offered: what the node sent into the bottleneck (SRTP, with a rate cap); estimate: the node's congestion controller's target; encoder: its target (the estimate within the node's floor and --bitrate). Estimate and encoder target are read from the embedded node; a node given by --url tells them in each FrameInfo (the newest frame's are charted), as it tells the resolution.</p>\n")
	for i, r := range rep.Runs {
		for k, s := range r.PerSession {
			if k == maxChartedSessions {
				fmt.Fprintf(b, "<p class=\"note\">%d more session(s) not charted.</p>\n", len(r.PerSession)-k)
				break
			}
			fmt.Fprintf(b, "<h3>run %d, session %d (window from %.1f s)</h3>\n", i+1, k, r.WindowStartS)
			id := fmt.Sprintf("net-%d-%d", i, k)
			pick := func(name, color string, f func(SeriesPoint) float64) series {
				out := series{name: name, color: color}
				for _, p := range s.Series {
					out.xs, out.ys = append(out.xs, p.TS), append(out.ys, f(p))
				}
				return out
			}
			rates := []series{
				pick("delivered", palette[0], func(p SeriesPoint) float64 { return p.DeliveredKbps }),
				pick("estimate", palette[1], func(p SeriesPoint) float64 { return p.TargetKbps }),
				pick("encoder target", palette[2], func(p SeriesPoint) float64 { return p.EncoderKbps }),
			}
			if hasCap(s.Series) {
				rates = append(rates,
					pick("offered", palette[3], func(p SeriesPoint) float64 { return p.OfferedKbps }),
					pick("link cap", "#555555", func(p SeriesPoint) float64 { return p.CapKbps }))
			}
			b.WriteString(lineChart(id+"-rate", "bit rates", "s", "kbit/s", rates, false))
			b.WriteString(lineChart(id+"-loss", "loss", "s", "% of packets", []series{
				pick("loss", palette[1], func(p SeriesPoint) float64 { return p.LossPct })}, false))
			b.WriteString(lineChart(id+"-fps", "frame rate and freezes", "s", "fps; freeze in progress s", []series{
				pick("fps (last 1 s)", palette[0], func(p SeriesPoint) float64 { return p.FPS }),
				pick("frozen for (s)", palette[1], func(p SeriesPoint) float64 { return p.FrozenMS / 1000 }),
				pick("frames lost (total)", palette[4], func(p SeriesPoint) float64 { return float64(p.FramesLost) }),
			}, false))
			b.WriteString(lineChart(id+"-res", "resolution", "s", "frame height px", []series{
				pick("height", palette[2], func(p SeriesPoint) float64 { return float64(p.Height) })}, false))
		}
	}
}

// hasCap reports whether a series ran over a rate-capped link.
func hasCap(ps []SeriesPoint) bool {
	for _, p := range ps {
		if p.CapKbps > 0 {
			return true
		}
	}
	return false
}
