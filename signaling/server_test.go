package signaling

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/holocast/holocast/auth"
)

const (
	testToken  = "test-token-0123456789abcdef"
	testSecret = "test-secret-0123456789abcdef0123456789"
)

type fakeSession struct {
	done chan struct{}
	once sync.Once
}

func (f *fakeSession) Answer() string        { return "v=0\r\n" }
func (f *fakeSession) Done() <-chan struct{} { return f.done }
func (f *fakeSession) Close() error {
	f.once.Do(func() { close(f.done) })
	return nil
}

// fakeNode records the requests its factory got; block, if set, holds
// every negotiation until it is closed.
type fakeNode struct {
	mu    sync.Mutex
	reqs  []Request
	block chan struct{}
	in    chan struct{} // one value per factory call that started
}

func (n *fakeNode) factory(ctx context.Context, req Request) (Session, error) {
	n.mu.Lock()
	n.reqs = append(n.reqs, req)
	n.mu.Unlock()
	if n.in != nil {
		n.in <- struct{}{}
	}
	if n.block != nil {
		select {
		case <-n.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &fakeSession{done: make(chan struct{})}, nil
}

func (n *fakeNode) last() Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reqs[len(n.reqs)-1]
}

func newTestServer(t *testing.T, opts Options) (*Server, *fakeNode, string) {
	t.Helper()
	n := &fakeNode{}
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := NewServer(n.factory, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close()
	})
	return s, n, srv.URL + SessionsPath
}

