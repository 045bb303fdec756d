package pose

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestSampleClock feeds timestamps (ms) one at a time, as a track's
// history (optionally capped), and checks the grid times and the period.
func TestSampleClock(t *testing.T) {
	tests := []struct {
		name   string
		gain   float64
		cap    int // history cap; 0: unbounded
		times  []float64
		want   []float64 // grid times, ms, one per history sample
		period float64   // ms
	}{
		{
			name:  "gain 0 passes timestamps through",
			gain:  0,
			times: []float64{0, 10, 21, 29},
			want:  []float64{0, 10, 21, 29},
		},
		{
			name:   "regular samples stay on their timestamps",
			gain:   0.5,
			times:  []float64{0, 10, 20, 30},
			want:   []float64{0, 10, 20, 30},
			period: 10,
		},
		{
			// Period: the cumulative mean, 10 + 1/3 ms; expected at
			// 20 + period, pulled halfway toward 31.
			name:   "late timestamp pulled toward the grid",
			gain:   0.5,
			times:  []float64{0, 10, 20, 31},
			want:   []float64{0, 10, 20, 20 + 31.0/3 + 0.5*(31-20-31.0/3)},
			period: 31.0 / 3,
		},
		{
			name:   "dropped sample counts as two periods",
			gain:   0.5,
			times:  []float64{0, 10, 20, 40, 50},
			want:   []float64{0, 10, 20, 40, 50},
			period: 10,
		},
		{
			// 61 ms is 6 periods: the phase restarts on the sample, the
			// period is kept.
			name:   "long gap restarts the phase",
			gain:   0.5,
			times:  []float64{0, 10, 20, 81, 91},
			want:   []float64{0, 10, 20, 81, 91},
			period: 10,
		},
		{
			// At 117 the period rises to 10 + 7/11 and the sample is
			// pulled a tenth of the way from 110.6 toward it; at 134
			// (period 10 + 14/12) it is more than a period late.
			name:   "rate change off the grid resyncs",
			gain:   0.1,
			times:  []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 117, 134},
			want:   []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100 + (10 + 7.0/11) + 0.1*(17-(10+7.0/11)), 134},
			period: 10 + 14.0/12,
		},
		{
			name:   "grid follows a capped history",
			gain:   0.5,
			cap:    3,
			times:  []float64{0, 10, 20, 30, 40},
			want:   []float64{20, 30, 40},
			period: 10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := sampleClock{gain: tc.gain}
			var h []sample
			for _, x := range tc.times {
				h = append(h, sample{t: time.Duration(x * float64(time.Millisecond))})
				if tc.cap > 0 && len(h) > tc.cap {
					h = h[1:]
				}
				c.advance(h)
				if len(c.grid) != len(h) {
					t.Fatalf("after %v ms: %d grid times for %d samples", x, len(c.grid), len(h))
				}
			}
			for i, w := range tc.want {
				if g := c.grid[i] * 1e3; math.Abs(g-w) > 1e-9 {
					t.Errorf("grid[%d] = %.9f ms, want %.9f", i, g, w)
				}
			}
			if g := c.period * 1e3; math.Abs(g-tc.period) > 1e-9 {
				t.Errorf("period = %.9f ms, want %.9f", g, tc.period)
			}
		})
	}
}

// TestSampleClockReset: after reset the clock starts over on a new
// history, as if new.
func TestSampleClockReset(t *testing.T) {
	c := sampleClock{gain: 0.2}
	h := []sample{{t: 0}, {t: 10 * time.Millisecond}, {t: 20 * time.Millisecond}}
	for i := range h {
		c.advance(h[:i+1])
	}
	c.reset()
	if c.period != 0 || c.intervals != 0 || len(c.grid) != 0 {
		t.Fatalf("after reset: period %v, intervals %d, %d grid times", c.period, c.intervals, len(c.grid))
	}
	h = []sample{{t: time.Second + 3*time.Millisecond}}
	c.advance(h)
	if len(c.grid) != 1 || c.newest() != h[0].t.Seconds() {
		t.Errorf("first grid time after reset = %v, want %v", c.grid, h[0].t.Seconds())
	}
}

// TestSampleClockJitter: on a 60 Hz tracker whose timestamps carry ±2 ms
// of jitter, with 5% of samples dropped, the grid times lie much closer to
// the true sample instants than the timestamps do, and the grid intervals
// (what velocities are divided by) much closer to the true intervals.
func TestSampleClockJitter(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	period := time.Second / 60
	c := sampleClock{gain: DefaultRobustConfig.ClockGain}
	var h []sample
	var phaseGrid, phaseRaw, ivGrid, ivRaw float64
	n := 0
	prev := time.Duration(0)
	for i := 0; i < 1200; i++ {
		if i > 0 && r.Intn(20) == 0 {
			continue // dropped
		}
		truth := time.Duration(i) * period
		ts := truth + time.Duration((r.Float64()*4-2)*float64(time.Millisecond))
		h = append(h, sample{t: ts})
		if len(h) > historyCap {
			h = h[1:]
		}
		c.advance(h)
		if i >= 300 {
			k := len(h)
			eg, er := c.newest()-truth.Seconds(), ts.Seconds()-truth.Seconds()
			phaseGrid += eg * eg
			phaseRaw += er * er
			ig := c.grid[k-1] - c.grid[k-2] - (truth - prev).Seconds()
			ir := (h[k-1].t - h[k-2].t - (truth - prev)).Seconds()
			ivGrid += ig * ig
			ivRaw += ir * ir
			n++
		}
		prev = truth
	}
	rms := func(x float64) float64 { return math.Sqrt(x/float64(n)) * 1e3 }
	t.Logf("RMS error, ms: time %.3f on the grid, %.3f raw; interval %.3f on the grid, %.3f raw",
		rms(phaseGrid), rms(phaseRaw), rms(ivGrid), rms(ivRaw))
	if rms(phaseGrid) > 0.5*rms(phaseRaw) {
		t.Errorf("grid time RMS error %.3f ms, want under half the timestamps' %.3f ms", rms(phaseGrid), rms(phaseRaw))
	}
	if rms(ivGrid) > 0.25*rms(ivRaw) {
		t.Errorf("grid interval RMS error %.3f ms, want under a quarter of the timestamps' %.3f ms", rms(ivGrid), rms(ivRaw))
	}
	if p := c.period * 1e3; math.Abs(p-1e3/60) > 0.25 {
		t.Errorf("period = %.3f ms, want %.3f ± 0.25", p, 1e3/60)
	}
}
