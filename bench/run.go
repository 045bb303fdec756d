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
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/go-gl/mathgl/mgl64"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/pose/eval"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/signaling"
)

// Schema names the JSON layout written by WriteJSON; it changes only when
// a field is removed or changes meaning.
const Schema = "holocast-bench.run/1"

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
	// Predictor and FixedHorizon configure the embedded node.
	Predictor    string
	FixedHorizon time.Duration
	// DisplayDelay is added to the frame's arrival time to get the time
	// it is shown, for the prediction error (decode, queue, scan-out).
	DisplayDelay time.Duration
	// LateAfter counts a frame as late when its pose-to-frame latency
	// exceeds it; 0 means 100 ms.
	LateAfter time.Duration
	// Impair, if set, runs the embedded node and the headsets over pion's
	// virtual network with this impairment (URL must be empty).
	Impair *Impairment
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
	// NoClientReport stops the headsets from sending the once-a-second
	// ClientReport (motion-to-photon = median pose-to-frame + DisplayDelay)
	// that real clients send and the node uses as prediction horizon.
	NoClientReport bool
	// Logger receives the embedded node's logs; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds connecting each headset; 0 means 20 s.
	ConnectTimeout time.Duration
}

// Report is everything a Run measured; it is the JSON document.
type Report struct {
	Schema      string        `json:"schema"`
	Started     time.Time     `json:"started"`
	Machine     Machine       `json:"machine"`
	Config      ConfigSummary `json:"config"`
	Interrupted bool          `json:"interrupted"`
	Runs        []*RunResult  `json:"runs"`
	// The first concurrency level's figures are repeated at the top level,
	// so that a one-level run reads as one flat object
	// (pose_to_frame_ms.p50, fps, stages_ms.render.p50, …).
	*RunResult
}

// Machine describes where the benchmark ran.
type Machine struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// ConfigSummary is the configuration as recorded in the report.
type ConfigSummary struct {
	Node           string      `json:"node"` // "embedded" or the URL
	Sessions       []int       `json:"sessions"`
	DurationS      float64     `json:"duration_s"`
	WarmupS        float64     `json:"warmup_s"`
	PoseRateHz     int         `json:"pose_rate_hz"`
	Traces         []string    `json:"traces"`
	Width          int         `json:"width"`
	Height         int         `json:"height"`
	FPS            int         `json:"fps"`
	BitRate        int         `json:"bitrate"`
	DisplayDelayMS float64     `json:"display_delay_ms"`
	LateAfterMS    float64     `json:"late_after_ms"`
	Impair         *Impairment `json:"impair"`
	ClientReports  bool        `json:"client_reports"`
}

// RunResult holds the figures of one concurrency level.
type RunResult struct {
	Sessions    int     `json:"sessions"`
	WindowS     float64 `json:"window_s"`
	Interrupted bool    `json:"interrupted"`
	Width       int     `json:"width"`
	Height      int     `json:"height"`
	Encoder     string  `json:"encoder"`
	Renderer    string  `json:"renderer"`
	Predictor   string  `json:"predictor"`

	FPSTarget float64 `json:"fps_target"`
	FPS       float64 `json:"fps"`
	FPSMin    float64 `json:"fps_min"`

	FramesReceived  int    `json:"frames_received"`
	FramesLost      uint64 `json:"frames_lost"`
	FramesDropped   uint64 `json:"frames_dropped"`
	FramesLate      int    `json:"frames_late"`
	FramesUnmatched int    `json:"frames_unmatched"`
	KeyFrames       int    `json:"key_frames"`
	PLIsSent        uint64 `json:"plis_sent"`
	// PacketsRecovered counts RTP packets that filled a gap in time (NACK
	// retransmissions); PacketsGivenUp the missing ones never recovered.
	PacketsRecovered uint64 `json:"packets_recovered"`
	PacketsGivenUp   uint64 `json:"packets_given_up"`

	BitrateKbps      float64 `json:"bitrate_kbps"`
	BitrateKbpsTotal float64 `json:"bitrate_kbps_total"`
	FreezeCount      int     `json:"freeze_count"`
	FreezeMS         float64 `json:"freeze_ms"`

	PoseToFrameMS      Dist      `json:"pose_to_frame_ms"`
	StagesMS           StagesMS  `json:"stages_ms"`
	HorizonMS          Dist      `json:"horizon_ms"`
	PredictionErrorDeg Dist      `json:"prediction_error_deg"`
	PredictionErrorCM  Dist      `json:"prediction_error_cm"`
	PerSession         []Session `json:"per_session"`

	// Frames are the per-frame samples of the window (for the report).
	Frames []FrameSample `json:"-"`
	// Start is when the window began.
	Start time.Time `json:"-"`
}

