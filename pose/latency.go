package pose

import (
	"sort"
	"time"
)

// Latency estimator bounds and defaults.
const (
	// DefaultHorizon is the look-ahead used before anything is measured.
	DefaultHorizon = 50 * time.Millisecond
	// MaxHorizon bounds the look-ahead.
	MaxHorizon = 300 * time.Millisecond
	// DefaultDisplayDelay is the client's decode-to-display delay assumed
	// until it reports one: one frame at 60 Hz.
	DefaultDisplayDelay = time.Second / 60
	// ClientReportTTL is how long a client motion-to-photon report stays
	// authoritative; after that the estimate falls back to node stages.
	ClientReportTTL = 5 * time.Second

	latencyWindow = 9   // running-median window
	latencyAlpha  = 0.2 // EWMA weight of each new median
	maxObserved   = 10 * time.Second
)

// LatencyEstimator estimates one session's motion-to-photon latency, the
// look-ahead its predictor should use. When the client reports measured
// motion-to-photon (pose sample → frame displayed, on its own clock), the
// horizon is an EWMA of the running median of those reports, which
// rejects outliers. Otherwise it is the sum of the node's stage times
// (pose age, render, convert, encode, send; each smoothed the same way),
// half the round-trip time and the client's display delay. The result is
// clamped to [0, MaxHorizon]. Not safe for concurrent use.
type LatencyEstimator struct {
	now func() time.Time

	client     smoothed
	clientSeen time.Time

	stages  [5]smoothed // pose age, render, convert, encode, send
	rtt     smoothed
	display smoothed
}

// NewLatencyEstimator returns an estimator with nothing observed yet.
// WithNow sets the clock that ages client reports (default time.Now).
func NewLatencyEstimator(opts ...Option) *LatencyEstimator {
	return &LatencyEstimator{now: applyOptions(opts).now}
}

// smoothed is an EWMA of a running median.
type smoothed struct {
	win  [latencyWindow]time.Duration
	n, i int
	val  float64
	ok   bool
}

func (s *smoothed) add(d time.Duration) {
	if d < 0 || d > maxObserved {
		return
	}
	s.win[s.i] = d
	s.i = (s.i + 1) % latencyWindow
	if s.n < latencyWindow {
		s.n++
	}
	tmp := make([]time.Duration, s.n)
	copy(tmp, s.win[:s.n])
	sort.Slice(tmp, func(a, b int) bool { return tmp[a] < tmp[b] })
	med := float64(tmp[s.n/2])
	if s.n%2 == 0 {
		med = (float64(tmp[s.n/2-1]) + float64(tmp[s.n/2])) / 2
	}
	if !s.ok {
		s.val, s.ok = med, true
		return
	}
	s.val += latencyAlpha * (med - s.val)
}

func (s *smoothed) get() time.Duration { return time.Duration(s.val) }

// ObserveClientReport records a client-measured motion-to-photon latency.
func (e *LatencyEstimator) ObserveClientReport(motionToPhoton time.Duration) {
	if motionToPhoton < 0 || motionToPhoton > maxObserved {
		return
	}
	e.client.add(motionToPhoton)
	e.clientSeen = e.now()
}

// ObserveNodeFrame records the node's own timings for one frame: the age
// of the pose when rendering started, and the render, RGBA→YUV convert,
// encode and send durations.
func (e *LatencyEstimator) ObserveNodeFrame(poseAge, render, convert, encode, send time.Duration) {
	for i, d := range []time.Duration{poseAge, render, convert, encode, send} {
		e.stages[i].add(d)
	}
}

// ObserveRTT records a network round-trip time.
func (e *LatencyEstimator) ObserveRTT(rtt time.Duration) { e.rtt.add(rtt) }

// ObserveDisplayDelay records the client's decode-to-display delay.
func (e *LatencyEstimator) ObserveDisplayDelay(d time.Duration) { e.display.add(d) }

// Horizon returns the current motion-to-photon estimate.
func (e *LatencyEstimator) Horizon() time.Duration {
	if e.client.ok && e.now().Sub(e.clientSeen) <= ClientReportTTL {
		return clampHorizon(e.client.get())
	}
	have := e.rtt.ok
	var sum time.Duration
	for i := range e.stages {
		if e.stages[i].ok {
			sum += e.stages[i].get()
			have = true
		}
	}
	if !have {
		if e.client.ok { // stale report still beats a guess
			return clampHorizon(e.client.get())
		}
		return DefaultHorizon
	}
	if e.rtt.ok {
		sum += e.rtt.get() / 2
	}
	if e.display.ok {
		sum += e.display.get()
	} else {
		sum += DefaultDisplayDelay
	}
	return clampHorizon(sum)
}

func clampHorizon(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	if d > MaxHorizon {
		return MaxHorizon
	}
	return d
}
