package encodertest

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
)

// Backend is an encoder back-end under test.
type Backend struct {
	// Factory makes the back-end's Encoders.
	Factory encoder.Factory
	// Decodable says the back-end is a real codec: its streams are decoded
	// with ffmpeg and checked with ffprobe (skipped where those are not
	// installed).
	Decodable bool
	// IntraRefresh says the back-end refreshes the picture with periodic
	// intra refresh instead of periodic IDR pictures: Config.KeyFrameInterval
	// is the refresh period, the only IDRs are the first frame and forced
	// ones, and each refresh wave starts at a frame with SPS, PPS and a
	// recovery point SEI (see HasRecoveryPoint).
	IntraRefresh bool
}

// Run is the conformance suite of the encoder contract: every back-end
// passes it. It checks that the first access unit is a key frame with
// parameter sets and that KeyFrame agrees with the bitstream, key frames on
// demand and at the configured interval (IDRs, or with IntraRefresh the
// starts of the refresh waves), the bit rate and its change on the
// fly, that bad frames are refused without harm, Close, and config
// validation, and for a back-end that implements encoder.TimedEncoder,
// EncodeAt with times that go forward, repeat and go back. Back-ends must
// implement encoder.KeyFrameController and encoder.BitRateController.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Backend)
	}{
		{"EncodeDecodes", testEncodeDecodes},
		{"ForceKeyFrame", testForceKeyFrame},
		{"KeyFrameInterval", testKeyFrameInterval},
		{"BitRate", testBitRate},
		{"SetBitRate", testSetBitRate},
		{"BadFrames", testBadFrames},
		{"EncodeAt", testEncodeAt},
		{"Close", testClose},
		{"NewInvalidConfig", testNewInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, b) })
	}
}

