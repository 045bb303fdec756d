package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/auth"
	fleetv1 "github.com/holocast/holocast/proto/fleetv1"
	"github.com/holocast/holocast/signaling"
	"github.com/holocast/holocast/signaling/link"
)

// Defaults of GatewayOptions.
const (
	// DefaultDeadline bounds placing one session: every node tried, each
	// one's negotiation included.
	DefaultDeadline = 15 * time.Second
	// DefaultMaxAttempts is how many nodes one offer is tried on.
	DefaultMaxAttempts = 8
	// deleteTimeout bounds a DELETE's round trip to its node.
	deleteTimeout = 5 * time.Second
	// immediateRetries is how many refused attempts are tried again at
	// once; later ones wait 5 ms × the attempt first.
	immediateRetries = 2
	// retryAfterNoNode is the Retry-After, in seconds, of a 503 when no
	// node has room (a node's own is the same).
	retryAfterNoNode = 5
)

// Results of a POST on the gateway beyond the node's (signaling.Result*).
const (
	// ResultNoNode means no node took the offer: none listening (all full
	// or draining), or every one tried was busy (503).
	ResultNoNode = "no_node"
	// ResultTimeout means the deadline passed before a node answered (503).
	ResultTimeout = "timeout"
)

// GatewayOptions configures a Gateway. The zero value authenticates
// nothing, allows no cross-origin requests and uses the defaults.
type GatewayOptions struct {
	// Auth, if set, must accept the bearer credential of every POST (and
	// of GET /v1/nodes); what it grants goes to the node with the offer.
	// DELETE needs the credential that created the session (the node
	// checks its fingerprint). nil means no authentication.
	Auth signaling.Authenticator
	// AllowedOrigins are the origins whose pages may call the endpoints
	// cross-origin (signaling.Options.AllowedOrigins).
	AllowedOrigins []string
	// Deadline bounds placing one session; 0 means DefaultDeadline.
	Deadline time.Duration
	// MaxAttempts is how many nodes one offer is tried on; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// ICEServers, if set, returns the STUN/TURN servers the gateway tells
	// clients itself (signaling.Options.ICEServers, same semantics): in
	// the answer to an OPTIONS on the sessions with an accepted
	// credential (id is ""), before any node is chosen, and in a 201 whose
	// node named none (id is the Location's last segment). A 201 whose
	// node named its own carries the node's, which its TURN credentials
	// were minted for.
	ICEServers func(id string) []link.ICEServer
	// Static, if set, is served at "/" (the browser client, so that a
	// browser can open the gateway's address).
	Static http.Handler
	// Logger receives logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock node states expire by; nil means time.Now.
	Now func() time.Time
}

// Gateway is a fleet's WHEP front door: the signaling contract of a node,
// placing each session on a node over NATS.
type Gateway struct {
	nc      *nats.Conn
	opts    GatewayOptions
	log     *slog.Logger
	nodes   *registry
	stateSb *nats.Subscription
	handler http.Handler

	reg       *prometheus.Registry
	results   *prometheus.CounterVec
	placement prometheus.Histogram
	retries   prometheus.Counter
}

