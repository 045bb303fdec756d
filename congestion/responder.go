package congestion

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// responderHistory is how many sent packets a stream's Responder keeps
// (a power of two): a second of a 10 Mbit/s stream.
const responderHistory = 1024

// ResponderFactory is an interceptor.Factory for the node's NACK
// responder: it keeps each local stream's recent packets and answers a
// generic NACK by writing the named packets again, as RTX packets (RFC
// 4588: the stream's RTX SSRC and payload type, a sequence number of
// their own, the original sequence number first in the payload) where
// the peer negotiated RTX, on the media SSRC otherwise. It decides
// nothing: what it writes goes through the Estimator, whose
// Retransmitter skips packets too old to help, repeats within a round
// trip and whatever exceeds the retransmission budget, before the budget
// is charged. It replaces pion's responder, whose own rate limit charges
// every NACKed packet before the Estimator can skip the stale ones, so
// that a receiver repeating NACKs for packets it already has (pion's
// generator does so for packets repaired by RTX) starves the new losses.
// Register it after the cc interceptor and the transport-wide sequence
// number interceptor, so that retransmissions are paced and numbered.
type ResponderFactory struct{}

// NewInterceptor returns a responder for one peer connection.
func (ResponderFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &responder{streams: map[uint32]*responderStream{}}, nil
}

type responder struct {
	interceptor.NoOp
	mu      sync.Mutex
	streams map[uint32]*responderStream // by media SSRC
}

type responderStream struct {
	w       interceptor.RTPWriter
	rtxSSRC uint32
	rtxPT   uint8
	rtxSeq  uint16
	sent    [responderHistory]*storedPacket
}

type storedPacket struct {
	h rtp.Header
	p []byte
}

// supportsNACK reports whether the stream negotiated generic NACK.
func supportsNACK(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// BindLocalStream keeps the stream's packets for retransmission.
func (r *responder) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if !supportsNACK(info) {
		return w
	}
	s := &responderStream{w: w, rtxSeq: uint16(rand.Uint32())} //nolint:gosec // RFC 3550: a random first sequence number
	if info.SSRCRetransmission != 0 && info.PayloadTypeRetransmission != 0 {
		s.rtxSSRC, s.rtxPT = info.SSRCRetransmission, info.PayloadTypeRetransmission
	}
	r.mu.Lock()
	r.streams[info.SSRC] = s
	r.mu.Unlock()
	ssrc := info.SSRC
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, attr interceptor.Attributes) (int, error) {
		if h.SSRC == ssrc {
			sp := &storedPacket{h: h.Clone(), p: append([]byte(nil), payload...)}
			r.mu.Lock()
			s.sent[h.SequenceNumber%responderHistory] = sp
			r.mu.Unlock()
		}
		return w.Write(h, payload, attr)
	})
}

// UnbindLocalStream forgets the stream's packets.
func (r *responder) UnbindLocalStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.streams, info.SSRC)
	r.mu.Unlock()
}

// Close forgets every stream.
func (r *responder) Close() error {
	r.mu.Lock()
	r.streams = map[uint32]*responderStream{}
	r.mu.Unlock()
	return nil
}

// BindRTCPReader answers the NACKs in what the reader reads.
func (r *responder) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = interceptor.Attributes{}
		}
		pkts, err := attr.GetRTCPPackets(b[:n])
		if err != nil {
			return n, attr, nil //nolint:nilerr // not ours to fail: the reader's consumer sees the same bytes
		}
		for _, p := range pkts {
			if nack, ok := p.(*rtcp.TransportLayerNack); ok {
				r.resend(nack)
			}
		}
		return n, attr, nil
	})
}

// resend writes the packets nack names that the stream still has.
func (r *responder) resend(nack *rtcp.TransportLayerNack) {
	r.mu.Lock()
	s := r.streams[nack.MediaSSRC]
	var out []*storedPacket
	if s != nil {
		for _, pair := range nack.Nacks {
			pair.Range(func(seq uint16) bool {
				if sp := s.sent[seq%responderHistory]; sp != nil && sp.h.SequenceNumber == seq {
					out = append(out, s.packet(sp))
				}
				return true
			})
		}
	}
	r.mu.Unlock()
	for _, sp := range out {
		_, _ = s.w.Write(&sp.h, sp.p, nil)
	}
}

// packet returns what to write for a retransmission of sp: sp itself, or
// its RTX packet.
func (s *responderStream) packet(sp *storedPacket) *storedPacket {
	if s.rtxSSRC == 0 {
		return sp
	}
	h := sp.h.Clone()
	payload := sp.p
	if h.Padding && h.PaddingSize > 0 && int(h.PaddingSize) <= len(payload) {
		payload = payload[:len(payload)-int(h.PaddingSize)]
	}
	h.Padding, h.PaddingSize = false, 0
	h.SSRC, h.PayloadType, h.SequenceNumber = s.rtxSSRC, s.rtxPT, s.rtxSeq
	s.rtxSeq++
	p := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(p, sp.h.SequenceNumber)
	copy(p[2:], payload)
	return &storedPacket{h: h, p: p}
}
