// Package signaling owns the node's WHEP-style HTTP interface: creating a
// session from an SDP offer (POST /v1/sessions), ending it (DELETE on its
// Location), request limits, and the registry of live sessions with its cap.
package signaling

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"
)

// MaxOfferSize bounds a POSTed SDP offer. Browser offers are a few KiB.
const MaxOfferSize = 64 << 10

// SessionsPath is where sessions are created; each lives at
// SessionsPath + "/" + id.
const SessionsPath = "/v1/sessions"

// Session is what the registry needs of a live session.
type Session interface {
	// Answer is the SDP answer for the client.
	Answer() string
	// Done is closed once the session has fully ended.
	Done() <-chan struct{}
	// Close ends the session and waits for it.
	Close() error
}

// Factory creates a session for an offer. id is the session's identifier;
// ctx bounds only the creation (negotiation and ICE gathering): the session
// lives until it is closed or its peer goes away.
type Factory func(ctx context.Context, id, offer string) (Session, error)

// Options configures a Server.
type Options struct {
	// MaxSessions caps concurrent sessions; 0 means no cap.
	MaxSessions int
	// NegotiateTimeout bounds creating one session (ICE gathering).
	NegotiateTimeout time.Duration
	// Logger receives logs; nil means slog.Default().
	Logger *slog.Logger
}

// Server serves the signaling endpoints and owns the session registry.
type Server struct {
	factory Factory
	opts    Options
	log     *slog.Logger
	wg      sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]Session
	pending  int // sessions being negotiated, counted against the cap
	closed   bool
}

// NewServer returns a Server that creates sessions with f.
func NewServer(f Factory, opts Options) *Server {
	if opts.NegotiateTimeout <= 0 {
		opts.NegotiateTimeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{factory: f, opts: opts, log: log.With("component", "signaling"), sessions: map[string]Session{}}
	return s
}

// Handler returns the HTTP handler for the signaling endpoints. It allows
// cross-origin requests (CORS), as WHEP players served from elsewhere need.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+SessionsPath, s.create)
	mux.HandleFunc("DELETE "+SessionsPath+"/{id}", s.remove)
	mux.HandleFunc("PATCH "+SessionsPath+"/{id}", s.patch)
	mux.HandleFunc("OPTIONS "+SessionsPath, s.options)
	mux.HandleFunc("OPTIONS "+SessionsPath+"/{id}", s.options)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "POST, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Expose-Headers", "Location")
		mux.ServeHTTP(w, r)
	})
}

// Len returns the number of live sessions.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session and waits for them. Later requests get 503.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
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

func (s *Server) options(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "POST, DELETE, OPTIONS")
	w.Header().Set("Accept-Post", "application/sdp")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "DELETE")
	httpError(w, http.StatusMethodNotAllowed, "trickle ICE is not supported: send a complete offer")
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/sdp" {
		httpError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/sdp")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOfferSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("offer larger than %d bytes", MaxOfferSize))
			return
		}
		httpError(w, http.StatusBadRequest, "reading offer: "+err.Error())
		return
	}
	if err := checkOffer(string(body)); err != nil {
		httpError(w, http.StatusBadRequest, "bad offer: "+err.Error())
		return
	}
	id, err := s.reserve()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.NegotiateTimeout)
	defer cancel()
	sess, err := s.factory(ctx, id, string(body))
	if err != nil {
		s.release()
		if errors.Is(err, ErrBadOffer) {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.log.Error("creating session", "err", err)
		httpError(w, http.StatusInternalServerError, "cannot create session: "+err.Error())
		return
	}
	if !s.register(id, sess) {
		_ = sess.Close()
		httpError(w, http.StatusServiceUnavailable, "node is shutting down")
		return
	}
	s.log.Info("session created", "session", id, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", SessionsPath+"/"+id)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sess.Answer())
}

func (s *Server) reserve() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errors.New("node is shutting down")
	}
	if s.opts.MaxSessions > 0 && len(s.sessions)+s.pending >= s.opts.MaxSessions {
		return "", fmt.Errorf("session limit reached (%d)", s.opts.MaxSessions)
	}
	s.pending++
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]), nil
}

func (s *Server) release() {
	s.mu.Lock()
	s.pending--
	s.mu.Unlock()
}

func (s *Server) register(id string, sess Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if s.closed {
		return false
	}
	s.sessions[id] = sess
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-sess.Done()
		s.mu.Lock()
		delete(s.sessions, id)
		s.mu.Unlock()
		s.log.Info("session removed", "session", id)
	}()
	return true
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	sess, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok {
		httpError(w, http.StatusNotFound, "unknown session")
		return
	}
	_ = sess.Close()
	w.WriteHeader(http.StatusOK)
}
