// Package bench measures a Holocast render node the way headsets see it:
// simulated headsets (package clients/headset) replay recorded head motion
// against a node, over loopback or over pion's virtual network with
// impairments, and every received frame is scored — pose-to-frame latency,
// the node's stage times, frame rate, losses, freezes, bit rate and the
// prediction error at display time. It also compares the project's H.264
// encoder with ffmpeg's libx264 (Encode). cmd/holocast-bench is its CLI;
// docs/bench.md documents the figures and the JSON schema.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render"
)

// Config configures Run.
type Config struct {
	// URL is the node's signaling endpoint (…/v1/sessions); "" starts an
	// embedded node.
	URL string
	// Sessions lists the concurrency levels to run in turn; empty means {1}.
	Sessions []int
	// Duration is the measured window of each run, after Warmup.
	Duration, Warmup time.Duration
	// Rate is the pose rate in Hz; 0 replays the trace's own samples at
	// their recorded times.
	Rate int
	// Traces are trace files (see pose/trace); headset k of n replays
	// trace k mod len(Traces) from k/n of the way into it (leaving room
	// for the run). TraceFormat is their format ("" or "auto" detects).
	Traces      []string
	TraceFormat string
	// Width, Height, FPS, BitRate configure the embedded node (0 means its
	// defaults). With URL, they are requested with a DeviceConfig when
	// RequestOutput is set (the bit rate cannot be requested).
	Width, Height, FPS, BitRate int
	RequestOutput               bool
	// Scene, if set, is a .gltf/.glb file the embedded node shows to
	// every headset (loaded as holocast-node --scene loads it), to size a
	// node for a model; URL must be empty.
	Scene string
	// Predictor and FixedHorizon configure the embedded node.
	Predictor    string
	FixedHorizon time.Duration
	// DisplayDelay is added to the frame's arrival time to get the time
	// it is shown, for the prediction error (decode, queue, scan-out).
	DisplayDelay time.Duration
	// DisplayRate, if positive, gives each headset a simulated display of
	// this refresh rate (Hz) and DisplayLead (default 4 ms): it sends the
	// node its DisplayTiming once a second, and a frame is shown at the
	// first vsync at least DisplayLead after it arrived.
	DisplayRate float64
	DisplayLead time.Duration
	// NoDisplayTiming keeps the display's timing from the node: frames
	// are shown at its vsyncs all the same, but the node does not aim at
	// them (the comparison for aiming).
	NoDisplayTiming bool
	// NoDegrade turns the embedded node's degradation ladder off (holocast-node
	// --degrade=false): sessions keep the requested size and rate however
	// short the link or the node's time falls, which latency comparisons
	// at a fixed frame size need.
	NoDegrade bool
	// LateAfter counts a frame as late when its pose-to-frame latency
	// exceeds it; 0 means 100 ms.
	LateAfter time.Duration
	// Repeat runs each concurrency level this many times in a row (0
	// means once). A run that received no frame is in the report as a
	// failed run and the others still go; Run then returns the report
	// and an error wrapping ErrNoFrames.
	Repeat int
	// Impair, if set, runs the embedded node and the headsets over pion's
	// virtual network with this impairment (URL must be empty).
	Impair *Impairment
	// TraceNet, if set, receives the packet-by-packet trace of the first
	// session of the embedded node (see docs/network.md): RTP sent, RTCP
	// read, the congestion controller's state and, with a rate cap, the
	// first headset's bottleneck queue.
	TraceNet io.Writer
	// Record, if set, receives the Annex-B stream of headset 0 of the
	// first run, every frame received from its start.
	Record io.Writer
	// Progress, if set, gets a status line about once a second;
	// ProgressCR ends them with '\r' (a terminal) instead of '\n'.
	Progress   io.Writer
	ProgressCR bool
	// InsecureTLS skips verifying the node's TLS certificate (a node with
	// a self-signed certificate).
	InsecureTLS bool
	// Token is the bearer token (the node's token or a JWT) the headsets
	// send to a node given by URL; the embedded node needs none.
	Token string
	// NoClientReport stops the headsets from sending the once-a-second
	// ClientReport (motion-to-photon = median pose-to-frame + DisplayDelay)
	// that real clients send and the node uses as prediction horizon.
	NoClientReport bool
	// Logger receives the embedded node's logs; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds connecting each headset; 0 means 20 s.
	ConnectTimeout time.Duration
	// MetricsURL, if set, is the Prometheus endpoint of the node given by
	// URL (its --metrics-listen, http://ADDR/metrics): Run samples the
	// node process's resident memory, goroutines, open files and active
	// sessions every MetricsInterval (0 means 2 s) from before the first
	// headset connects until MetricsAfter after the last one has gone
	// (the CLI's default is DefaultMetricsAfter), into Report.NodeProcess.
	MetricsURL                    string
	MetricsInterval, MetricsAfter time.Duration
}

