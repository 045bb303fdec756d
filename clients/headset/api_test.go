package headset_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/proto/wire"
)

// TestLateRetransmission: a retransmission that arrives far behind the
// newest packet, as a NACKed packet's repair does at several Mbit/s over
// a long round trip, reaches the track. A pion sender on loopback sends
// media packets 1..300 without 100 (lost), then 100: with pion's default
// SRTP replay window (64 packets) the SRTP layer dropped it as a replay;
// the headset's API keeps Chromium's 1024, so the repair arrives.
func TestLateRetransmission(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		name string
		api  func() (*webrtc.API, error)
		want bool
	}{
		{"headset API", func() (*webrtc.API, error) { return headset.NewAPI(nil) }, true},
		{"pion's default window", func() (*webrtc.API, error) {
			m := &webrtc.MediaEngine{}
			if err := wire.RegisterH264(m, wire.H264Formats[0]); err != nil {
				return nil, err
			}
			return webrtc.NewAPI(webrtc.WithMediaEngine(m)), nil
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			api, err := c.api()
			if err != nil {
				t.Fatal(err)
			}
			got := lateRepairArrives(ctx, t, api)
			if got != c.want {
				t.Errorf("repair 200 packets behind arrived: %v, want %v", got, c.want)
			}
		})
	}
}

// lateRepairArrives connects a receiver built with api to a pion sender,
// sends packets 1..300 except 100, then 100, and reports whether 100
// reached the receiver's track.
func lateRepairArrives(ctx context.Context, t *testing.T, api *webrtc.API) bool {
	t.Helper()
	seqs := make(chan uint16, 512)
	m := h264Engine(t)
	track, _ := connectPair(ctx, t, api, webrtc.NewAPI(webrtc.WithMediaEngine(m)), func(p *rtp.Packet) { seqs <- p.SequenceNumber })
	order := make([]uint16, 0, 300)
	for s := uint16(1); s <= 300; s++ {
		if s != 100 {
			order = append(order, s)
		}
	}
	order = append(order, 100)
	for _, s := range order {
		// One-packet frames with a single-NAL payload (a non-IDR slice).
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s, Timestamp: uint32(s) * 3000, Marker: true}, Payload: []byte{0x41, 0x9a, byte(s)}}
		if err := track.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	var got []uint16
	for {
		select {
		case s := <-seqs:
			got = append(got, s)
			if s == 100 {
				return true
			}
		case <-time.After(2 * time.Second):
			if !slices.Contains(got, 300) {
				t.Fatalf("only %d packets arrived, not the last one", len(got))
			}
			return false
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// connectPair connects a receiver made with rxAPI (a recvonly video
// transceiver; got is called with every packet its track reads) to a
// sender made with txAPI (one H.264 track) on loopback, and returns the
// sender's track and RTPSender; both peers close when t ends.
func connectPair(ctx context.Context, t *testing.T, rxAPI, txAPI *webrtc.API, got func(*rtp.Packet)) (*webrtc.TrackLocalStaticRTP, *webrtc.RTPSender) {
	t.Helper()
	rx, err := rxAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	if _, err := rx.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	rx.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			got(p)
		}
	})
	tx, err := txAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(wire.H264Codec(wire.H264Formats[0]).RTPCodecCapability, "video", "test")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := tx.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	tx.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	exchange(t, rx, tx)
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("never connected")
	}
	return track, sender
}

// h264Engine is a media engine with the contract's preferred H.264
// format, for the pion peers these tests build.
func h264Engine(t *testing.T) *webrtc.MediaEngine {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m, wire.H264Formats[0]); err != nil {
		t.Fatal(err)
	}
	return m
}

// readRTCP calls f with every RTCP packet sender reads, on a goroutine
// that ends when the sender's peer connection closes.
func readRTCP(sender *webrtc.RTPSender, f func(rtcp.Packet)) {
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				f(p)
			}
		}
	}()
}

// exchange negotiates offerer and answerer in the process, with all
// candidates in the descriptions.
func exchange(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done = webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}

// TestTWCCInterval: the headset's API sends transport-wide feedback every
// TWCCInterval (Chromium's 50 ms), not pion's default 100 ms: a pion
// sender with the transport-wide sequence number extension streams to it
// for 1.5 s on loopback and counts the feedback packets it reads.
func TestTWCCInterval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api, err := headset.NewAPI(nil)
	if err != nil {
		t.Fatal(err)
	}
	m := h264Engine(t)
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		t.Fatal(err)
	}
	track, sender := connectPair(ctx, t, api, webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir)), func(*rtp.Packet) {})
	var feedback atomic.Int64
	readRTCP(sender, func(p rtcp.Packet) {
		if _, ok := p.(*rtcp.TransportLayerCC); ok {
			feedback.Add(1)
		}
	})
	// Warm up for 200 ms, then count the feedback of 1.5 s of packets
	// every 5 ms (a report needs packets to report on).
	send := func(d time.Duration, seq *uint16) {
		for end := time.Now().Add(d); time.Now().Before(end); *seq++ {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: *seq, Timestamp: uint32(*seq) * 450, Marker: true}, Payload: []byte{0x41, 0x9a, byte(*seq)}}
			if err := track.WriteRTP(p); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var seq uint16
	send(200*time.Millisecond, &seq)
	before := feedback.Load()
	start := time.Now()
	send(1500*time.Millisecond, &seq)
	n := feedback.Load() - before
	span := time.Since(start)
	// 30 at 50 ms, 15 at 100 ms: over 22 tells them apart with room for
	// a late timer or two on a busy machine.
	t.Logf("%d feedback packets in %v (%.0f ms apart)", n, span.Round(time.Millisecond), float64(span.Milliseconds())/float64(max(n, 1)))
	if n < 22 {
		t.Errorf("%d feedback packets in %v: want one every %v", n, span.Round(time.Millisecond), headset.TWCCInterval)
	}
}

// TestGapNACK: GapNACKFactory's interceptor in a real pion receiver NACKs
// a lost packet when the packet after it arrives. The receiver's API has
// no other NACK generator, so the NACK the pion sender reads is its.
func TestGapNACK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	newAPI := func(gap bool) *webrtc.API {
		m := h264Engine(t)
		ir := &interceptor.Registry{}
		if gap {
			ir.Add(headset.GapNACKFactory{})
		}
		return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
	}
	track, sender := connectPair(ctx, t, newAPI(true), newAPI(false), func(*rtp.Packet) {})
	nacked := make(chan []uint16, 16)
	readRTCP(sender, func(p rtcp.Packet) {
		if n, ok := p.(*rtcp.TransportLayerNack); ok {
			var seqs []uint16
			for _, pair := range n.Nacks {
				seqs = append(seqs, pair.PacketList()...)
			}
			select { // the reader never blocks: one NACK is expected
			case nacked <- seqs:
			default:
			}
		}
	})
	for s := uint16(1); s <= 40; s++ {
		if s == 20 || s == 21 {
			continue
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: s, Timestamp: uint32(s) * 3000, Marker: true}, Payload: []byte{0x41, 0x9a, byte(s)}}
		if err := track.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case got := <-nacked:
		if !slices.Equal(got, []uint16{20, 21}) {
			t.Errorf("NACK for %v, want [20 21]", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no NACK for the lost packets 20 and 21")
	}
	select {
	case got := <-nacked:
		t.Errorf("a second NACK, for %v: the gap was asked for once", got)
	case <-time.After(200 * time.Millisecond):
	}
}
