package headset

import (
	"fmt"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/proto/wire"
)

// nackInterval is how often the headset's NACK generator reports missing
// packets.
const nackInterval = 20 * time.Millisecond

// NewAPI returns the WebRTC API a headset uses by default: the contract's
// preferred H.264 format (wire.H264Formats[0]) and pion's default
// interceptors, with NACKs every nackInterval. se may be nil; pass one to
// run over a virtual network.
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
	// Browsers NACK on detecting the gap.
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, ir,
		webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(nackInterval))); err != nil {
		return nil, fmt.Errorf("headset: interceptors: %w", err)
	}
	opts := []func(*webrtc.API){webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)}
	if se != nil {
		opts = append(opts, webrtc.WithSettingEngine(*se))
	}
	return webrtc.NewAPI(opts...), nil
}
