package wire_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/proto/wire"
)

func TestRTPTimestamp(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want uint32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Second, 90000},
		{time.Second / 30, 2999}, // 2999.99997 ticks: truncated
		{100 * time.Millisecond / 3 * 3, 8999},
		{11 * time.Microsecond, 0}, // 0.99 ticks
		{12 * time.Microsecond, 1},
		// 2^32 ticks is 13.25 h: timestamps wrap modulo 2^32.
		{48 * time.Hour, uint32((uint64(48*3600) * 90000) % (1 << 32))},
		{100 * 24 * time.Hour, uint32((uint64(100*24*3600) * 90000) % (1 << 32))},
	} {
		if got := wire.RTPTimestamp(tc.d); got != tc.want {
			t.Errorf("RTPTimestamp(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestConversionsRoundTrip(t *testing.T) {
	q := mgl64.QuatRotate(0.7, mgl64.Vec3{1, 2, 3}.Normalize())
	v := mgl64.Vec3{0.25, -1.5, 3}
	if got := wire.QuatFromProto(wire.QuatToProto(q)); !got.ApproxEqualThreshold(q, 1e-6) {
		t.Errorf("quaternion round trip: %v -> %v", q, got)
	}
	if got := wire.Vec3FromProto(wire.Vec3ToProto(v)); !got.ApproxEqualThreshold(v, 1e-6) {
		t.Errorf("vector round trip: %v -> %v", v, got)
	}
	if got := wire.QuatFromProto(nil); got != mgl64.QuatIdent() {
		t.Errorf("nil quaternion = %v, want identity", got)
	}
	if got := wire.Vec3FromProto(nil); got != (mgl64.Vec3{}) {
		t.Errorf("nil vector = %v, want zero", got)
	}
	if w := wire.QuatToProto(q).GetW(); math.Abs(float64(w)-q.W) > 1e-6 {
		t.Errorf("W = %v, want %v", w, q.W)
	}
}

func TestRegisterH264(t *testing.T) {
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m); err != nil {
		t.Fatal(err)
	}
	if err := wire.RegisterRTX(m); err != nil {
		t.Fatal(err)
	}
	for _, f := range wire.H264Formats {
		c := wire.RTXCodec(f)
		if c.PayloadType != f.PayloadType+1 || c.SDPFmtpLine != fmt.Sprintf("apt=%d", f.PayloadType) || c.MimeType != webrtc.MimeTypeRTX {
			t.Errorf("RTX of %d: %+v", f.PayloadType, c)
		}
		for _, g := range wire.H264Formats {
			if g.PayloadType == c.PayloadType {
				t.Errorf("RTX payload type %d collides with an H.264 format", c.PayloadType)
			}
		}
	}
	if !strings.Contains(wire.H264FmtpLine, "packetization-mode=1") || !strings.Contains(wire.H264FmtpLine, "42e01f") {
		t.Errorf("H264FmtpLine = %q", wire.H264FmtpLine)
	}
	if c := wire.VideoTrackCapability(); c.ClockRate != wire.VideoClockRate || c.MimeType != webrtc.MimeTypeH264 {
		t.Errorf("track capability %+v", c)
	}
	init := wire.PoseChannelInit()
	if init.Ordered == nil || *init.Ordered || init.MaxRetransmits == nil || *init.MaxRetransmits != 0 {
		t.Errorf("pose channel must be unordered with no retransmissions: %+v", init)
	}
}
