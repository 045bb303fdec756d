package node_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

const (
	nodeToken = "node-token-0123456789abcdef"
	jwtSecret = "fleet-secret-0123456789abcdef0123456789"
)

func testAuthenticator(t *testing.T) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{Token: nodeToken, JWTSecret: []byte(jwtSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ptr[T any](v T) *T { return &v }

// mint signs claims expiring in an hour (unless set) with key and alg.
func mint(t *testing.T, method jwt.SigningMethod, key any, c auth.Claims) string {
	t.Helper()
	if c.ExpiresAt == nil {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// videoOffer is a real pion offer (no candidates gathered) that passes
// the node's offer checks.
func videoOffer(t *testing.T) string {
	t.Helper()
	return offerSDP(t, func(pc *webrtc.PeerConnection) error {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		return err
	})
}

type reply struct {
	status int
	header http.Header
	body   string
}

// send makes one signaling request; hdr are header name/value pairs.
func send(t *testing.T, method, url, body string, hdr ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/sdp")
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
	return reply{resp.StatusCode, resp.Header, strings.TrimSpace(string(b))}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// keepsStreaming waits for n more frames on c: the well-behaved session
// was not hurt by what another client did.
func keepsStreaming(t *testing.T, ctx context.Context, c *headset.Client, n int) {
	t.Helper()
	for len(c.Frames()) > 0 {
		<-c.Frames()
	}
	for got := 0; got < n; got++ {
		select {
		case _, ok := <-c.Frames():
			if !ok {
				t.Fatalf("the well-behaved session ended after %d more frames", got)
			}
		case <-ctx.Done():
			t.Fatalf("the well-behaved session stalled after %d more frames", got)
		}
	}
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAuthRejections: POST without a valid credential gets 401 with a
// Bearer challenge and a readable reason; a session with the node's token
// keeps streaming meanwhile.
func TestAuthRejections(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 160, Height: 90, Auth: testAuthenticator(t)})
	ctx := testCtx(t)
	good := dial(t, ctx, url, headset.Options{Token: nodeToken})
	offer := videoOffer(t)
	claims := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "intruder"}}
	expired := claims
	expired.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	noneJWT := mint(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)
	tests := []struct {
		name      string
		hdr       []string
		challenge string
		msg       string
	}{
		{"missing token", nil, `Bearer realm="holocast"`, "needs an access token"},
		{"bad token", bearer("not-the-node-token-0123456789"), `error="invalid_token"`, "invalid token"},
		{"not a bearer header", []string{"Authorization", "Basic dXNlcjpwYXNz"}, `error="invalid_request"`, "malformed Authorization"},
		{"expired JWT", bearer(mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), expired)), `error="invalid_token"`, "expired"},
		{"forged JWT", bearer(mint(t, jwt.SigningMethodHS256, []byte("some-other-secret-0123456789abcdef0123"), claims)), `error="invalid_token"`, "invalid token"},
		{"alg none JWT", bearer(noneJWT), `error="invalid_token"`, "invalid token"},
		{"HS512 JWT", bearer(mint(t, jwt.SigningMethodHS512, []byte(jwtSecret), claims)), `error="invalid_token"`, "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, http.MethodPost, url, offer, tt.hdr...)
			if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), tt.challenge) || !strings.Contains(r.body, tt.msg) {
				t.Errorf("got %d %q %q; want 401 %q %q", r.status, r.header.Get("WWW-Authenticate"), r.body, tt.challenge, tt.msg)
			}
		})
	}
	// The Go client reports the refusal.
	_, err := headset.Dial(ctx, url, headset.Options{})
	var se *headset.SignalingError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || !strings.Contains(se.Message, "token") {
		t.Errorf("headset without a token: %v", err)
	}
	keepsStreaming(t, ctx, good, 10)
	if n.Sessions() != 1 {
		t.Errorf("%d sessions, want only the authenticated one", n.Sessions())
	}
}

// TestSessionNeedsItsOwnToken: DELETE and PATCH with a credential other
// than the one that created the session get 404, as for a session that
// does not exist, and the session keeps streaming; its owner ends it.
func TestSessionNeedsItsOwnToken(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 160, Height: 90, Auth: testAuthenticator(t)})
	ctx := testCtx(t)
	owner := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "owner"}})
	other := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "other"}})
	c := dial(t, ctx, url, headset.Options{Token: owner})
	loc := c.Location()
	for _, tt := range []struct {
		name, method string
		hdr          []string
		status       int
		msg          string
	}{
		{"DELETE with another valid JWT", http.MethodDelete, bearer(other), http.StatusNotFound, "unknown session"},
		{"DELETE with the node token", http.MethodDelete, bearer(nodeToken), http.StatusNotFound, "unknown session"},
		{"DELETE without a token", http.MethodDelete, nil, http.StatusUnauthorized, "token that created the session"},
		{"PATCH with another valid JWT", http.MethodPatch, bearer(other), http.StatusNotFound, "unknown session"},
		{"DELETE of an unknown session", http.MethodDelete, append(bearer(owner), "X-Url", "unknown"), http.StatusNotFound, "unknown session"},
	} {
		u := loc
		if len(tt.hdr) > 2 {
			u = url + "/00112233445566778899aabb"
		}
		r := send(t, tt.method, u, "", tt.hdr...)
		if r.status != tt.status || !strings.Contains(r.body, tt.msg) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, r.status, r.body, tt.status, tt.msg)
		}
	}
	keepsStreaming(t, ctx, c, 10)
	// The owner's client sends its token on DELETE.
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return n.Sessions() == 0 })
}

