//go:build cgo

package builtin_test

import (
	"testing"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/encoder/openh264"
	"github.com/holocast/holocast/encoder/x264"
)

// TestBothLink links the x264 and openh264 back-ends into one test binary
// (their C helpers do not clash) and encodes a key frame with each.
func TestBothLink(t *testing.T) {
	for _, f := range []encoder.Factory{x264.Factory, openh264.Factory} {
		enc, err := f.New(encoder.Config{Width: 64, Height: 64, FPS: 30, BitRate: 200_000})
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		aus := encodertest.EncodeScene(t, enc, encodertest.NewMovingScene(64, 64, 2, 0), 2)
		if err := enc.Close(); err != nil {
			t.Errorf("%s: Close: %v", f.Name, err)
		}
		if !aus[0].KeyFrame {
			t.Errorf("%s: first frame is not a key frame", f.Name)
		}
	}
}
