// Package builtin names the H.264 back-end compiled into this binary: x264
// by default, openh264 with the build tag "openh264" (so that a binary
// carries only the codec it uses; the two link together, as this package's
// tests show), and none in a build without cgo, where New
// fails with an error wrapping encoder.ErrUnsupported. Commands and the
// node use Factory when no other encoder.Factory is configured.
package builtin

import "github.com/holocast/holocast/encoder"

// Factory makes Encoders with the compiled-in back-end.
var Factory = encoder.Factory{Name: Name, New: newEncoder}

// New makes an Encoder with the compiled-in back-end.
func New(cfg encoder.Config) (encoder.Encoder, error) { return newEncoder(cfg) }
