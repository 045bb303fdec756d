//go:build egl && cgo

package node_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/proto/wire"
)

// TestPredictionLive replays a head turning at a constant 90°/s with a known
// latency (a fixed 50 ms horizon): the node must render the pose predicted
// for sample time + 50 ms, and say so in each FrameInfo.
func TestPredictionLive(t *testing.T) {
	const (
		rate    = 90.0 // degrees per second
		horizon = 50 * time.Millisecond
	)
	_, url := startNode(t, node.Config{Width: 160, Height: 90, FPS: 30, FixedHorizon: horizon})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})
	if info := c.SessionInfo(); info == nil || info.GetPredictor() != pose.DefaultPredictorName {
		t.Errorf("SessionInfo %v does not name the default predictor %q", info, pose.DefaultPredictorName)
	}
	yawAt := func(us int64) float64 { return rate * float64(us) / 1e6 }
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / 90)
		defer tick.Stop()
		for seq := uint64(1); seq <= 180; seq++ {
			<-tick.C
			now := c.Now()
			if err := c.SendPose(yawPose(seq, now, yawAt(now))); err != nil {
				t.Errorf("send: %v", err)
				return
			}
		}
	}()
	var checked int
	var errPred, errRaw float64
	for {
		var f *headset.Frame
		select {
		case f = <-c.Frames():
		case <-done:
			if checked < 20 {
				t.Fatalf("only %d frames checked", checked)
			}
			errPred /= float64(checked)
			errRaw /= float64(checked)
			t.Logf("mean error vs truth at display time: predicted %.3f°, unpredicted %.3f° over %d frames", errPred, errRaw, checked)
			if errPred > 0.5 || errRaw < 4 {
				t.Errorf("prediction did not compensate the horizon: predicted %.3f°, unpredicted %.3f°", errPred, errRaw)
			}
			return
		case <-ctx.Done():
			t.Fatal("timed out")
		}
		in := f.Info
		if in == nil || in.GetPoseSeq() < 20 { // let the predictor settle
			continue
		}
		if got := time.Duration(in.GetHorizonUs()) * time.Microsecond; got != horizon {
			t.Fatalf("frame %d: horizon %v, want %v", in.GetFrameId(), got, horizon)
		}
		if in.GetPredictedTimeUs() != in.GetPoseSampleTimeUs()+horizon.Microseconds() {
			t.Fatalf("frame %d: predicted time %d != sample time %d + horizon", in.GetFrameId(), in.GetPredictedTimeUs(), in.GetPoseSampleTimeUs())
		}
		truth := yawQuat(yawAt(in.GetPredictedTimeUs()))
		rendered := wire.QuatFromProto(in.GetRenderedOrientation())
		sent := yawQuat(yawAt(in.GetPoseSampleTimeUs()))
		errPred += angleDeg(rendered, truth)
		errRaw += angleDeg(sent, truth)
		checked++
	}
}

func yawQuat(deg float64) mgl64.Quat {
	return wire.QuatFromProto(yawPose(1, 0, deg).GetOrientation())
}

func angleDeg(a, b mgl64.Quat) float64 { return pose.QuatAngle(a, b) * 180 / math.Pi }
