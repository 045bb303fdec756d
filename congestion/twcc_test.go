package congestion

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestTWCCAcks: a report with a run-length chunk and a two-bit status
// vector gives each packet its fate and its
// arrival time on the receiver's clock, across a sequence number wrap.
func TestTWCCAcks(t *testing.T) {
	fb := &rtcp.TransportLayerCC{
		MediaSSRC: 1, BaseSequenceNumber: 65534, PacketStatusCount: 5, ReferenceTime: 10, FbPktCount: 3,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{
				rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketReceivedLargeDelta, rtcp.TypeTCCPacketReceivedSmallDelta,
				rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived,
			}},
		},
		RecvDeltas: []*rtcp.RecvDelta{
			{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000},
			{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 2000},
			{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: 100000},
			{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250},
		},
	}
	back := *fb
	var u Unwrapper
	u.Unwrap(65530)
	acks, err := TWCCAcks(&back, &u)
	if err != nil {
		t.Fatal(err)
	}
	ref := time.Unix(0, 0).Add(640 * time.Millisecond)
	want := []Ack{
		{65534, ref.Add(time.Millisecond)},
		{65535, ref.Add(3 * time.Millisecond)},
		{65536, time.Time{}},
		{65537, ref.Add(103 * time.Millisecond)},
		{65538, ref.Add(103*time.Millisecond + 250*time.Microsecond)},
	}
	if len(acks) != len(want) {
		t.Fatalf("%d acks: %+v", len(acks), acks)
	}
	for i := range want {
		if acks[i].Seq != want[i].Seq || !acks[i].Arrived.Equal(want[i].Arrived) {
			t.Errorf("ack %d: %+v, want %+v", i, acks[i], want[i])
		}
	}
	// A report claiming more received packets than it has deltas for is
	// an error, not a crash.
	back.RecvDeltas = back.RecvDeltas[:1]
	if _, err := TWCCAcks(&back, &u); err == nil {
		t.Error("short deltas accepted")
	}
}
