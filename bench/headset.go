package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/holocast/holocast/clients/headset"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
)

// sim is one simulated headset in a run: a headset client replaying its
// trace from offset and scoring every frame it receives in the window
// into bounded accumulators (its own, and the run's acc).
//
// runOnce owns its two goroutines: sendPoses, which ends when the run's
// context is cancelled, and collect, which ends when the client is closed
// (its Frames channel closes). Both are waited for before score reads the
// fields below mu without the lock.
type sim struct {
	idx    int
	c      *headset.Client
	m      *motion
	offset time.Duration // trace time at the run's t0
	// display is the headset's simulated display, or nil (Config.DisplayRate).
	display *headset.Display
	// silentDisplay keeps the display's timing from the node
	// (Config.NoDisplayTiming).
	silentDisplay bool
	base          int64   // client clock (µs) at the run's t0
	acc           *runAcc // the run's figures; set before the goroutines start

	mu               sync.Mutex
	total            int             // frames received since t0, for the progress line
	recent           []time.Duration // arrivals from t0 within the last second, for the progress line
	posesSent        uint64
	winStart, winEnd time.Time            // the measured window; zero until measure sets them
	startSt          headset.Stats        // at the window's start
	endSt            headset.Stats        // at the window's end
	win              sessionAcc           // this headset's frames of the window
	rx               rxState              // every frame since t0, for the series
	series           thinned[SeriesPoint] // the sampler's points (series.go)
	recentP2F        []timedMS            // pose-to-frame of the window's frames within rateSpan of the newest, for the series
}

// timedMS is a figure in ms of a frame received at at.
type timedMS struct {
	at time.Time
	ms float64
}

// recentP2FP95 is the p95 pose-to-frame latency of the frames received
// within rateSpan before now, in ms; 0 without any. s.mu must be held.
func (s *sim) recentP2FP95(now time.Time) float64 {
	var v []float64
	for _, t := range s.recentP2F {
		if now.Sub(t.at) <= rateSpan {
			v = append(v, t.ms)
		}
	}
	return summarize(v).P95
}

// sessionAcc is one headset's figures of the window, accumulated as its
// frames arrive.
type sessionAcc struct {
	frames, keyFrames int
	bytes             int64
	freeze            freezeCounter
	p2f               *reservoir // pose-to-frame latencies, ms
	bins              bins       // frames per fpsBin
	rungMax           int        // highest FrameInfo.degradation_rung
}

// dialHeadset connects headset k to the node, waits for its control
// channel and, with cfg.RequestOutput, asks for the configured output
// with a DeviceConfig. The caller owns the client and must close it.
func dialHeadset(ctx context.Context, cfg *Config, e *env, k int) (*headset.Client, error) {
	opts, err := e.headsetOptions(cfg, k)
	if err != nil {
		return nil, err
	}
	c, err := headset.Dial(ctx, e.url, opts)
	if err != nil {
		return nil, fmt.Errorf("headset %d: %w", k, err)
	}
	if err := c.WaitControl(ctx); err != nil {
		_ = c.Close(context.Background())
		return nil, fmt.Errorf("headset %d: %w", k, err)
	}
	if cfg.RequestOutput {
		if err := sendDeviceConfig(c, cfg); err != nil {
			_ = c.Close(context.Background())
			return nil, fmt.Errorf("headset %d: device config: %w", k, err)
		}
	}
	return c, nil
}

// sendDeviceConfig asks the node for cfg's size and frame rate, as a
// headset announcing its display does.
func sendDeviceConfig(c *headset.Client, cfg *Config) error {
	dc := &holocastv1.DeviceConfig{Width: uint32(cfg.Width), Height: uint32(cfg.Height), MaxFps: uint32(cfg.FPS),
		RefreshRateHz: float32(cfg.Rate), DeviceName: "holocast-bench"}
	return c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: dc}})
}

// startWindow starts the measured window at wStart: the client's
// counters now, and the frames received from then on count.
func (s *sim) startWindow(wStart time.Time) {
	s.mu.Lock()
	s.startSt = s.c.Stats()
	s.winStart = wStart
	s.win = sessionAcc{freeze: newFreezeCounter(s.acc.interval), p2f: newReservoir(sessionReservoirCap)}
	s.mu.Unlock()
}

// endWindow ends the measured window at wEnd: the client's counters now;
// frames received after wEnd do not count.
func (s *sim) endWindow(wEnd time.Time) {
	s.mu.Lock()
	s.endSt = s.c.Stats()
	s.winEnd = wEnd
	s.mu.Unlock()
}

// sendPoses replays the trace from s.offset, t0 being trace time offset,
// at rate Hz (0: at the trace's own sample times), until ctx is done.
// When it falls behind it sends the newest due sample and skips the
// backlog.
func (s *sim) sendPoses(ctx context.Context, t0 time.Time, rate int) {
	var step time.Duration
	if rate > 0 {
		step = time.Second / time.Duration(rate)
	}
	var seq uint64
	e := time.Duration(0) // elapsed since t0 of the next sample
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Since(t0)
		for nx := s.nextPose(e, step); nx <= now; nx = s.nextPose(e, step) {
			e = nx
		}
		seq++
		s.sendPose(seq, e)
		e = s.nextPose(e, step)
		timer.Reset(time.Until(t0.Add(e)))
	}
}

