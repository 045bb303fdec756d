package node_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/signaling/link"
	"github.com/holocast/holocast/turnrest"
)

// iceCandidate is an a=candidate line of an SDP, in parts.
type iceCandidate struct {
	transport string
	addr      netip.Addr
	port      int
	typ       string
}

// sdpCandidates returns the candidates of an SDP.
func sdpCandidates(t *testing.T, sdp string) []iceCandidate {
	t.Helper()
	var out []iceCandidate
	for _, l := range strings.Split(sdp, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), "a=candidate:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 8 {
			t.Fatalf("malformed candidate %q", l)
		}
		addr, err := netip.ParseAddr(f[4])
		if err != nil {
			t.Fatalf("candidate %q: %v", l, err)
		}
		port, _ := strconv.Atoi(f[5])
		out = append(out, iceCandidate{strings.ToLower(f[2]), addr, port, f[7]})
	}
	return out
}

// freeUDPPort returns a UDP port that was free on every address a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// freeTCPPort returns a TCP port that was free on every address a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPPair returns a port p such that p and p+1 were free a moment
// ago, below the kernel's ephemeral range (where the clients' own ports
// come from).
func freeUDPPair(t *testing.T) uint16 {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(10000)
		a, err := net.ListenPacket("udp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.ListenPacket("udp", ":"+strconv.Itoa(p+1))
		_ = a.Close()
		if err != nil {
			continue
		}
		_ = b.Close()
		return uint16(p)
	}
	t.Fatal("no two adjacent free UDP ports")
	return 0
}

// hostAddr returns a non-loopback address of this host in the family
// (4 or 6) ICE would use, or skips the test.
func hostAddr(t *testing.T, family int) netip.Addr {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue
			}
			ip := p.Addr()
			if ip.IsLinkLocalUnicast() || ip.IsLoopback() || ip.Is4() != (family == 4) {
				continue
			}
			return ip
		}
	}
	t.Skipf("this host has no non-loopback IPv%d address", family)
	return netip.Addr{}
}

// selectedPair returns the candidate pair ICE selected on the client's
// side: its remote candidate is the node's local one.
func selectedPair(t *testing.T, c *headset.Client) *webrtc.ICECandidatePair {
	t.Helper()
	pair, err := c.PeerConnection().SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected candidate pair: %v", err)
	}
	return pair
}

// TestOneUDPPort: with Config.UDPPort, two sessions both connect through
// the one port (every candidate of the node's answers is on it, and so is
// the node's side of each selected pair), frames flow in both, and the
// port and the mux's goroutines are gone once the node is closed.
func TestOneUDPPort(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // the shared mux's readers end with the node
	port := freeUDPPort(t)
	n, err := node.New(context.Background(), withParts(node.Config{Width: 160, Height: 90, UDPPort: port, MaxSessionsPerClient: -1}))
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, n)
	ctx := testCtx(t)
	a := dial(t, ctx, url, headset.Options{})
	b := dial(t, ctx, url, headset.Options{})
	if a.Location() == b.Location() {
		t.Fatal("two dials, one session")
	}
	for i, c := range []*headset.Client{a, b} {
		cands := sdpCandidates(t, c.PeerConnection().RemoteDescription().SDP)
		if len(cands) == 0 {
			t.Fatalf("session %d: answer without candidates", i)
		}
		for _, cand := range cands {
			if cand.transport != "udp" || cand.port != port || cand.typ != "host" {
				t.Errorf("session %d: candidate %+v, want udp host candidates on port %d only", i, cand, port)
			}
		}
		keepsStreaming(t, ctx, c, 10)
		if p := selectedPair(t, c); p.Remote.Port != uint16(port) || p.Remote.Protocol != webrtc.ICEProtocolUDP {
			t.Errorf("session %d: node side of the selected pair %s, want UDP port %d", i, p.Remote, port)
		}
	}
	if n.Sessions() != 2 {
		t.Errorf("%d sessions, want 2", n.Sessions())
	}
	_ = a.Close(ctx)
	_ = b.Close(ctx)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenPacket("udp", ":"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("UDP port %d still taken after node.Close: %v", port, err)
	}
	_ = c.Close()
}

