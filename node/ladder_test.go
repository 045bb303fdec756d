//go:build cgo

package node_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/encoder/builtin"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/session"
)

// narrowLink is a headset's capped downlink on a vnet router: a drop-tail
// queue (64 KiB, as the bench's) drained at a rate the test sets; the
// headset's vnet.DelayFilter holds each admitted packet until its last
// byte has left.
type narrowLink struct {
	dst   string
	delay *vnet.DelayFilter

	mu     sync.Mutex
	bps    float64
	queued float64
	last   time.Time
}

func (l *narrowLink) setRate(bps float64) {
	l.mu.Lock()
	l.bps = bps
	l.mu.Unlock()
}

func (l *narrowLink) filter(c vnet.Chunk) bool {
	ua, ok := c.DestinationAddr().(*net.UDPAddr)
	if !ok || ua.IP.String() != l.dst {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.queued = max(0, l.queued-l.bps/8*now.Sub(l.last).Seconds())
	}
	l.last = now
	size := float64(len(c.UserData()))
	if l.queued+size > 64<<10 {
		return false
	}
	l.queued += size
	l.delay.SetDelay(time.Duration(l.queued * 8 / l.bps * float64(time.Second)))
	return true
}

// blockRenderer is a pure-Go render.Renderer (and render.Resizer) whose
// picture changes every frame as a moving scene's would: a grid of 80x45
// flat blocks at any size, a tenth of them taking a new grey each frame,
// so that x264 needs about a megabit a second at 30 fps and fills any
// target below that. It is cheap to draw, so that on a loaded machine
// the link, not the renderer, limits the stream.
type blockRenderer struct {
	frame render.Frame
	grey  [80 * 45]byte
	rng   *rand.Rand
}

type blockRenderers struct{}

func (blockRenderers) Name() string { return "blocks" }

func (blockRenderers) NewRenderer(w, h int) (render.Renderer, error) {
	r := &blockRenderer{rng: rand.New(rand.NewPCG(1, 2))}
	for i := range r.grey {
		r.grey[i] = byte(r.rng.IntN(256))
	}
	return r, r.SetSize(w, h)
}

func (r *blockRenderer) SetSize(w, h int) error {
	r.frame = render.Frame{Width: w, Height: h, Y: make([]byte, w*h), U: make([]byte, w*h/4), V: make([]byte, w*h/4)}
	for i := range r.frame.U {
		r.frame.U[i], r.frame.V[i] = 128, 128
	}
	return nil
}

func (r *blockRenderer) Render(render.StereoViews) (*render.Frame, error) {
	start := time.Now()
	for range len(r.grey) / 10 {
		r.grey[r.rng.IntN(len(r.grey))] = byte(r.rng.IntN(256))
	}
	f := &r.frame
	for y := range f.Height {
		row := f.Y[y*f.Width : (y+1)*f.Width]
		by := y * 45 / f.Height
		for x := range row {
			row[x] = r.grey[by*80+x*80/f.Width]
		}
	}
	f.Timings = render.Timings{Render: time.Since(start)}
	return f, nil
}

func (r *blockRenderer) Close() error { return nil }

// frameRun is a run of received frames of one size.
type frameRun struct {
	w, h   uint32
	frames []*headset.Frame
}

