package congestion

import (
	"testing"
	"time"
)

// TestPacerSpacing: a burst pushed at once leaves at the pacing rate,
// in order, after the burst allowance.
func TestPacerSpacing(t *testing.T) {
	for _, burst := range []time.Duration{0, 5 * time.Millisecond, DefaultPacerBurst} {
		t.Run(burst.String(), func(t *testing.T) {
			t0 := time.Unix(100, 0)
			p := NewPacer(1_000_000, time.Second) // 1000 bytes = 8 ms
			p.Burst = burst
			for i := range 10 {
				if !p.Push(i, 1000, t0) {
					t.Fatal("push refused")
				}
			}
			if b := p.Backlog(); b != 80*time.Millisecond {
				t.Errorf("backlog %v, want 80ms", b)
			}
			sentAt := drain(t, p, t0, 10)
			// Packet k leaves at 8k ms less the allowance (rounded up to
			// the millisecond the test polls at).
			for k, at := range sentAt {
				want := max(0, time.Duration(8*k)*time.Millisecond-burst)
				if at != want {
					t.Errorf("packet %d left at %v, want %v", k, at, want)
				}
			}
			if _, ok, wait := p.Pop(t0.Add(time.Second)); ok || wait != 0 {
				t.Errorf("empty pacer: ok %v wait %v", ok, wait)
			}
		})
	}
}

// drain pops n packets, polling every millisecond from t0, and returns
// when each left (since t0), checking their order.
func drain(t *testing.T, p *Pacer, t0 time.Time, n int) []time.Duration {
	t.Helper()
	var sentAt []time.Duration
	for now := t0; len(sentAt) < n && now.Before(t0.Add(time.Second)); now = now.Add(time.Millisecond) {
		for {
			v, ok, _ := p.Pop(now)
			if !ok {
				break
			}
			if v.(int) != len(sentAt) {
				t.Fatalf("packet %v out of order", v)
			}
			sentAt = append(sentAt, now.Sub(t0))
		}
	}
	if len(sentAt) != n {
		t.Fatalf("%d of %d packets left", len(sentAt), n)
	}
	return sentAt
}

// TestPacerBurstRefills: the allowance is a token bucket at the pacing
// rate: a frame within it leaves at once after an idle time, but a frame
// right after a burst is paced until the bucket has refilled.
func TestPacerBurstRefills(t *testing.T) {
	t0 := time.Unix(100, 0)
	p := NewPacer(1_000_000, time.Second) // 1000 bytes = 8 ms
	p.Burst = 24 * time.Millisecond       // 3 packets
	push := func(from, n int, at time.Time) {
		for i := range n {
			p.Push(from+i, 1000, at)
		}
	}
	// Three packets after an idle time: all at once (the allowance and
	// the one every pacer lets go).
	push(0, 3, t0)
	for k := range 3 {
		if _, ok, _ := p.Pop(t0); !ok {
			t.Fatalf("packet %d of a frame within the allowance was held", k)
		}
	}
	// 8 ms later the bucket holds one packet's worth: with the packet
	// every pacer lets go at once, two of the next three leave, the
	// third 8 ms later.
	t1 := t0.Add(8 * time.Millisecond)
	push(0, 3, t1)
	got := drain(t, p, t1, 3)
	want := []time.Duration{0, 0, 8 * time.Millisecond}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("after a burst: packet %d left at %v, want %v", k, got[k], want[k])
		}
	}
	// A long idle time fills the bucket only up to the allowance: four
	// packets at once, the fifth 8 ms later.
	t2 := t1.Add(time.Second)
	push(0, 5, t2)
	got = drain(t, p, t2, 5)
	want = []time.Duration{0, 0, 0, 0, 8 * time.Millisecond}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("after idling: packet %d left at %v, want %v", k, got[k], want[k])
		}
	}
}

// TestPacerDrops: the queue never holds more than MaxDelay; what does
// not fit is dropped and counted.
func TestPacerDrops(t *testing.T) {
	t0 := time.Unix(100, 0)
	p := NewPacer(800_000, 50*time.Millisecond) // 1000 bytes = 10 ms
	accepted := 0
	for i := range 20 {
		if p.Push(i, 1000, t0) {
			accepted++
		}
	}
	if accepted != 5 || p.Dropped() != 15 || p.Backlog() != 50*time.Millisecond {
		t.Errorf("accepted %d, dropped %d, backlog %v", accepted, p.Dropped(), p.Backlog())
	}
	// A packet bigger than MaxDelay into an empty queue still goes.
	q := NewPacer(800_000, 5*time.Millisecond)
	if !q.Push(0, 5000, t0) {
		t.Error("a lone packet was dropped")
	}
	if _, ok, wait := q.Pop(t0); !ok || wait != 0 {
		t.Errorf("first packet held: %v %v", ok, wait)
	}
	q.Push(1, 1000, t0)
	if _, ok, wait := q.Pop(t0); ok || wait <= 0 {
		t.Errorf("second packet not paced: ok %v wait %v", ok, wait)
	}
}

// TestPacerPushFirst: retransmissions (PushFirst) leave before the media
// queued ahead of them, in their own order, at the same rate, and count
// in the queue's bound.
func TestPacerPushFirst(t *testing.T) {
	t0 := time.Unix(100, 0)
	p := NewPacer(1_000_000, 100*time.Millisecond) // 1000 bytes = 8 ms
	p.Burst = 0
	// Media 2..9 queued; the first leaves at once, then two repairs come.
	for i := range 8 {
		p.Push(i+2, 1000, t0)
	}
	v, ok, _ := p.Pop(t0)
	if !ok || v.(int) != 2 {
		t.Fatalf("first pop %v %v", v, ok)
	}
	p.PushFirst(0, 1000, t0)
	p.PushFirst(1, 1000, t0)
	if n := p.Len(); n != 9 {
		t.Errorf("Len %d, want 9", n)
	}
	// 9 queued (72 ms) + 4 more = 104 ms: over the 100 ms bound.
	if p.PushFirst(99, 4000, t0) || p.Dropped() != 1 {
		t.Errorf("a repair over the bound was queued (dropped %d)", p.Dropped())
	}
	var order []int
	var at []time.Duration
	for now := t0; len(order) < 9 && now.Before(t0.Add(time.Second)); now = now.Add(time.Millisecond) {
		for {
			v, ok, _ := p.Pop(now)
			if !ok {
				break
			}
			order = append(order, v.(int))
			at = append(at, now.Sub(t0))
		}
	}
	want := []int{0, 1, 3, 4, 5, 6, 7, 8, 9}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
		if w := time.Duration(8*(i+1)) * time.Millisecond; at[i] != w {
			t.Errorf("packet %d left at %v, want %v", order[i], at[i], w)
		}
	}
	if p.Len() != 0 || p.Backlog() != 0 {
		t.Errorf("left: %d packets, %v", p.Len(), p.Backlog())
	}
}
