//go:build cgo

package x264

/*
#cgo pkg-config: x264
#include <stdint.h>
#include <stdlib.h>
#include <x264.h>

// Every C name of this file starts with holocast_x264_, and the functions
// are static, so they cannot clash with another C bridge linked into the
// same binary (pion/mediadevices' bridges define enc_new, enc_encode...).

typedef struct {
	x264_t *h;
	int width;
	int64_t pts;
} holocast_x264_enc;

enum {
	holocast_x264_err_preset = -1,
	holocast_x264_err_profile = -2,
	holocast_x264_err_open = -3,
	holocast_x264_err_delay = -4,
	holocast_x264_err_alloc = -5,
};

// holocast_x264_open opens an encoder; on failure it returns NULL and sets
// *err to one of the holocast_x264_err_ codes.
static holocast_x264_enc *holocast_x264_open(int width, int height, int fps,
		int kbps, int vbv_kbit, int refresh, const char *preset, int *err) {
	x264_param_t p;
	if (x264_param_default_preset(&p, preset, "zerolatency") < 0) {
		*err = holocast_x264_err_preset;
		return NULL;
	}
	p.i_log_level = X264_LOG_ERROR;
	p.i_csp = X264_CSP_I420;
	p.i_width = width;
	p.i_height = height;
	p.i_fps_num = fps;
	p.i_fps_den = 1;
	p.i_timebase_num = 1;
	p.i_timebase_den = fps;
	p.b_vfr_input = 0;

	// One frame in, one access unit out.
	p.i_bframe = 0;
	p.rc.i_lookahead = 0;
	p.i_sync_lookahead = 0;
	p.rc.b_mb_tree = 0;

	// Periodic intra refresh instead of periodic IDRs: a column of intra
	// macroblocks sweeps the picture once every refresh frames; IDRs only
	// when asked for (X264_TYPE_IDR) and on the first frame.
	p.b_intra_refresh = 1;
	p.i_keyint_max = refresh;
	p.i_scenecut_threshold = 0;
	p.i_frame_reference = 1;

	// Average bit rate with a VBV cap of the same rate and a small buffer.
	p.rc.i_rc_method = X264_RC_ABR;
	p.rc.i_bitrate = kbps;
	p.rc.i_vbv_max_bitrate = kbps;
	p.rc.i_vbv_buffer_size = vbv_kbit;
	p.rc.f_vbv_buffer_init = 0.9f;

	// Annex-B, SPS and PPS in front of every key frame.
	p.b_repeat_headers = 1;
	p.b_annexb = 1;
	p.b_aud = 0;

	if (x264_param_apply_profile(&p, "baseline") < 0) {
		*err = holocast_x264_err_profile;
		return NULL;
	}
	holocast_x264_enc *e = calloc(1, sizeof *e);
	if (e == NULL) {
		*err = holocast_x264_err_alloc;
		return NULL;
	}
	e->h = x264_encoder_open(&p);
	if (e->h == NULL) {
		free(e);
		*err = holocast_x264_err_open;
		return NULL;
	}
	if (x264_encoder_maximum_delayed_frames(e->h) != 0) {
		x264_encoder_close(e->h);
		free(e);
		*err = holocast_x264_err_delay;
		return NULL;
	}
	e->width = width;
	return e;
}

// holocast_x264_set_rate changes the ABR target and the VBV cap (the VBV
// maximum rate is the target); x264 applies them to the next frame
// encoded, without a new IDR.
static int holocast_x264_set_rate(holocast_x264_enc *e, int kbps, int vbv_kbit) {
	x264_param_t p;
	x264_encoder_parameters(e->h, &p);
	p.rc.i_bitrate = kbps;
	p.rc.i_vbv_max_bitrate = kbps;
	p.rc.i_vbv_buffer_size = vbv_kbit;
	return x264_encoder_reconfig(e->h, &p);
}

// holocast_x264_encode encodes one I420 picture whose planes (strides
// width and width/2) are only read during the call: x264 copies them into
// its own frame, and the picture pointing at them lives on this stack. It
// returns the size of the access unit, whose bytes start at *out and stay
// valid until the next call, 0 for no output, or a negative value on error.
static int holocast_x264_encode(holocast_x264_enc *e, uint8_t *y, uint8_t *u,
		uint8_t *v, int idr, uint8_t **out) {
	x264_picture_t in, pic_out;
	x264_nal_t *nal = NULL;
	int n = 0;
	x264_picture_init(&in);
	in.img.i_csp = X264_CSP_I420;
	in.img.i_plane = 3;
	in.img.plane[0] = y;
	in.img.plane[1] = u;
	in.img.plane[2] = v;
	in.img.i_stride[0] = e->width;
	in.img.i_stride[1] = e->width / 2;
	in.img.i_stride[2] = e->width / 2;
	in.i_type = idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	in.i_pts = e->pts++;
	int size = x264_encoder_encode(e->h, &nal, &n, &in, &pic_out);
	if (size > 0 && n > 0) {
		*out = nal[0].p_payload; // the NAL units are contiguous
	} else if (size > 0) {
		size = 0;
	}
	return size;
}

static void holocast_x264_close(holocast_x264_enc *e) {
	x264_encoder_close(e->h);
	free(e);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
)

// Name is this back-end's name.
const Name = "x264"

// Factory makes x264 Encoders.
var Factory = encoder.Factory{Name: Name, New: New}

// MaxBitRate is the highest bit rate, in bits per second, New and
// SetBitRate accept (x264 takes rates in kbit/s as a C int; this is far
// above any H.264 level's limit).
const MaxBitRate = 1_000_000_000

// MaxFPS is the highest frame rate New accepts.
const MaxFPS = 1000

// VBVFrames is the size of the VBV buffer in frame intervals at the target
// rate: no access unit can be bigger than this many frame intervals' worth
// of bits, so none takes more than this many frame intervals of link time
// at the target rate (see the package documentation).
const VBVFrames = 2

// MinDurationFrames is the shortest duration EncodeAt budgets a frame
// for, in nominal frame intervals (1/FPS): a frame that comes sooner after
// the one before is given a quarter interval's bits, not almost none.
const MinDurationFrames = 0.25

// rateKbit is bps in x264's unit (kbit/s), at least 1.
func rateKbit(bps int) int { return max(1, (bps+500)/1000) }

// vbvKbit is the VBV buffer size in kbit for bps at fps: VBVFrames frame
// intervals' worth of bits, rounded down, and at least one kbit.
func vbvKbit(bps, fps int) int {
	return max(1, int(int64(rateKbit(bps))*VBVFrames/int64(fps)))
}

// frameKbit is the ABR target (and VBV maximum rate), in kbit/s, that
// makes x264, which budgets a frame one nominal interval (1/fps) of its
// rate, budget bps × a frame of scale nominal intervals instead. It is at
// most fps × vbvKbit(bps, fps): x264 enlarges a VBV buffer smaller than
// one frame of its rate, and the buffer must stay VBVFrames nominal
// intervals.
func frameKbit(bps, fps int, scale float64) int {
	return min(rateKbit(int(float64(bps)*scale+0.5)), fps*vbvKbit(bps, fps))
}

// Encoder is an x264 encoder. It implements encoder.Encoder,
// encoder.KeyFrameController, encoder.BitRateController and
// encoder.TimedEncoder; all its methods are safe for concurrent use, and
// ForceKeyFrame and SetBitRate never wait for an Encode in progress.
type Encoder struct {
	cfg encoder.Config // as validated by New; BitRate is the initial rate

	mu      sync.Mutex // serialises Encode, EncodeAt and Close
	c       *C.holocast_x264_enc
	frames  int
	rate    int // the bit rate asked for, as BitRate reports it
	kbps    int // the ABR target x264 is configured with (rate × the frame's duration scale)
	vbv     int // the VBV buffer x264 is configured with, in kbit
	cleanup runtime.Cleanup
	// last is the time of the last frame encoded on EncodeAt's clock
	// (Encode advances it by one nominal interval); timed says there is one.
	last  time.Duration
	timed bool

	closed   atomic.Bool
	forceKey atomic.Bool
	// pendingRate is a bit rate set by SetBitRate and not yet handed to
	// x264 (0: none); Encode applies it before the next frame.
	pendingRate atomic.Int64
}

var (
	_ encoder.Encoder            = (*Encoder)(nil)
	_ encoder.KeyFrameController = (*Encoder)(nil)
	_ encoder.BitRateController  = (*Encoder)(nil)
	_ encoder.TimedEncoder       = (*Encoder)(nil)
)

// New returns an x264 Encoder for cfg. Zero KeyFrameInterval and Preset
// take their defaults; the other fields must be positive, Width and Height
// even, BitRate at most MaxBitRate and FPS at most MaxFPS.
// KeyFrameInterval is the period of the intra refresh, in frames (see the
// package documentation): the only IDR pictures are the first frame and
// those asked for with ForceKeyFrame.
func New(cfg encoder.Config) (encoder.Encoder, error) {
	e, err := NewEncoder(cfg)
	if err != nil {
		return nil, err // a nil interface, not a typed nil
	}
	return e, nil
}

// NewEncoder is New returning the concrete type.
func NewEncoder(cfg encoder.Config) (*Encoder, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("encoder: x264: %w", err)
	}
	switch {
	case cfg.BitRate > MaxBitRate:
		return nil, fmt.Errorf("encoder: x264: %w: BitRate %d above %d", encoder.ErrInvalidConfig, cfg.BitRate, MaxBitRate)
	case cfg.FPS > MaxFPS:
		return nil, fmt.Errorf("encoder: x264: %w: FPS %d above %d", encoder.ErrInvalidConfig, cfg.FPS, MaxFPS)
	case cfg.Width > 1<<14 || cfg.Height > 1<<14:
		return nil, fmt.Errorf("encoder: x264: %w: size %dx%d above 16384", encoder.ErrInvalidConfig, cfg.Width, cfg.Height)
	}
	preset := C.CString(cfg.Preset)
	defer C.free(unsafe.Pointer(preset))
	var cerr C.int
	c := C.holocast_x264_open(C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.FPS),
		C.int(rateKbit(cfg.BitRate)), C.int(vbvKbit(cfg.BitRate, cfg.FPS)),
		C.int(cfg.KeyFrameInterval), preset, &cerr)
	if c == nil {
		return nil, fmt.Errorf("encoder: x264: new %dx%d@%d %d bps preset %s: %w",
			cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate, cfg.Preset, openError(cerr))
	}
	e := &Encoder{cfg: cfg, c: c, rate: cfg.BitRate,
		kbps: rateKbit(cfg.BitRate), vbv: vbvKbit(cfg.BitRate, cfg.FPS)}
	// A safety net for an Encoder dropped without Close; Close cancels it.
	e.cleanup = runtime.AddCleanup(e, func(c *C.holocast_x264_enc) { C.holocast_x264_close(c) }, c)
	return e, nil
}

func openError(code C.int) error {
	switch code {
	case C.holocast_x264_err_preset:
		return fmt.Errorf("%w: x264 rejected the preset", encoder.ErrInvalidConfig)
	case C.holocast_x264_err_profile:
		return fmt.Errorf("%w: x264 cannot apply the baseline profile", encoder.ErrInvalidConfig)
	case C.holocast_x264_err_delay:
		return fmt.Errorf("%w: x264 would delay frames", encoder.ErrUnsupported)
	case C.holocast_x264_err_alloc:
		return fmt.Errorf("%w: out of memory", encoder.ErrEncode)
	default:
		return fmt.Errorf("%w: x264_encoder_open failed (size or parameters out of x264's range)", encoder.ErrInvalidConfig)
	}
}

// Encode implements encoder.Encoder: the frame is budgeted one nominal
// interval (BitRate/FPS). A pending SetBitRate and ForceKeyFrame take
// effect with this frame.
func (e *Encoder) Encode(f *render.Frame) (encoder.AccessUnit, error) {
	return e.encode(f, 0, false)
}

// EncodeAt implements encoder.TimedEncoder: the frame is budgeted BitRate
// × its duration, the time since the frame before, between
// MinDurationFrames and VBVFrames nominal intervals (the VBV buffer, which
// caps every frame, stays VBVFrames nominal intervals). A pending
// SetBitRate and ForceKeyFrame take effect with this frame.
//
// x264's own VFR mode (b_vfr_input, timestamps for rate control) is not
// used: it takes a frame's duration from the next frame's timestamp, so
// it holds every frame back until the next one comes (one frame of
// delay). Instead the rate x264 is configured with is scaled by the
// frame's duration over one nominal interval, through
// x264_encoder_reconfig before the frame, as SetBitRate does: x264's
// ABR window and VBV fill then grow by BitRate × the frame's duration.
func (e *Encoder) EncodeAt(f *render.Frame, at time.Duration) (encoder.AccessUnit, error) {
	return e.encode(f, at, true)
}

// encode is Encode (timed false) and EncodeAt.
func (e *Encoder) encode(f *render.Frame, at time.Duration, timed bool) (encoder.AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return encoder.AccessUnit{}, fmt.Errorf("encoder: x264: encode: %w", encoder.ErrClosed)
	}
	if err := encoder.CheckFrame(f, e.cfg.Width, e.cfg.Height); err != nil {
		return encoder.AccessUnit{}, fmt.Errorf("encoder: x264: encode frame %d: %w", e.frames, err)
	}
	interval := time.Second / time.Duration(e.cfg.FPS)
	scale, next := 1.0, e.last+interval // Encode: one nominal interval
	if timed {
		next = at
		if e.timed && at > e.last {
			scale = min(max(float64(at-e.last)/float64(interval), MinDurationFrames), VBVFrames)
		}
	}
	bps := e.rate
	if p := int(e.pendingRate.Swap(0)); p > 0 {
		bps = p
	}
	if kbps, vbv := frameKbit(bps, e.cfg.FPS, scale), vbvKbit(bps, e.cfg.FPS); kbps != e.kbps || vbv != e.vbv {
		if rc := C.holocast_x264_set_rate(e.c, C.int(kbps), C.int(vbv)); rc < 0 {
			if bps != e.rate {
				e.pendingRate.CompareAndSwap(0, int64(bps)) // try again with the next frame
			}
			return encoder.AccessUnit{}, fmt.Errorf("encoder: x264: frame %d: reconfigure to %d bps (%d kbit/s for a frame of %.2f intervals): %w: x264_encoder_reconfig returned %d",
				e.frames, bps, kbps, scale, encoder.ErrEncode, rc)
		}
		e.kbps, e.vbv = kbps, vbv
	}
	e.rate = bps
	forced := e.forceKey.Swap(false)
	var out *C.uint8_t
	// The planes are Go memory without pointers, read only during the
	// call (cgo's pointer rules); CheckFrame made sure they are long
	// enough for x264's reads.
	n := C.holocast_x264_encode(e.c,
		(*C.uint8_t)(unsafe.Pointer(&f.Y[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.U[0])),
		(*C.uint8_t)(unsafe.Pointer(&f.V[0])),
		cbool(forced), &out)
	if n < 0 {
		if forced {
			e.forceKey.Store(true)
		}
		return encoder.AccessUnit{}, fmt.Errorf("encoder: x264: encode frame %d: %w: x264_encoder_encode returned %d", e.frames, encoder.ErrEncode, n)
	}
	e.frames++
	e.last, e.timed = next, e.timed || timed
	if n == 0 {
		if forced {
			e.forceKey.Store(true) // no picture came out; key frame on the next one
		}
		return encoder.AccessUnit{}, nil
	}
	data := C.GoBytes(unsafe.Pointer(out), n)
	au := encoder.AccessUnit{Data: data, KeyFrame: h264.IsKeyFrame(data)}
	if forced && !au.KeyFrame {
		e.forceKey.Store(true)
	}
	return au, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// ForceKeyFrame implements encoder.KeyFrameController: the next frame
// encoded is an IDR picture with SPS and PPS. It never blocks.
func (e *Encoder) ForceKeyFrame() { e.forceKey.Store(true) }

// SetBitRate implements encoder.BitRateController. The new ABR target and
// its VBV cap (see VBVFrames) are handed to x264 by the next Encode,
// through x264_encoder_reconfig: no re-initialisation and no IDR. It never
// waits for an Encode in progress; of several calls between two frames the
// last one wins.
func (e *Encoder) SetBitRate(bps int) error {
	if bps <= 0 || bps > MaxBitRate {
		return fmt.Errorf("encoder: x264: set bit rate %d: %w: must be in 1..%d", bps, encoder.ErrInvalidConfig, MaxBitRate)
	}
	if e.closed.Load() {
		return fmt.Errorf("encoder: x264: set bit rate: %w", encoder.ErrClosed)
	}
	e.pendingRate.Store(int64(bps))
	return nil
}

// BitRate returns the bit rate x264 is configured with: the last rate
// given to SetBitRate once a frame has been encoded since.
func (e *Encoder) BitRate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rate
}

// Close implements encoder.Encoder: it waits for an Encode in progress and
// frees the codec. It is idempotent.
func (e *Encoder) Close() error {
	e.closed.Store(true)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return nil
	}
	e.cleanup.Stop()
	C.holocast_x264_close(e.c)
	e.c = nil
	return nil
}
