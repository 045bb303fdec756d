package signaling

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/holocast/holocast/signaling/link"
)

// TestICEServerLinks: the ICE servers go out as Link rel="ice-server"
// headers in the 201 of a POST (minted for the new session) and in the
// answer to an OPTIONS that carries an accepted credential; a preflight or
// a wrong credential gets 204 without them, and cross-origin pages may
// read Link.
func TestICEServerLinks(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	servers := func(id string) []link.ICEServer {
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		return []link.ICEServer{{URL: "stun:stun.example.net"}, {URL: "turn:turn.example.net?transport=udp", Username: "9:" + id, Credential: "pw"}}
	}
	_, _, url := newTestServer(t, Options{Auth: testAuth(t), ICEServers: servers, AllowedOrigins: []string{"https://player.example"}})
	check := func(t *testing.T, a answer, id string) {
		t.Helper()
		got, err := link.Parse(a.header.Values("Link"))
		if err != nil {
			t.Fatal(err)
		}
		want := []link.ICEServer{{URL: "stun:stun.example.net"}, {URL: "turn:turn.example.net?transport=udp", Username: "9:" + id, Credential: "pw"}}
		if fmt.Sprint(got) != fmt.Sprint(want) || a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Link %q (Cache-Control %q), want %+v and no-store", a.header.Values("Link"), a.header.Get("Cache-Control"), want)
		}
	}
	t.Run("OPTIONS with the token", func(t *testing.T) {
		a := do(t, http.MethodOptions, url, testToken, "", "Origin", "https://player.example")
		if a.status != http.StatusNoContent {
			t.Fatalf("%d %s", a.status, a.body)
		}
		check(t, a, "")
		if !strings.Contains(a.header.Get("Access-Control-Expose-Headers"), "Link") {
			t.Errorf("Access-Control-Expose-Headers %q lacks Link", a.header.Get("Access-Control-Expose-Headers"))
		}
	})
	for _, tt := range []struct{ name, token string }{{"preflight", ""}, {"wrong token", "not-the-token-0123456789"}} {
		t.Run("OPTIONS, "+tt.name, func(t *testing.T) {
			a := do(t, http.MethodOptions, url, tt.token, "", "Origin", "https://player.example", "Access-Control-Request-Method", "POST")
			if a.status != http.StatusNoContent || len(a.header.Values("Link")) != 0 {
				t.Errorf("%d, Link %q; want 204 without Link", a.status, a.header.Values("Link"))
			}
		})
	}
	t.Run("201 of POST", func(t *testing.T) {
		a := do(t, http.MethodPost, url, testToken, offerWith(host("192.0.2.7")))
		if a.status != http.StatusCreated {
			t.Fatalf("%d %s", a.status, a.body)
		}
		loc := a.header.Get("Location")
		check(t, a, loc[strings.LastIndex(loc, "/")+1:])
	})
	t.Run("refusals carry none", func(t *testing.T) {
		a := do(t, http.MethodPost, url, "", offerWith(host("192.0.2.7")))
		if a.status != http.StatusUnauthorized || len(a.header.Values("Link")) != 0 {
			t.Errorf("%d, Link %q; want 401 without Link", a.status, a.header.Values("Link"))
		}
	})
}

// TestNoCandidatesRefusal: a Factory error wrapping ErrNoCandidates is
// answered 503 with Retry-After and the reason, reported as
// ResultNoCandidates, and frees the reserved slot.
func TestNoCandidatesRefusal(t *testing.T) {
	var results []string
	var mu sync.Mutex
	fail := true
	s, err := NewServer(func(_ context.Context, _ Request) (Session, error) {
		if fail {
			return nil, fmt.Errorf("%w: the node gathered no ICE candidate", ErrNoCandidates)
		}
		return &fakeSession{done: make(chan struct{})}, nil
	}, Options{MaxSessions: 1, MaxSessionsPerClient: 1, Logger: slog.New(slog.DiscardHandler), OnResult: func(r string) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	url := srv.URL + SessionsPath
	offer := offerWith(host("192.0.2.7"))
	for range 3 { // more than the caps: nothing is held
		a := do(t, http.MethodPost, url, "", offer)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "no usable ICE candidate on the node: the node gathered no ICE candidate") {
			t.Fatalf("%d %v %q", a.status, a.header, a.body)
		}
	}
	fail = false
	if a := do(t, http.MethodPost, url, "", offer); a.status != http.StatusCreated {
		t.Errorf("after the refusals: %d %s, want 201 (no slot held)", a.status, a.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{ResultNoCandidates, ResultNoCandidates, ResultNoCandidates, ResultCreated}; fmt.Sprint(results) != fmt.Sprint(want) {
		t.Errorf("results %v, want %v", results, want)
	}
}
