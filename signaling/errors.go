package signaling

import "errors"

// ErrBadOffer may be wrapped by a Factory's error to have the client told
// 400 rather than 500.
var ErrBadOffer = errors.New("bad offer")

// Reasons an offer is refused before it reaches WebRTC.
var (
	// ErrMalformedSDP means the body does not parse as SDP.
	ErrMalformedSDP = errors.New("malformed SDP")
	// ErrNoVideo means the offer has no video m-line to answer with a track.
	ErrNoVideo = errors.New("offer has no video m-line")
	// ErrNoH264 means the offer's video m-line lists no H.264 codec.
	ErrNoH264 = errors.New("offer's video m-line has no H.264 codec")
	// ErrVideoNotReceived means the offer's video m-line does not receive
	// (sendonly or inactive).
	ErrVideoNotReceived = errors.New("offer's video m-line does not receive (want recvonly or sendrecv)")
	// ErrTooManyCandidates means the offer carries more ICE candidates
	// than Options.MaxCandidates.
	ErrTooManyCandidates = errors.New("too many ICE candidates")
	// ErrForbiddenCandidates means every ICE candidate of the offer had a
	// forbidden address (loopback, link-local, multicast, unspecified, or
	// a host name that is not an mDNS .local one).
	ErrForbiddenCandidates = errors.New("no usable ICE candidate")
)

// Reasons a session is refused for the node's limits; each answer carries
// Retry-After.
var (
	// ErrShuttingDown means the node is closing (503).
	ErrShuttingDown = errors.New("node is shutting down")
	// ErrDraining means the node is draining (Server.Drain): it takes no
	// new session while its live ones run to their end (503).
	ErrDraining = errors.New("node is draining")
	// ErrSessionLimit means the node's session cap is reached (503).
	ErrSessionLimit = errors.New("session limit reached")
	// ErrClientLimit means the client's address holds as many sessions as
	// Options.MaxSessionsPerClient allows (429).
	ErrClientLimit = errors.New("too many sessions from this address")
	// ErrNegotiationLimit means Options.MaxNegotiations sessions are being
	// negotiated already (503).
	ErrNegotiationLimit = errors.New("too many sessions being negotiated")
	// ErrNoCandidates may be wrapped by a Factory's error: the node could
	// offer the client no ICE candidate it could pair with one of its own
	// (no free port in the node's range, no address of the client's IP
	// family or transport), so the session could never connect (503).
	ErrNoCandidates = errors.New("no usable ICE candidate on the node")
)

// ErrBadOrigin means an entry of Options.AllowedOrigins is neither "*"
// nor scheme://host[:port].
var ErrBadOrigin = errors.New("bad origin")
