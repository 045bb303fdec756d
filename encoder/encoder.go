// Package encoder turns rendered I420 frames (render.Frame) into H.264
// access units in Annex-B form, ready for an RTP H.264 packetizer such as
// the one pion/webrtc uses for a TrackLocalStaticSample.
//
// Two back-ends exist, both driven through pion/mediadevices' codec
// packages; exactly one is compiled in, chosen by build tag, because their
// C bridges define the same symbols and cannot be linked into one binary:
//
//   - x264 (default, no tag): libx264 through
//     github.com/pion/mediadevices/pkg/codec/x264. Needs libx264 and
//     pkg-config at build time.
//   - openh264 (build tag "openh264"): Cisco's OpenH264, statically linked
//     from the library bundled in github.com/pion/mediadevices/pkg/codec/openh264.
//
// Backend reports which one is in the binary.
//
// Both back-ends encode with no B-frames and no look-ahead, so every Encode
// returns the access unit of the frame just given (one frame in, one frame
// out, no reordering and no encoder delay). Key frames are IDR pictures that
// carry SPS and PPS in-band, so a receiver can join at any key frame.
// AccessUnit.KeyFrame is derived from the bitstream itself (package
// encoder/h264), not from the back-end's say-so.
//
// An Encoder is tied to one resolution: a change of frame size needs a new
// Encoder (Close the old one, New a new one; the first access unit of the new
// one is a key frame with fresh parameter sets).
//
// Back-end quirks this package handles (measured with libx264 0.164 and the
// OpenH264 library bundled with mediadevices v0.9.4):
//
//   - The mediadevices x264 wrapper always uses x264's "zerolatency" tune and
//     never sets the frame rate, so x264 assumes 25 fps: its ABR rate control
//     hands out bitrate/25 bits per frame, and the SPS VUI timing advertises
//     25 fps. The x264 back-end therefore passes BitRate*25/FPS to it (also in
//     SetBitRate) so that the stream comes out at the requested bits per
//     second when frames arrive at FPS. The VUI frame rate stays wrong; it is
//     irrelevant over RTP, where timestamps carry the timing.
//   - The x264 wrapper reads planes assuming Y stride = width and chroma
//     stride = width/2, exactly render.Frame's layout; Encode checks the
//     frame size and plane lengths first, since a mismatch would make
//     libx264 read out of bounds.
//   - x264 at preset "ultrafast" (the default) emits Constrained Baseline
//     (no CABAC, no 8x8 transform); from "superfast" up it emits High
//     profile, which browsers (Chromium) still decode but which does not
//     match a 42e01f (Constrained Baseline) SDP offer.
//   - The x264 wrapper's SetBitRate re-configures x264 with a VBV maximum of
//     the new rate plus 5 Mbit/s, i.e. after the first SetBitRate the VBV
//     cap is effectively loose and only the ABR target holds.
//   - libx264 logs its end-of-stream statistics ("x264 [info]: ...") to
//     stderr on Close; the wrapper offers no way to change its log level.
//   - OpenH264 with mediadevices' default parameters skips frames under rate
//     pressure and then returns 0-byte output. The openh264 back-end turns
//     frame skipping off (Params.EnableFrameSkip = false), so every Encode
//     yields a picture; should the library still return nothing for a
//     frame, Encode returns an AccessUnit with nil Data and a nil error
//     ("no frame this time"), which callers must simply not send, and a
//     pending ForceKeyFrame carries over to the next frame. The price of not
//     skipping: when the content cannot fit the rate even at OpenH264's
//     highest QP, the stream overshoots (measured: 1280x720 with heavy
//     per-pixel grain at 1 Mbit/s, 1.6× at 30 fps and 2.2× at 60 fps; with
//     moderate content it holds within about 0.85-1.25×). OpenH264 itself
//     warns about this on stderr at New ("bitrate can't be controlled ...
//     without enabling skip frame"); for an interactive VR stream a late
//     frame is better than a skipped one, and SetBitRate remains the lever.
//   - OpenH264 gets the real frame rate, so it needs no bit-rate scaling.
//     It takes the key frame interval from Params.IntraPeriod (the wrapper
//     ignores BaseParams.KeyFrameInterval), cuts each picture into slices of
//     at most about 12800 bytes (mediadevices' default), ignores
//     Config.Preset, and its wrapper's SetBitRate ignores OpenH264's result
//     code, so a rejected rate change goes unnoticed.
//   - Both wrappers write their "force key frame" flag without a lock; this
//     package only calls it from Encode, under its own lock, right before
//     the back-end's Read, so Encoder.ForceKeyFrame is race-free.
//   - Levels are chosen by the libraries (for 1920x1080 at 72 fps x264 signals
//     4.0 and OpenH264 4.2; for 1280x720 3.1 and 3.2), which may
//     exceed the level in an SDP profile-level-id such as 42e01f (3.1);
//     browsers decode such streams regardless.
//
// mediadevices' encoders pull pictures from a video.Reader. This package
// hands each frame over synchronously: Encode points an image.YCbCr at the
// frame's planes (no copy) and the back-end's Read pulls exactly that one
// picture during the Encode call.
package encoder

