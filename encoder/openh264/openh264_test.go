//go:build cgo

package openh264_test

import (
	"testing"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/encoder/openh264"
)

func TestConformance(t *testing.T) {
	encodertest.Run(t, encodertest.Backend{Factory: openh264.Factory, Decodable: true})
}

// TestBaseline checks that OpenH264 emits Baseline profile, which every
// browser decodes.
func TestBaseline(t *testing.T) {
	enc, err := openh264.New(encoder.Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	aus := encodertest.EncodeScene(t, enc, encodertest.NewMovingScene(320, 240, 2, 0), 1)
	if got := encodertest.ProfileIDC(t, aus[0]); got != 66 {
		t.Errorf("profile_idc %d, want 66 (Baseline)", got)
	}
}

// BenchmarkEncode: see encodertest.Benchmark.
func BenchmarkEncode(b *testing.B) { encodertest.Benchmark(b, openh264.Factory) }
