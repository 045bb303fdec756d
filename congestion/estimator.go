package congestion

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// transportCCURI names the transport-wide sequence number header extension.
const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// DefaultMaxPacerDelay is the Pacer's queue bound in an Estimator.
const DefaultMaxPacerDelay = 500 * time.Millisecond

// ErrClosed is returned by an Estimator's writers after Close.
var ErrClosed = errors.New("congestion: estimator closed")

// Estimator is a cc.BandwidthEstimator (pion/interceptor/pkg/cc): the
// cc interceptor hands it every local stream (AddStream) and every RTCP
// batch the sender reads (WriteRTCP). It paces the streams' packets at
// PacingFactor times the Controller's target and feeds the Controller
// the transport-wide feedback. Its goroutine sends the paced packets and
// ends with Close.
type Estimator struct {
	mu    sync.Mutex
	ctl   *Controller
	pacer *Pacer
	// retransmitters decide each stream's NACK retransmissions, by SSRC.
	retransmitters map[uint32]*Retransmitter
	// nextSeq is the transport-wide sequence number of the next packet
	// to leave (unwrapped; its low 16 bits go on the wire): stamped as
	// it leaves the pacer, so that the numbers go out in order however
	// the pacer orders its packets.
	nextSeq  int64
	fbSeq    Unwrapper
	onChange func(int)
	closed   bool
	lastSent int // target last reported to onChange
	// writeTime is the slowest write of a paced packet to its stream
	// (SRTP and the socket) of the last second or two.
	writeTime slowest

	wake chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// streamWriter is where a stream's paced packets go.
type streamWriter struct {
	w      interceptor.RTPWriter
	twccID uint8
}

// packet is one queued RTP packet (copied: the caller may reuse its
// buffers once Write returns).
type packet struct {
	h    rtp.Header
	p    []byte
	attr interceptor.Attributes
	sw   *streamWriter // where it goes (its stream's, also for RTX)
	// first is the packet this one is a copy of (nil for an original):
	// a copy carries the original's transport-wide sequence number, as
	// the receiver's SRTP drops it before its feedback could tell of it
	// (a number of its own would read as a lost packet). seq and
	// stamped are the number an original left with.
	first   *packet
	seq     int64
	stamped bool
}

// NewEstimator returns a running Estimator with a Controller of cfg.
func NewEstimator(cfg Config) (*Estimator, error) {
	ctl, err := NewController(cfg)
	if err != nil {
		return nil, err
	}
	e := &Estimator{
		ctl: ctl, pacer: NewPacer(int(PacingFactor*float64(ctl.Target())), DefaultMaxPacerDelay),
		retransmitters: map[uint32]*Retransmitter{}, wake: make(chan struct{}, 1), done: make(chan struct{}),
		lastSent: ctl.Target(),
	}
	e.wg.Add(1)
	go e.run()
	return e, nil
}

// AddStream paces the stream's packets; it returns the writer to write
// them to. NACK retransmissions (on the stream's RTX SSRC, or repeated
// sequence numbers on its own) pass its Retransmitter first: too old or
// over the budget, they are skipped; those allowed leave before the
// media packets queued (Pacer.PushFirst). Where the stream negotiated
// the transport-wide sequence number, the Estimator stamps it as each
// packet leaves the pacer (a number the packet already carries is
// replaced).
func (e *Estimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	sw := &streamWriter{w: w}
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == transportCCURI {
			sw.twccID = uint8(x.ID) //nolint:gosec // header extension IDs are 1..255
		}
	}
	rt := &Retransmitter{}
	e.mu.Lock()
	e.retransmitters[info.SSRC] = rt
	e.mu.Unlock()
	ssrc, rtxSSRC := info.SSRC, info.SSRCRetransmission
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, attr interceptor.Attributes) (int, error) {
		now := time.Now()
		size := h.MarshalSize() + len(payload)
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return 0, ErrClosed
		}
		allow, repair, copies, endCopies := true, false, 1, 1
		if (rtxSSRC != 0 && h.SSRC == rtxSSRC) || h.SSRC == ssrc {
			// One read of the controller's figures for the packet: the
			// copies, the budget and the repair's age check use them.
			st := e.ctl.Stats()
			radio := RadioLoss(st)
			copies = RepairCopies(st.RTT, rt.FrameInterval(), st.Loss, radio)
			rt.SetBudget(RetransmitShareAt(copies, st.Loss, radio), copies)
			if h.Marker {
				endCopies = FrameEndCopies(st.RTT, rt.FrameInterval(), st.Loss, radio)
			}
			switch {
			case rtxSSRC != 0 && h.SSRC == rtxSSRC: // RFC 4588: the original sequence number first
				allow = len(payload) >= 2 && rt.Allow(binary.BigEndian.Uint16(payload), size, e.ctl.Target(), st.RTT, now)
				repair = true
			case rt.IsRetransmission(h.SequenceNumber):
				allow = rt.Allow(h.SequenceNumber, size, e.ctl.Target(), st.RTT, now)
				repair = true
			default:
				rt.OnMedia(h.SequenceNumber, h.Timestamp, now)
			}
		}
		if !allow {
			e.mu.Unlock()
			return size, nil
		}
		var first *packet
		queue := func() { // a copy of its own: the writers below may change it
			pkt := &packet{h: h.Clone(), p: append([]byte(nil), payload...), attr: maps.Clone(attr), sw: sw, first: first}
			if first == nil {
				first = pkt
			}
			if repair {
				e.pacer.PushFirst(pkt, size, now)
			} else {
				e.pacer.Push(pkt, size, now)
			}
		}
		queue()
		// A repair that a second NACK could not replace in time goes out
		// RepairCopies times (the receiver drops every copy after the
		// first that arrives).
		for i := 1; repair && i < copies && rt.AllowCopy(size, e.ctl.Target(), now); i++ {
			queue()
		}
		// A frame's last packet, whose loss shows only with the next
		// frame, goes out FrameEndCopies times on a lossy link.
		for i := 1; !repair && i < endCopies && rt.AllowEndCopy(size, e.ctl.Target(), now); i++ {
			queue()
		}
		e.mu.Unlock()
		select {
		case e.wake <- struct{}{}:
		default:
		}
		return size, nil
	})
}

