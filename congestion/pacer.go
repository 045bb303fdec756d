package congestion

import "time"

// PacingFactor is how much faster than the congestion controller's
// target the Pacer sends: fast enough that a frame of average size
// leaves in well under a frame interval, slow enough that it reaches the
// bottleneck as a stream rather than one burst.
const PacingFactor = 2.5

// DefaultPacerBurst is a Pacer's burst allowance on a link with room
// (see Controller.PacerBurst): how far it may run ahead of its rate
// after sending less than its rate (a token bucket of this much time at
// the rate). At PacingFactor it is 75 ms of the controller's target,
// more than a frame at the encoder's size cap (two frame intervals of
// the target at 30 fps): such a frame leaves at once instead of being
// spread over 13 ms (an average frame at 2.5× its rate), which
// pose→frame would pay on every link. What the allowance cannot cover
// (a key frame, an overshooting encoder, retransmissions on top of a
// frame) is paced.
const DefaultPacerBurst = 30 * time.Millisecond

// MinPacerBurst is the allowance that only absorbs late timers: what
// the Estimator gives its Pacer while the link shows a queue or loss
// (see Controller.PacerBurst).
const MinPacerBurst = 5 * time.Millisecond

// Pacer is a leaky bucket in front of the network: packets leave at its
// rate, in order, those queued with PushFirst (retransmissions) before
// the others. It never holds more than MaxDelay of packets at its
// rate: a packet that would wait longer is dropped (the receiver's NACK
// or key frame request recovers) rather than delaying everything after
// it. It is not safe for concurrent use (Estimator serialises it).
type Pacer struct {
	// MaxDelay bounds the queue, in time at the pacing rate.
	MaxDelay time.Duration
	// Burst is how far the pacer may run ahead of its rate after an
	// idle time: up to Burst of packets at the rate leave at once.
	Burst time.Duration

	rate    float64 // bits per second
	queue   []paced
	head    int
	first   []paced // PushFirst's, sent before queue's
	bytes   int
	next    time.Time // when the head may leave
	dropped uint64
}

type paced struct {
	size int
	v    any
}

// NewPacer returns a pacer sending at bps with a queue of maxDelay and
// a burst allowance of MinPacerBurst.
func NewPacer(bps int, maxDelay time.Duration) *Pacer {
	return &Pacer{rate: float64(max(bps, 1)), MaxDelay: maxDelay, Burst: MinPacerBurst}
}

// SetRate changes the pacing rate to bps.
func (p *Pacer) SetRate(bps int) { p.rate = float64(max(bps, 1)) }

// Rate is the pacing rate in bits per second.
func (p *Pacer) Rate() int { return int(p.rate) }

// Backlog is how long the queued packets take to leave at the rate.
func (p *Pacer) Backlog() time.Duration { return p.sendTime(p.bytes) }

// Dropped counts the packets dropped because the queue was full.
func (p *Pacer) Dropped() uint64 { return p.dropped }

// Len is the number of packets queued.
func (p *Pacer) Len() int { return len(p.first) + len(p.queue) - p.head }

func (p *Pacer) sendTime(bytes int) time.Duration {
	return time.Duration(float64(bytes) * 8 / p.rate * float64(time.Second))
}

// Push queues v, a packet of size bytes, at now; it reports false (and
// drops v) when the queue already holds MaxDelay.
func (p *Pacer) Push(v any, size int, now time.Time) bool {
	if !p.admit(size, now) {
		return false
	}
	p.queue = append(p.queue, paced{size: size, v: v})
	return true
}

// PushFirst is Push for a packet that goes ahead of every packet Push
// queued (behind those PushFirst queued before it): a retransmission,
// whose frame is already late and holds up the frames after it at the
// receiver, does not wait behind the new frames' packets (libwebrtc's
// pacer sends retransmissions before video too).
func (p *Pacer) PushFirst(v any, size int, now time.Time) bool {
	if !p.admit(size, now) {
		return false
	}
	p.first = append(p.first, paced{size: size, v: v})
	return true
}

// admit counts a packet of size bytes in at now, or drops it (false)
// when the queue already holds MaxDelay.
func (p *Pacer) admit(size int, now time.Time) bool {
	if p.Len() > 0 && p.sendTime(p.bytes+size) > p.MaxDelay {
		p.dropped++
		return false
	}
	if p.Len() == 0 && p.next.Before(now.Add(-p.Burst)) {
		p.next = now.Add(-p.Burst) // the bucket is full
	}
	p.bytes += size
	return true
}

// Pop returns the next packet if it may leave at now; otherwise ok is
// false and wait is how long until it may (0 with an empty queue).
func (p *Pacer) Pop(now time.Time) (v any, ok bool, wait time.Duration) {
	if p.Len() == 0 {
		return nil, false, 0
	}
	if p.next.After(now) {
		return nil, false, p.next.Sub(now)
	}
	var it paced
	if len(p.first) > 0 {
		it = p.first[0]
		n := copy(p.first, p.first[1:])
		p.first[n] = paced{}
		p.first = p.first[:n]
	} else {
		it = p.queue[p.head]
		p.queue[p.head] = paced{}
		p.head++
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
		}
	}
	p.bytes -= it.size
	p.next = p.next.Add(p.sendTime(it.size))
	return it.v, true, 0
}
