package congestion

import "time"

// RetransmitShare is the share of the congestion controller's target that
// NACK retransmissions may use. At a random loss of p, resending every
// lost packet once costs p/(1-p) of the media rate: 25 % covers every
// loss up to 20 %, the worst the node is built to carry (beyond that the
// controller's loss rule lowers the rate and a key frame is the cheaper
// repair), and leaves three quarters of the target to new frames even
// when the receiver asks for everything at once (a burst of loss, a
// receiver that NACKs a whole key frame). libwebrtc caps retransmissions
// at the whole target; a VR stream prefers the next frame to an old one.
const RetransmitShare = 0.25

// retransmitBurst is how much retransmission the budget may save up, in
// time at its rate: enough for the packets of one lost burst to go out
// together, never more than a small fraction of a frame interval's media
// at the target. At least one packet's worth is always allowed, so that
// a low target can still repair a single loss.
const retransmitBurst = 100 * time.Millisecond

// minRetransmitBucket is the budget's depth at the lowest targets: two
// full-size packets.
const minRetransmitBucket = 2 * 1200

// DefaultRetransmitRTT is the round trip the age limit assumes before the
// controller has measured one.
const DefaultRetransmitRTT = 200 * time.Millisecond

// retransmitMargin is added to the age limit for the receiver's loss
// detection (a gap is seen only when the next packet arrives) and the
// pacer's own queue.
const retransmitMargin = 50 * time.Millisecond

// retransmitHistory is how many sent packets the Retransmitter remembers
// (a power of two): more than the responder's history (1024).
const retransmitHistory = 2048

// Retransmitter decides which NACK retransmissions go out: a packet
// whose first transmission is older than MaxAge (a retransmission would
// arrive after the frames that follow it were due: the receiver has
// asked for a key frame or given the frame up by then) is skipped, and
// the retransmissions together never exceed RetransmitShare of the
// target (a token bucket). It is clock-free: every call takes now. It
// is not safe for concurrent use.
type Retransmitter struct {
	sent     [retransmitHistory]sentPacket
	have     bool
	newest   uint16 // newest sequence number sent
	tokens   float64
	last     time.Time
	lastTS   uint32
	lastTSAt time.Time
	interval time.Duration // smoothed frame interval

	stats RetransmitStats
}

type sentPacket struct {
	at       time.Time
	resentAt time.Time // last retransmission, zero if none
	seq      uint16
	valid    bool
}

// RetransmitStats counts what the Retransmitter decided.
type RetransmitStats struct {
	// Sent and SentBytes count the retransmissions allowed.
	Sent, SentBytes uint64
	// TooOld counts those skipped because the packet was older than
	// MaxAge or no longer remembered.
	TooOld uint64
	// OverBudget counts those skipped because the budget was spent.
	OverBudget uint64
	// Repeated counts those skipped because the packet was retransmitted
	// less than a round trip before: the receiver asked again before the
	// first repair could arrive.
	Repeated uint64
	// Copies counts the second copies of retransmissions sent where a
	// second round of NACK and repair would come too late (see
	// DuplicateRepairs); CopyBytes their bytes, also in SentBytes.
	Copies, CopyBytes uint64
}

// Stats returns the counts so far.
func (r *Retransmitter) Stats() RetransmitStats { return r.stats }

// IsRetransmission reports whether a packet with sequence number seq on
// the media SSRC repeats one already sent (a NACK retransmission without
// RTX): sequence numbers of new packets only grow.
func (r *Retransmitter) IsRetransmission(seq uint16) bool {
	return r.have && int16(seq-r.newest) <= 0 //nolint:gosec // serial number arithmetic
}

// OnMedia records the first transmission of the media packet seq with
// RTP timestamp ts at now.
func (r *Retransmitter) OnMedia(seq uint16, ts uint32, now time.Time) {
	r.sent[seq%retransmitHistory] = sentPacket{at: now, seq: seq, valid: true}
	r.newest, r.have = seq, true
	if ts != r.lastTS {
		if !r.lastTSAt.IsZero() {
			d := min(max(now.Sub(r.lastTSAt), 5*time.Millisecond), 200*time.Millisecond)
			if r.interval == 0 {
				r.interval = d
			} else {
				r.interval += (d - r.interval) / 8
			}
		}
		r.lastTS, r.lastTSAt = ts, now
	}
}

