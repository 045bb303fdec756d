package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/holocast/holocast/node"
)

// defaultMetricsListen is --metrics-listen's default: loopback only, the
// port commonly used by Prometheus exporters of this kind.
const defaultMetricsListen = "127.0.0.1:9464"

// listenMetrics opens the metrics listener of --metrics-listen; nil for
// an empty address (metrics off).
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen: %w", err)
	}
	return ln, nil
}

// serveMetrics serves n.MetricsHandler (/metrics, /healthz, /readyz) in
// plain HTTP on ln until the returned function shuts it down.
func serveMetrics(ln net.Listener, n *node.Node, log *slog.Logger) (shutdown func()) {
	srv := &http.Server{
		Handler:           n.MetricsHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
}
