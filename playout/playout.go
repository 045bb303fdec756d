// Package playout asks a WebRTC receiver to show each video frame as soon
// as it is decoded, with the RTP playout-delay header extension
// (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay).
//
// A browser's receiver normally holds decoded frames in its jitter buffer
// for a delay it estimates from the network's jitter, so that playback is
// smooth. A Holocast frame is already late the moment it is rendered (the
// node predicted the pose for the moment the frame reaches the eyes), and
// the headset corrects what remains by reprojection: smoothness bought
// with delay is the wrong trade. With the extension's minimum and maximum
// both zero, libwebrtc (Chromium, and the browsers built on it) switches
// to its low-latency renderer and shows each frame as soon as it is
// decoded. Receivers that do not offer the extension are unaffected: the
// interceptor writes it only where it was negotiated.
package playout

import (
	"fmt"
	"strings"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// URI names the playout-delay header extension in SDP.
const URI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// granularity is the unit of the extension's two 12-bit fields.
const granularity = 10 * time.Millisecond

// MaxDelay is the largest delay the extension can carry (4095 × 10 ms).
const MaxDelay = 4095 * granularity

// Register adds the extension to m's video header extensions, so that an
// answer accepts it where the offer has it.
func Register(m *webrtc.MediaEngine) error {
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: URI}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("playout: register header extension: %w", err)
	}
	return nil
}

// Factory makes interceptors that write the extension on every packet of
// every video stream that negotiated it. The zero Factory asks for no
// delay at all (minimum and maximum 0), which is what the node uses.
type Factory struct {
	// Min and Max bound the receiver's playout delay; both are rounded
	// down to 10 ms and must lie within [0, MaxDelay] with Min ≤ Max.
	Min, Max time.Duration
}

// NewInterceptor implements interceptor.Factory.
func (f Factory) NewInterceptor(string) (interceptor.Interceptor, error) {
	if f.Min < 0 || f.Max > MaxDelay || f.Min > f.Max {
		return nil, fmt.Errorf("playout: delay bounds %v..%v outside 0..%v", f.Min, f.Max, MaxDelay)
	}
	ext, err := rtp.PlayoutDelayExtension{
		MinDelay: uint16(f.Min / granularity), //nolint:gosec // bounded above
		MaxDelay: uint16(f.Max / granularity), //nolint:gosec // bounded above
	}.Marshal()
	if err != nil {
		return nil, fmt.Errorf("playout: %w", err)
	}
	return &writerInterceptor{ext: ext}, nil
}

// writerInterceptor adds the extension to each packet of a video stream.
type writerInterceptor struct {
	interceptor.NoOp
	ext []byte // marshalled once; never modified
}

// BindLocalStream implements interceptor.Interceptor.
func (w *writerInterceptor) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	id := extensionID(info)
	if id == 0 {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if err := h.SetExtension(id, w.ext); err != nil {
			return 0, fmt.Errorf("playout: set extension: %w", err)
		}
		return writer.Write(h, payload, a)
	})
}

// extensionID returns the extension's negotiated ID on a video stream, or
// 0 where it was not negotiated (0 is never a valid ID).
func extensionID(info *interceptor.StreamInfo) uint8 {
	if info == nil || !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return 0
	}
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == URI && e.ID > 0 && e.ID < 256 {
			return uint8(e.ID)
		}
	}
	return 0
}
