package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render/rendertest"
)

// slowWait bounds every wait of these tests: far above what a slow,
// shared machine needs.
const slowWait = 60 * time.Second

// TestLimitFlags: the limit flags reach node.Config, a 0 that means "no
// limit" as the node's negative, and bad values are refused.
func TestLimitFlags(t *testing.T) {
	parse := func(args ...string) (node.Config, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		l := addLimitFlags(fs)
		if err := fs.Parse(args); err != nil {
			return node.Config{}, err
		}
		var cfg node.Config
		return cfg, l.apply(&cfg)
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxSessionDuration != node.DefaultMaxSessionDuration || cfg.IdleTimeout != node.DefaultIdleTimeout ||
		cfg.PoseRate.PerSecond != 250 || cfg.PoseRate.Burst != 50 || cfg.ControlRate.PerSecond != 50 || cfg.ControlRate.Burst != 20 ||
		cfg.MaxMessageSize != 64<<10 || cfg.SCTPReceiveBuffer != node.DefaultSCTPReceiveBuffer {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = parse("--max-session-duration", "0", "--idle-timeout", "0", "--rebuild-interval", "0", "--max-rejected-channels", "0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxSessionDuration >= 0 || cfg.IdleTimeout >= 0 || cfg.RebuildInterval >= 0 || cfg.MaxRejectedChannels >= 0 {
		t.Errorf("0 must mean no limit (negative in node.Config): %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--max-message-size", "1048576"}, {"--sctp-receive-buffer", "1000"}, {"--pose-rate", "0"},
		{"--control-burst", "0"}, {"--idle-timeout", "-1s"}, {"--http-read-timeout", "0"},
	} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestHTTPServerCutsSlowClients: the node's HTTP server cuts a client that
// drips its request body (answered 400 with the timeout, after
// --http-read-timeout) and an idle keep-alive connection (after
// --http-idle-timeout), and refuses headers over 16 KiB, while a headset
// connected to the same node keeps streaming.
func TestHTTPServerCutsSlowClients(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx, cancel := context.WithTimeout(context.Background(), slowWait)
	defer cancel()

	n, err := node.New(ctx, node.Config{Width: 160, Height: 90, FPS: 30, Renderers: &rendertest.Factory{}, Encoders: encodertest.FakeFactory,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	lim := &limitFlags{httpRead: time.Second, httpWrite: 15 * time.Second, httpIdle: time.Second}
	srv := newHTTPServer(n.Handler(), slog.New(slog.DiscardHandler), lim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
		_ = n.Close()
	})
	addr := ln.Addr().String()

	// A well-behaved headset streams throughout.
	c, err := headset.Dial(ctx, "http://"+addr+"/v1/sessions", headset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var frames atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range c.Frames() {
			frames.Add(1)
		}
	}()
	t.Cleanup(func() { _ = c.Close(context.Background()); wg.Wait() })
	if err := c.WaitControl(ctx); err != nil {
		t.Fatal(err)
	}
	start, from := time.Now(), frames.Load()

	t.Run("slow body", func(t *testing.T) {
		conn := dialRaw(t, addr)
		if _, err := io.WriteString(conn, "POST /v1/sessions HTTP/1.1\r\nHost: node\r\nContent-Type: application/sdp\r\nContent-Length: 4000\r\n\r\nv=0\r\n"); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		type response struct {
			status int
			body   string
		}
		resp := make(chan *response, 1)
		go func() {
			r, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				resp <- nil
				return
			}
			body, _ := io.ReadAll(r.Body)
			_ = r.Body.Close()
			resp <- &response{r.StatusCode, string(body)}
		}()
		// Drip a byte every 100 ms: 4000 bytes would take 400 s.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case r := <-resp:
				if d := time.Since(began); d < lim.httpRead/2 {
					t.Errorf("cut after %v, before --http-read-timeout %v", d, lim.httpRead)
				}
				if r == nil {
					t.Fatal("connection cut without a response")
				}
				if r.status != http.StatusBadRequest || !strings.Contains(r.body, "timeout") {
					t.Errorf("response %d %q, want 400 about the timeout", r.status, r.body)
				}
				checkClosed(t, conn)
				return
			case <-tick.C:
				_, _ = conn.Write([]byte("a"))
			case <-ctx.Done():
				t.Fatal("the dripping client was never cut")
			}
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dialRaw(t, addr)
		br := bufio.NewReader(conn)
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		if r.StatusCode != http.StatusOK || r.Close {
			t.Fatalf("healthz: %d, close %v: want a kept-alive 200", r.StatusCode, r.Close)
		}
		began := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(slowWait))
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection: read %v, want the server to close it", err)
		}
		if d := time.Since(began); d < lim.httpIdle/2 {
			t.Errorf("closed after %v idle, want about --http-idle-timeout %v", d, lim.httpIdle)
		}
	})
	t.Run("oversized header", func(t *testing.T) {
		conn := dialRaw(t, addr)
		big := strings.Repeat("a", 2*maxHeaderBytes)
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: node\r\nX-Big: "+big+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		r, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Body.Close()
		if r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", r.StatusCode)
		}
	})

	// The headset streamed on.
	want := frames.Load() + 10
	for frames.Load() < want {
		select {
		case <-ctx.Done():
			t.Fatal("the headset stopped streaming")
		case <-time.After(20 * time.Millisecond):
		}
	}
	fps := float64(frames.Load()-from) / time.Since(start).Seconds()
	t.Logf("headset: %.1f fps of 30 meanwhile", fps)
	if fps < 0.25*30 {
		t.Errorf("headset: %.1f fps while slow clients were cut, want at least a quarter of 30", fps)
	}
	if err := c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Ping{Ping: &holocastv1.Ping{Id: 1}}}); err != nil {
		t.Errorf("headset control channel: %v", err)
	}
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// checkClosed asserts that the server has closed conn.
func checkClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(slowWait))
	buf := make([]byte, 1024)
	for {
		_, err := conn.Read(buf)
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return
		}
		if err != nil {
			t.Fatalf("connection not closed by the server: %v", err)
		}
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
