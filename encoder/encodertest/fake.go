package encodertest

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/render"
)

// FakeName is the Name of FakeFactory.
const FakeName = "fake"

// FakeFactory makes Fake encoders.
var FakeFactory = encoder.Factory{Name: FakeName, New: func(cfg encoder.Config) (encoder.Encoder, error) {
	f, err := NewFake(cfg)
	if err != nil {
		return nil, err
	}
	return f, nil
}}

// Fake is a pure-Go stand-in for an H.264 encoder. It honours the whole
// encoder contract except that its pictures are not decodable: every access
// unit is well-formed Annex-B whose NAL unit types are right (SPS, PPS and
// IDR for a key frame, a non-IDR slice otherwise), so packetisers,
// depacketisers and key-frame detection (proto/wire/h264) see what a real
// stream gives them. Each access unit is as large as the bit budget of a
// frame (BitRate/FPS; four times that for key frames), so that bit-rate
// control is observable, but never more than a real codec would spend on
// so many pixels (half a bit per pixel, two for key frames), and carries
// the frame's sequence number and the
// first luma byte of the picture, so that a receiver can tell frames apart.
//
// Fake implements encoder.Encoder, encoder.KeyFrameController,
// encoder.BitRateController and encoder.TimedEncoder, and records what it
// was asked to do. EncodeAt records the frame's time and encodes as Encode
// does: the Fake's sizes follow BitRate/FPS, not the frames' times.
type Fake struct {
	mu       sync.Mutex
	cfg      encoder.Config
	closed   bool
	frames   int
	sinceKey int
	force    bool
	stats    FakeStats
}

// FakeStats is what a Fake has done so far.
type FakeStats struct {
	// Frames and KeyFrames count encoded access units.
	Frames, KeyFrames int
	// Forced counts ForceKeyFrame calls.
	Forced int
	// BitRates lists every rate passed to SetBitRate that was accepted.
	BitRates []int
	// Bytes is the total size of the access units.
	Bytes int
	// Timed counts the frames encoded with EncodeAt, and LastAt is the
	// time given with the last of them.
	Timed  int
	LastAt time.Duration
}

var (
	_ encoder.Encoder            = (*Fake)(nil)
	_ encoder.KeyFrameController = (*Fake)(nil)
	_ encoder.BitRateController  = (*Fake)(nil)
	_ encoder.TimedEncoder       = (*Fake)(nil)
)

// NewFake returns a Fake for cfg, validated and defaulted as every back-end
// does.
func NewFake(cfg encoder.Config) (*Fake, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("encoder: fake: %w", err)
	}
	return &Fake{cfg: cfg}, nil
}

// Config returns the encoder's current configuration (BitRate follows
// SetBitRate).
func (f *Fake) Config() encoder.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Stats returns a copy of what the Fake has done.
func (f *Fake) Stats() FakeStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.stats
	s.BitRates = append([]int(nil), s.BitRates...)
	return s
}

// Encode implements encoder.Encoder.
func (f *Fake) Encode(fr *render.Frame) (encoder.AccessUnit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.encode(fr)
}

// EncodeAt implements encoder.TimedEncoder: it records at and encodes fr
// as Encode does.
func (f *Fake) EncodeAt(fr *render.Frame, at time.Duration) (encoder.AccessUnit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	au, err := f.encode(fr)
	if err == nil {
		f.stats.Timed++
		f.stats.LastAt = at
	}
	return au, err
}

// encode is Encode with f.mu held.
func (f *Fake) encode(fr *render.Frame) (encoder.AccessUnit, error) {
	if f.closed {
		return encoder.AccessUnit{}, fmt.Errorf("encoder: fake: encode: %w", encoder.ErrClosed)
	}
	if err := encoder.CheckFrame(fr, f.cfg.Width, f.cfg.Height); err != nil {
		return encoder.AccessUnit{}, fmt.Errorf("encoder: fake: encode frame %d: %w", f.frames, err)
	}
	key := f.frames == 0 || f.force || f.sinceKey >= f.cfg.KeyFrameInterval
	f.force = false
	pixels := f.cfg.Width * f.cfg.Height
	budget := max(min(f.cfg.BitRate/f.cfg.FPS/8, pixels/16), 16)
	var au []byte
	if key {
		f.sinceKey = 0
		au = appendNAL(au, 0x67, 8, uint32(f.frames), fr.Y[0])                                // SPS
		au = appendNAL(au, 0x68, 4, uint32(f.frames), fr.Y[0])                                // PPS
		au = appendNAL(au, 0x65, max(min(4*budget, pixels/4), 16), uint32(f.frames), fr.Y[0]) // IDR slice
		f.stats.KeyFrames++
	} else {
		au = appendNAL(au, 0x41, budget, uint32(f.frames), fr.Y[0]) // non-IDR slice
	}
	f.sinceKey++
	f.frames++
	f.stats.Frames++
	f.stats.Bytes += len(au)
	return encoder.AccessUnit{Data: au, KeyFrame: key}, nil
}

// appendNAL appends a start code and a NAL unit of about size bytes with
// the given header byte, carrying seq and luma, and no zero bytes in its
// payload (so no start-code emulation).
func appendNAL(b []byte, header byte, size int, seq uint32, luma byte) []byte {
	b = append(b, 0, 0, 0, 1, header)
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], seq)
	for _, v := range p {
		b = append(b, v|0x80) // never zero
	}
	b = append(b, luma|0x01)
	for i := 6; i < size; i++ {
		b = append(b, byte(0x55+i%64))
	}
	return b
}

// ForceKeyFrame implements encoder.KeyFrameController.
func (f *Fake) ForceKeyFrame() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.force = true
	f.stats.Forced++
}

// SetBitRate implements encoder.BitRateController.
func (f *Fake) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("encoder: fake: set bit rate %d: %w: must be positive", bps, encoder.ErrInvalidConfig)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("encoder: fake: set bit rate: %w", encoder.ErrClosed)
	}
	f.cfg.BitRate = bps
	f.stats.BitRates = append(f.stats.BitRates, bps)
	return nil
}

// Close implements encoder.Encoder.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}