// StagesMS are the node's stage times from FrameInfo.
type StagesMS struct {
	PoseAge Dist `json:"pose_age"`
	Render  Dist `json:"render"`
	Convert Dist `json:"convert"`
	Encode  Dist `json:"encode"`
	Send    Dist `json:"send"`
}

// Session is one headset's figures within a run.
type Session struct {
	Index         int     `json:"index"`
	Trace         string  `json:"trace"`
	OffsetS       float64 `json:"offset_s"`
	Frames        int     `json:"frames_received"`
	FPS           float64 `json:"fps"`
	FramesLost    uint64  `json:"frames_lost"`
	FramesDropped uint64  `json:"frames_dropped"`
	KeyFrames     int     `json:"key_frames"`
	PLIsSent      uint64  `json:"plis_sent"`
	BitrateKbps   float64 `json:"bitrate_kbps"`
	FreezeMS      float64 `json:"freeze_ms"`
	PoseToFrameMS float64 `json:"pose_to_frame_ms_p50"`
	PosesSent     uint64  `json:"poses_sent"`
}

// FrameSample is one received frame.
type FrameSample struct {
	Session     int
	At          time.Duration // arrival of the last packet, from the window start
	PoseToFrame float64       // ms; NaN without a matched pose
	PoseAge     float64       // ms
	Render      float64
	Convert     float64
	Encode      float64
	Send        float64
	ErrDeg      float64 // NaN without a rendered pose
	KeyFrame    bool
	Bytes       int
}

// ErrNoFrames is returned when a run received no frame at all.
var ErrNoFrames = errors.New("bench: no frame received")

