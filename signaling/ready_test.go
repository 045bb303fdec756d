package signaling

import (
	"errors"
	"net/http"
	"testing"
)

// TestReady: Ready follows the session cap and Close.
func TestReady(t *testing.T) {
	s, _, url := newTestServer(t, Options{MaxSessions: 1})
	if err := s.Ready(); err != nil {
		t.Fatalf("idle server: Ready() = %v", err)
	}
	if a := do(t, http.MethodPost, url, "", offerWith(host("192.0.2.7"))); a.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", a.status, a.body)
	}
	if err := s.Ready(); !errors.Is(err, ErrSessionLimit) {
		t.Errorf("at the cap: Ready() = %v, want ErrSessionLimit", err)
	}
	_ = s.Close()
	if err := s.Ready(); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("closed: Ready() = %v, want ErrShuttingDown", err)
	}
}
