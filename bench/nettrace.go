package bench

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// transportCCURI names the transport-wide sequence number header extension.
const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// bweTraceInterval is how often --trace-net samples the congestion
// controller.
const bweTraceInterval = 50 * time.Millisecond

// netTrace writes --trace-net: one JSON object per line for every packet
// the first session sends (as it leaves the node's interceptors), every
// RTCP packet the node reads, every packet the first headset's bottleneck
// admits or drops, and the congestion controller's state every
// bweTraceInterval. docs/network.md documents the events.
type netTrace struct {
	t0 time.Time

	mu  sync.Mutex
	w   *bufio.Writer
	err error

	taken atomic.Bool // the interceptor of the first session was made
	bwe   chan cc.BandwidthEstimator
	stop  chan struct{}
	wg    sync.WaitGroup
}

// newNetTrace starts a trace written to w and its sampler of the first
// session's congestion controller; close ends both.
func newNetTrace(w io.Writer) *netTrace {
	t := &netTrace{t0: time.Now(), w: bufio.NewWriterSize(w, 1<<16),
		bwe: make(chan cc.BandwidthEstimator, 1), stop: make(chan struct{})}
	t.wg.Add(1)
	go t.sampleBWE()
	return t
}

// emit writes one event, its time in milliseconds since the trace began.
func (t *netTrace) emit(at time.Time, ev map[string]any) {
	ev["t_ms"] = float64(at.Sub(t.t0).Microseconds()) / 1000
	b, err := json.Marshal(ev)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return
	}
	if err == nil {
		b = append(b, '\n')
		_, err = t.w.Write(b)
	}
	t.err = err
}

// close stops the sampler and flushes the trace; it returns the first
// error writing it.
func (t *netTrace) close() error {
	close(t.stop)
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = t.w.Flush()
	}
	if t.err != nil {
		return fmt.Errorf("bench: trace-net: %w", t.err)
	}
	return nil
}

// link records a packet reaching the bottleneck of headset 0.
func (t *netTrace) link(at time.Time, ok bool, size, queued int, delay time.Duration, bps int64) {
	ev := map[string]any{"ev": "enq", "bytes": size, "queue_bytes": queued, "rate_bps": bps}
	if ok {
		ev["delay_ms"] = ms(delay)
	} else {
		ev["ev"] = "drop"
	}
	t.emit(at, ev)
}

// onEstimator takes the first session's congestion controller.
func (t *netTrace) onEstimator(e cc.BandwidthEstimator) {
	select {
	case t.bwe <- e:
	default:
	}
}

// sampleBWE records the congestion controller's target and state every
// bweTraceInterval until close.
func (t *netTrace) sampleBWE() {
	defer t.wg.Done()
	var e cc.BandwidthEstimator
	select {
	case e = <-t.bwe:
	case <-t.stop:
		return
	}
	tick := time.NewTicker(bweTraceInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			ev := map[string]any{"ev": "bwe", "target_bps": e.GetTargetBitrate()}
			for k, v := range e.GetStats() {
				ev[k] = v
			}
			t.emit(now, ev)
		}
	}
}

// NewInterceptor implements interceptor.Factory: the first session gets
// a tracing interceptor, later ones none that records.
func (t *netTrace) NewInterceptor(string) (interceptor.Interceptor, error) {
	if t.taken.Swap(true) {
		return &interceptor.NoOp{}, nil
	}
	return &traceInterceptor{t: t, seen: map[uint32]map[uint16]bool{}}, nil
}

// traceInterceptor records one session's RTP and RTCP.
type traceInterceptor struct {
	interceptor.NoOp
	t *netTrace

	mu    sync.Mutex
	seen  map[uint32]map[uint16]bool // sequence numbers sent, per SSRC
	frame struct {
		ts             uint32
		bytes, packets int
		key, open      bool
	}
}

// BindLocalStream records every packet written to the stream.
func (ti *traceInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var twccID uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == transportCCURI {
			twccID = uint8(e.ID) //nolint:gosec // header extension IDs are 1..255
		}
	}
	rtxSSRC := info.SSRCRetransmission
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		ti.rtp(time.Now(), h, payload, twccID, rtxSSRC)
		return w.Write(h, payload, a)
	})
}

