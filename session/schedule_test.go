package session

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/holocast/holocast/pose"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// ms is a test shorthand.
func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// simPoses runs the scheduler as the frame loop would over span: poses
// arrive every period (with jitter[i%len(jitter)] added to pose i) from
// phase, each frame takes work, and the loop wakes on every pose and on
// its fallback tick. It returns the frames' start times and causes.
func simPoses(fps int, span, period, phase, work time.Duration, jitter []time.Duration) (starts []time.Duration, causes []startCause, skipped uint64) {
	t0 := time.Unix(1000, 0)
	var sc scheduler
	sc.setRate(fps)
	var seq uint64
	var arrived time.Time
	nextPose := phase
	busyUntil := time.Duration(0)
	now := time.Duration(0)
	for now < span {
		// The next event: a pose, or the fallback tick, whichever is first.
		wake := sc.wake(time.Time{})
		var wakeAt time.Duration
		if wake.IsZero() {
			wakeAt = now
		} else {
			wakeAt = wake.Sub(t0)
		}
		if period > 0 && nextPose < wakeAt {
			now = max(nextPose, busyUntil)
			seq++
			j := time.Duration(0)
			if len(jitter) > 0 {
				j = jitter[int(seq)%len(jitter)]
			}
			arrived = t0.Add(nextPose + j)
			now = max(now, nextPose+j)
			nextPose += period
		} else {
			now = max(wakeAt, busyUntil)
		}
		cause, due := sc.decide(t0.Add(now), seq, arrived, time.Time{})
		if cause == causeNone {
			continue
		}
		sc.started(cause, due, seq)
		starts = append(starts, now)
		causes = append(causes, cause)
		busyUntil = now + work
		skipped += sc.finished(t0.Add(busyUntil))
		now = busyUntil
	}
	return starts, causes, sc.skipped
}

// TestSchedulerFrameRate: whatever the pose rate, the scheduler keeps the
// target frame rate: poses faster than it (at multiples of it or not,
// with jitter) are folded and do not raise it, poses slower than it or
// none at all leave the fallback tick to keep it. Poses at display rates
// start most frames themselves.
func TestSchedulerFrameRate(t *testing.T) {
	jit := []time.Duration{0, ms(0.8), ms(-0.6), ms(1.5), ms(-1.2), ms(0.3)}
	for _, tc := range []struct {
		name          string
		fps           int
		period, phase time.Duration
		jitter        []time.Duration
		minPoseShare  float64 // of frames started by a pose
	}{
		{name: "no poses", fps: 30},
		{name: "60 Hz in phase", fps: 30, period: time.Second / 60, minPoseShare: 0.95},
		{name: "60 Hz off phase", fps: 30, period: time.Second / 60, phase: ms(7), minPoseShare: 0.9},
		{name: "60 Hz jittered", fps: 30, period: time.Second / 60, phase: ms(3), jitter: jit, minPoseShare: 0.9},
		{name: "59 Hz, slower than twice the frame rate", fps: 30, period: ms(1000.0 / 59), phase: ms(3), minPoseShare: 0.9},
		{name: "59 Hz jittered", fps: 30, period: ms(1000.0 / 59), phase: ms(12), jitter: jit, minPoseShare: 0.85},
		{name: "61 Hz, faster than twice the frame rate", fps: 30, period: ms(1000.0 / 61), phase: ms(5), minPoseShare: 0.9},
		{name: "29.5 Hz, a little slower than the frame rate", fps: 30, period: ms(1000.0 / 29.5), phase: ms(1)},
		{name: "90 Hz", fps: 30, period: time.Second / 90, phase: ms(2), minPoseShare: 0.9},
		{name: "100 Hz", fps: 30, period: ms(10), phase: ms(1), minPoseShare: 0.9},
		{name: "120 Hz", fps: 30, period: time.Second / 120, minPoseShare: 0.9},
		{name: "137 Hz jittered", fps: 30, period: time.Second / 137, jitter: jit, minPoseShare: 0.9},
		{name: "30 Hz at the frame rate", fps: 30, period: time.Second / 30, phase: ms(1), minPoseShare: 0.9},
		{name: "20 Hz slower", fps: 30, period: ms(50)},
		{name: "50 Hz jittered", fps: 30, period: ms(20), jitter: jit, minPoseShare: 0.6},
		{name: "72 Hz at 60 fps", fps: 60, period: time.Second / 72, jitter: jit, minPoseShare: 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			span := 10 * time.Second
			starts, causes, skipped := simPoses(tc.fps, span, tc.period, tc.phase, ms(5), tc.jitter)
			n := 0
			poses := 0
			for i, s := range starts {
				if s >= time.Second && s < span { // after the lock-in
					n++
					if causes[i] == causePose {
						poses++
					}
				}
			}
			secs := (span - time.Second).Seconds()
			fps := float64(n) / secs
			// The target within one frame over the span: the phase
			// lock's moves never add up to more than half a frame.
			if math.Abs(fps-float64(tc.fps)) > 1/secs {
				t.Errorf("%.2f fps over %v, want %d ± %.2f", fps, span-time.Second, tc.fps, 1/secs)
			}
			if skipped != 0 {
				t.Errorf("%d slots skipped, want none (frames take 5 ms)", skipped)
			}
			if share := float64(poses) / float64(n); share < tc.minPoseShare {
				t.Errorf("%.2f of the frames started by a pose, want at least %.2f", share, tc.minPoseShare)
			}
			for i := 1; i < len(starts); i++ {
				// Half an interval, less the poses' jitter: a pose may
				// start a frame half a pose interval (at most a quarter
				// frame interval) before its slot, and the fallback tick
				// (or a late pose) a quarter interval after it.
				if d := starts[i] - starts[i-1]; d < time.Second/time.Duration(tc.fps)/2-ms(1.5) {
					t.Fatalf("frames %d and %d start %v apart, less than half the frame interval", i-1, i, d)
				}
			}
		})
	}
}

