package headset_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
)

// TestDisplayTimingAimsFrames: a headset with a 60 Hz display sends its
// DisplayTiming; the node (at 10 fps) then aims its frames at the
// display's vsyncs:
// their FrameInfo names a display time that is one of the headset's
// vsyncs and lies after the pose the frame was rendered for was sampled.
func TestDisplayTimingAimsFrames(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sessionsURL, stop := startNodeFPS(10) // work fits the interval even on a busy machine: the node aims
	defer stop()
	c, err := headset.Dial(ctx, sessionsURL, headset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.WaitControl(ctx); err != nil {
		t.Fatal(err)
	}
	poseCtx, stopPoses := context.WithCancel(ctx)
	posesDone := make(chan struct{})
	go func() { defer close(posesDone); sendPoses(poseCtx, c) }()
	defer func() { stopPoses(); <-posesDone }()

	d, err := headset.NewDisplay(60, 4*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendDisplayTiming(d); err != nil {
		t.Fatal(err)
	}
	aimed := 0
	for aimed < 10 {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatal("frames ended")
			}
			target := f.Info.GetTargetDisplayTimeUs()
			if target == 0 {
				continue
			}
			aimed++
			if v := d.NextVsync(target - 2); target < v-2 || target > v+2 { // µs rounding on both ends
				t.Errorf("frame %d aimed at %d µs, not a vsync of the display", f.Info.GetFrameId(), target)
			}
			if sampled := f.Info.GetPoseSampleTimeUs(); target <= sampled {
				t.Errorf("frame %d aimed at %d µs, not after its pose's sample time %d", f.Info.GetFrameId(), target, sampled)
			}
		case <-ctx.Done():
			t.Fatalf("only %d aimed frames", aimed)
		}
	}
}