// TestJWTCapsApplied: a JWT's max_width, max_height and max_fps bound the
// session's output, also against a DeviceConfig asking for more, and its
// max_session_s ends the session; another session keeps the node's own
// limits and keeps streaming.
func TestJWTCapsApplied(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 320, Height: 180, FPS: 30, Auth: testAuthenticator(t)})
	ctx := testCtx(t)
	good := dial(t, ctx, url, headset.Options{Token: nodeToken})
	tok := mint(t, jwt.SigningMethodHS256, []byte(jwtSecret), auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "small"},
		MaxWidth:         ptr(162), MaxHeight: ptr(91), MaxFPS: ptr(10), MaxSessionS: ptr[int64](3),
	})
	start := time.Now()
	c := dial(t, ctx, url, headset.Options{Token: tok})
	info := c.SessionInfo()
	if info == nil || info.GetWidth() != 160 || info.GetHeight() != 90 || info.GetFps() != 10 {
		t.Fatalf("capped session: %v, want 160x90 at 10 fps", info)
	}
	if gi := good.SessionInfo(); gi.GetWidth() != 320 || gi.GetFps() != 30 {
		t.Errorf("uncapped session: %v", gi)
	}
	if err := c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{
		DeviceConfig: &holocastv1.DeviceConfig{Width: 320, Height: 180, MaxFps: 30},
	}}); err != nil {
		t.Fatal(err)
	}
	// Frames keep coming at most at the granted size until the granted
	// lifetime ends the session.
	frames := 0
	for n.Sessions() > 1 {
		select {
		case f := <-c.Frames():
			if f == nil {
				continue
			}
			frames++
			if f.Info != nil && (f.Info.GetWidth() > 160 || f.Info.GetHeight() > 90) {
				t.Fatalf("frame %dx%d beyond the granted 160x90", f.Info.GetWidth(), f.Info.GetHeight())
			}
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the capped session was not ended by max_session_s")
		}
	}
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })
	lived := time.Since(start)
	if lived < 2*time.Second || lived > 10*time.Second {
		t.Errorf("capped session lived %v, granted 3 s", lived)
	}
	// 10 fps for about 3 s, give or take the start.
	if frames == 0 || frames > 45 {
		t.Errorf("%d frames in %v at a granted 10 fps", frames, lived)
	}
	if info := c.SessionInfo(); info.GetWidth() > 160 || info.GetFps() > 10 {
		t.Errorf("after DeviceConfig: %v", info)
	}
	keepsStreaming(t, ctx, good, 10)
}

// TestCORSOrigins: a foreign origin gets no CORS headers (the browser
// blocks its page), an allowed one gets them on the preflight and the
// answer; a session keeps streaming meanwhile.
func TestCORSOrigins(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 160, Height: 90, Auth: testAuthenticator(t), AllowedOrigins: []string{"https://player.example"}})
	ctx := testCtx(t)
	good := dial(t, ctx, url, headset.Options{Token: nodeToken})
	preflight := func(origin string) reply {
		return send(t, http.MethodOptions, url, "", "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization, content-type")
	}
	foreign := preflight("https://evil.example")
	for k := range foreign.header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("foreign origin preflight got %s: %v", k, foreign.header[k])
		}
	}
	if r := send(t, http.MethodPost, url, videoOffer(t), append(bearer("x-not-the-token-0123456789"), "Origin", "https://evil.example")...); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin POST got CORS headers: %v", r.header)
	}
	allowed := preflight("https://player.example")
	if allowed.status != http.StatusNoContent || allowed.header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
		!strings.Contains(allowed.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed origin preflight: %d %v", allowed.status, allowed.header)
	}
	r := send(t, http.MethodPost, url, videoOffer(t), append(bearer(nodeToken), "Origin", "https://player.example")...)
	if r.status != http.StatusCreated || r.header.Get("Access-Control-Allow-Origin") != "https://player.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "Location, Link, ETag" {
		t.Errorf("allowed origin POST: %d %v", r.status, r.header)
	}
	if r.status == http.StatusCreated {
		loc := strings.TrimSuffix(url, "/v1/sessions") + r.header.Get("Location")
		if d := send(t, http.MethodDelete, loc, "", append(bearer(nodeToken), "Origin", "https://player.example")...); d.status != http.StatusOK || d.header.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("allowed origin DELETE: %d %v", d.status, d.header)
		}
	}
	keepsStreaming(t, ctx, good, 10)
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })
}

