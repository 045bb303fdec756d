package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/node"
)

// metricsNode starts a node with metrics (as holocast-node has), serving
// signaling and, separately, its metrics handler; it returns the
// signaling endpoint and the metrics URL.
func metricsNode(t *testing.T, token string) (sessionsURL, metricsURL string) {
	t.Helper()
	cfg := node.Config{Width: 320, Height: 180, FPS: 30, BitRate: 800_000, Metrics: metrics.New(),
		Logger: slog.New(slog.DiscardHandler), MaxSessionsPerClient: -1, AllowLoopbackCandidates: true}
	if token != "" {
		a, err := auth.New(auth.Config{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Auth = a
	}
	n, err := node.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	msrv := httptest.NewServer(n.MetricsHandler())
	t.Cleanup(func() {
		msrv.Close()
		srv.Close()
		_ = n.Close()
	})
	return srv.URL + "/v1/sessions", msrv.URL + "/metrics"
}

// TestScrapeNode reads a real node's /metrics (client_golang's registry
// with the Go and process collectors) and refuses what is not one.
func TestScrapeNode(t *testing.T) {
	_, murl := metricsNode(t, "")
	s, err := scrapeNode(context.Background(), http.DefaultClient, murl)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", s)
	// This test process's own figures (the node runs in it).
	if s.Goroutines < 2 || s.RSSBytes < 1<<20 || s.HeapInuseBytes <= 0 || s.OpenFDs < 3 || s.SessionsActive != 0 {
		t.Errorf("sample %+v", s)
	}

	base := strings.TrimSuffix(murl, "/metrics")
	for _, tc := range []struct{ url, want string }{
		{base + "/nothing", "404"},
		{base + "/healthz", "parsing metrics"}, // text, but no exposition
		{"http://127.0.0.1:1/metrics", "connect"},
	} {
		if _, err := scrapeNode(context.Background(), http.DefaultClient, tc.url); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.url, err, tc.want)
		}
	}
	if _, err := parseNodeMetrics(strings.NewReader("go_goroutines{ 12\n")); err == nil || !strings.Contains(err.Error(), "parsing metrics") {
		t.Errorf("malformed exposition: err = %v", err)
	}
	if _, err := parseNodeMetrics(strings.NewReader("holocast_sessions_active 1\n")); err == nil || !strings.Contains(err.Error(), "no go_goroutines") {
		t.Errorf("exposition of no Go process: err = %v", err)
	}
	// Only go_goroutines is required; the others are -1 when absent.
	s, err = parseNodeMetrics(strings.NewReader("# TYPE go_goroutines gauge\ngo_goroutines 7\n"))
	if err != nil || s.Goroutines != 7 || s.RSSBytes != -1 || s.OpenFDs != -1 || s.SessionsActive != -1 {
		t.Errorf("minimal exposition: %+v, %v", s, err)
	}
}

// sampleAt is a sample at t seconds in phase with every gauge at v.
func sampleAt(t float64, phase string, v float64) NodeSample {
	return NodeSample{TS: t, Phase: phase, RSSBytes: v, HeapInuseBytes: v, Goroutines: v, OpenFDs: v, SessionsActive: v}
}

func TestSummarizeNode(t *testing.T) {
	// A gauge that rises by 1 every 36 s in the window (100 per hour).
	var linear []NodeSample
	linear = append(linear, sampleAt(0, PhaseBefore, 10), sampleAt(1, PhaseWarmup, 50))
	for i := range 11 {
		ts := 2 + 36*float64(i)
		linear = append(linear, sampleAt(ts, PhaseWindow, 60+float64(i)))
	}
	linear = append(linear, sampleAt(400, PhaseTeardown, 70), sampleAt(410, PhaseAfter, 12))

	// Two levels: only the last one's window is the steady part; the
	// first one's spike counts in max.
	twoLevels := []NodeSample{
		sampleAt(0, PhaseBefore, 5),
		sampleAt(1, PhaseWindow, 200), sampleAt(2, PhaseWindow, 300),
		sampleAt(3, PhaseTeardown, 100), sampleAt(4, PhaseWarmup, 90),
		sampleAt(5, PhaseWindow, 40), sampleAt(15, PhaseWindow, 40), sampleAt(25, PhaseWindow, 40),
		sampleAt(30, PhaseAfter, 5),
	}
	// Interrupted in the window: no after sample, so no after figures.
	noAfter := []NodeSample{sampleAt(0, PhaseBefore, 3), sampleAt(1, PhaseWindow, 4), sampleAt(2, PhaseWindow, 6)}

	for _, tc := range []struct {
		name        string
		samples     []NodeSample
		want        Trend
		from, to    float64
		steadyCount int
	}{
		{"linear", linear, Trend{Before: 10, Start: 61, End: 70, Min: 10, Max: 70, SlopePerHour: 100, After: 12, AfterDelta: 2}, 38, 362, 10},
		{"two levels", twoLevels, Trend{Before: 5, Start: 40, End: 40, Min: 5, Max: 300, After: 5}, 15, 25, 2},
		{"no after", noAfter, Trend{Before: 3, Start: 6, End: 6, Min: 3, Max: 6}, 2, 2, 1},
		{"no window", []NodeSample{sampleAt(0, PhaseBefore, 3), sampleAt(1, PhaseAfter, 3)}, Trend{Before: 3, Min: 3, Max: 3, After: 3}, 0, 0, 0},
		{"no samples", nil, Trend{}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarizeNode(tc.samples)
			for name, got := range map[string]Trend{"rss": s.RSSBytes, "heap": s.HeapInuseBytes, "goroutines": s.Goroutines, "fds": s.OpenFDs, "sessions": s.SessionsActive} {
				if math.Abs(got.SlopePerHour-tc.want.SlopePerHour) < 1e-6 {
					got.SlopePerHour = tc.want.SlopePerHour
				}
				if got != tc.want {
					t.Errorf("%s: %+v, want %+v", name, got, tc.want)
				}
			}
			if s.SteadyFromS != tc.from || s.SteadyToS != tc.to || s.SteadySamples != tc.steadyCount {
				t.Errorf("steady %v–%v s (%d samples), want %v–%v (%d)", s.SteadyFromS, s.SteadyToS, s.SteadySamples, tc.from, tc.to, tc.steadyCount)
			}
		})
	}

	// A gauge the node does not export (-1) is left out; the others are not.
	mixed := []NodeSample{sampleAt(0, PhaseBefore, 1), sampleAt(1, PhaseWindow, 2), sampleAt(2, PhaseAfter, 1)}
	for i := range mixed {
		mixed[i].OpenFDs = -1
	}
	mixed[1].RSSBytes = -1
	s := summarizeNode(mixed)
	if s.OpenFDs != (Trend{}) || s.RSSBytes.Max != 1 || s.RSSBytes.Start != 0 || s.Goroutines.Max != 2 {
		t.Errorf("absent gauges: fds %+v, rss %+v, goroutines %+v", s.OpenFDs, s.RSSBytes, s.Goroutines)
	}
}

