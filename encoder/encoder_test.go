package encoder

import (
	"errors"
	"strconv"
	"testing"

	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
)

func mustNew(t testing.TB, cfg Config) Encoder {
	t.Helper()
	enc, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := enc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return enc
}

// TestEncodeDecodes encodes moving content and has ffmpeg decode it.
func TestEncodeDecodes(t *testing.T) {
	needFFmpeg(t)
	for _, sz := range []struct{ w, h int }{{640, 360}, {1280, 720}} {
		t.Run(sizeName(sz.w, sz.h), func(t *testing.T) {
			const n = 60
			enc := mustNew(t, Config{Width: sz.w, Height: sz.h, FPS: 30, BitRate: 2_000_000})
			aus := encodeScene(t, enc, newMovingScene(sz.w, sz.h, 2, 6), n)

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

			path := writeStream(t, aus)
			ffmpegDecode(t, path)
			ps := ffprobeStream(t, path)
			if ps.CodecName != "h264" || ps.Width != sz.w || ps.Height != sz.h {
				t.Errorf("ffprobe: codec %q %dx%d, want h264 %dx%d", ps.CodecName, ps.Width, ps.Height, sz.w, sz.h)
			}
			if got, err := strconv.Atoi(ps.NbReadFrames); err != nil || got != n {
				t.Errorf("ffprobe counted %q frames, want %d", ps.NbReadFrames, n)
			}
			t.Logf("%s: %d frames, profile %q, first AU %v", Backend(), n, ps.Profile, h264.Types(first.Data))
		})
	}
}

// TestBaselineAtUltrafast checks that the default preset stays within
// Constrained Baseline (profile_idc 66), matching a 42e01f SDP offer.
func TestBaselineAtUltrafast(t *testing.T) {
	enc := mustNew(t, Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000})
	aus := encodeScene(t, enc, newMovingScene(320, 240, 2, 0), 1)
	for _, nal := range h264.SplitAnnexB(aus[0].Data) {
		if h264.NALType(nal) == h264.NALSPS {
			if len(nal) < 3 {
				t.Fatalf("short SPS % x", nal)
			}
			if nal[1] != 66 {
				t.Errorf("profile_idc %d, want 66 (baseline)", nal[1])
			}
			t.Logf("%s: profile_idc %d constraint flags %#02x level_idc %d", Backend(), nal[1], nal[2], nal[3])
			return
		}
	}
	t.Fatalf("no SPS in first AU: %v", h264.Types(aus[0].Data))
}

// TestPresetProfile documents that x264 switches to High profile (CABAC,
// 8x8 transform) from preset superfast on.
func TestPresetProfile(t *testing.T) {
	if Backend() != "x264" {
		t.Skipf("presets are x264-only; %s ignores them", Backend())
	}
	for preset, want := range map[string]byte{"ultrafast": 66, "superfast": 100, "veryfast": 100} {
		enc := mustNew(t, Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000, Preset: preset})
		aus := encodeScene(t, enc, newMovingScene(320, 240, 2, 0), 1)
		var got byte
		for _, nal := range h264.SplitAnnexB(aus[0].Data) {
			if h264.NALType(nal) == h264.NALSPS && len(nal) > 1 {
				got = nal[1]
			}
		}
		if got != want {
			t.Errorf("preset %s: profile_idc %d, want %d", preset, got, want)
		}
	}
}

