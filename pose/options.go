package pose

import "time"

// Option configures the pose constructors that read the node's clock:
// NewIntake and NewLatencyEstimator.
type Option func(*options)

// options holds the settings an Option can change.
type options struct {
	// now is the clock; never nil once built.
	now func() time.Time
}

// WithNow sets the clock a constructor's result reads the time from
// (arrival stamps for an Intake, the age of client reports for a
// LatencyEstimator); nil means time.Now. Tests and trace replays pass a
// fake clock; a session passes its Config.Now.
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// applyOptions returns the defaults with opts applied in order (nil
// options are skipped).
func applyOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o
}
