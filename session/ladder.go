package session

import (
	"math"
	"time"
)

// Degradation is what the degradation ladder watches (Config.Degrade).
type Degradation int

const (
	// DegradeOff keeps the client's requested size and rate.
	DegradeOff Degradation = iota
	// DegradeBandwidth watches the congestion target only.
	DegradeBandwidth
	// DegradeAll watches the congestion target and the node's work per
	// frame.
	DegradeAll
)

// Rung is one step of the degradation ladder: the share of the client's
// requested width and height the session renders and encodes, and the
// frame rate it is held to (0: the requested rate).
type Rung struct {
	Scale float64
	FPS   int
}

// LadderRungs are the steps of the degradation ladder, best first.
// Latency first, as libwebrtc's "balanced" degradation preference: the
// bit rate follows the congestion controller on every rung, the
// resolution goes down before the frame rate (a VR picture that updates
// less often is felt as lag, a softer one is not), and nothing ever
// queues. Each resolution step is 0.56–0.44× the pixels of the one
// above.
var LadderRungs = []Rung{{1, 0}, {0.75, 0}, {0.5, 0}, {0.5, 20}, {0.5, 15}}

// The ladder's thresholds. Bits per pixel per frame (bpp) is the
// congestion target over the pixels the rung sends a second; H.264 at
// these sizes looks clean from about 0.06 bpp (libwebrtc starts
// 1280x720 at 1.5 Mbit/s and 640x360 at 0.5 Mbit/s, 0.054 and 0.072 bpp
// at 30 fps) and breaks into blocks under 0.03.
const (
	// LadderDownBPP: below it, a rung is too large for the target.
	LadderDownBPP = 0.03
	// LadderUpBPP: the rung above must have at least this at the
	// current target to be tried again — twice the step-down point, so
	// that a step up lands well clear of it (a resolution step changes
	// the pixels by 1.8–2.3×).
	LadderUpBPP = 0.06
	// LadderOverload: the session's time per frame (the slower of its
	// pipeline's stages: the frame loop's render worker wait, render and
	// convert, or the encoder goroutine's encode and send, which work on
	// consecutive frames at once) over this share of the frame interval
	// steps down: the node can no longer keep its rate (libwebrtc's
	// overuse detector adapts down over 85 % encode usage).
	LadderOverload = 0.85
	// LadderHeadroom: the rung above is tried only if the work scaled to
	// its pixels and rate is under this share of its interval (work
	// grows about with the pixels; the margin to LadderOverload absorbs
	// the estimate's error).
	LadderHeadroom = 0.7
	// LadderDownHold is how long a step-down condition must hold: the
	// congestion target is already smoothed; a second keeps one
	// back-off or one slow frame from costing a rebuild (a key frame).
	LadderDownHold = time.Second
	// LadderUpHold is how long the headroom must hold before a step up,
	// and LadderDwell the least time on a rung before one: a step up
	// that fails costs two rebuilds, so it waits for the controller to
	// settle at the new size.
	LadderUpHold = 3 * time.Second
	LadderDwell  = 4 * time.Second
)

// LadderInput is what the ladder sees of one frame.
type LadderInput struct {
	// Now is the frame's start.
	Now time.Time
	// BitRate is the congestion controller's target in bits per second
	// (0: no controller; the bandwidth rule is off).
	BitRate int
	// Work is the running estimate of the session's time per frame as a
	// pipeline, its slower stage (0: none yet; the time rule is off).
	Work time.Duration
}

// ladder chooses the rung the session renders at: pure and clock-free,
// fed one LadderInput per frame.
type ladder struct {
	rung      int
	since     time.Time // when the rung was entered (zero: at the start)
	downSince time.Time // when the step-down condition began to hold (zero: it does not)
	upSince   time.Time // same for the step-up condition
	steps     uint64
}

// Rung is the index in LadderRungs of the current rung.
func (l *ladder) Rung() int { return l.rung }

// Steps counts the rung changes so far.
func (l *ladder) Steps() uint64 { return l.steps }

