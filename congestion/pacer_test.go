package congestion

import (
	"testing"
	"time"
)

// TestPacerSpacing: a burst pushed at once leaves at the pacing rate,
// in order, after a small initial burst allowance.
func TestPacerSpacing(t *testing.T) {
	t0 := time.Unix(100, 0)
	p := NewPacer(1_000_000, time.Second) // 1000 bytes = 8 ms
	for i := range 10 {
		if !p.Push(i, 1000, t0) {
			t.Fatal("push refused")
		}
	}
	if b := p.Backlog(); b != 80*time.Millisecond {
		t.Errorf("backlog %v, want 80ms", b)
	}
	var sentAt []time.Duration
	for now := t0; len(sentAt) < 10 && now.Before(t0.Add(time.Second)); now = now.Add(time.Millisecond) {
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
	// 5 ms of burst allowance: packet k leaves at 8k-5 ms (rounded up).
	for k, at := range sentAt {
		want := max(0, time.Duration(8*k-5)*time.Millisecond)
		if at != want {
			t.Errorf("packet %d left at %v, want %v", k, at, want)
		}
	}
	if _, ok, wait := p.Pop(t0.Add(time.Second)); ok || wait != 0 {
		t.Errorf("empty pacer: ok %v wait %v", ok, wait)
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
