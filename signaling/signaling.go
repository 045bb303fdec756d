// Package signaling owns the node's WHEP-style HTTP interface: creating a
// session from an SDP offer (POST /v1/sessions), ending it (DELETE on its
// Location), authentication of those requests (bearer token or JWT),
// cross-origin rules (CORS), request limits, and the registry of live
// sessions with its caps (in all, per client address, negotiations at
// once), and telling clients the node's STUN/TURN servers (Link
// rel="ice-server" headers, package signaling/link).
package signaling

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/signaling/link"
)

// MaxOfferSize bounds a POSTed SDP offer. Browser offers are a few KiB.
const MaxOfferSize = 64 << 10

// SessionsPath is where sessions are created; each lives at
// SessionsPath + "/" + id.
const SessionsPath = "/v1/sessions"

// Defaults of the limits in Options (used when the field is 0).
const (
	// DefaultMaxCandidates is the most ICE candidates an offer may carry.
	// A browser offers a handful (one per interface and transport, plus
	// server-reflexive and relay ones).
	DefaultMaxCandidates = 20
	// DefaultMaxNegotiations is the most sessions negotiated at once.
	DefaultMaxNegotiations = 4
	// DefaultMaxSessionsPerClient is the most sessions (live and being
	// negotiated) one client address may hold.
	DefaultMaxSessionsPerClient = 2
)

// Retry-After values, in seconds, of the refusals that may pass.
const (
	retryAfterFull        = 5 // session cap, per-client cap, draining, shutting down
	retryAfterNegotiating = 2 // a negotiation takes about a second
)

// Session is what the registry needs of a live session.
type Session interface {
	// Answer is the SDP answer for the client.
	Answer() string
	// Done is closed once the session has fully ended.
	Done() <-chan struct{}
	// Close ends the session and waits for it.
	Close() error
}

// Request is what a Factory gets to create one session.
type Request struct {
	// ID is the session's identifier (its Location ends with it).
	ID string
	// Offer is the client's SDP offer, checked (it parses, receives H.264
	// video) and with forbidden ICE candidates removed (see
	// Options.AllowLoopbackCandidates).
	Offer string
	// Grant is what the request's credential allows (caps on size, frame
	// rate and lifetime); the zero Grant without authentication.
	Grant auth.Grant
	// RemoteAddr is the HTTP client's address (http.Request.RemoteAddr;
	// behind a reverse proxy, the proxy's).
	RemoteAddr string
	// Scene is the request's "scene" query parameter: the scene the
	// session starts with ("" for the node's default; see ScenesPath).
	Scene string
}

// Factory creates a session for a request. ctx bounds only the creation
// (negotiation and ICE gathering): the session lives until it is closed or
// its peer goes away.
type Factory func(ctx context.Context, req Request) (Session, error)

// Authenticator verifies a request's bearer credential and says what it
// grants; *auth.Authenticator is one. Its errors wrap the auth package's
// sentinel errors.
type Authenticator interface {
	Verify(credential string) (auth.Grant, error)
}

