package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/rendertest"
)

// Example starts a render node, serves its signaling endpoint over HTTP and
// connects a headset. A production node leaves Renderers and Encoders unset
// (GL workers over EGL and the compiled-in H.264 encoder) and serves HTTPS,
// as cmd/holocast-node does; the pure-Go test parts used here make the
// example run anywhere.
func Example() {
	n, err := node.New(context.Background(), node.Config{
		Width: 640, Height: 360, FPS: 30,
		Renderers: &rendertest.Factory{},
		Encoders:  encodertest.FakeFactory,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(n.Handler())
	defer func() {
		srv.Close()
		_ = n.Close() // ends every session, then the renderers
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := headset.Dial(ctx, srv.URL+"/v1/sessions", headset.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())
	if err := c.WaitControl(ctx); err != nil {
		fmt.Println(err)
		return
	}
	info := c.SessionInfo()
	fmt.Printf("session: %dx%d at %d fps, encoder %s, renderer %s\n",
		info.GetWidth(), info.GetHeight(), info.GetFps(), info.GetEncoder(), info.GetRenderer())
	fmt.Println("live sessions:", n.Sessions())

	select {
	case f := <-c.Frames():
		fmt.Println("first frame is a key frame:", f.KeyFrame)
	case <-ctx.Done():
		fmt.Println("no frame")
	}
	// Output:
	// session: 640x360 at 30 fps, encoder fake, renderer rendertest
	// live sessions: 1
	// first frame is a key frame: true
}
