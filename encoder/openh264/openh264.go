//go:build cgo

package openh264

import (
	"fmt"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/internal/mdcodec"
)

// Name is this back-end's name.
const Name = "openh264"

// Factory makes OpenH264 Encoders.
var Factory = encoder.Factory{Name: Name, New: New}

var backend = mdcodec.Backend{Name: Name, Build: build}

// New returns an OpenH264 Encoder for cfg. Zero KeyFrameInterval takes its
// default; Preset is validated but ignored. The Encoder also implements
// encoder.KeyFrameController and encoder.BitRateController, but not
// encoder.TimedEncoder: its rate control budgets by Config.FPS alone.
func New(cfg encoder.Config) (encoder.Encoder, error) { return backend.New(cfg) }

func build(cfg encoder.Config, r video.Reader) (codec.ReadCloser, error) {
	p, err := openh264.NewParams()
	if err != nil {
		return nil, fmt.Errorf("openh264 params: %w", err)
	}
	p.BitRate = cfg.BitRate
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