// FrameInterval is the smoothed time between the first packets of
// consecutive frames (1/30 s before two frames were seen).
func (r *Retransmitter) FrameInterval() time.Duration {
	if r.interval == 0 {
		return time.Second / 30
	}
	return r.interval
}

// MaxAge is the oldest a packet may be for its retransmission to be
// useful, at round trip rtt (DefaultRetransmitRTT when zero): one round
// trip for the NACK and the repair, two frame intervals for the receiver
// to notice the gap (the loss of a frame's last packet shows only with
// the next frame) and for the frame after it, which cannot be decoded
// without it, and a margin for the pacer. A second NACK of a lost
// retransmission comes a round trip later and is skipped unless the
// round trip is short against the frame interval: by then the receiver
// has asked for a key frame, or shown a freeze the repair would only
// lengthen.
func (r *Retransmitter) MaxAge(rtt time.Duration) time.Duration {
	if rtt <= 0 {
		rtt = DefaultRetransmitRTT
	}
	return rtt + 2*r.FrameInterval() + retransmitMargin
}

// Allow reports whether the retransmission of media packet seq (size
// bytes on the wire) may go out at now, with the controller's target
// bps and round trip rtt, and spends its budget if so. The checks are
// in order of cost to the link: a packet too old, or already resent
// within the round trip, never touches the budget.
func (r *Retransmitter) Allow(seq uint16, size, bps int, rtt time.Duration, now time.Time) bool {
	r.refill(bps, now)
	if rtt <= 0 {
		rtt = DefaultRetransmitRTT
	}
	p := &r.sent[seq%retransmitHistory]
	if !p.valid || p.seq != seq || now.Sub(p.at) > r.MaxAge(rtt) {
		r.stats.TooOld++
		return false
	}
	if !p.resentAt.IsZero() && now.Sub(p.resentAt) < rtt {
		r.stats.Repeated++
		return false
	}
	if !r.spend(size) {
		return false
	}
	p.resentAt = now
	r.stats.Sent++
	return true
}

// spend takes size bytes from the budget and counts them sent, or counts
// the packet over budget and reports false.
func (r *Retransmitter) spend(size int) bool {
	if r.tokens < float64(size) {
		r.stats.OverBudget++
		return false
	}
	r.tokens -= float64(size)
	r.stats.SentBytes += uint64(size) //nolint:gosec // size is a packet's
	return true
}

// DuplicateRepairs reports whether a retransmission should go out twice
// at round trip rtt and frame interval: when a lost repair could only
// be replaced by a second NACK a round trip later, and the frame would
// then be late by more than WebRTC's freeze rule allows (a gap between
// frames over max(3 intervals, 1 interval + 150 ms)): two round trips
// and the receiver's detection (about two intervals) over that limit,
// a round trip over 58 ms at 30 fps. Two copies make a lost repair as
// rare as the square of the loss (0.25 % of the repairs at 5 % loss
// instead of 5 %) for the price of the retransmissions a second time
// (5 % more of the rate at 5 % loss), within the budget. A zero rtt
// (none measured) assumes DefaultRetransmitRTT.
func DuplicateRepairs(rtt, interval time.Duration) bool {
	if rtt <= 0 {
		rtt = DefaultRetransmitRTT
	}
	return 2*rtt+2*interval > max(3*interval, interval+150*time.Millisecond)
}

// AllowCopy reports whether a second copy of a retransmission just
// allowed (size bytes) fits the budget at target bps, and spends it if
// so. It checks neither age nor repetition: Allow did, for the first.
func (r *Retransmitter) AllowCopy(size, bps int, now time.Time) bool {
	r.refill(bps, now)
	if !r.spend(size) {
		return false
	}
	r.stats.Copies++
	r.stats.CopyBytes += uint64(size) //nolint:gosec // size is a packet's
	return true
}

// refill adds the budget earned since the last call at RetransmitShare
// of bps, up to retransmitBurst of it.
func (r *Retransmitter) refill(bps int, now time.Time) {
	rate := RetransmitShare * float64(max(bps, 0)) / 8 // bytes per second
	depth := max(rate*retransmitBurst.Seconds(), minRetransmitBucket)
	if r.last.IsZero() {
		r.tokens = depth
	} else if d := now.Sub(r.last); d > 0 {
		r.tokens += rate * d.Seconds()
	}
	r.tokens = min(r.tokens, depth)
	if now.After(r.last) {
		r.last = now
	}
}
