package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/signaling"
)

// drainWait bounds every wait of the drain tests: far above what a slow,
// shared machine needs.
const drainWait = 60 * time.Second

// watched is a headset whose frames are counted and whose Notices are
// collected, until it closes.
type watched struct {
	*headset.Client
	frames  atomic.Uint64
	notices chan string
}

// watch connects a headset to url and starts counting its frames and
// collecting its Notices until the test ends.
func watch(t *testing.T, ctx context.Context, url string) *watched {
	t.Helper()
	w := &watched{Client: dial(t, ctx, url, headset.Options{}), notices: make(chan string, 16)}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range w.Frames() {
			w.frames.Add(1)
		}
	}()
	go func() { // Close closes Control()
		defer wg.Done()
		for m := range w.Control() {
			if n := m.GetNotice(); n != nil {
				select {
				case w.notices <- n.GetMessage():
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { _ = w.Close(context.Background()); wg.Wait() })
	return w
}

// waitFrames waits until the headset has received at least n frames.
func (w *watched) waitFrames(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(drainWait)
	for w.frames.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames, want %d", w.frames.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drainNotice waits for the Notice of a draining node.
func (w *watched) drainNotice(t *testing.T) string {
	t.Helper()
	timeout := time.After(drainWait)
	for {
		select {
		case m := <-w.notices:
			if strings.HasPrefix(m, node.DrainNoticePrefix) {
				return m
			}
		case <-timeout:
			t.Fatal("no drain Notice")
		}
	}
}

// startDrain runs n.Drain(ctx, timeout) and returns where its error and
// its duration arrive.
func startDrain(ctx context.Context, n *node.Node, timeout time.Duration) (<-chan error, *atomic.Int64) {
	errc := make(chan error, 1)
	var took atomic.Int64
	go func() {
		start := time.Now()
		err := n.Drain(ctx, timeout)
		took.Store(int64(time.Since(start)))
		errc <- err
	}()
	return errc, &took
}

func waitDrain(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(drainWait):
		t.Fatal("Drain did not return")
		return nil
	}
}

// TestDrainTimeout: a draining node is not ready, refuses new sessions
// with 503 and Retry-After, tells its session in a Notice, keeps
// streaming to it until the timeout, then ends it.
func TestDrainTimeout(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	const timeout = 4 * time.Second
	n, url := startNode(t, node.Config{Width: 160, Height: 90})
	base := strings.TrimSuffix(url, signaling.SessionsPath)
	ctx, cancel := context.WithTimeout(context.Background(), drainWait)
	defer cancel()
	c := watch(t, ctx, url)
	c.waitFrames(t, 3)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz before the drain: %d %q", code, body)
	}

	errc, took := startDrain(ctx, n, timeout)
	msg := c.drainNotice(t)
	if !strings.Contains(msg, fmt.Sprintf("within %v", timeout)) {
		t.Errorf("drain Notice %q does not say when the session ends", msg)
	}
	if err := n.Ready(); !errors.Is(err, signaling.ErrDraining) {
		t.Errorf("Ready() = %v, want ErrDraining", err)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining: %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while draining: %d, want 200", code)
	}
	offer := offerSDP(t, func(pc *webrtc.PeerConnection) error {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		return err
	})
	resp, err := http.Post(url, "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "draining") {
		t.Errorf("POST while draining: %d %v %q", resp.StatusCode, resp.Header, b)
	}

	c.waitFrames(t, c.frames.Load()+10) // frames flow during the drain
	select {
	case err := <-errc:
		t.Fatalf("Drain returned (%v) before its timeout with a live session, after %v", err, time.Duration(took.Load()))
	default:
	}
	if err := waitDrain(t, errc); err != nil {
		t.Errorf("Drain: %v", err)
	}
	if d := time.Duration(took.Load()); d < timeout {
		t.Errorf("Drain took %v, want at least its timeout %v", d, timeout)
	}
	if got := n.Sessions(); got != 0 {
		t.Errorf("%d sessions after the drain", got)
	}
	if err := n.Ready(); !errors.Is(err, signaling.ErrShuttingDown) {
		t.Errorf("after the drain: Ready() = %v, want ErrShuttingDown", err)
	}
}

// TestDrainEndsWithLastSession: Drain returns as soon as the last session
// has ended, long before its timeout.
func TestDrainEndsWithLastSession(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n, url := startNode(t, node.Config{Width: 160, Height: 90})
	ctx, cancel := context.WithTimeout(context.Background(), drainWait)
	defer cancel()
	a, b := watch(t, ctx, url), watch(t, ctx, url)
	a.waitFrames(t, 1)
	b.waitFrames(t, 1)

	errc, _ := startDrain(ctx, n, time.Hour)
	a.drainNotice(t)
	b.drainNotice(t)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b.waitFrames(t, b.frames.Load()+5) // the other session goes on
	select {
	case err := <-errc:
		t.Fatalf("Drain returned (%v) with a session left", err)
	default:
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := waitDrain(t, errc); err != nil {
		t.Errorf("Drain: %v", err)
	}
}

// TestDrainCutShort: a drain without a timeout (0) and one whose context
// ends (a second signal) end the live sessions at once; the second
// returns the context's error.
func TestDrainCutShort(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    error
	}{
		{"timeout 0", 0, false, nil},
		{"context cancelled", time.Hour, true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
			n, url := startNode(t, node.Config{Width: 160, Height: 90})
			ctx, cancel := context.WithTimeout(context.Background(), drainWait)
			defer cancel()
			c := watch(t, ctx, url)
			c.waitFrames(t, 1)
			dctx, cut := context.WithCancel(ctx)
			defer cut()
			errc, _ := startDrain(dctx, n, tt.timeout)
			if tt.cancel {
				c.drainNotice(t)
				cut()
			}
			if err := waitDrain(t, errc); !errors.Is(err, tt.want) {
				t.Errorf("Drain = %v, want %v", err, tt.want)
			}
			if got := n.Sessions(); got != 0 {
				t.Errorf("%d sessions after the drain", got)
			}
		})
	}
}

// TestReadyHandler: 200 "ready" when ready, else 503 with the reason.
func TestReadyHandler(t *testing.T) {
	tests := []struct {
		err  error
		code int
		body string
	}{
		{nil, http.StatusOK, "ready\n"},
		{signaling.ErrDraining, http.StatusServiceUnavailable, "not ready: node is draining\n"},
		{fmt.Errorf("%w (4)", signaling.ErrSessionLimit), http.StatusServiceUnavailable, "not ready: session limit reached (4)\n"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		node.ReadyHandler(func() error { return tt.err }).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tt.code || rec.Body.String() != tt.body {
			t.Errorf("ready() = %v: %d %q, want %d %q", tt.err, rec.Code, rec.Body.String(), tt.code, tt.body)
		}
	}
}