// TestICETCP: a client that may use only TCP (pion with network type
// TCP4: it offers no candidate and connects actively) reaches the node's
// passive ICE-TCP candidate on Config.TCPPort, and frames flow.
func TestICETCP(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // the ICE-TCP listener's goroutines end with the node
	port := freeTCPPort(t)
	_, url := startNode(t, node.Config{Width: 160, Height: 90, TCPPort: port})
	ctx := testCtx(t)
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	api, err := headset.NewAPI(&se)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, ctx, url, headset.Options{API: api})
	var tcp int
	for _, cand := range sdpCandidates(t, c.PeerConnection().RemoteDescription().SDP) {
		if cand.transport == "tcp" {
			tcp++
			if cand.port != port {
				t.Errorf("TCP candidate %+v, want port %d", cand, port)
			}
		}
	}
	if tcp == 0 {
		t.Fatal("answer has no TCP candidate")
	}
	keepsStreaming(t, ctx, c, 10)
	if p := selectedPair(t, c); p.Remote.Protocol != webrtc.ICEProtocolTCP || p.Remote.Port != uint16(port) {
		t.Errorf("node side of the selected pair %s, want TCP port %d", p.Remote, port)
	}
}

// TestNATIPsOnly: with Config.NAT1To1IPs the answer's candidates are
// exactly the given addresses, whatever the host's interfaces (this
// host's IPv6 address used to leak beside an IPv4 NAT address), with
// ephemeral ports, one UDP port and ICE-TCP.
func TestNATIPsOnly(t *testing.T) {
	const v4, v6 = "203.0.113.7", "2001:db8::7"
	tests := []struct {
		name    string
		cfg     node.Config
		want    []string
		needsV6 bool
	}{
		{"IPv4", node.Config{NAT1To1IPs: []string{v4}}, []string{v4}, false},
		{"IPv4, one UDP port and ICE-TCP", node.Config{NAT1To1IPs: []string{v4}, UDPPort: freeUDPPort(t), TCPPort: freeTCPPort(t)}, []string{v4}, false},
		{"IPv4 and IPv6", node.Config{NAT1To1IPs: []string{v4, v6}}, []string{v4, v6}, true},
		{"IPv4 and IPv6, IPv6 off", node.Config{NAT1To1IPs: []string{v4, v6}, NoIPv6: true}, []string{v4}, false},
	}
	offer := videoOffer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostAddr(t, 4)
			if tt.needsV6 {
				hostAddr(t, 6)
			}
			tt.cfg.Width, tt.cfg.Height = 160, 90
			_, url := startNode(t, tt.cfg)
			r := send(t, http.MethodPost, url, offer)
			if r.status != http.StatusCreated {
				t.Fatalf("POST: %d %s", r.status, r.body)
			}
			var got []string
			for _, c := range sdpCandidates(t, r.body) {
				if !slices.Contains(got, c.addr.String()) {
					got = append(got, c.addr.String())
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("candidate addresses %v, want exactly %v\n%s", got, want, r.body)
			}
		})
	}
}

// TestICEFamiliesAndInterfaces: NoIPv6 leaves only IPv4 candidates; an
// interface filter keeps only that interface's addresses.
func TestICEFamiliesAndInterfaces(t *testing.T) {
	ip4 := hostAddr(t, 4)
	var ifName string
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == ip4 {
				ifName = ifc.Name
			}
		}
	}
	offer := videoOffer(t)
	for _, cfg := range []node.Config{{NoIPv6: true}, {NoIPv6: true, ICEInterfaces: []string{ifName}}} {
		cfg.Width, cfg.Height = 160, 90
		_, url := startNode(t, cfg)
		r := send(t, http.MethodPost, url, offer)
		if r.status != http.StatusCreated {
			t.Fatalf("POST: %d %s", r.status, r.body)
		}
		cands := sdpCandidates(t, r.body)
		if len(cands) == 0 {
			t.Fatal("no candidates")
		}
		var seen bool
		for _, c := range cands {
			if !c.addr.Is4() {
				t.Errorf("%+v: candidate %v with IPv6 off", cfg, c.addr)
			}
			seen = seen || c.addr == ip4
			if len(cfg.ICEInterfaces) > 0 && c.addr != ip4 {
				t.Errorf("interface %s only: candidate %v is not its address %v", ifName, c.addr, ip4)
			}
		}
		if !seen {
			t.Errorf("%+v: no candidate on %v", cfg, ip4)
		}
	}
}

