package node

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/congestion"
	"github.com/holocast/holocast/proto/wire"
)

// lossyLink is a vnet link between a sender (10.79.0.1) and a receiver
// (10.79.0.2) with 20 ms one way that drops the first transmission of
// every 20th RTP packet of one SSRC (the header of an SRTP packet is in
// the clear).
type lossyLink struct {
	router           *vnet.Router
	sender, receiver *vnet.Net

	mu      sync.Mutex
	ssrc    uint32 // media SSRC whose packets are dropped; 0 before it is known
	seen    map[uint16]bool
	dropped map[uint16]bool
}

func newLossyLink(t *testing.T) *lossyLink {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	r, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "10.79.0.0/24", MinDelay: 20 * time.Millisecond, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	l := &lossyLink{router: r, seen: map[uint16]bool{}, dropped: map[uint16]bool{}}
	r.AddChunkFilter(l.filter)
	for _, nic := range []struct {
		ip  string
		dst **vnet.Net
	}{{"10.79.0.1", &l.sender}, {"10.79.0.2", &l.receiver}} {
		if *nic.dst, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{nic.ip}}); err != nil {
			t.Fatal(err)
		}
		if err := r.AddNet(*nic.dst); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return l
}

func (l *lossyLink) filter(c vnet.Chunk) bool {
	if c.Network() != "udp" {
		return true
	}
	var h rtp.Header
	b := c.UserData()
	if len(b) < 12 || b[0]>>6 != 2 || (b[1]&0x7f >= 64 && b[1]&0x7f <= 95) { // not RTP (STUN, DTLS, RTCP)
		return true
	}
	if _, err := h.Unmarshal(b); err != nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h.SSRC != l.ssrc || l.seen[h.SequenceNumber] {
		return true
	}
	l.seen[h.SequenceNumber] = true
	if h.SequenceNumber%20 == 7 {
		l.dropped[h.SequenceNumber] = true
		return false
	}
	return true
}

func (l *lossyLink) setSSRC(ssrc uint32) {
	l.mu.Lock()
	l.ssrc = ssrc
	l.mu.Unlock()
}

func (l *lossyLink) droppedSeqs() map[uint16]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[uint16]bool, len(l.dropped))
	for s := range l.dropped {
		out[s] = true
	}
	return out
}

func vnetEngine(nw *vnet.Net) webrtc.SettingEngine {
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	se := webrtc.SettingEngine{LoggerFactory: lf}
	se.SetNet(nw)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return se
}

// receivedPacket is what the receiver's track returned for one packet.
type receivedPacket struct {
	seq        uint16
	rtx        bool   // it arrived as an RTX packet
	rtxSSRC    uint32 // the RTX packet's SSRC and payload type
	rtxPT      uint8
	payloadSeq uint16 // the sequence number the sender wrote into the payload
}

// TestRTXOverLossyLink runs the node's WebRTC stack (newSessionAPI: the
// congestion controller, its pacer and retransmission budget, pion's NACK
// responder) against a pion receiver over a link that drops 5 % of the
// media packets. A receiver that offers RTX gets the lost packets back as
// RTX packets (its own SSRC, the RTX payload type whose apt is the H.264
// one, the original sequence number first in the payload); one that does
// not gets them resent on the media SSRC.
func TestRTXOverLossyLink(t *testing.T) {
	for _, withRTX := range []bool{true, false} {
		t.Run(fmt.Sprintf("rtx=%v", withRTX), func(t *testing.T) { testRetransmission(t, withRTX) })
	}
}

