package session

// Tests of the frame loop's scheduling decisions on a clock of the test's
// own: the session runs with Config.Now and Config.NewTimer of a
// fakeClock that moves only when the test moves it, rendertest renderers
// that record the clock at each Render, and encodertest's fake encoder.
// After each thing the test does (a pose, a step of the clock) it waits
// until the frame loop has re-armed its timer, that is, decided and gone
// back to waiting: every time the tests read is then exact.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/rendertest"
)

// fakeClock is a clock that moves when told to, with timers on it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	// arms counts NewTimer and Reset calls: the frame loop re-arms its
	// timer after every decision, right before it waits again.
	arms atomic.Int64
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements Config.NewTimer.
func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// set moves the clock to at and fires the timers due by then.
func (c *fakeClock) set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
	for _, t := range c.timers {
		t.fireIfDueLocked()
	}
}

func (c *fakeClock) advance(d time.Duration) { c.set(c.Now().Add(d)) }

// deadline returns the earliest armed timer's time, and false if none is
// armed.
func (c *fakeClock) deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	ok := false
	for _, t := range c.timers {
		if t.armed && (!ok || t.at.Before(at)) {
			at, ok = t.at, true
		}
	}
	return at, ok
}

type fakeTimer struct {
	c     *fakeClock
	ch    chan time.Time
	at    time.Time // guarded by c.mu
	armed bool      // guarded by c.mu
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	select {
	case <-t.ch:
	default:
	}
	t.at, t.armed = t.c.now.Add(d), true
	t.fireIfDueLocked()
	t.c.mu.Unlock()
	t.c.arms.Add(1)
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.armed = false
}

func (t *fakeTimer) fireIfDueLocked() {
	if !t.armed || t.at.After(t.c.now) {
		return
	}
	t.armed = false
	select {
	case t.ch <- t.at:
	default:
	}
}

// clockRenderers makes rendertest renderers that record the fake clock at
// every Render and may move it on by cost (a frame that takes time).
type clockRenderers struct {
	f    rendertest.Factory
	clk  *fakeClock
	cost atomic.Int64 // ns

	mu        sync.Mutex
	starts    []time.Time
	deadlines []time.Time // of RenderBy, one per frame
	lumas     []byte      // the first luma byte of each rendered frame
}

func (c *clockRenderers) NewRenderer(w, h int) (render.Renderer, error) {
	r, err := c.f.NewRenderer(w, h)
	if err != nil {
		return nil, err
	}
	return &clockRenderer{Renderer: r, c: c}, nil
}

func (c *clockRenderers) Name() string { return c.f.Name() }

// renders returns the clock at each Render so far.
func (c *clockRenderers) renders() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.starts...)
}

type clockRenderer struct {
	render.Renderer
	c *clockRenderers
}

// RenderBy implements render.DeadlineRenderer: it records the deadline.
func (r *clockRenderer) RenderBy(v render.StereoViews, deadline time.Time) (*render.Frame, error) {
	r.c.mu.Lock()
	r.c.deadlines = append(r.c.deadlines, deadline)
	r.c.mu.Unlock()
	return r.Render(v)
}

func (r *clockRenderer) Render(v render.StereoViews) (*render.Frame, error) {
	r.c.mu.Lock()
	r.c.starts = append(r.c.starts, r.c.clk.Now())
	r.c.mu.Unlock()
	if d := time.Duration(r.c.cost.Load()); d > 0 {
		r.c.clk.advance(d)
	}
	f, err := r.Renderer.Render(v)
	if err == nil {
		r.c.mu.Lock()
		r.c.lumas = append(r.c.lumas, f.Y[0])
		r.c.mu.Unlock()
	}
	return f, err
}

// clockRig is a session on a fakeClock.
type clockRig struct {
	t      *testing.T
	h      *harness
	clk    *fakeClock
	r      *clockRenderers
	gate   *encodeGate // the session's encoders pass it (open unless closed)
	t0     time.Time   // the first frame's start
	seq    uint64
	mu     sync.Mutex
	frames []FrameStats
}

// frameInterval is the test sessions' frame interval (testOutput: 30 fps).
const frameInterval = time.Second / 30

