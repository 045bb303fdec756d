package bench

import (
	"math"
	"math/rand/v2"
	"time"
)

// This file holds the bounded accumulators a run scores its frames into
// as they arrive, so that a long run (a 30-minute soak, or hours) keeps a
// fixed amount of per-frame data in memory rather than every frame.

// Bounds of the accumulators.
const (
	// reservoirCap is the most samples a distribution keeps: exact up to
	// this many (over 36 minutes of 4 headsets at 30 fps), a uniform
	// random sample of them beyond, 2 MiB each.
	reservoirCap = 1 << 18
	// sessionReservoirCap is the same for a headset's own median.
	sessionReservoirCap = 1 << 16
	// timelineCap is the most frames of headset 0 kept for the report's
	// per-frame charts: every frame up to this many, then every 2nd, 4th,
	// … frame, so that the charts span the whole window.
	timelineCap = 4096
	// fpsBin is the width of the frames-per-second bins.
	fpsBin = 500 * time.Millisecond
)

// reservoir summarises a stream of values: count, mean and maximum
// exactly, the percentiles from a uniform random sample of at most cap
// values (Vitter's algorithm R), which is every value up to cap.
type reservoir struct {
	cap      int
	n        int
	sum, max float64
	sample   []float64
	rng      *rand.Rand
}

// newReservoir makes a reservoir of at most capacity samples; its random
// choices are seeded, so that a run's figures do not depend on luck.
func newReservoir(capacity int) *reservoir {
	return &reservoir{cap: capacity, max: math.Inf(-1), rng: rand.New(rand.NewPCG(1, uint64(capacity)))} //nolint:gosec // sampling, not security
}

// add counts x.
func (r *reservoir) add(x float64) {
	r.n++
	r.sum += x
	r.max = math.Max(r.max, x)
	if len(r.sample) < r.cap {
		r.sample = append(r.sample, x)
		return
	}
	if i := r.rng.IntN(r.n); i < r.cap {
		r.sample[i] = x
	}
}

// dist is the distribution: Count, Mean and Max of every value, the
// percentiles of the sample.
func (r *reservoir) dist() Dist {
	if r.n == 0 {
		return Dist{}
	}
	d := summarize(r.sample)
	d.Count, d.Mean, d.Max = r.n, round3(r.sum/float64(r.n)), round3(r.max)
	return d
}

// freezeCounter counts freezes as frames arrive: gaps between consecutive
// arrivals (the window's start counting as one) longer than max(3 frame
// intervals, 1 interval + 150 ms), the rule WebRTC's freezeCount uses
// with the nominal frame interval.
type freezeCounter struct {
	limit time.Duration
	last  time.Duration // the previous arrival, from the window's start
	n     int
	total time.Duration
}

// newFreezeCounter starts counting at the window's start.
func newFreezeCounter(interval time.Duration) freezeCounter {
	return freezeCounter{limit: max(3*interval, interval+150*time.Millisecond)}
}

// arrive counts an arrival at, from the window's start.
func (f *freezeCounter) arrive(at time.Duration) {
	if g := at - f.last; g > f.limit {
		f.n++
		f.total += g
	}
	f.last = at
}

// thinned keeps at most limit items of a sequence spread over all of it:
// every stride-th item offered, the stride doubling (and every other kept
// item dropped) whenever limit items are kept. Headset 0's frames for the
// report's per-frame charts (timelineCap) and each session's series
// (seriesCap) are kept this way.
type thinned[T any] struct {
	items  []T
	stride int
	seen   int
}

// add offers an item, keeping at most limit.
func (t *thinned[T]) add(item T, limit int) {
	if t.stride == 0 {
		t.stride = 1
	}
	t.seen++
	if (t.seen-1)%t.stride != 0 {
		return
	}
	if len(t.items) >= limit {
		kept := t.items[:0]
		for i := 0; i < len(t.items); i += 2 {
			kept = append(kept, t.items[i])
		}
		t.items = kept
		t.stride *= 2
		if (t.seen-1)%t.stride != 0 {
			return
		}
	}
	t.items = append(t.items, item)
}

// bins counts arrivals in fpsBin-wide bins from the window's start.
type bins []int32

// add counts an arrival at, from the window's start (none before it).
func (b *bins) add(at time.Duration) {
	if at < 0 {
		return
	}
	i := int(at / fpsBin)
	for len(*b) <= i {
		*b = append(*b, 0)
	}
	(*b)[i]++
}
