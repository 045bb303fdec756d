package fleet_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/node"
)

// wait bounds every wait of these tests: far above what a slow, shared
// machine needs.
const wait = 60 * time.Second

// quiet discards logs.
var quiet = slog.New(slog.DiscardHandler)

// startNATS runs a real NATS server on a loopback port until the test
// ends and returns its client URL.
func startNATS(tb testing.TB) string {
	tb.Helper()
	return startNATSServer(tb).ClientURL()
}

// startNATSServer runs a real NATS server on a loopback port until the
// test ends.
func startNATSServer(tb testing.TB) *server.Server {
	tb.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, MaxPayload: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("NATS server did not start")
	}
	tb.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// connect opens a NATS connection closed when the test ends.
func connect(tb testing.TB, url string, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// killableDialer dials NATS and can cut every connection it made at
// once, as a crash or a network partition would.
type killableDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *killableDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *killableDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		_ = c.Close()
	}
}

// startNode starts a fleet node of capacity cap with id on the NATS
// server at url; it is closed when the test ends.
func startNode(t *testing.T, url, id string, capacity int, extra ...nats.Option) *node.Node {
	t.Helper()
	n, err := node.New(context.Background(), withParts(node.Config{
		Width: 320, Height: 180, FPS: 30, BitRate: 500_000, Predictor: "none",
		MaxSessions: capacity, AllowLoopbackCandidates: true, Logger: quiet,
		NATS: url, Fleet: fleet.AgentOptions{ID: id, Heartbeat: 250 * time.Millisecond, NATSOptions: extra},
	}))
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("node %s Close: %v", id, err)
		}
	})
	return n
}

// startGateway serves a gateway on the NATS server at url and returns it
// with its sessions URL.
func startGateway(t *testing.T, url string, opts fleet.GatewayOptions) (*fleet.Gateway, string) {
	t.Helper()
	opts.Logger = quiet
	g, err := fleet.NewGateway(connect(t, url), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := g.Close(); err != nil {
			t.Errorf("gateway Close: %v", err)
		}
	})
	return g, srv.URL
}

// nodeView is a node as GET /v1/nodes lists it.
type nodeView struct {
	ID        string `json:"id"`
	Sessions  int    `json:"sessions"`
	Capacity  int    `json:"capacity"`
	Accepting bool   `json:"accepting"`
	Draining  bool   `json:"draining"`
}

// nodes answers GET /v1/nodes on the gateway at base.
func nodes(t *testing.T, base string) map[string]nodeView {
	t.Helper()
	resp, err := http.Get(base + "/v1/nodes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Nodes []nodeView }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/nodes: %d %v", resp.StatusCode, err)
	}
	m := map[string]nodeView{}
	for _, n := range list.Nodes {
		m[n.ID] = n
	}
	return m
}

// waitNodes waits until the gateway lists exactly the nodes for which
// ok holds, by id, and returns them.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accepting waits until the gateway at base lists the ids as accepting.
func accepting(t *testing.T, base string, ids ...string) {
	t.Helper()
	waitFor(t, "nodes "+strings.Join(ids, ",")+" accepting", func() bool {
		m := nodes(t, base)
		for _, id := range ids {
			if !m[id].Accepting {
				return false
			}
		}
		return true
	})
}

// dial connects a headset through the gateway, closes it when the test
// ends, and waits for its control channel.
func dial(t *testing.T, ctx context.Context, base string, opts headset.Options) *headset.Client {
	t.Helper()
	c, err := headset.Dial(ctx, base+"/v1/sessions", opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	if err := c.WaitControl(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// placedOn is the id of the node a session was placed on, from its
// Location.
func placedOn(t *testing.T, c *headset.Client) string {
	t.Helper()
	i := strings.LastIndexByte(c.Location(), '/')
	id, _, ok := strings.Cut(c.Location()[i+1:], ".")
	if !ok {
		t.Fatalf("Location %q names no node", c.Location())
	}
	return id
}

// do sends a request and returns its status, headers and body.
func do(t *testing.T, method, url, token, body string) (int, http.Header, string) {
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
