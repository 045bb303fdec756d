package headset

import (
	"testing"
	"time"
)

// TestDisplay: vsyncs fall on whole periods of the client's clock; a
// frame is shown at the first vsync at least the lead after it arrived;
// the DisplayTiming names the next vsync.
func TestDisplay(t *testing.T) {
	d, err := NewDisplay(50, 4*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ t, next, shown int64 }{
		{0, 0, 20_000},
		{1, 20_000, 20_000},
		{15_999, 20_000, 20_000},
		{16_001, 20_000, 40_000},
		{20_000, 20_000, 40_000},
	} {
		if got := d.NextVsync(tc.t); got != tc.next {
			t.Errorf("NextVsync(%d) = %d, want %d", tc.t, got, tc.next)
		}
		if got := d.Shown(tc.t); got != tc.shown {
			t.Errorf("Shown(%d) = %d, want %d", tc.t, got, tc.shown)
		}
	}
	m := d.Timing(33_000)
	if m.GetRefreshRateHz() != 50 || m.GetNextDisplayTimeUs() != 40_000 || m.GetLeadUs() != 4000 {
		t.Errorf("Timing = %v", m)
	}
	for _, bad := range []struct {
		hz   float64
		lead time.Duration
	}{{0, 0}, {2000, 0}, {60, -time.Millisecond}, {60, 2 * time.Second}} {
		if _, err := NewDisplay(bad.hz, bad.lead); err == nil {
			t.Errorf("NewDisplay(%g, %v) accepted", bad.hz, bad.lead)
		}
	}
}