// TestSchedulerDecisions checks the single decisions: a pose in a due slot
// starts at its arrival; one before the slot is folded; the fallback tick
// starts without a pose; an overrun skips the slots it passed.
func TestSchedulerDecisions(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	newSched := func() *scheduler {
		sc := &scheduler{}
		sc.setRate(30)
		c, due := sc.decide(t0, 0, time.Time{}, time.Time{})
		if c != causeFirst || !due.Equal(t0) {
			t.Fatalf("first decision %v at %v, want causeFirst at t0", c, due)
		}
		sc.started(c, due, 0)
		if sc.finished(at(ms(5))) != 0 {
			t.Fatal("first frame skipped a slot")
		}
		return sc
	}
	I := time.Second / 30
	type step struct {
		now     time.Duration
		seq     uint64
		arrived time.Duration
		cause   startCause
		due     time.Duration
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"pose in a due slot starts at its arrival", []step{
			{now: I + ms(3), seq: 1, arrived: I + ms(3), cause: causePose, due: I + ms(3)}}},
		{"pose within the tolerance before the slot", []step{
			{now: I - ms(1), seq: 1, arrived: I - ms(1), cause: causePose, due: I - ms(1)}}},
		{"pose before the slot is folded, tick renders it", []step{
			{now: ms(20), seq: 1, arrived: ms(20), cause: causeNone},
			{now: I + I/4, seq: 1, arrived: ms(20), cause: causeTick, due: I + I/4}}},
		{"no pose: tick at the end of the grace period", []step{
			{now: I + I/4 - 1, cause: causeNone},
			{now: I + I/4, cause: causeTick, due: I + I/4}}},
		{"old pose does not start a frame twice", []step{
			{now: I, seq: 1, arrived: I, cause: causePose, due: I},
			{now: 2*I - ms(1), seq: 1, arrived: I, cause: causeNone}}},
		{"pose that waited during the wake-up is due at its arrival", []step{
			{now: I + ms(4), seq: 1, arrived: I + ms(1), cause: causePose, due: I + ms(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newSched()
			for i, s := range tc.steps {
				var arr time.Time
				if s.seq > 0 {
					arr = at(s.arrived)
				}
				c, due := sc.decide(at(s.now), s.seq, arr, time.Time{})
				if c != s.cause {
					t.Fatalf("step %d: cause %v, want %v", i, c, s.cause)
				}
				if c == causeNone {
					continue
				}
				if !due.Equal(at(s.due)) {
					t.Fatalf("step %d: due %v, want %v", i, due.Sub(t0), s.due)
				}
				sc.started(c, due, s.seq)
			}
		})
	}

	t.Run("overrun skips the late slot", func(t *testing.T) {
		sc := &scheduler{}
		sc.setRate(30)
		sc.started(causeFirst, t0, 0)
		// The frame ends at 1.5 intervals: slot 1's window (up to I+I/4)
		// has passed.
		if n := sc.finished(at(I * 3 / 2)); n != 1 {
			t.Fatalf("skipped %d slots, want 1", n)
		}
		// A pose right after the overrun is not queued: it waits for slot 2.
		if c, _ := sc.decide(at(I*3/2), 1, at(I*3/2), time.Time{}); c != causeNone {
			t.Fatalf("pose after an overrun: %v, want causeNone", c)
		}
		if w := sc.wake(time.Time{}); !w.Equal(at(2*I + I/4)) {
			t.Fatalf("fallback at %v, want %v", w.Sub(t0), 2*I+I/4)
		}
		// An overrun ending within the grace period skips nothing.
		sc2 := &scheduler{}
		sc2.setRate(30)
		sc2.started(causeFirst, t0, 0)
		if n := sc2.finished(at(I + I/8)); n != 0 {
			t.Fatalf("skipped %d slots, want 0", n)
		}
	})

	t.Run("aimed start", func(t *testing.T) {
		sc := newSched()
		aim := at(I + ms(6))
		if c, _ := sc.decide(at(I), 1, at(I), aim); c != causeNone {
			t.Fatalf("pose before the aimed start: %v, want causeNone", c)
		}
		if w := sc.wake(aim); !w.Equal(aim) {
			t.Fatalf("wake %v, want the aimed start", w.Sub(t0))
		}
		c, due := sc.decide(aim, 1, at(I), aim)
		if c != causeAim || !due.Equal(aim) {
			t.Fatalf("at the aimed start: %v due %v", c, due.Sub(t0))
		}
	})
}

// TestParseDisplayTiming: DisplayTiming out of range is refused with
// ErrBadDisplayTiming; lead 0 means DefaultDisplayLead.
func TestParseDisplayTiming(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		name   string
		m      *holocastv1.DisplayTiming
		period time.Duration
		lead   time.Duration
		bad    bool
	}{
		{"60 Hz default lead", &holocastv1.DisplayTiming{RefreshRateHz: 60, NextDisplayTimeUs: 5}, time.Second / 60, DefaultDisplayLead, false},
		{"90 Hz lead 3 ms", &holocastv1.DisplayTiming{RefreshRateHz: 90, LeadUs: 3000}, time.Second / 90, 3 * time.Millisecond, false},
		{"zero rate", &holocastv1.DisplayTiming{}, 0, 0, true},
		{"NaN rate", &holocastv1.DisplayTiming{RefreshRateHz: float32(math.NaN())}, 0, 0, true},
		{"rate too high", &holocastv1.DisplayTiming{RefreshRateHz: 5000}, 0, 0, true},
		{"lead too long", &holocastv1.DisplayTiming{RefreshRateHz: 60, LeadUs: 2_000_000}, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt, err := parseDisplayTiming(tc.m, now)
			if tc.bad {
				if !errors.Is(err, ErrBadDisplayTiming) {
					t.Fatalf("err %v, want ErrBadDisplayTiming", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dt.period != tc.period || dt.lead != tc.lead || dt.nextUs != tc.m.GetNextDisplayTimeUs() || !dt.received.Equal(now) {
				t.Errorf("got %+v, want period %v lead %v", dt, tc.period, tc.lead)
			}
		})
	}
}

// TestAimDisplay: the aimed start is the display-aligned start nearest to
// the next slot and not in the past; a display slower than the frame rate,
// a stale DisplayTiming or an unmapped client clock aim nothing.
func TestAimDisplay(t *testing.T) {
	t0 := time.Unix(1000, 0)
	newRig := func(hz float32, received time.Time) (*Session, *frameState, *scheduler) {
		s := &Session{}
		dt, err := parseDisplayTiming(&holocastv1.DisplayTiming{RefreshRateHz: hz, NextDisplayTimeUs: 1_000_000, LeadUs: 4000}, received)
		if err != nil {
			t.Fatal(err)
		}
		s.display.Store(&dt)
		fs := &frameState{}
		// Client clock zero at t0 (a pose sampled at 0 arrived at t0).
		fs.clock.observe(pose.Sample{Pose: pose.Pose{Time: 0}, Arrived: t0})
		sc := &scheduler{}
		sc.setRate(30)
		sc.next = t0.Add(500 * time.Millisecond)
		return s, fs, sc
	}
	s, fs, sc := newRig(60, t0)
	got := s.aimDisplay(fs, sc, t0.Add(480*time.Millisecond))
	// Display times at 1 s + k/60 s; start = display - 4 ms lead - 1 ms
	// margin; nearest to 500 ms: display 500 ms (k = -30), start 495 ms.
	// (1/60 s is not a whole number of nanoseconds: within 1 µs.)
	if want := t0.Add(495 * time.Millisecond); got.start.Sub(want).Abs() > time.Microsecond || got.displayUs != 500_000 {
		t.Errorf("aim %v for display %d µs, want %v for 500000", got.start.Sub(t0), got.displayUs, want.Sub(t0))
	}
	// Not in the past: at 497 ms the next display time is taken.
	got = s.aimDisplay(fs, sc, t0.Add(497*time.Millisecond))
	if got.displayUs != 516_667 {
		t.Errorf("aim after the nearest start passed: display %d µs, want 516667", got.displayUs)
	}
	for _, tc := range []struct {
		name     string
		hz       float32
		received time.Time
		noClock  bool
		work     time.Duration
	}{
		{"display slower than the frame rate", 20, t0, false, 0},
		{"stale DisplayTiming", 60, t0.Add(-DisplayTimingTTL - time.Second), false, 0},
		{"client clock not mapped", 60, t0, true, 0},
		{"work does not fit a frame interval", 60, t0, false, 40 * time.Millisecond},
	} {
		s, fs, sc := newRig(tc.hz, tc.received)
		if tc.noClock {
			fs.clock = clientClock{}
		}
		fs.work = tc.work
		if got := s.aimDisplay(fs, sc, t0.Add(480*time.Millisecond)); !got.start.IsZero() {
			t.Errorf("%s: aimed at %v", tc.name, got.start.Sub(t0))
		}
	}
}
