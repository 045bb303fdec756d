package headset

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

var (
	sps   = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda}
	pps   = []byte{0x68, 0xce, 0x3c, 0x80}
	start = []byte{0, 0, 0, 1}
)

func annexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(b, start...)
		b = append(b, n...)
	}
	return b
}

func slice(idr bool, n int) []byte {
	h := byte(0x41)
	if idr {
		h = 0x65
	}
	b := make([]byte, n)
	b[0] = h
	for i := 1; i < n; i++ {
		b[i] = byte(i*7 + n)
	}
	return b
}

// packetize makes the RTP packets of one access unit the way the node does.
func packetize(au []byte, ts uint32, seq *uint16) []*rtp.Packet {
	var pay codecs.H264Payloader
	ps := pay.Payload(300, au)
	out := make([]*rtp.Packet, len(ps))
	for i, p := range ps {
		out[i] = &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(ps)-1, SequenceNumber: *seq, Timestamp: ts}, Payload: p}
		*seq++
	}
	return out
}

type collector struct {
	frames []*Frame
	plis   int
}

func newTestAssembler(c *collector) *assembler {
	return newAssembler(50*time.Millisecond, func(f *Frame) { c.frames = append(c.frames, f) }, func() { c.plis++ })
}

func TestAssemblerInOrderAndReordered(t *testing.T) {
	key := annexB(sps, pps, slice(true, 1000))
	delta := annexB(slice(false, 700))
	for _, reorder := range []bool{false, true} {
		var c collector
		a := newTestAssembler(&c)
		seq := uint16(65530) // wraps inside the stream
		now := time.Unix(0, 0)
		for i, au := range [][]byte{key, delta, delta} {
			pkts := packetize(au, uint32(1000+i*3000), &seq)
			if reorder && len(pkts) > 2 {
				pkts[0], pkts[1] = pkts[1], pkts[0]
			}
			for _, p := range pkts {
				now = now.Add(time.Millisecond)
				a.push(p, now)
			}
		}
		if len(c.frames) != 3 || c.plis != 0 {
			t.Fatalf("reorder=%v: %d frames, %d PLIs", reorder, len(c.frames), c.plis)
		}
		if !c.frames[0].KeyFrame || c.frames[1].KeyFrame {
			t.Error("key frame flags wrong")
		}
		// The payloader moves SPS/PPS into a STAP-A; the depacketised
		// access unit holds the same NAL units.
		if !bytes.Contains(c.frames[0].Data, sps) || !bytes.Contains(c.frames[0].Data, slice(true, 1000)) {
			t.Error("key frame NAL units lost")
		}
		if !bytes.Equal(c.frames[1].Data, delta) || c.frames[1].RTPTimestamp != 4000 {
			t.Errorf("delta frame: ts %d, %d bytes", c.frames[1].RTPTimestamp, len(c.frames[1].Data))
		}
		if !c.frames[1].Received.After(c.frames[1].FirstPacket) {
			t.Error("arrival times not recorded")
		}
	}
}

func TestAssemblerLossWaitsForKeyFrame(t *testing.T) {
	var c collector
	a := newTestAssembler(&c)
	seq := uint16(1)
	now := time.Unix(0, 0)
	send := func(pkts []*rtp.Packet, drop int) {
		for i, p := range pkts {
			now = now.Add(10 * time.Millisecond)
			if i != drop {
				a.push(p, now)
			}
		}
	}
	send(packetize(annexB(sps, pps, slice(true, 900)), 0, &seq), -1)
	send(packetize(annexB(slice(false, 900)), 3000, &seq), 1) // loses a packet
	send(packetize(annexB(slice(false, 900)), 6000, &seq), -1)
	send(packetize(annexB(slice(false, 900)), 9000, &seq), -1)
	send(packetize(annexB(sps, pps, slice(true, 900)), 12000, &seq), -1)
	send(packetize(annexB(slice(false, 900)), 15000, &seq), -1)
	// A late retransmission of the lost packet is ignored.
	if len(c.frames) != 3 {
		t.Fatalf("got %d frames, want key, key, delta", len(c.frames))
	}
	if c.frames[0].RTPTimestamp != 0 || c.frames[1].RTPTimestamp != 12000 || c.frames[2].RTPTimestamp != 15000 {
		t.Errorf("frames %d %d %d", c.frames[0].RTPTimestamp, c.frames[1].RTPTimestamp, c.frames[2].RTPTimestamp)
	}
	if a.lostCount != 1 || a.dropped != 2 || c.plis != 1 {
		t.Errorf("lost %d dropped %d plis %d; want 1, 2, 1", a.lostCount, a.dropped, c.plis)
	}
}

