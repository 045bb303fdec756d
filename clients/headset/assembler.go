package headset

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/holocast/holocast/proto/wire/h264"
)

// maxPending bounds the packets held while waiting for a missing one.
const maxPending = 1024

// keyRequestInterval is how often a key frame is asked for again while
// frames are dropped waiting for one.
const keyRequestInterval = 250 * time.Millisecond

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
	at      time.Time // arrival of the packet being pushed
	next    uint16
	pending map[uint16]pendingPacket

	depack      codecs.H264Packet
	cur         *Frame
	corrupt     bool
	needKey     bool
	lostCount   uint64
	dropped     uint64
	lastRequest time.Time // when onLoss was last called
	recovered   uint64    // packets that filled a gap after later ones had arrived
	givenUp     uint64    // missing packets given up on
}

func newAssembler(maxWait time.Duration, emit func(*Frame), onLoss func()) *assembler {
	return &assembler{maxWait: maxWait, emit: emit, onLoss: onLoss, pending: map[uint16]pendingPacket{}}
}

// push adds one packet that arrived at the given time.
func (a *assembler) push(pkt *rtp.Packet, arrived time.Time) {
	seq := pkt.SequenceNumber
	a.at = arrived
	if a.started && seqLess(seq, a.next) {
		return // late duplicate or retransmission of something given up on
	}
	if a.started && seq == a.next && len(a.pending) > 0 {
		a.recovered++
	}
	a.pending[seq] = pendingPacket{pkt, arrived}
	if !a.started {
		// The first packets may arrive out of order too: start once a
		// whole frame from the lowest sequence number is here, or once
		// the oldest packet has waited long enough.
		oldest, _ := a.oldest()
		if !a.contiguousToMarker(oldest.pkt.SequenceNumber) && arrived.Sub(oldest.arrived) < a.maxWait {
			return
		}
		a.started, a.next = true, oldest.pkt.SequenceNumber
	}
	a.drain()
	// Give up on a gap that has waited too long, or when too much piles up.
	for len(a.pending) > 0 {
		oldest, ok := a.oldest()
		if !ok || (arrived.Sub(oldest.arrived) < a.maxWait && len(a.pending) < maxPending) {
			return
		}
		a.loss()
		a.givenUp += uint64(oldest.pkt.SequenceNumber - a.next)
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

// contiguousToMarker reports whether pending holds every packet from seq
// up to a marker packet.
func (a *assembler) contiguousToMarker(seq uint16) bool {
	for {
		p, ok := a.pending[seq]
		if !ok {
			return false
		}
		if p.pkt.Marker {
			return true
		}
		seq++
	}
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
		a.finish(false, p.arrived)
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
		a.finish(true, p.arrived)
	}
}

func (a *assembler) finish(complete bool, now time.Time) {
	f := a.cur
	a.cur = nil
	broken := a.corrupt || !complete || len(f.Data) == 0
	a.corrupt = false
	a.depack = codecs.H264Packet{}
	if broken {
		a.lostCount++
		a.needKey = true
		a.lastRequest = now
		a.onLoss()
		return
	}
	// The frame is whole, and all before it, only now: a packet of it or
	// of an earlier frame may have been a retransmission that came after
	// its last packet.
	if a.at.After(f.Received) {
		f.Received = a.at
	}
	f.KeyFrame = h264.IsKeyFrame(f.Data)
	if a.needKey {
		if !f.KeyFrame {
			a.dropped++
			// The request (or the key frame) may have been lost: ask again.
			if now.Sub(a.lastRequest) >= keyRequestInterval {
				a.lastRequest = now
				a.onLoss()
			}
			return
		}
		a.needKey = false
	}
	a.emit(f)
}