// TestRunNodeMetrics: a run against a node given by URL with its
// metrics URL samples the node before, during and after the sessions,
// and the JSON, the table and the report show them.
func TestRunNodeMetrics(t *testing.T) {
	const token = "bench-metrics-token-0123456789"
	surl, murl := metricsNode(t, token)
	cfg := smallRun(t)
	cfg.URL, cfg.Token, cfg.MetricsURL = surl, token, murl
	cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate = 0, 0, 0, 0
	cfg.Sessions = []int{2}
	cfg.Duration, cfg.Warmup = 2*time.Second, 300*time.Millisecond
	cfg.MetricsInterval, cfg.MetricsAfter = 200*time.Millisecond, time.Second
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	np := rep.NodeProcess
	if np == nil {
		t.Fatal("no node_process")
	}
	phases := map[string]int{}
	maxActive := 0.0
	for _, s := range np.Samples {
		phases[s.Phase]++
		maxActive = max(maxActive, s.SessionsActive)
		if s.Goroutines <= 0 || s.RSSBytes <= 0 || s.OpenFDs <= 0 {
			t.Errorf("sample %+v", s)
		}
	}
	t.Logf("%d samples by phase %v, scrape errors %d; goroutines %+v", len(np.Samples), phases, np.ScrapeErrors, np.Summary.Goroutines)
	// Every 200 ms; fewer when the machine is busy, but at least the
	// samples each phase change asks for (and the last one).
	if phases[PhaseBefore] != 1 || phases[PhaseWindow] < 2 || phases[PhaseAfter] < 2 || np.ScrapeErrors != 0 {
		t.Errorf("samples by phase %v, %d scrape errors (%s)", phases, np.ScrapeErrors, np.LastError)
	}
	if maxActive != 2 || np.Summary.SessionsActive.Max != 2 || np.Summary.SessionsActive.After != 0 || np.Summary.SessionsActive.Before != 0 {
		t.Errorf("sessions_active: max sample %v, %+v", maxActive, np.Summary.SessionsActive)
	}
	if np.Summary.SteadySamples < 1 || np.Summary.RSSBytes.End <= 0 {
		t.Errorf("summary %+v", np.Summary)
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "node_process_fields.golden", "node_process fields", strings.Join(fieldPaths("node_process", doc["node_process"]), "\n")+"\n")

	var table, page bytes.Buffer
	if err := WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"node process (" + murl, "RSS MiB", "goroutines", "open fds", "after − before"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := WriteReport(&page, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h2>Node process</h2>", `id="node-memory"`, `id="node-goroutines"`} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report lacks %s", want)
		}
	}
}

// TestRunNodeMetricsErrors: a metrics URL needs a node given by URL, and
// an endpoint that cannot be read fails the run before any headset.
func TestRunNodeMetricsErrors(t *testing.T) {
	cfg := smallRun(t)
	cfg.MetricsURL = "http://127.0.0.1:1/metrics"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "node given by URL") {
		t.Errorf("embedded node with metrics: err = %v", err)
	}
	surl, murl := metricsNode(t, "")
	cfg.URL = surl
	cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate = 0, 0, 0, 0
	cfg.MetricsURL = strings.TrimSuffix(murl, "/metrics") + "/missing"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "node metrics") || !strings.Contains(err.Error(), "404") {
		t.Errorf("unreadable metrics: err = %v", err)
	}
}
