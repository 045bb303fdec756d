package session

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// minBystanderShare is the least share of its frame rate a well-behaved
// session must keep while another session on its node runs into a limit.
// It is far below what even a slow, loaded machine gives (the fake parts
// cost little); a session starved by its neighbour gets next to nothing.
const minBystanderShare = 0.25

// bystander is a well-behaved session on the same render worker as the
// session under test: it sends poses at 90 Hz and watches its frames.
type bystander struct {
	h      *harness
	stop   chan struct{}
	wg     sync.WaitGroup
	start  time.Time
	frames uint64
}

// startBystander connects a well-behaved session rendered on w; call it
// before the misbehaving session starts.
func startBystander(t *testing.T, w *sharedWorker) *bystander {
	t.Helper()
	h := startSession(t, harnessOptions{worker: w, cfg: func(c *Config) { c.ID = "bystander" }})
	h.waitStreaming()
	b := &bystander{h: h, stop: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		tick := time.NewTicker(11 * time.Millisecond)
		defer tick.Stop()
		for seq := uint64(1); ; seq++ {
			select {
			case <-b.stop:
				return
			case <-tick.C:
			}
			b2, _ := proto.Marshal(yawPose(seq, float64(seq%360)))
			_ = h.hs.pose.Send(b2)
		}
	}()
	t.Cleanup(b.halt)
	b.mark()
	return b
}

// mark starts the window over which check measures the frame rate.
func (b *bystander) mark() {
	b.start, b.frames = time.Now(), b.h.s.Stats().FramesSent
}

func (b *bystander) halt() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.wg.Wait()
}

// check asserts that the bystander ran through the abuse untouched: still
// streaming at its frame rate and size (at least minBystanderShare of its
// rate since mark), no limit reached, still taking poses.
func (b *bystander) check(t *testing.T) {
	t.Helper()
	h := b.h
	accepted := h.s.Stats().Intake.Accepted
	h.waitFrames(10)
	waitFor(t, "the bystander to take more poses", func() bool { return h.s.Stats().Intake.Accepted > accepted })
	elapsed := time.Since(b.start)
	frames := h.s.Stats().FramesSent - b.frames
	fps := float64(frames) / elapsed.Seconds()
	t.Logf("bystander: %d frames in %v (%.1f fps of %d)", frames, elapsed.Round(time.Millisecond), fps, h.cfg.Output.FPS)
	if fps < minBystanderShare*float64(h.cfg.Output.FPS) {
		t.Errorf("bystander: %.1f fps, want at least %.0f%% of %d", fps, 100*minBystanderShare, h.cfg.Output.FPS)
	}
	select {
	case <-h.s.Done():
		t.Fatalf("bystander session ended: %v", h.s.Err())
	default:
	}
	st := h.s.Stats()
	if st.RejectedChannels+st.OversizeMessages+st.PosesRateLimited+st.ControlRateLimited+st.PipelineRebuilds+st.DeviceConfigsSuperseded+st.FrameErrors != 0 {
		t.Errorf("bystander ran into a limit: %+v", st)
	}
	if fi := h.hs.lastInfo(); fi.GetWidth() != uint32(h.cfg.Output.Width) || fi.GetHeight() != uint32(h.cfg.Output.Height) {
		t.Errorf("bystander frames are %dx%d, want %dx%d", fi.GetWidth(), fi.GetHeight(), h.cfg.Output.Width, h.cfg.Output.Height)
	}
	if n := len(h.hs.noticeTexts()); n != 0 {
		t.Errorf("bystander got Notices: %q", h.hs.noticeTexts())
	}
}

// waitNotice waits for a Notice that contains want and returns it.
func waitNotice(t *testing.T, h *harness, want string) string {
	t.Helper()
	var got string
	waitFor(t, fmt.Sprintf("a Notice about %q", want), func() bool {
		for _, n := range h.hs.noticeTexts() {
			if strings.Contains(n, want) {
				got = n
				return true
			}
		}
		return false
	})
	return got
}

// checkLog asserts that the session logged a line with msg and its id.
func checkLog(t *testing.T, h *harness, msg string) {
	t.Helper()
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "msg=\""+msg+"\"") && strings.Contains(line, "session="+h.cfg.ID) {
			return
		}
	}
	t.Errorf("no log line %q with session=%s in:\n%s", msg, h.cfg.ID, h.logs.String())
}

// checkEnded waits for the session to end and checks why.
func checkEnded(t *testing.T, h *harness, want error) {
	t.Helper()
	waitClosed(t, waitLong, "the session to end", h.s.Done())
	if err := h.s.Err(); !errors.Is(err, want) {
		t.Errorf("Err() = %v, want %v", err, want)
	}
	checkLog(t, h, "ending session")
}