func TestForceKeyFrame(t *testing.T) {
	const w, h = 640, 360
	enc := mustNew(t, Config{Width: w, Height: h, FPS: 30, BitRate: 1_000_000})
	s := newMovingScene(w, h, 2, 4)
	f := newFrame(w, h)
	for i := 0; i < 25; i++ {
		if i == 10 || i == 17 {
			enc.ForceKeyFrame()
		}
		s.draw(f, i)
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

func TestKeyFrameInterval(t *testing.T) {
	const w, h = 320, 240
	enc := mustNew(t, Config{Width: w, Height: h, FPS: 30, BitRate: 500_000, KeyFrameInterval: 10})
	aus := encodeScene(t, enc, newMovingScene(w, h, 2, 4), 35)
	var keys []int
	for i, au := range aus {
		if au.KeyFrame {
			keys = append(keys, i)
			if !h264.HasParameterSets(au.Data) {
				t.Errorf("key frame %d without SPS/PPS", i)
			}
		}
	}
	t.Logf("%s: key frames at %v", Backend(), keys)
	for i := 1; i < len(keys); i++ {
		if d := keys[i] - keys[i-1]; d > 10 {
			t.Errorf("key frames %d apart, want at most 10: %v", d, keys)
		}
	}
	if len(keys) < 4 {
		t.Errorf("key frames at %v, want at least 4 in 35 frames with interval 10", keys)
	}
}

// measureBitRate encodes secs seconds of noisy moving 1280x720 content and
// returns the produced bits per second divided by the requested rate.
func measureBitRate(t *testing.T, fps, bps, secs int) float64 {
	t.Helper()
	const w, h = 1280, 720
	enc := mustNew(t, Config{Width: w, Height: h, FPS: fps, BitRate: bps})
	aus := encodeScene(t, enc, newMovingScene(w, h, 3, 12), fps*secs)
	var total int
	for _, au := range aus {
		total += len(au.Data)
	}
	return float64(total*8) / float64(secs) / float64(bps)
}

// TestBitRate is a sanity check of the rate control, in particular of the
// 25 fps scaling the x264 back-end needs: at 30 and 60 fps the output rate
// must be near the requested one. Without the scaling x264 produces about
// fps/25 times too much (measured 2.4× at 60 fps), which the tighter x264
// bound catches. The first IDR and the rate control's settling are included
// in the 3 s, so some overshoot is normal.
func TestBitRate(t *testing.T) {
	for _, fps := range []int{30, 60} {
		t.Run(strconv.Itoa(fps)+"fps", func(t *testing.T) {
			const bps = 1_000_000
			ratio := measureBitRate(t, fps, bps, 3)
			t.Logf("%s: 1280x720 %d fps, requested %d bps, got %.3f× that", Backend(), fps, bps, ratio)
			if ratio < 0.3 || ratio > 3 {
				t.Errorf("output/requested bit rate = %.3f, want within 0.3..3", ratio)
			}
			if Backend() == "x264" && ratio > 2 {
				t.Errorf("x264 output/requested bit rate = %.3f > 2: is the 25 fps scaling missing?", ratio)
			}
		})
	}
}

func TestSetBitRate(t *testing.T) {
	const w, h, fps = 1280, 720, 30
	enc := mustNew(t, Config{Width: w, Height: h, FPS: fps, BitRate: 2_000_000})
	s := newMovingScene(w, h, 3, 12)
	f := newFrame(w, h)
	sum := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			s.draw(f, i)
			au, err := enc.Encode(f)
			if err != nil {
				t.Fatalf("Encode %d: %v", i, err)
			}
			n += len(au.Data)
		}
		return n
	}
	high := sum(0, 2*fps) * 8 / 2
	err := enc.SetBitRate(500_000)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("%s: SetBitRate unsupported: %v", Backend(), err)
	}
	if err != nil {
		t.Fatalf("SetBitRate: %v", err)
	}
	sum(2*fps, 3*fps) // settle
	low := sum(3*fps, 5*fps) * 8 / 2
	t.Logf("%s: 2 Mbps -> %.3f×, after SetBitRate(500 kbps) -> %.3f×", Backend(),
		float64(high)/2e6, float64(low)/5e5)
	if low >= high*2/3 {
		t.Errorf("after lowering the rate 4×, output went from %d to %d bps", high, low)
	}
	if err := enc.SetBitRate(0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("SetBitRate(0) = %v, want ErrInvalidConfig", err)
	}
}

func TestBadFrames(t *testing.T) {
	const w, h = 320, 240
	enc := mustNew(t, Config{Width: w, Height: h, FPS: 30, BitRate: 500_000})
	good := newFrame(w, h)
	short := func(mod func(f *render.Frame)) *render.Frame {
		f := newFrame(w, h)
		mod(f)
		return f
	}
	bad := map[string]*render.Frame{
		"nil":         nil,
		"wrong width": short(func(f *render.Frame) { f.Width = 640 }),
		"wrong size":  newFrame(640, 480),
		"zero size":   {},
		"short Y":     short(func(f *render.Frame) { f.Y = f.Y[:w*h-1] }),
		"short U":     short(func(f *render.Frame) { f.U = f.U[:10] }),
		"nil V":       short(func(f *render.Frame) { f.V = nil }),
	}
	for name, f := range bad {
		au, err := enc.Encode(f)
		if !errors.Is(err, ErrInvalidFrame) {
			t.Errorf("%s: err = %v, want ErrInvalidFrame", name, err)
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
	big := newFrame(w, h)
	big.Y = append(big.Y, make([]byte, 100)...)
	if _, err := enc.Encode(big); err != nil {
		t.Errorf("frame with longer planes: %v", err)
	}
}

func TestClose(t *testing.T) {
	enc, err := New(Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := enc.Encode(newFrame(320, 240)); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v, want ErrClosed", err)
	}
	if err := enc.SetBitRate(1000); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitRate after Close: %v, want ErrClosed", err)
	}
	enc.ForceKeyFrame() // must not panic
}

func TestNewInvalidConfig(t *testing.T) {
	ok := Config{Width: 320, Height: 240, FPS: 30, BitRate: 500_000}
	for name, mod := range map[string]func(*Config){
		"odd width":    func(c *Config) { c.Width = 321 },
		"zero height":  func(c *Config) { c.Height = 0 },
		"negative fps": func(c *Config) { c.FPS = -1 },
		"zero bitrate": func(c *Config) { c.BitRate = 0 },
		"neg keyint":   func(c *Config) { c.KeyFrameInterval = -5 },
		"bogus preset": func(c *Config) { c.Preset = "ludicrous" },
	} {
		c := ok
		mod(&c)
		if enc, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New(%+v) err = %v, want ErrInvalidConfig", name, c, err)
			if enc != nil {
				enc.Close()
			}
		}
	}
}

func TestBackend(t *testing.T) {
	if b := Backend(); b != "x264" && b != "openh264" {
		t.Errorf("Backend() = %q", b)
	}
}
