//go:build egl && cgo

package node_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
)

// TestShutdownOrder: the context given to node.New bounds only the start
// (cmd/holocast-node passes its signal context). Cancelling it must not
// stop the GL workers under live sessions; Close then ends the sessions
// first and the workers after them, without errors.
func TestShutdownOrder(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // after the server's cleanup
	startCtx, signal := context.WithCancel(context.Background())
	n, err := node.New(startCtx, node.Config{Width: 160, Height: 90, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})
	frame := func() *headset.Frame {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				return nil
			}
			return f
		case <-ctx.Done():
			t.Fatal("no frame")
			return nil
		}
	}
	frame()

	signal() // as SIGTERM does in holocast-node
	for len(c.Frames()) > 0 {
		frame() // frames made before the signal
	}
	for i := 0; i < 10; i++ {
		if frame() == nil {
			t.Fatalf("frames stopped %d frames after the start context ended", i)
		}
	}
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := n.Sessions(); got != 0 {
		t.Errorf("%d sessions after Close", got)
	}
	_ = c.Close(context.Background())
}
