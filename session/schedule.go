package session

import "time"

// Timer is what the frame loop needs of time.Timer: one timer that it
// re-arms after every decision. Config.NewTimer makes it; tests give the
// loop a timer of their own clock so that its decisions run without
// sleeping.
type Timer interface {
	// C delivers the time when the timer fires.
	C() <-chan time.Time
	// Reset re-arms the timer to fire after d, dropping a pending firing.
	Reset(d time.Duration)
	// Stop disarms the timer.
	Stop()
}

// wallTimer is a Timer on the wall clock.
type wallTimer struct{ t *time.Timer }

func newWallTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

func (w wallTimer) C() <-chan time.Time   { return w.t.C }
func (w wallTimer) Reset(d time.Duration) { w.t.Reset(d) }
func (w wallTimer) Stop()                 { w.t.Stop() }

// Slot timing of the frame loop, as fractions of the frame interval.
const (
	// slotToleranceDiv: before the pose rate is known, a new pose starts
	// a frame from interval/16 before the slot (2.1 ms at 30 fps). Once
	// it is known, from half a pose interval before the slot (at most a
	// quarter frame interval): the pose nearest to the slot starts the
	// frame, earlier ones fold into it.
	slotToleranceDiv = 16
	// slotGraceDiv: without a new pose the fallback tick starts the frame
	// interval/4 after the slot (8.3 ms at 30 fps), so that a pose that is
	// a little late still starts its own frame rather than the tick
	// rendering the one before it. It also bounds the early start above.
	slotGraceDiv = 4
	// slotStepDiv and slotEarlyStepDiv: a pose that starts a frame off its
	// slot moves the slot grid towards it by at most interval/64 per frame
	// (0.5 ms at 30 fps) when it came late, interval/128 (0.26 ms) when it
	// came early: the node locks onto the phase of the client's poses
	// (also of a client whose clock runs a little fast) while the frame
	// rate never rises above the target.
	slotStepDiv      = 64
	slotEarlyStepDiv = 128
	// slotDriftDiv: the sum of those moves, the grid's drift from the
	// nominal grid of the first frame, stays within interval/2 either
	// way. Every phase of the client's poses is within reach, and the
	// frame rate over any stretch of time is the target's within half a
	// frame: poses that come a little slower than a multiple of the frame
	// rate (a 59 Hz client at 30 fps) no longer pull the node down to
	// their rate, which steps of interval/64 per frame did (29.5 fps);
	// once the drift is at its bound the poses slide through the slot,
	// and where they leave it one frame starts on the pose at its early
	// edge, about half an interval after the one before (once a second
	// at 59 Hz: the display shows that frame for one refresh).
	slotDriftDiv = 2
	// posePeriodWeight is the weight of each new pose interval in the
	// running estimate of the pose period.
	posePeriodWeight = 0.125
)

// startCause says what started a frame.
type startCause int

const (
	causeNone  startCause = iota
	causeFirst            // the loop's first frame
	causePose             // a new pose arrived in a due slot
	causeTick             // the fallback tick: no new pose by the slot's end
	causeAim              // the start aimed at the client's display
)

// scheduler decides when the frame loop starts a frame; it reads no clock
// and starts no goroutine, so that its decisions are plain functions of
// the times it is given.
//
// Frames start on poses: a new pose that arrives when the slot is due
// starts a frame at once. The slot is due from a little before its
// nominal start (half the pose interval, so that of poses faster than the
// frame rate the one nearest to the slot starts it; at most a quarter of
// the frame interval) to a grace period after it. Poses that arrive
// before the slot is due are folded: the frame renders the newest. The
// fallback tick starts the frame at the end of the grace period when no
// new pose came, so that a session without poses (or with slow ones)
// still runs at its frame rate. The slot grid advances by the frame
// interval, moved towards the pose that started the frame by at most a
// small step, and by at most half an interval in all from where it began:
// the node phase-locks to the client's poses without changing its frame
// rate. A frame that ends after its next slot's grace
// period has passed skips that slot (and any later one it overran)
// rather than starting late: a late slot is never queued.
type scheduler struct {
	interval, grace, step, earlyStep time.Duration
	// next is the nominal start of the next slot; zero before the first
	// frame.
	next time.Time
	// drift is the sum of the moves towards the poses that started
	// frames, within ±interval/slotDriftDiv.
	drift time.Duration
	// seq is the newest pose a frame was started on (or folded into one).
	seq uint64
	// seenSeq and seenAt are the newest pose seen and its arrival; period
	// is the running estimate of the pose interval (0: not known yet).
	seenSeq uint64
	seenAt  time.Time
	period  time.Duration
	// skipped counts slots skipped because a frame overran them.
	skipped uint64
}

