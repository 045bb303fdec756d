package headset

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is an Options.Now that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// TestOptionsNow: Client.Now and the FrameInfo matcher read Options.Now,
// not the wall clock.
func TestOptionsNow(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c := newClient(Options{Now: clk.now, MatchTimeout: time.Second}.withDefaults())
	if got := c.Now(); got != 0 {
		t.Fatalf("Now at the epoch = %d µs, want 0", got)
	}
	clk.advance(1500 * time.Millisecond)
	if got := c.Now(); got != 1_500_000 {
		t.Fatalf("Now = %d µs, want 1500000", got)
	}

	// A frame without FrameInfo waits MatchTimeout on the fake clock,
	// however long it waits on the real one.
	c.onFrame(&Frame{RTPTimestamp: 1, Data: []byte{1}})
	clk.advance(999 * time.Millisecond)
	c.onFrame(&Frame{RTPTimestamp: 2, Data: []byte{1}})
	if n := len(c.frames); n != 0 {
		t.Fatalf("%d frames released before MatchTimeout on the fake clock", n)
	}
	clk.advance(2 * time.Millisecond)
	c.onFrame(&Frame{RTPTimestamp: 3, Data: []byte{1}})
	if n := len(c.frames); n != 1 {
		t.Fatalf("%d frames released after MatchTimeout, want 1", n)
	}
	if f := <-c.frames; f.RTPTimestamp != 1 || f.Info != nil {
		t.Errorf("released frame %d (info %v), want 1 unmatched", f.RTPTimestamp, f.Info)
	}
}

// TestOptionsNowDefault: without Options.Now the client's clock is the
// wall clock.
func TestOptionsNowDefault(t *testing.T) {
	c := newClient(Options{}.withDefaults())
	before := time.Now()
	got := c.now()
	if got.Before(before) || got.Sub(before) > time.Minute {
		t.Errorf("now() = %v, want about %v", got, before)
	}
}