// nextPose returns when, after the pose at e (from t0), the next one is
// due: step later, or with step 0 at the trace's next recorded sample.
func (s *sim) nextPose(e, step time.Duration) time.Duration {
	if step == 0 {
		return s.m.nextSample(s.offset+e) - s.offset
	}
	return e + step
}

// sendPose sends the trace's pose at e (from t0) as pose seq, stamped
// with the client's clock, and counts it when it went out.
func (s *sim) sendPose(seq uint64, e time.Duration) {
	q, p := s.m.at(s.offset + e)
	err := s.c.SendPose(&holocastv1.Pose{
		Seq: seq, SampleTimeUs: s.base + e.Microseconds(),
		Orientation: wire.QuatToProto(q),
		Position:    wire.Vec3ToProto(p),
	})
	if err == nil {
		s.mu.Lock()
		s.posesSent++
		s.mu.Unlock()
	}
}

// collect stores every frame until the client is closed, writing its data
// to rec first when rec is set (until a write fails). Unless report is 0
// it also does what a headset does once a second: send a ClientReport
// (see clientReporter).
func (s *sim) collect(t0 time.Time, rec io.Writer, report time.Duration, display time.Duration) {
	cr := clientReporter{c: s.c, every: report, display: display, screen: s.display}
	if s.silentDisplay {
		cr.screen = nil
	}
	for f := range s.c.Frames() {
		if rec != nil {
			if _, err := rec.Write(f.Data); err != nil {
				rec = nil
			}
		}
		s.store(f, t0)
		cr.frame(f)
	}
}

// store counts f, received since t0, for the progress line and, when
// its last packet arrived within the window, scores it; its data is
// dropped (nothing per frame is kept beyond the bounded accumulators).
func (s *sim) store(f *headset.Frame, t0 time.Time) {
	size := len(f.Data)
	f.Data = nil
	at0 := f.Received.Sub(t0)
	s.mu.Lock()
	s.total++
	i := 0
	for i < len(s.recent) && at0-s.recent[i] > time.Second {
		i++
	}
	s.recent = append(s.recent[i:], at0)
	s.rx.bytes += int64(size)
	s.rx.frames++
	s.rx.last = f.Received
	if f.Info != nil && f.Info.GetWidth() > 0 {
		s.rx.width, s.rx.height = int(f.Info.GetWidth()), int(f.Info.GetHeight())
		s.rx.targetKbps, s.rx.encoderKbps = float64(f.Info.GetCongestionTargetKbps()), float64(f.Info.GetEncoderBitrateKbps())
	}
	inWindow := !s.winStart.IsZero() && !f.Received.Before(s.winStart) && (s.winEnd.IsZero() || !f.Received.After(s.winEnd))
	var at time.Duration
	if inWindow {
		at = f.Received.Sub(s.winStart)
		w := &s.win
		w.frames++
		w.bytes += int64(size)
		if f.KeyFrame {
			w.keyFrames++
		}
		w.freeze.arrive(at)
		w.bins.add(at)
		if f.Info != nil {
			w.rungMax = max(w.rungMax, int(f.Info.GetDegradationRung()))
		}
	}
	s.mu.Unlock()
	if !inWindow {
		return
	}
	if p2f, ok := s.acc.frame(s, f, size, at); ok {
		s.mu.Lock()
		s.win.p2f.add(p2f)
		keep := 0
		for keep < len(s.recentP2F) && f.Received.Sub(s.recentP2F[keep].at) > rateSpan {
			keep++
		}
		s.recentP2F = append(s.recentP2F[keep:], timedMS{at: f.Received, ms: p2f})
		s.mu.Unlock()
	}
}

// clientReporter sends, every `every` of frame arrivals, the ClientReport
// a real headset sends: its measured motion-to-photon latency (median
// pose-to-frame since the last report + the display delay), which the
// node uses as its prediction horizon. It runs on collect's goroutine.
type clientReporter struct {
	c        *headset.Client
	every    time.Duration // 0: never report
	display  time.Duration
	screen   *headset.Display // sends its DisplayTiming with each report, and at the first frame
	recent   []float64        // pose-to-frame (ns) of the frames since the last report
	last     time.Time        // arrival of the frame the last report followed (or the first frame)
	received uint64           // frames received so far
}

// frame counts f and sends a report when one is due.
func (r *clientReporter) frame(f *headset.Frame) {
	r.received++
	if r.screen != nil && r.received == 1 {
		_ = r.c.SendDisplayTiming(*r.screen)
	}
	if r.every <= 0 {
		return
	}
	if d, ok := r.c.PoseToFrame(f); ok && d > 0 {
		r.recent = append(r.recent, float64(d))
	}
	if r.last.IsZero() {
		r.last = f.Received
	}
	if f.Received.Sub(r.last) < r.every || len(r.recent) == 0 {
		return
	}
	r.last = f.Received
	if r.screen != nil {
		_ = r.c.SendDisplayTiming(*r.screen)
	}
	p2f := time.Duration(median(r.recent))
	r.recent = r.recent[:0]
	_ = r.c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ClientReport{ClientReport: &holocastv1.ClientReport{
		MotionToPhotonUs: uint32((p2f + r.display).Microseconds()), DisplayDelayUs: uint32(r.display.Microseconds()),
		PoseToFrameUs: uint32(p2f.Microseconds()), FramesReceived: r.received, FramesDisplayed: r.received,
	}}})
}