// NewGateway returns a gateway placing sessions through nc; it listens to
// the nodes' heartbeats until Close, and asks them for their state at
// once. nc stays the caller's.
func NewGateway(nc *nats.Conn, opts GatewayOptions) (*Gateway, error) {
	if opts.Deadline <= 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	g := &Gateway{nc: nc, opts: opts, log: opts.Logger.With("component", "gateway"), nodes: newRegistry(opts.Now)}
	g.initMetrics()
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+signaling.SessionsPath, g.create)
	mux.HandleFunc("DELETE "+signaling.SessionsPath+"/{id}", g.remove)
	mux.HandleFunc("PATCH "+signaling.SessionsPath+"/{id}", g.patch)
	mux.HandleFunc("OPTIONS "+signaling.SessionsPath, g.options)
	mux.HandleFunc("OPTIONS "+signaling.SessionsPath+"/{id}", signaling.Preflight)
	mux.HandleFunc("GET /v1/nodes", g.listNodes)
	mux.HandleFunc("GET /healthz", g.healthz)
	mux.HandleFunc("GET /readyz", g.readyz)
	if opts.Static != nil {
		mux.Handle("GET /", opts.Static)
	}
	h, err := signaling.CORS(opts.AllowedOrigins, mux)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	g.handler = h
	g.stateSb, err = nc.Subscribe(SubjectStateAll, func(m *nats.Msg) {
		var st fleetv1.NodeState
		if proto.Unmarshal(m.Data, &st) == nil {
			g.nodes.update(&st)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("fleet: subscribe %s: %w", SubjectStateAll, err)
	}
	if err := nc.Publish(SubjectStatePoll, nil); err != nil {
		_ = g.stateSb.Unsubscribe()
		return nil, fmt.Errorf("fleet: poll node states: %w", err)
	}
	return g, nil
}

// Close stops listening to the nodes' heartbeats.
func (g *Gateway) Close() error {
	if err := g.stateSb.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

// Handler serves POST /v1/sessions, DELETE, PATCH and OPTIONS on the
// sessions, GET /v1/nodes, /healthz, /readyz and, with
// GatewayOptions.Static, the browser client at "/".
func (g *Gateway) Handler() http.Handler { return g.handler }

// Nodes returns the nodes whose heartbeats have not expired, by id.
func (g *Gateway) Nodes() []*fleetv1.NodeState { return g.nodes.list() }

// Ready is nil while the gateway is connected to NATS.
func (g *Gateway) Ready() error {
	if s := g.nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("fleet: NATS connection %s", s)
	}
	return nil
}

func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	g.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", code, "reason", msg, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// authenticate checks a POST's bearer credential as a node does.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request) (auth.Grant, string, bool) {
	if g.opts.Auth == nil {
		return auth.Grant{}, "", true
	}
	cred, err := auth.BearerToken(r.Header.Get("Authorization"))
	var grant auth.Grant
	if err == nil {
		grant, err = g.opts.Auth.Verify(cred)
	}
	if err == nil {
		return grant, cred, true
	}
	challenge, msg := signaling.Unauthorized(err)
	w.Header().Set("WWW-Authenticate", challenge)
	g.refuse(w, r, http.StatusUnauthorized, msg)
	return auth.Grant{}, "", false
}

func (g *Gateway) create(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	grant, cred, ok := g.authenticate(w, r)
	if !ok {
		g.result(signaling.ResultUnauthorized)
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/sdp" {
		g.result(signaling.ResultBadRequest)
		g.refuse(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/sdp")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		g.result(signaling.ResultBadRequest)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			g.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("offer larger than %d bytes", signaling.MaxOfferSize))
			return
		}
		g.refuse(w, r, http.StatusBadRequest, "reading offer: "+err.Error())
		return
	}
	subject, scene := SubjectOffer, r.URL.Query().Get("scene")
	if scene != "" {
		if err := CheckScene("scene", scene); err != nil {
			g.result(signaling.ResultBadRequest)
			g.refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		subject = SubjectSceneOffer(scene)
	}
	fp := auth.Fingerprint(cred)
	offer, _ := proto.Marshal(&fleetv1.PlacementOffer{
		Sdp: string(body), ClientAddr: r.RemoteAddr, Grant: wireGrant(grant), CredentialSha256: fp[:],
		Scene: scene,
	})
	placed, ref, err := g.place(r.Context(), subject, offer)
	switch {
	case placed != nil:
		g.placement.Observe(time.Since(start).Seconds())
		g.result(signaling.ResultCreated)
		g.log.Info("session placed", "node_id", placed.GetNodeId(), "session", placed.GetSessionId(), "remote", r.RemoteAddr, "subject", grant.Subject)
		loc := SessionLocation(placed.GetNodeId(), placed.GetSessionId())
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", loc)
		g.writeICEServers(w.Header(), nodeICEServers(placed), loc[len(signaling.SessionsPath)+1:])
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, placed.GetSdp())
	case ref != nil:
		code, result := refusalStatus(ref)
		g.result(result)
		if ref.GetRetryAfterS() > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(ref.GetRetryAfterS())))
		}
		g.refuse(w, r, code, ref.GetMessage())
	default:
		result, msg := ResultNoNode, "no render node has room: all are full or draining; try again later"
		if !errors.Is(err, nats.ErrNoResponders) {
			result, msg = ResultTimeout, "no render node answered in time; try again later"
			g.log.Warn("placement failed", "err", err)
		}
		g.result(result)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterNoNode))
		g.refuse(w, r, http.StatusServiceUnavailable, msg)
	}
}

