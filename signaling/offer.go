package signaling

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/signaling/link"
)

// OfferRequest is a session request that did not come over HTTP: a
// fleet's placement over NATS (package fleet) hands its offers to
// Server.Offer with what the fleet's gateway verified of the client.
type OfferRequest struct {
	// Offer is the client's SDP offer, unchecked: Offer checks it as a
	// POST's body is checked.
	Offer string
	// Grant is what the client's credential allows.
	Grant auth.Grant
	// Credential is the fingerprint (auth.Fingerprint) of the client's
	// bearer credential, or of "" without one; End needs the same.
	Credential [sha256.Size]byte
	// RemoteAddr is the client's address (host:port), for the per-client
	// session cap.
	RemoteAddr string
	// Scene names the scene the session starts with ("" for the node's
	// default), as a POST's "scene" query parameter does.
	Scene string
}

// OfferAnswer is a session created by Server.Offer.
type OfferAnswer struct {
	// ID names the session (End takes it).
	ID string
	// Answer is the node's SDP answer.
	Answer string
	// ICEServers are the STUN/TURN servers a POST's 201 would name in its
	// Link headers (Options.ICEServers for the session), for the client.
	ICEServers []link.ICEServer
}

// Offer creates a session from a request that came another way than
// HTTP, with every check and cap of POST /v1/sessions (in the same order;
// Options.OnResult hears of it the same way). Its errors wrap those a POST
// is refused with: ErrBadOffer (400), ErrNotFound (404, an unknown
// scene), ErrClientLimit (429),
// ErrSessionLimit, ErrNegotiationLimit, ErrDraining, ErrShuttingDown (503
// with RetryAfter's delay), or another error from the Factory (500). ctx
// bounds the negotiation as well as Options.NegotiateTimeout.
func (s *Server) Offer(ctx context.Context, req OfferRequest) (OfferAnswer, error) {
	id, sess, err := s.open(ctx, req.Offer, req.Scene, req.Grant, req.Credential, req.RemoteAddr)
	if err != nil {
		return OfferAnswer{}, err
	}
	ans := OfferAnswer{ID: id, Answer: sess.Answer()}
	if s.opts.ICEServers != nil {
		ans.ICEServers = s.opts.ICEServers(id)
	}
	return ans, nil
}

// End ends the live session id if credential is the fingerprint of the
// credential that created it (of "" for one created without), and reports
// whether it did: false for an unknown session and a wrong credential
// alike. It is DELETE on the session's Location for requests that did not
// come over HTTP.
func (s *Server) End(id string, credential [sha256.Size]byte) bool {
	s.mu.Lock()
	e, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok || !auth.Same(credential, e.cred) {
		return false
	}
	s.end(id, e.sess)
	return true
}

// RetryAfter returns the Retry-After delay, in seconds, that goes with a
// refusal error of Offer (or of Ready), and 0 for one that has none.
func RetryAfter(err error) int {
	switch {
	case errors.Is(err, ErrNegotiationLimit):
		return retryAfterNegotiating
	case errors.Is(err, ErrClientLimit), errors.Is(err, ErrSessionLimit),
		errors.Is(err, ErrDraining), errors.Is(err, ErrShuttingDown),
		errors.Is(err, ErrNoCandidates):
		return retryAfterFull
	}
	return 0
}

// StatusCode returns the HTTP status a POST is refused with for an error
// of Offer: 400, 404, 429, 503 or 500.
func StatusCode(err error) int {
	switch {
	case errors.Is(err, ErrBadOffer):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrClientLimit):
		return http.StatusTooManyRequests
	case RetryAfter(err) > 0:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// open creates a session: checks the offer, removes its forbidden
// candidates, counts it against the caps, negotiates it with the Factory
// and registers it. It reports the request's result to Options.OnResult
// unless it fails before the checks of the offer (that is the HTTP
// handler's part).
func (s *Server) open(ctx context.Context, offer, scene string, grant auth.Grant, cred [sha256.Size]byte, remote string) (string, Session, error) {
	if err := checkOffer(offer); err != nil {
		s.result(ResultBadOffer)
		return "", nil, fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	offer, removed, err := filterCandidates(offer, s.opts.MaxCandidates, s.opts.AllowLoopbackCandidates)
	if err != nil {
		s.result(ResultBadOffer)
		return "", nil, fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	if removed > 0 {
		s.log.Info("removed forbidden ICE candidates from an offer", "count", removed, "remote", remote)
	}
	client := clientKey(remote)
	id, err := s.reserve(client)
	if err != nil {
		s.result(refusalResult(err))
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.NegotiateTimeout)
	defer cancel()
	sess, err := s.factory(ctx, Request{ID: id, Offer: offer, Grant: grant, RemoteAddr: remote, Scene: scene})
	if err != nil {
		s.release(client)
		s.result(refusalResult(err))
		if !errors.Is(err, ErrBadOffer) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNoCandidates) {
			s.log.Error("creating session", "err", err)
			err = fmt.Errorf("cannot create session: %w", err)
		}
		return "", nil, err
	}
	if err := s.register(id, entry{sess: sess, client: client, cred: cred}); err != nil {
		_ = sess.Close()
		s.result(refusalResult(err))
		return "", nil, err
	}
	s.result(ResultCreated)
	s.log.Info("session created", "session", id, "remote", remote, "subject", grant.Subject)
	return id, sess, nil
}
