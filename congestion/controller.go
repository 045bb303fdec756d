// Package congestion is the node's send-side congestion control: a
// delay- and loss-based rate Controller fed with transport-wide
// congestion control feedback (TWCC), a Pacer that spreads each frame's
// packets over time instead of handing the bottleneck one burst, and
// Estimator, which joins them behind pion/interceptor's cc interceptor
// (it is a cc.BandwidthEstimator).
//
// The Controller and the Pacer are pure: they take the time as an
// argument, so that tests drive them with synthetic feedback and a
// made-up clock. Estimator owns the one goroutine that sends paced
// packets.
package congestion

import (
	"fmt"
	"math"
	"time"
)

// Config bounds a Controller.
type Config struct {
	// StartBitRate is the target before any feedback: a rate most links
	// carry, from which the controller probes up. 0 means
	// DefaultStartBitRate (at most MaxBitRate).
	StartBitRate int
	// MinBitRate and MaxBitRate bound the target, in bits per second.
	MinBitRate, MaxBitRate int
}

// DefaultStartBitRate is the target before any feedback when
// Config.StartBitRate is 0.
const DefaultStartBitRate = 800_000

// growthHeadroom is what the target may grow past 1.5× the delivered rate
// while nothing shows the link's rate (bits per second): an encoder that
// sends less than its target tells nothing about the link, but a target
// held to what a starting encoder delivers would never grow.
const growthHeadroom = 300_000

// The controller's tuning. The queue delay is the "standing" one: the
// smallest one-way delay in a feedback report above the smallest ever
// seen (less the packet's own serialisation at the target), so that the
// short queue of one paced frame does not count and a queue that never
// drains between frames does.
const (
	// highQueueDelay: a standing queue above it is overuse.
	highQueueDelay = 50 * time.Millisecond
	// lowQueueDelay: below it (and with little loss) the link has room.
	lowQueueDelay = 15 * time.Millisecond
	// highLoss and lowLoss are the smoothed loss ratios above which the
	// target falls, and below which it may rise, while the link shows a
	// queue; with loss but no queue at all (radioLoss), the target falls
	// only over severeLoss and may rise under highLoss. A policer drops
	// without queueing, more the more is sent over its rate: severeLoss
	// bounds what it can cost.
	highLoss, lowLoss, severeLoss = 0.10, 0.02, 0.30
	// narrowedShare: a report whose packets arrived at under this share
	// of the rate they were sent at shows a link narrower than the
	// sending rate.
	narrowedShare = 0.7
	// widenedShare: frame clusters that crossed the path unslowed at
	// this many times the target or more show a link with room for fast
	// growth even just after a decrease (see widened).
	widenedShare = 1.5
	// reportSpanPackets and reportSpanTime: the least a report's
	// packets and their arrivals must span for its rates to count (the
	// pacer sends a frame's packets within a few ms, the bottleneck
	// spreads them). burstSpanPackets: the least for packets sent as
	// one burst, which the bottleneck serves back to back, so that
	// their arrivals are its rate with no idle time between them; the
	// first report after a link narrows under a full queue may hold no
	// more, the rest still queued (TestControllerThinReport).
	reportSpanPackets, burstSpanPackets, reportSpanTime = 4, 3, 15 * time.Millisecond
	// radioLossQueue, lossTopShare, flatSpread and lossVerdicts judge
	// whose a loss is (see radioLoss): a run of lost packets is the
	// queue's when the packet sent just before it waited in the top
	// quarter (lossTopShare) of the range of its report's queue delays,
	// or, in a report whose delays span under flatSpread, when it waited
	// radioLossQueue or more; the last lossVerdicts runs vote.
	radioLossQueue = 5 * time.Millisecond
	lossTopShare   = 0.75
	flatSpread     = 2 * time.Millisecond
	lossVerdicts   = 10
	// fastGrowth is the target's growth per second (compounded per
	// report: about ×2.7 a second with reports every 100 ms) while no
	// decrease has happened or the target is far above the rate of the
	// last one (probing a link of unknown capacity: from the start rate
	// to 60 % of 10 Mbit/s in about 2 s), slowGrowth near it.
	fastGrowth, slowGrowth = 1.0, 0.12
	// overuseTime is how long a standing queue above highQueueDelay must
	// last (over at least two reports) before the target falls when the
	// report before it showed no queue (under lowQueueDelay): a queue at
	// the bottleneck builds up over reports and stands, while a receiver
	// or sender starved of CPU for a moment makes one report's packets
	// late out of nowhere and then catches up. A queue that was already
	// building counts at once.
	overuseTime = 90 * time.Millisecond
	// rateWindow is the window over which the delivered rate is measured.
	rateWindow = 500 * time.Millisecond
	// baseWindow is how long a smallest one-way delay is remembered.
	baseWindow = 20 * time.Second
	// historySize is how many sent packets are remembered for feedback.
	historySize = 1 << 14
)

