package bench

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseImpairment(t *testing.T) {
	imp, err := ParseImpairment("delay=20ms, jitter=5ms,loss=1.5%,rate=2.5mbit")
	if err != nil {
		t.Fatal(err)
	}
	if imp.Delay != 20*time.Millisecond || imp.Jitter != 5*time.Millisecond || imp.LossPct != 1.5 || imp.RateBps != 2_500_000 || imp.DelayMS != 20 {
		t.Errorf("%+v", imp)
	}
	if imp, err := ParseImpairment("loss=0.05"); err != nil || imp.LossPct != 5 {
		t.Errorf("fraction: %+v %v", imp, err)
	}
	for name := range Presets {
		if imp, err := ParseImpairment(name); err != nil || imp.Spec != name {
			t.Errorf("preset %s: %+v %v", name, imp, err)
		}
	}
	if imp, _ := ParseImpairment("lte"); imp.RateBps != 20_000_000 || imp.Delay != 25*time.Millisecond {
		t.Errorf("lte %+v", imp)
	}
	for _, bad := range []string{"", "delay", "delay=-5ms", "loss=120%", "rate=fast", "rate=10bit", "color=red", "jitter=5"} {
		if _, err := ParseImpairment(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestImpairDelay: 50 ms of added one-way delay shows up as at least
// 50 ms more pose-to-frame latency (the pose goes up and the frame comes
// down through the delay, so about 100 ms is expected).
func TestImpairDelay(t *testing.T) {
	cfg := smallRun(t)
	cfg.Duration = 1500 * time.Millisecond
	base, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Impair, err = ParseImpairment("delay=50ms"); err != nil {
		t.Fatal(err)
	}
	slow, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, s := base.Runs[0].PoseToFrameMS, slow.Runs[0].PoseToFrameMS
	t.Logf("pose→frame p50: loopback %.1f ms, vnet +50 ms one way %.1f ms", b.P50, s.P50)
	if b.Count == 0 || s.Count == 0 || s.P50-b.P50 < 50 {
		t.Errorf("delay added only %.1f ms (base %+v, delayed %+v)", s.P50-b.P50, b, s)
	}
	if slow.Config.Impair == nil || slow.Config.Impair.DelayMS != 50 {
		t.Errorf("impairment not recorded: %+v", slow.Config.Impair)
	}
}

// TestImpairLoss: with 5% packet loss each way frames still arrive, and
// the recovery (NACK retransmissions filling gaps, or PLI and key frame
// after a lost frame) is visible in the figures.
func TestImpairLoss(t *testing.T) {
	cfg := smallRun(t)
	var err error
	if cfg.Impair, err = ParseImpairment("loss=5%"); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	t.Logf("fps %.1f, lost %d, dropped %d, PLIs %d, key frames %d, packets recovered %d, given up %d, freeze %v ms",
		r.FPS, r.FramesLost, r.FramesDropped, r.PLIsSent, r.KeyFrames, r.PacketsRecovered, r.PacketsGivenUp, r.FreezeMS)
	if r.FramesReceived < 20 {
		t.Errorf("only %d frames (%.1f fps) under 5%% loss", r.FramesReceived, r.FPS)
	}
	if r.PacketsRecovered+r.PLIsSent == 0 {
		t.Errorf("no recovery visible: %+v", r)
	}
}

// TestImpairRate: a downlink cap below the encoder's rate caps what
// arrives (whether the node adapts its bit rate or frames queue and drop).
func TestImpairRate(t *testing.T) {
	cfg := smallRun(t)
	cfg.Duration = 2 * time.Second
	var err error
	if cfg.Impair, err = ParseImpairment("rate=400kbit"); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil && !errors.Is(err, ErrNoFrames) {
		t.Fatal(err)
	}
	r := rep.Runs[len(rep.Runs)-1]
	t.Logf("kbps %.0f, fps %.1f, pose→frame p95 %.0f ms, lost %d, PLIs %d", r.BitrateKbps, r.FPS, r.PoseToFrameMS.P95, r.FramesLost, r.PLIsSent)
	if r.BitrateKbps > 440 {
		t.Errorf("400 kbit/s cap on a 1000 kbit/s stream: received %.0f kbit/s at %.1f fps", r.BitrateKbps, r.FPS)
	}
}

// TestJitterWait: headsets wait for a missing packet their default 100 ms
// plus two round trips the impairment adds.
func TestJitterWait(t *testing.T) {
	for _, tc := range []struct {
		imp  *Impairment
		want time.Duration
	}{
		{nil, 100 * time.Millisecond},
		{&Impairment{}, 100 * time.Millisecond},
		{&Impairment{Delay: 50 * time.Millisecond}, 300 * time.Millisecond},
		{&Impairment{Delay: 25 * time.Millisecond, Jitter: 10 * time.Millisecond}, 240 * time.Millisecond},
	} {
		if got := jitterWait(tc.imp); got != tc.want {
			t.Errorf("jitterWait(%+v) = %v, want %v", tc.imp, got, tc.want)
		}
	}
}
