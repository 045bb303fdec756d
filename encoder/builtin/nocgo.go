//go:build !cgo

package builtin

import (
	"fmt"

	"github.com/holocast/holocast/encoder"
)

// Name is the compiled-in back-end: "x264", "openh264" or "none".
const Name = "none"

func newEncoder(encoder.Config) (encoder.Encoder, error) {
	return nil, fmt.Errorf("%w: this binary was built without cgo, so it has no H.264 back-end (build with CGO_ENABLED=1 and libx264-dev)", encoder.ErrUnsupported)
}