// openChannel opens a data channel from the headset and returns a channel
// closed when the node closes it.
func openChannel(t *testing.T, h *harness, label string) <-chan struct{} {
	t.Helper()
	dc, err := h.hs.pc.CreateDataChannel(label, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	var once sync.Once
	dc.OnClose(func() { once.Do(func() { close(closed) }) })
	return closed
}

// TestExtraDataChannelsClosed: a data channel other than the first pose
// and control channel (an unknown label, a second "pose", a second
// "control") is closed by the node at once, counted, logged and answered
// with a Notice; up to MaxRejectedChannels of them the session goes on
// streaming and taking poses. A session on the same worker is untouched.
func TestExtraDataChannelsClosed(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	h := startSession(t, harnessOptions{worker: w})
	h.waitStreaming()

	for i, label := range []string{"chat", wire.PoseLabel, wire.ControlLabel} {
		closed := openChannel(t, h, label)
		waitClosed(t, waitLong, fmt.Sprintf("the node to close the extra %q channel", label), closed)
		waitFor(t, "the rejection counted", func() bool { return h.s.Stats().RejectedChannels == uint64(i+1) })
		waitNotice(t, h, fmt.Sprintf("unexpected data channel %q closed", label))
	}
	checkLog(t, h, "data channel rejected")
	h.hs.sendPose(marshal(t, yawPose(7, 30)))
	waitFor(t, "a pose on the original channel", func() bool { return h.s.Stats().Intake.Accepted == 1 })
	h.waitFrames(5)
	if h.s.Err() != nil {
		t.Errorf("Err() = %v while running", h.s.Err())
	}
	by.check(t)
}

// TestChannelFloodEndsSession: a client that keeps opening data channels
// has each closed and, past MaxRejectedChannels, its session ended, with a
// Notice first; a session on the same worker is untouched.
func TestChannelFloodEndsSession(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	h := startSession(t, harnessOptions{worker: w, cfg: func(c *Config) { c.MaxRejectedChannels = 3 }})
	h.waitStreaming()

	for i := range 50 {
		if _, err := h.hs.pc.CreateDataChannel(fmt.Sprintf("flood-%d", i), nil); err != nil {
			break // the node may have closed the connection already
		}
	}
	checkEnded(t, h, ErrTooManyChannels)
	waitNotice(t, h, "too many unexpected data channels")
	if n := h.s.Stats().RejectedChannels; n < 4 {
		t.Errorf("RejectedChannels = %d, want more than 3", n)
	}
	by.check(t)
}

// TestOversizeMessage: the node advertises a 64 KiB max-message-size in
// its answer, and bounds its SCTP receive buffer to 128 KiB. A client that
// honours the answer cannot send a larger message. One that ignores it and
// sends one that fits in the receive buffer has its session ended (the
// message is counted, not handled), with a Notice first; a message larger
// than the receive buffer never arrives whole: the client's channels stall
// and its session ends as idle. A session on the same worker is untouched.
func TestOversizeMessage(t *testing.T) {
	checkGoroutines(t)
	const maxMsg, rcvBuf = 64 << 10, 128 << 10
	limit := func(se *webrtc.SettingEngine) {
		se.SetSCTPMaxMessageSize(maxMsg)
		se.SetSCTPMaxReceiveBufferSize(rcvBuf)
	}
	ignoreLimit := func(sdp string) string {
		return strings.ReplaceAll(sdp, fmt.Sprintf("a=max-message-size:%d", maxMsg), "a=max-message-size:1048576")
	}
	cfg := func(c *Config) {
		c.MaxMessageSize = maxMsg
		c.IdleTimeout = 2 * time.Second
	}
	w := newSharedWorker()
	by := startBystander(t, w)

	t.Run("honouring client", func(t *testing.T) {
		h := startSession(t, harnessOptions{worker: w, nodeSetting: limit, cfg: cfg})
		if !strings.Contains(h.s.Answer(), fmt.Sprintf("a=max-message-size:%d\r\n", maxMsg)) {
			t.Fatalf("answer does not advertise max-message-size %d:\n%s", maxMsg, h.s.Answer())
		}
		h.waitStreaming()
		if err := h.hs.pose.Send(make([]byte, maxMsg+1)); err == nil {
			t.Error("the headset sent a message over the node's max-message-size")
		}
		if err := h.hs.pose.Send(marshal(t, yawPose(1, 0))); err != nil {
			t.Error(err)
		}
		waitFor(t, "a pose after the refused message", func() bool { return h.s.Stats().Intake.Accepted == 1 })
	})
	t.Run("ignoring client", func(t *testing.T) {
		h := startSession(t, harnessOptions{worker: w, nodeSetting: limit, answer: ignoreLimit, cfg: cfg})
		h.waitStreaming()
		h.hs.sendPose(make([]byte, 100<<10))
		checkEnded(t, h, ErrMessageTooLarge)
		waitNotice(t, h, "data channel message too large: 102400 bytes")
		if st := h.s.Stats(); st.OversizeMessages != 1 || intakeTotal(st.Intake) != 0 {
			t.Errorf("OversizeMessages %d, intake %+v: want 1 and nothing handled", st.OversizeMessages, st.Intake)
		}
	})
	t.Run("larger than the receive buffer", func(t *testing.T) {
		h := startSession(t, harnessOptions{worker: w, nodeSetting: limit, answer: ignoreLimit, cfg: cfg})
		h.waitStreaming()
		if err := h.hs.control.Send(make([]byte, 3*rcvBuf)); err != nil {
			t.Fatal(err)
		}
		// The client keeps sending poses, but its association's receive
		// window stays full of the message that never completes: they stop
		// arriving, and the session ends as idle.
	poses:
		for seq := uint64(1); ; seq++ {
			_ = h.hs.pose.Send(marshal(t, yawPose(seq, 0)))
			select {
			case <-h.s.Done():
				break poses
			case <-time.After(50 * time.Millisecond):
			}
		}
		checkEnded(t, h, ErrIdle)
		if st := h.s.Stats(); st.OversizeMessages != 0 || st.BadControl != 0 {
			t.Errorf("OversizeMessages %d, BadControl %d: want the message never delivered", st.OversizeMessages, st.BadControl)
		}
	})
	by.check(t)
}

// TestPoseFlood: poses beyond PoseRate are dropped and counted, with a
// Notice and a log line; no more are taken than the token bucket allows.
// A session on the same worker is untouched.
func TestPoseFlood(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	rate := Rate{PerSecond: 100, Burst: 20}
	h := startSession(t, harnessOptions{worker: w, cfg: func(c *Config) { c.PoseRate = rate }})
	h.waitStreaming()

	const n = 1000
	start := time.Now()
	for seq := uint64(1); seq <= n; seq++ {
		h.hs.sendPose(marshal(t, yawPose(seq, 10)))
	}
	waitNotice(t, h, `rate limit exceeded on "pose"`)
	checkLog(t, h, "messages dropped")
	// Datagrams may be lost (the channel is unreliable): wait until the
	// count stops growing.
	var st Stats
	waitFor(t, "the flood judged", func() bool {
		before := h.s.Stats()
		time.Sleep(200 * time.Millisecond)
		st = h.s.Stats()
		return before.PosesRateLimited == st.PosesRateLimited && intakeTotal(before.Intake) == intakeTotal(st.Intake)
	})
	elapsed := time.Since(start)
	taken := intakeTotal(st.Intake)
	if most := uint64(float64(rate.Burst) + rate.PerSecond*elapsed.Seconds() + 1); taken > most {
		t.Errorf("%d poses taken in %v, the bucket allows at most %d", taken, elapsed, most)
	}
	if st.PosesRateLimited == 0 || st.PosesRateLimited+taken > n {
		t.Errorf("PosesRateLimited %d, taken %d of %d", st.PosesRateLimited, taken, n)
	}
	h.waitFrames(5)
	by.check(t)
}

// TestControlFlood: control messages beyond ControlRate are dropped and
// counted, with a Notice and a log line; the session goes on. A session on
// the same worker is untouched.
func TestControlFlood(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	rate := Rate{PerSecond: 20, Burst: 10}
	h := startSession(t, harnessOptions{worker: w, cfg: func(c *Config) { c.ControlRate = rate }})
	h.waitStreaming()

	const n = 500
	start := time.Now()
	for i := range n {
		h.hs.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ClientReport{
			ClientReport: &holocastv1.ClientReport{FramesReceived: uint64(i)}}})
	}
	waitNotice(t, h, `rate limit exceeded on "control"`)
	checkLog(t, h, "messages dropped")
	// The channel is reliable: every message arrives, judged in order.
	waitFor(t, "the flood judged", func() bool {
		return h.s.Stats().ControlRateLimited >= n-uint64(float64(rate.Burst)+rate.PerSecond*time.Since(start).Seconds()+1)
	})
	if got := h.s.Stats().ControlRateLimited; got > n {
		t.Errorf("ControlRateLimited %d of %d", got, n)
	}
	h.waitFrames(5)
	by.check(t)
}