// rtp records one packet and, at a frame's last packet, the frame. A
// packet on the stream's RTX SSRC (RFC 4588) is a retransmission of the
// media packet whose sequence number its payload starts with.
func (ti *traceInterceptor) rtp(at time.Time, h *rtp.Header, payload []byte, twccID uint8, rtxSSRC uint32) {
	ti.mu.Lock()
	seen := ti.seen[h.SSRC]
	if seen == nil {
		seen = map[uint16]bool{}
		ti.seen[h.SSRC] = seen
	}
	resent := seen[h.SequenceNumber]
	seen[h.SequenceNumber] = true
	osn, rtx := uint16(0), rtxSSRC != 0 && h.SSRC == rtxSSRC
	if rtx {
		resent = true
		if len(payload) >= 2 {
			osn = binary.BigEndian.Uint16(payload)
		}
	}
	var frame map[string]any
	if !resent {
		f := &ti.frame
		if !f.open || f.ts != h.Timestamp {
			f.ts, f.bytes, f.packets, f.key, f.open = h.Timestamp, 0, 0, false, true
		}
		f.bytes += len(payload)
		f.packets++
		f.key = f.key || h264KeyPayload(payload)
		if h.Marker {
			frame = map[string]any{"ev": "frame", "rtp_ts": f.ts, "bytes": f.bytes, "packets": f.packets, "key": f.key}
			f.open = false
		}
	}
	ti.mu.Unlock()
	ev := map[string]any{"ev": "rtp", "ssrc": h.SSRC, "pt": h.PayloadType, "seq": h.SequenceNumber, "rtp_ts": h.Timestamp,
		"bytes": len(payload) + h.MarshalSize(), "marker": h.Marker, "resent": resent}
	if rtx {
		ev["rtx"], ev["osn"] = true, osn
	}
	if twccID != 0 {
		if ext := h.GetExtension(twccID); len(ext) >= 2 {
			ev["twcc_seq"] = binary.BigEndian.Uint16(ext)
		}
	}
	ti.t.emit(at, ev)
	if frame != nil {
		ti.t.emit(at, frame)
	}
}

// h264KeyPayload reports whether an RTP H.264 payload carries an IDR
// slice or a sequence parameter set (a key frame's first packets).
func h264KeyPayload(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	isKey := func(t byte) bool { return t == 5 || t == 7 }
	switch t := p[0] & 0x1f; t {
	case 24: // STAP-A
		for q := p[1:]; len(q) > 2; {
			n := int(binary.BigEndian.Uint16(q))
			if n == 0 || len(q) < 2+n {
				return false
			}
			if isKey(q[2] & 0x1f) {
				return true
			}
			q = q[2+n:]
		}
		return false
	case 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && isKey(p[1]&0x1f)
	default:
		return isKey(t)
	}
}

// BindRTCPReader records the feedback the node reads.
func (ti *traceInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := r.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if pkts, perr := rtcp.Unmarshal(b[:n]); perr == nil {
			now := time.Now()
			for _, p := range pkts {
				if ev := rtcpEvent(p); ev != nil {
					ti.t.emit(now, ev)
				}
			}
		}
		return n, attr, err
	})
}

// maxTraceNackSeqs bounds the sequence numbers a nack event lists.
const maxTraceNackSeqs = 64

// rtcpEvent describes the feedback packets the trace records; nil for
// the others.
func rtcpEvent(p rtcp.Packet) map[string]any {
	switch p := p.(type) {
	case *rtcp.TransportLayerCC:
		return map[string]any{"ev": "twcc", "base_seq": p.BaseSequenceNumber, "packets": p.PacketStatusCount,
			"received": len(p.RecvDeltas), "fb_count": p.FbPktCount}
	case *rtcp.TransportLayerNack:
		var seqs []uint16
		for _, pair := range p.Nacks {
			seqs = append(seqs, pair.PacketList()...)
		}
		return map[string]any{"ev": "nack", "ssrc": p.MediaSSRC, "lost": len(seqs), "seqs": seqs[:min(len(seqs), maxTraceNackSeqs)]}
	case *rtcp.PictureLossIndication:
		return map[string]any{"ev": "pli", "ssrc": p.MediaSSRC}
	case *rtcp.FullIntraRequest:
		return map[string]any{"ev": "fir", "ssrc": p.MediaSSRC}
	case *rtcp.ReceiverReport:
		for _, r := range p.Reports {
			return map[string]any{"ev": "rr", "ssrc": r.SSRC, "fraction_lost": float64(r.FractionLost) / 256,
				"total_lost": r.TotalLost, "jitter": r.Jitter, "last_seq": r.LastSequenceNumber}
		}
	}
	return nil
}
