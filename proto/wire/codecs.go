package wire

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// H264Format is one H.264 format of the contract: an RTP payload type and
// its profile-level-id, always with packetization-mode 1.
type H264Format struct {
	PayloadType webrtc.PayloadType
	// ProfileLevelID is the SDP profile-level-id, e.g. "42e01f".
	ProfileLevelID string
}

// FmtpLine returns the format's SDP fmtp parameters.
func (f H264Format) FmtpLine() string {
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + f.ProfileLevelID
}

// H264Formats are the formats a node accepts in an offer, preferred first.
// The node's encoders emit Constrained Baseline (x264 at its default
// preset), which decoders of every listed profile accept.
var H264Formats = []H264Format{
	{PayloadType: 102, ProfileLevelID: "42e01f"}, // Constrained Baseline 3.1
	{PayloadType: 106, ProfileLevelID: "42001f"}, // Baseline 3.1
	{PayloadType: 108, ProfileLevelID: "4d001f"}, // Main 3.1
}

// H264FmtpLine is the format of the node's video track and of a headset's
// offer: Constrained Baseline level 3.1, packetization-mode 1, which every
// browser decodes.
var H264FmtpLine = H264Formats[0].FmtpLine()

// Feedback are the RTCP feedback mechanisms the contract uses on video:
// NACK retransmissions, PLI and FIR key-frame requests, and transport-wide
// congestion control feedback.
func Feedback() []webrtc.RTCPFeedback {
	return []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBTransportCC},
	}
}

// H264Codec returns the codec parameters of one format with the contract's
// feedback.
func H264Codec(f H264Format) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:     webrtc.MimeTypeH264,
			ClockRate:    VideoClockRate,
			SDPFmtpLine:  f.FmtpLine(),
			RTCPFeedback: Feedback(),
		},
		PayloadType: f.PayloadType,
	}
}

// RTXPayloadType is the payload type of the RTX (RFC 4588) retransmission
// format paired with f: the one after f's.
func RTXPayloadType(f H264Format) webrtc.PayloadType { return f.PayloadType + 1 }

// RTXCodec returns the RTX retransmission format (RFC 4588, "video/rtx")
// paired with f: retransmitted packets travel on their own SSRC with this
// payload type, the original sequence number first in the payload.
func RTXCodec(f H264Format) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:    webrtc.MimeTypeRTX,
			ClockRate:   VideoClockRate,
			SDPFmtpLine: fmt.Sprintf("apt=%d", f.PayloadType),
		},
		PayloadType: RTXPayloadType(f),
	}
}

// RegisterRTX registers the RTX format of each of formats (all of
// H264Formats when none are given) as a video codec of m, after
// RegisterH264 registered the formats themselves. A peer whose offer has
// RTX gets NACKed packets as RTX packets on the RTX SSRC; one without
// gets them resent on the media SSRC.
func RegisterRTX(m *webrtc.MediaEngine, formats ...H264Format) error {
	if len(formats) == 0 {
		formats = H264Formats
	}
	for _, f := range formats {
		if err := m.RegisterCodec(RTXCodec(f), webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("wire: register RTX for %s: %w", f.ProfileLevelID, err)
		}
	}
	return nil
}

// RegisterH264 registers formats (all of H264Formats when none are given)
// as video codecs of m.
func RegisterH264(m *webrtc.MediaEngine, formats ...H264Format) error {
	if len(formats) == 0 {
		formats = H264Formats
	}
	for _, f := range formats {
		if err := m.RegisterCodec(H264Codec(f), webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("wire: register H.264 %s: %w", f.ProfileLevelID, err)
		}
	}
	return nil
}

// VideoTrackCapability is the capability of the node's H.264 video track.
func VideoTrackCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: VideoClockRate, SDPFmtpLine: H264FmtpLine}
}

// PoseChannelInit is the delivery mode of the pose channel: unordered and
// never retransmitted.
func PoseChannelInit() *webrtc.DataChannelInit {
	ordered, zero := false, uint16(0)
	return &webrtc.DataChannelInit{Ordered: &ordered, MaxRetransmits: &zero}
}
