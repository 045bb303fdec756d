package bench

import (
	"math"
	"sync"
	"time"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/proto/wire"
)

// runAcc scores the frames of one run as the headsets receive them, into
// bounded accumulators (accum.go): the run's distributions, its late and
// unmatched frames, and headset 0's timeline for the report. The
// headsets' collect goroutines add to it; score reads it after they have
// ended.
type runAcc struct {
	cfg      *Config
	start    time.Time     // the run's start: rate steps count from it
	t0       time.Time     // the headsets connected: trace time offset of each headset
	interval time.Duration // the nominal frame interval, for freezes
	settle   []span        // settling after step downs (settleSpans)

	// Per-frame figures over all headsets, in ms (degrees, cm for the
	// errors), guarded by mu.
	mu                                                                                   sync.Mutex
	p2f, m2p, age, queue, render, convert, encWait, encode, send, horizon, errDeg, errCM *reservoir
	p2fSteady                                                                            *reservoir // p2f outside settling after a step down
	late, unmatched, aimed, onTarget                                                     int
	head0                                                                                thinned[FrameSample]
}

// newRunAcc starts scoring a run whose headsets began to connect at
// start (rate steps count from it) and were connected at t0, with frames
// every interval.
func newRunAcc(cfg *Config, start, t0 time.Time, interval time.Duration) *runAcc {
	r := func() *reservoir { return newReservoir(reservoirCap) }
	return &runAcc{cfg: cfg, start: start, t0: t0, interval: interval, settle: settleSpans(cfg.Impair),
		p2f: r(), m2p: r(), age: r(), queue: r(), render: r(), convert: r(), encWait: r(), encode: r(), send: r(), horizon: r(), errDeg: r(), errCM: r(),
		p2fSteady: r()}
}

// span is the time [from, to) after a run's start.
type span struct{ from, to time.Duration }

// settleSpans are the spans in which the stream may settle after each
// rate step down of imp: settleDown from the step.
func settleSpans(imp *Impairment) []span {
	if imp == nil {
		return nil
	}
	var ss []span
	prev := imp.RateBps
	for _, st := range imp.RateSteps {
		if st.Bps < prev {
			ss = append(ss, span{from: st.At, to: st.At + settleDown})
		}
		prev = st.Bps
	}
	return ss
}

// settling reports whether a frame received at at arrived while the
// stream settled after a step down.
func (a *runAcc) settling(at time.Time) bool {
	d := at.Sub(a.start)
	for _, s := range a.settle {
		if d >= s.from && d < s.to {
			return true
		}
	}
	return false
}