func startClockRig(t *testing.T) *clockRig { return startClockRigWith(t, false) }

// startClockRigWith is startClockRig; noDataChannels offers no data
// channels, so that the session sends no Ping whose Pong would measure a
// round trip on the test's clock (the tests hand poses and control
// messages to the session directly).
func startClockRigWith(t *testing.T, noDataChannels bool) *clockRig {
	t.Helper()
	rig := &clockRig{t: t, clk: newFakeClock(), gate: &encodeGate{}}
	rig.r = &clockRenderers{clk: rig.clk}
	rig.h = startSession(t, harnessOptions{
		noDataChannels: noDataChannels,
		cfg: func(c *Config) {
			c.Now, c.NewTimer = rig.clk.Now, rig.clk.NewTimer
			c.PoseRate = Rate{PerSecond: 1000, Burst: 1000}
		},
		deps: func(d *Deps) {
			d.Renderers = rig.r
			d.Encoders = rig.gate.factory(d.Encoders)
			d.OnFrame = func(_ *Session, fs FrameStats) {
				rig.mu.Lock()
				defer rig.mu.Unlock()
				rig.frames = append(rig.frames, fs)
			}
		},
	})
	// The first frame starts once the peer connects; then the loop arms
	// its timer (NewTimer, then Reset after the frame).
	waitFor(t, "the first frame", func() bool { return len(rig.r.renders()) == 1 && rig.clk.arms.Load() >= 2 })
	waitFor(t, "the first frame's stats", func() bool { return len(rig.stats()) == 1 })
	rig.t0 = rig.r.renders()[0]
	return rig
}

// step does what and waits until the frame loop has handled what it
// caused and waits again, and, unless the test holds the encoders
// (encodeGate), until the encoder goroutine has sent what it was handed:
// on the test's clock a frame's encoding takes no time.
func (rig *clockRig) step(what string, do func()) {
	rig.t.Helper()
	n := rig.clk.arms.Load()
	do()
	waitFor(rig.t, "the frame loop to wait again after "+what, func() bool { return rig.clk.arms.Load() > n })
	if !rig.gate.held() {
		waitFor(rig.t, "the encoder to finish after "+what, rig.encoderIdle)
	}
}

// encoderIdle reports whether the session's encoder goroutine has no frame
// waiting or in progress.
func (rig *clockRig) encoderIdle() bool {
	e := rig.h.s.enc
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pending == nil && !e.busy
}

// pose moves the clock to t0+at and delivers a new pose there.
func (rig *clockRig) pose(at time.Duration) { rig.t.Helper(); rig.poseYaw(at, 10) }

// poseYaw is pose with the head turned by yaw degrees.
func (rig *clockRig) poseYaw(at time.Duration, yaw float64) {
	rig.t.Helper()
	rig.seq++
	rig.clk.set(rig.t0.Add(at))
	b := marshal(rig.t, yawPose(rig.seq, yaw))
	rig.step(fmt.Sprintf("pose %d at %v", rig.seq, at), func() { rig.h.s.onPose(b) })
}

// tick moves the clock to the loop's armed deadline, which fires it.
func (rig *clockRig) tick() time.Duration {
	rig.t.Helper()
	at, ok := rig.clk.deadline()
	if !ok {
		rig.t.Fatal("the frame loop has no timer armed")
	}
	rig.step("its timer", func() { rig.clk.set(at) })
	return at.Sub(rig.t0)
}

// renders returns the frames' start times from t0.
func (rig *clockRig) renders() []time.Duration {
	var out []time.Duration
	for _, r := range rig.r.renders() {
		out = append(out, r.Sub(rig.t0))
	}
	return out
}

// stats returns the FrameStats of the frames sent so far.
func (rig *clockRig) stats() []FrameStats {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]FrameStats(nil), rig.frames...)
}

// lastRender is the newest frame's start from t0.
func (rig *clockRig) lastRender() time.Duration {
	r := rig.renders()
	return r[len(r)-1]
}

