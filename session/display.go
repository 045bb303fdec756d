package session

import (
	"fmt"
	"math"
	"time"

	"github.com/holocast/holocast/pose"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// Display aiming (holocastv1.DisplayTiming).
const (
	// DefaultDisplayLead is how long before a display time a frame must
	// have arrived when the client's DisplayTiming does not say.
	DefaultDisplayLead = 8 * time.Millisecond
	// DisplayTimingTTL is how long a DisplayTiming is followed after it
	// arrived; the node then stops aiming until the next one.
	DisplayTimingTTL = 5 * time.Second
	// aimMargin is added to the node's estimate of its own work (frame
	// due → sent) when it aims a frame at a display time.
	aimMargin = time.Millisecond
	// clockWindow is how many recent poses the estimate of the client's
	// clock is taken over (the earliest arrival relative to the sample
	// time: the one with the least uplink delay).
	clockWindow = 64
	// workWeight is the weight of each frame in the running estimate of
	// the node's work per frame.
	workWeight = 0.1
)

// displayTiming is a validated DisplayTiming and when it arrived.
type displayTiming struct {
	period   time.Duration
	nextUs   int64 // a display time on the client's clock, µs
	lead     time.Duration
	received time.Time
}

// parseDisplayTiming validates m.
func parseDisplayTiming(m *holocastv1.DisplayTiming, now time.Time) (displayTiming, error) {
	hz := m.GetRefreshRateHz()
	if !(hz >= 1 && hz <= 1000) {
		return displayTiming{}, fmt.Errorf("%w: refresh_rate_hz %g outside 1..1000", ErrBadDisplayTiming, hz)
	}
	lead := time.Duration(m.GetLeadUs()) * time.Microsecond
	if lead > time.Second {
		return displayTiming{}, fmt.Errorf("%w: lead_us %d over 1 s", ErrBadDisplayTiming, m.GetLeadUs())
	}
	if lead == 0 {
		lead = DefaultDisplayLead
	}
	return displayTiming{
		period: time.Duration(float64(time.Second) / float64(hz)),
		nextUs: m.GetNextDisplayTimeUs(), lead: lead, received: now,
	}, nil
}

// onDisplayTiming takes a client's DisplayTiming.
func (s *Session) onDisplayTiming(m *holocastv1.DisplayTiming) {
	dt, err := parseDisplayTiming(m, s.cfg.Now())
	if err != nil {
		s.stats.badControl.Add(1)
		s.notice(err.Error())
		return
	}
	s.display.Store(&dt)
}

// clientClock estimates the node-clock time of the client's clock zero
// from the poses: arrival minus sample time, earliest of the last
// clockWindow poses (the least uplink delay). It is owned by the frame
// loop.
type clientClock struct {
	zeros [clockWindow]time.Time
	n, i  int
}

func (c *clientClock) observe(smp pose.Sample) {
	c.zeros[c.i] = smp.Arrived.Add(-smp.Time)
	c.i = (c.i + 1) % clockWindow
	c.n = min(c.n+1, clockWindow)
}

// zero returns the estimate, and false before any pose.
func (c *clientClock) zero() (time.Time, bool) {
	if c.n == 0 {
		return time.Time{}, false
	}
	z := c.zeros[0]
	for _, t := range c.zeros[1:c.n] {
		if t.Before(z) {
			z = t
		}
	}
	return z, true
}

// displayTarget is the start the frame loop aims the next frame at and
// the display time (client clock, µs) it is aimed at; the zero value
// means not aimed.
type displayTarget struct {
	start     time.Time
	displayUs int64
}

// aimDisplay returns the start of the next frame aimed at the client's
// display: the start for which the frame, after the node's work, the
// downlink and the client's lead, arrives just before a display time,
// chosen among the display times as the one nearest to the next slot
// that is not already past. The zero target when the client sent no
// (recent) DisplayTiming, no pose has mapped its clock yet, the loop has
// not started, the display refreshes more slowly than the frame rate
// (display-aligned starts would then lower the frame rate to the
// display's), or the node's work per frame does not fit in a frame
// interval (an overloaded node cannot hit a vsync; it renders on the pose
// instead, which keeps the pose age and the frame rate where they would
// be without aiming).
func (s *Session) aimDisplay(fs *frameState, sc *scheduler, now time.Time) displayTarget {
	dt := s.display.Load()
	if dt == nil || sc.next.IsZero() || now.Sub(dt.received) > DisplayTimingTTL || dt.period > sc.interval || fs.work >= sc.interval {
		return displayTarget{}
	}
	zero, ok := fs.clock.zero()
	if !ok {
		return displayTarget{}
	}
	rtt := time.Duration(s.stats.rttUS.Load()) * time.Microsecond
	// The node-clock time of the display time nextUs is zero + nextUs,
	// less the uplink (half the RTT) that zero includes; the frame must
	// leave the downlink (the other half), the node's work and the
	// client's lead before it.
	base := zero.Add(time.Duration(dt.nextUs)*time.Microsecond - rtt - dt.lead - fs.work - aimMargin)
	d := sc.next.Sub(base) + dt.period/2
	k := d / dt.period
	if d < 0 && d%dt.period != 0 {
		k--
	}
	start := base.Add(k * dt.period)
	for start.Before(now) {
		start = start.Add(dt.period)
		k++
	}
	return displayTarget{start: start, displayUs: dt.nextUs + int64(math.Round(float64(k*dt.period)/float64(time.Microsecond)))}
}