func testRetransmission(t *testing.T, withRTX bool) {
	link := newLossyLink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	estimators := make(chan cc.BandwidthEstimator, 1)
	api, _, err := newSessionAPI(Config{BitRate: 4_000_000, OnBandwidthEstimator: func(e cc.BandwidthEstimator) {
		select {
		case estimators <- e:
		default:
		}
	}}, vnetEngine(link.sender))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Close() }()
	track, err := webrtc.NewTrackLocalStaticRTP(wire.VideoTrackCapability(), "video", "holocast")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := tx.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // read RTCP so the interceptors see NACKs
		for {
			if _, _, err := sender.ReadRTCP(); err != nil {
				return
			}
		}
	}()

	// The receiver: the headset's choice of format, RTX or not, pion's
	// default interceptors with NACKs every 20 ms (as clients/headset).
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m, wire.H264Formats[0]); err != nil {
		t.Fatal(err)
	}
	if withRTX {
		if err := wire.RegisterRTX(m, wire.H264Formats[0]); err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, ir,
		webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(20*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	rx, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(vnetEngine(link.receiver))).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rx.Close() }()
	if _, err := rx.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		received []receivedPacket
		recvPar  webrtc.RTPParameters
	)
	rx.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		mu.Lock()
		recvPar = r.GetParameters()
		mu.Unlock()
		for {
			p, attr, err := tr.ReadRTP()
			if err != nil {
				return
			}
			rp := receivedPacket{seq: p.SequenceNumber}
			if len(p.Payload) >= 2 {
				rp.payloadSeq = uint16(p.Payload[0])<<8 | uint16(p.Payload[1])
			}
			if v, ok := attr.Get(webrtc.AttributeRtxSsrc).(uint32); ok {
				rp.rtx, rp.rtxSSRC = true, v
				rp.rtxPT, _ = attr.Get(webrtc.AttributeRtxPayloadType).(uint8)
			}
			mu.Lock()
			received = append(received, rp)
			mu.Unlock()
		}
	})

	offer, err := rx.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(rx)
	if err := rx.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := tx.SetRemoteDescription(*rx.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := tx.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done = webrtc.GatheringCompletePromise(tx)
	if err := tx.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := rx.SetRemoteDescription(*tx.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	enc := sender.GetParameters().Encodings[0]
	if withRTX != (enc.RTX.SSRC != 0) {
		t.Fatalf("sender's RTX SSRC %d with a receiver offering RTX=%v", enc.RTX.SSRC, withRTX)
	}
	if withRTX != strings.Contains(tx.LocalDescription().SDP, "a=ssrc-group:FID") {
		t.Errorf("answer's FID group does not match RTX=%v:\n%s", withRTX, tx.LocalDescription().SDP)
	}
	link.setSSRC(uint32(enc.SSRC))
	connected := make(chan struct{})
	var once sync.Once
	tx.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("not connected")
	}

	// 4 s of a 30 fps stream of 4 packets of 800 bytes (770 kbit/s), each
	// payload starting with its sequence number.
	const frames, perFrame = 120, 4
	seq := uint16(0)
	tick := time.NewTicker(time.Second / 30)
	for f := range frames {
		<-tick.C
		for i := range perFrame {
			payload := make([]byte, 800)
			payload[0], payload[1] = byte(seq>>8), byte(seq)
			if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(f) * 3000, Marker: i == perFrame-1}, Payload: payload}); err != nil {
				t.Fatal(err)
			}
			seq++
		}
	}
	tick.Stop()
	dropped := link.droppedSeqs()
	if len(dropped) < frames*perFrame/20-2 {
		t.Fatalf("the link dropped %d packets, want about %d", len(dropped), frames*perFrame/20)
	}
	recovered := func() (int, []receivedPacket) {
		mu.Lock()
		defer mu.Unlock()
		n, got := 0, map[uint16]bool{}
		for _, p := range received {
			if dropped[p.seq] && !got[p.seq] {
				got[p.seq] = true
				n++
			}
		}
		return n, append([]receivedPacket(nil), received...)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := recovered(); n == len(dropped) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	n, pkts := recovered()
	var st congestion.RetransmitStats
	select {
	case e := <-estimators:
		st = e.(*guardedEstimator).BandwidthEstimator.(*congestion.Estimator).RetransmitStats()
	default:
		t.Fatal("no estimator")
	}
	t.Logf("RTX=%v: %d packets dropped by the link, %d recovered; the node's retransmitter: %+v", withRTX, len(dropped), n, st)
	// Every dropped packet should come back; on a loaded machine a NACK
	// may come later than the age limit (the retransmitter's TooOld),
	// which is the budget working, not a failure of RTX.
	if n+int(st.TooOld) < len(dropped) || n < len(dropped)*3/4 {
		t.Errorf("%d of %d dropped packets recovered (%d too old to resend)", n, len(dropped), st.TooOld)
	}
	rtxPT := uint8(wire.RTXPayloadType(wire.H264Formats[0]))
	for _, p := range pkts {
		if p.payloadSeq != p.seq {
			t.Fatalf("packet %d carries the payload of %d", p.seq, p.payloadSeq)
		}
		switch {
		case p.rtx && !withRTX:
			t.Fatalf("an RTX packet without RTX negotiated: %+v", p)
		case p.rtx && (p.rtxSSRC != uint32(enc.RTX.SSRC) || p.rtxPT != rtxPT):
			t.Fatalf("RTX packet %+v, want SSRC %d and payload type %d", p, enc.RTX.SSRC, rtxPT)
		case p.rtx && !dropped[p.seq]:
			// A retransmission of a packet that was not lost: pion's
			// generator NACKs a packet still in flight. Harmless.
		}
	}
	rtxCount := 0
	for _, p := range pkts {
		if p.rtx && dropped[p.seq] {
			rtxCount++
		}
	}
	if withRTX && rtxCount < n {
		t.Errorf("%d of %d recovered packets came as RTX", rtxCount, n)
	}
	if withRTX {
		mu.Lock()
		par := recvPar
		mu.Unlock()
		apt := false
		for _, c := range par.Codecs {
			if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && c.PayloadType == webrtc.PayloadType(rtxPT) &&
				c.SDPFmtpLine == fmt.Sprintf("apt=%d", wire.H264Formats[0].PayloadType) {
				apt = true
			}
		}
		if !apt {
			t.Errorf("the receiver's codecs %+v lack RTX %d with apt=%d", par.Codecs, rtxPT, wire.H264Formats[0].PayloadType)
		}
	}
}
