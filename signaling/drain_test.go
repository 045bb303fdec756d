package signaling

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDrain: once draining, Ready and new POSTs are refused with
// ErrDraining (503, Retry-After), a session being negotiated is refused
// when its negotiation ends, live sessions go on, and the drained channel
// closes when the last one ends.
func TestDrain(t *testing.T) {
	s, n, url := newTestServer(t, Options{MaxSessionsPerClient: -1})
	offer := offerWith(host("192.0.2.7"))
	a := do(t, http.MethodPost, url, "", offer)
	if a.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", a.status, a.body)
	}
	loc := strings.TrimSuffix(url, SessionsPath) + a.header.Get("Location")

	// A negotiation under way when the drain begins.
	n.block, n.in = make(chan struct{}), make(chan struct{}, 1)
	pending := make(chan answer, 1)
	go func() { pending <- do(t, http.MethodPost, url, "", offer) }()
	<-n.in

	live, drained := s.Drain()
	if len(live) != 1 {
		t.Fatalf("Drain returned %d live sessions, want 1", len(live))
	}
	if err := s.Ready(); !errors.Is(err, ErrDraining) {
		t.Errorf("draining: Ready() = %v, want ErrDraining", err)
	}
	a = do(t, http.MethodPost, url, "", offer)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "draining") {
		t.Errorf("POST while draining: %d %v %q", a.status, a.header, a.body)
	}
	close(n.block)
	if a := <-pending; a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "draining") {
		t.Errorf("negotiation that ended while draining: %d %v %q", a.status, a.header, a.body)
	}
	select {
	case <-drained:
		t.Fatal("drained with a live session")
	default:
	}
	if s.Len() != 1 {
		t.Fatalf("%d live sessions, want the one created before the drain", s.Len())
	}
	if _, again := s.Drain(); again != drained {
		t.Error("a second Drain returned another channel")
	}

	do(t, http.MethodDelete, loc, "", "")
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("not drained after the last session ended")
	}
	_ = s.Close()
	if err := s.Ready(); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("closed: Ready() = %v, want ErrShuttingDown", err)
	}
}

// TestDrainIdle: a server with no session is drained at once.
func TestDrainIdle(t *testing.T) {
	s, _, _ := newTestServer(t, Options{})
	live, drained := s.Drain()
	if len(live) != 0 {
		t.Errorf("%d live sessions", len(live))
	}
	select {
	case <-drained:
	default:
		t.Error("an idle server is not drained at once")
	}
}
