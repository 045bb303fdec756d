package headset_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render/rendertest"
)

// Example dials a node, streams head poses at 90 Hz on the pose channel
// while reading frames, and reports what the frames carried. Against a
// running node the URL would be e.g. "https://host:8443/v1/sessions"; here
// the node runs in-process on the pure-Go renderer and fake encoder, so
// that the example runs anywhere.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sessionsURL, stop := startNode()
	defer stop()

	c, err := headset.Dial(ctx, sessionsURL, headset.Options{})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close(context.Background())
	// The node sends its SessionInfo as soon as the control channel opens.
	if err := c.WaitControl(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("predictor:", c.SessionInfo().GetPredictor())

	go sendPoses(ctx, c)

	// Read frames: complete H.264 access units in Annex-B form, in order,
	// each matched to the node's FrameInfo. The first is a key frame.
	var frames, keys int
	var latency time.Duration // pose sampled to frame received, worst seen
	for frames < 60 {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				return
			}
			frames++
			if f.KeyFrame {
				keys++
			}
			if d, ok := c.PoseToFrame(f); ok {
				latency = max(latency, d)
			}
		case <-ctx.Done():
			fmt.Println("timed out after", frames, "frames")
			return
		}
	}
	// The latency varies from run to run, so only whether it was measured
	// is printed.
	fmt.Println("frames:", frames)
	fmt.Println("key frames:", keys > 0)
	fmt.Println("pose-to-frame latency measured:", latency > 0)
	// Output:
	// predictor: robust-cv
	// frames: 60
	// key frames: true
	// pose-to-frame latency measured: true
}

// startNode runs a node on a loopback HTTP server with the pure-Go test
// parts and returns its sessions URL and a function that stops it.
func startNode() (string, func()) { return startNodeFPS(0) }

// startNodeFPS is startNode at a frame rate (0: the node's default).
func startNodeFPS(fps int) (string, func()) {
	n, err := node.New(context.Background(), node.Config{
		Width: 320, Height: 180, FPS: fps,
		Renderers: &rendertest.Factory{}, Encoders: encodertest.FakeFactory,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(n.Handler())
	return srv.URL + "/v1/sessions", func() {
		srv.Close()
		_ = n.Close()
	}
}

// sendPoses sends a pose every 1/90 s until ctx ends: the head turns at
// 30°/s, 1.6 m above the floor. Each pose carries its sample time on the
// client's clock; the node echoes it in the FrameInfo of the frame rendered
// for it, which is what Client.PoseToFrame measures from.
func sendPoses(ctx context.Context, c *headset.Client) {
	tick := time.NewTicker(time.Second / 90)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		now := c.Now()
		yaw := mgl64.DegToRad(30 * float64(now) / 1e6)
		err := c.SendPose(&holocastv1.Pose{
			Seq:          seq,
			SampleTimeUs: now,
			Orientation:  wire.QuatToProto(mgl64.QuatRotate(yaw, mgl64.Vec3{0, 1, 0})),
			Position:     wire.Vec3ToProto(mgl64.Vec3{0, 1.6, 0}),
		})
		if err != nil {
			return // the session ended
		}
	}
}