// TestNoCandidateRefusal: a session the node can offer no usable
// candidate is refused with 503 and a clear reason, counted as
// no_candidates, holds no slot, and does not disturb the running
// sessions: a UDP port range of two ports with a third session; a node
// whose only ICE interface is loopback; an offer with TCP candidates only
// to a node without ICE-TCP.
func TestNoCandidateRefusal(t *testing.T) {
	hostAddr(t, 4)
	lo := freeUDPPair(t)
	m := metrics.New()
	n, url := startNode(t, node.Config{Width: 160, Height: 90, UDPPortMin: lo, UDPPortMax: lo + 1, NoIPv6: true, MaxSessionsPerClient: -1, Metrics: m})
	msrv := httptest.NewServer(n.MetricsHandler())
	t.Cleanup(msrv.Close)
	ctx := testCtx(t)
	a := dial(t, ctx, url, headset.Options{})
	b := dial(t, ctx, url, headset.Options{})
	_, err := headset.Dial(ctx, url, headset.Options{})
	var se *headset.SignalingError
	if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable || !strings.Contains(se.Message, "no usable ICE candidate") {
		t.Fatalf("third session on a two-port range: %v, want 503 no usable ICE candidate", err)
	}
	r := send(t, http.MethodPost, url, videoOffer(t))
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("raw POST: %d (Retry-After %q) %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if got := metric(t, scrape(t, msrv.URL+"/metrics"), "holocast_sessions_rejected_total", "reason", "no_candidates"); got != 2 {
		t.Errorf("no_candidates refusals counted: %v, want 2", got)
	}
	if n.Sessions() != 2 {
		t.Errorf("%d sessions, want the 2 that connected", n.Sessions())
	}
	keepsStreaming(t, ctx, b, 10)
	// The refusals held nothing: once a session ends, a new one fits.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })
	c := dial(t, ctx, url, headset.Options{})
	keepsStreaming(t, ctx, c, 10)

	t.Run("loopback interface only", func(t *testing.T) {
		_, url := startNode(t, node.Config{Width: 160, Height: 90, ICEInterfaces: []string{loopbackName(t)}})
		r := send(t, http.MethodPost, url, videoOffer(t))
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "gathered no ICE candidate") {
			t.Errorf("POST: %d %s, want 503 gathered no ICE candidate", r.status, r.body)
		}
	})
	t.Run("TCP-only offer, no ICE-TCP", func(t *testing.T) {
		_, url := startNode(t, node.Config{Width: 160, Height: 90})
		offer := videoOffer(t)
		i := strings.Index(offer, "a=mid:")
		offer = offer[:i] + "a=candidate:1 1 tcp 1518280447 198.51.100.20 9 typ host tcptype active\r\n" + offer[i:]
		r := send(t, http.MethodPost, url, offer)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "share no transport") {
			t.Errorf("POST: %d %s, want 503 share no transport", r.status, r.body)
		}
	})
}