// defaults checks c and fills in its defaults.
func (c *Config) defaults() error {
	if len(c.Sessions) == 0 {
		c.Sessions = []int{1}
	}
	for _, n := range c.Sessions {
		if n < 1 || n > 64 {
			return fmt.Errorf("bench: %d sessions (want 1..64)", n)
		}
	}
	if c.Repeat < 0 || c.Repeat > 1000 {
		return fmt.Errorf("bench: repeat %d (want 1..1000)", c.Repeat)
	}
	c.Repeat = max(c.Repeat, 1)
	if c.Duration <= 0 {
		return errors.New("bench: duration must be positive")
	}
	if c.Warmup < 0 {
		return errors.New("bench: negative warm-up")
	}
	if c.Rate < 0 || c.Rate > 1000 {
		return fmt.Errorf("bench: pose rate %d Hz", c.Rate)
	}
	if len(c.Traces) == 0 {
		return errors.New("bench: no trace")
	}
	if c.Scene != "" && c.URL != "" {
		return errors.New("bench: a scene is for the embedded node; a node given by URL is started with its own --scene")
	}
	if c.Impair != nil && c.URL != "" {
		return errors.New("bench: impairment needs the embedded node (no --url)")
	}
	if c.TraceNet != nil && c.URL != "" {
		return errors.New("bench: the network trace needs the embedded node (no --url)")
	}
	if c.LateAfter <= 0 {
		c.LateAfter = 100 * time.Millisecond
	}
	if c.DisplayRate != 0 {
		if c.DisplayLead == 0 {
			c.DisplayLead = 4 * time.Millisecond
		}
		if _, err := headset.NewDisplay(c.DisplayRate, c.DisplayLead); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 20 * time.Second
	}
	if c.MetricsURL != "" && c.URL == "" {
		return errors.New("bench: node metrics need a node given by URL (the embedded node runs in this process)")
	}
	if c.MetricsInterval < 0 || c.MetricsAfter < 0 {
		return errors.New("bench: negative metrics interval or wait")
	}
	if c.MetricsInterval == 0 {
		c.MetricsInterval = DefaultMetricsInterval
	}
	if c.URL == "" {
		if c.Width == 0 || c.Height == 0 {
			c.Width, c.Height = render.DefaultWidth, render.DefaultHeight
		}
		if c.FPS == 0 {
			c.FPS = node.DefaultFPS
		}
		if c.BitRate == 0 {
			c.BitRate = node.DefaultBitRate
		}
	}
	return nil
}

