package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestBottleneckAdmit: the fluid queue drains at the rate in force, adds
// each packet's serialisation time to its delay and drops what does not
// fit; a rate step changes the drain rate from its time on.
func TestBottleneckAdmit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := &bottleneck{start: t0, steps: []RateStep{{Bps: 800_000}, {At: 10 * time.Second, Bps: 8_000_000}}}
	// 1000 bytes at 800 kbit/s take 10 ms.
	ok, d, q, _ := b.admit(1000, t0)
	if !ok || d != 10*time.Millisecond || q != 1000 {
		t.Fatalf("first packet: ok %v delay %v queue %d", ok, d, q)
	}
	ok, d, q, _ = b.admit(1000, t0.Add(5*time.Millisecond)) // half the first has left
	if !ok || d != 15*time.Millisecond || q != 1500 {
		t.Fatalf("second packet: ok %v delay %v queue %d", ok, d, q)
	}
	// Fill the 64 KiB queue: the packet that does not fit is dropped.
	at := t0.Add(5 * time.Millisecond)
	drops := 0
	for range 100 {
		if ok, _, _, _ := b.admit(1000, at); !ok {
			drops++
		}
	}
	if drops != 100-(minQueueBytes-1500)/1000 {
		t.Errorf("%d drops filling a %d-byte queue with 100 kB", drops, minQueueBytes)
	}
	// After the step to 8 Mbit/s the queue drains ten times as fast.
	b.queued, b.last = 0, time.Time{}
	if _, d, _, bps := b.admit(1000, t0.Add(11*time.Second)); d != time.Millisecond || bps != 8_000_000 {
		t.Errorf("after the step: delay %v at %d bit/s", d, bps)
	}
}