// mustNew makes an Encoder that is closed when the test ends.
func (b Backend) mustNew(t testing.TB, cfg encoder.Config) encoder.Encoder {
	t.Helper()
	enc, err := b.Factory.New(cfg)
	if err != nil {
		t.Fatalf("%s: New(%+v): %v", b.Factory.Name, cfg, err)
	}
	t.Cleanup(func() {
		if err := enc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return enc
}

func keyFrames(t testing.TB, enc encoder.Encoder) encoder.KeyFrameController {
	t.Helper()
	return ability[encoder.KeyFrameController](t, enc)
}

func bitRates(t testing.TB, enc encoder.Encoder) encoder.BitRateController {
	t.Helper()
	return ability[encoder.BitRateController](t, enc)
}

// ability returns enc's optional ability T, failing the test without it.
func ability[T any](t testing.TB, enc encoder.Encoder) T {
	t.Helper()
	a, ok := enc.(T)
	if !ok {
		var zero T
		t.Fatalf("%T does not implement %T", enc, &zero)
	}
	return a
}

// EncodeScene encodes n frames of a moving scene and returns the access
// units.
func EncodeScene(t testing.TB, enc encoder.Encoder, s *MovingScene, n int) []encoder.AccessUnit {
	t.Helper()
	f := NewFrame(s.w, s.h)
	aus := make([]encoder.AccessUnit, 0, n)
	for i := 0; i < n; i++ {
		s.Draw(f, i)
		au, err := enc.Encode(f)
		if err != nil {
			t.Fatalf("Encode frame %d: %v", i, err)
		}
		aus = append(aus, au)
	}
	return aus
}

// SizeName formats a frame size as WxH (for subtest names).
func SizeName(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }

// testEncodeDecodes encodes moving content, checks the access units and,
// for a real codec, has ffmpeg decode them.
func testEncodeDecodes(t *testing.T, b Backend) {
	if b.Decodable {
		NeedFFmpeg(t)
	}
	for _, sz := range []struct{ w, h int }{{640, 360}, {1280, 720}} {
		t.Run(SizeName(sz.w, sz.h), func(t *testing.T) {
			const n = 60
			enc := b.mustNew(t, encoder.Config{Width: sz.w, Height: sz.h, FPS: 30, BitRate: 2_000_000})
			aus := EncodeScene(t, enc, NewMovingScene(sz.w, sz.h, 2, 6), n)

			first := aus[0]
			if !first.KeyFrame || !h264.HasParameterSets(first.Data) {
				t.Fatalf("first AU: KeyFrame=%v, NAL types %v; want SPS+PPS+IDR", first.KeyFrame, h264.Types(first.Data))
			}
			for i, au := range aus {
				if len(au.Data) == 0 {
					t.Fatalf("AU %d is empty", i)
				}
				if au.KeyFrame != h264.IsKeyFrame(au.Data) {
					t.Fatalf("AU %d: KeyFrame=%v disagrees with bitstream", i, au.KeyFrame)
				}
				if i > 0 && au.KeyFrame {
					t.Errorf("AU %d is a key frame, want only the first within the 2 s interval", i)
				}
			}

			if !b.Decodable {
				return
			}
			ps := DecodesAll(t, aus, n)
			if ps.CodecName != "h264" || ps.Width != sz.w || ps.Height != sz.h {
				t.Errorf("ffprobe: codec %q %dx%d, want h264 %dx%d", ps.CodecName, ps.Width, ps.Height, sz.w, sz.h)
			}
			t.Logf("%s: %d frames, profile %q, first AU %v", b.Factory.Name, n, ps.Profile, h264.Types(first.Data))
		})
	}
}

// TestBaselineAtUltrafast checks that the default preset stays within
// Constrained Baseline (profile_idc 66), matching a 42e01f SDP offer.
func testForceKeyFrame(t *testing.T, b Backend) {
	const w, h = 640, 360
	enc := b.mustNew(t, encoder.Config{Width: w, Height: h, FPS: 30, BitRate: 1_000_000})
	s := NewMovingScene(w, h, 2, 4)
	f := NewFrame(w, h)
	for i := 0; i < 25; i++ {
		if i == 10 || i == 17 {
			keyFrames(t, enc).ForceKeyFrame()
		}
		s.Draw(f, i)
		au, err := enc.Encode(f)
		if err != nil {
			t.Fatalf("Encode %d: %v", i, err)
		}
		wantKey := i == 0 || i == 10 || i == 17
		if au.KeyFrame != wantKey {
			t.Errorf("AU %d: KeyFrame=%v want %v (NALs %v)", i, au.KeyFrame, wantKey, h264.Types(au.Data))
		}
		if wantKey && !h264.HasParameterSets(au.Data) {
			t.Errorf("AU %d: key frame without SPS/PPS: %v", i, h264.Types(au.Data))
		}
	}
}

func testKeyFrameInterval(t *testing.T, b Backend) {
	const w, h = 320, 240
	enc := b.mustNew(t, encoder.Config{Width: w, Height: h, FPS: 30, BitRate: 500_000, KeyFrameInterval: 10})
	aus := EncodeScene(t, enc, NewMovingScene(w, h, 2, 4), 35)
	// points are where a receiver can start decoding: key frames, or
	// with intra refresh the recovery points.
	var points []int
	for i, au := range aus {
		point := au.KeyFrame
		if b.IntraRefresh {
			if au.KeyFrame && i > 0 {
				t.Errorf("AU %d is an IDR; with intra refresh only the first frame is", i)
			}
			point = i == 0 || HasRecoveryPoint(au.Data)
		}
		if point {
			points = append(points, i)
			if !h264.HasParameterSets(au.Data) {
				t.Errorf("refresh point %d without SPS/PPS: %v", i, h264.Types(au.Data))
			}
		}
	}
	t.Logf("%s: key frames or recovery points at %v", b.Factory.Name, points)
	for i := 1; i < len(points); i++ {
		if d := points[i] - points[i-1]; d > 10 {
			t.Errorf("refresh points %d apart, want at most 10: %v", d, points)
		}
	}
	if len(points) < 4 {
		t.Errorf("refresh points at %v, want at least 4 in 35 frames with interval 10", points)
	}
}

// measureBitRate encodes secs seconds of noisy moving 1280x720 content and
// returns the produced bits per second divided by the requested rate.
func measureBitRate(t *testing.T, b Backend, fps, bps, secs int) float64 {
	t.Helper()
	const w, h = 1280, 720
	enc := b.mustNew(t, encoder.Config{Width: w, Height: h, FPS: fps, BitRate: bps})
	aus := EncodeScene(t, enc, NewMovingScene(w, h, 3, 12), fps*secs)
	var total int
	for _, au := range aus {
		total += len(au.Data)
	}
	return float64(total*8) / float64(secs) / float64(bps)
}

// testBitRate is a sanity check of the rate control, in particular that a
// back-end gives the codec the real frame rate: at 30 and 60 fps the output
// rate must be near the requested one. x264 left at its default of 25 fps
// produces about fps/25 times too much (measured 2.4× at 60 fps), which the
// tighter x264 bound catches. The first IDR and the rate control's settling are included
// in the 3 s, so some overshoot is normal.
func testBitRate(t *testing.T, b Backend) {
	for _, fps := range []int{30, 60} {
		t.Run(strconv.Itoa(fps)+"fps", func(t *testing.T) {
			const bps = 1_000_000
			ratio := measureBitRate(t, b, fps, bps, 3)
			t.Logf("%s: 1280x720 %d fps, requested %d bps, got %.3f× that", b.Factory.Name, fps, bps, ratio)
			if ratio < 0.3 || ratio > 3 {
				t.Errorf("output/requested bit rate = %.3f, want within 0.3..3", ratio)
			}
			if b.Factory.Name == "x264" && ratio > 2 {
				t.Errorf("x264 output/requested bit rate = %.3f > 2: does x264 get the real frame rate?", ratio)
			}
		})
	}
}

func testSetBitRate(t *testing.T, b Backend) {
	const w, h, fps = 1280, 720, 30
	enc := b.mustNew(t, encoder.Config{Width: w, Height: h, FPS: fps, BitRate: 2_000_000})
	s := NewMovingScene(w, h, 3, 12)
	f := NewFrame(w, h)
	sum := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			s.Draw(f, i)
			au, err := enc.Encode(f)
			if err != nil {
				t.Fatalf("Encode %d: %v", i, err)
			}
			n += len(au.Data)
		}
		return n
	}
	high := sum(0, 2*fps) * 8 / 2
	err := bitRates(t, enc).SetBitRate(500_000)
	if errors.Is(err, encoder.ErrUnsupported) {
		t.Skipf("%s: SetBitRate unsupported: %v", b.Factory.Name, err)
	}
	if err != nil {
		t.Fatalf("SetBitRate: %v", err)
	}
	sum(2*fps, 3*fps) // settle
	low := sum(3*fps, 5*fps) * 8 / 2
	t.Logf("%s: 2 Mbps -> %.3f×, after SetBitRate(500 kbps) -> %.3f×", b.Factory.Name,
		float64(high)/2e6, float64(low)/5e5)
	if low >= high*2/3 {
		t.Errorf("after lowering the rate 4×, output went from %d to %d bps", high, low)
	}
	if err := bitRates(t, enc).SetBitRate(0); !errors.Is(err, encoder.ErrInvalidConfig) {
		t.Errorf("SetBitRate(0) = %v, want encoder.ErrInvalidConfig", err)
	}
}

