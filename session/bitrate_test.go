package session

import (
	"slices"
	"testing"
)

// TestBitRateFollowsBandwidth: the encoder's bit rate follows the
// congestion controller's target (Deps.Bandwidth), kept within
// [Config.MinBitRate, Config.BitRate] and ignoring changes of 10 % or less
// of the rate in force; Session.Stats reports the same rate and counts the
// same changes as the encoder saw. The steps run in order on one session.
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
	}
	if got := len(h.encoders.all()); got != 1 {
		t.Errorf("%d encoders made; a bit rate change must not rebuild the encoder", got)
	}
}
