package bench

import (
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v5/vnet"
)

// RateStep changes a capped link's rate At a time after the run's start
// (when its headsets begin to connect; --impair rate@8s=1mbit).
type RateStep struct {
	At  time.Duration `json:"-"`
	Bps int64         `json:"bps"`
	// AtS is At in seconds, for JSON.
	AtS float64 `json:"at_s"`
}

// bottleneck is one headset's capped downlink: a drop-tail FIFO drained
// at the link rate (a fluid model: a packet leaves when every byte queued
// before it and its own have been sent at the rate in force). It runs as
// a vnet chunk filter that decides drops and, for the packets it admits,
// sets the delay of the headset's vnet.DelayFilter to the packet's
// queueing plus serialisation time. The router hands chunks to the
// filter and then to the delay filter one at a time, so the delay set is
// the one the packet gets.
type bottleneck struct {
	dst   string // the headset's address
	delay *vnet.DelayFilter
	steps []RateStep // steps[0].At == 0: the base rate
	start time.Time
	trace *netTrace // nil without --trace-net

	mu     sync.Mutex
	queued float64   // bytes in the queue at last
	last   time.Time // when queued was computed
	// offered, offeredBytes and dropped count the packets (and bytes)
	// that reached the queue, and those of them dropped, since the link
	// was made.
	offered, offeredBytes, dropped uint64
}

// linkCounts is what a bottleneck counted since it was made or restarted.
type linkCounts struct {
	Offered, OfferedBytes, Dropped uint64
}

// counts returns the bottleneck's counters.
func (b *bottleneck) counts() linkCounts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return linkCounts{b.offered, b.offeredBytes, b.dropped}
}

// restart makes the link new at now: its rate steps count from now, its
// queue is empty and its counters are zero (each run of a level, and
// each repeat, starts on a fresh link).
func (b *bottleneck) restart(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.start, b.queued, b.last = now, 0, time.Time{}
	b.offered, b.offeredBytes, b.dropped = 0, 0, 0
}

// minQueueBytes is the smallest queue a bottleneck has; otherwise it
// holds 100 ms at its current rate.
const minQueueBytes = 64 << 10

// rateAt is the link rate at d after the link was made.
func (b *bottleneck) rateAt(d time.Duration) int64 {
	r := b.steps[0].Bps
	for _, s := range b.steps[1:] {
		if d >= s.At {
			r = s.Bps
		}
	}
	return r
}

// queueLimit is the queue's size in bytes at rate bps.
func queueLimit(bps int64) float64 { return float64(max(int64(minQueueBytes), bps/8/10)) }

// admit decides the fate of a packet of size bytes arriving at now: ok
// false means the queue is full and it is dropped; otherwise delay is
// when its last byte leaves the link. queued is the queue's occupancy in
// bytes after the decision.
func (b *bottleneck) admit(size int, now time.Time) (ok bool, delay time.Duration, queued int, bps int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bps = b.rateAt(now.Sub(b.start))
	if !b.last.IsZero() && now.After(b.last) {
		b.queued = max(0, b.queued-float64(bps)/8*now.Sub(b.last).Seconds())
	}
	b.last = now
	b.offered++
	b.offeredBytes += uint64(size) //nolint:gosec // a packet's size
	if b.queued+float64(size) > queueLimit(bps) {
		b.dropped++
		return false, 0, int(b.queued), bps
	}
	b.queued += float64(size)
	return true, time.Duration(b.queued * 8 / float64(bps) * float64(time.Second)), int(b.queued), bps
}

// filter is the vnet chunk filter: chunks to other addresses pass.
func (b *bottleneck) filter(c vnet.Chunk) bool {
	ua, isUDP := c.DestinationAddr().(*net.UDPAddr)
	if !isUDP || ua.IP.String() != b.dst {
		return true
	}
	now := time.Now()
	size := len(c.UserData())
	ok, d, q, bps := b.admit(size, now)
	if b.trace != nil {
		b.trace.link(now, ok, size, q, d, bps)
	}
	if ok {
		b.delay.SetDelay(d)
	}
	return ok
}
