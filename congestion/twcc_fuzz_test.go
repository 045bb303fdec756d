package congestion

import (
	"testing"

	"github.com/pion/rtcp"
)

// FuzzTWCCAcks: whatever transport-wide feedback a peer sends, TWCCAcks
// neither panics nor reports more packets than the report counts, and
// the acks are consecutive.
func FuzzTWCCAcks(f *testing.F) {
	seed := &rtcp.TransportLayerCC{MediaSSRC: 1, BaseSequenceNumber: 10, PacketStatusCount: 3, PacketChunks: []rtcp.PacketStatusChunk{
		&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3},
	}, RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 750}}}
	if b, err := seed.Marshal(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x8f, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 9, 0, 0, 0, 1, 0x20, 0x09})
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		var u Unwrapper
		for _, p := range pkts {
			fb, ok := p.(*rtcp.TransportLayerCC)
			if !ok {
				continue
			}
			acks, err := TWCCAcks(fb, &u)
			if err != nil {
				continue
			}
			if len(acks) > int(fb.PacketStatusCount) {
				t.Fatalf("%d acks for %d statuses", len(acks), fb.PacketStatusCount)
			}
			for i := 1; i < len(acks); i++ {
				if acks[i].Seq != acks[i-1].Seq+1 {
					t.Fatalf("acks %d and %d not consecutive: %d, %d", i-1, i, acks[i-1].Seq, acks[i].Seq)
				}
			}
		}
	})
}
