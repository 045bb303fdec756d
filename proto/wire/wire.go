// Package wire is the one home of Holocast's wire contract beside the
// protobuf schema (proto/holocast.proto): the data channel labels and their
// delivery modes, the H.264 formats a node offers and accepts, the RTP video
// clock, and the conversions between the schema's vectors and quaternions
// and mathgl's. Node, session, headset client and bench all take these from
// here, so that the contract is written once. Annex-B parsing lives in the
// subpackage proto/wire/h264.
package wire

import "time"

// Data channel labels. The client opens both channels; the node accepts
// only these labels.
const (
	// PoseLabel is the channel of head poses: unordered, no retransmissions
	// (a lost pose is superseded by the next), one binary Pose per message,
	// client to node.
	PoseLabel = "pose"
	// ControlLabel is the reliable, ordered channel of ControlMessages in
	// both directions.
	ControlLabel = "control"
)

// VideoClockRate is the RTP clock of H.264 video (RFC 6184): 90 kHz.
const VideoClockRate = 90000

// RTPTimestamp converts a duration on the sender's clock to RTP clock
// ticks at VideoClockRate, wrapping modulo 2^32 as RTP timestamps do.
// Negative durations count as zero.
func RTPTimestamp(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	// 90000 ticks per 1e9 ns is 9 per 1e5 ns; uint64 keeps this exact for
	// centuries of session time.
	return uint32(uint64(d) * (VideoClockRate / 10000) / (uint64(time.Second) / 10000))
}
