package playout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/playout"
)

func TestFactoryBounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		ok       bool
	}{
		{"zero", 0, 0, true},
		{"range", 20 * time.Millisecond, 100 * time.Millisecond, true},
		{"largest", playout.MaxDelay, playout.MaxDelay, true},
		{"negative", -time.Millisecond, 0, false},
		{"min over max", 50 * time.Millisecond, 10 * time.Millisecond, false},
		{"too large", 0, playout.MaxDelay + 10*time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := playout.Factory{Min: tc.min, Max: tc.max}.NewInterceptor("")
			if (err == nil) != tc.ok {
				t.Fatalf("NewInterceptor(%v, %v) error %v, want ok=%v", tc.min, tc.max, err, tc.ok)
			}
		})
	}
}

// TestExtensionOnWire connects two real pion peer connections: the
// receiver offers (as a browser does), the sender answers with the
// interceptor, and the packets that arrive carry the extension exactly
// when the offer had it.
func TestExtensionOnWire(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offered   bool
		delay     playout.Factory
		wantMin   uint16
		wantMax   uint16
		wantInSDP bool
	}{
		{name: "offered, zero delay", offered: true, wantInSDP: true},
		{name: "offered, bounds", offered: true, delay: playout.Factory{Min: 30 * time.Millisecond, Max: 250 * time.Millisecond},
			wantMin: 3, wantMax: 25, wantInSDP: true},
		{name: "not offered", offered: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pkt, answer, extID := exchange(ctx, t, tc.offered, tc.delay)
			if got := strings.Contains(answer, playout.URI); got != tc.wantInSDP {
				t.Fatalf("answer has the extension: %v, want %v\n%s", got, tc.wantInSDP, answer)
			}
			if !tc.offered {
				if len(pkt.Extensions) != 0 {
					t.Fatalf("packet carries extensions %v although none was negotiated", pkt.Extensions)
				}
				return
			}
			raw := pkt.GetExtension(extID)
			if raw == nil {
				t.Fatalf("packet lacks the extension (id %d): %+v", extID, pkt.Header)
			}
			var d rtp.PlayoutDelayExtension
			if err := d.Unmarshal(raw); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if d.MinDelay != tc.wantMin || d.MaxDelay != tc.wantMax {
				t.Fatalf("delay %d..%d (10 ms units), want %d..%d", d.MinDelay, d.MaxDelay, tc.wantMin, tc.wantMax)
			}
		})
	}
}

// exchange sends RTP packets from an answering sender (with the
// interceptor) to an offering receiver until one arrives; it returns that
// packet, the answer SDP and the extension's ID as the receiver
// negotiated it (0 where it did not).
func exchange(ctx context.Context, t *testing.T, offered bool, f playout.Factory) (*rtp.Packet, string, uint8) {
	t.Helper()
	rm := &webrtc.MediaEngine{}
	if err := rm.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if offered {
		if err := playout.Register(rm); err != nil {
			t.Fatal(err)
		}
	}
	recv, err := webrtc.NewAPI(webrtc.WithMediaEngine(rm)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = recv.Close() }()

	sm := &webrtc.MediaEngine{}
	if err := sm.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := playout.Register(sm); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	ir.Add(f)
	send, err := webrtc.NewAPI(webrtc.WithMediaEngine(sm), webrtc.WithInterceptorRegistry(ir)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = send.Close() }()

	if _, err := recv.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *rtp.Packet, 1)
	ids := make(chan uint8, 1)
	recv.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		var id uint8
		for _, e := range r.GetParameters().HeaderExtensions {
			if e.URI == playout.URI {
				id = uint8(e.ID) //nolint:gosec // IDs are 1..255
			}
		}
		ids <- id
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		got <- p
	})
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "holocast")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send.AddTrack(track); err != nil {
		t.Fatal(err)
	}

	offer, err := recv.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(recv)
	if err := recv.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := send.SetRemoteDescription(*recv.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := send.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done = webrtc.GatheringCompletePromise(send)
	if err := send.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := recv.SetRemoteDescription(*send.LocalDescription()); err != nil {
		t.Fatal(err)
	}

	// An H.264 access unit delimiter is enough for the receiver to
	// surface the track; send until a packet arrives.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case p := <-got:
			return p, send.LocalDescription().SDP, <-ids
		case <-ctx.Done():
			t.Fatal(errors.Join(ctx.Err(), errors.New("no packet arrived")))
		case <-tick.C:
			if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x09, 0xf0}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
