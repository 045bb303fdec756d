// Package mdcodec drives a pion/mediadevices video codec one frame at a
// time behind the encoder.Encoder contract. It drives the openh264
// back-end (and, in encoder/x264's benchmarks, mediadevices' x264 wrapper
// that the project's own binding replaced) and is pure Go: a back-end
// hands it a function that builds its cgo codec.
//
// mediadevices' encoders pull pictures from a video.Reader. This package
// hands each frame over synchronously: Encode points an image.YCbCr at the
// frame's planes (no copy) and the codec's Read pulls exactly that one
// picture during the Encode call.
package mdcodec

import (
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
)

// Backend describes one mediadevices codec.
type Backend struct {
	// Name is the back-end's name, used in errors.
	Name string
	// Build builds the codec for cfg (defaults filled in), pulling pictures
	// from r.
	Build func(cfg encoder.Config, r video.Reader) (codec.ReadCloser, error)
	// BitRate converts a wanted bit rate at cfg.FPS into the value the
	// codec's SetBitRate takes; nil passes it through.
	BitRate func(cfg encoder.Config, bps int) int
}

// New returns an encoder.Encoder for cfg driven by b (nil, not a typed
// nil, on error), as the back-ends' New functions do.
func (b Backend) New(cfg encoder.Config) (encoder.Encoder, error) {
	e, err := New(b, cfg)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// New returns an Encoder for cfg driven by b.
func New(b Backend, cfg encoder.Config) (*Encoder, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("encoder: %s: %w", b.Name, err)
	}
	if b.BitRate == nil {
		b.BitRate = func(_ encoder.Config, bps int) int { return bps }
	}
	e := &Encoder{b: b, cfg: cfg}
	rc, err := b.Build(cfg, (*frameReader)(e))
	if err != nil {
		return nil, fmt.Errorf("encoder: new %s %dx%d@%d %d bps: %w",
			b.Name, cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate, err)
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

// Encoder drives a mediadevices codec.ReadCloser one frame at a time. It
// implements encoder.Encoder, encoder.KeyFrameController and
// encoder.BitRateController.
type Encoder struct {
	b   Backend
	cfg encoder.Config

	mu     sync.Mutex // serialises Encode, SetBitRate, Close
	rc     codec.ReadCloser
	kfc    codec.KeyFrameController
	brc    codec.BitRateController
	closed bool
	frames int

	// img is the picture the codec's next Read returns; pending says it
	// has not been read yet. Both are only touched with mu held.
	img     image.YCbCr
	pending bool

	// forceKey is set by ForceKeyFrame without the lock. Both mediadevices
	// wrappers write their own "force key frame" flag without a lock, so
	// it is only handed to them inside Encode, under mu, right before Read.
	forceKey atomic.Bool
}

var (
	_ encoder.Encoder            = (*Encoder)(nil)
	_ encoder.KeyFrameController = (*Encoder)(nil)
	_ encoder.BitRateController  = (*Encoder)(nil)
)

// frameReader is the video.Reader the codec pulls from: it yields the frame
// set by the current Encode call, once.
type frameReader Encoder

// Read implements video.Reader. It runs inside the codec's Read, which
// Encode calls with mu held.
func (r *frameReader) Read() (image.Image, func(), error) {
	if !r.pending {
		return nil, func() {}, fmt.Errorf("encoder: %s read a frame outside Encode", r.b.Name)
	}
	r.pending = false
	return &r.img, func() {}, nil
}

// Encode implements encoder.Encoder.
func (e *Encoder) Encode(f *render.Frame) (encoder.AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return encoder.AccessUnit{}, fmt.Errorf("encoder: %s: encode: %w", e.b.Name, encoder.ErrClosed)
	}
	if err := encoder.CheckFrame(f, e.cfg.Width, e.cfg.Height); err != nil {
		return encoder.AccessUnit{}, fmt.Errorf("encoder: %s: encode frame %d: %w", e.b.Name, e.frames, err)
	}
	e.setPicture(f)
	defer func() {
		// Never keep a reference to the caller's planes past the call.
		e.img = image.YCbCr{}
		e.pending = false
	}()

	forced := e.forceKey.Swap(false)
	if forced && e.kfc != nil {
		if err := e.kfc.ForceKeyFrame(); err != nil {
			e.forceKey.Store(true)
			return encoder.AccessUnit{}, fmt.Errorf("encoder: %s: force key frame: %w", e.b.Name, err)
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
		return encoder.AccessUnit{}, fmt.Errorf("encoder: %s: encode frame %d: %w: %w", e.b.Name, e.frames, encoder.ErrEncode, err)
	}
	e.frames++
	// Both wrappers return a fresh Go copy (C.GoBytes) of the bitstream,
	// so data is ours to hand out.
	au := encoder.AccessUnit{Data: data, KeyFrame: h264.IsKeyFrame(data)}
	if forced && !au.KeyFrame {
		// The codec produced no IDR (e.g. an empty output); try again on
		// the next frame.
		e.forceKey.Store(true)
	}
	if len(au.Data) == 0 {
		au.Data = nil
	}
	return au, nil
}

// setPicture points the picture the codec will read at f's planes, without
// copying; strides are the plane widths.
func (e *Encoder) setPicture(f *render.Frame) {
	w, h := e.cfg.Width, e.cfg.Height
	cw, ch := w/2, h/2
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
}

// ForceKeyFrame implements encoder.KeyFrameController.
func (e *Encoder) ForceKeyFrame() { e.forceKey.Store(true) }

// SetBitRate implements encoder.BitRateController.
func (e *Encoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("encoder: %s: set bit rate %d: %w: must be positive", e.b.Name, bps, encoder.ErrInvalidConfig)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("encoder: %s: set bit rate: %w", e.b.Name, encoder.ErrClosed)
	}
	if e.brc == nil {
		return fmt.Errorf("encoder: %s: set bit rate: %w: no bit-rate controller", e.b.Name, encoder.ErrUnsupported)
	}
	if err := e.brc.SetBitRate(e.b.BitRate(e.cfg, bps)); err != nil {
		return fmt.Errorf("encoder: %s: set bit rate %d: %w", e.b.Name, bps, err)
	}
	e.cfg.BitRate = bps
	return nil
}

// Close implements encoder.Encoder.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if err := e.rc.Close(); err != nil {
		return fmt.Errorf("encoder: %s: close: %w", e.b.Name, err)
	}
	return nil
}
