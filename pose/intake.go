package pose

import (
	"errors"
	"sync"
	"time"
)

// Sample is an accepted pose with the node-clock time it arrived.
type Sample struct {
	Pose
	// Arrived is when the datagram reached the node (node monotonic clock).
	Arrived time.Time
}

// IntakeStats counts what an Intake did with the datagrams it was given.
type IntakeStats struct {
	Accepted  uint64 // valid and newer than anything before
	Malformed uint64 // not a Pose protobuf, or too large
	Invalid   uint64 // a Pose, but with missing, non-finite or absurd values
	Stale     uint64 // older seq than the newest accepted (reordered)
	Duplicate uint64 // seq already accepted
	Overflow  uint64 // accepted but dropped from the pending queue before Drain
}

// PendingLimit bounds the queue of accepted samples between two Drain
// calls; when the frame loop stalls, the oldest are dropped first.
const PendingLimit = 64

// Intake receives pose datagrams from the unordered, lossy "pose" channel.
// Submit is called from the transport's callback and never blocks for long;
// the frame loop calls Latest or Drain. Safe for concurrent use.
type Intake struct {
	now func() time.Time

	mu      sync.Mutex
	newest  Sample
	has     bool
	pending []Sample
	stats   IntakeStats
}

// NewIntake returns an empty Intake. WithNow sets the clock that stamps
// arrivals (default time.Now).
func NewIntake(opts ...Option) *Intake {
	o := applyOptions(opts)
	return &Intake{now: o.now, pending: make([]Sample, 0, PendingLimit)}
}

// Submit decodes, validates and, if it is the newest so far, accepts one
// datagram. The error says why a datagram was not accepted; it is for
// counting and rate-limited logging, never fatal.
func (i *Intake) Submit(b []byte) error {
	arrived := i.now()
	p, err := Decode(b)
	i.mu.Lock()
	defer i.mu.Unlock()
	if err != nil {
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) {
			i.stats.Malformed++
		} else {
			i.stats.Invalid++
		}
		return err
	}
	return i.acceptLocked(Sample{Pose: p, Arrived: arrived})
}

// Accept offers an already decoded and validated pose (e.g. from a trace
// replay); ordering rules are the same as for Submit.
func (i *Intake) Accept(p Pose) error {
	arrived := i.now()
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.acceptLocked(Sample{Pose: p, Arrived: arrived})
}

// acceptLocked applies the ordering rules to s and queues it; i.mu is
// held.
func (i *Intake) acceptLocked(s Sample) error {
	if i.has {
		switch {
		case s.Seq == i.newest.Seq:
			i.stats.Duplicate++
			return ErrDuplicate
		case s.Seq < i.newest.Seq:
			i.stats.Stale++
			return ErrStale
		}
	}
	i.newest, i.has = s, true
	i.stats.Accepted++
	if len(i.pending) == PendingLimit {
		copy(i.pending, i.pending[1:])
		i.pending = i.pending[:PendingLimit-1]
		i.stats.Overflow++
	}
	i.pending = append(i.pending, s)
	return nil
}

// Latest returns the newest accepted sample, and false if none yet.
func (i *Intake) Latest() (Sample, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.newest, i.has
}

// Drain appends the samples accepted since the previous Drain to dst, in
// increasing seq order, and returns it. The frame loop feeds them to its
// Predictor so that it sees every sample, not only the newest.
func (i *Intake) Drain(dst []Sample) []Sample {
	i.mu.Lock()
	defer i.mu.Unlock()
	dst = append(dst, i.pending...)
	i.pending = i.pending[:0]
	return dst
}

// Stats returns a snapshot of the counters.
func (i *Intake) Stats() IntakeStats {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.stats
}