// options answers OPTIONS on the sessions: a CORS preflight, and, for a
// request with a credential the gateway accepts (any without
// GatewayOptions.Auth), the gateway's ICE servers in Link headers, as a
// node does.
func (g *Gateway) options(w http.ResponseWriter, r *http.Request) {
	if g.opts.ICEServers != nil && g.mayLearnICEServers(r) {
		g.writeICEServers(w.Header(), nil, "")
	}
	signaling.Preflight(w, r)
}

// mayLearnICEServers reports whether an OPTIONS request carries a
// credential the gateway accepts (always true without authentication).
func (g *Gateway) mayLearnICEServers(r *http.Request) bool {
	if g.opts.Auth == nil {
		return true
	}
	cred, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return false
	}
	_, err = g.opts.Auth.Verify(cred)
	return err == nil
}

// writeICEServers adds a Link rel="ice-server" header for each of the
// node's ICE servers, or for the gateway's own (GatewayOptions.ICEServers
// for id) when the node named none, and keeps caches from storing
// credentials.
func (g *Gateway) writeICEServers(h http.Header, fromNode []link.ICEServer, id string) {
	list := fromNode
	if len(list) == 0 && g.opts.ICEServers != nil {
		list = g.opts.ICEServers(id)
	}
	for _, s := range list {
		h.Add("Link", s.Header())
		if s.Credential != "" {
			h.Set("Cache-Control", "no-store")
		}
	}
}

// nodeICEServers returns the ICE servers a placed session's node named,
// leaving out any whose Link header would not parse back to it (a URL
// that is not STUN or TURN, characters a header cannot carry), and at
// most link.MaxServers.
func nodeICEServers(p *fleetv1.Placed) []link.ICEServer {
	var out []link.ICEServer
	for _, s := range p.GetIceServers() {
		srv := link.ICEServer{URL: s.GetUrl(), Username: s.GetUsername(), Credential: s.GetCredential()}
		h := srv.Header()
		if strings.ContainsFunc(h, func(c rune) bool { return c < ' ' || c == 0x7f }) {
			continue
		}
		if back, err := link.Parse([]string{h}); err != nil || len(back) != 1 || back[0] != srv {
			continue
		}
		if out = append(out, srv); len(out) == link.MaxServers {
			break
		}
	}
	return out
}

// readBody reads a POST's body of at most signaling.MaxOfferSize bytes,
// into one buffer of the declared length when there is one (an offer is
// several kilobytes: io.ReadAll would grow and copy it several times).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= signaling.MaxOfferSize {
		b.Grow(int(n) + bytes.MinRead)
	}
	_, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, signaling.MaxOfferSize))
	return b.Bytes(), err
}

