// Package encoder is the contract between the render stage and an H.264
// codec: it turns rendered I420 frames (render.Frame) into access units in
// Annex-B form, ready for an RTP H.264 packetizer.
//
// The package is pure Go. It holds the Encoder interface, its Config, the
// optional abilities an Encoder may have (KeyFrameController,
// BitRateController, TimedEncoder, found by type assertion as in
// pion/mediadevices), the
// sentinel errors, and Factory, the named constructor that node and session
// are given. The codecs live in leaf packages, each behind the cgo build
// constraint:
//
//   - encoder/x264: libx264 through a thin cgo binding of the project's own
//     (needs libx264-dev): frames capped by a VBV of two frame intervals,
//     periodic intra refresh instead of periodic IDRs, and bits budgeted
//     by the frames' real times (TimedEncoder);
//   - encoder/openh264: Cisco's OpenH264, statically linked from the library
//     bundled with pion/mediadevices;
//   - encoder/builtin: picks the one compiled into a binary (x264, or
//     openh264 with the build tag "openh264");
//   - encoder/encodertest: a pure-Go fake Encoder for tests and the
//     conformance suite every back-end passes.
//
// Every back-end encodes with no B-frames and no look-ahead, so Encode
// returns the access unit of the frame just given (one frame in, one frame
// out, no reordering and no encoder delay). Key frames are IDR pictures
// that carry SPS and PPS in-band, so a receiver can join at any key frame.
// AccessUnit.KeyFrame is derived from the bitstream itself (package
// proto/wire/h264), not from a back-end's say-so. A back-end refreshes the
// picture either with an IDR every KeyFrameInterval frames (openh264) or
// with periodic intra refresh (x264), where the only IDRs are the first
// frame and forced ones, and each refresh wave starts at a frame with SPS,
// PPS and a recovery point SEI.
//
// An Encoder is tied to one resolution: a change of frame size needs a new
// Encoder (Close the old one, make a new one; the first access unit of the
// new one is a key frame with fresh parameter sets).
package encoder

import (
	"fmt"
	"slices"
	"time"

	"github.com/holocast/holocast/render"
)

// AccessUnit is one encoded frame.
type AccessUnit struct {
	// Data is the H.264 access unit in Annex-B form (each NAL unit preceded
	// by a start code), ready for an RTP H.264 packetizer. It is owned by
	// the caller. It may be nil with a nil error (a back-end that produced
	// nothing for this frame), in which case there is nothing to send.
	Data []byte
	// KeyFrame reports that Data holds an IDR picture (NAL type 5); the
	// back-ends put SPS and PPS in front of every IDR.
	KeyFrame bool
}

// Config describes the stream an Encoder produces.
type Config struct {
	// Width and Height of every frame in pixels; both positive and even.
	Width, Height int
	// FPS is the rate at which Encode will be called, in frames per second.
	// It drives the rate control: the bit budget per frame is BitRate/FPS
	// (for EncodeAt, BitRate × the frame's duration; see TimedEncoder).
	FPS int
	// BitRate is the target average bit rate in bits per second.
	BitRate int
	// KeyFrameInterval is the refresh period in frames: the maximum
	// distance between key frames, or for a back-end with periodic intra
	// refresh (x264) between the starts of two refresh waves; 0 means
	// DefaultKeyFrameSeconds*FPS.
	KeyFrameInterval int
	// Preset is the x264 speed preset (one of Presets); "" means
	// DefaultPreset. Back-ends without presets ignore it.
	Preset string
}

// DefaultPreset is the x264 preset used when Config.Preset is empty: the
// fastest one.
const DefaultPreset = "ultrafast"

// DefaultKeyFrameSeconds is the refresh period (key frame interval, or
// intra refresh period), in seconds, used when Config.KeyFrameInterval is 0.
const DefaultKeyFrameSeconds = 2

// Presets are x264's speed presets, fastest first.
var Presets = []string{
	"ultrafast", "superfast", "veryfast", "faster", "fast",
	"medium", "slow", "slower", "veryslow", "placebo",
}

// WithDefaults validates c and fills in its defaults (KeyFrameInterval,
// Preset). Errors wrap ErrInvalidConfig. Back-ends call it first.
func (c Config) WithDefaults() (Config, error) {
	switch {
	case c.Width <= 0 || c.Height <= 0 || c.Width%2 != 0 || c.Height%2 != 0:
		return c, fmt.Errorf("%w: size %dx%d: width and height must be positive and even", ErrInvalidConfig, c.Width, c.Height)
	case c.FPS <= 0:
		return c, fmt.Errorf("%w: FPS %d must be positive", ErrInvalidConfig, c.FPS)
	case c.BitRate <= 0:
		return c, fmt.Errorf("%w: BitRate %d must be positive", ErrInvalidConfig, c.BitRate)
	case c.KeyFrameInterval < 0:
		return c, fmt.Errorf("%w: KeyFrameInterval %d must not be negative", ErrInvalidConfig, c.KeyFrameInterval)
	}
	if c.KeyFrameInterval == 0 {
		c.KeyFrameInterval = DefaultKeyFrameSeconds * c.FPS
	}
	if c.Preset == "" {
		c.Preset = DefaultPreset
	}
	if !slices.Contains(Presets, c.Preset) {
		return c, fmt.Errorf("%w: unknown x264 preset %q", ErrInvalidConfig, c.Preset)
	}
	return c, nil
}

