package congestion

import (
	"math"
	"time"
)

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

// MaxRadioRetransmitShare is the most of the target retransmissions may
// use when the link loses packets without a queue (a radio's loss, see
// RetransmitShareAt): a lower rate cures no such loss, the bytes meet no
// queue, and a third copy of each repair at 10 % loss costs a third of
// the rate.
const MaxRadioRetransmitShare = 0.5

// MaxRepairCopies is the most copies of one retransmission sent at once.
const MaxRepairCopies = 4

// LostRepairGoal is the share of repairs that may be lost with every
// copy (RepairCopies): 0.02 %. Each such repair costs its frame another
// round trip, a freeze where the round trip is long enough to need
// copies; at 3.3 Mbit/s (about 375 packets a second) a radio losing
// 10 % loses some 2,250 packets a minute, and with four copies
// (0.01 %) about one repair in four minutes with every copy, against
// two a minute with three (0.1 %, the goal before: the ten-run proof
// table's loss rows froze 256–388 ms in about one run in ten, each time
// for a repair whose copies were all lost).
const LostRepairGoal = 0.0002

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
	share    float64       // of the target; 0: RetransmitShare
	copies   int           // of each repair the budget pays for; 0: 2

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
	// EndCopies counts the extra copies of frames' last packets sent on a
	// lossy link (see FrameEndCopies); EndCopyBytes their bytes, also in
	// SentBytes.
	EndCopies, EndCopyBytes uint64
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
// useful, at round trip rtt (DefaultRetransmitRTT when zero): two round
// trips, for the NACK and the repair and, if every copy of the repair is
// lost, for the NACK that repeats it (a repeat is answered a round trip
// after the repair it replaces), two frame intervals for the receiver to
// notice the gap (the loss of a frame's last packet shows only with the
// next frame) and for the frame after it, which cannot be decoded
// without it, and a margin for the pacer. A third round is skipped: by
// then a freeze is on screen anyway. Chromium keeps NACKing a missing
// packet up to 10 times, a round trip apart, and asks for a key frame
// only when it cannot recover (a decode timeout of seconds): a repair it
// is refused leaves it frozen until then.
func (r *Retransmitter) MaxAge(rtt time.Duration) time.Duration {
	if rtt <= 0 {
		rtt = DefaultRetransmitRTT
	}
	return 2*rtt + 2*r.FrameInterval() + retransmitMargin
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

// AllowCopy reports whether another copy of a retransmission just
// allowed (size bytes) fits the budget at target bps, and spends it if
// so. A copy leaves the budget room for one more first repair of that
// size: a burst of losses gets every packet repaired once before any
// twice. It checks neither age nor repetition: Allow did, for the first.
func (r *Retransmitter) AllowCopy(size, bps int, now time.Time) bool {
	if !r.allowExtra(size, bps, now) {
		return false
	}
	r.stats.Copies++
	r.stats.CopyBytes += uint64(size) //nolint:gosec // size is a packet's
	return true
}

// SetBudget sets the share of the target the budget refills at (0 or
// less: RetransmitShare; at most MaxRadioRetransmitShare) and the copies
// of each repair it is to pay for: the budget holds retransmitBurst of
// its rate per copy after the first (at least one), so that a burst of
// losses gets as many repairs through with three copies as with two.
func (r *Retransmitter) SetBudget(share float64, copies int) {
	r.share = min(share, MaxRadioRetransmitShare)
	r.copies = copies
}

// Share is the share of the target the budget refills at.
func (r *Retransmitter) Share() float64 {
	if r.share <= 0 {
		return RetransmitShare
	}
	return r.share
}

// RepairCopies is how many copies of each retransmission go out at round
// trip rtt, frame interval and smoothed loss (0–1): one where a second
// NACK round can come in time (DuplicateRepairs false); otherwise two,
// and on a radio's loss (radio: no queue behind the losses, see the
// Controller) the smallest number up to MaxRepairCopies whose loss
// together, loss^copies, is under LostRepairGoal: two up to 1.4 % loss,
// three up to 5.8 %, four above. Behind a queue the losses are the
// queue's overflow, and a third copy would only add to it.
func RepairCopies(rtt, interval time.Duration, loss float64, radio bool) int {
	if !DuplicateRepairs(rtt, interval) {
		return 1
	}
	k := 2
	for radio && k < MaxRepairCopies && math.Pow(loss, float64(k)) > LostRepairGoal {
		k++
	}
	return k
}

// RadioLoss reports whether the losses the controller reports (s) are a
// radio's, by the controller's own test: no more than half of the recent
// runs of lost packets came at the top of their report's queue delays
// (Stats.QueueLoss; a drop-tail bottleneck drops packets only when its
// queue is full). Until the seventh round of docs/network.md it was a
// standing queue under 10 ms, which a busy machine's runs broke: there
// every packet's one-way delay sat 11–19 ms over the smallest one seen
// at the start, for the whole run, on a link with no queue at all, and
// 10 % of radio loss got two copies of each repair (every copy of 12
// repairs lost in 15 s) and a quarter of the target for them.
func RadioLoss(s Stats) bool { return s.QueueLoss <= 0.5 }

// MinEndCopyLoss is the smoothed loss from which frames' last packets go
// out more than once (FrameEndCopies).
const MinEndCopyLoss = 0.005

// FrameEndCopies is how many copies of a frame's last packet go out at
// round trip rtt, frame interval and smoothed loss: RepairCopies where
// the loss is a radio's and at least MinEndCopyLoss, otherwise one. A
// receiver sees the loss of a frame's last packet only when the next
// frame arrives, a frame interval later, so its repair comes a frame
// interval later than any other's: at 30 fps and 50 ms each way about
// 145 ms after the frame was due, a gap of 178 ms after the frame
// before, at WebRTC's freeze limit (183 ms). At 5 % loss that was a
// freeze of about 200 ms every 1.5 s. With k copies the last packet is
// lost as rarely as loss^k; a copy costs the last packet's bytes per
// frame (under a packet), and the retransmission budget pays for it.
func FrameEndCopies(rtt, interval time.Duration, loss float64, radio bool) int {
	if !radio || loss < MinEndCopyLoss {
		return 1
	}
	return RepairCopies(rtt, interval, loss, radio)
}

// AllowEndCopy reports whether an extra copy of a frame's last packet
// (size bytes) fits the budget at target bps, and spends it if so: only
// from the upper half of the budget's depth, which repairs (of packets
// known lost) may empty. At low rates a frame is a packet or two and its
// last packet's copies would otherwise take the budget from the repairs:
// at 10 % loss and a 530 kbit/s target, 329 repairs were refused over
// the budget in 15 s.
func (r *Retransmitter) AllowEndCopy(size, bps int, now time.Time) bool {
	r.refill(bps, now)
	if r.tokens-float64(size) < r.depth(bps)/2 {
		r.stats.OverBudget++
		return false
	}
	if !r.spend(size) {
		return false
	}
	r.stats.EndCopies++
	r.stats.EndCopyBytes += uint64(size) //nolint:gosec // size is a packet's
	return true
}

// RetransmitShareAt is the share of the target retransmissions may use
// with copies copies of each at smoothed loss (0–1): RetransmitShare
// behind a queue; on a radio's loss enough for every lost packet's
// copies and half as much again (the losses come in bursts, and repairs
// of repairs), copies × loss/(1 − loss) × 1.5, at least RetransmitShare
// and at most MaxRadioRetransmitShare: 0.25 up to about 5 % loss with
// three copies, 0.5 from about 7.5 % with four.
func RetransmitShareAt(copies int, loss float64, radio bool) float64 {
	if !radio || loss <= 0 {
		return RetransmitShare
	}
	loss = min(loss, 0.5)
	return min(max(1.5*float64(copies)*loss/(1-loss), RetransmitShare), MaxRadioRetransmitShare)
}

// allowExtra spends size bytes of the budget on an extra copy if that
// leaves room for one more first repair of that size.
func (r *Retransmitter) allowExtra(size, bps int, now time.Time) bool {
	r.refill(bps, now)
	if r.tokens < float64(2*size) {
		r.stats.OverBudget++
		return false
	}
	return r.spend(size)
}

// depth is how many bytes the budget holds at target bps.
func (r *Retransmitter) depth(bps int) float64 {
	rate := r.Share() * float64(max(bps, 0)) / 8
	return max(rate*retransmitBurst.Seconds()*float64(max(r.copies-1, 1)), minRetransmitBucket)
}

// refill adds the budget earned since the last call at Share of bps, up
// to retransmitBurst of it.
func (r *Retransmitter) refill(bps int, now time.Time) {
	rate := r.Share() * float64(max(bps, 0)) / 8 // bytes per second
	depth := r.depth(bps)
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