import (
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
	"github.com/pion/mediadevices/pkg/codec"
)

// AccessUnit is one encoded frame.
type AccessUnit struct {
	// Data is the H.264 access unit in Annex-B form (each NAL unit preceded
	// by a start code), ready for an RTP H.264 packetizer. It is owned by
	// the caller. It may be nil with a nil error (see the package doc on
	// OpenH264), in which case there is nothing to send for this frame.
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
	// It drives the rate control: the bit budget per frame is BitRate/FPS.
	FPS int
	// BitRate is the target average bit rate in bits per second.
	BitRate int
	// KeyFrameInterval is the maximum distance between key frames in
	// frames; 0 means DefaultKeyFrameSeconds*FPS.
	KeyFrameInterval int
	// Preset is the x264 speed preset ("ultrafast", "superfast",
	// "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
	// "placebo"); "" means DefaultPreset. OpenH264 ignores it.
	Preset string
}

// DefaultPreset is the x264 preset used when Config.Preset is empty. It is
// the fastest one and the only one that yields Constrained Baseline output.
const DefaultPreset = "ultrafast"

// DefaultKeyFrameSeconds is the key frame interval, in seconds, used when
// Config.KeyFrameInterval is 0.
const DefaultKeyFrameSeconds = 2

// Encoder encodes a sequence of same-size frames into H.264.
//
// All methods are safe for concurrent use; Encode calls are serialised.
// ForceKeyFrame never blocks, so it may be called from an RTCP (PLI/FIR)
// handler while an Encode is running.
type Encoder interface {
	// Encode encodes one frame and returns its access unit. The frame's
	// planes are only read during the call. A frame of the wrong size or
	// with short planes returns an error wrapping ErrInvalidFrame and leaves
	// the encoder usable.
	Encode(f *render.Frame) (AccessUnit, error)
	// ForceKeyFrame makes the next successfully encoded frame an IDR
	// picture with SPS and PPS.
	ForceKeyFrame()
	// SetBitRate changes the target bit rate (bits per second) from the
	// next frame on. It returns an error wrapping ErrUnsupported if the
	// back-end cannot change it on the fly; both current back-ends can.
	// The x264 back-end applies the same 25 fps scaling as New; the x264
	// wrapper silently ignores a scaled rate under 2 kbit/s and, after the
	// first change, runs with a loose VBV cap (see the package doc).
	SetBitRate(bps int) error
	// Close releases the native encoder. It is idempotent; using the
	// Encoder afterwards returns errors wrapping ErrClosed.
	Close() error
}

// Backend names the H.264 back-end compiled into this binary: "x264" or
// "openh264".
func Backend() string { return backendName }

// New returns an Encoder for cfg using the compiled-in back-end (see
// Backend). Zero KeyFrameInterval and Preset take their defaults; the other
// fields must be positive, and Width and Height even.
func New(cfg Config) (Encoder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &mdEncoder{cfg: cfg}
	rc, err := newBackend(cfg, (*frameReader)(e))
	if err != nil {
		return nil, fmt.Errorf("encoder: new %s %dx%d@%d %d bps: %w",
			backendName, cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate, err)
	}
	e.rc = rc
	ctrl := rc.Controller()
	if kc, ok := ctrl.(codec.KeyFrameController); ok {
		e.kfc = kc
	}
	if bc, ok := ctrl.(codec.BitRateController); ok {
		e.brc = bc
	}
	return e, nil
}

func (c Config) withDefaults() (Config, error) {
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
	if _, ok := presetIndex(c.Preset); !ok {
		return c, fmt.Errorf("%w: unknown x264 preset %q", ErrInvalidConfig, c.Preset)
	}
	return c, nil
}

// presetNames are x264's presets, fastest first; the index is the value of
// mediadevices' x264.Preset.
var presetNames = []string{
	"ultrafast", "superfast", "veryfast", "faster", "fast",
	"medium", "slow", "slower", "veryslow", "placebo",
}

