package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// This file samples a separate node process's Prometheus endpoint during
// a run (Config.MetricsURL): resident memory, Go heap, goroutines, open
// files and active sessions, from before the first headset connects until
// a while after the last one has gone, for soak runs that look for leaks.

// The phases of NodeSample.Phase.
const (
	PhaseBefore   = "before"   // before the first headset connects: the baseline
	PhaseWarmup   = "warmup"   // a level's headsets connecting and warming up
	PhaseWindow   = "window"   // a level's measured window
	PhaseTeardown = "teardown" // between a level's window and the next level
	PhaseAfter    = "after"    // after the last level's headsets have gone
)

// The metrics a NodeSample reads (the Go and process collectors of
// client_golang, and the node's own gauge).
const (
	metricRSS        = "process_resident_memory_bytes"
	metricHeap       = "go_memstats_heap_inuse_bytes"
	metricGoroutines = "go_goroutines"
	metricFDs        = "process_open_fds"
	metricSessions   = "holocast_sessions_active"
)

// DefaultMetricsInterval is Config.MetricsInterval's default;
// DefaultMetricsAfter is holocast-bench's for Config.MetricsAfter.
const (
	DefaultMetricsInterval = 2 * time.Second
	DefaultMetricsAfter    = 10 * time.Second
)

// NodeSample is one scrape of the node's /metrics. A gauge the node did
// not export is -1 (the process_* gauges exist only where the process
// collector can read them, e.g. Linux).
type NodeSample struct {
	// TS ("t_s") is the scrape's time from the run's start, in seconds.
	TS float64 `json:"t_s"`
	// Phase ("phase") is where the run was: before, warmup, window,
	// teardown or after.
	Phase string `json:"phase"`
	// Sessions ("sessions") is the headsets of the level running (0 before
	// and after).
	Sessions int `json:"sessions"`
	// RSSBytes ("rss_bytes") is process_resident_memory_bytes.
	RSSBytes float64 `json:"rss_bytes"`
	// HeapInuseBytes ("heap_inuse_bytes") is go_memstats_heap_inuse_bytes.
	HeapInuseBytes float64 `json:"heap_inuse_bytes"`
	// Goroutines ("goroutines") is go_goroutines.
	Goroutines float64 `json:"goroutines"`
	// OpenFDs ("open_fds") is process_open_fds.
	OpenFDs float64 `json:"open_fds"`
	// SessionsActive ("sessions_active") is holocast_sessions_active.
	SessionsActive float64 `json:"sessions_active"`
}

// NodeProcess is what the run saw of the node process through its
// metrics endpoint: every sample and a summary per gauge.
type NodeProcess struct {
	// MetricsURL ("metrics_url") is the endpoint scraped.
	MetricsURL string `json:"metrics_url"`
	// IntervalS ("interval_s") is the time between scrapes, in seconds;
	// AfterS ("after_s") how long it went on after the headsets had gone.
	IntervalS float64 `json:"interval_s"`
	AfterS    float64 `json:"after_s"`
	// ScrapeErrors ("scrape_errors") counts failed scrapes (not in
	// Samples); LastError ("last_error") is the last one's message.
	ScrapeErrors int    `json:"scrape_errors"`
	LastError    string `json:"last_error"`
	// Samples ("samples") are the scrapes in time order.
	Samples []NodeSample `json:"samples"`
	// Summary ("summary") sums up each gauge over the samples.
	Summary NodeSummary `json:"summary"`
}

// NodeSummary sums up the node's gauges over a run. The steady part is
// the last level's measured window without its first 10%: what a leak
// shows in as a slope.
type NodeSummary struct {
	// SteadyFromS and SteadyToS ("steady_from_s", "steady_to_s") bound
	// the steady part, in seconds from the run's start; SteadySamples
	// ("steady_samples") is the samples in it.
	SteadyFromS   float64 `json:"steady_from_s"`
	SteadyToS     float64 `json:"steady_to_s"`
	SteadySamples int     `json:"steady_samples"`
	// One trend per gauge (NodeSample's fields of the same name).
	RSSBytes       Trend `json:"rss_bytes"`
	HeapInuseBytes Trend `json:"heap_inuse_bytes"`
	Goroutines     Trend `json:"goroutines"`
	OpenFDs        Trend `json:"open_fds"`
	SessionsActive Trend `json:"sessions_active"`
}

// Trend sums up one gauge over a run. Every field is 0 when the gauge
// was never exported.
type Trend struct {
	// Before ("before") is the last sample before the first headset
	// connected: the baseline.
	Before float64 `json:"before"`
	// Start and End ("start", "end") are the first and the last sample of
	// the steady part.
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Min and Max ("min", "max") are over every sample.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// SlopePerHour ("slope_per_hour") is the least-squares slope over the
	// steady part, in the gauge's unit per hour (0 with fewer than 2
	// samples there).
	SlopePerHour float64 `json:"slope_per_hour"`
	// After ("after") is the last sample, taken after the headsets had
	// gone and Config.MetricsAfter had passed; AfterDelta ("after_delta")
	// is After - Before: what the sessions left behind.
	After      float64 `json:"after"`
	AfterDelta float64 `json:"after_delta"`
}

