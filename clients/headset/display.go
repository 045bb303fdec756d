package headset

import (
	"errors"
	"fmt"
	"time"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// Display is a simulated display: it refreshes at a fixed rate with a
// vsync at every whole period of the client's clock (Client.Now() == 0 is
// one), and shows a frame at the first vsync at least Lead after the
// frame arrived (decode, upload, compositing).
type Display struct {
	// Period is the refresh period (1/rate).
	Period time.Duration
	// Lead is how long before a vsync a frame must have arrived to be
	// shown at it.
	Lead time.Duration
}

// NewDisplay returns the Display of a refresh rate (1 to 1000 Hz) and a
// lead (0 to 1 s).
func NewDisplay(hz float64, lead time.Duration) (Display, error) {
	if !(hz >= 1 && hz <= 1000) {
		return Display{}, fmt.Errorf("headset: display refresh rate %g Hz outside 1..1000", hz)
	}
	if lead < 0 || lead > time.Second {
		return Display{}, errors.New("headset: display lead outside 0..1s")
	}
	return Display{Period: time.Duration(float64(time.Second) / hz), Lead: lead}, nil
}

// NextVsync returns the first vsync at or after t (client clock, µs,
// rounded to the microsecond).
func (d Display) NextVsync(tUs int64) int64 {
	if d.Period <= 0 {
		return tUs
	}
	t := time.Duration(tUs) * time.Microsecond
	k := t / d.Period
	if k*d.Period < t-time.Microsecond/2 {
		k++
	}
	return (k*d.Period + time.Microsecond/2).Microseconds()
}

// Shown returns when a frame that arrived at receivedUs (client clock,
// µs) is shown: the first vsync at least Lead later.
func (d Display) Shown(receivedUs int64) int64 {
	return d.NextVsync(receivedUs + d.Lead.Microseconds())
}

// Timing returns the DisplayTiming that tells a node about d: its rate,
// the next vsync after nowUs and its lead.
func (d Display) Timing(nowUs int64) *holocastv1.DisplayTiming {
	return &holocastv1.DisplayTiming{
		RefreshRateHz:     float32(float64(time.Second) / float64(d.Period)),
		NextDisplayTimeUs: d.NextVsync(nowUs),
		LeadUs:            uint32(d.Lead.Microseconds()),
	}
}

// SendDisplayTiming tells the node the timing of d on the control channel,
// so that the node aims its frames at d's vsyncs; a headset sends it once
// it displays frames and again from time to time (once a second).
func (c *Client) SendDisplayTiming(d Display) error {
	return c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DisplayTiming{
		DisplayTiming: d.Timing(c.Now())}})
}
