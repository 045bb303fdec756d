package fleet_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/signaling/link"
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
	for _, bad := range []string{"..%2Fetc", ".hidden", "a*b", "a%20b", strings.Repeat("x", 129)} {
		if code, _, _ := do(t, http.MethodPost, sessions+"?scene="+bad, testToken, "v=0\r\n"); code != http.StatusBadRequest {
			t.Errorf("POST with the bad scene name %q: %d, want 400", bad, code)
		}
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

// TestSceneNamesPlaceable: every valid scene name, dots and 128
// characters included, reaches the nodes that have that scene through a
// real NATS server, and only those.
func TestSceneNamesPlaceable(t *testing.T) {
	long := strings.Repeat("L", 120) + ".v2.glb"
	url := startNATS(t)
	// "engine.v2" and "engine~v2" would share a subject token if '~' were
	// a scene name's character; "engine_v2" must not match "engine.v2".
	with := &simNode{capacity: 16, sessions: map[string]bool{}}
	without := &simNode{capacity: 16, sessions: map[string]bool{}}
	for id, sn := range map[string]*simNode{"with": with, "without": without} {
		scenes := []string{"engine_v2", "lab"}
		if sn == with {
			scenes = []string{"engine.v2", "a.b.c", long}
		}
		a, err := fleet.StartAgent(connect(t, url), sn, fleet.AgentOptions{ID: id, Capacity: 16, Scenes: scenes, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
	}
	g, err := fleet.NewGateway(connect(t, url), fleet.GatewayOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	waitFor(t, "both nodes accepting", func() bool { n := g.Nodes(); return len(n) == 2 && n[0].GetAccepting() && n[1].GetAccepting() })

	for _, name := range []string{"engine.v2", "a.b.c", long} {
		for range 3 { // NATS would spread them over both nodes if both listened
			code, hdr, body := do(t, http.MethodPost, srv.URL+"/v1/sessions?scene="+name, "", "v=0\r\n")
			if code != http.StatusCreated || !strings.HasPrefix(hdr.Get("Location"), "/v1/sessions/with.") {
				t.Fatalf("POST for scene %q: %d Location %q %q, want 201 on node with", name, code, hdr.Get("Location"), body)
			}
			with.mu.Lock()
			got := with.last.Scene
			with.mu.Unlock()
			if got != name {
				t.Errorf("node got scene %q, want %q", got, name)
			}
		}
	}
	if n := without.Sessions(); n != 0 {
		t.Errorf("the node without the scenes took %d sessions", n)
	}
	for _, name := range []string{"engine~v2", "a.b"} {
		if code, _, _ := do(t, http.MethodPost, srv.URL+"/v1/sessions?scene="+name, "", "v=0\r\n"); code == http.StatusCreated {
			t.Errorf("POST for scene %q, which no node has: %d", name, code)
		}
	}
	for _, n := range g.Nodes() {
		if n.GetId() == "with" && !slices.Contains(n.GetScenes(), "engine.v2") {
			t.Errorf("node with lists scenes %v, want engine.v2 among them", n.GetScenes())
		}
	}
}

// TestCheckSceneMatchesCatalog: the fleet accepts exactly the scene names
// a node's catalog does (render/scene.ValidName).
func TestCheckSceneMatchesCatalog(t *testing.T) {
	for _, name := range []string{"", "a", "engine.v2", "engine.v2.glb", ".hidden", "-x", "_x", "x-", "a b", "a/b", "a~b", "a*b", "a>b",
		"é", strings.Repeat("x", 128), strings.Repeat("x", 129), "builtin", "A.B-C_D.9"} {
		if got, want := fleet.CheckScene("scene", name) == nil, scene.ValidName(name); got != want {
			t.Errorf("CheckScene(%q) ok=%v, scene.ValidName %v", name, got, want)
		}
	}
}

// FuzzSceneToken: a valid scene name's token is one NATS subject token
// (no '.', '*', '>', white space), and distinct names have distinct ones.
func FuzzSceneToken(f *testing.F) {
	f.Add("engine.v2", "engine_v2")
	f.Add("a.b", "a-b")
	f.Fuzz(func(t *testing.T, a, b string) {
		if fleet.CheckScene("scene", a) != nil || fleet.CheckScene("scene", b) != nil {
			return
		}
		ta, tb := fleet.SceneToken(a), fleet.SceneToken(b)
		if strings.ContainsAny(ta, ".*> \t\r\n") {
			t.Fatalf("token %q of %q is not one subject token", ta, a)
		}
		if (a == b) != (ta == tb) {
			t.Fatalf("names %q and %q have tokens %q and %q", a, b, ta, tb)
		}
	})
}

// TestGatewayICEServers: the gateway tells clients STUN/TURN servers as a
// node does — its own on an OPTIONS with an accepted credential (none on
// a preflight without one), the placed node's on the 201 (with the
// credentials the node minted for the session, anything malformed left
// out), and its own on a 201 whose node named none.
func TestGatewayICEServers(t *testing.T) {
	url := startNATS(t)
	sn := &simNode{capacity: 8, sessions: map[string]bool{}}
	a, err := fleet.StartAgent(connect(t, url), sn, fleet.AgentOptions{ID: "solo", Capacity: 8, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	authn, err := auth.New(auth.Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	gwICE := func(id string) []link.ICEServer {
		return []link.ICEServer{{URL: "stun:stun.gw.example:3478"}, {URL: "turn:turn.gw.example:3478", Username: "gw-" + id, Credential: "gw-secret"}}
	}
	g, err := fleet.NewGateway(connect(t, url), fleet.GatewayOptions{Auth: authn, ICEServers: gwICE, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	waitFor(t, "the node accepting", func() bool { n := g.Nodes(); return len(n) == 1 && n[0].GetAccepting() })
	sessions := srv.URL + "/v1/sessions"
	links := func(h http.Header) []link.ICEServer {
		t.Helper()
		l, err := link.Parse(h.Values("Link"))
		if err != nil {
			t.Fatalf("Link headers %q: %v", h.Values("Link"), err)
		}
		return l
	}

	if code, hdr, _ := do(t, http.MethodOptions, sessions, "", ""); code != http.StatusNoContent || len(hdr.Values("Link")) != 0 {
		t.Errorf("OPTIONS without a credential: %d Link %q, want 204 without ICE servers", code, hdr.Values("Link"))
	}
	code, hdr, _ := do(t, http.MethodOptions, sessions, testToken, "")
	if got := links(hdr); code != http.StatusNoContent || fmt.Sprint(got) != fmt.Sprint(gwICE("")) || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("OPTIONS with the token: %d Link %+v Cache-Control %q, want 204 with the gateway's ICE servers, no-store", code, got, hdr.Get("Cache-Control"))
	}

	nodeTURN := link.ICEServer{URL: "turn:turn.node.example:3478?transport=udp", Username: "1700000000:abc", Credential: "bm9kZQ=="}
	sn.mu.Lock()
	sn.ice = []link.ICEServer{nodeTURN, {URL: "https://not.ice.example/"}, {URL: "stun:x.example", Username: "a\r\nSet-Cookie: x=y", Credential: "c"}}
	sn.mu.Unlock()
	code, hdr, _ = do(t, http.MethodPost, sessions, testToken, "v=0\r\n")
	if got := links(hdr); code != http.StatusCreated || len(got) != 1 || got[0] != nodeTURN || hdr.Get("Cache-Control") != "no-store" || hdr.Get("Set-Cookie") != "" {
		t.Errorf("201 from a node with ICE servers: %d Link %+v, want only the node's well-formed TURN server", code, got)
	}

	sn.mu.Lock()
	sn.ice = nil
	sn.mu.Unlock()
	code, hdr, _ = do(t, http.MethodPost, sessions, testToken, "v=0\r\n")
	id := strings.TrimPrefix(hdr.Get("Location"), "/v1/sessions/")
	if got := links(hdr); code != http.StatusCreated || fmt.Sprint(got) != fmt.Sprint(gwICE(id)) {
		t.Errorf("201 from a node without ICE servers: %d Link %+v, want the gateway's for %s", code, got, id)
	}
}