func testBadFrames(t *testing.T, b Backend) {
	const w, h = 320, 240
	enc := b.mustNew(t, encoder.Config{Width: w, Height: h, FPS: 30, BitRate: 500_000})
	good := NewFrame(w, h)
	short := func(mod func(f *render.Frame)) *render.Frame {
		f := NewFrame(w, h)
		mod(f)
		return f
	}
	bad := map[string]*render.Frame{
		"nil":         nil,
		"wrong width": short(func(f *render.Frame) { f.Width = 640 }),
		"wrong size":  NewFrame(640, 480),
		"zero size":   {},
		"short Y":     short(func(f *render.Frame) { f.Y = f.Y[:w*h-1] }),
		"short U":     short(func(f *render.Frame) { f.U = f.U[:10] }),
		"nil V":       short(func(f *render.Frame) { f.V = nil }),
	}
	for name, f := range bad {
		au, err := enc.Encode(f)
		if !errors.Is(err, encoder.ErrInvalidFrame) {
			t.Errorf("%s: err = %v, want encoder.ErrInvalidFrame", name, err)
		}
		if au.Data != nil {
			t.Errorf("%s: got data", name)
		}
	}
	// Still usable, and the first good frame is still the stream's IDR.
	au, err := enc.Encode(good)
	if err != nil || !au.KeyFrame {
		t.Fatalf("good frame after bad ones: KeyFrame=%v err=%v", au.KeyFrame, err)
	}
	// Longer planes than needed are fine.
	big := NewFrame(w, h)
	big.Y = append(big.Y, make([]byte, 100)...)
	if _, err := enc.Encode(big); err != nil {
		t.Errorf("frame with longer planes: %v", err)
	}
}

