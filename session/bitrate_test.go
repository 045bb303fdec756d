package session

import (
	"slices"
	"testing"
	"time"
)

// TestBitRateFollowsBandwidth: the encoder's bit rate follows the
// congestion controller's target (Deps.Bandwidth), kept within
// [Config.MinBitRate, Config.BitRate] and ignoring changes of 10 % or less
// of the rate in force; Session.Stats reports the same rate and counts the
// same changes as the encoder saw, and FrameInfo carries the target and
// the rate. The steps run in order on one session.
func TestBitRateFollowsBandwidth(t *testing.T) {
	checkGoroutines(t)
	bwe := &stubBandwidth{}
	bwe.target.Store(2_000_000)
	h := startSession(t, harnessOptions{bandwidth: bwe})
	if h.cfg.BitRate != 2_000_000 || h.cfg.MinBitRate != 300_000 {
		t.Fatalf("the steps assume BitRate 2 Mbit/s and MinBitRate 300 kbit/s, not %d and %d", h.cfg.BitRate, h.cfg.MinBitRate)
	}
	h.waitStreaming()

	steps := []struct {
		name   string
		target int64
		want   int // the rate in force afterwards
	}{
		{"target at the ceiling keeps the rate", 2_000_000, 2_000_000},
		{"halved target is followed", 1_000_000, 1_000_000},
		{"5 % lower is ignored", 950_000, 1_000_000},
		{"exactly 10 % lower is ignored", 900_000, 1_000_000},
		{"11 % lower is followed", 890_000, 890_000},
		{"8 % higher is ignored", 961_200, 890_000},
		{"below the floor is clamped to MinBitRate", 50_000, 300_000},
		{"still below the floor changes nothing", 100_000, 300_000},
		{"above the ceiling is clamped to BitRate", 10_000_000, 2_000_000},
		{"within 10 % under the ceiling is ignored", 1_850_000, 2_000_000},
		{"back down is followed", 600_000, 600_000},
	}
	var rates []int // what the encoder should have been told, in order
	for _, st := range steps {
		bwe.target.Store(st.target)
		// Every frame reads the target; the one after the frame that may
		// be under way read it after the Store.
		h.waitFrames(2)
		if n := len(rates); (n == 0 && st.want != h.cfg.BitRate) || (n > 0 && rates[n-1] != st.want) {
			rates = append(rates, st.want)
		}
		stats := h.s.Stats()
		enc := h.encoders.last()
		if stats.BitRate != st.want || enc.Config().BitRate != st.want {
			t.Errorf("%s: target %d: session rate %d, encoder rate %d; want %d", st.name, st.target, stats.BitRate, enc.Config().BitRate, st.want)
		}
		if got := enc.Stats().BitRates; !slices.Equal(got, rates) {
			t.Errorf("%s: encoder was set to %v, want %v", st.name, got, rates)
		}
		if stats.BitRateChanges != uint64(len(rates)) {
			t.Errorf("%s: Stats().BitRateChanges %d, want %d", st.name, stats.BitRateChanges, len(rates))
		}
		// The frames' FrameInfo tells the client both rates.
		waitFor(t, st.name+": FrameInfo with the controller's target and the encoder's rate", func() bool {
			fi := h.hs.lastInfo()
			return fi != nil && fi.GetCongestionTargetKbps() == uint32(st.target/1000) && fi.GetEncoderBitrateKbps() == uint32(st.want/1000)
		})
	}
	if got := len(h.encoders.all()); got != 1 {
		t.Errorf("%d encoders made; a bit rate change must not rebuild the encoder", got)
	}
}

// pacedBandwidth is a congestion controller with a pacer whose backlog
// the test sets.
type pacedBandwidth struct {
	target  int
	backlog time.Duration
}

func (b *pacedBandwidth) GetTargetBitrate() int  { return b.target }
func (b *pacedBandwidth) Backlog() time.Duration { return b.backlog }

// TestSendBudget: the frame loop sends at most the controller's target
// (plus 250 ms of savings): a 40 kB key frame at 800 kbit/s makes it skip
// frames until the budget has recovered, and a pacer holding more than a
// frame interval makes it skip whatever the budget; a target below the
// floor counts as the floor. The clock is the test's.
func TestSendBudget(t *testing.T) {
	s := &Session{cfg: Config{MinBitRate: 300_000, BitRate: 3_000_000}}
	bwe := &pacedBandwidth{target: 800_000} // 100 kB/s; 25 kB of savings
	fs := &frameState{pipe: &pipeline{out: Output{FPS: 30}}, bwe: bwe}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	steps := []struct {
		ms      int
		sent    uint64 // bytes sent just before
		backlog time.Duration
		skip    bool
	}{
		{0, 0, 0, false},
		{33, 40_000, 0, true},  // 25 + 3.3 - 40 kB
		{100, 0, 0, true},      // 25 + 10 - 40
		{150, 0, 0, false},     // 25 + 15 - 40 = 0: even
		{183, 3_000, 0, false}, // 3.3 - 3
		{216, 0, 40 * time.Millisecond, true},
		{250, 0, 20 * time.Millisecond, false},
	}
	var skips uint64
	for _, st := range steps {
		s.stats.bytesSent.Add(st.sent)
		bwe.backlog = st.backlog
		if got := s.sendBacklogged(fs, at(st.ms)); got != st.skip {
			t.Errorf("at %d ms: skip %v, want %v (budget %.0f bytes)", st.ms, got, st.skip, fs.budget.tokens)
		}
		if st.skip {
			skips++
		}
	}
	if got := s.stats.congestionSkips.Load(); got != skips {
		t.Errorf("CongestionSkips %d, want %d", got, skips)
	}
	// A target under the floor is budgeted at the floor (37.5 kB/s).
	bwe.target, bwe.backlog = 1, 0
	fs.budget = sendBudget{}
	s.sendBacklogged(fs, at(1000))
	if want := 37_500 * 0.25; fs.budget.tokens != want {
		t.Errorf("budget at the floor: %.0f bytes, want %.0f", fs.budget.tokens, want)
	}
}