// Ack is the fate of one sent packet, as feedback reported it.
type Ack struct {
	// Seq is the packet's transport-wide sequence number, unwrapped
	// (see Unwrapper).
	Seq int64
	// Arrived is when it arrived, on the receiver's clock (only the
	// differences between arrivals matter); zero means it was lost.
	Arrived time.Time
}

// Stats is what a Controller knows of the link.
type Stats struct {
	// Target is the bit rate the sender should stay under.
	Target int
	// Delivered is the rate at which packets arrived over the last
	// rateWindow, in bits per second (0 before feedback).
	Delivered int
	// QueueDelay is the standing queue delay of the last report.
	QueueDelay time.Duration
	// PeakQueueDelay is the largest queue delay of a packet in the last
	// report.
	PeakQueueDelay time.Duration
	// QueueLoss is the share of the recent runs of lost packets that
	// came with the queue at its top: a bottleneck's overflow, not a
	// radio's loss (see radioLoss); 0 before any loss.
	QueueLoss float64
	// Loss is the smoothed ratio of packets reported lost.
	Loss float64
	// State is "increase", "hold" or "decrease": what the last report did.
	State string
	// RTT is the time from sending the newest packet a report acked to
	// reading the report (round trip plus the receiver's report delay).
	RTT time.Duration
	// Probed is the rate the newest report's packet clusters showed the
	// path carried, in bits per second (0: none could tell; probe.go).
	Probed int
}

// sent is one packet the controller was told about.
type sent struct {
	seq  int64
	size int
	at   time.Time
}

// arrival is a received packet, for the delivered rate.
type arrival struct {
	at   time.Time
	size int
}

// Controller turns feedback into a target bit rate. It is not safe for
// concurrent use (Estimator serialises it).
type Controller struct {
	cfg     Config
	target  float64
	history []sent

	arrivals []arrival // received within rateWindow of the newest
	loss     float64
	base     [2]time.Duration // smallest one-way delay: this and last baseWindow
	baseAt   time.Time        // when base[0] started
	baseSet  bool

	lastUpdate, lastDecrease time.Time
	overuseSince             time.Time     // first report of the current standing queue; zero without one
	prevQueue                time.Duration // the standing queue of the report before
	// reportSent and reportRecv are the rates at which the last report's
	// received packets were sent and arrived (bits/s; 0 when it spans
	// too little to tell): see reportSpan.
	reportSent, reportRecv float64
	// probed is the rate the last report's frame clusters showed the
	// path carried (probe.go), at probedAt; 0 before any. saturated:
	// they arrived markedly slower than sent (probed is the
	// bottleneck's rate).
	probed    float64
	probedAt  time.Time
	saturated bool
	// bottleneck is the highest rate saturated clusters showed since
	// bottleneckAt (a new one after probeAge; cleared when clusters
	// arrive about as sent, faster than it); 0: none.
	bottleneck   float64
	bottleneckAt time.Time
	// lastSeq is the newest packet sent; newestSeq the newest the last
	// report told of (see queueAhead).
	lastSeq, newestSeq int64
	probeOff           bool    // tests: the growth capped by the delivered rate alone
	decreasedTo        float64 // the target after the last decrease; 0 before any
	stats              Stats

	// lossQs holds, per run of lost packets in the last report, the
	// queue delay of the packet received just before it (just after, at
	// the report's start).
	lossQs []time.Duration
	// verdicts holds, for the last lossVerdicts runs of lost packets
	// (a ring at nextVerdict, nVerdicts filled), whether each came at
	// the top of its report's queue.
	verdicts               [lossVerdicts]bool
	nextVerdict, nVerdicts int
}

