//go:build cgo && openh264

package builtin

import "github.com/holocast/holocast/encoder/openh264"

// Name is the compiled-in back-end: "x264", "openh264" or "none".
const Name = openh264.Name

var newEncoder = openh264.New
