package node

import (
	"os"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/playout"
	"github.com/holocast/holocast/proto/wire"
)

// TestChromiumOfferGetsRTX: the node's answer to an offer recorded from
// headless Chromium (testdata/chromium-offer.sdp: a receive-only video
// transceiver and a data channel) pairs an RTX format with the H.264
// format it picks and announces the RTX SSRC, and accepts Chromium's
// playout-delay header extension (package playout).
func TestChromiumOfferGetsRTX(t *testing.T) {
	offer, err := os.ReadFile("testdata/chromium-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	api, _, err := newSessionAPI(Config{BitRate: 4_000_000}, webrtc.SettingEngine{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	track, err := webrtc.NewTrackLocalStaticRTP(wire.VideoTrackCapability(), "video", "holocast")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	sdp := pc.LocalDescription().SDP
	if !strings.Contains(sdp, "a=ssrc-group:FID ") || sender.GetParameters().Encodings[0].RTX.SSRC == 0 {
		t.Errorf("no RTX SSRC in the answer:\n%s", sdp)
	}
	// Chromium offers the extension as ID 5.
	if !strings.Contains(sdp, "a=extmap:5 "+playout.URI) {
		t.Errorf("the answer lacks the playout-delay extension:\n%s", sdp)
	}
	// Chromium's H.264 42e01f is 108, its RTX 109 (apt=108).
	if !strings.Contains(sdp, "a=fmtp:109 apt=108") {
		t.Errorf("no RTX for Chromium's 42e01f (108) in the answer:\n%s", sdp)
	}
}