// Run measures each concurrency level in turn and returns what it
// measured. When ctx is cancelled (Ctrl-C) it stops, marks the report
// interrupted and returns what was measured so far with a nil error.
func Run(ctx context.Context, cfg Config) (_ *Report, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	motions, err := loadMotions(&cfg)
	if err != nil {
		return nil, err
	}
	rep := newReport(&cfg)
	env, err := startEnv(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		env.close()
		if err == nil {
			err = env.traceErr
		}
	}()
	if cfg.MetricsURL != "" {
		if env.watch, err = startNodeWatch(ctx, &cfg); err != nil {
			return nil, err
		}
	}
	// The node's samples go into the report however the levels end; after
	// the last one the watch waits MetricsAfter for the node to clean up
	// (cut short by ctx).
	defer func() { rep.NodeProcess = env.watch.finish(ctx, cfg.MetricsAfter) }()
	var noFrames []error
levels:
	for i, n := range cfg.Sessions {
		for r := range cfg.Repeat {
			if ctx.Err() != nil {
				rep.Interrupted = true
				break levels
			}
			var rec io.Writer
			if i == 0 && r == 0 {
				rec = cfg.Record
			}
			res, err := runOnce(ctx, &cfg, env, motions, n, rec)
			if err != nil {
				if ctx.Err() != nil {
					rep.Interrupted = true
					break levels
				}
				if !errors.Is(err, ErrNoFrames) || res == nil {
					return rep, err
				}
				if cfg.Repeat > 1 {
					err = fmt.Errorf("repeat %d: %w", r+1, err)
				}
				noFrames = append(noFrames, err)
			}
			res.Repeat = r
			rep.Runs = append(rep.Runs, res)
			if rep.RunResult == nil {
				rep.RunResult = res
			}
			if res.Interrupted {
				rep.Interrupted = true
				break levels
			}
		}
	}
	return rep, errors.Join(noFrames...)
}

// loadMotions loads the traces some headset will replay, dropping the
// others from cfg.Traces.
func loadMotions(cfg *Config) ([]*motion, error) {
	maxN := 0
	for _, n := range cfg.Sessions {
		maxN = max(maxN, n)
	}
	if len(cfg.Traces) > maxN {
		cfg.Traces = cfg.Traces[:maxN]
	}
	var motions []*motion
	for _, p := range cfg.Traces {
		m, err := loadMotion(p, cfg.TraceFormat)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		motions = append(motions, m)
	}
	return motions, nil
}

// newReport starts the report of a run with cfg: its header, no results.
func newReport(cfg *Config) *Report {
	node := "embedded"
	if cfg.URL != "" {
		node = cfg.URL
	}
	return &Report{
		Schema: Schema, Started: time.Now().UTC().Truncate(time.Second),
		Machine: Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Config: ConfigSummary{
			Node: node, Sessions: cfg.Sessions, DurationS: cfg.Duration.Seconds(), WarmupS: cfg.Warmup.Seconds(),
			PoseRateHz: cfg.Rate, Traces: cfg.Traces, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.BitRate,
			DisplayDelayMS: ms(cfg.DisplayDelay), DisplayRateHz: cfg.DisplayRate, DisplayLeadMS: ms(cfg.DisplayLead),
			DisplayTiming: cfg.DisplayRate > 0 && !cfg.NoDisplayTiming, LateAfterMS: ms(cfg.LateAfter), Impair: cfg.Impair,
			ClientReports: !cfg.NoClientReport, Repeat: cfg.Repeat,
		},
		Runs: []*RunResult{},
	}
}