// NewController returns a Controller at cfg's start rate.
func NewController(cfg Config) (*Controller, error) {
	if cfg.MinBitRate <= 0 || cfg.MaxBitRate < cfg.MinBitRate {
		return nil, fmt.Errorf("congestion: bit rate bounds [%d, %d]: want 0 < min <= max", cfg.MinBitRate, cfg.MaxBitRate)
	}
	if cfg.StartBitRate == 0 {
		cfg.StartBitRate = DefaultStartBitRate
	}
	cfg.StartBitRate = min(max(cfg.StartBitRate, cfg.MinBitRate), cfg.MaxBitRate)
	c := &Controller{cfg: cfg, target: float64(cfg.StartBitRate), history: make([]sent, historySize)}
	c.stats = Stats{Target: cfg.StartBitRate, State: "increase"}
	return c, nil
}

// Target is the bit rate the sender should stay under.
func (c *Controller) Target() int { return int(c.target) }

// Stats reports what the controller knows of the link.
func (c *Controller) Stats() Stats { return c.stats }

// OnSent records a packet of size bytes with transport-wide sequence
// number seq leaving at at.
func (c *Controller) OnSent(seq int64, size int, at time.Time) {
	c.history[seq&(historySize-1)] = sent{seq: seq, size: size, at: at}
	c.lastSeq = max(c.lastSeq, seq)
}

// inflight is the bits of the packets sent after seq (the newest a
// report told of) that the controller still remembers.
func (c *Controller) inflight(seq int64) float64 {
	bits := 0.0
	for s := c.lastSeq; s > seq && s > c.lastSeq-historySize; s-- {
		h := c.history[s&(historySize-1)]
		if h.seq != s {
			break
		}
		bits += float64(8 * h.size)
	}
	return bits
}

