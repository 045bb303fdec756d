package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON (schema in docs/bench.md).
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable prints one row per run: latency, stage times, frame rate,
// losses, bit rate, freezes and prediction error.
func WriteTable(w io.Writer, rep *Report) error {
	node := rep.Config.Node
	if rep.Config.Impair != nil {
		node += " over vnet (" + rep.Config.Impair.Spec + ")"
	}
	fmt.Fprintf(w, "node: %s", node)
	if len(rep.Runs) > 0 {
		r := rep.Runs[0]
		fmt.Fprintf(w, "  %dx%d@%g  encoder %s  renderer %s  predictor %s", r.Width, r.Height, r.FPSTarget, r.Encoder, r.Renderer, r.Predictor)
	}
	fmt.Fprintf(w, "\nmachine: %s/%s, %d CPUs; window %gs after %gs warm-up; display delay %g ms",
		rep.Machine.OS, rep.Machine.Arch, rep.Machine.CPUs, rep.Config.DurationS, rep.Config.WarmupS, rep.Config.DisplayDelayMS)
	if rep.Config.DisplayRateHz > 0 {
		sent := "sent"
		if !rep.Config.DisplayTiming {
			sent = "not sent"
		}
		fmt.Fprintf(w, "; display %g Hz, lead %g ms (DisplayTiming %s)", rep.Config.DisplayRateHz, rep.Config.DisplayLeadMS, sent)
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sessions\tfps\tpose→frame ms p50\tp95\tp99\tmax\tpose age\tqueue\trender\tconvert\tencode\tsend\tkbps/sess\tlost\tlate\tkeys\tPLIs\trecovered pkts\tfreeze ms\tpred err ° mean\tp95\t")
	for _, r := range rep.Runs {
		fmt.Fprintf(tw, "%d\t%.1f/%g\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t\n",
			summaryRow(r)...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n(stage columns are node p50s in ms; late = pose→frame over", rep.Config.LateAfterMS, "ms)")
	if rep.Interrupted {
		fmt.Fprintln(w, "interrupted: figures cover what was measured before the stop")
	}
	writeVerdicts(w, rep)
	if np := rep.NodeProcess; np != nil {
		fmt.Fprintf(w, "\n%s\n", nodeHeading(np))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, row := range nodeTable(np) {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// summaryRow is one run's row of the summary table, the columns WriteTable
// and WriteReport share: sessions, fps and its target, pose-to-frame p50,
// p95, p99 and max, the stages' p50s (pose age, queue, render, convert,
// encode, send), kbit/s per session, frames lost, late, key frames, PLIs, packets
// recovered, freeze ms, and the prediction error's mean and p95.
func summaryRow(r *RunResult) []any {
	s := r.StagesMS
	return []any{r.Sessions, r.FPS, r.FPSTarget, r.PoseToFrameMS.P50, r.PoseToFrameMS.P95, r.PoseToFrameMS.P99, r.PoseToFrameMS.Max,
		s.PoseAge.P50, s.Queue.P50, s.Render.P50, s.Convert.P50, s.Encode.P50, s.Send.P50,
		r.BitrateKbps, r.FramesLost, r.FramesLate, r.KeyFrames, r.PLIsSent, r.PacketsRecovered, r.FreezeMS,
		r.PredictionErrorDeg.Mean, r.PredictionErrorDeg.P95}
}
