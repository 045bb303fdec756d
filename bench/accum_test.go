package bench

import (
	"math"
	"testing"
	"time"

	"github.com/holocast/holocast/clients/headset"
)

func TestReservoir(t *testing.T) {
	// Up to its capacity it is exact: the same figures as summarize.
	r := newReservoir(100)
	var v []float64
	for i := range 100 {
		x := float64((i * 37) % 100)
		r.add(x)
		v = append(v, x)
	}
	if got, want := r.dist(), summarize(v); got != want {
		t.Errorf("under capacity: %+v, want %+v", got, want)
	}
	// Beyond it, count, mean and max stay exact, the sample stays at its
	// capacity and its percentiles stay close to the stream's.
	r = newReservoir(4096)
	const n = 1_000_000
	for i := range n {
		r.add(float64((i * 7919) % n)) // a permutation of 0..n-1
	}
	d := r.dist()
	t.Logf("%+v", d)
	if len(r.sample) != 4096 || d.Count != n || d.Max != n-1 || math.Abs(d.Mean-(n-1)/2.0) > 1e-6 {
		t.Errorf("beyond capacity: %d kept, %+v", len(r.sample), d)
	}
	for _, c := range []struct{ got, want float64 }{{d.P50, 0.5 * n}, {d.P95, 0.95 * n}, {d.P99, 0.99 * n}} {
		if math.Abs(c.got-c.want) > 0.02*n {
			t.Errorf("percentile %v, want about %v", c.got, c.want)
		}
	}
	if (newReservoir(8).dist() != Dist{}) {
		t.Error("empty reservoir")
	}
}

func TestTimeline(t *testing.T) {
	var tl thinned[FrameSample]
	for i := range 3 * timelineCap {
		tl.add(FrameSample{At: time.Duration(i) * time.Millisecond}, timelineCap)
	}
	// 3×cap frames: stride 4, so 3/4 of cap kept, evenly from the start.
	if len(tl.items) != 3*timelineCap/4 || tl.stride != 4 {
		t.Fatalf("%d kept, stride %d", len(tl.items), tl.stride)
	}
	for i, f := range tl.items {
		if f.At != time.Duration(4*i)*time.Millisecond {
			t.Fatalf("frame %d at %v, want %v", i, f.At, time.Duration(4*i)*time.Millisecond)
		}
	}
	var short thinned[FrameSample]
	for i := range 10 {
		short.add(FrameSample{At: time.Duration(i)}, timelineCap)
	}
	if len(short.items) != 10 {
		t.Errorf("short run: %d of 10 kept", len(short.items))
	}
}

func TestFPSOverTime(t *testing.T) {
	var b bins
	for _, at := range []time.Duration{0, 100 * time.Millisecond, 600 * time.Millisecond, 1010 * time.Millisecond, -time.Millisecond} {
		b.add(at)
	}
	// 2 sessions, 1.05 s window: bins [0,.5) [.5,1) and a last 0.05 s
	// bin that is left out.
	got := fpsOverTime(b, 1050*time.Millisecond, 2)
	want := []float64{2, 1}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("fps %v, want %v", got, want)
	}
	// A last partial bin of at least 0.1 s counts by its own width.
	if got := fpsOverTime(b, 1200*time.Millisecond, 1); len(got) != 3 || math.Abs(got[2]-1/0.2) > 1e-9 {
		t.Errorf("fps %v", got)
	}
}

// TestStoreBounded: a long run's frames are scored as they arrive and
// leave a bounded amount behind (here 200 000 frames, over an hour and a
// half of one headset at 30 fps).
func TestStoreBounded(t *testing.T) {
	cfg := &Config{LateAfter: 100 * time.Millisecond}
	t0 := time.Now()
	s := &sim{idx: 0, m: &motion{}, acc: newRunAcc(cfg, t0, t0, 33*time.Millisecond)}
	s.c = nil // frames without FrameInfo never reach the client
	wStart := t0.Add(time.Second)
	s.win = sessionAcc{freeze: newFreezeCounter(s.acc.interval), p2f: newReservoir(sessionReservoirCap)}
	s.winStart = wStart
	const n = 200_000
	for i := range n {
		s.store(&headset.Frame{Data: make([]byte, 10), Received: wStart.Add(time.Duration(i) * 33 * time.Millisecond)}, t0)
	}
	if s.total != n || s.win.frames != n || s.win.bytes != 10*n || s.acc.unmatched != n {
		t.Errorf("counted %d, %d in the window, %d bytes, %d unmatched", s.total, s.win.frames, s.win.bytes, s.acc.unmatched)
	}
	if len(s.acc.head0.items) > timelineCap || len(s.recent) > 31 || len(s.win.bins) != int((n-1)*33*time.Millisecond/fpsBin)+1 {
		t.Errorf("kept %d timeline frames, %d recent arrivals, %d bins", len(s.acc.head0.items), len(s.recent), len(s.win.bins))
	}
	if s.win.freeze.n != 0 {
		t.Errorf("%d freezes at a steady 30 fps", s.win.freeze.n)
	}
}