// headsetAPI returns a headset WebRTC API whose offers carry loopback
// candidates too (onlyLoopback: nothing else).
func headsetAPI(t *testing.T, onlyLoopback bool) *webrtc.API {
	t.Helper()
	se := &webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	if onlyLoopback {
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	api, err := headset.NewAPI(se)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// TestCandidateChecks: an offer with more than 20 candidates is refused
// naming the limit; one with only loopback candidates is refused naming
// the rule; loopback candidates among others are removed and the session
// connects over the others; a session keeps streaming meanwhile.
func TestCandidateChecks(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 160, Height: 90, MaxSessionsPerClient: -1})
	ctx := testCtx(t)
	good := dial(t, ctx, url, headset.Options{})

	var heavy strings.Builder
	heavy.WriteString(videoOffer(t))
	for i := 0; i < 21; i++ {
		heavy.WriteString("a=candidate:1 1 udp 2130706431 192.0.2.9 5000 typ host\r\n")
	}
	if r := send(t, http.MethodPost, url, heavy.String()); r.status != http.StatusBadRequest || !strings.Contains(r.body, "at most 20") {
		t.Errorf("21 candidates: %d %q", r.status, r.body)
	}

	_, err := headset.Dial(ctx, url, headset.Options{API: headsetAPI(t, true)})
	var se *headset.SignalingError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.Contains(se.Message, "loopback") {
		t.Errorf("loopback-only offer: %v", err)
	}

	mixed := dial(t, ctx, url, headset.Options{API: headsetAPI(t, false)})
	keepsStreaming(t, ctx, mixed, 5)
	if p, err := mixed.PeerConnection().SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err != nil || p == nil || net.ParseIP(p.Remote.Address).IsLoopback() {
		t.Errorf("selected pair %v (%v): the node used a loopback address", p, err)
	}
	keepsStreaming(t, ctx, good, 10)
	if n.Sessions() != 2 {
		t.Errorf("%d sessions, want 2", n.Sessions())
	}
}

// silentSTUN is a STUN server that never answers: ICE gathering against
// it lasts the STUN gather timeout, which holds a negotiation open. Each
// request it sees is signalled on the returned channel.
func silentSTUN(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	seen := make(chan struct{}, 64)
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			select {
			case seen <- struct{}{}:
			default:
			}
		}
	}()
	return "stun:" + pc.LocalAddr().String(), seen
}

// TestNegotiationCap: while MaxNegotiations sessions are being negotiated
// another offer gets 503 with Retry-After; the held negotiation and an
// established session are not hurt.
func TestNegotiationCap(t *testing.T) {
	stun, seen := silentSTUN(t)
	n, url := startNode(t, node.Config{
		Width: 160, Height: 90, MaxNegotiations: 1, MaxSessionsPerClient: -1,
		ICEServers:    []webrtc.ICEServer{{URLs: []string{stun}}},
		SettingEngine: func(se *webrtc.SettingEngine) { se.SetSTUNGatherTimeout(2 * time.Second) },
	})
	ctx := testCtx(t)
	// The clients leave the silent STUN server (which the node announces)
	// alone: only the node's gathering is to be held.
	noServers := headset.Options{ICEServers: []webrtc.ICEServer{}}
	good := dial(t, ctx, url, noServers)
	for len(seen) > 0 {
		<-seen
	}
	held := make(chan error, 1)
	go func() {
		c, err := headset.Dial(ctx, url, noServers)
		if err == nil {
			defer c.Close(context.Background())
			err = c.WaitControl(ctx)
		}
		held <- err
	}()
	select {
	case <-seen: // the node is gathering for the held session
	case <-ctx.Done():
		t.Fatal("the second negotiation never started")
	}
	r := send(t, http.MethodPost, url, videoOffer(t))
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "being negotiated (1 at once)") {
		t.Errorf("offer during a negotiation: %d %v %q", r.status, r.header, r.body)
	}
	if err := <-held; err != nil {
		t.Errorf("the held negotiation: %v", err)
	}
	keepsStreaming(t, ctx, good, 10)
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })
}

// TestPerClientCap: a client address at its cap gets 429 with
// Retry-After; its sessions keep streaming.
func TestPerClientCap(t *testing.T) {
	n, url := startNode(t, node.Config{Width: 160, Height: 90, MaxSessions: 4, MaxSessionsPerClient: 2, RenderWorkers: 2})
	ctx := testCtx(t)
	a := dial(t, ctx, url, headset.Options{})
	b := dial(t, ctx, url, headset.Options{})
	r := send(t, http.MethodPost, url, videoOffer(t))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "2 from one address") {
		t.Errorf("third session from one address: %d %v %q", r.status, r.header, r.body)
	}
	keepsStreaming(t, ctx, a, 10)
	keepsStreaming(t, ctx, b, 10)
	if n.Sessions() != 2 {
		t.Errorf("%d sessions, want 2", n.Sessions())
	}
}
