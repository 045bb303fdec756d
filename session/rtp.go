package session

import (
	"fmt"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// rtpMTU bounds one RTP packet's payload, leaving room under a 1200-byte
// datagram for the RTP header and header extensions (TWCC) and for SRTP.
const rtpMTU = 1100

// packetWriter packetises access units into RTP with timestamps it is given,
// so that each frame's RTP timestamp is known and can be announced in its
// FrameInfo (TrackLocalStaticSample hides the timestamps it picks).
type packetWriter struct {
	track     *webrtc.TrackLocalStaticRTP
	payloader codecs.H264Payloader
	seq       uint16
}

// write sends one access unit; it returns the number of packets written.
func (w *packetWriter) write(au []byte, ts uint32) (int, error) {
	payloads := w.payloader.Payload(rtpMTU, au)
	for i, p := range payloads {
		pkt := &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         i == len(payloads)-1,
				SequenceNumber: w.seq,
				Timestamp:      ts,
			},
			Payload: p,
		}
		w.seq++
		if err := w.track.WriteRTP(pkt); err != nil {
			return i, fmt.Errorf("session: write RTP: %w", err)
		}
	}
	return len(payloads), nil
}
