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
)