// run sends paced packets until Close.
func (e *Estimator) run() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		v, ok, wait := e.pacer.Pop(time.Now())
		e.mu.Unlock()
		if ok {
			e.send(v.(*packet)) //nolint:forcetypeassert // only packets are pushed
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-e.done:
			return
		case <-e.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// send stamps pkt's transport-wide sequence number (where its stream
// has the extension) as it leaves the pacer, writes it to its stream
// and tells the controller when it left:
// when the write (SRTP, the socket) returned, so that the node's own
// delays on the way out — a goroutine preempted in the write path of a
// CPU-bound node — do not count as network delay (the controller would
// read them as a standing queue). The packet is recorded before the
// write too, so that feedback read meanwhile finds it.
func (e *Estimator) send(pkt *packet) {
	e.mu.Lock()
	sw := pkt.sw
	seq, stamped := int64(0), false
	if sw.twccID != 0 {
		n, fresh := e.nextSeq, true
		if f := pkt.first; f != nil && f.stamped {
			n, fresh = f.seq, false // copies leave right after their original
		}
		var ext [2]byte
		binary.BigEndian.PutUint16(ext[:], uint16(n)) //nolint:gosec // the wire carries the low 16 bits
		if err := pkt.h.SetExtension(sw.twccID, ext[:]); err == nil {
			seq, stamped = n, true
			pkt.seq, pkt.stamped = n, true
			if fresh {
				e.nextSeq++
			}
		}
	}
	size := pkt.h.MarshalSize() + len(pkt.p)
	if stamped {
		e.ctl.OnSent(seq, size, time.Now())
	}
	e.mu.Unlock()
	start := time.Now()
	_, _ = sw.w.Write(&pkt.h, pkt.p, pkt.attr)
	if !stamped {
		return
	}
	left := time.Now()
	e.mu.Lock()
	e.ctl.OnSent(seq, size, left)
	e.writeTime.add(left.Sub(start), left)
	e.mu.Unlock()
}

// slowest is the longest duration of the last one to two seconds.
type slowest struct {
	cur, prev time.Duration
	since     time.Time
}

func (s *slowest) add(d time.Duration, now time.Time) {
	if now.Sub(s.since) >= time.Second {
		s.prev, s.cur, s.since = s.cur, 0, now
	}
	s.cur = max(s.cur, d)
}

func (s *slowest) max() time.Duration { return max(s.cur, s.prev) }

// WriteRTCP feeds the transport-wide feedback in pkts to the controller.
// A malformed report is skipped and reported; the others still count.
func (e *Estimator) WriteRTCP(pkts []rtcp.Packet, _ interceptor.Attributes) error {
	now := time.Now()
	var errs []error
	e.mu.Lock()
	for _, p := range pkts {
		fb, ok := p.(*rtcp.TransportLayerCC)
		if !ok {
			continue
		}
		acks, err := TWCCAcks(fb, &e.fbSeq)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.ctl.OnFeedback(acks, now)
	}
	target := e.ctl.Target()
	e.pacer.SetRate(int(PacingFactor * float64(target)))
	e.pacer.Burst = e.ctl.PacerBurst()
	var notify func(int)
	if target != e.lastSent {
		e.lastSent, notify = target, e.onChange
	}
	e.mu.Unlock()
	if notify != nil {
		notify(target)
	}
	return errors.Join(errs...)
}

// GetTargetBitrate returns the controller's target in bits per second.
func (e *Estimator) GetTargetBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ctl.Target()
}