// OnFeedback takes one feedback report read at now and updates the
// target. Acks of packets the controller was not told about (or has
// forgotten) are ignored.
func (c *Controller) OnFeedback(acks []Ack, now time.Time) {
	var total, lost int
	minQueue, peakQueue := time.Duration(-1), time.Duration(0)
	var newestSent time.Time
	newestSeq := int64(-1)
	var span reportSpan
	var clusters clusterMeter
	c.lossQs = c.lossQs[:0]
	inRun, runAtStart, received := false, false, false
	var prevQ time.Duration // the last received packet's queue delay
	for _, a := range acks {
		s := c.history[a.Seq&(historySize-1)]
		if s.seq != a.Seq || s.at.IsZero() {
			continue
		}
		clusters.add(s.at, a.Arrived, s.size)
		newestSeq = max(newestSeq, a.Seq)
		total++
		if a.Arrived.IsZero() {
			lost++
			if !inRun {
				if received {
					c.lossQs = append(c.lossQs, prevQ)
				} else {
					runAtStart = true
				}
			}
			inRun = true
			continue
		}
		if s.at.After(newestSent) {
			newestSent = s.at
		}
		owd := a.Arrived.Sub(s.at)
		c.observeBase(owd, now)
		// The packet's own serialisation at the target is not queueing
		// (at 300 kbit/s one full packet takes 30 ms).
		q := max(0, owd-c.baseDelay()-time.Duration(float64(s.size)*8/c.target*float64(time.Second)))
		if minQueue < 0 || q < minQueue {
			minQueue = q
		}
		peakQueue = max(peakQueue, q)
		if runAtStart {
			c.lossQs = append(c.lossQs, q)
			runAtStart = false
		}
		inRun, received, prevQ = false, true, q
		c.arrivals = append(c.arrivals, arrival{at: a.Arrived, size: s.size})
		span.add(s.at, a.Arrived, s.size)
	}
	c.reportSent, c.reportRecv = span.rates()
	c.newestSeq = newestSeq
	if total == 0 {
		return
	}
	c.stats.Probed = 0
	if ps, pr := clusters.rates(); ps > 0 {
		// No more than the pacer's rate: what the clusters can show.
		c.probed, c.probedAt = min(ps, pr, PacingFactor*c.target), now
		c.saturated = pr < saturatedShare*ps
		c.stats.Probed = int(c.probed)
		switch {
		case c.saturated && (c.probed >= c.bottleneck || now.Sub(c.bottleneckAt) > probeAge):
			c.bottleneck, c.bottleneckAt = c.probed, now
		case !c.saturated && c.probed > c.bottleneck && pr <= bunchedShare*ps:
			// The path carried more: the link widened. Not when the
			// clusters arrived much faster than sent: a receiver
			// starved of CPU stamps its packets late and bunched, and
			// would clear the bottleneck every time it falls behind.
			c.bottleneck = 0
		}
	}
	c.loss += 0.3 * (float64(lost)/float64(total) - c.loss)
	delivered := c.delivered()
	rtt := c.stats.RTT
	if !newestSent.IsZero() {
		rtt = now.Sub(newestSent)
	}
	c.stats.RTT, c.stats.Delivered, c.stats.Loss = rtt, int(delivered), c.loss
	if minQueue >= 0 {
		c.stats.QueueDelay, c.stats.PeakQueueDelay = minQueue, peakQueue
		c.judgeLosses(minQueue, peakQueue)
	}
	c.update(now, delivered)
}

