package congestion

import "time"

// This file measures what the link carries from the packets the sender
// sends anyway, so that an encoder that does not fill its target does
// not hold the target back.
//
// The pacer sends each frame as a cluster: the first packets at once
// (its burst allowance), the rest spaced at PacingFactor × the target.
// A cluster that crosses a bottleneck narrower than its sending rate
// leaves it spread out to the bottleneck's rate; one that crosses only
// wider links arrives as it was sent. So the rate a cluster's packets
// arrived at, no faster than they were sent, is a rate the path carried
// (libwebrtc's probe clusters measure the same, with padding; here the
// frames are the probes). The controller reads it as a lower bound of
// the link: the target may grow towards it although the encoder sends
// less (see Controller.update).

// Cluster tuning.
const (
	// clusterGap: a packet sent within this of the one before belongs
	// to the same cluster (a frame through the pacer: its packets leave
	// a few ms apart at most, frames 33 ms or more).
	clusterGap = 8 * time.Millisecond
	// clusterGaps and clusterSpan: the least a report's clusters must
	// add up to (paced gaps between packets, and time sent over and
	// arrived over) for their rate to count.
	clusterGaps, clusterSpan = 3, 2 * time.Millisecond
	// probeShare: the target may grow to this share of the rate the
	// clusters showed the path carried, whatever the encoder sends.
	// probeJump: before the first decrease (the link's rate still
	// unknown) it may jump to this share of it at once (the pacer
	// sends at 2.5× the target, so at most 1.25× the target a report) —
	// or to probeSaturatedJump of it when the clusters arrived at under
	// saturatedShare of the rate they were sent at: they found the
	// bottleneck, and its rate is what they show.
	probeShare, probeJump, probeSaturatedJump, saturatedShare = 0.9, 0.5, 0.8, 0.9
	// bunchedShare: clusters that arrived at over this many times the
	// rate they were sent at were stamped bunched by their receiver
	// (honest ones arrive up to about 1.35× as fast: a burst's second
	// packet waits behind its first at the bottleneck).
	bunchedShare = 1.5
	// probeAge: how long a measured rate counts without a newer one.
	probeAge = time.Second
)

// clusterMeter adds up the clusters of one feedback report: for every
// cluster of received packets with none lost, from its second packet to
// its last (the first two leave together, within the pacer's burst
// allowance: only the paced gaps after them tell a sending rate), the
// bytes after the second packet, the time they were sent over and the
// time they arrived over. A cluster's last packet when it is under half
// the size of the one before (a frame's small tail) is left out: the
// pacer waited the packet before's full size before sending it, and a
// path with room delivers it as far apart, but the bytes counted are
// its own; it read a frame of 1200, 1200, 1200 and 100 bytes as sent at
// 54 % of the pacing rate, so that the clusters understated the path
// most at low rates.
type clusterMeter struct {
	lastSent time.Time // send time of the previous packet in the report

	// The cluster being read.
	n                           int // its packets so far
	broken                      bool
	secondSent, secondArr, tail time.Time
	lastArr                     time.Time
	bytes                       int
	// The cluster without its last packet (see above): the tail's
	// send time, the latest arrival and the bytes before it was added,
	// and the sizes of the last packet and the one before it.
	prevTail, prevLastArr time.Time
	prevBytes             int
	lastSize, prevSize    int

	// The report's sums over finished clusters.
	sumBytes, gaps     int
	sumSent, sumArrive time.Duration
}

// add takes the report's next packet (in sending order) sent at sentAt;
// arrived is zero for a lost one.
func (m *clusterMeter) add(sentAt, arrived time.Time, size int) {
	if m.n > 0 && (sentAt.Sub(m.lastSent) > clusterGap || sentAt.Before(m.lastSent)) {
		m.finish()
	}
	m.lastSent = sentAt
	if arrived.IsZero() {
		m.broken = true
		m.n++
		return
	}
	m.prevTail, m.prevLastArr, m.prevBytes, m.prevSize = m.tail, m.lastArr, m.bytes, m.lastSize
	m.lastSize = size
	switch m.n {
	case 0:
	case 1:
		m.secondSent, m.secondArr = sentAt, arrived
		m.tail, m.lastArr = sentAt, arrived
	default:
		m.bytes += size
		m.tail = sentAt
		if arrived.After(m.lastArr) {
			m.lastArr = arrived
		}
	}
	m.n++
}

// finish ends the cluster being read.
func (m *clusterMeter) finish() {
	if !m.broken && m.n >= 4 && 2*m.lastSize < m.prevSize {
		// Without its small last packet.
		m.tail, m.lastArr, m.bytes = m.prevTail, m.prevLastArr, m.prevBytes
		m.n--
	}
	if !m.broken && m.n >= 3 && m.tail.After(m.secondSent) && m.lastArr.After(m.secondArr) {
		m.sumBytes += m.bytes
		m.gaps += m.n - 2
		m.sumSent += m.tail.Sub(m.secondSent)
		m.sumArrive += m.lastArr.Sub(m.secondArr)
	}
	*m = clusterMeter{sumBytes: m.sumBytes, gaps: m.gaps, sumSent: m.sumSent, sumArrive: m.sumArrive}
}

// rates finishes the report and returns the rates its clusters were
// sent and arrived at, in bits/s, or zeros when they span too little to
// tell. The slower of the two is a rate the path carried: a cluster
// arrives no faster than it was sent over a real path (a receiver that
// stamps arrivals late and bunched, or a burst's first packets queueing
// behind each other, make it look so).
func (m *clusterMeter) rates() (sent, recv float64) {
	m.finish()
	if m.gaps < clusterGaps || m.sumSent < clusterSpan || m.sumArrive < clusterSpan {
		return 0, 0
	}
	bits := float64(m.sumBytes * 8)
	return bits / m.sumSent.Seconds(), bits / m.sumArrive.Seconds()
}