func TestMatcher(t *testing.T) {
	m := matcher{timeout: 100 * time.Millisecond}
	t0 := time.Unix(0, 0)
	info := func(ts uint32) *holocastv1.FrameInfo {
		return &holocastv1.FrameInfo{RtpTimestamp: ts, FrameId: uint64(ts)}
	}
	// Info before frame.
	if out := m.addInfo(info(1), t0); len(out) != 0 {
		t.Fatal("released without a frame")
	}
	out := m.addFrame(&Frame{RTPTimestamp: 1}, t0)
	if len(out) != 1 || out[0].Info.GetFrameId() != 1 {
		t.Fatalf("info-first: %v", out)
	}
	// Frame before info; a later frame waits behind it (order kept).
	if out := m.addFrame(&Frame{RTPTimestamp: 2}, t0); len(out) != 0 {
		t.Fatal("released unmatched frame early")
	}
	if out := m.addFrame(&Frame{RTPTimestamp: 3}, t0); len(out) != 0 {
		t.Fatal("released out of order")
	}
	out = m.addInfo(info(3), t0)
	if len(out) != 0 {
		t.Fatal("frame 3 overtook frame 2")
	}
	out = m.addInfo(info(2), t0.Add(time.Millisecond))
	if len(out) != 2 || out[0].RTPTimestamp != 2 || out[1].Info.GetFrameId() != 3 {
		t.Fatalf("frame-first: %v", out)
	}
	// A frame whose info never comes is released after the timeout.
	m.addFrame(&Frame{RTPTimestamp: 4}, t0)
	out = m.addFrame(&Frame{RTPTimestamp: 5}, t0.Add(150*time.Millisecond))
	if len(out) != 1 || out[0].RTPTimestamp != 4 || out[0].Info != nil {
		t.Fatalf("timeout: %v", out)
	}
	if rest := m.flush(); len(rest) != 1 || rest[0].RTPTimestamp != 5 {
		t.Fatalf("flush: %v", rest)
	}
}

// FuzzAssembler: arbitrary RTP packets (order, sequence numbers, markers,
// payloads) never panic the jitter buffer and depacketiser, and every
// emitted frame has data.
func FuzzAssembler(f *testing.F) {
	seq := uint16(7)
	var seed []byte
	for _, p := range packetize(annexB(sps, pps, slice(true, 700)), 90, &seq) {
		b, _ := p.Marshal()
		seed = append(seed, byte(len(b)>>8), byte(len(b)))
		seed = append(seed, b...)
	}
	f.Add(seed)
	f.Add([]byte{0, 13, 0x80, 0xe0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x7c})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c collector
		a := newTestAssembler(&c)
		now := time.Unix(0, 0)
		for len(b) >= 2 {
			n := int(b[0])<<8 | int(b[1])
			b = b[2:]
			if n > len(b) {
				n = len(b)
			}
			var p rtp.Packet
			if p.Unmarshal(b[:n]) == nil {
				now = now.Add(7 * time.Millisecond)
				a.push(&p, now)
			}
			b = b[n:]
		}
		for _, fr := range c.frames {
			if len(fr.Data) == 0 {
				t.Fatal("emitted an empty frame")
			}
		}
	})
}

// TestAssemblerReceivedAfterRepair: a frame whose middle packet is
// repaired after its last packet arrived is received when the repair
// arrives, and so is the frame after it, which waited for it; frames
// without a gap keep their last packet's arrival.
func TestAssemblerReceivedAfterRepair(t *testing.T) {
	var c collector
	a := newAssembler(time.Second, func(f *Frame) { c.frames = append(c.frames, f) }, func() { c.plis++ })
	var seq uint16 = 10
	t0 := time.Unix(0, 0)
	key := packetize(annexB(sps, pps, slice(true, 900)), 1000, &seq)
	for _, p := range key {
		a.push(p, t0)
	}
	f2 := packetize(annexB(slice(false, 3000)), 2000, &seq)
	f3 := packetize(annexB(slice(false, 900)), 3000, &seq)
	if len(f2) < 3 {
		t.Fatalf("frame 2 in %d packets, want 3 or more", len(f2))
	}
	at := t0.Add(33 * time.Millisecond)
	for i, p := range f2 {
		if i != 1 {
			a.push(p, at)
		}
	}
	for _, p := range f3 {
		a.push(p, at.Add(33*time.Millisecond))
	}
	repaired := at.Add(150 * time.Millisecond)
	a.push(f2[1], repaired)
	if len(c.frames) != 3 || c.plis != 0 || a.recovered != 1 {
		t.Fatalf("%d frames, %d PLIs, %d recovered", len(c.frames), c.plis, a.recovered)
	}
	if !c.frames[0].Received.Equal(t0) {
		t.Errorf("key frame received %v, want its last packet's arrival", c.frames[0].Received.Sub(t0))
	}
	for i, f := range c.frames[1:] {
		if !f.Received.Equal(repaired) {
			t.Errorf("frame %d received %v after the start, want the repair's arrival %v", i+2, f.Received.Sub(t0), repaired.Sub(t0))
		}
	}
}
