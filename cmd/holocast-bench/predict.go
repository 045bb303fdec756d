package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/pose/eval"
	"github.com/holocast/holocast/pose/trace"
)

func init() {
	commands["predict"] = &command{
		summary: "replay head-motion traces through the pose predictors",
		run:     runPredict,
		usage:   predictUsage,
	}
}

func predictUsage(w io.Writer) {
	fmt.Fprintf(w, `usage: holocast-bench predict [--horizons 20ms,40ms,60ms,80ms,100ms] [--predictors NAME,...]
                              [--format auto|csv|hololens|corbillon] [--json FILE] TRACE...

Replays each trace the way the node runs: every sample is observed at its
recorded time, then each predictor predicts the pose at sample time +
horizon; the truth there is interpolated from the trace (SLERP for
orientation, linear for position) and targets beyond the trace end are
skipped. Prints, per predictor and horizon, the mean, p95 and p99 of the
orientation error (full sign-invariant angle 2*acos(|<q_pred,q_true>|), in
degrees) and of the position error (cm, traces with positions only),
pooled over all samples of all traces. The node's default predictor is
marked with *.

flags:
  --horizons LIST     comma-separated durations (default 20ms,40ms,60ms,80ms,100ms)
  --predictors LIST   comma-separated predictor names (default: all registered:
                      %s; default for the node: %s)
  --format FORMAT     trace format: auto (detect from content), csv (neutral
                      t_ms,qx,qy,qz,qw[,px,py,pz]), hololens, corbillon (default auto)
  --json FILE         also write the results as JSON to FILE ("-" for stdout,
                      replacing the table)
`, strings.Join(pose.PredictorNames(), ", "), pose.DefaultPredictorName)
}

func runPredict(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	horizons := fs.String("horizons", "20ms,40ms,60ms,80ms,100ms", "")
	predictors := fs.String("predictors", "", "")
	format := fs.String("format", trace.FormatAuto, "")
	jsonOut := fs.String("json", "", "")
	// Allow flags after trace names too.
	files, code := parseInterleaved(fs, args, "predict", predictUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "holocast-bench predict: no trace given")
		predictUsage(stderr)
		return 2
	}
	hs, err := parseHorizons(*horizons)
	if err != nil {
		fmt.Fprintf(stderr, "holocast-bench predict: --horizons: %v\n", err)
		return 2
	}
	valid := false
	for _, f := range trace.Formats() {
		valid = valid || f == *format
	}
	if !valid {
		fmt.Fprintf(stderr, "holocast-bench predict: --format: unknown format %q (want %s)\n", *format, strings.Join(trace.Formats(), ", "))
		return 2
	}
	var names []string
	if *predictors != "" {
		for _, n := range strings.Split(*predictors, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	preds, err := eval.Registered(names...)
	if err != nil {
		fmt.Fprintf(stderr, "holocast-bench predict: --predictors: %v\n", err)
		return 2
	}
	var traces []eval.Trace
	for _, f := range files {
		s, err := trace.Open(f, *format)
		if err != nil {
			fmt.Fprintf(stderr, "holocast-bench predict: %v\n", err)
			return 1
		}
		traces = append(traces, eval.Trace{Name: f, Samples: s})
	}
	res := eval.Evaluate(traces, preds, hs, pose.DefaultPredictorName)
	if *jsonOut != "-" {
		if err := eval.WriteTable(stdout, res); err != nil {
			fmt.Fprintf(stderr, "holocast-bench predict: %v\n", err)
			return 1
		}
	}
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, stdout, func(w io.Writer) error { return eval.WriteJSON(w, res) }); err != nil {
			fmt.Fprintf(stderr, "holocast-bench predict: --json: %v\n", err)
			return 1
		}
	}
	return 0
}

func parseHorizons(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil {
			return nil, err
		}
		if d < 0 {
			return nil, fmt.Errorf("negative horizon %v", d)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("no horizon given")
	}
	return out, nil
}
