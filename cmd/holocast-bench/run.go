package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/holocast/holocast/bench"
	"github.com/holocast/holocast/pose/trace"
)

func init() {
	commands["run"] = &command{
		summary: "measure a node with simulated headsets replaying head motion",
		run: func(args []string, stdout, stderr io.Writer) int {
			return runRun(signalContext(), args, stdout, stderr)
		},
		usage: runUsage,
	}
}

// signalContext is cancelled by the first Ctrl-C or SIGTERM; a second one
// kills the process as usual.
var signalContext = func() context.Context {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}

func runUsage(w io.Writer) {
	fmt.Fprintf(w, `usage: holocast-bench run [--url URL] [--sessions 1,2,4] [--duration 10s] [--warmup 2s]
                          [--rate 0|60|72|90] [--trace FILE]... [--width W --height H --fps N --bitrate BPS]
                          [--scene FILE.glb]
                          [--display-delay 16ms] [--display-rate HZ [--display-lead 4ms]]
                          [--impair SPEC|wifi|lte|vnet] [--repeat N]
                          [--metrics-url URL [--metrics-interval 2s] [--metrics-after 10s]]
                          [--trace-net FILE.jsonl] [--json FILE] [--report FILE.html] [--record FILE.h264] [TRACE...]

Starts simulated headsets against a render node (an embedded one when no
--url is given), each replaying a head-motion trace from its own start
offset, and measures every frame they receive: pose-to-frame latency (pose
sampled -> last packet of the frame rendered from it received), the node's
stage times, frame rate, losses, freezes, bit rate and the prediction error
at display time. --sessions runs each concurrency level in turn. Prints a
table and each run scored against the network targets (docs/bench.md,
"Network targets"); Ctrl-C stops and still prints (and writes) what was
measured.

flags:
  --url URL             node signaling endpoint, e.g. http://host:8080/v1/sessions
                        (default: start an embedded node on loopback)
  --sessions LIST       comma-separated concurrency levels (default 1)
  --duration D          measured window per level (default 10s)
  --warmup D            unmeasured start of each level (default 2s)
  --rate HZ             pose rate; 0 replays the trace's own samples (default 0)
  --trace FILE          head-motion trace, repeatable (default: the shared traces
                        in %s, else the head motion built into the binary:
                        two one-minute excerpts of Corbillon et al.'s MMSys'18
                        traces, MIT licence)
  --format FORMAT       trace format: %s (default auto)
  --width, --height     side-by-side frame size (embedded default %dx%d; with --url
                        requested from the node only when given)
  --fps N               node frame rate (embedded default 30)
  --bitrate BPS         embedded node's encoder bit rate (default 4000000)
  --scene FILE          a .gltf/.glb model the embedded node shows (default: built-in scene)
  --predictor NAME      embedded node's pose predictor (default: the node's)
  --horizon D           embedded node's fixed prediction horizon (default: measured)
  --display-delay D     receive -> display delay for the prediction error (default 16ms)
  --display-rate HZ     give each headset a display refreshing at HZ that sends the node
                        its DisplayTiming (the node aims frames at its vsyncs); a frame
                        is shown at the first vsync --display-lead after it arrived
                        (replaces --display-delay); default 0: no display
  --display-lead D      how long before a vsync a frame must arrive (default 4ms)
  --no-display-timing   keep the display's timing from the node (frames still shown at
                        its vsyncs): the comparison for the node's aiming
  --degrade             embedded node's degradation ladder, as holocast-node --degrade
                        (default true): when the link or the node's time per frame
                        falls short, render smaller, then slower; --degrade=false
                        keeps the requested size and rate (latency at a fixed size)
  --late D              a frame is late when pose->frame exceeds D (default 100ms)
  --impair SPEC         run embedded node and headsets over pion's virtual network:
                        "delay=20ms,jitter=5ms,loss=1%%,rate=20mbit" (delay one way,
                        loss each direction, rate caps each headset's downlink; add
                        rate@8s=1mbit to change the cap 8 s after the headset's link
                        was made) or a preset: vnet (no impairment), wifi (%s), lte (%s)
  --repeat N            run each concurrency level N times in a row and print the
                        spread (min / median / max) and how many runs met the network
                        targets (default 1)
  --trace-net FILE      write the embedded node's first session packet by packet as
                        JSON lines: RTP sent, RTCP read, the congestion controller's
                        target every 50 ms and, with a rate cap, the bottleneck queue
                        (format in docs/network.md)
  --json FILE           write every figure as JSON ("-": stdout instead of the table)
  --report FILE.html    write a self-contained HTML report with charts
  --record FILE.h264    write headset 0's received stream (first level) as Annex-B
  --insecure            accept the node's TLS certificate unchecked (self-signed)
  --token TOKEN         bearer token for --url: the node's token (printed after #token=
                        in its URL, kept in its --cert-dir/token) or a JWT; default
                        $HOLOCAST_TOKEN
  --metrics-url URL     with --url: the node's Prometheus endpoint (its --metrics-listen,
                        e.g. http://127.0.0.1:9464/metrics); samples the node process's
                        resident memory, Go heap, goroutines, open files and active
                        sessions from before the first headset connects until
                        --metrics-after after the last one has gone (soak runs)
  --metrics-interval D  time between two samples (default 2s)
  --metrics-after D     how long to keep sampling after the headsets have gone, for the
                        node to clean up (default 10s)
  --no-client-report    do not send the once-a-second ClientReport (motion-to-photon =
                        median pose->frame + display delay) that real clients send and
                        the node uses as its prediction horizon
  --quiet               no progress line
  --verbose             show the embedded node's logs
`, bench.DefaultTraceDir, strings.Join(trace.Formats(), ", "), 1280, 720, bench.Presets["wifi"], bench.Presets["lte"])
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("url", "", "")
	sessions := fs.String("sessions", "1", "")
	duration := fs.Duration("duration", 10*time.Second, "")
	warmup := fs.Duration("warmup", 2*time.Second, "")
	rate := fs.Int("rate", 0, "")
	var traces multiFlag
	fs.Var(&traces, "trace", "")
	format := fs.String("format", trace.FormatAuto, "")
	width := fs.Int("width", 0, "")
	height := fs.Int("height", 0, "")
	fps := fs.Int("fps", 0, "")
	bitrate := fs.Int("bitrate", 0, "")
	predictor := fs.String("predictor", "", "")
	scenePath := fs.String("scene", "", "")
	horizon := fs.Duration("horizon", 0, "")
	displayDelay := fs.Duration("display-delay", 16*time.Millisecond, "")
	displayRate := fs.Float64("display-rate", 0, "")
	displayLead := fs.Duration("display-lead", 4*time.Millisecond, "")
	noDisplayTiming := fs.Bool("no-display-timing", false, "")
	degrade := fs.Bool("degrade", true, "")
	late := fs.Duration("late", 100*time.Millisecond, "")
	impair := fs.String("impair", "", "")
	repeat := fs.Int("repeat", 1, "")
	jsonOut := fs.String("json", "", "")
	reportOut := fs.String("report", "", "")
	recordOut := fs.String("record", "", "")
	traceNet := fs.String("trace-net", "", "")
	noReport := fs.Bool("no-client-report", false, "")
	insecure := fs.Bool("insecure", false, "")
	token := fs.String("token", "", "")
	metricsURL := fs.String("metrics-url", "", "")
	metricsInterval := fs.Duration("metrics-interval", bench.DefaultMetricsInterval, "")
	metricsAfter := fs.Duration("metrics-after", bench.DefaultMetricsAfter, "")
	quiet := fs.Bool("quiet", false, "")
	verbose := fs.Bool("verbose", false, "")
	positional, code := parseInterleaved(fs, args, "run", runUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	traces = append(traces, positional...)
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "holocast-bench run: "+format+"\n", a...)
		return 2
	}
	cfg := bench.Config{
		URL: *url, Duration: *duration, Warmup: *warmup, Rate: *rate, TraceFormat: *format,
		Width: *width, Height: *height, FPS: *fps, BitRate: *bitrate, Predictor: *predictor, FixedHorizon: *horizon, Scene: *scenePath,
		DisplayDelay: *displayDelay, DisplayRate: *displayRate, DisplayLead: *displayLead, NoDisplayTiming: *noDisplayTiming, NoDegrade: !*degrade,
		LateAfter: *late, NoClientReport: *noReport, InsecureTLS: *insecure, Repeat: *repeat,
		Token: *token, MetricsURL: *metricsURL, MetricsInterval: *metricsInterval, MetricsAfter: *metricsAfter,
	}
	if cfg.Token == "" {
		cfg.Token = os.Getenv("HOLOCAST_TOKEN")
	}
	var err error
	if cfg.Sessions, err = parseInts(*sessions); err != nil {
		return usageErr("--sessions: %v", err)
	}
	if *displayRate != 0 && (*displayRate < 1 || *displayRate > 1000 || *displayLead < 0 || *displayLead > time.Second) {
		return usageErr("--display-rate %g, --display-lead %v: want 1..1000 Hz and 0..1s", *displayRate, *displayLead)
	}
	if *duration <= 0 || *warmup < 0 || *displayDelay < 0 || *late <= 0 {
		return usageErr("--duration and --late must be positive, --warmup and --display-delay not negative")
	}
	if *repeat < 1 || *repeat > 1000 {
		return usageErr("--repeat %d: want 1..1000", *repeat)
	}
	if *rate < 0 || *rate > 1000 {
		return usageErr("--rate %d: want 0 (trace rate) or a rate in Hz such as 60, 72, 90", *rate)
	}
	if (*width == 0) != (*height == 0) || *width < 0 || *height < 0 || *fps < 0 || *bitrate < 0 {
		return usageErr("--width and --height go together; sizes, --fps and --bitrate must be positive")
	}
	if *width != 0 && (*width%4 != 0 || *height%2 != 0 || *width < 64 || *height < 64) {
		return usageErr("size %dx%d: width must be a multiple of 4, height even, both at least 64", *width, *height)
	}
	if *url != "" {
		cfg.RequestOutput = *width != 0 || *fps != 0
		if *bitrate != 0 || *predictor != "" || *horizon != 0 {
			return usageErr("--bitrate, --predictor and --horizon configure the embedded node; not with --url")
		}
	} else if *token != "" {
		return usageErr("--token is for a node given by --url; the embedded node needs none")
	} else if *metricsURL != "" {
		return usageErr("--metrics-url is for a node given by --url (a separate process)")
	}
	if *metricsInterval <= 0 || *metricsAfter < 0 {
		return usageErr("--metrics-interval must be positive, --metrics-after not negative")
	}
	if *impair != "" {
		if *url != "" {
			return usageErr("--impair needs the embedded node (no --url)")
		}
		if cfg.Impair, err = bench.ParseImpairment(*impair); err != nil {
			return usageErr("--impair: %v", err)
		}
	}
	if len(traces) == 0 {
		if traces, err = bench.DefaultTraces(bench.DefaultTraceDir); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: %v\n", err)
			return 1
		}
	}
	cfg.Traces = traces
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if !*quiet {
		cfg.Progress = stderr
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				cfg.ProgressCR = true
			}
		}
	}
	var rec *os.File
	var recBuf *bufio.Writer
	if *recordOut != "" {
		if rec, err = os.Create(*recordOut); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: %v\n", err)
			return 1
		}
		defer func() { _ = rec.Close() }() // for early returns; the end checks Close
		recBuf = bufio.NewWriterSize(rec, 1<<20)
		cfg.Record = recBuf
	}

	var tn *os.File
	if *traceNet != "" {
		if *url != "" {
			return usageErr("--trace-net needs the embedded node (no --url)")
		}
		if tn, err = os.Create(*traceNet); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: %v\n", err)
			return 1
		}
		defer func() { _ = tn.Close() }()
		cfg.TraceNet = tn
	}

	rep, runErr := bench.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "holocast-bench run: %v\n", runErr)
		return 1
	}
	rc := 0
	if runErr != nil {
		fmt.Fprintf(stderr, "holocast-bench run: %v\n", runErr)
		rc = 1
	}
	if recBuf != nil {
		if err := errors.Join(recBuf.Flush(), rec.Close()); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: --record: %v\n", err)
			rc = 1
		}
	}
	if *jsonOut != "-" {
		if err := bench.WriteTable(stdout, rep); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: %v\n", err)
			return 1
		}
	}
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, stdout, func(w io.Writer) error { return bench.WriteJSON(w, rep) }); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: --json: %v\n", err)
			rc = 1
		}
	}
	if *reportOut != "" {
		if err := writeFile(*reportOut, stdout, func(w io.Writer) error { return bench.WriteReport(w, rep) }); err != nil {
			fmt.Fprintf(stderr, "holocast-bench run: --report: %v\n", err)
			rc = 1
		}
	}
	if rep.Interrupted && rc == 0 {
		rc = 130
	}
	return rc
}

// writeFile writes to path, or to stdout for "-".
func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	return errors.Join(write(bw), bw.Flush(), f.Close())
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 64 {
			return nil, fmt.Errorf("%d outside 1..64", n)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}