// Options configures a Server. The zero value authenticates nothing,
// allows no cross-origin requests and applies the default limits.
type Options struct {
	// MaxSessions caps concurrent sessions; 0 means no cap.
	MaxSessions int
	// NegotiateTimeout bounds creating one session (ICE gathering).
	NegotiateTimeout time.Duration
	// Auth, if set, must accept the bearer credential (Authorization:
	// Bearer TOKEN) of every POST; DELETE and PATCH on a session then need
	// the credential that created it. nil means no authentication.
	Auth Authenticator
	// AllowedOrigins are the origins (scheme://host[:port], see
	// ParseOrigin) whose pages may call the endpoints cross-origin; "*"
	// allows any. Empty means same-origin only: no CORS headers at all.
	AllowedOrigins []string
	// MaxCandidates bounds the ICE candidates (a=candidate lines) in an
	// offer; 0 means DefaultMaxCandidates, negative no limit.
	MaxCandidates int
	// AllowLoopbackCandidates keeps loopback candidate addresses, for a
	// node that itself listens on loopback. Otherwise candidates with a
	// loopback, link-local, multicast or unspecified address, or a host
	// name other than an mDNS one (*.local), are removed from the offer;
	// an offer left with none of the candidates it had is refused.
	// Link-local and multicast ones are removed either way.
	AllowLoopbackCandidates bool
	// MaxNegotiations bounds the sessions being negotiated at once; 0
	// means DefaultMaxNegotiations, negative no limit.
	MaxNegotiations int
	// MaxSessionsPerClient bounds the sessions (live and being negotiated)
	// of one client address (the host of http.Request.RemoteAddr; IPv6
	// addresses by their /64 prefix); 0 means DefaultMaxSessionsPerClient,
	// negative no limit.
	MaxSessionsPerClient int
	// Logger receives logs; nil means slog.Default().
	Logger *slog.Logger
	// ICEServers, if set, returns the STUN/TURN servers a client should use
	// (with credentials minted for it, e.g. time-limited TURN ones). They
	// are sent as Link headers with rel="ice-server" (RFC 9725 §4.6) in
	// the 201 answer of a POST (id is the new session's) and in the answer
	// to an OPTIONS on SessionsPath that carries a credential Auth accepts
	// (id is ""), so that a client can configure its peer connection before
	// it makes its offer. A CORS preflight carries no credential and gets
	// none. It is called for each such answer and must not block.
	ICEServers func(id string) []link.ICEServer
	// OnResult, if set, is called once for every session request (POST)
	// with its result: ResultCreated or the reason it was refused (the
	// Result constants; metrics). It must be cheap and never block.
	OnResult func(result string)
}

// entry is a live session in the registry.
type entry struct {
	sess   Session
	client string            // clientKey of the address that created it
	cred   [sha256.Size]byte // auth.Fingerprint of the credential that created it
}

// Server serves the signaling endpoints and owns the session registry.
type Server struct {
	factory Factory
	opts    Options
	cors    cors
	log     *slog.Logger
	wg      sync.WaitGroup

	mu        sync.Mutex
	sessions  map[string]entry
	pending   int            // sessions being negotiated, counted against the caps
	perClient map[string]int // live and pending sessions per clientKey
	closed    bool
	draining  bool
	drained   chan struct{} // closed once draining with no session live or pending
}

// NewServer returns a Server that creates sessions with f. An entry of
// opts.AllowedOrigins that ParseOrigin refuses is an error.
func NewServer(f Factory, opts Options) (*Server, error) {
	if opts.NegotiateTimeout <= 0 {
		opts.NegotiateTimeout = 10 * time.Second
	}
	opts.MaxCandidates = orDefault(opts.MaxCandidates, DefaultMaxCandidates)
	opts.MaxNegotiations = orDefault(opts.MaxNegotiations, DefaultMaxNegotiations)
	opts.MaxSessionsPerClient = orDefault(opts.MaxSessionsPerClient, DefaultMaxSessionsPerClient)
	c, err := newCORS(opts.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{
		factory: f, opts: opts, cors: c, log: log.With("component", "signaling"),
		sessions: map[string]entry{}, perClient: map[string]int{}, drained: make(chan struct{}),
	}, nil
}

// orDefault maps a limit's 0 to def and a negative one to 0 (no limit).
func orDefault(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Handler returns the HTTP handler for the signaling endpoints. CORS
// headers are added only for a request whose Origin is allowed
// (Options.AllowedOrigins); a browser refuses a page from any other origin
// the answer (and, for POST and DELETE, does not send the request at all
// after the preflight).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+SessionsPath, s.create)
	mux.HandleFunc("DELETE "+SessionsPath+"/{id}", s.remove)
	mux.HandleFunc("PATCH "+SessionsPath+"/{id}", s.patch)
	mux.HandleFunc("OPTIONS "+SessionsPath, s.options)
	mux.HandleFunc("OPTIONS "+SessionsPath+"/{id}", s.options)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.cors.apply(w.Header(), r)
		mux.ServeHTTP(w, r)
	})
}

