package headset_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
)

// TestCloseEndsChannels: Close closes Frames() and Control(), so readers
// that range over them end, and messages the peer connection still
// delivers after Close are discarded instead of panicking on a closed
// channel.
func TestCloseEndsChannels(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sessionsURL, stop := startNodeFPS(10)
	defer stop()
	c, err := headset.Dial(ctx, sessionsURL, headset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	controls := make(chan int)
	go func() {
		n := 0
		for range c.Control() {
			n++
		}
		controls <- n
	}()
	frames := make(chan int)
	go func() {
		n := 0
		for range c.Frames() {
			n++
		}
		frames <- n
	}()
	if err := c.WaitControl(ctx); err != nil {
		t.Fatal(err)
	}
	for c.SessionInfo() == nil { // the SessionInfo went through Control()
		select {
		case <-ctx.Done():
			t.Fatal("no SessionInfo")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]chan int{"Control()": controls, "Frames()": frames} {
		select {
		case n := <-ch:
			if name == "Control()" && n == 0 {
				t.Errorf("%s delivered nothing before Close (the SessionInfo at least)", name)
			}
		case <-ctx.Done():
			t.Fatalf("%s still open after Close", name)
		}
	}
}