func presetIndex(name string) (int, bool) {
	for i, n := range presetNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// mdEncoder drives a mediadevices codec.ReadCloser one frame at a time.
type mdEncoder struct {
	cfg Config

	mu     sync.Mutex // serialises Encode, SetBitRate, Close
	rc     codec.ReadCloser
	kfc    codec.KeyFrameController
	brc    codec.BitRateController
	closed bool
	frames int

	// img is the picture the back-end's next Read returns; pending says
	// it has not been read yet. Both are only touched with mu held.
	img     image.YCbCr
	pending bool

	forceKey atomic.Bool
}

// frameReader is the video.Reader the back-end pulls from: it yields the
// frame set by the current Encode call, once.
type frameReader mdEncoder

// Read implements video.Reader. It runs inside the back-end's Read, which
// Encode calls with mu held.
func (r *frameReader) Read() (image.Image, func(), error) {
	if !r.pending {
		return nil, func() {}, fmt.Errorf("encoder: back-end read a frame outside Encode")
	}
	r.pending = false
	return &r.img, func() {}, nil
}

func (e *mdEncoder) checkFrame(f *render.Frame) error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrInvalidFrame)
	}
	w, h := e.cfg.Width, e.cfg.Height
	if f.Width != w || f.Height != h {
		return fmt.Errorf("%w: frame is %dx%d, encoder is %dx%d (a size change needs a new Encoder)",
			ErrInvalidFrame, f.Width, f.Height, w, h)
	}
	ySize, cSize := w*h, (w/2)*(h/2)
	if len(f.Y) < ySize || len(f.U) < cSize || len(f.V) < cSize {
		return fmt.Errorf("%w: %dx%d planes too short: Y %d (need %d), U %d, V %d (need %d)",
			ErrInvalidFrame, w, h, len(f.Y), ySize, len(f.U), len(f.V), cSize)
	}
	return nil
}

// Encode implements Encoder.
func (e *mdEncoder) Encode(f *render.Frame) (AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return AccessUnit{}, fmt.Errorf("encoder: encode: %w", ErrClosed)
	}
	if err := e.checkFrame(f); err != nil {
		return AccessUnit{}, fmt.Errorf("encoder: encode frame %d: %w", e.frames, err)
	}
	w, h := e.cfg.Width, e.cfg.Height
	cw, ch := w/2, h/2
	// Wrap the planes without copying; strides are the plane widths.
	e.img = image.YCbCr{
		Y:              f.Y[:w*h],
		Cb:             f.U[:cw*ch],
		Cr:             f.V[:cw*ch],
		YStride:        w,
		CStride:        cw,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, w, h),
	}
	e.pending = true
	defer func() {
		// Never keep a reference to the caller's planes past the call.
		e.img = image.YCbCr{}
		e.pending = false
	}()

	forced := e.forceKey.Swap(false)
	if forced && e.kfc != nil {
		if err := e.kfc.ForceKeyFrame(); err != nil {
			e.forceKey.Store(true)
			return AccessUnit{}, fmt.Errorf("encoder: %s: force key frame: %w", backendName, err)
		}
	}
	data, release, err := e.rc.Read()
	if release != nil {
		defer release()
	}
	if err != nil {
		if forced {
			e.forceKey.Store(true)
		}
		return AccessUnit{}, fmt.Errorf("encoder: %s: encode frame %d: %w: %w", backendName, e.frames, ErrEncode, err)
	}
	e.frames++
	// Both wrappers return a fresh Go copy (C.GoBytes) of the bitstream,
	// so data is ours to hand out.
	au := AccessUnit{Data: data, KeyFrame: h264.IsKeyFrame(data)}
	if forced && !au.KeyFrame {
		// The back-end produced no IDR (e.g. an empty output); try again
		// on the next frame.
		e.forceKey.Store(true)
	}
	if len(au.Data) == 0 {
		au.Data = nil
	}
	return au, nil
}

// ForceKeyFrame implements Encoder.
func (e *mdEncoder) ForceKeyFrame() { e.forceKey.Store(true) }

// SetBitRate implements Encoder.
func (e *mdEncoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("encoder: set bit rate %d: %w: must be positive", bps, ErrInvalidConfig)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("encoder: set bit rate: %w", ErrClosed)
	}
	if e.brc == nil {
		return fmt.Errorf("encoder: %s: set bit rate: %w: no bit-rate controller", backendName, ErrUnsupported)
	}
	if err := e.brc.SetBitRate(backendBitRate(e.cfg, bps)); err != nil {
		return fmt.Errorf("encoder: %s: set bit rate %d: %w", backendName, bps, err)
	}
	e.cfg.BitRate = bps
	return nil
}

// Close implements Encoder.
func (e *mdEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if err := e.rc.Close(); err != nil {
		return fmt.Errorf("encoder: %s: close: %w", backendName, err)
	}
	return nil
}