// Len returns the number of live sessions.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Drain stops taking sessions: Ready and every later POST answer an error
// wrapping ErrDraining (503 with Retry-After), and a session still being
// negotiated is refused the same way when its negotiation ends. Live
// sessions go on until they end or Close ends them. Drain returns the
// sessions live now and a channel that is closed once no session is live
// or being negotiated. Calling it again returns the same channel.
func (s *Server) Drain() ([]Session, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	live := make([]Session, 0, len(s.sessions))
	for _, e := range s.sessions {
		live = append(live, e.sess)
	}
	s.checkDrained()
	return live, s.drained
}

// checkDrained closes s.drained once the server is draining and holds no
// session, live or pending; s.mu must be held.
func (s *Server) checkDrained() {
	if !s.draining || len(s.sessions) > 0 || s.pending > 0 {
		return
	}
	select {
	case <-s.drained:
	default:
		close(s.drained)
	}
}

// Close ends every session and waits for them. Later requests get 503.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]Session, 0, len(s.sessions))
	for _, e := range s.sessions {
		all = append(all, e.sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		_ = sess.Close()
	}
	s.wg.Wait()
	return nil
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// refuse answers a request with an error and logs why (never the
// credential).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", code, "reason", msg, "remote", r.RemoteAddr)
	httpError(w, code, msg)
}

func (s *Server) options(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == SessionsPath && s.mayLearnICEServers(r) {
		s.writeICEServers(w.Header(), "")
	}
	Preflight(w, r)
}

// mayLearnICEServers reports whether an OPTIONS request may be told the
// ICE servers: without Options.Auth always, else only with a credential
// Auth accepts. A request without one (a CORS preflight, a WHEP client
// probing) is still answered 204, without them.
func (s *Server) mayLearnICEServers(r *http.Request) bool {
	if s.opts.Auth == nil {
		return true
	}
	cred, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		return false
	}
	_, err = s.opts.Auth.Verify(cred)
	return err == nil
}

// writeICEServers adds a Link header per ICE server of Options.ICEServers
// and, when any carries a credential, keeps caches from storing them.
func (s *Server) writeICEServers(h http.Header, id string) {
	if s.opts.ICEServers == nil {
		return
	}
	for _, srv := range s.opts.ICEServers(id) {
		h.Add("Link", srv.Header())
		if srv.Credential != "" {
			h.Set("Cache-Control", "no-store")
		}
	}
}

// authenticate checks the request's bearer credential. It returns the
// grant and the credential, or answers 401 and returns ok false. Without
// Options.Auth every request passes with the zero Grant.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (g auth.Grant, cred string, ok bool) {
	if s.opts.Auth == nil {
		return auth.Grant{}, "", true
	}
	cred, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err == nil {
		g, err = s.opts.Auth.Verify(cred)
	}
	if err == nil {
		return g, cred, true
	}
	challenge, msg := Unauthorized(err)
	w.Header().Set("WWW-Authenticate", challenge)
	s.refuse(w, r, http.StatusUnauthorized, msg)
	return auth.Grant{}, "", false
}