// update moves the target for the report just read.
func (c *Controller) update(now time.Time, delivered float64) {
	q := c.stats.QueueDelay
	// Wait a round trip without the queue (plus a report interval) for
	// a decrease to show before the next: a standing queue's delay must
	// not slow the reaction to it.
	holdOff := min(max(c.stats.RTT-c.stats.QueueDelay+100*time.Millisecond, 200*time.Millisecond), time.Second)
	canDecrease := c.lastDecrease.IsZero() || now.Sub(c.lastDecrease) >= holdOff
	overuse := false
	switch {
	case q > highQueueDelay:
		if c.overuseSince.IsZero() {
			c.overuseSince = now
		}
		overuse = c.prevQueue >= lowQueueDelay || now.Sub(c.overuseSince) >= overuseTime || c.narrowed()
	case c.narrowed() && (c.stats.PeakQueueDelay > 2*highQueueDelay || (q >= lowQueueDelay && c.stats.PeakQueueDelay > highQueueDelay)):
		// The report began before the link narrowed (its first packets
		// waited for nothing) and ends with a queue building at the
		// narrower rate: react now rather than a report later, when
		// the queue has grown by another report's worth. Twice the
		// threshold: one frame at the encoder's size cap (two frame
		// intervals of the target) on a link at the target queues up to
		// 67 ms at 30 fps, and is no narrowing.
		overuse = true
	default:
		c.overuseSince = time.Time{}
	}
	c.prevQueue = q
	dt := 0.0
	if !c.lastUpdate.IsZero() {
		dt = min(now.Sub(c.lastUpdate), 200*time.Millisecond).Seconds()
	}
	c.lastUpdate = now
	switch {
	case overuse && canDecrease:
		// Overuse: go under what the link delivered, deeper the longer
		// the standing queue, so that it drains; but by at most half at
		// a time (a sender that sends less than its target, or a busy
		// machine's scheduling delays, would otherwise drop it to the
		// floor at once).
		f := max(0.5, 0.85-q.Seconds())
		if c.narrowed() {
			// The bottleneck's own rate, measured now: the delivered
			// rate over rateWindow still counts what arrived before the
			// link narrowed. Deeper for the queue still to come, so
			// that it drains within the settling time.
			f = max(0.5, 0.85-max(q, c.queueAhead()).Seconds())
			c.decrease(now, min(c.target, f*c.reportRecv))
			break
		}
		c.decrease(now, min(c.target, max(f*delivered, 0.5*c.target)))
	case c.loss > highLoss && canDecrease && (!c.radioLoss() || c.loss > severeLoss):
		c.decrease(now, c.target*(1-0.5*c.loss))
	case q < lowQueueDelay && (c.loss < lowLoss || (c.radioLoss() && c.loss < highLoss)):
		g := fastGrowth
		if c.decreasedTo > 0 && c.target < 1.5*c.decreasedTo && !c.widened(now) {
			g = slowGrowth
		}
		next := c.target * (1 + g*dt)
		// Do not run away from what the sender actually sends (an
		// encoder below its target tells nothing about the link) —
		// unless its frames showed the path carries more (probe.go).
		if delivered > 0 {
			limit := max(c.target, 1.5*delivered+growthHeadroom)
			if c.probeFresh(now) {
				limit = max(limit, probeShare*c.probed)
				if c.decreasedTo == 0 {
					// The link's rate still unknown: take what the
					// clusters showed at once, not at the growth's
					// pace (the growth would spend seconds finding a
					// rate the frames already proved).
					jump := probeJump
					if c.saturated {
						jump = probeSaturatedJump
					}
					next = max(next, jump*c.probed)
				}
			}
			if c.bottleneck > 0 && now.Sub(c.bottleneckAt) <= probeAge && !c.probeOff {
				// Clusters found the bottleneck: no growth past what
				// it carries, however little the encoder sends (the
				// delivered rate would allow it: the link shows no
				// queue while the encoder stays under it). The highest
				// rate of the last second, so that one cluster that
				// arrived late (jitter) does not hold the target down.
				limit = min(limit, max(c.target, probeShare*c.bottleneck))
			}
			next = min(next, limit)
		}
		c.target = next
		c.stats.State = "increase"
	default:
		c.stats.State = "hold"
	}
	c.target = min(max(c.target, float64(c.cfg.MinBitRate)), float64(c.cfg.MaxBitRate))
	c.stats.Target = int(c.target)
}

// queueAhead is the queue the bottleneck will have once the packets sent
// after the last report's newest have reached it: they join the queue
// the report's packets saw at its peak, which drains at the rate they
// arrived at. On a link that just narrowed the queue still grows for a
// round trip after the report, by much more than it showed. Read only
// where the report showed a narrowed link (reportRecv > 0); the round
// trip is the time since the report's newest packet was sent.
func (c *Controller) queueAhead() time.Duration {
	if c.reportRecv <= 0 || c.newestSeq < 0 {
		return 0
	}
	ahead := time.Duration(c.inflight(c.newestSeq)/c.reportRecv*float64(time.Second)) - c.stats.RTT
	return max(0, c.stats.PeakQueueDelay+ahead)
}

// widened reports whether the newest frame clusters (probe.go) crossed
// the path at widenedShare × the target or more without being slowed:
// the link carries much more than the target, so the growth need not
// creep up on the rate of the last decrease (a link that widened again
// after a step down).
func (c *Controller) widened(now time.Time) bool {
	return c.probeFresh(now) && c.probed >= widenedShare*c.target && !c.saturated
}

// probeFresh reports whether the clusters showed a rate within probeAge
// of now (and the tests have not turned them off).
func (c *Controller) probeFresh(now time.Time) bool {
	return c.probed > 0 && now.Sub(c.probedAt) <= probeAge && !c.probeOff
}

