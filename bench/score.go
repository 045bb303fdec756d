package bench

import (
	"math"
	"time"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/proto/wire"
)

// scorer turns the frames the headsets of one run collected into the
// run's figures. It runs after the headsets' goroutines have ended.
type scorer struct {
	cfg          *Config
	res          *RunResult
	t0           time.Time     // the run's start: trace time offset of each headset
	wStart, wEnd time.Time     // the measured window
	win          time.Duration // wEnd - wStart
	interval     time.Duration // the nominal frame interval, for freezes

	// Per-frame samples over all headsets, in ms (degrees, cm for the
	// errors), summarised into the run's distributions.
	p2f, m2p, age, queue, render, convert, encode, send, horizon, errDeg, errCM []float64
	totalBytes                                                                  int
}

// score fills res with the figures of the frames received between wStart
// and wEnd.
func score(cfg *Config, res *RunResult, sims []*sim, t0, wStart, wEnd time.Time) {
	sc := &scorer{cfg: cfg, res: res, t0: t0, wStart: wStart, wEnd: wEnd, win: wEnd.Sub(wStart),
		interval: time.Duration(float64(time.Second) / res.FPSTarget)}
	res.WindowS = round3(sc.win.Seconds())
	res.FPSMin = math.Inf(1)
	for _, s := range sims {
		sc.session(s)
	}
	sc.summarize(len(sims))
}

// session scores one headset: its frames of the window, its own figures
// (added to res.PerSession) and its share of res's totals.
func (sc *scorer) session(s *sim) {
	ss := Session{Index: s.idx, Trace: s.m.name, OffsetS: round3(s.offset.Seconds()), PosesSent: s.posesSent}
	arrivals, bytes, p2f := sc.frames(s, &ss)
	nf, fd := freezes(append(arrivals, sc.win), sc.interval)
	ss.FreezeMS = round3(ms(fd))
	ss.FPS = round3(float64(ss.Frames) / sc.win.Seconds())
	ss.BitrateKbps = round3(kbps(int64(bytes), sc.win.Seconds()))
	ss.FramesLost = s.endSt.FramesLost - s.startSt.FramesLost
	ss.FramesDropped = s.endSt.FramesDropped - s.startSt.FramesDropped
	ss.PLIsSent = s.endSt.PLIsSent - s.startSt.PLIsSent
	ss.PoseToFrameMS = summarize(p2f).P50

	res := sc.res
	res.FreezeCount += nf
	res.FreezeMS += ms(fd)
	res.FramesReceived += ss.Frames
	res.FramesLost += ss.FramesLost
	res.FramesDropped += ss.FramesDropped
	res.KeyFrames += ss.KeyFrames
	res.PLIsSent += ss.PLIsSent
	res.PacketsRecovered += s.endSt.PacketsRecovered - s.startSt.PacketsRecovered
	res.PacketsGivenUp += s.endSt.PacketsGivenUp - s.startSt.PacketsGivenUp
	res.FPS += ss.FPS
	res.FPSMin = min(res.FPSMin, ss.FPS)
	sc.totalBytes += bytes
	res.PerSession = append(res.PerSession, ss)
}

// frames scores headset s's frames that arrived within the window,
// appending their samples to res.Frames and counting them in ss. It
// returns their arrivals from the window start (after a leading 0, the
// start counting as a frame for the freezes), their bytes and their
// pose-to-frame latencies in ms.
func (sc *scorer) frames(s *sim, ss *Session) (arrivals []time.Duration, bytes int, p2f []float64) {
	s.mu.Lock()
	frames, sizes := s.frames, s.sizes
	s.mu.Unlock()
	arrivals = []time.Duration{0}
	for i, f := range frames {
		if f.Received.Before(sc.wStart) || f.Received.After(sc.wEnd) {
			continue
		}
		ss.Frames++
		arrivals = append(arrivals, f.Received.Sub(sc.wStart))
		bytes += sizes[i]
		if f.KeyFrame {
			ss.KeyFrames++
		}
		fs, matched := sc.frame(s, f, sizes[i])
		if matched {
			p2f = append(p2f, fs.PoseToFrame)
		}
		sc.res.Frames = append(sc.res.Frames, fs)
	}
	return arrivals, bytes, p2f
}

