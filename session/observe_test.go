package session

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// TestObserverHooks: Deps.OnFrame reports every sent frame with its stage
// times and size, Deps.OnClientReport each reported motion-to-photon
// latency, and the receiver's generic NACKs are counted in
// Stats.NACKsReceived.
func TestObserverHooks(t *testing.T) {
	checkGoroutines(t)
	var (
		mu      sync.Mutex
		frames  []FrameStats
		reports []time.Duration
	)
	h := startSession(t, harnessOptions{deps: func(d *Deps) {
		d.OnFrame = func(s *Session, fs FrameStats) {
			mu.Lock()
			defer mu.Unlock()
			frames = append(frames, fs)
		}
		d.OnClientReport = func(s *Session, mtp time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, mtp)
		}
	}})
	h.waitStreaming()
	waitFor(t, "the video track", func() bool { return h.hs.ssrc.Load() != 0 })
	h.hs.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ClientReport{
		ClientReport: &holocastv1.ClientReport{MotionToPhotonUs: 42_000}}})
	h.hs.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ClientReport{
		ClientReport: &holocastv1.ClientReport{FramesReceived: 3}}}) // no latency: not reported
	nack := &rtcp.TransportLayerNack{MediaSSRC: h.hs.ssrc.Load(), Nacks: []rtcp.NackPair{{PacketID: 1}}}
	for range 2 {
		if err := h.hs.pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two NACKs counted", func() bool { return h.s.Stats().NACKsReceived == 2 })
	waitFor(t, "the ClientReport reported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(reports) > 0
	})
	h.waitFrames(3)
	_ = h.s.Close()

	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || reports[0] != 42*time.Millisecond {
		t.Errorf("client reports %v, want [42ms]", reports)
	}
	st := h.s.Stats()
	if uint64(len(frames)) != st.FramesSent {
		t.Errorf("OnFrame called %d times for %d frames sent", len(frames), st.FramesSent)
	}
	var bytes uint64
	keys := 0
	for _, f := range frames {
		bytes += uint64(f.Bytes)
		if f.KeyFrame {
			keys++
		}
		if f.Render < 0 || f.Encode < 0 || f.Send < 0 || f.Queue < 0 || f.PoseAge < 0 {
			t.Errorf("implausible frame stats %+v", f)
		}
	}
	if bytes != st.BytesSent || uint64(keys) != st.KeyFrames {
		t.Errorf("OnFrame reported %d bytes and %d key frames, Stats %d and %d", bytes, keys, st.BytesSent, st.KeyFrames)
	}
}