// narrowed reports whether the last report's packets arrived markedly
// slower than they were sent: the link is narrower than the sending
// rate (a standing queue with this is a link that just narrowed, not a
// receiver starved of CPU, whose late packets arrive bunched, faster
// than they were sent). Packets sent as one burst (the pacer's burst
// allowance at the ceiling: reportSent is +Inf) have no sending rate,
// and count as narrowed when they arrived markedly slower than the
// target: a link that carried the target would have spread them at
// its rate or faster.
func (c *Controller) narrowed() bool {
	if c.reportRecv <= 0 || c.reportSent <= 0 {
		return false
	}
	if math.IsInf(c.reportSent, 1) {
		return c.reportRecv < narrowedShare*c.target
	}
	return c.reportRecv < narrowedShare*c.reportSent
}

// reportSpan measures one report's received packets: from the first to
// the last sent, and from the first to the last arrived, and the bytes
// after the first.
type reportSpan struct {
	firstSent, lastSent, firstArr, lastArr time.Time
	bytes, n                               int
}

func (r *reportSpan) add(sentAt, arrived time.Time, size int) {
	if r.n == 0 {
		r.firstSent, r.lastSent, r.firstArr, r.lastArr = sentAt, sentAt, arrived, arrived
	} else {
		r.bytes += size
		if sentAt.Before(r.firstSent) {
			r.firstSent = sentAt
		}
		if sentAt.After(r.lastSent) {
			r.lastSent = sentAt
		}
		if arrived.Before(r.firstArr) {
			r.firstArr = arrived
		}
		if arrived.After(r.lastArr) {
			r.lastArr = arrived
		}
	}
	r.n++
}

// rates returns the sending and arrival rates of the span's packets in
// bits/s, or zeros when the span is too short to tell (fewer than
// reportSpanPackets packets, burstSpanPackets for one burst, or arrivals
// over less than reportSpanTime). Packets all sent within a millisecond
// (one frame the pacer let out as a burst) have no sending rate to tell:
// sent is +Inf.
func (r *reportSpan) rates() (sent, recv float64) {
	ds, da := r.lastSent.Sub(r.firstSent), r.lastArr.Sub(r.firstArr)
	burst := ds < time.Millisecond
	if r.n < burstSpanPackets || (!burst && r.n < reportSpanPackets) || da < reportSpanTime {
		return 0, 0
	}
	recv = float64(r.bytes*8) / da.Seconds()
	if burst {
		return math.Inf(1), recv
	}
	return float64(r.bytes*8) / ds.Seconds(), recv
}

// radioLoss reports whether the recent losses came without a queue: no
// more than half of the last lossVerdicts runs of lost packets came at
// the top of their report's queue delays (judgeLosses). A bottleneck
// drops when its queue is full, so the packet sent just before each of
// its losses waited about as long as it holds, the most of any packet
// around; a radio link (Wi-Fi, cellular) loses packets whatever the
// queue, and a lower rate does not cure that. Such loss keeps the target
// from falling (up to severeLoss) and, under highLoss, from stopping
// its growth.
//
// The losses are judged by their place among their report's delays,
// not by a threshold on the delays: a receiver or sender short of CPU
// delays some packets of most reports by several ms, and with a
// threshold (5 ms on any packet of the report, before) every loss on a
// busy machine was a queue's.
func (c *Controller) radioLoss() bool {
	return c.stats.QueueLoss <= 0.5
}

