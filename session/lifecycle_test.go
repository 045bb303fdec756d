package session

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/encoder/encodertest"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render/rendertest"
)

// checkGoroutines fails t if goroutines started during the test outlive
// it; call it first, so that its check runs after every other cleanup.
func checkGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// TestSessionStreams: once the headset connects, the session announces
// itself with a SessionInfo on the control channel and streams frames,
// each followed by a FrameInfo that names it by RTP timestamp and
// describes it (consecutive ids, key flag, size, bytes); without a
// congestion controller the bit rate stays at Config.BitRate.
func TestSessionStreams(t *testing.T) {
	checkGoroutines(t)
	h := startSession(t, harnessOptions{})
	h.waitStreaming()

	want := &holocastv1.SessionInfo{
		SessionId: "test-session", Width: 256, Height: 128, Fps: 30,
		Encoder: encodertest.FakeName, Renderer: rendertest.Name, Predictor: "none", Scene: "builtin",
	}
	if got := h.hs.sessionInfos()[0]; !proto.Equal(got, want) {
		t.Errorf("SessionInfo = %v, want %v", got, want)
	}

	// The first FrameInfos may be sent before the control channel is open
	// (and dropped); from the first one that arrives, every frame has one.
	const n = 10
	var infos []*holocastv1.FrameInfo
	waitFor(t, "10 frames with their FrameInfo", func() bool {
		infos = h.hs.frameInfos()
		if len(infos) < n {
			return false
		}
		for _, fi := range infos[:n] {
			if _, ok := h.hs.frameByTS(fi.GetRtpTimestamp()); !ok {
				return false
			}
		}
		return true
	})
	for i, fi := range infos[:n] {
		f, _ := h.hs.frameByTS(fi.GetRtpTimestamp())
		if fi.GetFrameId() != infos[0].GetFrameId()+uint64(i) {
			t.Errorf("FrameInfo %d has frame_id %d, want %d (consecutive)", i, fi.GetFrameId(), infos[0].GetFrameId()+uint64(i))
		}
		if i > 0 && fi.GetRtpTimestamp()-infos[i-1].GetRtpTimestamp() >= 1<<31 {
			t.Errorf("frame %d: RTP timestamp %d not after %d", fi.GetFrameId(), fi.GetRtpTimestamp(), infos[i-1].GetRtpTimestamp())
		}
		if fi.GetKeyFrame() != f.key {
			t.Errorf("frame %d: FrameInfo key_frame %v, but the access unit's key frame is %v", fi.GetFrameId(), fi.GetKeyFrame(), f.key)
		}
		if int(fi.GetEncodedBytes()) != len(f.data) {
			t.Errorf("frame %d: FrameInfo encoded_bytes %d, received %d bytes", fi.GetFrameId(), fi.GetEncodedBytes(), len(f.data))
		}
		if fi.GetWidth() != 256 || fi.GetHeight() != 128 {
			t.Errorf("frame %d: FrameInfo size %dx%d, want 256x128", fi.GetFrameId(), fi.GetWidth(), fi.GetHeight())
		}
		if fi.GetTimings() == nil {
			t.Errorf("frame %d: FrameInfo without timings", fi.GetFrameId())
		}
		// No pose has arrived: identity, pose_seq 0.
		q := fi.GetRenderedOrientation()
		if fi.GetPoseSeq() != 0 || !approx(1e-6, []float32{q.GetX(), q.GetY(), q.GetZ(), q.GetW()}, []float32{0, 0, 0, 1}) {
			t.Errorf("frame %d: pose_seq %d, orientation %v before any pose", fi.GetFrameId(), fi.GetPoseSeq(), q)
		}
	}
	if frames := h.hs.receivedFrames(); !frames[0].key {
		t.Errorf("first frame received is not a key frame")
	}
	st := h.s.Stats()
	if st.KeyFrames < 1 || st.FramesSent < n || st.FrameErrors != 0 {
		t.Errorf("stats %+v: want frames, a key frame, no errors", st)
	}
	if st.BitRate != h.cfg.BitRate || st.BitRateChanges != 0 {
		t.Errorf("without Deps.Bandwidth: BitRate %d (%d changes), want %d unchanged", st.BitRate, st.BitRateChanges, h.cfg.BitRate)
	}
	if got := len(h.encoders.all()); got != 1 {
		t.Errorf("%d encoders made, want 1", got)
	}
}

