package pose

import (
	"testing"
	"time"
)

// TestOptions: WithNow sets the clock of both constructors; nil (as an
// Option or as the clock) means time.Now; the last WithNow wins.
func TestOptions(t *testing.T) {
	fixed := time.Unix(1000, 0)
	clock := func() time.Time { return fixed }
	other := func() time.Time { return time.Unix(2000, 0) }
	tests := []struct {
		name string
		opts []Option
		fake bool // want the fixed clock; else the wall clock
	}{
		{"none", nil, false},
		{"nil option", []Option{nil}, false},
		{"nil clock", []Option{WithNow(nil)}, false},
		{"fake clock", []Option{WithNow(clock)}, true},
		{"last wins", []Option{WithNow(other), WithNow(clock)}, true},
		{"nil after a clock", []Option{WithNow(clock), WithNow(nil)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			got := map[string]time.Time{
				"applyOptions":        applyOptions(tc.opts).now(),
				"NewIntake":           NewIntake(tc.opts...).now(),
				"NewLatencyEstimator": NewLatencyEstimator(tc.opts...).now(),
			}
			for who, now := range got {
				if tc.fake && !now.Equal(fixed) {
					t.Errorf("%s: clock reads %v, want the fake %v", who, now, fixed)
				}
				if !tc.fake && now.Before(before) {
					t.Errorf("%s: clock reads %v, want the wall clock (≥ %v)", who, now, before)
				}
			}
		})
	}
}
