package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/holocast/holocast/bench"
)

func init() {
	commands["table"] = &command{
		summary: "print run reports (--json files) as one markdown table of the network targets",
		run:     runTable,
		usage:   tableUsage,
	}
}

func tableUsage(w io.Writer) {
	fmt.Fprint(w, `usage: holocast-bench table FILE.json...

Reads the JSON reports of holocast-bench run (--json FILE), one per link,
and prints one markdown row per concurrency level: the link, --bitrate,
runs, fps, delivered kbit/s and its share of the cap, frames lost, freeze
ms, pose->frame p50 / p95, the time to 60 % of the cap, how each rate step
settled, and how many runs met every network target (min / median / max
over --repeat runs). scripts/netproof.sh runs the links of the network
proof and prints their table with it.
`)
}

func runTable(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	files, code := parseInterleaved(fs, args, "table", tableUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	if len(files) == 0 {
		tableUsage(stderr)
		return 2
	}
	var reps []*bench.Report
	for _, f := range files {
		rep, err := readReport(f)
		if err != nil {
			fmt.Fprintf(stderr, "holocast-bench table: %v\n", err)
			return 1
		}
		reps = append(reps, rep)
	}
	if err := bench.WriteProofTable(stdout, reps); err != nil {
		fmt.Fprintf(stderr, "holocast-bench table: %v\n", err)
		return 1
	}
	return 0
}

// readReport reads a run's JSON report.
func readReport(path string) (*bench.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep bench.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rep.Schema != bench.Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, rep.Schema, bench.Schema)
	}
	return &rep, nil
}
