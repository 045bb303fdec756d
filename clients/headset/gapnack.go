package headset

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// maxGapNACK is the largest gap, in packets, that GapNACK asks for at
// once: a longer one is an outage, not a loss, and is left to the
// periodic NACK generator and the key frame request.
const maxGapNACK = 128

// reorderWindow is how soon after its gap a missing packet must arrive
// for GapNACK to take it for a reordered packet rather than a repair: no
// repair can come back faster than a round trip, and a link whose round
// trip is this short gains nothing from an early NACK.
const reorderWindow = 10 * time.Millisecond

// reorderHold is how long GapNACK leaves NACKs to the periodic generator
// after it saw a packet reordered: on such a link a gap is often a
// packet still on its way, and an early NACK would only buy a second
// copy of it.
const reorderHold = 2 * time.Second

// GapNACKFactory is an interceptor.Factory whose interceptor sends a
// generic NACK (RFC 4585) for the packets missing from a remote stream
// the moment a gap shows, as a browser's receiver does (libwebrtc's
// NackRequester sends its first NACK when the packet after the gap
// arrives). pion's NACK generator only NACKs on a timer: with its tick
// of nackInterval a repair came on average half a tick later. The
// generator stays in place for the repeats (a lost NACK, a lost
// repair). On a link that reorders packets (one arrived within
// reorderWindow of its gap) the early NACK pauses for reorderHold, so
// that reordering does not cost repairs. Only streams that negotiated
// generic NACK are watched.
type GapNACKFactory struct{}

// NewInterceptor returns the interceptor for one peer connection.
func (GapNACKFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &gapNACK{senderSSRC: rand.Uint32()}, nil //nolint:gosec // an SSRC, not a secret
}

type gapNACK struct {
	interceptor.NoOp
	senderSSRC uint32
	mu         sync.Mutex
	w          interceptor.RTCPWriter
}

// BindRTCPWriter keeps the writer the NACKs go to.
func (g *gapNACK) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	g.mu.Lock()
	g.w = w
	g.mu.Unlock()
	return w
}

// BindRemoteStream watches the stream's sequence numbers.
func (g *gapNACK) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !negotiatedNACK(info) {
		return r
	}
	st := &gapStream{}
	ssrc := info.SSRC
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = interceptor.Attributes{}
		}
		// A malformed packet is passed on: the layers above report it.
		if h, herr := attr.GetRTPHeader(b[:n]); herr == nil {
			if missing := st.arrive(h.SequenceNumber, time.Now()); len(missing) > 0 {
				g.nack(ssrc, missing)
			}
		}
		return n, attr, nil
	})
}

// nack writes one NACK for the missing packets of media SSRC ssrc. A
// failed write is not retried: the periodic generator repeats it.
func (g *gapNACK) nack(ssrc uint32, missing []uint16) {
	g.mu.Lock()
	w := g.w
	g.mu.Unlock()
	if w == nil {
		return
	}
	_, _ = w.Write([]rtcp.Packet{&rtcp.TransportLayerNack{
		SenderSSRC: g.senderSSRC, MediaSSRC: ssrc,
		Nacks: rtcp.NackPairsFromSequenceNumbers(missing),
	}}, interceptor.Attributes{})
}

// negotiatedNACK reports whether the stream negotiated generic NACK.
func negotiatedNACK(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// gapStream is one stream's sequence state. It is used by the stream's
// reader only.
type gapStream struct {
	have      bool
	highest   uint16
	recent    []gap     // gaps seen within reorderWindow, oldest first
	reordered time.Time // when a packet last arrived reordered
	missing   []uint16  // reused by arrive
}

type gap struct {
	seq uint16
	at  time.Time
}

// arrive records packet seq arriving at now and returns the packets to
// NACK now: those between the highest sequence number seen and seq, if
// seq opens a gap of at most maxGapNACK on a link not seen reordering
// within reorderHold. The slice is reused by the next call.
func (s *gapStream) arrive(seq uint16, now time.Time) []uint16 {
	if !s.have {
		s.have, s.highest = true, seq
		return nil
	}
	for len(s.recent) > 0 && now.Sub(s.recent[0].at) > reorderWindow {
		s.recent = s.recent[1:]
	}
	d := int16(seq - s.highest) //nolint:gosec // serial number arithmetic
	if d <= 0 {
		for i, g := range s.recent {
			if g.seq == seq { // in within reorderWindow of its gap
				s.reordered = now
				s.recent = append(s.recent[:i], s.recent[i+1:]...)
				break
			}
		}
		return nil
	}
	from := s.highest + 1
	s.highest = seq
	if d == 1 || int(d)-1 > maxGapNACK {
		return nil
	}
	s.missing = s.missing[:0]
	for q := from; q != seq; q++ {
		s.missing = append(s.missing, q)
		if len(s.recent) < maxGapNACK {
			s.recent = append(s.recent, gap{seq: q, at: now})
		}
	}
	if !s.reordered.IsZero() && now.Sub(s.reordered) < reorderHold {
		return nil
	}
	return s.missing
}