// session returns the live session named in the request's path if the
// request may act on it: with Options.Auth, only with the credential that
// created it (compared by fingerprint in constant time). A missing
// credential is answered 401; an unknown session and a wrong credential
// alike are answered 404, so that a client cannot learn whether a session
// it does not own exists.
func (s *Server) session(w http.ResponseWriter, r *http.Request) (Session, bool) {
	var fp [sha256.Size]byte
	if s.opts.Auth != nil {
		cred, err := auth.BearerToken(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="holocast"`)
			s.refuse(w, r, http.StatusUnauthorized, "unauthorized: send the token that created the session (Authorization: Bearer TOKEN)")
			return nil, false
		}
		fp = auth.Fingerprint(cred)
	}
	s.mu.Lock()
	e, ok := s.sessions[r.PathValue("id")]
	s.mu.Unlock()
	if !ok || (s.opts.Auth != nil && !auth.Same(fp, e.cred)) {
		s.refuse(w, r, http.StatusNotFound, "unknown session")
		return nil, false
	}
	return e.sess, true
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(w, r); !ok {
		return
	}
	w.Header().Set("Allow", "DELETE")
	httpError(w, http.StatusMethodNotAllowed, "trickle ICE is not supported: send a complete offer")
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(w, r)
	if !ok {
		return
	}
	s.end(r.PathValue("id"), sess)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	grant, cred, ok := s.authenticate(w, r)
	if !ok {
		s.result(ResultUnauthorized)
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/sdp" {
		s.result(ResultBadRequest)
		s.refuse(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/sdp")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOfferSize))
	if err != nil {
		s.result(ResultBadRequest)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("offer larger than %d bytes", MaxOfferSize))
			return
		}
		s.refuse(w, r, http.StatusBadRequest, "reading offer: "+err.Error())
		return
	}
	id, sess, err := s.open(r.Context(), string(body), r.URL.Query().Get("scene"), grant, auth.Fingerprint(cred), r.RemoteAddr)
	if err != nil {
		if retry := RetryAfter(err); retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
		}
		code := StatusCode(err)
		if code == http.StatusInternalServerError {
			httpError(w, code, err.Error())
			return
		}
		s.refuse(w, r, code, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", SessionsPath+"/"+id)
	s.writeICEServers(w.Header(), id)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sess.Answer())
}

// reserve counts a new session against the caps, in this order: the node
// is shutting down or draining, the session cap, the client's cap, the
// negotiation cap. It returns the new session's identifier.
func (s *Server) reserve(client string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.readyLocked(); err != nil {
		return "", err
	}
	o := &s.opts
	switch {
	case o.MaxSessionsPerClient > 0 && s.perClient[client] >= o.MaxSessionsPerClient:
		return "", fmt.Errorf("%w (%d from one address); end one first", ErrClientLimit, o.MaxSessionsPerClient)
	case o.MaxNegotiations > 0 && s.pending >= o.MaxNegotiations:
		return "", fmt.Errorf("%w (%d at once); try again shortly", ErrNegotiationLimit, o.MaxNegotiations)
	}
	s.pending++
	s.perClient[client]++
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]), nil
}

// Ready reports whether a new session would be taken now: nil, or an
// error wrapping ErrShuttingDown, ErrDraining or ErrSessionLimit.
// (Per-client and negotiation caps depend on the request and are not
// counted here.)
func (s *Server) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyLocked()
}

// readyLocked is Ready with s.mu held; reserve checks it first.
func (s *Server) readyLocked() error {
	switch {
	case s.closed:
		return ErrShuttingDown
	case s.draining:
		return ErrDraining
	case s.opts.MaxSessions > 0 && len(s.sessions)+s.pending >= s.opts.MaxSessions:
		return fmt.Errorf("%w (%d); try again later", ErrSessionLimit, s.opts.MaxSessions)
	}
	return nil
}

// release undoes reserve for a session that was not created.
func (s *Server) release(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	s.dropClient(client)
	s.checkDrained()
}

// dropClient decrements a client's count; s.mu must be held.
func (s *Server) dropClient(client string) {
	if s.perClient[client]--; s.perClient[client] <= 0 {
		delete(s.perClient, client)
	}
}

// register makes a negotiated session live, unless the server was closed
// or began to drain meanwhile: then it returns ErrShuttingDown or
// ErrDraining and the caller ends the session.
func (s *Server) register(id string, e entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if s.closed || s.draining {
		s.dropClient(e.client)
		s.checkDrained()
		if s.closed {
			return ErrShuttingDown
		}
		return ErrDraining
	}
	s.sessions[id] = e
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-e.sess.Done()
		s.forget(id)
	}()
	return nil
}

// forget removes an ended session from the registry (its client's count,
// the drain's wait) unless that was done already.
func (s *Server) forget(id string) {
	s.mu.Lock()
	e, ok := s.sessions[id]
	if ok {
		delete(s.sessions, id)
		s.dropClient(e.client)
		s.checkDrained()
	}
	s.mu.Unlock()
	if ok {
		s.log.Info("session removed", "session", id)
	}
}

// end closes a session on its owner's request (DELETE, or End). A session
// that has ended when Close returns leaves the registry at once, so that
// a second DELETE is answered 404, not 200; otherwise its watcher removes
// it when it ends.
func (s *Server) end(id string, sess Session) {
	_ = sess.Close()
	select {
	case <-sess.Done():
		s.forget(id)
	default:
	}
}