// runOnce measures one concurrency level: it connects n headsets, lets
// them replay their traces through the warm-up and the window, stops them
// and scores what they received. rec, if set, gets headset 0's stream.
//
// It owns every goroutine it starts (the dials, and each headset's pose
// sender and frame collector) and returns only after they have ended.
func runOnce(ctx context.Context, cfg *Config, e *env, motions []*motion, n int, rec io.Writer) (*RunResult, error) {
	sims := newSims(cfg, motions, n)
	start := time.Now()
	e.nw.restart(start)
	e.watch.setPhase(PhaseWarmup, n)
	defer e.watch.setPhase(PhaseTeardown, 0)
	dialCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	err := connect(dialCtx, cfg, e, sims)
	defer e.closeIdle()
	defer closeHeadsets(sims)
	if err != nil {
		return nil, err
	}
	res := newRunResult(dialCtx, cfg, sims[0].c, n)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	t0 := time.Now()
	acc := newRunAcc(cfg, start, t0, time.Duration(float64(time.Second)/res.FPSTarget))
	for _, s := range sims {
		s.base = s.c.Now()
		s.acc = acc
	}
	loops := startHeadsets(runCtx, cfg, sims, t0, rec)
	sp := startSampler(cfg, e, sims, start, acc.interval)
	wStart, wEnd, interrupted := measure(ctx, cfg, e, sims, t0)
	sp.finish()
	e.watch.setPhase(PhaseTeardown, 0)
	stop()
	if cfg.Progress != nil {
		fmt.Fprint(cfg.Progress, "\n")
	}
	// Frames in flight at wEnd still count if they arrive shortly; close
	// the clients so the collectors end.
	time.Sleep(100 * time.Millisecond)
	closeHeadsets(sims)
	loops.Wait()

	res.Interrupted = interrupted
	res.Start = wStart
	res.ConnectedS = round3(t0.Sub(start).Seconds())
	res.WindowStartS = round3(wStart.Sub(start).Seconds())
	if !wStart.Before(wEnd) || interrupted && wEnd.Sub(wStart) < 10*time.Millisecond {
		// Interrupted during warm-up: nothing measured.
		res.WindowS = 0
		return res, nil
	}
	score(res, sims, acc, wStart, wEnd)
	res.Verdict = verdict(cfg, res)
	if res.FramesReceived == 0 && !interrupted {
		return res, fmt.Errorf("%w in %v with %d session(s)", ErrNoFrames, wEnd.Sub(wStart).Round(time.Millisecond), n)
	}
	return res, nil
}

// newSims prepares n headsets (not yet connected). Every headset starts
// at its own point: k/n of the way into the part of its trace that leaves
// room for the whole run.
func newSims(cfg *Config, motions []*motion, n int) []*sim {
	span := cfg.Warmup + cfg.Duration + 5*time.Second
	sims := make([]*sim, n)
	for k := range sims {
		m := motions[k%len(motions)]
		sims[k] = &sim{idx: k, m: m, offset: m.offset(k, n, span)}
		if cfg.DisplayRate > 0 {
			d, _ := headset.NewDisplay(cfg.DisplayRate, cfg.DisplayLead) // checked by defaults
			sims[k].display, sims[k].silentDisplay = &d, cfg.NoDisplayTiming
		}
	}
	return sims
}

// connect dials every headset at once and waits for all of them; it
// returns every failure. The headsets that did connect have their client
// set either way, for closeHeadsets.
func connect(ctx context.Context, cfg *Config, e *env, sims []*sim) error {
	var wg sync.WaitGroup
	errs := make([]error, len(sims))
	for k, s := range sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.c, errs[k] = dialHeadset(ctx, cfg, e, k)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// closeHeadsets closes every connected headset's client (again, when
// already closed), allowing 3 s in all.
func closeHeadsets(sims []*sim) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, s := range sims {
		if s.c != nil {
			_ = s.c.Close(ctx)
		}
	}
}

// newRunResult starts the result of a level of n headsets with what the
// node reports in its SessionInfo to c (else the configured output).
func newRunResult(ctx context.Context, cfg *Config, c *headset.Client, n int) *RunResult {
	res := &RunResult{Sessions: n, Width: cfg.Width, Height: cfg.Height, FPSTarget: float64(cfg.FPS)}
	if si := waitSessionInfo(ctx, cfg, c); si != nil {
		res.Width, res.Height, res.FPSTarget = int(si.GetWidth()), int(si.GetHeight()), float64(si.GetFps())
		res.Encoder, res.Renderer, res.Predictor = si.GetEncoder(), si.GetRenderer(), si.GetPredictor()
	}
	if res.FPSTarget <= 0 {
		res.FPSTarget = float64(node.DefaultFPS)
	}
	return res
}

