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
)
