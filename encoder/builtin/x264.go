//go:build cgo && !openh264

package builtin

import "github.com/holocast/holocast/encoder/x264"

// Name is the compiled-in back-end: "x264", "openh264" or "none".
const Name = x264.Name

var newEncoder = x264.New