// waitSessionInfo waits briefly for the node's SessionInfo; after a
// DeviceConfig, for the one that reflects it.
func waitSessionInfo(ctx context.Context, cfg *Config, c *headset.Client) *holocastv1.SessionInfo {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		si := c.SessionInfo()
		if si != nil && (!cfg.RequestOutput ||
			(cfg.Width == 0 || int(si.GetWidth()) == cfg.Width) && (cfg.FPS == 0 || int(si.GetFps()) == cfg.FPS)) {
			return si
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c.SessionInfo()
}

// startHeadsets starts each headset's pose sender (until ctx is done) and
// frame collector (until its client is closed); the caller waits on the
// returned group after cancelling ctx and closing the clients.
func startHeadsets(ctx context.Context, cfg *Config, sims []*sim, t0 time.Time, rec io.Writer) *sync.WaitGroup {
	report := time.Second
	if cfg.NoClientReport {
		report = 0
	}
	loops := &sync.WaitGroup{}
	for _, s := range sims {
		loops.Add(2)
		go func() { defer loops.Done(); s.sendPoses(ctx, t0, cfg.Rate) }()
		var w io.Writer
		if s.idx == 0 {
			w = rec
		}
		go func() { defer loops.Done(); s.collect(t0, w, report, cfg.DisplayDelay) }()
	}
	return loops
}

// measure waits out the warm-up and the window, printing progress, and
// takes the headsets' counters at the window's start and end. When ctx is
// done first it returns at once with interrupted set.
func measure(ctx context.Context, cfg *Config, e *env, sims []*sim, t0 time.Time) (wStart, wEnd time.Time, interrupted bool) {
	tick := func() { progress(cfg, sims, t0, len(sims)) }
	interrupted = waitUntil(ctx, t0.Add(cfg.Warmup), tick)
	e.watch.setPhase(PhaseWindow, len(sims))
	wStart = time.Now()
	for _, s := range sims {
		s.startWindow(wStart)
	}
	if !interrupted {
		interrupted = waitUntil(ctx, wStart.Add(cfg.Duration), tick)
	}
	wEnd = time.Now()
	for _, s := range sims {
		s.endWindow(wEnd)
	}
	return wStart, wEnd, interrupted
}

// waitUntil waits until the given time, calling tick about once a second
// and once more when ctx is done; it reports whether ctx ended the wait.
func waitUntil(ctx context.Context, until time.Time, tick func()) bool {
	for {
		d := time.Until(until)
		if d <= 0 {
			return false
		}
		interrupted := false
		select {
		case <-ctx.Done():
			interrupted = true
		case <-time.After(min(d, time.Second)):
		}
		tick()
		if interrupted {
			return true
		}
	}
}

// progress writes the status line to cfg.Progress, if set: the phase,
// the time elapsed, the frames received and the frame rate of the last
// second.
func progress(cfg *Config, sims []*sim, t0 time.Time, n int) {
	if cfg.Progress == nil {
		return
	}
	el := time.Since(t0)
	total := cfg.Warmup + cfg.Duration
	var frames, recent int
	for _, s := range sims {
		s.mu.Lock()
		frames += s.total
		for i := len(s.recent) - 1; i >= 0 && el-s.recent[i] <= time.Second; i-- {
			recent++
		}
		s.mu.Unlock()
	}
	phase := "measuring"
	if el < cfg.Warmup {
		phase = "warm-up"
	}
	end := "\n"
	if cfg.ProgressCR {
		end = "\r"
	}
	fmt.Fprintf(cfg.Progress, "sessions %d  %-9s %5.1f/%.0fs  frames %6d  fps %5.1f/session%s",
		n, phase, el.Seconds(), total.Seconds(), frames, float64(recent)/float64(n), end)
}
