package signaling

import "errors"

// Results of a session request (POST), as Options.OnResult reports them:
// ResultCreated, or the reason it was refused. Each POST has exactly one.
const (
	// ResultCreated means the session was created (201).
	ResultCreated = "created"
	// ResultUnauthorized means the bearer credential was missing or
	// refused (401).
	ResultUnauthorized = "unauthorized"
	// ResultBadRequest means a wrong Content-Type (415), an offer over
	// MaxOfferSize (413), a body that could not be read (400) or an
	// unknown scene (404).
	ResultBadRequest = "bad_request"
	// ResultBadOffer means an offer that was refused: malformed SDP, no
	// receivable H.264 video, too many or no usable ICE candidates, or a
	// Factory error wrapping ErrBadOffer (400).
	ResultBadOffer = "bad_offer"
	// ResultSessionLimit means the node's session cap (503).
	ResultSessionLimit = "session_limit"
	// ResultClientLimit means the client address's session cap (429).
	ResultClientLimit = "client_limit"
	// ResultNegotiationLimit means the cap on negotiations at once (503).
	ResultNegotiationLimit = "negotiation_limit"
	// ResultDraining means the node is draining (503).
	ResultDraining = "draining"
	// ResultShuttingDown means the node is closing (503).
	ResultShuttingDown = "shutting_down"
	// ResultInternal means the Factory failed for another reason (500).
	ResultInternal = "internal"
)

// RefusalReasons lists every result but ResultCreated, for metrics that
// want each reason present from the start.
var RefusalReasons = []string{
	ResultUnauthorized, ResultBadRequest, ResultBadOffer, ResultSessionLimit, ResultClientLimit,
	ResultNegotiationLimit, ResultDraining, ResultShuttingDown, ResultInternal,
}

// refusalResult names the result of a request refused with err, one of
// the errors of reserve, register or the Factory.
func refusalResult(err error) string {
	switch {
	case errors.Is(err, ErrShuttingDown):
		return ResultShuttingDown
	case errors.Is(err, ErrDraining):
		return ResultDraining
	case errors.Is(err, ErrSessionLimit):
		return ResultSessionLimit
	case errors.Is(err, ErrClientLimit):
		return ResultClientLimit
	case errors.Is(err, ErrNegotiationLimit):
		return ResultNegotiationLimit
	case errors.Is(err, ErrBadOffer):
		return ResultBadOffer
	case errors.Is(err, ErrNotFound):
		return ResultBadRequest
	}
	return ResultInternal
}

// result reports a request's result to Options.OnResult, if set.
func (s *Server) result(r string) {
	if s.opts.OnResult != nil {
		s.opts.OnResult(r)
	}
}
