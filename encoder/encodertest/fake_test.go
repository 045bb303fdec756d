package encodertest_test

import (
	"testing"

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