// nodeWatch samples the node's metrics endpoint every interval on its own
// goroutine, tagging each sample with the run's phase. Run owns it: it is
// started before the first level (startNodeWatch takes the baseline) and
// finish stops its goroutine. Its methods do nothing on a nil *nodeWatch
// (no Config.MetricsURL).
type nodeWatch struct {
	url    string
	client *http.Client
	every  time.Duration
	t0     time.Time

	poke chan struct{} // asks for a sample now (phase change)
	stop chan struct{} // closed by finish
	done chan struct{} // closed when the goroutine has ended

	mu       sync.Mutex
	phase    string
	sessions int
	samples  []NodeSample
	errs     int
	lastErr  string
}

// startNodeWatch takes the baseline sample of cfg.MetricsURL (a scrape
// that fails is the run's error: nothing to compare with) and starts
// sampling. The caller must call finish.
func startNodeWatch(ctx context.Context, cfg *Config) (*nodeWatch, error) {
	w := &nodeWatch{
		url: cfg.MetricsURL, client: &http.Client{Timeout: 5 * time.Second}, every: cfg.MetricsInterval,
		t0: time.Now(), poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		phase: PhaseBefore,
	}
	if err := w.sample(ctx); err != nil {
		return nil, fmt.Errorf("bench: node metrics: %w", err)
	}
	go w.loop()
	return w, nil
}

// loop samples every w.every and when poked, until stop is closed.
func (w *nodeWatch) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		case <-w.poke:
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.client.Timeout)
		_ = w.sample(ctx) // counted in errs
		cancel()
	}
}

// setPhase tags the samples from now on with phase and the level's
// number of headsets, and asks for a sample at once.
func (w *nodeWatch) setPhase(phase string, sessions int) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.phase, w.sessions = phase, sessions
	w.mu.Unlock()
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// finish marks the sessions as gone, keeps sampling for after (less if
// ctx ends first), takes a last sample, stops the goroutine and returns
// the samples with their summary.
func (w *nodeWatch) finish(ctx context.Context, after time.Duration) *NodeProcess {
	if w == nil {
		return nil
	}
	w.setPhase(PhaseAfter, 0)
	t := time.NewTimer(after)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	close(w.stop)
	<-w.done
	sctx, cancel := context.WithTimeout(context.Background(), w.client.Timeout)
	_ = w.sample(sctx)
	cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	np := &NodeProcess{
		MetricsURL: w.url, IntervalS: w.every.Seconds(), AfterS: after.Seconds(),
		ScrapeErrors: w.errs, LastError: w.lastErr, Samples: w.samples,
	}
	if np.Samples == nil {
		np.Samples = []NodeSample{}
	}
	np.Summary = summarizeNode(np.Samples)
	return np
}

// sample scrapes the endpoint once and keeps the sample, or counts the
// error.
func (w *nodeWatch) sample(ctx context.Context) error {
	w.mu.Lock()
	phase, sessions := w.phase, w.sessions
	w.mu.Unlock()
	at := time.Since(w.t0)
	s, err := scrapeNode(ctx, w.client, w.url)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs++
		w.lastErr = err.Error()
		return err
	}
	s.TS, s.Phase, s.Sessions = round3(at.Seconds()), phase, sessions
	w.samples = append(w.samples, s)
	return nil
}

// scrapeNode GETs url, a Prometheus endpoint, in the text exposition
// format and reads the gauges of a NodeSample from it. go_goroutines must
// be there (else it is not a Go process's endpoint); the others are -1
// when absent.
func scrapeNode(ctx context.Context, client *http.Client, url string) (NodeSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return NodeSample{}, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return NodeSample{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return NodeSample{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseNodeMetrics(io.LimitReader(resp.Body, 16<<20))
}

// parseNodeMetrics reads a NodeSample's gauges from a scrape in the text
// exposition format.
func parseNodeMetrics(r io.Reader) (NodeSample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return NodeSample{}, fmt.Errorf("parsing metrics: %w", err)
	}
	s := NodeSample{
		RSSBytes: gauge(fams, metricRSS), HeapInuseBytes: gauge(fams, metricHeap),
		Goroutines: gauge(fams, metricGoroutines), OpenFDs: gauge(fams, metricFDs),
		SessionsActive: gauge(fams, metricSessions),
	}
	if s.Goroutines < 0 {
		return NodeSample{}, errors.New("parsing metrics: no " + metricGoroutines + " (not a Go process's Prometheus endpoint?)")
	}
	return s, nil
}

// gauge is the value of the first (unlabelled) series of family name,
// a gauge, counter or untyped; -1 when there is none.
func gauge(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return -1
	}
	m := f.GetMetric()[0]
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return -1
}

