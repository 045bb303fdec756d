package node_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/session"
)

// scrape reads url's metrics in the text format and parses them.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// metric returns the value of the sample of family name whose labels
// include labels (name, value pairs): a counter's or gauge's value, a
// histogram's count. It fails the test if there is none.
func metric(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			return m.GetUntyped().GetValue()
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, labels)
	return 0
}

// TestMetrics runs a headset against a node with metrics for about a
// second, scrapes /metrics on the node's metrics handler and checks that
// the counters moved: the session, its frames and stage times, poses
// accepted and rejected, a key frame request, a ClientReport, refused
// requests by reason; then that the session's end leaves its totals
// counted and no session active.
func TestMetrics(t *testing.T) {
	m := metrics.New()
	n, url := startNode(t, node.Config{Width: 160, Height: 90, FPS: 30, MaxSessions: 1, Metrics: m})
	msrv := httptest.NewServer(n.MetricsHandler())
	t.Cleanup(msrv.Close)
	murl := msrv.URL + "/metrics"

	fams := scrape(t, murl)
	for name, want := range map[string]float64{
		"holocast_sessions_active": 0, "holocast_sessions_created_total": 0, "holocast_frames_sent_total": 0,
	} {
		if got := metric(t, fams, name); got != want {
			t.Errorf("before any session: %s = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds"} {
		if got := metric(t, fams, name); got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})

	// Refused requests: the session cap (this node takes one) and a wrong
	// content type.
	if _, err := headset.Dial(ctx, url, headset.Options{}); err == nil {
		t.Fatal("a second session was taken over MaxSessions 1")
	}
	if code, _ := post(t, url, "text/plain", "v=0"); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain offer: %d, want 415", code)
	}

	// A second of poses at 60 Hz, one malformed datagram, one duplicate,
	// a key frame request and a ClientReport.
	var seq uint64
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		<-tick.C
		seq++
		if err := c.SendPose(yawPose(seq, c.Now(), float64(seq))); err != nil {
			t.Fatal(err)
		}
		switch seq {
		case 10:
			if err := c.SendRawPose([]byte{0xff, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
		case 20:
			if err := c.SendPose(yawPose(seq, c.Now(), 0)); err != nil {
				t.Fatal(err)
			}
		case 30:
			if err := c.RequestKeyFrame(); err != nil {
				t.Fatal(err)
			}
			if err := c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ClientReport{
				ClientReport: &holocastv1.ClientReport{MotionToPhotonUs: 45_000}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for len(c.Frames()) > 0 {
		<-c.Frames()
	}
	waitFor := func(what string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			fams := scrape(t, murl)
			if ok(fams) {
				return fams
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Pose counts reach the metrics with the next frame.
	fams = waitFor("poses and the key frame request counted", func(f map[string]*dto.MetricFamily) bool {
		return metric(t, f, "holocast_poses_accepted_total") >= float64(seq)/2 &&
			metric(t, f, "holocast_poses_rejected_total", "reason", "duplicate") >= 1 &&
			metric(t, f, "holocast_key_frame_requests_total") >= 1 &&
			metric(t, f, "holocast_client_motion_to_photon_seconds") >= 1
	})
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"holocast_sessions_active", nil, 1},
		{"holocast_sessions_created_total", nil, 1},
		{"holocast_sessions_rejected_total", []string{"reason", "session_limit"}, 1},
		{"holocast_sessions_rejected_total", []string{"reason", "bad_request"}, 1},
		{"holocast_frames_sent_total", nil, 10},
		{"holocast_key_frames_sent_total", nil, 1},
		{"holocast_video_bytes_sent_total", nil, 1000},
		{"holocast_poses_rejected_total", []string{"reason", "malformed"}, 1},
		{"holocast_encoder_target_bitrate_bps", nil, 1},
		{"holocast_frame_stage_seconds", []string{"stage", "pose_age"}, 10},
		{"holocast_frame_stage_seconds", []string{"stage", "queue"}, 10},
		{"holocast_frame_stage_seconds", []string{"stage", "render"}, 10},
		{"holocast_frame_stage_seconds", []string{"stage", "convert"}, 10},
		{"holocast_frame_stage_seconds", []string{"stage", "encode"}, 10},
		{"holocast_frame_stage_seconds", []string{"stage", "send"}, 10},
	} {
		if got := metric(t, fams, c.name, c.labels...); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	if got := metric(t, fams, "holocast_sessions_active"); got != 1 {
		t.Errorf("holocast_sessions_active = %v while one headset streams, want 1", got)
	}
	if got := metric(t, fams, "holocast_sessions_rejected_total", "reason", "unauthorized"); got != 0 {
		t.Errorf("unauthorized refusals = %v, want 0", got)
	}
	if got := ladderSessions(t, fams); got != 1 {
		t.Errorf("sessions on the ladder's rungs: %v while one headset streams, want 1", got)
	}
	frames := metric(t, fams, "holocast_frames_sent_total")

	// The session ends: its totals stay, nothing is active.
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fams = waitFor("the session's end", func(f map[string]*dto.MetricFamily) bool {
		return metric(t, f, "holocast_sessions_active") == 0 && metric(t, f, "holocast_sessions_ended_total") == 1
	})
	if got := metric(t, fams, "holocast_frames_sent_total"); got < frames {
		t.Errorf("frames sent went from %v to %v when the session ended", frames, got)
	}
	if got := metric(t, fams, "holocast_encoder_target_bitrate_bps"); got != 0 {
		t.Errorf("target bit rate %v with no session, want 0", got)
	}
	if got := ladderSessions(t, fams); got != 0 {
		t.Errorf("sessions on the ladder's rungs: %v with no session, want 0", got)
	}
	if got := metric(t, fams, "holocast_sessions_created_total"); got != 1 {
		t.Errorf("sessions created = %v, want 1", got)
	}
}

// TestMetricsHealthReady: the metrics handler answers /healthz while the
// node runs, and /readyz 200 while it takes sessions, 503 with the reason
// at its session cap and once it is closed.
func TestMetricsHealthReady(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 160, Height: 90, MaxSessions: 1})
	srv := httptest.NewServer(n.MetricsHandler())
	t.Cleanup(srv.Close)

	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with no session: %d %q, want 200", code, body)
	}
	if code, _ := get(t, srv.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics without Config.Metrics: %d, want 404", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "session limit") {
		t.Errorf("/readyz at the session cap: %d %q, want 503 saying session limit", code, body)
	}
	_ = c.Close(ctx)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz after Close: %d %q, want 503 saying shutting down", code, body)
	}
	if code, body := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after Close: %d %q", code, body)
	}
}