// place offers a session to the fleet until a node takes it, a node
// refuses it for good, or the deadline passes. A busy, draining or
// failing node's refusal makes it try again (NATS gives the offer to
// another listening node); after the last attempt it returns the last
// refusal. With neither a placement nor a refusal it returns why:
// nats.ErrNoResponders when no node listens, or the context's error.
func (g *Gateway) place(ctx context.Context, subject string, offer []byte) (*fleetv1.Placed, *fleetv1.Refusal, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opts.Deadline)
	defer cancel()
	var last *fleetv1.Refusal
	for attempt := 1; ; attempt++ {
		m, err := g.nc.RequestWithContext(ctx, subject, offer)
		if err != nil {
			if last != nil && errors.Is(err, nats.ErrNoResponders) {
				return nil, last, nil
			}
			return nil, nil, fmt.Errorf("fleet: offer: %w", err)
		}
		var ans fleetv1.PlacementAnswer
		if err := proto.Unmarshal(m.Data, &ans); err != nil {
			return nil, nil, fmt.Errorf("fleet: node answer: %w", err)
		}
		if p := ans.GetPlaced(); p != nil {
			if CheckName("node id", p.GetNodeId()) != nil || p.GetSessionId() == "" || strings.Contains(p.GetSessionId(), "/") {
				return nil, nil, fmt.Errorf("fleet: node answer names no valid node or session")
			}
			return p, nil, nil
		}
		last = ans.GetRefusal()
		switch last.GetReason() {
		case fleetv1.Refusal_REASON_BAD_OFFER, fleetv1.Refusal_REASON_CLIENT_LIMIT, fleetv1.Refusal_REASON_NOT_FOUND:
			return nil, last, nil
		}
		if attempt >= g.opts.MaxAttempts {
			return nil, last, nil
		}
		g.retries.Inc()
		if attempt < immediateRetries {
			// NATS most likely gives the offer to another node: the
			// queue group has one member per node with room.
			continue
		}
		// Still refused: the fleet is nearly full, or few nodes listen.
		// A busy node stops listening within moments; let it.
		t := time.NewTimer(time.Duration(attempt) * 5 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, last, nil
		}
	}
}

// refusalStatus maps a node's last refusal to the HTTP status and result
// a node itself would have answered.
func refusalStatus(r *fleetv1.Refusal) (int, string) {
	switch r.GetReason() {
	case fleetv1.Refusal_REASON_BAD_OFFER:
		return http.StatusBadRequest, signaling.ResultBadOffer
	case fleetv1.Refusal_REASON_CLIENT_LIMIT:
		return http.StatusTooManyRequests, signaling.ResultClientLimit
	case fleetv1.Refusal_REASON_NOT_FOUND:
		return http.StatusNotFound, signaling.ResultBadRequest
	case fleetv1.Refusal_REASON_INTERNAL, fleetv1.Refusal_REASON_UNSPECIFIED:
		return http.StatusInternalServerError, signaling.ResultInternal
	}
	return http.StatusServiceUnavailable, ResultNoNode
}

// SessionLocation is the path of a session placed on a node: the node's
// id and the session's, joined by a '.' (which neither contains), so that
// a DELETE on it reaches its node.
func SessionLocation(nodeID, sessionID string) string {
	return signaling.SessionsPath + "/" + nodeID + "." + sessionID
}

