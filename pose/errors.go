package pose

import "errors"

// Errors returned by Decode, Intake.Submit and Intake.Accept. They
// may be wrapped with context; test with errors.Is.
var (
	// ErrMalformed means the bytes are not a Pose protobuf.
	ErrMalformed = errors.New("pose: malformed datagram")
	// ErrTooLarge means the datagram exceeds MaxDatagramSize.
	ErrTooLarge = errors.New("pose: datagram too large")
	// ErrNoSeq means seq is 0 (the proto3 default, i.e. missing).
	ErrNoSeq = errors.New("pose: missing seq")
	// ErrNoOrientation means the orientation field is absent.
	ErrNoOrientation = errors.New("pose: missing orientation")
	// ErrNotFinite means a number is NaN or infinite.
	ErrNotFinite = errors.New("pose: non-finite number")
	// ErrNotUnit means the orientation is too far from a unit quaternion
	// to be a rounding error.
	ErrNotUnit = errors.New("pose: orientation is not a unit quaternion")
	// ErrOutOfRange means a position or velocity is physically absurd.
	ErrOutOfRange = errors.New("pose: value out of range")
	// ErrStale means a newer seq was already accepted (reordered datagram).
	ErrStale = errors.New("pose: stale seq")
	// ErrDuplicate means this seq was already accepted.
	ErrDuplicate = errors.New("pose: duplicate seq")
)