// frame scores one frame of headset s that arrived at `at` in the
// window, size bytes: the node's stage times from its FrameInfo (a frame
// without one counts as unmatched) and, when the client matched it to
// the pose it was rendered from, its pose-to-frame latency, the node's
// horizon and the prediction error. It returns the pose-to-frame latency
// in ms, and whether there was one.
func (a *runAcc) frame(s *sim, f *headset.Frame, size int, at time.Duration) (p2f float64, matched bool) {
	fs := FrameSample{Session: s.idx, At: at, PoseToFrame: math.NaN(), ErrDeg: math.NaN(), KeyFrame: f.KeyFrame, Bytes: size}
	var errCM, m2p float64
	hasCM, hasM2P, aimed, onTarget := false, false, false, false
	if f.Info != nil {
		tm := f.Info.GetTimings()
		fs.PoseAge, fs.Render, fs.Convert = usMS(tm.GetPoseAgeUs()), usMS(tm.GetRenderUs()), usMS(tm.GetConvertUs())
		fs.Encode, fs.Send, fs.Queue = usMS(tm.GetEncodeUs()), usMS(tm.GetSendUs()), usMS(tm.GetQueueUs())
		fs.EncodeWait = usMS(tm.GetEncodeWaitUs())
		if d, ok := s.c.PoseToFrame(f); ok {
			matched = true
			fs.PoseToFrame = ms(d)
			shown := a.shown(s, f)
			if target := f.Info.GetTargetDisplayTimeUs(); target != 0 {
				aimed = true
				d := s.c.ClockAt(shown) - target
				onTarget = s.display != nil && d >= -2 && d <= 2 // µs rounding
			}
			if sampled := time.Duration(f.Info.GetPoseSampleTimeUs()) * time.Microsecond; sampled > 0 {
				m2p, hasM2P = ms(time.Duration(s.c.ClockAt(shown))*time.Microsecond-sampled), true
			}
			errCM, hasCM = a.predictionError(s, f, shown, &fs)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.idx == 0 {
		a.head0.add(fs, timelineCap)
	}
	if f.Info == nil {
		a.unmatched++
		return 0, false
	}
	a.queue.add(fs.Queue)
	a.render.add(fs.Render)
	a.convert.add(fs.Convert)
	a.encWait.add(fs.EncodeWait)
	a.encode.add(fs.Encode)
	a.send.add(fs.Send)
	if !matched {
		return 0, false
	}
	a.p2f.add(fs.PoseToFrame)
	if !a.settling(f.Received) {
		a.p2fSteady.add(fs.PoseToFrame)
	}
	if hasM2P {
		a.m2p.add(m2p)
	}
	if aimed {
		a.aimed++
	}
	if onTarget {
		a.onTarget++
	}
	a.age.add(fs.PoseAge)
	a.horizon.add(usMS(f.Info.GetHorizonUs()))
	if fs.PoseToFrame > ms(a.cfg.LateAfter) {
		a.late++
	}
	if !math.IsNaN(fs.ErrDeg) {
		a.errDeg.add(fs.ErrDeg)
	}
	if hasCM {
		a.errCM.add(errCM)
	}
	return fs.PoseToFrame, true
}

// shown returns when frame f is shown, on the headset's clock: at the
// first vsync of its display at least the display's lead after the frame
// arrived, or without a display DisplayDelay after it arrived.
func (a *runAcc) shown(s *sim, f *headset.Frame) time.Time {
	if s.display == nil {
		return f.Received.Add(a.cfg.DisplayDelay)
	}
	rx := s.c.ClockAt(f.Received)
	return f.Received.Add(time.Duration(s.display.Shown(rx)-rx) * time.Microsecond)
}

// predictionError compares the pose frame f was rendered for with the
// trace's pose when it is shown (shownAt): the angle in degrees (set in
// fs.ErrDeg when there is a rendered orientation) and, for traces with
// positions, the distance in cm (returned, with ok).
func (a *runAcc) predictionError(s *sim, f *headset.Frame, shownAt time.Time, fs *FrameSample) (cm float64, ok bool) {
	shown := shownAt.Sub(a.t0)
	tq, tp := s.m.at(s.offset + shown)
	if rq := f.Info.GetRenderedOrientation(); rq != nil {
		q := wire.QuatFromProto(rq)
		if l := q.Len(); l > 0.5 {
			fs.ErrDeg = pose.QuatAngle(q.Scale(1/l), tq) * 180 / math.Pi
		}
	}
	if rp := f.Info.GetRenderedPosition(); rp != nil && s.m.HasPosition {
		return wire.Vec3FromProto(rp).Sub(tp).Len() * 100, true
	}
	return 0, false
}

// score fills res with the figures of the frames received between wStart
// and wEnd, from what the headsets and a accumulated. It runs after the
// headsets' goroutines have ended.
func score(res *RunResult, sims []*sim, a *runAcc, wStart, wEnd time.Time) {
	win := wEnd.Sub(wStart)
	res.WindowS = round3(win.Seconds())
	res.FPSMin = math.Inf(1)
	var totalBytes int64
	var allBins []int32
	for _, s := range sims {
		ss, b := sessionFigures(s, win)
		res.FreezeCount += s.win.freeze.n
		res.FreezeMS += ms(s.win.freeze.total)
		res.FramesReceived += ss.Frames
		res.FramesLost += ss.FramesLost
		res.FramesDropped += ss.FramesDropped
		res.KeyFrames += ss.KeyFrames
		res.DegradationRungMax = max(res.DegradationRungMax, s.win.rungMax)
		res.PLIsSent += ss.PLIsSent
		res.PacketsRecovered += s.endSt.PacketsRecovered - s.startSt.PacketsRecovered
		res.PacketsGivenUp += s.endSt.PacketsGivenUp - s.startSt.PacketsGivenUp
		res.FPS += ss.FPS
		res.FPSMin = min(res.FPSMin, ss.FPS)
		totalBytes += s.win.bytes
		res.PerSession = append(res.PerSession, ss)
		for i, c := range b {
			for len(allBins) <= i {
				allBins = append(allBins, 0)
			}
			allBins[i] += c
		}
	}
	n := len(sims)
	res.FPS = round3(res.FPS / float64(n))
	res.FPSMin = round3(res.FPSMin)
	res.FreezeMS = round3(res.FreezeMS)
	res.BitrateKbpsTotal = round3(kbps(totalBytes, win.Seconds()))
	res.BitrateKbps = round3(res.BitrateKbpsTotal / float64(n))
	res.FramesLate, res.FramesUnmatched = a.late, a.unmatched
	res.PoseToFrameMS = a.p2f.dist()
	res.PoseToFrameSteadyMS = a.p2fSteady.dist()
	res.MotionToPhotonMS = a.m2p.dist()
	res.FramesAimed, res.FramesOnTarget = a.aimed, a.onTarget
	res.StagesMS = StagesMS{PoseAge: a.age.dist(), Queue: a.queue.dist(), Render: a.render.dist(), Convert: a.convert.dist(),
		EncodeWait: a.encWait.dist(), Encode: a.encode.dist(), Send: a.send.dist()}
	res.HorizonMS = a.horizon.dist()
	res.PredictionErrorDeg = a.errDeg.dist()
	res.PredictionErrorCM = a.errCM.dist()
	res.Timeline = a.head0.items
	res.LatencySample = a.p2f.sample
	res.ErrorSample = a.errDeg.sample
	res.FPSOverTime = fpsOverTime(allBins, win, n)
}

// sessionFigures is headset s's own figures over a window of length win,
// and its frames-per-bin counts.
func sessionFigures(s *sim, win time.Duration) (Session, bins) {
	w := &s.win
	w.freeze.arrive(win) // the window's end counts as a frame
	ss := Session{Index: s.idx, Trace: s.m.name, OffsetS: round3(s.offset.Seconds()), PosesSent: s.posesSent,
		Frames: w.frames, KeyFrames: w.keyFrames}
	ss.FreezeMS = round3(ms(w.freeze.total))
	ss.FPS = round3(float64(ss.Frames) / win.Seconds())
	ss.BitrateKbps = round3(kbps(w.bytes, win.Seconds()))
	ss.FramesLost = s.endSt.FramesLost - s.startSt.FramesLost
	ss.FramesDropped = s.endSt.FramesDropped - s.startSt.FramesDropped
	ss.PLIsSent = s.endSt.PLIsSent - s.startSt.PLIsSent
	ss.PoseToFrameMS = w.p2f.dist().P50
	ss.Series = s.series.items
	return ss, w.bins
}

// fpsOverTime is frames received per second per headset in each fpsBin
// of a window of length win, from the headsets' counts per bin (a last
// partial bin under 0.1 s is left out).
func fpsOverTime(counts []int32, win time.Duration, sessions int) []float64 {
	n := int(math.Ceil(win.Seconds() / fpsBin.Seconds()))
	out := make([]float64, 0, n)
	for i := range n {
		width := fpsBin.Seconds()
		if i == n-1 {
			width = win.Seconds() - float64(i)*fpsBin.Seconds() // the last bin may be partial
			if width < 0.1 {
				break
			}
		}
		var c int32
		if i < len(counts) {
			c = counts[i]
		}
		out = append(out, float64(c)/width/float64(max(sessions, 1)))
	}
	return out
}