// judgeLosses adds the last report's runs of lost packets to the
// verdicts: each came at the queue's top when the packet received just
// before it waited in the top lossTopShare of the report's range of
// queue delays [lo, hi], or, where that range is under flatSpread,
// radioLossQueue or more.
func (c *Controller) judgeLosses(lo, hi time.Duration) {
	for _, q := range c.lossQs {
		top := q >= radioLossQueue
		if hi-lo >= flatSpread {
			top = float64(q-lo) >= lossTopShare*float64(hi-lo)
		}
		c.verdicts[c.nextVerdict] = top
		c.nextVerdict = (c.nextVerdict + 1) % lossVerdicts
		c.nVerdicts = min(c.nVerdicts+1, lossVerdicts)
	}
	tops := 0
	for _, top := range c.verdicts[:c.nVerdicts] {
		if top {
			tops++
		}
	}
	if c.nVerdicts > 0 {
		c.stats.QueueLoss = float64(tops) / float64(c.nVerdicts)
	}
}

// PacerBurst is the burst allowance the Pacer should have after the
// last report: DefaultPacerBurst while the target is at the ceiling
// (MaxBitRate) and the link shows room (the state "increase": no
// standing queue) with under lowLoss of loss (a radio's loss keeps the
// state "increase" up to highLoss), MinPacerBurst otherwise. At the ceiling
// without a queue the link carries more than the stream may use, and
// spreading a frame over 2.5× its rate only delays it. Below the
// ceiling the target is the controller's guess at the link's rate, and
// the Pacer's queue, not the bottleneck's, must hold what the link
// cannot take yet: that queue is what the session sees to skip frames
// before encoding them (a burst would move it to the bottleneck, out of
// sight, and frames would pile up behind it).
func (c *Controller) PacerBurst() time.Duration {
	if !c.lastUpdate.IsZero() && c.stats.State == "increase" && c.loss < lowLoss && c.target >= float64(c.cfg.MaxBitRate) {
		return DefaultPacerBurst
	}
	return MinPacerBurst
}

// decrease sets the target to to (a decrease) at now.
func (c *Controller) decrease(now time.Time, to float64) {
	c.target = max(to, float64(c.cfg.MinBitRate))
	c.decreasedTo = c.target
	c.lastDecrease = now
	c.stats.State = "decrease"
}

// delivered is the rate at which packets arrived over the rateWindow
// before the newest arrival, in bits per second; 0 with too few.
func (c *Controller) delivered() float64 {
	if len(c.arrivals) == 0 {
		return 0
	}
	newest := c.arrivals[0].at
	for _, a := range c.arrivals {
		if a.at.After(newest) {
			newest = a.at
		}
	}
	keep := c.arrivals[:0]
	bytes := 0
	oldest := newest
	for _, a := range c.arrivals {
		if newest.Sub(a.at) <= rateWindow {
			keep = append(keep, a)
			bytes += a.size
			if a.at.Before(oldest) {
				oldest = a.at
			}
		}
	}
	c.arrivals = keep
	span := max(newest.Sub(oldest), 100*time.Millisecond)
	return float64(bytes) * 8 / span.Seconds()
}

// observeBase keeps the smallest one-way delay of the last one to two
// baseWindows (the path's delay without a queue; the two clocks'
// offset is in it and cancels out).
func (c *Controller) observeBase(owd time.Duration, now time.Time) {
	if !c.baseSet {
		c.base = [2]time.Duration{owd, owd}
		c.baseAt, c.baseSet = now, true
		return
	}
	if now.Sub(c.baseAt) >= baseWindow {
		c.base[1], c.base[0], c.baseAt = c.base[0], owd, now
	}
	c.base[0] = min(c.base[0], owd)
}

// baseDelay is the smallest one-way delay remembered.
func (c *Controller) baseDelay() time.Duration { return min(c.base[0], c.base[1]) }

// Unwrapper extends 16-bit sequence numbers to 64 bits.
type Unwrapper struct {
	last int64
	init bool
}

// Unwrap returns the 64-bit sequence number of seq nearest the last one.
func (u *Unwrapper) Unwrap(seq uint16) int64 {
	if !u.init {
		u.init, u.last = true, int64(seq)
		return u.last
	}
	d := int64(int16(seq - uint16(u.last))) //nolint:gosec // the wrap is the point
	u.last += d
	return u.last
}
