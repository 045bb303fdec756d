package metrics

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/session"
	"github.com/holocast/holocast/signaling"
)

// scrape serves m's handler and parses what it answers.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the counter, gauge or histogram count of name whose label
// (if given) has value.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, label ...string) float64 {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		if len(label) == 2 {
			ok := false
			for _, l := range m.GetLabel() {
				ok = ok || (l.GetName() == label[0] && l.GetValue() == label[1])
			}
			if !ok {
				continue
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no %s %v", name, label)
	return 0
}

// TestSessionTotals feeds two fake sessions' statistics through their
// observers, one ending before the other: counters add both sessions' and
// keep an ended session's counts, the gauges follow the live sessions,
// and every refusal reason is present from the start.
func TestSessionTotals(t *testing.T) {
	m := New()
	fams := scrape(t, m)
	for _, r := range signaling.RefusalReasons {
		if got := value(t, fams, "holocast_sessions_rejected_total", "reason", r); got != 0 {
			t.Errorf("rejected %s = %v at start", r, got)
		}
	}
	m.Result(signaling.ResultCreated)
	m.Result(signaling.ResultCreated)
	m.Result(signaling.ResultSessionLimit)

	a, b := m.NewSession(), m.NewSession()
	a.Started()
	b.Started()
	fs := session.FrameStats{HasPose: true, PoseAge: 3 * time.Millisecond, Render: 9 * time.Millisecond, Bytes: 100}
	a.frame(fs, session.Stats{FramesSent: 1, BitRate: 1_000_000, Intake: pose.IntakeStats{Accepted: 2}})
	a.frame(fs, session.Stats{FramesSent: 2, KeyFrames: 1, BitRate: 1_000_000, Intake: pose.IntakeStats{Accepted: 4, Stale: 1}})
	b.frame(session.FrameStats{}, session.Stats{FramesSent: 5, NACKsReceived: 3, BitRate: 2_000_000, PosesRateLimited: 7})
	fams = scrape(t, m)
	for _, c := range []struct {
		name  string
		label []string
		want  float64
	}{
		{"holocast_sessions_active", nil, 2},
		{"holocast_sessions_created_total", nil, 2},
		{"holocast_sessions_rejected_total", []string{"reason", "session_limit"}, 1},
		{"holocast_frames_sent_total", nil, 7},
		{"holocast_key_frames_sent_total", nil, 1},
		{"holocast_nacks_received_total", nil, 3},
		{"holocast_poses_accepted_total", nil, 4},
		{"holocast_poses_rejected_total", []string{"reason", "stale"}, 1},
		{"holocast_poses_rejected_total", []string{"reason", "rate_limited"}, 7},
		{"holocast_encoder_target_bitrate_bps", nil, 3_000_000},
		{"holocast_frame_stage_seconds", []string{"stage", "pose_age"}, 2}, // b's frame had no pose
		{"holocast_frame_stage_seconds", []string{"stage", "render"}, 3},
	} {
		if got := value(t, fams, c.name, c.label...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.label, got, c.want)
		}
	}

	// a ends with one more frame counted at its end; b lives on.
	a.closed1(session.Stats{FramesSent: 3, KeyFrames: 1, BitRate: 1_000_000, Intake: pose.IntakeStats{Accepted: 4, Stale: 1}})
	a.closed1(session.Stats{FramesSent: 9}) // a second call changes nothing
	a.frame(fs, session.Stats{FramesSent: 9, BitRate: 1})
	b.frame(fs, session.Stats{FramesSent: 6, NACKsReceived: 3, BitRate: 2_000_000, PosesRateLimited: 7})
	fams = scrape(t, m)
	for _, c := range []struct {
		name string
		want float64
	}{
		{"holocast_sessions_active", 1},
		{"holocast_sessions_ended_total", 1},
		{"holocast_frames_sent_total", 9},
		{"holocast_poses_accepted_total", 4},
		{"holocast_encoder_target_bitrate_bps", 2_000_000},
	} {
		if got := value(t, fams, c.name); got != c.want {
			t.Errorf("after a ended: %s = %v, want %v", c.name, got, c.want)
		}
	}

	// A session that ends before Started (its New failed late) is never
	// counted active.
	c := m.NewSession()
	c.closed1(session.Stats{})
	c.Started()
	b.closed1(session.Stats{FramesSent: 6})
	fams = scrape(t, m)
	if got := value(t, fams, "holocast_sessions_active"); got != 0 {
		t.Errorf("sessions active = %v at the end, want 0", got)
	}
	if got := value(t, fams, "holocast_encoder_target_bitrate_bps"); got != 0 {
		t.Errorf("target bit rate = %v at the end, want 0", got)
	}
}

// TestMetricsApart: two Metrics keep apart counts (each has its own
// registry) and each carries the Go and process collectors.
func TestMetricsApart(t *testing.T) {
	m1, m2 := New(), New()
	m1.Result(signaling.ResultCreated)
	if got := value(t, scrape(t, m2), "holocast_sessions_created_total"); got != 0 {
		t.Errorf("second node's sessions created = %v, want 0", got)
	}
	fams := scrape(t, m1)
	if got := value(t, fams, "holocast_sessions_created_total"); got != 1 {
		t.Errorf("sessions created = %v, want 1", got)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds"} {
		if got := value(t, fams, name); got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
}

// TestLadderRungs: the rung gauges count each live session on its
// current rung, follow its steps, and drop it when it ends; the steps
// counter sums every session's steps.
func TestLadderRungs(t *testing.T) {
	m := New()
	a, b := m.NewSession(), m.NewSession()
	a.Started()
	b.frame(session.FrameStats{}, session.Stats{LadderRung: 2, LadderSteps: 2}) // before Started: not yet live
	b.Started()
	a.frame(session.FrameStats{}, session.Stats{LadderRung: 1, LadderSteps: 1})
	check := func(when string, want []float64, steps float64) {
		t.Helper()
		fams := scrape(t, m)
		for r, w := range want {
			if got := value(t, fams, "holocast_sessions_ladder_rung", "rung", strconv.Itoa(r)); got != w {
				t.Errorf("%s: rung %d has %v sessions, want %v", when, r, got, w)
			}
		}
		if got := value(t, fams, "holocast_ladder_steps_total"); got != steps {
			t.Errorf("%s: %v ladder steps, want %v", when, got, steps)
		}
	}
	check("a on 1, b on 2", []float64{0, 1, 1, 0, 0}, 3)
	a.frame(session.FrameStats{}, session.Stats{LadderRung: 4, LadderSteps: 4})
	b.frame(session.FrameStats{}, session.Stats{LadderRung: 0, LadderSteps: 4})
	check("a on 4, b back on 0", []float64{1, 0, 0, 0, 1}, 8)
	a.closed1(session.Stats{LadderRung: 3, LadderSteps: 5})
	check("a ended on 3", []float64{1, 0, 0, 0, 0}, 9)
	b.closed1(session.Stats{LadderRung: 0, LadderSteps: 4})
	check("both ended", []float64{0, 0, 0, 0, 0}, 9)
}