func (c *Config) defaults() error {
	if len(c.Sessions) == 0 {
		c.Sessions = []int{1}
	}
	for _, n := range c.Sessions {
		if n < 1 || n > 64 {
			return fmt.Errorf("bench: %d sessions (want 1..64)", n)
		}
	}
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
	if c.Impair != nil && c.URL != "" {
		return errors.New("bench: impairment needs the embedded node (no --url)")
	}
	if c.LateAfter <= 0 {
		c.LateAfter = 100 * time.Millisecond
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 20 * time.Second
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
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	// Only the traces some headset will replay are loaded.
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
	rep := &Report{
		Schema: Schema, Started: time.Now().UTC().Truncate(time.Second),
		Machine: Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Config: ConfigSummary{
			Node: "embedded", Sessions: cfg.Sessions, DurationS: cfg.Duration.Seconds(), WarmupS: cfg.Warmup.Seconds(),
			PoseRateHz: cfg.Rate, Traces: cfg.Traces, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.BitRate,
			DisplayDelayMS: ms(cfg.DisplayDelay), LateAfterMS: ms(cfg.LateAfter), Impair: cfg.Impair,
			ClientReports: !cfg.NoClientReport,
		},
		Runs: []*RunResult{},
	}
	env, err := startEnv(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer env.close()
	if cfg.URL != "" {
		rep.Config.Node = cfg.URL
	}
	for i, n := range cfg.Sessions {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		var rec io.Writer
		if i == 0 {
			rec = cfg.Record
		}
		res, err := runOnce(ctx, &cfg, env, motions, n, rec)
		if err != nil {
			if ctx.Err() != nil {
				rep.Interrupted = true
				break
			}
			return rep, err
		}
		rep.Runs = append(rep.Runs, res)
		if rep.RunResult == nil {
			rep.RunResult = res
		}
		if res.Interrupted {
			rep.Interrupted = true
			break
		}
	}
	return rep, nil
}

// env is the node (embedded or remote) and the network to it.
type env struct {
	url  string
	node *node.Node
	srv  *http.Server
	nw   *network
}

func startEnv(ctx context.Context, cfg *Config) (*env, error) {
	e := &env{url: cfg.URL}
	if cfg.Impair != nil {
		nw, err := newNetwork(cfg.Impair)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		e.nw = nw
	}
	if cfg.URL != "" {
		return e, nil
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ncfg := node.Config{
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.BitRate,
		Predictor: cfg.Predictor, FixedHorizon: cfg.FixedHorizon, Logger: log,
	}
	if e.nw != nil {
		nodeNet := e.nw.nodeNet
		ncfg.SettingEngine = func(se *webrtc.SettingEngine) { vnetSettings(se, nodeNet) }
	}
	n, err := node.New(ctx, ncfg)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("bench: embedded node: %w", err)
	}
	e.node = n
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	e.srv = &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	e.url = "http://" + ln.Addr().String() + signaling.SessionsPath
	return e, nil
}

func (e *env) close() {
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = e.srv.Shutdown(ctx)
		cancel()
	}
	if e.node != nil {
		_ = e.node.Close()
	}
	if e.nw != nil {
		e.nw.close()
	}
}

// sim is one simulated headset in a run.
type sim struct {
	idx    int
	c      *headset.Client
	m      *motion
	offset time.Duration
	base   int64 // client clock (µs) at the run's t0

	mu        sync.Mutex
	frames    []*headset.Frame // Data dropped after recording
	sizes     []int            // len(Data) of each frame
	arrivals  []time.Duration  // all arrivals from t0, for the progress line
	posesSent uint64
	startSt   headset.Stats
	endSt     headset.Stats
}

func runOnce(ctx context.Context, cfg *Config, e *env, motions []*motion, n int, rec io.Writer) (*RunResult, error) {
	span := cfg.Warmup + cfg.Duration + 5*time.Second
	sims := make([]*sim, n)
	for k := range sims {
		// Every headset starts at its own point: k/n of the way into the
		// part of its trace that leaves room for the whole run.
		m := motions[k%len(motions)]
		sims[k] = &sim{idx: k, m: m, offset: m.offset(k, n, span)}
	}
	// Connect every headset.
	dialCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for k, s := range sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.c, errs[k] = dialHeadset(dialCtx, cfg, e, k)
		}()
	}
	wg.Wait()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, s := range sims {
			if s.c != nil {
				_ = s.c.Close(cctx)
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	res := &RunResult{Sessions: n, Width: cfg.Width, Height: cfg.Height, FPSTarget: float64(cfg.FPS)}
	if si := waitSessionInfo(dialCtx, cfg, sims[0].c); si != nil {
		res.Width, res.Height, res.FPSTarget = int(si.GetWidth()), int(si.GetHeight()), float64(si.GetFps())
		res.Encoder, res.Renderer, res.Predictor = si.GetEncoder(), si.GetRenderer(), si.GetPredictor()
	}
	if res.FPSTarget <= 0 {
		res.FPSTarget = float64(node.DefaultFPS)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	t0 := time.Now()
	for _, s := range sims {
		s.base = s.c.Now()
	}
	report := time.Second
	if cfg.NoClientReport {
		report = 0
	}
	var loops sync.WaitGroup
	for _, s := range sims {
		loops.Add(2)
		go func() { defer loops.Done(); s.sendPoses(runCtx, t0, cfg.Rate) }()
		var w io.Writer
		if s.idx == 0 {
			w = rec
		}
		go func() { defer loops.Done(); s.collect(t0, w, report, cfg.DisplayDelay) }()
	}

	interrupted := false
	wait := func(until time.Time) {
		for !interrupted {
			d := time.Until(until)
			if d <= 0 {
				return
			}
			select {
			case <-ctx.Done():
				interrupted = true
			case <-time.After(min(d, time.Second)):
			}
			progress(cfg, sims, t0, n)
		}
	}
	wait(t0.Add(cfg.Warmup))
	wStart := time.Now()
	for _, s := range sims {
		s.mu.Lock()
		s.startSt = s.c.Stats()
		s.mu.Unlock()
	}
	wait(wStart.Add(cfg.Duration))
	wEnd := time.Now()
	for _, s := range sims {
		s.mu.Lock()
		s.endSt = s.c.Stats()
		s.mu.Unlock()
	}
	stop()
	if cfg.Progress != nil {
		fmt.Fprint(cfg.Progress, "\n")
	}
	// Frames in flight at wEnd still count if they arrive shortly; close
	// the clients so the collectors end.
	time.Sleep(100 * time.Millisecond)
	cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
	for _, s := range sims {
		_ = s.c.Close(cctx)
	}
	ccancel()
	loops.Wait()

	res.Interrupted = interrupted
	res.Start = wStart
	if !wStart.Before(wEnd) || interrupted && wEnd.Sub(wStart) < 10*time.Millisecond {
		// Interrupted during warm-up: nothing measured.
		res.WindowS = 0
		return res, nil
	}
	score(cfg, res, sims, t0, wStart, wEnd)
	if res.FramesReceived == 0 && !interrupted {
		return res, fmt.Errorf("%w in %v with %d session(s)", ErrNoFrames, wEnd.Sub(wStart).Round(time.Millisecond), n)
	}
	return res, nil
}

func dialHeadset(ctx context.Context, cfg *Config, e *env, k int) (*headset.Client, error) {
	opts := headset.Options{FrameBuffer: 1024}
	if cfg.InsecureTLS {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
		opts.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	if e.nw != nil {
		cn, err := e.nw.client(k)
		if err != nil {
			return nil, err
		}
		se := &webrtc.SettingEngine{}
		vnetSettings(se, cn)
		if opts.API, err = headset.NewAPI(se); err != nil {
			return nil, err
		}
	}
	c, err := headset.Dial(ctx, e.url, opts)
	if err != nil {
		return nil, fmt.Errorf("headset %d: %w", k, err)
	}
	if err := c.WaitControl(ctx); err != nil {
		_ = c.Close(context.Background())
		return nil, fmt.Errorf("headset %d: %w", k, err)
	}
	if cfg.RequestOutput {
		dc := &holocastv1.DeviceConfig{Width: uint32(cfg.Width), Height: uint32(cfg.Height), MaxFps: uint32(cfg.FPS),
			RefreshRateHz: float32(cfg.Rate), DeviceName: "holocast-bench"}
		if err := c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: dc}}); err != nil {
			_ = c.Close(context.Background())
			return nil, fmt.Errorf("headset %d: device config: %w", k, err)
		}
	}
	return c, nil
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

// sendPoses replays the trace from s.offset, t0 being trace time offset.
func (s *sim) sendPoses(ctx context.Context, t0 time.Time, rate int) {
	var seq uint64
	var step time.Duration
	if rate > 0 {
		step = time.Second / time.Duration(rate)
	}
	e := time.Duration(0) // elapsed since t0 of the next sample
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Since(t0)
		// Send the newest due sample (after a stall, skip the backlog).
		for {
			nx := e + step
			if rate == 0 {
				nx = s.m.nextSample(s.offset+e) - s.offset
			}
			if nx > now {
				break
			}
			e = nx
		}
		q, p := s.m.at(s.offset + e)
		seq++
		err := s.c.SendPose(&holocastv1.Pose{
			Seq: seq, SampleTimeUs: s.base + e.Microseconds(),
			Orientation: wire.QuatToProto(q),
			Position:    wire.Vec3ToProto(p),
		})
		if err == nil {
			s.mu.Lock()
			s.posesSent++
			s.mu.Unlock()
		}
		nx := e + step
		if rate == 0 {
			nx = s.m.nextSample(s.offset+e) - s.offset
		}
		e = nx
		timer.Reset(time.Until(t0.Add(e)))
	}
}

