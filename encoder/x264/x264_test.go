//go:build cgo

package x264_test

import (
	"testing"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/encoder/x264"
)

func TestConformance(t *testing.T) {
	encodertest.Run(t, encodertest.Backend{Factory: x264.Factory, Decodable: true})
}

// TestPresetProfile documents that x264 emits Constrained Baseline at the
// default preset and switches to High profile (CABAC, 8x8 transform) from
// preset superfast on.
func TestPresetProfile(t *testing.T) {
	for preset, want := range map[string]byte{"": 66, "ultrafast": 66, "superfast": 100, "veryfast": 100} {
		enc, err := x264.New(encoder.Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000, Preset: preset})
		if err != nil {
			t.Fatal(err)
		}
		aus := encodertest.EncodeScene(t, enc, encodertest.NewMovingScene(320, 240, 2, 0), 1)
		_ = enc.Close()
		if got := encodertest.ProfileIDC(t, aus[0]); got != want {
			t.Errorf("preset %q: profile_idc %d, want %d", preset, got, want)
		}
	}
}

// BenchmarkEncode: see encodertest.Benchmark.
func BenchmarkEncode(b *testing.B) { encodertest.Benchmark(b, x264.Factory) }