func loopbackName(t *testing.T) string {
	t.Helper()
	ifaces, _ := net.Interfaces()
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback != 0 {
			return ifc.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

// TestICEServerLinks: the node tells authenticated clients its STUN and
// TURN servers in Link rel="ice-server" headers (OPTIONS and the 201 of
// POST), with TURN REST credentials minted from the shared secret; a real
// TURN server that checks them (pion/turn's TURN REST handler, the
// scheme coturn's use-auth-secret checks) relays a client that may only
// use relayed candidates, and frames flow.
func TestICEServerLinks(t *testing.T) {
	const secret = "turn-shared-secret-0123456789"
	ip := hostAddr(t, 4)
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := turn.NewServer(turn.ServerConfig{
		Realm:       "holocast.test",
		AuthHandler: turn.LongTermTURNRESTAuthHandler(secret, nil),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IP(ip.AsSlice()), Address: ip.String()},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Close() })
	stunURL := "stun:" + pc.LocalAddr().String()
	turnURL := "turn:" + pc.LocalAddr().String() + "?transport=udp"
	_, url := startNode(t, node.Config{
		Width: 160, Height: 90, Auth: testAuthenticator(t),
		ICEServers: []webrtc.ICEServer{{URLs: []string{stunURL}}, {URLs: []string{turnURL}}},
		TURNSecret: []byte(secret), TURNTTL: time.Hour,
	})
	checkLinks := func(t *testing.T, h http.Header, id string) {
		t.Helper()
		servers, err := link.Parse(h.Values("Link"))
		if err != nil {
			t.Fatal(err)
		}
		if len(servers) != 2 || servers[0] != (link.ICEServer{URL: stunURL}) || servers[1].URL != turnURL {
			t.Fatalf("ice servers %+v, want %s and %s", servers, stunURL, turnURL)
		}
		user, cred := servers[1].Username, servers[1].Credential
		if err := turnrest.Verify([]byte(secret), user, cred, time.Now()); err != nil {
			t.Errorf("TURN credentials %q %q: %v", user, cred, err)
		}
		exp, rest, _ := strings.Cut(user, ":")
		if unix, _ := strconv.ParseInt(exp, 10, 64); time.Until(time.Unix(unix, 0)) < 59*time.Minute || time.Until(time.Unix(unix, 0)) > 61*time.Minute {
			t.Errorf("TURN username %q: expiry not an hour from now", user)
		}
		if id != "" && rest != id {
			t.Errorf("TURN username %q, want the session id %s after the expiry", user, id)
		}
		if err := turnrest.Verify([]byte(secret), user, cred, time.Now().Add(2*time.Hour)); err == nil {
			t.Error("credentials still valid after their lifetime")
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", h.Get("Cache-Control"))
		}
	}
	t.Run("OPTIONS without a credential", func(t *testing.T) {
		r := send(t, http.MethodOptions, url, "")
		if r.status != http.StatusNoContent || len(r.header.Values("Link")) != 0 {
			t.Errorf("%d with Link %q; want 204 without", r.status, r.header.Values("Link"))
		}
	})
	t.Run("OPTIONS with the token", func(t *testing.T) {
		r := send(t, http.MethodOptions, url, "", bearer(nodeToken)...)
		if r.status != http.StatusNoContent {
			t.Fatalf("%d %s", r.status, r.body)
		}
		checkLinks(t, r.header, "")
	})
	t.Run("201 of POST", func(t *testing.T) {
		r := send(t, http.MethodPost, url, videoOffer(t), bearer(nodeToken)...)
		if r.status != http.StatusCreated {
			t.Fatalf("%d %s", r.status, r.body)
		}
		loc := r.header.Get("Location")
		checkLinks(t, r.header, loc[strings.LastIndex(loc, "/")+1:])
		send(t, http.MethodDelete, strings.TrimSuffix(url, "/v1/sessions")+loc, "", bearer(nodeToken)...)
	})
	t.Run("relayed client", func(t *testing.T) {
		ctx := testCtx(t)
		c := dial(t, ctx, url, headset.Options{Token: nodeToken, ICETransportPolicy: webrtc.ICETransportPolicyRelay})
		keepsStreaming(t, ctx, c, 10)
		if p := selectedPair(t, c); p.Local.Typ != webrtc.ICECandidateTypeRelay {
			t.Errorf("client side of the selected pair %s, want a relayed candidate", p.Local)
		}
	})
}

// TestICEConfigErrors: ICE settings that cannot work stop node.New with
// an error that names them.
func TestICEConfigErrors(t *testing.T) {
	busy, err := net.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.LocalAddr().(*net.UDPAddr).Port
	turnServer := []webrtc.ICEServer{{URLs: []string{"turn:turn.example.net:3478"}}}
	tests := []struct {
		name string
		cfg  node.Config
		want string
	}{
		{"port and range", node.Config{UDPPort: 50000, UDPPortMin: 50001, UDPPortMax: 50010}, "exclude each other"},
		{"port out of range", node.Config{UDPPort: 70000}, "1 to 65535"},
		{"port in use", node.Config{UDPPort: busyPort}, fmt.Sprintf("ICE UDP port %d", busyPort)},
		{"bad NAT IP", node.Config{NAT1To1IPs: []string{"not-an-ip"}}, `NAT 1:1 address "not-an-ip"`},
		{"IPv6 NAT with IPv6 off", node.Config{NAT1To1IPs: []string{"2001:db8::1"}, NoIPv6: true}, "IPv6 is off"},
		{"unknown interface", node.Config{ICEInterfaces: []string{"nosuch0"}}, `ICE interface "nosuch0"`},
		{"short TURN secret", node.Config{ICEServers: turnServer, TURNSecret: []byte("short")}, "TURN secret"},
		{"TURN secret without TURN server", node.Config{TURNSecret: []byte("0123456789abcdef0123")}, "needs a turn:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Width, tt.cfg.Height = 160, 90
			n, err := node.New(context.Background(), withParts(tt.cfg))
			if err == nil {
				_ = n.Close()
				t.Fatalf("node.New succeeded, want an error mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
