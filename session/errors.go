package session

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them (test
// with errors.Is) together with their context.
var (
	// ErrBadOffer means the offer could not be applied (malformed, or no
	// codec in common).
	ErrBadOffer = errors.New("session: bad offer")
	// ErrBadDeviceConfig wraps every reason a DeviceConfig is rejected.
	ErrBadDeviceConfig = errors.New("session: bad device config")
	// ErrBadConfig means a Config field is out of range.
	ErrBadConfig = errors.New("session: bad config")

	// The limits a client can run into (see Config). Each is reported to
	// the client in a Notice, logged with the session's id and counted in
	// Stats; the ones that end the session are also returned by Err.

	// ErrUnexpectedChannel means the client opened a data channel other
	// than one "pose" and one "control"; it is closed at once.
	ErrUnexpectedChannel = errors.New("session: unexpected data channel")
	// ErrTooManyChannels ends a session whose client opened more than
	// Config.MaxRejectedChannels unexpected data channels.
	ErrTooManyChannels = errors.New("session: too many unexpected data channels")
	// ErrMessageTooLarge ends a session whose client sent a data channel
	// message larger than the max-message-size the node advertised.
	ErrMessageTooLarge = errors.New("session: data channel message too large")
	// ErrRateLimited means messages beyond Config.PoseRate or
	// Config.ControlRate were dropped.
	ErrRateLimited = errors.New("session: rate limit exceeded")
	// ErrDeviceConfigSuperseded means a DeviceConfig was replaced by a
	// newer one before the pipeline was rebuilt for it (rebuilds happen at
	// most every Config.RebuildInterval; the newest config wins).
	ErrDeviceConfigSuperseded = errors.New("session: device config superseded")
	// ErrMaxDuration ends a session that reached Config.MaxDuration.
	ErrMaxDuration = errors.New("session: maximum duration reached")
	// ErrIdle ends a session whose client sent no pose for
	// Config.IdleTimeout.
	ErrIdle = errors.New("session: idle")
	// ErrBadDisplayTiming means a DisplayTiming out of range was ignored.
	ErrBadDisplayTiming = errors.New("session: bad display timing")
)