// TestMetricsDrain: while the node drains, its metrics listener's /readyz
// says so and a refused session is counted as draining; after the drain,
// as shutting down; the drained session leaves nothing active.
func TestMetricsDrain(t *testing.T) {
	m := metrics.New()
	n, url := startNode(t, node.Config{Width: 160, Height: 90, Metrics: m})
	msrv := httptest.NewServer(n.MetricsHandler())
	t.Cleanup(msrv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})

	drained := make(chan error, 1)
	go func() { drained <- n.Drain(ctx, 20*time.Second) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, msrv.URL+"/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "draining") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not report the drain: %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := headset.Dial(ctx, url, headset.Options{}); err == nil {
		t.Fatal("a session was taken while draining")
	}
	_ = c.Close(ctx) // the last session ends: the drain is over
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if _, err := headset.Dial(ctx, url, headset.Options{}); err == nil {
		t.Fatal("a session was taken after the drain")
	}
	// Deps.OnClose runs just after the session's Done, which ended the
	// drain: wait for it.
	var fams map[string]*dto.MetricFamily
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fams = scrape(t, msrv.URL+"/metrics")
		if metric(t, fams, "holocast_sessions_ended_total") == 1 || time.Now().After(end) {
			break
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"holocast_sessions_rejected_total", []string{"reason", "draining"}, 1},
		{"holocast_sessions_rejected_total", []string{"reason", "shutting_down"}, 1},
		{"holocast_sessions_created_total", nil, 1},
		{"holocast_sessions_ended_total", nil, 1},
		{"holocast_sessions_active", nil, 0},
	} {
		if got := metric(t, fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// ladderSessions sums holocast_sessions_ladder_rung over the rungs.
func ladderSessions(t *testing.T, fams map[string]*dto.MetricFamily) float64 {
	t.Helper()
	sum := 0.0
	for r := range session.LadderRungs {
		sum += metric(t, fams, "holocast_sessions_ladder_rung", "rung", strconv.Itoa(r))
	}
	return sum
}
