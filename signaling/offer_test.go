package signaling

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/signaling/link"
)

func TestOfferAndEnd(t *testing.T) {
	var results []string
	s, node, _ := newTestServer(t, Options{MaxSessions: 1, OnResult: func(r string) { results = append(results, r) },
		ICEServers: func(id string) []link.ICEServer {
			return []link.ICEServer{{URL: "turn:turn.example.net:3478", Username: "u-" + id, Credential: "c"}}
		}})
	ctx := context.Background()
	owner := auth.Fingerprint("owner-credential")

	if _, err := s.Offer(ctx, OfferRequest{Offer: "not sdp", Credential: owner, RemoteAddr: "192.0.2.1:5"}); !errors.Is(err, ErrBadOffer) || StatusCode(err) != http.StatusBadRequest {
		t.Fatalf("bad offer: err = %v (status %d), want ErrBadOffer and 400", err, StatusCode(err))
	}
	a, err := s.Offer(ctx, OfferRequest{Offer: offerWith(host("192.0.2.7")), Grant: auth.Grant{Subject: "alice"}, Credential: owner, RemoteAddr: "192.0.2.1:5"})
	if err != nil || a.ID == "" || a.Answer == "" {
		t.Fatalf("Offer = %+v, %v", a, err)
	}
	if len(a.ICEServers) != 1 || a.ICEServers[0].Username != "u-"+a.ID {
		t.Errorf("Offer's ICE servers %+v, want the TURN server with credentials for session %s (a 201's Link headers)", a.ICEServers, a.ID)
	}
	if got := node.last(); got.ID != a.ID || got.Grant.Subject != "alice" || got.RemoteAddr != "192.0.2.1:5" {
		t.Errorf("factory got %+v", got)
	}
	_, err = s.Offer(ctx, OfferRequest{Offer: offerWith(host("192.0.2.7")), Credential: owner, RemoteAddr: "192.0.2.2:5"})
	if !errors.Is(err, ErrSessionLimit) || StatusCode(err) != http.StatusServiceUnavailable || RetryAfter(err) != retryAfterFull {
		t.Fatalf("over the cap: err = %v, want ErrSessionLimit, 503, Retry-After %d", err, retryAfterFull)
	}
	if s.End(a.ID, auth.Fingerprint("someone else")) || s.End("unknown", owner) {
		t.Fatal("End ended a session with a wrong credential or an unknown id")
	}
	if !s.End(a.ID, owner) {
		t.Fatal("End refused the session's own credential")
	}
	want := fmt.Sprint([]string{ResultBadOffer, ResultCreated, ResultSessionLimit})
	if got := fmt.Sprint(results); got != want {
		t.Errorf("results %s, want %s", got, want)
	}
}

func TestStatusCode(t *testing.T) {
	tests := []struct {
		err    error
		status int
		retry  int
	}{
		{fmt.Errorf("%w: x", ErrBadOffer), http.StatusBadRequest, 0},
		{fmt.Errorf("%w: scene", ErrNotFound), http.StatusNotFound, 0},
		{ErrClientLimit, http.StatusTooManyRequests, retryAfterFull},
		{ErrNegotiationLimit, http.StatusServiceUnavailable, retryAfterNegotiating},
		{ErrSessionLimit, http.StatusServiceUnavailable, retryAfterFull},
		{ErrDraining, http.StatusServiceUnavailable, retryAfterFull},
		{ErrShuttingDown, http.StatusServiceUnavailable, retryAfterFull},
		{errors.New("gl died"), http.StatusInternalServerError, 0},
	}
	for _, tt := range tests {
		if got, retry := StatusCode(tt.err), RetryAfter(tt.err); got != tt.status || retry != tt.retry {
			t.Errorf("%v: status %d retry %d, want %d %d", tt.err, got, retry, tt.status, tt.retry)
		}
	}
}
