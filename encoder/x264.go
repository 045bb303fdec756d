//go:build !openh264

package encoder

import (
	"fmt"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/x264"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

const backendName = "x264"

// x264AssumedFPS is the frame rate libx264 falls back to because the
// mediadevices wrapper never sets one; its rate control budgets
// bitrate/x264AssumedFPS bits per frame.
const x264AssumedFPS = 25

// backendBitRate converts a wanted bit rate at cfg.FPS into the value to
// give the x264 wrapper, which budgets as if frames came at 25 fps.
func backendBitRate(cfg Config, bps int) int {
	return int(int64(bps) * x264AssumedFPS / int64(cfg.FPS))
}

func newBackend(cfg Config, r video.Reader) (codec.ReadCloser, error) {
	p, err := x264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("x264 params: %w", err)
	}
	idx, _ := presetIndex(cfg.Preset) // validated by withDefaults
	p.Preset = x264.Preset(idx)
	p.BitRate = backendBitRate(cfg, cfg.BitRate)
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