// testEncodeAt is the contract of encoder.TimedEncoder, for back-ends
// that have it: frames at increasing times, a repeated time, one that
// goes back and a gap all encode (the first as the key frame), mixed with
// Encode; a bad frame is refused with ErrInvalidFrame, and after Close
// EncodeAt returns ErrClosed.
func testEncodeAt(t *testing.T, b Backend) {
	const w, h = 320, 240
	enc := b.mustNew(t, encoder.Config{Width: w, Height: h, FPS: 30, BitRate: 500_000})
	te, ok := enc.(encoder.TimedEncoder)
	if !ok {
		t.Skipf("%s does not implement encoder.TimedEncoder", b.Factory.Name)
	}
	s := NewMovingScene(w, h, 3, 8)
	f := NewFrame(w, h)
	ms := time.Millisecond
	var aus []encoder.AccessUnit
	for i, at := range []time.Duration{5 * time.Second, 5*time.Second + 33*ms, 5*time.Second + 33*ms, 5 * time.Second, -1, 5*time.Second + 400*ms, 5*time.Second + 410*ms, 0, 50 * ms} {
		s.Draw(f, i)
		var au encoder.AccessUnit
		var err error
		if at < 0 {
			au, err = enc.Encode(f)
		} else {
			au, err = te.EncodeAt(f, at)
		}
		if err != nil {
			t.Fatalf("frame %d at %v: %v", i, at, err)
		}
		if au.KeyFrame != h264.IsKeyFrame(au.Data) {
			t.Fatalf("frame %d: KeyFrame=%v disagrees with the bitstream", i, au.KeyFrame)
		}
		if (i == 0) != au.KeyFrame {
			t.Errorf("frame %d at %v: KeyFrame=%v, want only the first", i, at, au.KeyFrame)
		}
		aus = append(aus, au)
	}
	if _, err := te.EncodeAt(NewFrame(640, 480), time.Minute); !errors.Is(err, encoder.ErrInvalidFrame) {
		t.Errorf("EncodeAt of a wrong-size frame: %v, want encoder.ErrInvalidFrame", err)
	}
	if b.Decodable {
		NeedFFmpeg(t)
		DecodesAll(t, aus, len(aus))
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := te.EncodeAt(f, time.Hour); !errors.Is(err, encoder.ErrClosed) {
		t.Errorf("EncodeAt after Close: %v, want encoder.ErrClosed", err)
	}
}

func testClose(t *testing.T, b Backend) {
	enc, err := b.Factory.New(encoder.Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := enc.Encode(NewFrame(320, 240)); !errors.Is(err, encoder.ErrClosed) {
		t.Errorf("Encode after Close: %v, want encoder.ErrClosed", err)
	}
	if err := bitRates(t, enc).SetBitRate(1000); !errors.Is(err, encoder.ErrClosed) {
		t.Errorf("SetBitRate after Close: %v, want encoder.ErrClosed", err)
	}
	keyFrames(t, enc).ForceKeyFrame() // must not panic
}

func testNewInvalidConfig(t *testing.T, b Backend) {
	ok := encoder.Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000}
	for name, mod := range map[string]func(*encoder.Config){
		"odd width":    func(c *encoder.Config) { c.Width = 321 },
		"zero height":  func(c *encoder.Config) { c.Height = 0 },
		"negative fps": func(c *encoder.Config) { c.FPS = -1 },
		"zero bitrate": func(c *encoder.Config) { c.BitRate = 0 },
		"neg keyint":   func(c *encoder.Config) { c.KeyFrameInterval = -5 },
		"bogus preset": func(c *encoder.Config) { c.Preset = "ludicrous" },
	} {
		c := ok
		mod(&c)
		if enc, err := b.Factory.New(c); !errors.Is(err, encoder.ErrInvalidConfig) {
			t.Errorf("%s: New(%+v) err = %v, want encoder.ErrInvalidConfig", name, c, err)
			if enc != nil {
				_ = enc.Close()
			}
		}
	}
}

// ProfileIDC returns the profile_idc of the SPS in an access unit (66
// Baseline, 77 Main, 100 High), failing the test if it has none.
func ProfileIDC(t testing.TB, au encoder.AccessUnit) byte {
	t.Helper()
	for _, nal := range h264.SplitAnnexB(au.Data) {
		if h264.NALType(nal) == h264.NALSPS && len(nal) >= 4 {
			t.Logf("SPS: profile_idc %d constraint flags %#02x level_idc %d", nal[1], nal[2], nal[3])
			return nal[1]
		}
	}
	t.Fatalf("no SPS in access unit: %v", h264.Types(au.Data))
	return 0
}
