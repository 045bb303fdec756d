//go:build openh264

package encoder

import (
	"fmt"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

const backendName = "openh264"

// backendBitRate: OpenH264 is told the real frame rate, so the bit rate is
// passed through unchanged.
func backendBitRate(_ Config, bps int) int { return bps }

func newBackend(cfg Config, r video.Reader) (codec.ReadCloser, error) {
	p, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("openh264 params: %w", err)
	}
	p.BitRate = backendBitRate(cfg, cfg.BitRate)
	p.KeyFrameInterval = cfg.KeyFrameInterval // not read by the wrapper; IntraPeriod is
	p.IntraPeriod = uint(cfg.KeyFrameInterval)
	// With skipping on (mediadevices' default), OpenH264 drops frames to
	// hold the rate and returns 0-byte output for them.
	p.EnableFrameSkip = false
	rc, err := p.BuildVideoEncoder(r, prop.Media{
		Video: prop.Video{
			Width:       cfg.Width,
			Height:      cfg.Height,
			FrameRate:   float32(cfg.FPS), // OpenH264's fMaxFrameRate: drives its rate control
			FrameFormat: frame.FormatI420,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("openh264: %w", err)
	}
	return rc, nil
}