// parseLocation splits the last path segment of a SessionLocation.
func parseLocation(id string) (nodeID, sessionID string, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i < 0 || CheckName("node id", id[:i]) != nil || id[i+1:] == "" || len(id)-i > 129 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

func (g *Gateway) remove(w http.ResponseWriter, r *http.Request) {
	var cred string
	if g.opts.Auth != nil {
		var err error
		if cred, err = auth.BearerToken(r.Header.Get("Authorization")); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="holocast"`)
			g.refuse(w, r, http.StatusUnauthorized, "unauthorized: send the token that created the session (Authorization: Bearer TOKEN)")
			return
		}
	}
	nodeID, sessionID, ok := parseLocation(r.PathValue("id"))
	if !ok {
		g.refuse(w, r, http.StatusNotFound, "unknown session")
		return
	}
	fp := auth.Fingerprint(cred)
	req, _ := proto.Marshal(&fleetv1.SessionDelete{SessionId: sessionID, CredentialSha256: fp[:]})
	ctx, cancel := context.WithTimeout(r.Context(), deleteTimeout)
	defer cancel()
	m, err := g.nc.RequestWithContext(ctx, SubjectDelete(nodeID), req)
	var rep fleetv1.SessionDeleteReply
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		// The node is gone, and its sessions with it.
		g.refuse(w, r, http.StatusNotFound, "unknown session")
	case err != nil:
		g.log.Warn("delete", "node_id", nodeID, "err", err)
		g.refuse(w, r, http.StatusGatewayTimeout, "the session's node did not answer")
	case proto.Unmarshal(m.Data, &rep) != nil || !rep.GetEnded():
		g.refuse(w, r, http.StatusNotFound, "unknown session")
	default:
		g.log.Info("session deleted", "node_id", nodeID, "session", sessionID)
		w.WriteHeader(http.StatusOK)
	}
}

func (g *Gateway) patch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "DELETE")
	g.refuse(w, r, http.StatusMethodNotAllowed, "trickle ICE is not supported: send a complete offer")
}

// listNodes answers GET /v1/nodes: {"nodes": [NodeState, ...]} in the
// protobuf JSON mapping with the .proto field names.
func (g *Gateway) listNodes(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := g.authenticate(w, r); !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(NodesJSON(g.Nodes()))
}

// NodesJSON renders node states as GET /v1/nodes does.
func NodesJSON(nodes []*fleetv1.NodeState) []byte {
	var b bytes.Buffer
	b.WriteString(`{"nodes":[`)
	mo := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	for i, n := range nodes {
		if i > 0 {
			b.WriteByte(',')
		}
		j, _ := mo.Marshal(n)
		b.Write(j)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "ok nodes=%d\n", len(g.Nodes()))
}

func (g *Gateway) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := g.Ready(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	fmt.Fprintln(w, "ready")
}

// initMetrics makes the gateway's Prometheus metrics.
func (g *Gateway) initMetrics() {
	g.reg = prometheus.NewRegistry()
	g.results = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "holocast", Subsystem: "gateway", Name: "requests_total",
		Help: "Session requests (POST) by result: created or why refused."}, []string{"result"})
	for _, r := range append([]string{signaling.ResultCreated, ResultNoNode, ResultTimeout}, signaling.RefusalReasons...) {
		g.results.WithLabelValues(r)
	}
	g.placement = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "holocast", Subsystem: "gateway", Name: "placement_seconds",
		Help:    "Time from a session request to the node's answer, for placed sessions (the node's ICE gathering included).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)})
	g.retries = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "holocast", Subsystem: "gateway", Name: "placement_retries_total",
		Help: "Offers tried again on another node after a busy, draining or failing one."})
	sum := func(f func(*fleetv1.NodeState) float64) func() float64 {
		return func() float64 {
			var s float64
			for _, n := range g.Nodes() {
				s += f(n)
			}
			return s
		}
	}
	g.reg.MustRegister(g.results, g.placement, g.retries,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "holocast", Subsystem: "fleet", Name: "nodes", Help: "Nodes with live heartbeats."},
			sum(func(*fleetv1.NodeState) float64 { return 1 })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "holocast", Subsystem: "fleet", Name: "nodes_accepting", Help: "Nodes taking offers now."},
			sum(func(n *fleetv1.NodeState) float64 { return b2f(n.GetAccepting()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "holocast", Subsystem: "fleet", Name: "sessions", Help: "Live sessions over all nodes."},
			sum(func(n *fleetv1.NodeState) float64 { return float64(n.GetSessions()) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "holocast", Subsystem: "fleet", Name: "capacity", Help: "Session caps over all nodes (nodes without a cap count 0)."},
			sum(func(n *fleetv1.NodeState) float64 { return float64(n.GetCapacity()) })),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (g *Gateway) result(r string) { g.results.WithLabelValues(r).Inc() }

// OpsHandler serves, for a listener apart from the public one: GET
// /metrics (the gateway's Prometheus metrics), /healthz, /readyz and
// /v1/nodes, without authentication.
func (g *Gateway) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", g.healthz)
	mux.HandleFunc("GET /readyz", g.readyz)
	mux.HandleFunc("GET /v1/nodes", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(NodesJSON(g.Nodes()))
	})
	return mux
}