// TestDeviceConfigFlood: a flood of DeviceConfigs that change the size
// rebuilds the pipeline at most once per RebuildInterval (the control
// callback never waits for it), counts and reports the superseded
// configs, and ends at the newest one. A session on the same worker is
// untouched.
func TestDeviceConfigFlood(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	h := startSession(t, harnessOptions{worker: w, cfg: func(c *Config) {
		c.ControlRate = Rate{PerSecond: 10_000, Burst: 10_000} // let the flood through to the rebuild limit
	}})
	h.waitStreaming()
	encodersBefore := len(h.encoders.all())

	const n = 600
	start := time.Now()
	for i := range n {
		width := uint32(128 + 4*(i%50))
		h.hs.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{
			DeviceConfig: &holocastv1.DeviceConfig{Width: width, Height: 128}}})
		time.Sleep(3 * time.Millisecond)
	}
	last := uint32(128 + 4*((n-1)%50))
	waitNotice(t, h, "device config superseded")
	checkLog(t, h, "device config superseded")
	waitFor(t, "the newest config applied", func() bool {
		fi := h.hs.lastInfo()
		return fi.GetWidth() == last && h.s.Stats().PipelineRebuilds > 0
	})
	elapsed := time.Since(start)
	st := h.s.Stats()
	if most := uint64(elapsed/DefaultRebuildInterval) + 1; st.PipelineRebuilds > most {
		t.Errorf("%d rebuilds in %v, want at most %d (one per %v)", st.PipelineRebuilds, elapsed, most, DefaultRebuildInterval)
	}
	if made := len(h.encoders.all()) - encodersBefore; uint64(made) != st.PipelineRebuilds {
		t.Errorf("%d encoders made for %d rebuilds", made, st.PipelineRebuilds)
	}
	if st.DeviceConfigsSuperseded == 0 || st.BadControl != 0 || st.ControlRateLimited != 0 {
		t.Errorf("superseded %d, bad %d, rate limited %d", st.DeviceConfigsSuperseded, st.BadControl, st.ControlRateLimited)
	}
	t.Logf("%d DeviceConfigs in %v: %d rebuilds, %d superseded", n, elapsed.Round(time.Millisecond), st.PipelineRebuilds, st.DeviceConfigsSuperseded)
	by.check(t)
}