// CheckFrame reports whether f fits an encoder of width×height: right size
// and planes at least as long as render.Frame's layout needs. The cgo
// back-ends read the planes with Y stride = width and chroma stride =
// width/2, so a mismatch must be caught before it reaches C. Errors wrap
// ErrInvalidFrame.
func CheckFrame(f *render.Frame, width, height int) error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrInvalidFrame)
	}
	if f.Width != width || f.Height != height {
		return fmt.Errorf("%w: frame is %dx%d, encoder is %dx%d (a size change needs a new Encoder)",
			ErrInvalidFrame, f.Width, f.Height, width, height)
	}
	ySize, cSize := width*height, (width/2)*(height/2)
	if len(f.Y) < ySize || len(f.U) < cSize || len(f.V) < cSize {
		return fmt.Errorf("%w: %dx%d planes too short: Y %d (need %d), U %d, V %d (need %d)",
			ErrInvalidFrame, width, height, len(f.Y), ySize, len(f.U), len(f.V), cSize)
	}
	return nil
}

// Encoder encodes a sequence of same-size frames into H.264.
//
// All methods are safe for concurrent use; Encode calls are serialised.
type Encoder interface {
	// Encode encodes one frame and returns its access unit. The frame's
	// planes are only read during the call. A frame of the wrong size or
	// with short planes returns an error wrapping ErrInvalidFrame and leaves
	// the encoder usable.
	Encode(f *render.Frame) (AccessUnit, error)
	// Close releases the codec. It is idempotent; using the Encoder
	// afterwards returns errors wrapping ErrClosed.
	Close() error
}

// KeyFrameController is implemented by Encoders that can make a key frame
// on demand (every back-end of this project does). ForceKeyFrame never
// blocks, so it may be called from an RTCP (PLI/FIR) handler while an
// Encode is running.
type KeyFrameController interface {
	// ForceKeyFrame makes the next successfully encoded frame an IDR
	// picture with SPS and PPS.
	ForceKeyFrame()
}

// TimedEncoder is implemented by Encoders that can be told when each frame
// was made, so that their rate control budgets bits by the real time
// between frames instead of by Config.FPS: a frame is given BitRate × its
// duration (the time since the frame before), so an encoder fed more
// slowly than Config.FPS (a session's first second, a CPU-starved node
// whose frame loop skips ticks) still aims at BitRate, where Encode aims
// at BitRate × (actual frame rate ÷ FPS). The cap on a frame's size does
// not grow with a gap: the x264 back-end's VBV buffer stays two nominal
// frame intervals (2 × BitRate/FPS) whatever the time since the last
// frame, so a frame after a long gap is no larger than any other, a frame
// is budgeted at most two nominal intervals, and at frame rates under FPS
// the tighter buffer (against the real interval) makes x264 undershoot
// more than at FPS (encoder/x264's documentation has the figures).
//
// encoder/x264 implements it; encoder/openh264 does not (its rate control
// budgets by Config.FPS alone), nor need a back-end: callers find it by
// type assertion and fall back to Encode.
type TimedEncoder interface {
	// EncodeAt is Encode for a frame made at time at, on any monotonic
	// clock of the caller's (for example the time since the session
	// began); the first call only sets the origin, and Encode between
	// EncodeAt calls counts as a frame one nominal interval (1/FPS) after
	// the one before. at should increase from call to call: a frame whose
	// at is not after the previous frame's is encoded as if it came one
	// nominal interval later, and the next frame's duration is measured
	// from its at (a clock that went back starts afresh). Errors are
	// those of Encode.
	EncodeAt(f *render.Frame, at time.Duration) (AccessUnit, error)
}

// BitRateController is implemented by Encoders whose target bit rate can
// change between frames without re-initialising the codec, as congestion
// control needs.
type BitRateController interface {
	// SetBitRate changes the target bit rate (bits per second) from the
	// next frame on. A rate that is not positive returns an error wrapping
	// ErrInvalidConfig; after Close, one wrapping ErrClosed.
	SetBitRate(bps int) error
}

// Factory is a named way to make Encoders: what a node is given to build
// each session's encoder.
type Factory struct {
	// Name identifies the back-end ("x264", "openh264", "fake"); sessions
	// report it to clients.
	Name string
	// New makes an Encoder for a Config.
	New func(Config) (Encoder, error)
}
