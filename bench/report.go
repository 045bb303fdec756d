package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// WriteReport writes a self-contained HTML page (inline SVG and CSS, no
// scripts, nothing fetched) with the summary table, the pose-to-frame
// latency CDF, a per-frame stage timeline, frames per second over time,
// the prediction error at display time, the network targets and each
// session's network figures over time.
func WriteReport(w io.Writer, rep *Report) error {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>holocast-bench run</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}
svg.chart{display:block;margin:8px 0;background:#fff;border:1px solid #ddd}
svg text{font:11px system-ui,sans-serif;fill:#333}
.note{color:#666;font-size:12px}
</style></head><body>
<h1>holocast-bench run</h1>
`)
	reportHeader(&b, rep)
	reportSummary(&b, rep)
	reportDistributions(&b, rep)
	reportNetwork(&b, rep)
	reportStages(&b, rep)
	reportNode(&b, rep.NodeProcess)
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// reportHeader writes the paragraphs saying when, where and how the run
// was measured.
func reportHeader(b *strings.Builder, rep *Report) {
	node := rep.Config.Node
	if rep.Config.Impair != nil {
		node += " over pion vnet, impairment " + rep.Config.Impair.Spec
	}
	fmt.Fprintf(b, "<p>%s &middot; node: %s &middot; machine: %s/%s, %d CPUs, %s &middot; window %gs after %gs warm-up &middot; pose rate %s &middot; display delay %g ms</p>\n",
		rep.Started.Format(time.RFC3339), html.EscapeString(node), rep.Machine.OS, rep.Machine.Arch, rep.Machine.CPUs, rep.Machine.Go,
		rep.Config.DurationS, rep.Config.WarmupS, rateText(rep.Config.PoseRateHz), rep.Config.DisplayDelayMS)
	if len(rep.Runs) > 0 {
		r := rep.Runs[0]
		fmt.Fprintf(b, "<p>%dx%d at %g fps &middot; encoder %s &middot; renderer %s &middot; predictor %s</p>\n",
			r.Width, r.Height, r.FPSTarget, html.EscapeString(r.Encoder), html.EscapeString(r.Renderer), html.EscapeString(r.Predictor))
	}
	if rep.Interrupted {
		b.WriteString("<p><b>Interrupted:</b> the figures cover what was measured before the stop.</p>\n")
	}
}

// reportSummary writes the summary table, one row per run.
func reportSummary(b *strings.Builder, rep *Report) {
	b.WriteString(`<h2>Summary</h2>
<table><tr><th>sessions</th><th>fps / target</th><th>pose&rarr;frame p50 ms</th><th>p95</th><th>p99</th><th>max</th><th>pose age p50</th><th>queue p50</th><th>render p50</th><th>convert p50</th><th>encode p50</th><th>send p50</th><th>kbit/s per session</th><th>frames lost</th><th>late</th><th>key frames</th><th>PLIs</th><th>packets recovered</th><th>freeze ms</th><th>pred. error &deg; mean</th><th>p95</th></tr>
`)
	for _, r := range rep.Runs {
		fmt.Fprintf(b, "<tr><td>%d</td><td>%.1f / %g</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td><td>%.0f</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%.0f</td><td>%.2f</td><td>%.2f</td></tr>\n",
			summaryRow(r)...)
	}
	b.WriteString("</table>\n")
}

// reportDistributions writes the charts with one line per run (latency
// CDF, frames per second over time, prediction error CDF) and headset 0's
// prediction error over time in each run.
func reportDistributions(b *strings.Builder, rep *Report) {
	var cdf, errCDF, fpsLines []series
	for i, r := range rep.Runs {
		name := fmt.Sprintf("%d session(s)", r.Sessions)
		cdf = append(cdf, cdfSeries(name, palette[i%len(palette)], r.LatencySample))
		errCDF = append(errCDF, cdfSeries(name, palette[i%len(palette)], r.ErrorSample))
		fpsLines = append(fpsLines, fpsSeries(name, palette[i%len(palette)], r))
	}
	b.WriteString("<h2>Pose-to-frame latency CDF</h2>\n<p class=\"note\">Pose sampled on the headset &rarr; last packet of the frame rendered from it received, all sessions.</p>\n")
	b.WriteString(lineChart("latency-cdf", "pose-to-frame latency CDF", "ms", "fraction of frames", cdf, false))
	b.WriteString("<h2>Frames per second over time</h2>\n<p class=\"note\">Frames received per second per session (0.5 s bins), averaged over the sessions of each run.</p>\n")
	b.WriteString(lineChart("fps-over-time", "frames per second", "s", "fps per session", fpsLines, true))
	b.WriteString("<h2>Prediction error at display time</h2>\n<p class=\"note\">Angle between the orientation the frame was rendered for and the trace's true orientation when the frame is shown (received + display delay): 2&middot;acos|&lang;q1,q2&rang;|.</p>\n")
	b.WriteString(lineChart("prediction-error-cdf", "prediction error CDF", "degrees", "fraction of frames", errCDF, false))
	for i, r := range rep.Runs {
		var xs, ys []float64
		for _, f := range r.Timeline {
			if !math.IsNaN(f.ErrDeg) {
				xs, ys = append(xs, f.At.Seconds()), append(ys, f.ErrDeg)
			}
		}
		ser := []series{{name: "headset 0", color: palette[i%len(palette)], xs: xs, ys: ys}}
		fmt.Fprintf(b, "<h3>%d session(s): headset 0 over time</h3>\n", r.Sessions)
		b.WriteString(lineChart(fmt.Sprintf("prediction-error-%d", i), "prediction error over time", "s", "degrees", ser, true))
	}
}

// reportStages writes each run's per-frame stage timeline of headset 0.
func reportStages(b *strings.Builder, rep *Report) {
	b.WriteString("<h2>Per-frame stage timeline</h2>\n<p class=\"note\">Headset 0's frames in arrival order: the node's stages from FrameInfo, stacked, and the rest of pose-to-frame (pose uplink, frame downlink, reassembly) on top.</p>\n")
	for i, r := range rep.Runs {
		fmt.Fprintf(b, "<h3>%d session(s)</h3>\n", r.Sessions)
		b.WriteString(stageChart(fmt.Sprintf("stage-timeline-%d", i), r))
	}
}

// reportNode writes the node process's summary table and its gauges over
// time, when the run sampled the node's metrics.
func reportNode(b *strings.Builder, np *NodeProcess) {
	if np == nil {
		return
	}
	fmt.Fprintf(b, "<h2>Node process</h2>\n<p class=\"note\">%s. Before: the last sample before the first headset connected; after: the last sample, once the headsets had gone.</p>\n<table>\n",
		html.EscapeString(nodeHeading(np)))
	for i, row := range nodeTable(np) {
		cell := "td"
		if i == 0 {
			cell = "th"
		}
		b.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(b, "<%s>%s</%s>", cell, html.EscapeString(c), cell)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
	line := func(name, color string, v func(NodeSample) float64) series {
		s := series{name: name, color: color}
		for _, x := range np.Samples {
			if y := v(x); y >= 0 {
				s.xs, s.ys = append(s.xs, x.TS), append(s.ys, y)
			}
		}
		return s
	}
	const mib = 1 << 20
	b.WriteString(lineChart("node-memory", "node memory", "s from the run's start", "MiB", []series{
		line("RSS", palette[0], func(s NodeSample) float64 { return s.RSSBytes / mib }),
		line("Go heap in use", palette[1], func(s NodeSample) float64 { return s.HeapInuseBytes / mib }),
	}, true))
	b.WriteString(lineChart("node-goroutines", "node goroutines, open files and sessions", "s from the run's start", "count", []series{
		line("goroutines", palette[0], func(s NodeSample) float64 { return s.Goroutines }),
		line("open fds", palette[1], func(s NodeSample) float64 { return s.OpenFDs }),
		line("sessions active", palette[2], func(s NodeSample) float64 { return s.SessionsActive }),
	}, true))
}

// rateText describes the pose rate: Hz, or "as recorded" for 0.
func rateText(hz int) string {
	if hz == 0 {
		return "as recorded"
	}
	return fmt.Sprintf("%d Hz", hz)
}

// palette colours the runs' lines, run i in palette[i%len(palette)].
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// series is one named line of a chart.
type series struct {
	name, color string
	xs, ys      []float64
}

// cdfSeries is the empirical CDF of v: each sorted value against the
// fraction of values up to it.
func cdfSeries(name, color string, v []float64) series {
	s := sorted(v)
	out := series{name: name, color: color}
	for i, x := range s {
		out.xs = append(out.xs, x)
		out.ys = append(out.ys, float64(i+1)/float64(len(s)))
	}
	return out
}

// fpsSeries is run r's frames received per second per session, in 0.5 s
// bins of its window.
func fpsSeries(name, color string, r *RunResult) series {
	out := series{name: name, color: color}
	for i, v := range r.FPSOverTime {
		out.xs = append(out.xs, (float64(i)+0.5)*fpsBin.Seconds())
		out.ys = append(out.ys, v)
	}
	return out
}

// Chart size and the padding around the plot area, in SVG units.
const (
	chartW, chartH                 = 900, 300
	padL, padR, padT, padB float64 = 60, 150, 28, 40
)

// niceTicks returns round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	// From the last tick ≤ lo to the first tick ≥ hi, so the ticks cover
	// the data.
	var out []float64
	for i := math.Floor(lo / step); ; i++ {
		out = append(out, i*step)
		if i*step >= hi-step*1e-9 {
			return out
		}
	}
}

// frame is a chart's data range, mapped onto the plot area by px and py.
type frame struct{ x0, x1, y0, y1 float64 }

// px maps data x to SVG x.
func (f frame) px(x float64) float64 {
	return padL + (x-f.x0)/(f.x1-f.x0)*(chartW-padL-padR)
}

// py maps data y to SVG y (upwards).
func (f frame) py(y float64) float64 {
	return chartH - padB - (y-f.y0)/(f.y1-f.y0)*(chartH-padT-padB)
}

// axes draws the title, grid lines with tick labels, the plot border and
// the axis labels.
func axes(b *strings.Builder, f frame, title, xlabel, ylabel string) {
	fmt.Fprintf(b, `<text x="%g" y="18" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))
	for _, t := range niceTicks(f.x0, f.x1, 8) {
		if t < f.x0-1e-9 || t > f.x1+1e-9 {
			continue
		}
		x := f.px(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/><text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n",
			x, padT, x, chartH-padB, x, chartH-padB+14, fmtTick(t))
	}
	for _, t := range niceTicks(f.y0, f.y1, 5) {
		if t < f.y0-1e-9 || t > f.y1+1e-9 {
			continue
		}
		y := f.py(t)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#eee"/><text x="%g" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, y, chartW-padR, y, padL-4, y+4, fmtTick(t))
	}
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#999"/>`+"\n", padL, padT, chartW-padL-padR, chartH-padT-padB)
	fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", padL+(chartW-padL-padR)/2, float64(chartH)-6, html.EscapeString(xlabel))
	fmt.Fprintf(b, `<text transform="translate(14 %g) rotate(-90)" text-anchor="middle">%s</text>`+"\n", padT+(chartH-padT-padB)/2, html.EscapeString(ylabel))
}

