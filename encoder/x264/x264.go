//go:build cgo

package x264

import (
	"fmt"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/x264"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/internal/mdcodec"
)

// Name is this back-end's name.
const Name = "x264"

// Factory makes x264 Encoders.
var Factory = encoder.Factory{Name: Name, New: New}

// assumedFPS is the frame rate libx264 falls back to because the
// mediadevices wrapper never sets one; its rate control budgets
// bitrate/assumedFPS bits per frame.
const assumedFPS = 25

// scaledBitRate converts a wanted bit rate at cfg.FPS into the value to
// give the wrapper, which budgets as if frames came at 25 fps.
func scaledBitRate(cfg encoder.Config, bps int) int {
	return int(int64(bps) * assumedFPS / int64(cfg.FPS))
}

var backend = mdcodec.Backend{Name: Name, Build: build, BitRate: scaledBitRate}

// New returns an x264 Encoder for cfg. Zero KeyFrameInterval and Preset take
// their defaults; the other fields must be positive, and Width and Height
// even. The Encoder also implements encoder.KeyFrameController and
// encoder.BitRateController.
func New(cfg encoder.Config) (encoder.Encoder, error) { return backend.New(cfg) }

func build(cfg encoder.Config, r video.Reader) (codec.ReadCloser, error) {
	p, err := x264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("x264 params: %w", err)
	}
	p.Preset = x264.Preset(presetIndex(cfg.Preset))
	p.BitRate = scaledBitRate(cfg, cfg.BitRate)
	p.KeyFrameInterval = cfg.KeyFrameInterval
	rc, err := p.BuildVideoEncoder(r, prop.Media{
		Video: prop.Video{
			Width:       cfg.Width,
			Height:      cfg.Height,
			FrameRate:   float32(cfg.FPS), // ignored by the x264 wrapper
			FrameFormat: frame.FormatI420,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("x264: %w", err)
	}
	return rc, nil
}

// presetIndex is the mediadevices x264.Preset of a preset name validated by
// encoder.Config.WithDefaults (encoder.Presets is in x264's order).
func presetIndex(name string) int {
	for i, n := range encoder.Presets {
		if n == name {
			return i
		}
	}
	return 0
}
