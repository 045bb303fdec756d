package headset

import (
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/proto/wire"
)

// nackInterval is how often the headset's NACK generator reports missing
// packets.
const nackInterval = 20 * time.Millisecond

// TWCCInterval is how often the headset sends transport-wide congestion
// control feedback: Chromium's interval at the rates of a video stream
// (libwebrtc keeps its feedback near 5 % of the rate, between 50 and
// 250 ms, which is 50 ms at a few hundred kbit/s and above). pion's
// default is 100 ms; a sender whose feedback comes half as often sees a
// link that narrows a report later, after its queue has overflowed.
const TWCCInterval = 50 * time.Millisecond

// SRTPReplayWindow is the headset's SRTP replay protection window in
// packets: Chromium's (libwebrtc sets libsrtp's window_size to 1024).
// pion's default is 64, and a NACK retransmission on the media SSRC
// arrives behind every packet sent since the lost one: at 4 Mbit/s
// (about 400 packets a second) a repair sent 110 ms after the original
// (a 100 ms round trip and the NACK interval) is 40-70 packets behind,
// and with 64 the SRTP layer dropped it as a replay before the NACK
// generator or the assembler saw it; the headset then NACKed it until
// it gave the frame up and asked for a key frame.
const SRTPReplayWindow = 1024

// NewAPI returns the WebRTC API a headset uses by default: the contract's
// preferred H.264 format (wire.H264Formats[0]) and pion's default
// interceptors, with NACKs when a gap shows (GapNACKFactory) and every
// nackInterval, transport-wide feedback every TWCCInterval, and an SRTP
// replay window of SRTPReplayWindow packets. se may be nil; pass one to
// run over a virtual network (NewAPI sets the replay window on a copy of
// it).
func NewAPI(se *webrtc.SettingEngine) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m, wire.H264Formats[0]); err != nil {
		return nil, fmt.Errorf("headset: %w", err)
	}
	// No RTX (RFC 4588) here, although the node sends it where offered:
	// pion's NACK generator (interceptor v0.1.51) never sees the packets
	// its receiver repairs from the RTX stream, and keeps NACKing them
	// until they leave its window; plain retransmissions on the media
	// SSRC end its NACKs at once.
	ir := &interceptor.Registry{}
	// NACK missing packets every 20 ms rather than pion's default 100 ms:
	// with a 100 ms interval a retransmission typically arrives just as the
	// assembler's JitterWait (100 ms by default) gives the frame up.
	// The first NACK for a gap goes out when it shows, as browsers send
	// it (GapNACKFactory); the generator repeats it.
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, ir,
		webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(nackInterval)),
		webrtc.WithTWCCOptions(twcc.SendInterval(TWCCInterval))); err != nil {
		return nil, fmt.Errorf("headset: interceptors: %w", err)
	}
	ir.Add(GapNACKFactory{})
	var s webrtc.SettingEngine
	if se != nil {
		s = *se
	}
	s.SetSRTPReplayProtectionWindow(SRTPReplayWindow)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s)), nil
}