// summarizeNode sums up samples (in time order) gauge by gauge.
func summarizeNode(samples []NodeSample) NodeSummary {
	from, to := steadyPart(samples)
	var sum NodeSummary
	if from < to {
		sum.SteadyFromS, sum.SteadyToS = samples[from].TS, samples[to-1].TS
		sum.SteadySamples = to - from
	}
	sum.RSSBytes = trend(samples, from, to, func(s NodeSample) float64 { return s.RSSBytes })
	sum.HeapInuseBytes = trend(samples, from, to, func(s NodeSample) float64 { return s.HeapInuseBytes })
	sum.Goroutines = trend(samples, from, to, func(s NodeSample) float64 { return s.Goroutines })
	sum.OpenFDs = trend(samples, from, to, func(s NodeSample) float64 { return s.OpenFDs })
	sum.SessionsActive = trend(samples, from, to, func(s NodeSample) float64 { return s.SessionsActive })
	return sum
}

// steadyPart returns the index range [from, to) of the steady part: the
// last run of consecutive window samples, less those in its first 10% of
// time. Empty (from == to) without window samples.
func steadyPart(samples []NodeSample) (from, to int) {
	to = len(samples)
	for to > 0 && samples[to-1].Phase != PhaseWindow {
		to--
	}
	from = to
	for from > 0 && samples[from-1].Phase == PhaseWindow {
		from--
	}
	if from == to {
		return 0, 0
	}
	skip := samples[from].TS + 0.1*(samples[to-1].TS-samples[from].TS)
	for from < to-1 && samples[from].TS < skip {
		from++
	}
	return from, to
}

// trend sums up the gauge v of samples, [from, to) being the steady part;
// samples where the gauge is absent (negative) are left out.
func trend(samples []NodeSample, from, to int, v func(NodeSample) float64) Trend {
	var t Trend
	t.Min, t.Max = math.Inf(1), math.Inf(-1)
	before, after := -1.0, -1.0
	var xs, ys []float64
	for i, s := range samples {
		x := v(s)
		if x < 0 {
			continue
		}
		t.Min, t.Max = math.Min(t.Min, x), math.Max(t.Max, x)
		if s.Phase == PhaseBefore {
			before = x
		}
		after = x
		if i >= from && i < to {
			xs, ys = append(xs, s.TS/3600), append(ys, x)
		}
	}
	if math.IsInf(t.Min, 1) {
		return Trend{}
	}
	if len(ys) > 0 {
		t.Start, t.End = ys[0], ys[len(ys)-1]
	}
	t.SlopePerHour = round3(slope(xs, ys))
	if before >= 0 {
		t.Before = before
	}
	if n := len(samples); n > 0 && samples[n-1].Phase == PhaseAfter && after >= 0 {
		t.After = after
		if before >= 0 {
			t.AfterDelta = after - before
		}
	}
	return t
}

// slope is the least-squares slope of ys against xs; 0 with fewer than 2
// points or no spread in xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 {
		return 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

// nodeTable is the node process's summary as rows of text, shared by
// WriteTable and WriteReport: a header row, then one row per gauge with
// its before, start, end, max, slope per hour, after and after - before,
// memory in MiB.
func nodeTable(np *NodeProcess) [][]string {
	rows := [][]string{{"", "before", "steady start", "steady end", "max", "slope /h", "after", "after − before"}}
	const mib = 1 << 20
	for _, g := range []struct {
		name  string
		t     Trend
		scale float64
		f     string
	}{
		{"RSS MiB", np.Summary.RSSBytes, mib, "%.1f"},
		{"Go heap in use MiB", np.Summary.HeapInuseBytes, mib, "%.1f"},
		{"goroutines", np.Summary.Goroutines, 1, "%.0f"},
		{"open fds", np.Summary.OpenFDs, 1, "%.0f"},
		{"sessions active", np.Summary.SessionsActive, 1, "%.0f"},
	} {
		row := []string{g.name}
		for _, v := range []float64{g.t.Before, g.t.Start, g.t.End, g.t.Max} {
			row = append(row, fmt.Sprintf(g.f, v/g.scale))
		}
		row = append(row, fmt.Sprintf("%+.1f", g.t.SlopePerHour/g.scale), fmt.Sprintf(g.f, g.t.After/g.scale), fmt.Sprintf("%+"+g.f[1:], g.t.AfterDelta/g.scale))
		rows = append(rows, row)
	}
	return rows
}

// nodeHeading says what nodeTable summarises: the endpoint, the samples
// and the steady part.
func nodeHeading(np *NodeProcess) string {
	s := fmt.Sprintf("node process (%s): %d samples every %gs, until %gs after the sessions ended; steady part %.0f–%.0f s (%d samples)",
		np.MetricsURL, len(np.Samples), np.IntervalS, np.AfterS, np.Summary.SteadyFromS, np.Summary.SteadyToS, np.Summary.SteadySamples)
	if np.ScrapeErrors > 0 {
		s += fmt.Sprintf("; %d failed scrapes (last: %s)", np.ScrapeErrors, np.LastError)
	}
	return s
}
