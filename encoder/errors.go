package encoder

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them (test
// with errors.Is) together with the context in which they happened.
var (
	// ErrUnsupported means the back-end cannot do what was asked, or that
	// this binary has no back-end (built without cgo).
	ErrUnsupported = errors.New("encoder: unsupported")
	// ErrInvalidConfig means a Config field is out of range.
	ErrInvalidConfig = errors.New("encoder: invalid config")
	// ErrInvalidFrame means a frame does not match the encoder's resolution
	// or its planes are too short. The encoder stays usable.
	ErrInvalidFrame = errors.New("encoder: invalid frame")
	// ErrClosed means the Encoder was used after Close.
	ErrClosed = errors.New("encoder: closed")
	// ErrEncode means the back-end failed to encode a frame.
	ErrEncode = errors.New("encoder: encode failed")
)