// fmtTick formats a tick value with at most 2 decimals, no trailing zeros.
func fmtTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// legend draws a colour swatch and name per line, right of the plot.
func legend(b *strings.Builder, names, colors []string) {
	for i, n := range names {
		y := padT + 10 + float64(i)*16
		fmt.Fprintf(b, `<rect x="%g" y="%g" width="12" height="10" fill="%s"/><text x="%g" y="%g">%s</text>`+"\n",
			chartW-padR+10, y-9, colors[i], chartW-padR+26, y, html.EscapeString(n))
	}
}

// lineChart draws series as polylines (dots when points is set).
func lineChart(id, title, xlabel, ylabel string, ss []series, points bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`+"\n",
		id, chartW, chartH, chartW, chartH, html.EscapeString(title))
	f := frame{x0: math.Inf(1), x1: math.Inf(-1), y0: 0, y1: math.Inf(-1)}
	has := false
	for _, s := range ss {
		for i := range s.xs {
			f.x0, f.x1 = math.Min(f.x0, s.xs[i]), math.Max(f.x1, s.xs[i])
			f.y1 = math.Max(f.y1, s.ys[i])
			has = true
		}
	}
	if !has {
		f = frame{0, 1, 0, 1}
	}
	if f.x0 > 0 && f.x0 < f.x1/3 {
		f.x0 = 0
	}
	if f.x1 <= f.x0 {
		f.x1 = f.x0 + 1
	}
	if f.y1 <= 0 {
		f.y1 = 1
	}
	xt, yt := niceTicks(f.x0, f.x1, 8), niceTicks(f.y0, f.y1, 5)
	f.x0, f.x1, f.y1 = math.Min(f.x0, xt[0]), math.Max(f.x1, xt[len(xt)-1]), yt[len(yt)-1]
	fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(title))
	axes(&b, f, title, xlabel, ylabel)
	var names, colors []string
	for _, s := range ss {
		names, colors = append(names, s.name), append(colors, s.color)
		if len(s.xs) == 0 {
			continue
		}
		var pts strings.Builder
		for i := range s.xs {
			fmt.Fprintf(&pts, "%.1f,%.1f ", f.px(s.xs[i]), f.py(s.ys[i]))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", s.color, strings.TrimSpace(pts.String()))
		if points && len(s.xs) <= 2000 {
			for i := range s.xs {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.8" fill="%s"/>`, f.px(s.xs[i]), f.py(s.ys[i]), s.color)
			}
			b.WriteString("\n")
		}
	}
	legend(&b, names, colors)
	b.WriteString("</svg>\n")
	return b.String()
}

