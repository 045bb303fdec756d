package bench

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/node"
)

// TestRunRemote measures a node given by URL (HTTPS with a self-signed
// certificate), asking it for a frame rate with a DeviceConfig.
func TestRunRemote(t *testing.T) {
	n, err := node.New(context.Background(), node.Config{Width: 320, Height: 180, FPS: 30, BitRate: 800_000, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(n.Handler())
	defer func() {
		srv.Close()
		_ = n.Close()
	}()
	cfg := smallRun(t)
	cfg.URL = srv.URL + "/v1/sessions"
	cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate = 0, 0, 20, 0
	cfg.RequestOutput = true
	cfg.InsecureTLS = true
	cfg.Duration = 1500 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	t.Logf("node %s: %dx%d, target %v fps, got %.1f, pose→frame p50 %.1f ms", rep.Config.Node, r.Width, r.Height, r.FPSTarget, r.FPS, r.PoseToFrameMS.P50)
	if rep.Config.Node != cfg.URL || r.Width != 320 || r.Height != 180 || r.FPSTarget != 20 {
		t.Errorf("node %q, %dx%d at %v fps", rep.Config.Node, r.Width, r.Height, r.FPSTarget)
	}
	// A remote node's estimate and encoder rate come from FrameInfo.
	checkSeries(t, r, 800)
	// The frame rate itself is checked on an idle machine by TestRunLoopback.
	if r.FPS <= 0 || r.FPS > 25 || r.PoseToFrameMS.Count == 0 {
		t.Errorf("fps %.1f, %+v", r.FPS, r.PoseToFrameMS)
	}
}

// TestRunRemoteToken: a node that requires a token refuses headsets
// without it (the run fails with the node's 401) and serves them with it.
func TestRunRemoteToken(t *testing.T) {
	const token = "bench-token-0123456789abcdef"
	a, err := auth.New(auth.Config{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(context.Background(), node.Config{Width: 320, Height: 180, FPS: 30, BitRate: 800_000, Auth: a, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(n.Handler())
	defer func() {
		srv.Close()
		_ = n.Close()
	}()
	cfg := smallRun(t)
	cfg.URL = srv.URL + "/v1/sessions"
	cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate = 0, 0, 0, 0
	cfg.Duration, cfg.Warmup = time.Second, 200*time.Millisecond
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without a token: err = %v, want the node's 401", err)
	}
	cfg.Token = token
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Runs[0]; r.PoseToFrameMS.Count == 0 {
		t.Errorf("no frames with the token: %+v", r)
	}
}
