package fleet_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/fleet"
)

const (
	testToken  = "gateway-token-0123456789abcdef"
	testSecret = "gateway-secret-0123456789abcdef0123456789"
)

// TestGatewayAuthAndCORS: the gateway refuses credentials as a node does,
// passes a JWT's caps to the node with the offer, lets only the
// session's own credential DELETE it, and applies CORS.
func TestGatewayAuthAndCORS(t *testing.T) {
	url := startNATS(t)
	sn := &simNode{capacity: 2, sessions: map[string]bool{}, creds: map[string][32]byte{}}
	a, err := fleet.StartAgent(connect(t, url), sn, fleet.AgentOptions{ID: "solo", Capacity: 2, Scenes: []string{"lab"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	authn, err := auth.New(auth.Config{Token: testToken, JWTSecret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := fleet.NewGateway(connect(t, url), fleet.GatewayOptions{Auth: authn, AllowedOrigins: []string{"https://app.example"}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	waitFor(t, "the node accepting", func() bool { n := g.Nodes(); return len(n) == 1 && n[0].GetAccepting() })

	sessions := srv.URL + "/v1/sessions"
	code, hdr, _ := do(t, http.MethodPost, sessions, "", "v=0\r\n")
	if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("POST without a credential: %d %q, want 401 with a Bearer challenge", code, hdr.Get("WWW-Authenticate"))
	}
	if code, _, _ := do(t, http.MethodPost, sessions, "wrong-token-0123456789abcdef", "v=0\r\n"); code != http.StatusUnauthorized {
		t.Fatalf("POST with a wrong token: %d, want 401", code)
	}
	if code, _, _ := do(t, http.MethodGet, srv.URL+"/v1/nodes", "", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/nodes without a credential: %d, want 401", code)
	}

	fps := 24
	jwtTok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "alice", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
		MaxFPS:           &fps,
	}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	code, hdr, body := do(t, http.MethodPost, sessions, jwtTok, "v=0\r\n")
	loc := hdr.Get("Location")
	if code != http.StatusCreated || !strings.HasPrefix(loc, "/v1/sessions/solo.") || body != "v=0\r\n" {
		t.Fatalf("POST with a JWT: %d Location %q body %q", code, loc, body)
	}
	sn.mu.Lock()
	last := sn.last
	sn.mu.Unlock()
	if last.Grant.Subject != "alice" || last.Grant.MaxFPS != 24 || !last.Grant.JWT || last.Credential != auth.Fingerprint(jwtTok) {
		t.Errorf("node got grant %+v, want alice's JWT caps and its fingerprint", last.Grant)
	}

	if code, _, _ := do(t, http.MethodDelete, srv.URL+loc, "", ""); code != http.StatusUnauthorized {
		t.Errorf("DELETE without a credential: %d, want 401", code)
	}
	if code, _, _ := do(t, http.MethodDelete, srv.URL+loc, testToken, ""); code != http.StatusNotFound {
		t.Errorf("DELETE with another credential: %d, want 404", code)
	}
	for _, bad := range []string{"/v1/sessions/nodot", "/v1/sessions/bad%2Fnode.s1", "/v1/sessions/ghost.s1"} {
		if code, _, _ := do(t, http.MethodDelete, srv.URL+bad, jwtTok, ""); code != http.StatusNotFound {
			t.Errorf("DELETE %s: %d, want 404", bad, code)
		}
	}
	if code, _, _ := do(t, http.MethodDelete, srv.URL+loc, jwtTok, ""); code != http.StatusOK {
		t.Errorf("DELETE with the session's own credential: %d, want 200", code)
	}
	if code, _, _ := do(t, http.MethodPatch, srv.URL+loc, jwtTok, "x"); code != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d, want 405", code)
	}

	req, _ := http.NewRequest(http.MethodOptions, sessions, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if code, hdr, _ := do(t, http.MethodPost, sessions+"?scene=no.such", testToken, "v=0\r\n"); code != http.StatusBadRequest || hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST with a bad scene name: %d, want 400", code)
	}
	if code, hdr, _ := do(t, http.MethodPost, sessions+"?scene=garden", testToken, "v=0\r\n"); code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("POST for a scene no node has: %d, want 503 with Retry-After", code)
	}
	if code, _, _ := do(t, http.MethodPost, sessions+"?scene=lab", testToken, "v=0\r\n"); code != http.StatusCreated {
		t.Errorf("POST for the node's scene: %d, want 201", code)
	}
	sn.mu.Lock()
	scene := sn.last.Scene
	sn.mu.Unlock()
	if scene != "lab" {
		t.Errorf("node got scene %q, want lab", scene)
	}
}