// setRate sets the frame interval for fps frames per second.
func (sc *scheduler) setRate(fps int) {
	sc.interval = time.Second / time.Duration(max(fps, 1))
	sc.grace = sc.interval / slotGraceDiv
	sc.step = sc.interval / slotStepDiv
	sc.earlyStep = sc.interval / slotEarlyStepDiv
}

// early is how long before the nominal slot a new pose may start it.
func (sc *scheduler) early() time.Duration {
	if sc.period <= 0 {
		return sc.interval / slotToleranceDiv
	}
	return min(sc.period/2, sc.grace)
}

// dueFrom is the earliest time a pose may start the next frame.
func (sc *scheduler) dueFrom() time.Time { return sc.next.Add(-sc.early()) }

// wake returns when the loop must decide without a new pose: the
// fallback tick, or aim if it is set (the start aimed at the client's
// display). The zero time means at once.
func (sc *scheduler) wake(aim time.Time) time.Time {
	if sc.next.IsZero() {
		return time.Time{}
	}
	if !aim.IsZero() {
		return aim
	}
	return sc.next.Add(sc.grace)
}

// observe updates the pose period estimate with the newest pose.
func (sc *scheduler) observe(seq uint64, arrived time.Time) {
	if seq <= sc.seenSeq {
		return
	}
	if sc.seenSeq > 0 {
		dt := arrived.Sub(sc.seenAt) / time.Duration(seq-sc.seenSeq)
		if dt > 0 && dt < time.Second {
			if sc.period == 0 {
				sc.period = dt
			} else {
				sc.period += time.Duration(posePeriodWeight * float64(dt-sc.period))
			}
		}
	}
	sc.seenSeq, sc.seenAt = seq, arrived
}

// decide says whether a frame starts now and when it was due: now is the
// loop's clock, seq and arrived the sequence number and arrival of the
// newest pose (seq 0: none yet), aim the aimed start (zero when the frame
// is not aimed at a display). A frame is due at the arrival of a new pose
// that came while the slot was due, at the fallback tick, or at the aimed
// start. A new pose that came before the slot was due is folded into the
// next frame, whatever starts it.
func (sc *scheduler) decide(now time.Time, seq uint64, arrived, aim time.Time) (startCause, time.Time) {
	sc.observe(seq, arrived)
	switch {
	case sc.next.IsZero():
		return causeFirst, now
	case !aim.IsZero():
		if now.Before(aim) {
			return causeNone, time.Time{}
		}
		return causeAim, aim
	case seq > sc.seq && !arrived.Before(sc.dueFrom()):
		return causePose, arrived
	case !now.Before(sc.next.Add(sc.grace)):
		return causeTick, sc.next.Add(sc.grace)
	}
	return causeNone, time.Time{}
}

// started records a frame started for cause, due at due, on pose seq.
func (sc *scheduler) started(cause startCause, due time.Time, seq uint64) {
	sc.seq = max(sc.seq, seq)
	switch cause {
	case causeFirst:
		sc.next = due.Add(sc.interval)
		sc.drift = 0
	case causePose:
		shift := min(max(due.Sub(sc.next), -sc.earlyStep), sc.step)
		bound := sc.interval / slotDriftDiv
		shift = min(max(sc.drift+shift, -bound), bound) - sc.drift
		sc.drift += shift
		sc.next = sc.next.Add(sc.interval + shift)
	case causeTick, causeAim:
		// An aimed start is the display-aligned start nearest to the
		// slot: the grid stays, so that the frame rate does too.
		sc.next = sc.next.Add(sc.interval)
	}
}

// finished records that the frame's work on the loop ended at now and
// returns how many slots it overran: those whose whole window (up to the
// fallback tick) passed while the frame was made. They are skipped.
func (sc *scheduler) finished(now time.Time) uint64 {
	if sc.interval <= 0 || !now.After(sc.next.Add(sc.grace)) {
		return 0
	}
	missed := uint64(now.Sub(sc.next.Add(sc.grace))/sc.interval) + 1
	sc.next = sc.next.Add(time.Duration(missed) * sc.interval)
	sc.skipped += missed
	return missed
}