// TestMaxDuration: a session ends by itself after MaxDuration, with a
// Notice first; a session on the same worker is untouched.
func TestMaxDuration(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	const limit = 2 * time.Second
	start := time.Now()
	h := startSession(t, harnessOptions{worker: w, cfg: func(c *Config) { c.MaxDuration = limit }})
	h.waitStreaming()
	checkEnded(t, h, ErrMaxDuration)
	if d := time.Since(start); d < limit {
		t.Errorf("ended after %v, before its limit of %v", d, limit)
	}
	waitNotice(t, h, "maximum duration reached")
	if h.onClose.Load() != 1 {
		t.Errorf("OnClose ran %d times", h.onClose.Load())
	}
	by.check(t)
}

// TestIdleTimeout: a session with a pose channel ends after IdleTimeout
// without a pose, whether it never sent one or stopped, with a Notice
// first; a plain WHEP viewer (no data channels) with the same timeout and
// the bystander that sends poses go on.
func TestIdleTimeout(t *testing.T) {
	checkGoroutines(t)
	w := newSharedWorker()
	by := startBystander(t, w)
	const idle = 1500 * time.Millisecond
	withIdle := func(c *Config) { c.IdleTimeout = idle }
	viewer := startSession(t, harnessOptions{worker: w, noDataChannels: true, cfg: func(c *Config) { withIdle(c); c.ID = "viewer" }})

	t.Run("never sent a pose", func(t *testing.T) {
		h := startSession(t, harnessOptions{worker: w, cfg: withIdle})
		h.waitStreaming()
		checkEnded(t, h, ErrIdle)
		waitNotice(t, h, "no pose for 1.5s")
	})
	t.Run("stopped sending poses", func(t *testing.T) {
		h := startSession(t, harnessOptions{worker: w, cfg: withIdle})
		h.waitStreaming()
		var sent atomic.Uint64
		for seq := uint64(1); seq <= 30; seq++ { // 3 s of poses keep it alive
			h.hs.sendPose(marshal(t, yawPose(seq, 0)))
			sent.Add(1)
			time.Sleep(100 * time.Millisecond)
			select {
			case <-h.s.Done():
				t.Fatalf("ended after %d poses while they came every 100 ms: %v", sent.Load(), h.s.Err())
			default:
			}
		}
		checkEnded(t, h, ErrIdle)
		waitNotice(t, h, "session: idle")
	})
	waitFor(t, "the viewer's frames", func() bool { return viewer.s.Stats().FramesSent > 0 })
	viewer.waitFrames(10)
	select {
	case <-viewer.s.Done():
		t.Errorf("the viewer without data channels was ended: %v", viewer.s.Err())
	default:
	}
	by.check(t)
}