// collect stores every frame until the client is closed. Unless report
// is 0 it also does what a headset does once a second: send a
// ClientReport with its measured motion-to-photon latency (median
// pose-to-frame of the last second + the display delay), which the node
// uses as its prediction horizon.
func (s *sim) collect(t0 time.Time, rec io.Writer, report time.Duration, display time.Duration) {
	var recent []float64
	var lastReport time.Time
	var received uint64
	for f := range s.c.Frames() {
		if rec != nil {
			if _, err := rec.Write(f.Data); err != nil {
				rec = nil
			}
		}
		size := len(f.Data)
		f.Data = nil
		s.mu.Lock()
		s.frames = append(s.frames, f)
		s.sizes = append(s.sizes, size)
		s.arrivals = append(s.arrivals, f.Received.Sub(t0))
		s.mu.Unlock()
		received++
		if report <= 0 {
			continue
		}
		if d, ok := s.c.PoseToFrame(f); ok && d > 0 {
			recent = append(recent, float64(d))
		}
		if lastReport.IsZero() {
			lastReport = f.Received
		}
		if f.Received.Sub(lastReport) >= report && len(recent) > 0 {
			lastReport = f.Received
			p2f := time.Duration(summarizeRaw(recent))
			recent = recent[:0]
			_ = s.c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ClientReport{ClientReport: &holocastv1.ClientReport{
				MotionToPhotonUs: uint32((p2f + display).Microseconds()), DisplayDelayUs: uint32(display.Microseconds()),
				PoseToFrameUs: uint32(p2f.Microseconds()), FramesReceived: received, FramesDisplayed: received,
			}}})
		}
	}
}

