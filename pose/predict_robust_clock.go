package pose

import "math"

// sampleClock recovers a head tracker's regular sample clock from the
// jittered timestamps that reach the node. Trackers sample at a regular
// rate, but each timestamp is a noisy label of its instant; a loop that
// estimates the period (the mean interval) and corrects the phase by a
// fixed gain locks onto the grid of true sample times, counting dropped
// samples as whole periods. It keeps one grid time per sample of a
// track's history.
//
// Times are seconds on the client clock. The zero value with gain 0
// passes the recorded timestamps through unchanged.
type sampleClock struct {
	// gain is the phase gain, RobustConfig.ClockGain (0 < gain ≤ 1); 0
	// or less disables the loop: grid times are the timestamps.
	gain float64

	// period is the estimated sample period (0 until two samples have
	// been seen).
	period float64
	// intervals counts the intervals averaged into period since the last
	// reset.
	intervals int
	// grid[i] is the grid time of the i-th sample of the history last
	// passed to advance.
	grid []float64
}

// reset forgets the period and the grid (the history was restarted).
func (c *sampleClock) reset() {
	c.period, c.intervals, c.grid = 0, 0, c.grid[:0]
}

// newest returns the grid time of the newest sample.
func (c *sampleClock) newest() float64 { return c.grid[len(c.grid)-1] }

// advance appends the grid time of the newest sample of h, the track's
// history, whose older samples the grid already covers. When the history
// dropped its oldest sample, the grid drops its oldest time too.
//
// The period is the mean interval (jitter cancels out in it): a
// cumulative mean at first, then an EWMA. The newest sample is expected
// a whole number of periods after the previous grid time; its grid time
// moves from there toward its timestamp by the phase gain. A gap of more
// than 4 periods, or a timestamp more than a period off the expected
// time (a rate change, an irregular sender), restarts the phase on the
// sample's own timestamp.
func (c *sampleClock) advance(h []sample) {
	if len(c.grid) >= len(h) { // history dropped its oldest sample
		copy(c.grid, c.grid[len(c.grid)-len(h)+1:])
		c.grid = c.grid[:len(h)-1]
	}
	t := h[len(h)-1].t.Seconds()
	if len(h) < 2 || c.gain <= 0 {
		c.grid = append(c.grid, t)
		return
	}
	prev := c.grid[len(c.grid)-1]
	d := t - h[len(h)-2].t.Seconds()
	n := 1.0
	if c.intervals > 0 {
		// Periods elapsed: dropped samples show as whole multiples.
		n = math.Max(1, math.Floor(d/c.period+0.25))
	}
	if n > 4 {
		// A gap of many periods: restart the phase on this sample.
		c.grid = append(c.grid, t)
		return
	}
	c.intervals++
	a := math.Max(1/float64(c.intervals), 0.05)
	if c.intervals == 1 {
		c.period = d
	} else {
		c.period += a * (math.Min(d/n, 2*c.period) - c.period)
	}
	pred := prev + n*c.period
	e := t - pred
	if math.Abs(e) > c.period {
		// Off the grid (rate change, irregular sender): resync the phase.
		c.grid = append(c.grid, t)
		return
	}
	c.grid = append(c.grid, pred+c.gain*e)
}
