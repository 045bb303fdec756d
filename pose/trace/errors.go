package trace

import "errors"

// ErrUnknownFormat is returned when a format name or content is not
// recognised.
var ErrUnknownFormat = errors.New("trace: unknown format")