func testAuth(t *testing.T) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{Token: testToken, JWTSecret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, token, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/sdp")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func signJWT(t *testing.T, c auth.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthentication(t *testing.T) {
	s, n, url := newTestServer(t, Options{Auth: testAuth(t)})
	offer := offerWith(host("192.0.2.7"))
	expired := signJWT(t, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(-time.Hour))}})
	tests := []struct {
		name, token, header string
		status              int
		challenge, msg      string
	}{
		{"no token", "", "", 401, `Bearer realm="holocast"`, "needs an access token"},
		{"wrong token", "not-the-token-0123456789", "", 401, `error="invalid_token"`, "invalid token"},
		{"other scheme", "", "Basic dXNlcjpwYXNz", 401, `error="invalid_request"`, "malformed Authorization"},
		{"expired JWT", expired, "", 401, `error_description="token expired"`, "expired"},
		{"static token", testToken, "", 201, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.header != "" {
				hdr = []string{"Authorization", tt.header}
			}
			a := do(t, http.MethodPost, url, tt.token, offer, hdr...)
			if a.status != tt.status || !strings.Contains(a.header.Get("WWW-Authenticate"), tt.challenge) || !strings.Contains(a.body, tt.msg) {
				t.Errorf("got %d %q %q, want %d %q %q", a.status, a.header.Get("WWW-Authenticate"), a.body, tt.status, tt.challenge, tt.msg)
			}
			if tt.token != "" && strings.Contains(a.body, tt.token) {
				t.Error("the answer repeats the token")
			}
		})
	}
	if len(n.reqs) != 1 || s.Len() != 1 {
		t.Errorf("%d factory calls, %d sessions; want 1 of each (only the authenticated one)", len(n.reqs), s.Len())
	}
	// The grant reaches the factory.
	capped := signJWT(t, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "h1", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, MaxFPS: ptr(15)})
	if a := do(t, http.MethodPost, url, capped, offer); a.status != http.StatusCreated {
		t.Fatalf("JWT: %d %s", a.status, a.body)
	}
	if g := n.last().Grant; g.MaxFPS != 15 || g.Subject != "h1" || !g.JWT {
		t.Errorf("grant %+v", g)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSessionOwnership(t *testing.T) {
	_, _, url := newTestServer(t, Options{Auth: testAuth(t)})
	offer := offerWith(host("192.0.2.7"))
	jwtA := signJWT(t, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "a", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	created := do(t, http.MethodPost, url, jwtA, offer)
	if created.status != http.StatusCreated {
		t.Fatal(created.status, created.body)
	}
	loc := strings.TrimSuffix(url, SessionsPath) + created.header.Get("Location")
	unknown := url + "/0123456789abcdef01234567"
	for _, tt := range []struct {
		name, method, url, token string
		status                   int
	}{
		{"DELETE without token", http.MethodDelete, loc, "", 401},
		{"DELETE with the node token (another credential)", http.MethodDelete, loc, testToken, 404},
		{"DELETE with garbage", http.MethodDelete, loc, "garbage-garbage-garbage", 404},
		{"DELETE unknown session", http.MethodDelete, unknown, jwtA, 404},
		{"PATCH with another credential", http.MethodPatch, loc, testToken, 404},
		{"PATCH by the owner (trickle unsupported)", http.MethodPatch, loc, jwtA, 405},
		{"DELETE by the owner", http.MethodDelete, loc, jwtA, 200},
		{"DELETE again", http.MethodDelete, loc, jwtA, 404},
	} {
		a := do(t, tt.method, tt.url, tt.token, "")
		if a.status != tt.status {
			t.Errorf("%s: %d %q, want %d", tt.name, a.status, a.body, tt.status)
		}
		if tt.status == 404 && !strings.Contains(a.body, "unknown session") {
			t.Errorf("%s: body %q does not read like an unknown session", tt.name, a.body)
		}
	}
}

func TestNoAuthentication(t *testing.T) {
	_, _, url := newTestServer(t, Options{})
	a := do(t, http.MethodPost, url, "", offerWith(host("192.0.2.7")))
	if a.status != http.StatusCreated {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if d := do(t, http.MethodDelete, strings.TrimSuffix(url, SessionsPath)+a.header.Get("Location"), "", ""); d.status != http.StatusOK {
		t.Errorf("DELETE without auth: %d", d.status)
	}
}

func TestCORS(t *testing.T) {
	preflight := []string{"Origin", "", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"}
	withOrigin := func(o string) []string { p := append([]string(nil), preflight...); p[1] = o; return p }
	offer := offerWith(host("192.0.2.7"))
	t.Run("same-origin only by default", func(t *testing.T) {
		_, _, url := newTestServer(t, Options{})
		for _, a := range []answer{
			do(t, http.MethodOptions, url, "", "", withOrigin("https://evil.example")...),
			do(t, http.MethodPost, url, "", offer, "Origin", "https://evil.example"),
		} {
			for k := range a.header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s: %v", k, a.header[k])
				}
			}
		}
	})
	t.Run("listed origins", func(t *testing.T) {
		_, _, url := newTestServer(t, Options{AllowedOrigins: []string{"https://Player.Example:443/", "http://localhost:3000"}})
		a := do(t, http.MethodOptions, url, "", "", withOrigin("https://player.example")...)
		if a.status != http.StatusNoContent || a.header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
			!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Content-Type") ||
			!strings.Contains(a.header.Get("Access-Control-Allow-Methods"), "DELETE") ||
			a.header.Get("Access-Control-Expose-Headers") != "Location, Link, ETag" || a.header.Get("Vary") != "Origin" {
			t.Errorf("allowed preflight: %d %v", a.status, a.header)
		}
		p := do(t, http.MethodPost, url, "", offer, "Origin", "http://localhost:3000")
		if p.status != http.StatusCreated || p.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
			!strings.Contains(p.header.Get("Access-Control-Expose-Headers"), "Location") {
			t.Errorf("allowed POST: %d %v", p.status, p.header)
		}
		for _, o := range []string{"https://player.example.evil", "http://player.example", "null", "http://localhost:3001"} {
			f := do(t, http.MethodOptions, url, "", "", withOrigin(o)...)
			if f.header.Get("Access-Control-Allow-Origin") != "" || f.header.Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("foreign origin %s got CORS headers: %v", o, f.header)
			}
		}
	})
	t.Run("any origin", func(t *testing.T) {
		_, _, url := newTestServer(t, Options{AllowedOrigins: []string{"*"}})
		a := do(t, http.MethodOptions, url, "", "", withOrigin("https://anywhere.example")...)
		if a.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("any origin: %v", a.header)
		}
	})
	t.Run("bad origins are refused", func(t *testing.T) {
		for _, o := range []string{"player.example", "https://player.example/app", "https://user@player.example", "https://", "*.example", "https://a.example?x"} {
			if _, err := NewServer(nil, Options{AllowedOrigins: []string{o}}); !errors.Is(err, ErrBadOrigin) {
				t.Errorf("%q: err = %v", o, err)
			}
		}
	})
}

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"*": "*", "https://Player.Example": "https://player.example", "https://player.example:443": "https://player.example",
		"http://localhost:80/": "http://localhost", "http://127.0.0.1:8080": "http://127.0.0.1:8080", "https://[::1]:8443": "https://[::1]:8443",
	} {
		if got, err := ParseOrigin(in); err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestOfferCandidates(t *testing.T) {
	_, n, url := newTestServer(t, Options{})
	a := do(t, http.MethodPost, url, "", offerWith(repeat(host("192.0.2.7"), 21)...))
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "at most 20") {
		t.Errorf("21 candidates: %d %q", a.status, a.body)
	}
	a = do(t, http.MethodPost, url, "", offerWith(host("127.0.0.1")))
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "loopback") {
		t.Errorf("loopback only: %d %q", a.status, a.body)
	}
	if len(n.reqs) != 0 {
		t.Fatalf("refused offers reached the factory")
	}
	a = do(t, http.MethodPost, url, "", offerWith(host("127.0.0.1"), host("192.0.2.7")))
	if a.status != http.StatusCreated {
		t.Fatalf("mixed: %d %q", a.status, a.body)
	}
	if o := n.last().Offer; strings.Contains(o, "127.0.0.1 50000") || !strings.Contains(o, "192.0.2.7 50000") {
		t.Errorf("offer given to the factory:\n%s", o)
	}
}

