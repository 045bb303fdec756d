package headset

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/holocast/holocast/encoder/h264"
)

// maxPending bounds the packets held while waiting for a missing one.
const maxPending = 1024

// seqLess reports a < b in RTP sequence space (with wrap-around).
func seqLess(a, b uint16) bool { return a != b && b-a < 0x8000 }

type pendingPacket struct {
	pkt     *rtp.Packet
	arrived time.Time
}

// assembler turns RTP packets into complete H.264 access units. It orders
// packets by sequence number, waits up to maxWait for a missing packet (NACK
// retransmission), and then gives up on the frames the gap touched. After a
// loss, frames are dropped until the next key frame (they would not decode).
type assembler struct {
	maxWait time.Duration
	emit    func(au *Frame)
	onLoss  func() // asks the sender for a key frame

	started bool
	next    uint16
	pending map[uint16]pendingPacket

	depack    codecs.H264Packet
	cur       *Frame
	corrupt   bool
	needKey   bool
	lostCount uint64
	dropped   uint64
}

func newAssembler(maxWait time.Duration, emit func(*Frame), onLoss func()) *assembler {
	return &assembler{maxWait: maxWait, emit: emit, onLoss: onLoss, pending: map[uint16]pendingPacket{}}
}

// push adds one packet that arrived at the given time.
func (a *assembler) push(pkt *rtp.Packet, arrived time.Time) {
	seq := pkt.SequenceNumber
	if !a.started {
		a.started, a.next = true, seq
	}
	if seqLess(seq, a.next) {
		return // late duplicate or retransmission of something given up on
	}
	a.pending[seq] = pendingPacket{pkt, arrived}
	a.drain()
	// Give up on a gap that has waited too long, or when too much piles up.
	for len(a.pending) > 0 {
		oldest, ok := a.oldest()
		if !ok || (arrived.Sub(oldest.arrived) < a.maxWait && len(a.pending) < maxPending) {
			return
		}
		a.loss()
		a.next = oldest.pkt.SequenceNumber
		a.drain()
	}
}

func (a *assembler) oldest() (pendingPacket, bool) {
	var best pendingPacket
	found := false
	for _, p := range a.pending {
		if !found || seqLess(p.pkt.SequenceNumber, best.pkt.SequenceNumber) {
			best, found = p, true
		}
	}
	return best, found
}

func (a *assembler) drain() {
	for {
		p, ok := a.pending[a.next]
		if !ok {
			return
		}
		delete(a.pending, a.next)
		a.next++
		a.feed(p)
	}
}

// loss marks the frame in progress as broken.
func (a *assembler) loss() {
	a.corrupt = true
	a.depack = codecs.H264Packet{}
}

func (a *assembler) feed(p pendingPacket) {
	pkt := p.pkt
	if a.cur != nil && a.cur.RTPTimestamp != pkt.Timestamp {
		// The previous frame never saw its marker packet.
		a.finish(false)
	}
	if a.cur == nil {
		a.cur = &Frame{RTPTimestamp: pkt.Timestamp, FirstPacket: p.arrived}
	}
	a.cur.Packets++
	a.cur.Received = p.arrived
	if !a.corrupt {
		data, err := a.depack.Unmarshal(pkt.Payload)
		if err != nil {
			a.loss()
		} else {
			a.cur.Data = append(a.cur.Data, data...)
		}
	}
	if pkt.Marker {
		a.finish(true)
	}
}

func (a *assembler) finish(complete bool) {
	f := a.cur
	a.cur = nil
	broken := a.corrupt || !complete || len(f.Data) == 0
	a.corrupt = false
	a.depack = codecs.H264Packet{}
	if broken {
		a.lostCount++
		if !a.needKey {
			a.needKey = true
		}
		a.onLoss()
		return
	}
	f.KeyFrame = h264.IsKeyFrame(f.Data)
	if a.needKey {
		if !f.KeyFrame {
			a.dropped++
			return
		}
		a.needKey = false
	}
	a.emit(f)
}
