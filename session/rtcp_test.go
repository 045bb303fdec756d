package session

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtcp"
)

// TestMalformedRTCPDoesNotStopKeyFrames: one RTCP packet that does not
// parse (here a transport-wide congestion control feedback whose status
// count promises packets it does not describe) makes pion's RTCP reader
// chain return an error for that read. The session must count it and keep
// reading: the headset's next PLI still forces a key frame. (Before, the
// read loop ended at the first error, so that one packet disabled key
// frame requests, and the NACK responder that runs inside the same reads,
// for the rest of the session.)
func TestMalformedRTCPDoesNotStopKeyFrames(t *testing.T) {
	checkGoroutines(t)
	h := startSession(t, harnessOptions{keyFrameInterval: 1 << 20})
	h.waitStreaming()
	waitFor(t, "the video track", func() bool { return h.hs.ssrc.Load() != 0 })

	// RTPFB (205), FMT 15 (transport-cc), length 4 words + 1: sender SSRC,
	// media SSRC, base sequence 0, status count 65535, reference time and
	// feedback count, and no packet chunks at all.
	bad := make([]byte, 20)
	bad[0], bad[1] = 0x80|15, 205
	binary.BigEndian.PutUint16(bad[2:], 4)
	binary.BigEndian.PutUint32(bad[4:], 1)
	binary.BigEndian.PutUint32(bad[8:], h.hs.ssrc.Load())
	binary.BigEndian.PutUint16(bad[14:], 0xffff)
	var probe rtcp.TransportLayerCC
	if err := probe.Unmarshal(bad); err == nil {
		t.Fatal("the crafted feedback parses; it must not")
	}
	if err := h.hs.pc.WriteRTCP([]rtcp.Packet{&rawRTCP{bad}}); err != nil {
		t.Fatalf("write RTCP: %v", err)
	}
	waitFor(t, "the malformed packet counted", func() bool { return h.s.Stats().RTCPErrors > 0 })

	h.hs.requestKeyFrame(false, 0)
	waitFor(t, "a key frame forced by the PLI after the malformed packet", func() bool {
		return h.encoders.last().Stats().Forced == 1
	})
	if st := h.s.Stats(); st.KeyFrameRequests != 1 {
		t.Errorf("key frame requests %d, want 1", st.KeyFrameRequests)
	}
}

// rawRTCP writes its bytes as they are (rtcp.RawPacket's Marshal does the
// same, but pion's interceptors may look into packets by type; this one is
// opaque to them).
type rawRTCP struct{ b []byte }

func (p *rawRTCP) Marshal() ([]byte, error)  { return p.b, nil }
func (p *rawRTCP) Unmarshal(b []byte) error  { p.b = append(p.b[:0], b...); return nil }
func (p *rawRTCP) MarshalSize() int          { return len(p.b) }
func (p *rawRTCP) DestinationSSRC() []uint32 { return nil }
