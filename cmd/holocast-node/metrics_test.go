package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/rendertest"
)

// TestMetricsListener: --metrics-listen's server answers /metrics with the
// node's metrics and the process's, /healthz and /readyz; an empty
// address opens nothing; an address that cannot be listened on fails the
// start before the node is built.
func TestMetricsListener(t *testing.T) {
	n, err := node.New(context.Background(), node.Config{
		Width: 160, Height: 90, Renderers: &rendertest.Factory{}, Encoders: encodertest.FakeFactory, Metrics: metrics.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ln, err := listenMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	shutdown := serveMetrics(ln, n, slog.New(slog.DiscardHandler))
	defer shutdown()
	base := "http://" + ln.Addr().String()
	for _, c := range []struct{ path, want string }{
		{"/metrics", "holocast_sessions_active 0"},
		{"/metrics", "process_resident_memory_bytes"},
		{"/metrics", "go_goroutines"},
		{"/healthz", "ok"},
		{"/readyz", "ready"},
	} {
		resp, err := http.Get(base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %s: %s, want 200 with %q in\n%.300s", c.path, resp.Status, c.want, b)
		}
	}

	if ln, err := listenMetrics(""); ln != nil || err != nil {
		t.Errorf("empty --metrics-listen: %v, %v; want no listener and no error", ln, err)
	}
	err = run([]string{"--listen", "127.0.0.1:0", "--insecure-http", "--cert-dir", t.TempDir(), "--metrics-listen", "256.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Errorf("bad --metrics-listen: err = %v, want it to mention --metrics-listen", err)
	}
}