// summarizeRaw returns the median of v (v is reordered).
func summarizeRaw(v []float64) float64 {
	sort.Float64s(v)
	return eval.Percentile(v, 50)
}

func progress(cfg *Config, sims []*sim, t0 time.Time, n int) {
	if cfg.Progress == nil {
		return
	}
	el := time.Since(t0)
	total := cfg.Warmup + cfg.Duration
	var frames, recent int
	for _, s := range sims {
		s.mu.Lock()
		frames += len(s.arrivals)
		for i := len(s.arrivals) - 1; i >= 0 && el-s.arrivals[i] <= time.Second; i-- {
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

// score turns the collected frames into figures.
func score(cfg *Config, res *RunResult, sims []*sim, t0, wStart, wEnd time.Time) {
	win := wEnd.Sub(wStart)
	res.WindowS = round3(win.Seconds())
	interval := time.Duration(float64(time.Second) / res.FPSTarget)
	var p2f, age, rend, conv, enc, send, hor, errDeg, errCM []float64
	var totalBytes int
	res.FPSMin = math.Inf(1)
	for _, s := range sims {
		s.mu.Lock()
		frames, sizes := s.frames, s.sizes
		s.mu.Unlock()
		ss := Session{Index: s.idx, Trace: s.m.name, OffsetS: round3(s.offset.Seconds()), PosesSent: s.posesSent}
		var bytes int
		arr := []time.Duration{0}
		var sp2f []float64
		for i, f := range frames {
			if f.Received.Before(wStart) || f.Received.After(wEnd) {
				continue
			}
			fs := FrameSample{Session: s.idx, At: f.Received.Sub(wStart), PoseToFrame: math.NaN(), ErrDeg: math.NaN(),
				KeyFrame: f.KeyFrame, Bytes: sizes[i]}
			ss.Frames++
			arr = append(arr, f.Received.Sub(wStart))
			bytes += sizes[i]
			if f.KeyFrame {
				ss.KeyFrames++
			}
			if f.Info == nil {
				res.FramesUnmatched++
				res.Frames = append(res.Frames, fs)
				continue
			}
			tm := f.Info.GetTimings()
			fs.PoseAge, fs.Render, fs.Convert = usMS(tm.GetPoseAgeUs()), usMS(tm.GetRenderUs()), usMS(tm.GetConvertUs())
			fs.Encode, fs.Send = usMS(tm.GetEncodeUs()), usMS(tm.GetSendUs())
			rend, conv = append(rend, fs.Render), append(conv, fs.Convert)
			enc, send = append(enc, fs.Encode), append(send, fs.Send)
			if d, ok := s.c.PoseToFrame(f); ok {
				fs.PoseToFrame = ms(d)
				p2f = append(p2f, fs.PoseToFrame)
				sp2f = append(sp2f, fs.PoseToFrame)
				age = append(age, fs.PoseAge)
				hor = append(hor, usMS(f.Info.GetHorizonUs()))
				if d > cfg.LateAfter {
					res.FramesLate++
				}
				// Prediction error at display time.
				shown := f.Received.Add(cfg.DisplayDelay).Sub(t0)
				tq, tp := s.m.at(s.offset + shown)
				if rq := f.Info.GetRenderedOrientation(); rq != nil {
					q := wire.QuatFromProto(rq)
					if l := q.Len(); l > 0.5 {
						fs.ErrDeg = pose.QuatAngle(q.Scale(1/l), tq) * 180 / math.Pi
						errDeg = append(errDeg, fs.ErrDeg)
					}
				}
				if rp := f.Info.GetRenderedPosition(); rp != nil && s.m.HasPosition {
					d := mgl64.Vec3{float64(rp.GetX()), float64(rp.GetY()), float64(rp.GetZ())}.Sub(tp)
					errCM = append(errCM, d.Len()*100)
				}
			}
			res.Frames = append(res.Frames, fs)
		}
		arr = append(arr, win)
		nf, fd := freezes(arr, interval)
		res.FreezeCount += nf
		res.FreezeMS += ms(fd)
		ss.FreezeMS = round3(ms(fd))
		ss.FPS = round3(float64(ss.Frames) / win.Seconds())
		ss.BitrateKbps = round3(float64(bytes) * 8 / win.Seconds() / 1000)
		ss.FramesLost = s.endSt.FramesLost - s.startSt.FramesLost
		ss.FramesDropped = s.endSt.FramesDropped - s.startSt.FramesDropped
		ss.PLIsSent = s.endSt.PLIsSent - s.startSt.PLIsSent
		ss.PoseToFrameMS = summarize(sp2f).P50
		res.FramesReceived += ss.Frames
		res.FramesLost += ss.FramesLost
		res.FramesDropped += ss.FramesDropped
		res.KeyFrames += ss.KeyFrames
		res.PLIsSent += ss.PLIsSent
		res.PacketsRecovered += s.endSt.PacketsRecovered - s.startSt.PacketsRecovered
		res.PacketsGivenUp += s.endSt.PacketsGivenUp - s.startSt.PacketsGivenUp
		res.FPS += ss.FPS
		res.FPSMin = min(res.FPSMin, ss.FPS)
		totalBytes += bytes
		res.PerSession = append(res.PerSession, ss)
	}
	res.FPS = round3(res.FPS / float64(len(sims)))
	res.FPSMin = round3(res.FPSMin)
	res.FreezeMS = round3(res.FreezeMS)
	res.BitrateKbpsTotal = round3(float64(totalBytes) * 8 / win.Seconds() / 1000)
	res.BitrateKbps = round3(res.BitrateKbpsTotal / float64(len(sims)))
	res.PoseToFrameMS = summarize(p2f)
	res.StagesMS = StagesMS{PoseAge: summarize(age), Render: summarize(rend), Convert: summarize(conv), Encode: summarize(enc), Send: summarize(send)}
	res.HorizonMS = summarize(hor)
	res.PredictionErrorDeg = summarize(errDeg)
	res.PredictionErrorCM = summarize(errCM)
}

func usMS(us uint32) float64 { return float64(us) / 1000 }
