package rendertest

import "errors"

// ErrClosed is returned by a Renderer used after Close.
var ErrClosed = errors.New("rendertest: renderer closed")
