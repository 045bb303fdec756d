package encodertest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/proto/wire/h264"
)

// TestFakeConformance holds the fake to the contract every real back-end
// passes.
func TestFakeConformance(t *testing.T) {
	encodertest.Run(t, encodertest.Backend{Factory: encodertest.FakeFactory})
}

func TestFakeStats(t *testing.T) {
	f, err := encodertest.NewFake(encoder.Config{Width: 256, Height: 128, FPS: 10, BitRate: 80_000, KeyFrameInterval: 5})
	if err != nil {
		t.Fatal(err)
	}
	fr := encodertest.NewFrame(256, 128)
	var sizes []int
	for i := range 7 {
		if i == 2 {
			f.ForceKeyFrame()
		}
		if i == 4 {
			if err := f.SetBitRate(40_000); err != nil {
				t.Fatal(err)
			}
		}
		au, err := f.Encode(fr)
		if err != nil {
			t.Fatal(err)
		}
		if au.KeyFrame != h264.IsKeyFrame(au.Data) {
			t.Fatalf("frame %d: KeyFrame %v, bitstream says %v", i, au.KeyFrame, h264.IsKeyFrame(au.Data))
		}
		sizes = append(sizes, len(au.Data))
	}
	st := f.Stats()
	// Key frames: 0 (first), 2 (forced), 7 would be next by interval.
	if st.Frames != 7 || st.KeyFrames != 2 || st.Forced != 1 || len(st.BitRates) != 1 || st.BitRates[0] != 40_000 {
		t.Errorf("stats %+v", st)
	}
	// 80 kbit/s at 10 fps is 1000 bytes a frame; 40 kbit/s, 500.
	if sizes[1] < 990 || sizes[1] > 1010 || sizes[5] < 490 || sizes[5] > 510 {
		t.Errorf("P-frame sizes %v, want about 1000 then 500 bytes", sizes)
	}
	if f.Config().BitRate != 40_000 {
		t.Errorf("Config().BitRate = %d", f.Config().BitRate)
	}
}

// TestFakeEncodeAt: EncodeAt records the frame's time and encodes as
// Encode does; a refused frame is not counted.
func TestFakeEncodeAt(t *testing.T) {
	f, err := encodertest.NewFake(encoder.Config{Width: 256, Height: 128, FPS: 10, BitRate: 80_000})
	if err != nil {
		t.Fatal(err)
	}
	fr := encodertest.NewFrame(256, 128)
	var sizes []int
	for i, at := range []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond} {
		au, err := f.EncodeAt(fr, at)
		if err != nil {
			t.Fatalf("EncodeAt frame %d: %v", i, err)
		}
		sizes = append(sizes, len(au.Data))
	}
	if _, err := f.EncodeAt(encodertest.NewFrame(128, 128), time.Second); !errors.Is(err, encoder.ErrInvalidFrame) {
		t.Errorf("EncodeAt of a wrong-size frame: %v, want encoder.ErrInvalidFrame", err)
	}
	st := f.Stats()
	if st.Frames != 3 || st.Timed != 3 || st.LastAt != 300*time.Millisecond {
		t.Errorf("stats %+v, want 3 frames, 3 timed, the last at 300ms", st)
	}
	// Sizes follow BitRate/FPS (1000 bytes), not the frames' times.
	if sizes[1] < 990 || sizes[1] > 1010 || sizes[2] != sizes[1] {
		t.Errorf("P-frame sizes %v, want about 1000 bytes each", sizes)
	}
}