// waitSent waits until n frames were sent (OnFrame runs after the send).
func (rig *clockRig) waitSent(n int) FrameStats {
	rig.t.Helper()
	waitFor(rig.t, fmt.Sprintf("%d frames sent", n), func() bool { return len(rig.stats()) >= n })
	return rig.stats()[n-1]
}

// TestFrameLoopPoseStartsFrame: a pose that arrives at t in an idle slot
// that is due starts rendering at t, with no pose age and no queueing; a
// pose that arrives before the slot is due starts nothing.
func TestFrameLoopPoseStartsFrame(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.pose(10 * time.Millisecond) // slot 1 is not due yet
	if n := len(rig.renders()); n != 1 {
		t.Fatalf("a pose 10 ms into slot 0 started a frame: %d frames, want 1", n)
	}
	at := frameInterval + 3*time.Millisecond
	rig.pose(at)
	r := rig.renders()
	if len(r) != 2 || r[1] != at {
		t.Fatalf("frames started at %v, want the second at the pose's arrival %v", r, at)
	}
	fs := rig.waitSent(2)
	if !fs.HasPose || fs.PoseAge != 0 || fs.Queue != 0 {
		t.Errorf("frame on a pose: %+v, want a pose, pose age 0 and queueing 0", fs)
	}
	// A shared worker is told the frame's deadline: due + one interval.
	rig.r.mu.Lock()
	dl := rig.r.deadlines[1].Sub(rig.t0)
	rig.r.mu.Unlock()
	if want := at + frameInterval; dl != want {
		t.Errorf("render deadline %v, want %v", dl, want)
	}
	if st := rig.h.s.Stats(); st.SkippedTicks != 0 {
		t.Errorf("SkippedTicks %d, want 0", st.SkippedTicks)
	}
}

// TestFrameLoopLateSlotSkipped: a frame that overruns its next slot makes
// the loop skip that slot rather than start late: a pose that arrives
// right after the overrun waits for the next slot (is not queued), and
// the skip is counted.
func TestFrameLoopLateSlotSkipped(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.r.cost.Store(int64(frameInterval * 3 / 2))
	rig.pose(frameInterval) // starts at I, ends at 2.5 I: slot 2 (up to 2.25 I) passed
	rig.r.cost.Store(0)
	if r := rig.renders(); len(r) != 2 || r[1] != frameInterval {
		t.Fatalf("frames at %v, want the second at %v", r, frameInterval)
	}
	if st := rig.h.s.Stats(); st.SkippedTicks != 1 {
		t.Fatalf("SkippedTicks %d after an overrun of 1.5 intervals, want 1", st.SkippedTicks)
	}
	rig.pose(frameInterval*5/2 + time.Millisecond)
	if n := len(rig.renders()); n != 2 {
		t.Fatalf("a pose right after the overrun started a frame (%d frames): the late slot was queued", n)
	}
	// The pose is folded into slot 3, which the fallback tick starts.
	at := rig.tick()
	if want := 3*frameInterval + frameInterval/4; at != want || rig.lastRender() != want {
		t.Fatalf("next frame at %v (timer %v), want slot 3's tick at %v", rig.lastRender(), at, want)
	}
	if fs := rig.waitSent(3); !fs.HasPose || fs.Queue != 0 {
		t.Errorf("frame on the tick: %+v, want the folded pose and queueing 0", fs)
	}
}

// TestFrameLoopTickFallback: when poses stop, the fallback tick keeps the
// frame rate: one frame per interval, a quarter interval after each slot,
// and nothing before the timer is due.
func TestFrameLoopTickFallback(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.pose(frameInterval) // on time: the slot grid stays where it is
	for k := 2; k <= 6; k++ {
		want := time.Duration(k)*frameInterval + frameInterval/4
		rig.clk.set(rig.t0.Add(want - time.Microsecond))
		if got := rig.lastRender(); got >= want-frameInterval/2 {
			t.Fatalf("slot %d started at %v before its tick", k, got)
		}
		if at := rig.tick(); at != want || rig.lastRender() != want {
			t.Fatalf("slot %d: frame at %v (timer %v), want the tick at %v", k, rig.lastRender(), at, want)
		}
	}
	if n := len(rig.renders()); n != 7 {
		t.Errorf("%d frames, want 7", n)
	}
}