// rungOutput is req at rung r: width a multiple of 4, height even, each
// at least 64 (as applyDeviceConfig keeps them), the rate capped.
func rungOutput(req Output, r int) Output {
	g := LadderRungs[r]
	out := req
	if g.Scale != 1 {
		out.Width = max(int(math.Floor(float64(req.Width)*g.Scale)), 64) &^ 3
		out.Height = max(int(math.Floor(float64(req.Height)*g.Scale)), 64) &^ 1
		out.Width, out.Height = min(out.Width, req.Width), min(out.Height, req.Height)
	}
	if g.FPS > 0 && g.FPS < out.FPS {
		out.FPS = g.FPS
	}
	return out
}

// Output is req at the current rung.
func (l *ladder) Output(req Output) Output { return rungOutput(req, l.rung) }

// bpp is the bits per pixel per frame that bps gives o.
func bpp(bps int, o Output) float64 {
	return float64(bps) / float64(max(o.Width*o.Height*max(o.FPS, 1), 1))
}

func rungInterval(o Output) time.Duration { return time.Second / time.Duration(max(o.FPS, 1)) }

// Observe feeds one frame's input for the client's request req; it
// reports whether the rung changed (the caller renders Output(req) from
// now on).
func (l *ladder) Observe(req Output, in LadderInput) bool {
	cur := l.Output(req)
	down := l.rung < len(LadderRungs)-1 && !sameFormat(rungOutput(req, l.rung+1), cur) &&
		((in.BitRate > 0 && bpp(in.BitRate, cur) < LadderDownBPP) ||
			(in.Work > 0 && float64(in.Work) > LadderOverload*float64(rungInterval(cur))))
	up := false
	if l.rung > 0 {
		next := rungOutput(req, l.rung-1)
		scale := float64(next.Width*next.Height) / float64(max(cur.Width*cur.Height, 1))
		up = (in.BitRate <= 0 || bpp(in.BitRate, next) >= LadderUpBPP) &&
			float64(in.Work)*scale < LadderHeadroom*float64(rungInterval(next))
	}
	l.downSince = holding(down, l.downSince, in.Now)
	l.upSince = holding(up && !down, l.upSince, in.Now)
	switch {
	case down && in.Now.Sub(l.downSince) >= LadderDownHold:
		l.move(l.rung+1, in.Now)
		return true
	case up && !down && in.Now.Sub(l.upSince) >= LadderUpHold && (l.since.IsZero() || in.Now.Sub(l.since) >= LadderDwell):
		l.move(l.rung-1, in.Now)
		return true
	}
	return false
}

func (l *ladder) move(r int, now time.Time) {
	l.rung, l.since, l.downSince, l.upSince = r, now, time.Time{}, time.Time{}
	l.steps++
}

// holding returns when a condition that holds (cond) began: since, or
// now if it just began; zero when it does not hold.
func holding(cond bool, since, now time.Time) time.Time {
	switch {
	case !cond:
		return time.Time{}
	case since.IsZero():
		return now
	}
	return since
}

// degrade feeds the frame's input to the session's ladder and returns
// what the frame loop renders for the client's request req (req itself
// with DegradeOff). The target
// is the congestion controller's (none without one); the work is the
// pipeline's running estimate (frameState.pipelineWork).
func (s *Session) degrade(fs *frameState, req Output) Output {
	if s.cfg.Degrade == DegradeOff {
		return req
	}
	in := LadderInput{Now: s.cfg.Now()}
	if s.cfg.Degrade == DegradeAll {
		in.Work = fs.pipelineWork()
	}
	if fs.bwe != nil {
		in.BitRate = s.controlledBitRate(fs.bwe)
	}
	if fs.ladder.Observe(req, in) {
		out := fs.ladder.Output(req)
		s.stats.ladderRung.Store(int64(fs.ladder.Rung()))
		s.stats.ladderSteps.Add(1)
		s.log.Info("degradation ladder", "rung", fs.ladder.Rung(), "width", out.Width, "height", out.Height, "fps", out.FPS,
			"target_bps", in.BitRate, "work", in.Work)
	}
	return fs.ladder.Output(req)
}