// TestSessionEnds: however a session ends — Close (once, or several at
// once), the headset closing its peer connection, or the headset vanishing
// from the network — Done closes (for a vanished headset within the ICE
// timeouts, far below pion's default 30 s), OnClose runs once, the renderer
// and encoder are closed, no frame is sent afterwards, Close still returns
// at once, and no goroutine outlives it.
func TestSessionEnds(t *testing.T) {
	// A headset that is gone counts as failed after the node's ICE
	// disconnected and failed timeouts; the slack is for a slow machine.
	goneWithin := shortICE.disconnected + shortICE.failed + 10*time.Second
	tests := []struct {
		name   string
		end    func(h *harness)
		within time.Duration
	}{
		{"Close", func(h *harness) {
			if err := h.s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}, waitLong},
		{"concurrent Close", func(h *harness) {
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := h.s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}()
			}
			wg.Wait()
		}, waitLong},
		{"headset closes its peer connection", func(h *harness) {
			if err := h.hs.pc.Close(); err != nil {
				t.Errorf("headset Close: %v", err)
			}
		}, goneWithin},
		{"headset vanishes", func(h *harness) { h.net.cut.Store(true) }, goneWithin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			h := startSession(t, harnessOptions{nodeICE: shortICE, headsetICE: shortICE})
			h.waitStreaming()
			h.waitFrames(3)

			start := time.Now()
			tt.end(h)
			waitClosed(t, tt.within, "the session to end", h.s.Done())
			t.Logf("session ended %v after %s", time.Since(start).Round(time.Millisecond), tt.name)

			waitFor(t, "OnClose", func() bool { return h.onClose.Load() > 0 })
			if h.renderers.Open() != 0 || h.encoders.open() != 0 {
				t.Errorf("after the end: %d renderers and %d encoders still open", h.renderers.Open(), h.encoders.open())
			}
			sent := h.s.Stats().FramesSent
			closed := make(chan struct{})
			go func() {
				_ = h.s.Close()
				close(closed)
			}()
			waitClosed(t, waitLong, "Close of an ended session", closed)
			time.Sleep(100 * time.Millisecond) // three frame slots
			if got := h.s.Stats().FramesSent; got != sent {
				t.Errorf("%d frames sent after the session ended", got-sent)
			}
			if n := h.onClose.Load(); n != 1 {
				t.Errorf("OnClose called %d times, want once", n)
			}
		})
	}
}

// TestSessionConnectTimeout: a session whose headset never connects ends
// after Config.ConnectTimeout (well before ICE, on pion's default timeouts,
// would give up after 30 s), as does one closed before it connects; no
// pipeline is ever built and OnClose runs once.
func TestSessionConnectTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	tests := []struct {
		name string
		end  func(h *harness)
	}{
		{"no connection within ConnectTimeout", func(*harness) {}},
		{"Close before connecting", func(h *harness) { _ = h.s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			h := startSession(t, harnessOptions{noAnswer: true, cfg: func(c *Config) { c.ConnectTimeout = timeout }})
			tt.end(h)
			waitClosed(t, timeout+10*time.Second, "the session to end", h.s.Done())
			waitFor(t, "OnClose", func() bool { return h.onClose.Load() > 0 })
			if err := h.s.Close(); err != nil {
				t.Errorf("Close after the end: %v", err)
			}
			if st := h.s.Stats(); st.FramesSent != 0 {
				t.Errorf("%d frames sent without a connection", st.FramesSent)
			}
			if n := len(h.renderers.Renderers()) + len(h.encoders.all()); n != 0 {
				t.Errorf("%d renderers and encoders made without a connection", n)
			}
			if n := h.onClose.Load(); n != 1 {
				t.Errorf("OnClose called %d times, want once", n)
			}
		})
	}
}