// TestLadderOverNarrowLink is the degradation ladder end to end: a node
// (x264, a cheap renderer whose every frame differs: blockRenderer)
// asked for 1280x720@30 streams to a headset over a 300 kbit/s link. The
// ladder watches the congestion target only (DegradeBandwidth): on a
// loaded test machine the node's time per frame would step it down as
// well, and keep it from stepping back up, whatever the link. It must
// step down to a smaller picture, and step back up once the link has
// widened to 5 Mbit/s and the controller's target followed; every
// frame's FrameInfo names its size, and ffmpeg decodes each run of frames
// at its size. How the frames flowed is logged.
func TestLadderOverNarrowLink(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	r, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.80.0.0/24", MinDelay: 10 * time.Millisecond, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	nodeNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.80.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	hsNet, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.80.0.2"}})
	if err != nil {
		t.Fatal(err)
	}
	df, err := vnet.NewDelayFilter(hsNet)
	if err != nil {
		t.Fatal(err)
	}
	link := &narrowLink{dst: "10.80.0.2", delay: df, bps: 300_000}
	r.AddChunkFilter(link.filter)
	if err := r.AddNet(nodeNet); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNet(df); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Stop()
		_ = df.Close()
	})
	vnetSE := func(se *webrtc.SettingEngine, nw *vnet.Net) {
		se.SetNet(nw)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}

	const w, h = 1280, 720
	estimators := make(chan cc.BandwidthEstimator, 1)
	var bwe cc.BandwidthEstimator
	est := func() cc.BandwidthEstimator {
		if bwe == nil {
			bwe = <-estimators
		}
		return bwe
	}
	_, url := startNode(t, node.Config{
		OnBandwidthEstimator: func(e cc.BandwidthEstimator) {
			select {
			case estimators <- e:
			default:
			}
		},
		Width: w, Height: h, FPS: 30, BitRate: 4_000_000, Predictor: "none",
		Degrade: session.DegradeBandwidth, Renderers: blockRenderers{}, Encoders: builtin.Factory,
		SettingEngine: func(se *webrtc.SettingEngine) { vnetSE(se, nodeNet) },
	})
	se := &webrtc.SettingEngine{}
	vnetSE(se, hsNet)
	api, err := headset.NewAPI(se)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{API: api, FrameBuffer: 4096})
	poseCtx, stopPoses := context.WithCancel(ctx)
	posesDone := make(chan struct{})
	go func() { // the head swings ±40° every 4 s, poses at 90 Hz
		defer close(posesDone)
		tick := time.NewTicker(time.Second / 90)
		defer tick.Stop()
		start := time.Now()
		for seq := uint64(1); ; seq++ {
			select {
			case <-poseCtx.Done():
				return
			case <-tick.C:
			}
			yaw := 40 * math.Sin(2*math.Pi*time.Since(start).Seconds()/4)
			if err := c.SendPose(yawPose(seq, c.Now(), yaw)); err != nil {
				return
			}
		}
	}()
	defer func() {
		stopPoses()
		<-posesDone
	}()

	var (
		frames  []*headset.Frame
		arrived []time.Time
	)
	collect := func(until time.Time, done func() bool) {
		for time.Now().Before(until) && (done == nil || !done()) {
			select {
			case f := <-c.Frames():
				frames = append(frames, f)
				arrived = append(arrived, time.Now())
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("timed out")
			}
		}
	}
	rung := func(f *headset.Frame) int {
		if f.Info == nil {
			return -1
		}
		return int(f.Info.GetDegradationRung())
	}

	// Narrow: 300 kbit/s for 15 s.
	narrowStart := time.Now()
	collect(narrowStart.Add(15*time.Second), nil)
	narrowEnd := len(frames)
	maxRung, smallest := 0, uint32(w)
	for _, f := range frames {
		maxRung = max(maxRung, rung(f))
		if f.Info != nil {
			smallest = min(smallest, f.Info.GetWidth())
		}
	}
	var late int // frames in the last 5 s of the narrow phase
	var maxGap time.Duration
	for i, at := range arrived {
		if at.After(narrowStart.Add(10 * time.Second)) {
			late++
		}
		if i > 0 {
			maxGap = max(maxGap, at.Sub(arrived[i-1]))
		}
	}
	t.Logf("headset at the end of 300 kbit/s: %+v", c.Stats())
	t.Logf("node's controller and pacer at the end of 300 kbit/s: %v", est().GetStats())
	t.Logf("300 kbit/s: %d frames, %d in the last 5 s, the longest gap %v, the highest rung %d, the smallest width %d",
		narrowEnd, late, maxGap, maxRung, smallest)
	if maxRung == 0 || smallest >= w {
		t.Fatalf("no step down at 300 kbit/s: highest rung %d, smallest width %d", maxRung, smallest)
	}
	// Wide: 5 Mbit/s until the ladder has stepped up from where it ended
	// the narrow phase (at most 30 s). The step up needs the congestion
	// target at 0.06 bits per pixel of the rung above (933 kbit/s for
	// 960x540@30); on a saturated machine the controller may not climb
	// that far (its headset is starved and its feedback looks like a
	// queue, docs/network.md), and then there is nothing to recover to:
	// the test checks that the ladder steps up once the target has stayed
	// above 1 Mbit/s for longer than the ladder's hold and dwell.
	endRung := rung(frames[narrowEnd-1])
	link.setRate(5_000_000)
	wideStart := time.Now()
	var highSince time.Time // the target has been ≥ 1 Mbit/s since (zero: it is not)
	var highFor time.Duration
	maxTarget := 0
	collect(wideStart.Add(30*time.Second), func() bool {
		if tb := est().GetTargetBitrate(); tb >= 1_000_000 {
			if highSince.IsZero() {
				highSince = time.Now()
			}
			highFor = max(highFor, time.Since(highSince))
		} else {
			highSince = time.Time{}
		}
		maxTarget = max(maxTarget, est().GetTargetBitrate())
		return len(frames) > narrowEnd && rung(frames[len(frames)-1]) >= 0 && rung(frames[len(frames)-1]) < endRung
	})
	last := frames[len(frames)-1]
	stepped := rung(last) >= 0 && rung(last) < endRung
	t.Logf("5 Mbit/s: rung %d → %d (%dx%d) after %v, %d frames; the target reached %d bit/s, ≥ 1 Mbit/s for %v at a stretch",
		endRung, rung(last), last.Info.GetWidth(), last.Info.GetHeight(), time.Since(wideStart).Round(time.Millisecond),
		len(frames)-narrowEnd, maxTarget, highFor.Round(time.Millisecond))
	switch {
	case stepped:
		t.Logf("RECOVERED: stepped up %v after the link widened", time.Since(wideStart).Round(time.Millisecond))
	case highFor >= session.LadderUpHold+session.LadderDwell+2*time.Second:
		t.Fatalf("no step up although the target stayed ≥ 1 Mbit/s for %v: rung %d, was %d", highFor, rung(last), endRung)
	default:
		t.Logf("NOT EXERCISED: the controller did not hold 1 Mbit/s on this machine (load: see the report); no step up to expect")
	}

	// How the frames flowed at 300 kbit/s, against what the same node made
	// at 5 Mbit/s (on a loaded machine the node makes what its CPU share
	// allows whatever the link). Measured, not asserted: in 6 of 20 runs
	// the stream stalled on the narrow link for seconds (lost frames, a
	// key frame request for each, key frames the link cannot carry:
	// docs/network.md, "Degradation ladder") — a defect of the key-frame
	// sizes, not of the ladder, which this test would only report as
	// flaky.
	wideRate := float64(len(frames)-narrowEnd) / time.Since(wideStart).Seconds()
	t.Logf("frame rate: %.1f/s in the last 5 s at 300 kbit/s, %.1f/s at 5 Mbit/s; longest gap at 300 kbit/s %v",
		float64(late)/5, wideRate, maxGap)

	// Each run of one size starts with a key frame and decodes at its
	// size (FrameInfo's), every frame of it. A key frame whose FrameInfo
	// did not come within the headset's match timeout (the first one,
	// sent at the start rate into the narrow link, can sit behind a
	// queue with its FrameInfo) joins the frames that follow it: ffprobe
	// checks its size.
	var (
		runs      []frameRun
		unmatched []*headset.Frame // since the last key frame without FrameInfo
	)
	for _, f := range frames {
		if f.Info == nil {
			if f.KeyFrame || len(unmatched) > 0 {
				unmatched = append(unmatched, f)
			}
			continue
		}
		fw, fh := f.Info.GetWidth(), f.Info.GetHeight()
		if len(runs) == 0 || runs[len(runs)-1].w != fw || runs[len(runs)-1].h != fh {
			runs = append(runs, frameRun{w: fw, h: fh})
		}
		r := &runs[len(runs)-1]
		r.frames = append(append(r.frames, unmatched...), f)
		unmatched = nil
	}
	if len(runs) < 3 {
		t.Errorf("%d runs of one size, want ≥ 3 (down and back up)", len(runs))
	}
	dir := t.TempDir()
	for i, run := range runs {
		if !run.frames[0].KeyFrame {
			t.Errorf("run %d (%dx%d) starts without a key frame", i, run.w, run.h)
			continue
		}
		var b bytes.Buffer
		for _, f := range run.frames {
			b.Write(f.Data)
		}
		file := filepath.Join(dir, fmt.Sprintf("run%d.h264", i))
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
			"-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", file).CombinedOutput()
		fields := strings.Split(strings.TrimSpace(string(out)), ",")
		if err != nil || len(fields) != 3 || fields[0] != strconv.Itoa(int(run.w)) || fields[1] != strconv.Itoa(int(run.h)) {
			t.Errorf("run %d (%dx%d, %d frames): ffprobe %v: %q", i, run.w, run.h, len(run.frames), err, out)
			continue
		}
		// All of them but a frame that arrived complete after its
		// reference was lost (1 run in 20 lost two that way).
		if n, _ := strconv.Atoi(fields[2]); n < len(run.frames)*95/100 {
			t.Errorf("run %d (%dx%d): ffprobe read %d frames of %d", i, run.w, run.h, n, len(run.frames))
		}
		t.Logf("run %d: %dx%d, %d frames, decoded", i, run.w, run.h, len(run.frames))
	}
}