// frame scores one frame of the window: the node's stage times from its
// FrameInfo (a frame without one counts as unmatched) and, when the
// client matched it to the pose it was rendered from, its pose-to-frame
// latency, the node's horizon and the prediction error. matched reports
// the latter.
func (sc *scorer) frame(s *sim, f *headset.Frame, size int) (fs FrameSample, matched bool) {
	fs = FrameSample{Session: s.idx, At: f.Received.Sub(sc.wStart), PoseToFrame: math.NaN(), ErrDeg: math.NaN(),
		KeyFrame: f.KeyFrame, Bytes: size}
	if f.Info == nil {
		sc.res.FramesUnmatched++
		return fs, false
	}
	tm := f.Info.GetTimings()
	fs.PoseAge, fs.Render, fs.Convert = usMS(tm.GetPoseAgeUs()), usMS(tm.GetRenderUs()), usMS(tm.GetConvertUs())
	fs.Encode, fs.Send, fs.Queue = usMS(tm.GetEncodeUs()), usMS(tm.GetSendUs()), usMS(tm.GetQueueUs())
	sc.queue = append(sc.queue, fs.Queue)
	sc.render, sc.convert = append(sc.render, fs.Render), append(sc.convert, fs.Convert)
	sc.encode, sc.send = append(sc.encode, fs.Encode), append(sc.send, fs.Send)
	d, ok := s.c.PoseToFrame(f)
	if !ok {
		return fs, false
	}
	fs.PoseToFrame = ms(d)
	sc.p2f = append(sc.p2f, fs.PoseToFrame)
	sc.age = append(sc.age, fs.PoseAge)
	sc.horizon = append(sc.horizon, usMS(f.Info.GetHorizonUs()))
	if d > sc.cfg.LateAfter {
		sc.res.FramesLate++
	}
	shown := sc.shown(s, f)
	if target := f.Info.GetTargetDisplayTimeUs(); target != 0 {
		sc.res.FramesAimed++
		if d := s.c.ClockAt(shown) - target; s.display != nil && d >= -2 && d <= 2 { // µs rounding
			sc.res.FramesOnTarget++
		}
	}
	if sampled := time.Duration(f.Info.GetPoseSampleTimeUs()) * time.Microsecond; sampled > 0 {
		sc.m2p = append(sc.m2p, ms(time.Duration(s.c.ClockAt(shown))*time.Microsecond-sampled))
	}
	sc.predictionError(s, f, shown, &fs)
	return fs, true
}

// shown returns when frame f is shown, on the headset's clock: at the
// first vsync of its display at least the display's lead after the frame
// arrived, or without a display DisplayDelay after it arrived.
func (sc *scorer) shown(s *sim, f *headset.Frame) time.Time {
	if s.display == nil {
		return f.Received.Add(sc.cfg.DisplayDelay)
	}
	rx := s.c.ClockAt(f.Received)
	return f.Received.Add(time.Duration(s.display.Shown(rx)-rx) * time.Microsecond)
}

// predictionError compares the pose frame f was rendered for with the
// trace's pose when it is shown: the angle in degrees (also set in fs)
// and, for traces with positions, the distance in cm.
func (sc *scorer) predictionError(s *sim, f *headset.Frame, shownAt time.Time, fs *FrameSample) {
	shown := shownAt.Sub(sc.t0)
	tq, tp := s.m.at(s.offset + shown)
	if rq := f.Info.GetRenderedOrientation(); rq != nil {
		q := wire.QuatFromProto(rq)
		if l := q.Len(); l > 0.5 {
			fs.ErrDeg = pose.QuatAngle(q.Scale(1/l), tq) * 180 / math.Pi
			sc.errDeg = append(sc.errDeg, fs.ErrDeg)
		}
	}
	if rp := f.Info.GetRenderedPosition(); rp != nil && s.m.HasPosition {
		sc.errCM = append(sc.errCM, wire.Vec3FromProto(rp).Sub(tp).Len()*100)
	}
}

// summarize turns the totals of n headsets into means and the samples
// into distributions.
func (sc *scorer) summarize(n int) {
	res := sc.res
	res.FPS = round3(res.FPS / float64(n))
	res.FPSMin = round3(res.FPSMin)
	res.FreezeMS = round3(res.FreezeMS)
	res.BitrateKbpsTotal = round3(kbps(int64(sc.totalBytes), sc.win.Seconds()))
	res.BitrateKbps = round3(res.BitrateKbpsTotal / float64(n))
	res.PoseToFrameMS = summarize(sc.p2f)
	res.MotionToPhotonMS = summarize(sc.m2p)
	res.StagesMS = StagesMS{PoseAge: summarize(sc.age), Queue: summarize(sc.queue), Render: summarize(sc.render), Convert: summarize(sc.convert),
		Encode: summarize(sc.encode), Send: summarize(sc.send)}
	res.HorizonMS = summarize(sc.horizon)
	res.PredictionErrorDeg = summarize(sc.errDeg)
	res.PredictionErrorCM = summarize(sc.errCM)
}