// OnTargetBitrateChange sets f to be called (on the RTCP reader's
// goroutine; it must not block) when the target changes.
func (e *Estimator) OnTargetBitrateChange(f func(bitrate int)) {
	e.mu.Lock()
	e.onChange = f
	e.mu.Unlock()
}

// Backlog is how long the packets waiting in the pacer take to leave.
func (e *Estimator) Backlog() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pacer.Backlog()
}

// GetStats reports the controller's and the pacer's state, and the
// SSRCs of the streams it paces ("ssrcs", []uint32).
func (e *Estimator) GetStats() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.ctl.Stats()
	r := e.retransmitStats()
	ssrcs := slices.Sorted(maps.Keys(e.retransmitters))
	return map[string]any{
		"ssrcs":            ssrcs,
		"deliveredBitrate": s.Delivered, "queueDelayMs": float64(s.QueueDelay.Microseconds()) / 1000,
		"loss": s.Loss, "queueLoss": s.QueueLoss, "peakQueueDelayMs": float64(s.PeakQueueDelay.Microseconds()) / 1000,
		"state": s.State, "rttMs": float64(s.RTT.Microseconds()) / 1000,
		"pacerRate": e.pacer.Rate(), "pacerBacklogMs": float64(e.pacer.Backlog().Microseconds()) / 1000,
		"pacerQueued": e.pacer.Len(), "pacerDropped": e.pacer.Dropped(),
		"writeMaxMs": float64(e.writeTime.max().Microseconds()) / 1000, "probedBitrate": s.Probed,
		"retransmitted": r.Sent, "retransmittedBytes": r.SentBytes,
		"retransmitTooOld": r.TooOld, "retransmitOverBudget": r.OverBudget, "retransmitRepeated": r.Repeated,
		"retransmitCopies": r.Copies, "frameEndCopies": r.EndCopies,
	}
}

// RetransmitStats sums the streams' retransmission counts.
func (e *Estimator) RetransmitStats() RetransmitStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.retransmitStats()
}

func (e *Estimator) retransmitStats() RetransmitStats {
	var sum RetransmitStats
	for _, r := range e.retransmitters {
		s := r.Stats()
		sum.Sent += s.Sent
		sum.SentBytes += s.SentBytes
		sum.TooOld += s.TooOld
		sum.OverBudget += s.OverBudget
		sum.Repeated += s.Repeated
		sum.Copies += s.Copies
		sum.CopyBytes += s.CopyBytes
		sum.EndCopies += s.EndCopies
		sum.EndCopyBytes += s.EndCopyBytes
	}
	return sum
}

// Close stops the pacer's goroutine and drops what it still held. It is
// idempotent.
func (e *Estimator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// TWCCAcks turns a transport-wide feedback report into Acks, unwrapping
// its sequence numbers with u. Arrival times are on the receiver's
// clock, from its reference time.
func TWCCAcks(fb *rtcp.TransportLayerCC, u *Unwrapper) ([]Ack, error) {
	acks := make([]Ack, 0, fb.PacketStatusCount)
	base := u.Unwrap(fb.BaseSequenceNumber)
	at := time.Unix(0, 0).Add(time.Duration(fb.ReferenceTime) * 64 * time.Millisecond)
	deltas := fb.RecvDeltas
	add := func(symbol uint16) error {
		if len(acks) >= int(fb.PacketStatusCount) {
			return nil
		}
		a := Ack{Seq: base + int64(len(acks))}
		switch symbol {
		case rtcp.TypeTCCPacketReceivedSmallDelta, rtcp.TypeTCCPacketReceivedLargeDelta:
			if len(deltas) == 0 {
				return fmt.Errorf("congestion: TWCC feedback %d: fewer receive deltas than received packets", fb.FbPktCount)
			}
			at = at.Add(time.Duration(deltas[0].Delta) * time.Microsecond)
			deltas = deltas[1:]
			a.Arrived = at
		case rtcp.TypeTCCPacketReceivedWithoutDelta:
			a.Arrived = at
		}
		acks = append(acks, a)
		return nil
	}
	for _, ch := range fb.PacketChunks {
		switch ch := ch.(type) {
		case *rtcp.RunLengthChunk:
			for range ch.RunLength {
				if err := add(ch.PacketStatusSymbol); err != nil {
					return nil, err
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range ch.SymbolList {
				if err := add(s); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(acks) > 0 {
		u.Unwrap(uint16(acks[len(acks)-1].Seq)) //nolint:gosec // keeps the unwrapper near the newest
	}
	return acks, nil
}
