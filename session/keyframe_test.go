package session

import (
	"testing"
	"time"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// TestKeyFrameRequestsThrottled: a burst of key frame requests (PLI or
// FIR, written by the headset's peer connection) forces key frames no
// closer together than MinKeyFrameInterval, measured on the session's own
// clock by the frames' RTP timestamps (which are stamped with the same
// frame start time the throttle reads), so that the check does not depend
// on how fast the machine is. Every request is counted, at least one key
// frame is forced, the headset receives the forced key frames as IDR
// access units, and a lone request after the interval is served with
// exactly one key frame.
func TestKeyFrameRequestsThrottled(t *testing.T) {
	minGap := wire.RTPTimestamp(MinKeyFrameInterval) - 1 // timestamps truncate
	tests := []struct {
		name  string
		fir   bool
		n     int
		every time.Duration // between requests
	}{
		{"PLI burst back to back", false, 20, 0},
		{"PLI burst over half a second", false, 50, 10 * time.Millisecond},
		{"FIR burst over half a second", true, 50, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGoroutines(t)
			// Periodic key frames off: every key frame after the first is
			// a forced one.
			h := startSession(t, harnessOptions{keyFrameInterval: 1 << 20})
			h.waitStreaming()
			waitFor(t, "the video track", func() bool { return h.hs.ssrc.Load() != 0 })

			for i := range tt.n {
				h.hs.requestKeyFrame(tt.fir, uint8(i))
				if tt.every > 0 {
					time.Sleep(tt.every)
				}
			}
			waitFor(t, "every request counted", func() bool { return h.s.Stats().KeyFrameRequests == uint64(tt.n) })
			waitFor(t, "the requests served", func() bool { return !h.s.keyFrame.Load() })
			h.hs.waitInfo(h.nextFrameID())

			forced := forcedKeyFrames(t, h, minGap)
			enc := h.encoders.last().Stats()
			if len(forced) == 0 || enc.Forced != len(forced) {
				t.Fatalf("%d requests: encoder forced %d key frames, %d key frames after the first arrived; want at least one, all arrived", tt.n, enc.Forced, len(forced))
			}
			t.Logf("%d requests forced %d key frames", tt.n, len(forced))
			if st := h.s.Stats(); st.KeyFrames != uint64(1+enc.Forced) || enc.KeyFrames != 1+enc.Forced {
				t.Errorf("session counted %d key frames, encoder made %d; want the first plus %d forced", st.KeyFrames, enc.KeyFrames, enc.Forced)
			}

			// Once the interval has passed on the session's clock, a single
			// request is served at the next frame, with one key frame.
			lastKey := forced[len(forced)-1].GetRtpTimestamp()
			waitFor(t, "a frame MinKeyFrameInterval after the last key frame", func() bool {
				fi := h.hs.lastInfo()
				return fi.GetRtpTimestamp()-lastKey > minGap && fi.GetRtpTimestamp()-lastKey < 1<<31
			})
			h.hs.requestKeyFrame(tt.fir, uint8(tt.n))
			waitFor(t, "the lone request served", func() bool { return h.encoders.last().Stats().Forced == enc.Forced+1 })
			h.hs.waitInfo(h.nextFrameID())
			if got := forcedKeyFrames(t, h, minGap); len(got) != len(forced)+1 {
				t.Errorf("lone request: %d key frames after the first, want %d", len(got), len(forced)+1)
			}
		})
	}
}

// forcedKeyFrames returns the FrameInfos of the key frames after the
// session's first, checking that each arrived as an IDR access unit and
// that they are at least minGap RTP ticks apart.
func forcedKeyFrames(t *testing.T, h *harness, minGap uint32) []*holocastv1.FrameInfo {
	t.Helper()
	var keys []*holocastv1.FrameInfo
	for _, fi := range h.hs.frameInfos() {
		if !fi.GetKeyFrame() || fi.GetFrameId() == 1 {
			continue
		}
		if f, ok := h.hs.frameByTS(fi.GetRtpTimestamp()); !ok || !f.key {
			t.Errorf("key frame %d: received %v, IDR %v", fi.GetFrameId(), ok, f.key)
		}
		if n := len(keys); n > 0 {
			gap := fi.GetRtpTimestamp() - keys[n-1].GetRtpTimestamp()
			if gap < minGap {
				t.Errorf("key frames %d and %d only %v apart, want at least %v", keys[n-1].GetFrameId(), fi.GetFrameId(),
					time.Duration(gap)*time.Second/wire.VideoClockRate, MinKeyFrameInterval)
			}
		}
		keys = append(keys, fi)
	}
	return keys
}