func TestLimits(t *testing.T) {
	t.Run("per client", func(t *testing.T) {
		s, _, url := newTestServer(t, Options{MaxSessionsPerClient: 2, MaxSessions: 10})
		offer := offerWith(host("192.0.2.7"))
		var locs []string
		for i := 0; i < 2; i++ {
			a := do(t, http.MethodPost, url, "", offer)
			if a.status != http.StatusCreated {
				t.Fatal(a.status, a.body)
			}
			locs = append(locs, a.header.Get("Location"))
		}
		a := do(t, http.MethodPost, url, "", offer)
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "from one address") {
			t.Errorf("third session from one address: %d %v %q", a.status, a.header, a.body)
		}
		// Ending one frees its slot.
		do(t, http.MethodDelete, strings.TrimSuffix(url, SessionsPath)+locs[0], "", "")
		waitLen(t, s, 1)
		if a := do(t, http.MethodPost, url, "", offer); a.status != http.StatusCreated {
			t.Errorf("after DELETE: %d %q", a.status, a.body)
		}
	})
	t.Run("negotiations", func(t *testing.T) {
		s, n, url := newTestServer(t, Options{MaxNegotiations: 1, MaxSessionsPerClient: -1})
		n.block, n.in = make(chan struct{}), make(chan struct{}, 4)
		offer := offerWith(host("192.0.2.7"))
		done := make(chan answer, 1)
		go func() { done <- do(t, http.MethodPost, url, "", offer) }()
		<-n.in // the first negotiation is under way
		a := do(t, http.MethodPost, url, "", offer)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "being negotiated") {
			t.Errorf("second negotiation: %d %v %q", a.status, a.header, a.body)
		}
		close(n.block)
		if a := <-done; a.status != http.StatusCreated {
			t.Errorf("first negotiation: %d %q", a.status, a.body)
		}
		if a := do(t, http.MethodPost, url, "", offer); a.status != http.StatusCreated {
			t.Errorf("negotiation after the first: %d %q", a.status, a.body)
		}
		waitLen(t, s, 2)
	})
	t.Run("defaults", func(t *testing.T) {
		s, err := NewServer(nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if s.opts.MaxCandidates != DefaultMaxCandidates || s.opts.MaxNegotiations != DefaultMaxNegotiations || s.opts.MaxSessionsPerClient != DefaultMaxSessionsPerClient {
			t.Errorf("defaults: %+v", s.opts)
		}
		s, _ = NewServer(nil, Options{MaxCandidates: -1, MaxNegotiations: -1, MaxSessionsPerClient: -1})
		if s.opts.MaxCandidates != 0 || s.opts.MaxNegotiations != 0 || s.opts.MaxSessionsPerClient != 0 {
			t.Errorf("negative means no limit: %+v", s.opts)
		}
	})
}

func waitLen(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions, want %d", s.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
