//go:build egl && cgo

package node_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
)

// TestEndToEnd is the node's proof: real pion peers on loopback, real EGL
// rendering, real x264, and ffmpeg decoding what arrived.
func TestEndToEnd(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs after the node's cleanup
	const w, h = 320, 180
	_, url := startNode(t, node.Config{Width: w, Height: h, FPS: 30, BitRate: 1_000_000, Predictor: "none"})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := headset.Dial(ctx, url, headset.Options{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := c.WaitControl(ctx); err != nil {
		t.Fatal(err)
	}

	// Phases of constant yaw: 0°, 90°, 0°, each 1.2 s, poses at 90 Hz.
	phases := []float64{0, 90, 0}
	phaseEnd := make([]uint64, len(phases)) // last seq of each phase
	var seq uint64
	sendDone := make(chan struct{})
	go func() {
		defer close(sendDone)
		tick := time.NewTicker(time.Second / 90)
		defer tick.Stop()
		for i, yaw := range phases {
			end := time.Now().Add(1200 * time.Millisecond)
			for time.Now().Before(end) {
				<-tick.C
				seq++
				if err := c.SendPose(yawPose(seq, c.Now(), yaw)); err != nil {
					t.Errorf("send pose: %v", err)
					return
				}
			}
			phaseEnd[i] = seq
		}
	}()

	var frames []*headset.Frame
	var stream bytes.Buffer
	timeout := time.After(20 * time.Second)
collect:
	for {
		select {
		case f := <-c.Frames():
			frames = append(frames, f)
			stream.Write(f.Data)
		case <-sendDone:
			break collect
		case <-timeout:
			t.Fatal("timed out")
		}
	}
	// Frames rendered for the last poses are still in flight.
	time.Sleep(300 * time.Millisecond)
	if err := c.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	for f := range c.Frames() {
		frames = append(frames, f)
		stream.Write(f.Data)
	}
	st := c.Stats()
	t.Logf("frames=%d stats=%+v", len(frames), st)
	if len(frames) < 60 {
		t.Fatalf("got %d frames in ≥3.6 s, want ≥ 60", len(frames))
	}
	if !frames[0].KeyFrame {
		t.Error("first frame is not a key frame")
	}

	// Every frame is matched to a pose, and latency is reported.
	var lat []time.Duration
	for i, f := range frames {
		if f.Info == nil {
			t.Fatalf("frame %d (ts %d) has no FrameInfo", i, f.RTPTimestamp)
		}
		if f.Info.GetWidth() != w || f.Info.GetHeight() != h {
			t.Fatalf("frame info size %dx%d", f.Info.GetWidth(), f.Info.GetHeight())
		}
		if d, ok := c.PoseToFrame(f); ok {
			if d <= 0 || d > 5*time.Second {
				t.Errorf("frame %d: pose→frame %v out of range", i, d)
			}
			lat = append(lat, d)
		}
	}
	if len(lat) < len(frames)*3/4 {
		t.Fatalf("only %d of %d frames matched to a client pose", len(lat), len(frames))
	}
	t.Logf("pose→frame-received latency: median %v, max %v over %d frames", median(lat), maxDur(lat), len(lat))

	// ffmpeg decodes the stream without errors at the expected size.
	dir := t.TempDir()
	file := filepath.Join(dir, "stream.h264")
	if err := os.WriteFile(file, stream.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	fields := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(fields) != 4 || fields[0] != "h264" || fields[1] != strconv.Itoa(w) || fields[2] != strconv.Itoa(h) {
		t.Fatalf("ffprobe: %q", out)
	}
	if n, _ := strconv.Atoi(fields[3]); n != len(frames) {
		t.Errorf("ffprobe read %d frames, received %d", n, len(frames))
	}
	raw := filepath.Join(dir, "frames.gray")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", raw).CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("ffmpeg decode: err=%v output=%q", err, out)
	}
	pix, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(pix) != len(frames)*w*h {
		t.Fatalf("decoded %d bytes, want %d frames of %d", len(pix), len(frames), w*h)
	}
	// The last frame rendered from each phase's poses.
	last := func(phase int) []byte {
		var lo uint64
		if phase > 0 {
			lo = phaseEnd[phase-1]
		}
		idx := -1
		for i, f := range frames {
			if s := f.Info.GetPoseSeq(); s > lo && s <= phaseEnd[phase] {
				idx = i
			}
		}
		if idx < 0 {
			t.Fatalf("no frame rendered from the poses of phase %d", phase)
		}
		return pix[idx*w*h : (idx+1)*w*h]
	}
	a, b, a2 := last(0), last(1), last(2)
	diffTurn, diffSame := meanAbsDiff(a, b), meanAbsDiff(a, a2)
	t.Logf("mean |ΔY|: yaw 0° vs 90° = %.2f, yaw 0° vs 0° = %.2f", diffTurn, diffSame)
	if diffTurn < 10 {
		t.Errorf("yaw 0° and 90° pictures differ by only %.2f", diffTurn)
	}
	if diffSame > 2 || diffTurn < 5*diffSame {
		t.Errorf("same pose renders differently: %.2f (turn %.2f)", diffSame, diffTurn)
	}
}