// stageNames and stageColors label and colour stageChart's stacked parts.
var stageNames = []string{"pose age", "render", "convert", "encode", "send", "network + rest"}
var stageColors = []string{"#bbbbbb", "#1f77b4", "#17becf", "#ff7f0e", "#2ca02c", "#d62728"}

// stageChart stacks headset 0's per-frame stage times against arrival time.
func stageChart(id string, r *RunResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="stage timeline">`+"\n",
		id, chartW, chartH, chartW, chartH)
	b.WriteString("<title>per-frame stage timeline</title>\n")
	var frames []FrameSample
	ymax := 1.0
	for _, f := range r.Timeline {
		if math.IsNaN(f.PoseToFrame) {
			continue
		}
		frames = append(frames, f)
		ymax = math.Max(ymax, math.Max(f.PoseToFrame, f.PoseAge+f.Render+f.Convert+f.Encode+f.Send))
	}
	yt := niceTicks(0, ymax*1.05, 5)
	f := frame{x0: 0, x1: math.Max(r.WindowS, 0.1), y0: 0, y1: yt[len(yt)-1]}
	axes(&b, f, "per-frame stage times, headset 0", "arrival time in window (s)", "ms")
	barW := math.Max(1, (chartW-padL-padR)/float64(max(len(frames), 1))*0.8)
	for _, fr := range frames {
		parts := []float64{fr.PoseAge, fr.Render, fr.Convert, fr.Encode, fr.Send}
		sum := 0.0
		for _, p := range parts {
			sum += p
		}
		parts = append(parts, math.Max(0, fr.PoseToFrame-sum))
		x := f.px(fr.At.Seconds()) - barW/2
		acc := 0.0
		for i, p := range parts {
			if p <= 0 {
				continue
			}
			y0, y1 := f.py(acc), f.py(acc+p)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, y1, barW, y0-y1, stageColors[i])
			acc += p
		}
		b.WriteString("\n")
	}
	legend(&b, stageNames, stageColors)
	b.WriteString("</svg>\n")
	return b.String()
}