// TestFrameLoopFastPosesKeepFrameRate: poses at 120 Hz (four per frame)
// do not raise the frame rate: over two seconds the loop starts 60 frames
// (± 1), each on a pose (the nearest to its slot), and never two within
// half an interval.
func TestFrameLoopFastPosesKeepFrameRate(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	const span = 2 * time.Second
	period := time.Second / 120
	for at := period; at < span; at += period {
		for {
			dl, ok := rig.clk.deadline()
			if !ok || dl.Sub(rig.t0) > at {
				break
			}
			rig.tick()
		}
		rig.pose(at)
	}
	r := rig.renders()
	if n := len(r) - 1; n < 59 || n > 61 {
		t.Errorf("%d frames after the first in %v with 120 Hz poses, want 60 ± 1", n, span)
	}
	for i := 1; i < len(r); i++ {
		if d := r[i] - r[i-1]; d < frameInterval/2 {
			t.Fatalf("frames %d and %d start %v apart", i-1, i, d)
		}
	}
	rig.waitSent(len(r))
	onPose := 0
	for _, f := range rig.stats()[1:] {
		if f.HasPose && f.PoseAge == 0 {
			onPose++
		}
	}
	if onPose < len(r)*9/10 {
		t.Errorf("%d of %d frames started on a fresh pose (pose age 0), want at least 90 %%", onPose, len(r)-1)
	}
}

// TestFrameLoopAimsAtDisplay: once the client has told its display
// timing (50 Hz, a display time on its clock, 4 ms lead) and a pose has
// mapped its clock to the node's, the frame loop starts each frame so
// that it arrives just before a display time: at the display time on the
// node's clock less the lead, the node's work (0 on this clock, the
// round trip (none without pings) and the 1 ms margin), and reports that
// display time. The aimed starts keep the frame rate.
func TestFrameLoopAimsAtDisplay(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRigWith(t, true)

	rig.pose(10 * time.Millisecond) // sample time 11.111 ms on the client's clock
	clientZero := rig.t0.Add(10*time.Millisecond - 11111*time.Microsecond)
	const period = 20 * time.Millisecond // 50 Hz
	const lead = 4 * time.Millisecond
	dt := &holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DisplayTiming{DisplayTiming: &holocastv1.DisplayTiming{
		RefreshRateHz: 50, NextDisplayTimeUs: 500_000, LeadUs: uint32(lead.Microseconds())}}}
	rig.h.s.onControl(marshal(t, dt))

	// This slot's frame is not aimed yet: the pose maps the client's
	// clock only once a frame has drained it.
	if at := rig.tick(); at != frameInterval+frameInterval/4 {
		t.Fatalf("tick at %v", at)
	}
	if fs := rig.waitSent(2); fs.TargetDisplayUs != 0 {
		t.Fatalf("frame before the clock was mapped aimed at %d", fs.TargetDisplayUs)
	}
	var starts []time.Duration
	for i := 0; i < 30; i++ {
		at := rig.tick()
		fs := rig.waitSent(3 + i)
		if fs.TargetDisplayUs == 0 {
			t.Fatalf("frame %d at %v not aimed", 3+i, at)
		}
		display := clientZero.Add(time.Duration(fs.TargetDisplayUs) * time.Microsecond)
		if (fs.TargetDisplayUs-500_000)%period.Microseconds() != 0 {
			t.Fatalf("frame %d aimed at %d µs, not a display time", 3+i, fs.TargetDisplayUs)
		}
		if want := display.Add(-lead - aimMargin).Sub(rig.t0); at != want || rig.lastRender() != want {
			t.Fatalf("frame %d started at %v (timer %v), want %v: display %d µs less lead and margin",
				3+i, rig.lastRender(), at, want, fs.TargetDisplayUs)
		}
		starts = append(starts, at)
	}
	// 30 aimed frames at 30 fps span 29 intervals, within a display
	// period either way.
	span := starts[len(starts)-1] - starts[0]
	if want := 29 * frameInterval; span < want-period || span > want+period {
		t.Errorf("30 aimed frames spanned %v, want %v ± %v", span, want, period)
	}
}