// TestRunRepeatSteps: --repeat runs the level again on a link made anew
// (its rate steps count from each run's start), and each run scores the
// step it saw.
func TestRunRepeatSteps(t *testing.T) {
	cfg := smallRun(t)
	cfg.Repeat, cfg.Warmup, cfg.Duration = 2, 2*time.Second, 2*time.Second
	var err error
	if cfg.Impair, err = ParseImpairment("rate=2mbit,rate@3s=1mbit"); err != nil {
		t.Fatal(err)
	}
	// A run starved of CPU may receive no frame: it stays in the report
	// (the series and the steps are still there) and Run says so.
	rep, err := Run(context.Background(), cfg)
	if err != nil && !errors.Is(err, ErrNoFrames) {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Repeat != 0 || rep.Runs[1].Repeat != 1 || rep.Config.Repeat != 2 {
		t.Fatalf("%d runs: %+v", len(rep.Runs), rep.Runs)
	}
	for i, r := range rep.Runs {
		// Each run's link starts at 2 Mbit/s and steps 3 s into the run.
		ps := r.PerSession[0].Series
		for _, p := range ps {
			if want := map[bool]float64{true: 2000, false: 1000}[p.TS < 3]; p.CapKbps != want {
				t.Errorf("run %d: cap %v kbit/s at %v s, want %v", i, p.CapKbps, p.TS, want)
			}
		}
		if ps[0].TS >= 3 || ps[len(ps)-1].TS < 3 {
			t.Errorf("run %d: points from %v to %v s: want both sides of the step at 3 s", i, ps[0].TS, ps[len(ps)-1].TS)
		}
		if v := r.Verdict; len(v.Steps) != 1 || v.Steps[0].AtS != 3 || v.Steps[0].FromKbps != 2000 || v.Steps[0].ToKbps != 1000 {
			t.Errorf("run %d: steps %+v", i, r.Verdict.Steps)
		}
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "repeat 2") || !strings.Contains(out, "spread over the repeats") || !strings.Contains(out, "step@3s") {
		t.Errorf("table:\n%s", out)
	}
}

func TestParseRateSteps(t *testing.T) {
	imp, err := ParseImpairment("rate=4mbit,rate@8s=1mbit,rate@16s=4mbit")
	if err != nil {
		t.Fatal(err)
	}
	if imp.RateBps != 4_000_000 || len(imp.RateSteps) != 2 || imp.RateSteps[0].At != 8*time.Second ||
		imp.RateSteps[0].Bps != 1_000_000 || imp.RateSteps[1].AtS != 16 {
		t.Errorf("%+v", imp)
	}
	for _, bad := range []string{"rate@8s=1mbit", "rate=4mbit,rate@x=1mbit", "rate=4mbit,rate@8s=1mbit,rate@4s=2mbit", "rate=1mbit,rate@-1s=2mbit"} {
		if _, err := ParseImpairment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestH264KeyPayload(t *testing.T) {
	for _, c := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"empty", nil, false},
		{"IDR", []byte{0x65, 1}, true},
		{"SPS", []byte{0x67, 1}, true},
		{"P slice", []byte{0x41, 1}, false},
		{"STAP-A SPS PPS", []byte{0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 1}, true},
		{"STAP-A SEI only", []byte{0x78, 0, 2, 0x06, 1}, false},
		{"STAP-A truncated", []byte{0x78, 0, 9, 0x67}, false},
		{"FU-A IDR start", []byte{0x7c, 0x85, 1}, true},
		{"FU-A IDR middle", []byte{0x7c, 0x05, 1}, false},
		{"FU-A P start", []byte{0x7c, 0x81, 1}, false},
	} {
		if got := h264KeyPayload(c.p); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestTraceNet: a capped run with --trace-net writes JSON lines with the
// bottleneck, the RTP sent, the frames, the transport-wide feedback and the
// congestion controller's target.
func TestTraceNet(t *testing.T) {
	cfg := smallRun(t)
	cfg.Duration = 2 * time.Second
	var err error
	if cfg.Impair, err = ParseImpairment("rate=2mbit"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	cfg.TraceNet = &buf
	if _, err := Run(context.Background(), cfg); err != nil && !errors.Is(err, ErrNoFrames) {
		t.Fatal(err)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var ev struct {
			Ev string  `json:"ev"`
			T  float64 `json:"t_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if ev.T < 0 {
			t.Errorf("negative time: %s", sc.Text())
		}
		counts[ev.Ev]++
	}
	t.Logf("events: %v", counts)
	for _, ev := range []string{"enq", "rtp", "frame", "twcc", "bwe"} {
		if counts[ev] == 0 {
			t.Errorf("no %q events", ev)
		}
	}
}

// TestCongestionNarrowLink is the end-to-end proof of the node's
// congestion control over real peer connections: 3 Mbit/s configured
// into a 500 kbit/s bottleneck. Frames keep flowing, the bottleneck's
// queue (a second deep at this rate) does not stay full, so latency stays
// far below it, and few frames are lost. The margins are wide: the
// machine running the tests is shared and slow.
func TestCongestionNarrowLink(t *testing.T) {
	cfg := smallRun(t)
	cfg.BitRate = 3_000_000
	cfg.Warmup = 2 * time.Second
	cfg.Duration = 4 * time.Second
	var err error
	if cfg.Impair, err = ParseImpairment("rate=500kbit"); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	t.Logf("fps %.1f, %.0f kbit/s, pose→frame p50 %.0f ms p95 %.0f ms, lost %d, freeze %.0f ms, PLIs %d",
		r.FPS, r.BitrateKbps, r.PoseToFrameMS.P50, r.PoseToFrameMS.P95, r.FramesLost, r.FreezeMS, r.PLIsSent)
	t.Logf("targets: %s", targetsText(r.Verdict.Targets))
	checkSeries(t, r, 3000)
	if s := r.PerSession[0].Series; s[len(s)-1].CapKbps != 500 || s[len(s)-1].OfferedKbps <= 0 {
		t.Errorf("last point %+v: want the 500 kbit/s cap and what was offered to it", s[len(s)-1])
	}
	if got := targetsOf(r.Verdict); got["under_cap"].Name == "" || got["loss"].Name == "" {
		t.Errorf("no cap targets: %+v", r.Verdict)
	}
	if r.FPS < 8 {
		t.Errorf("%.1f fps through a 500 kbit/s link", r.FPS)
	}
	if r.PoseToFrameMS.P50 > 400 {
		t.Errorf("pose→frame p50 %.0f ms: the bottleneck's queue stands", r.PoseToFrameMS.P50)
	}
	// Frames are skipped rather than queued (after each key frame, above
	// all), and a starved machine stalls the headset too: only a stream
	// frozen for most of the window fails.
	if r.FreezeMS > 3000 {
		t.Errorf("frozen %.0f ms of 4 s", r.FreezeMS)
	}
}

// TestTraceRetransmissions: the trace marks a repeated sequence number
// and a packet on the stream's RTX SSRC as resent (an RTX packet with
// its original sequence number), and neither counts into a frame.
func TestTraceRetransmissions(t *testing.T) {
	var buf bytes.Buffer
	tr := newNetTrace(&buf)
	ti := &traceInterceptor{t: tr, seen: map[uint32]map[uint16]bool{}}
	const media, rtx = 1111, 2222
	at := time.Now()
	ti.rtp(at, &rtp.Header{SSRC: media, SequenceNumber: 10, Timestamp: 90}, []byte{0x41, 1, 2}, 0, rtx)
	ti.rtp(at, &rtp.Header{SSRC: media, SequenceNumber: 10, Timestamp: 90}, []byte{0x41, 1, 2}, 0, rtx)            // NACKed, resent as is
	ti.rtp(at, &rtp.Header{SSRC: rtx, SequenceNumber: 500, Timestamp: 90}, []byte{0, 10, 0x41, 1, 2}, 0, rtx)      // RFC 4588
	ti.rtp(at, &rtp.Header{SSRC: media, SequenceNumber: 11, Timestamp: 90, Marker: true}, []byte{0x41, 3}, 0, rtx) // the frame's end
	if err := tr.close(); err != nil {
		t.Fatal(err)
	}
	type event struct {
		Ev      string `json:"ev"`
		SSRC    uint32 `json:"ssrc"`
		Seq     uint16 `json:"seq"`
		Resent  bool   `json:"resent"`
		RTX     bool   `json:"rtx"`
		OSN     uint16 `json:"osn"`
		Packets int    `json:"packets"`
	}
	var got []event
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if ev.Ev == "rtp" || ev.Ev == "frame" {
			got = append(got, ev)
		}
	}
	want := []event{
		{Ev: "rtp", SSRC: media, Seq: 10},
		{Ev: "rtp", SSRC: media, Seq: 10, Resent: true},
		{Ev: "rtp", SSRC: rtx, Seq: 500, Resent: true, RTX: true, OSN: 10},
		{Ev: "rtp", SSRC: media, Seq: 11},
		{Ev: "frame", Packets: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
