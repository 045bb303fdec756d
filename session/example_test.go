package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/rtp/codecs"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/encoder/encodertest"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/proto/wire/h264"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/rendertest"
	"github.com/holocast/holocast/session"
)

// Example runs a session for a headset played by a bare pion peer, both on
// pion's virtual network, with the pure-Go renderer and fake encoder: the
// headset offers a receive-only video track and the pose and control
// channels, the session answers, sends its SessionInfo when the control
// channel opens, and streams H.264 frames, each followed by a FrameInfo.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A virtual network with the node and the headset on it.
	router, _ := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.79.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	nodeNet, _ := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.79.0.1"}})
	headsetNet, _ := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.79.0.2"}})
	_ = router.AddNet(nodeNet)
	_ = router.AddNet(headsetNet)
	_ = router.Start()
	defer router.Stop()
	api := func(nw *vnet.Net) *webrtc.API {
		se := webrtc.SettingEngine{}
		se.SetNet(nw)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		m := &webrtc.MediaEngine{}
		_ = wire.RegisterH264(m)
		return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	}

	// The headset's offer.
	pc, _ := api(headsetNet).NewPeerConnection(webrtc.Configuration{})
	defer pc.Close()
	_, _ = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	_, _ = pc.CreateDataChannel(wire.PoseLabel, wire.PoseChannelInit())
	control, _ := pc.CreateDataChannel(wire.ControlLabel, nil)
	infos := make(chan *holocastv1.SessionInfo, 1)
	frameInfos := make(chan *holocastv1.FrameInfo, 100)
	control.OnMessage(func(m webrtc.DataChannelMessage) {
		var msg holocastv1.ControlMessage
		if proto.Unmarshal(m.Data, &msg) != nil {
			return
		}
		switch {
		case msg.GetSessionInfo() != nil:
			infos <- msg.GetSessionInfo()
		case msg.GetFrameInfo() != nil:
			select {
			case frameInfos <- msg.GetFrameInfo():
			default:
			}
		}
	})
	keyFrames := make(chan bool, 100) // whether each received access unit is a key frame
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		var depack codecs.H264Packet
		var au []byte
		for {
			pkt, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			nal, _ := depack.Unmarshal(pkt.Payload)
			if au = append(au, nal...); pkt.Marker {
				select {
				case keyFrames <- h264.IsKeyFrame(au):
				default:
				}
				au = au[:0]
			}
		}
	})
	offer, _ := pc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	_ = pc.SetLocalDescription(offer)
	<-gathered

	// The node's side: a session from the offer.
	s, err := session.New(ctx, pc.LocalDescription().SDP, session.Config{
		ID:        "example",
		Output:    session.Output{Width: 256, Height: 128, FPS: 30, Device: render.DefaultDevice(128, 128)},
		Limits:    session.DefaultLimits,
		BitRate:   1_000_000,
		Predictor: "none",
	}, session.Deps{
		API:       api(nodeNet),
		Renderers: &rendertest.Factory{},
		Encoders:  encodertest.FakeFactory,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	_ = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.Answer()})

	select {
	case info := <-infos:
		fmt.Printf("session %s: %dx%d at %d fps, encoder %q, renderer %q, predictor %q\n",
			info.GetSessionId(), info.GetWidth(), info.GetHeight(), info.GetFps(), info.GetEncoder(), info.GetRenderer(), info.GetPredictor())
	case <-ctx.Done():
		fmt.Println("no SessionInfo")
		return
	}
	select {
	case key := <-keyFrames:
		fmt.Println("first frame is a key frame:", key)
	case <-ctx.Done():
		fmt.Println("no frame")
		return
	}
	select {
	case fi := <-frameInfos:
		fmt.Printf("FrameInfo: %dx%d, pose_seq %d (no pose sent yet)\n", fi.GetWidth(), fi.GetHeight(), fi.GetPoseSeq())
	case <-ctx.Done():
		fmt.Println("no FrameInfo")
		return
	}

	// Closing the session (the node's side of a WHEP DELETE) ends it.
	_ = s.Close()
	<-s.Done()
	fmt.Println("frames sent:", s.Stats().FramesSent > 0)
	// Output:
	// session example: 256x128 at 30 fps, encoder "fake", renderer "rendertest", predictor "none"
	// first frame is a key frame: true
	// FrameInfo: 256x128, pose_seq 0 (no pose sent yet)
	// frames sent: true
}
