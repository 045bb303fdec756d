package session

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/pose"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render"
)

// MinKeyFrameInterval is the shortest time between two key frames forced by
// the receiver's requests.
const MinKeyFrameInterval = 300 * time.Millisecond

// pipeline is the render target and encoder for one output size.
type pipeline struct {
	out Output
	r   render.Renderer
	e   encoder.Encoder
}

func (p *pipeline) close() {
	if p.r != nil {
		_ = p.r.Close()
	}
	if p.e != nil {
		_ = p.e.Close()
	}
}

// sameSize reports whether the pipeline already renders out's size and rate.
func (p *pipeline) sameSize(out Output) bool { return sameFormat(p.out, out) }

// sameFormat reports whether a and b have the same size and rate (what a
// pipeline is built for).
func sameFormat(a, b Output) bool {
	return a.Width == b.Width && a.Height == b.Height && a.FPS == b.FPS
}

// newPipeline makes a renderer and an encoder for out.
func (s *Session) newPipeline(out Output, bitRate int) (*pipeline, error) {
	r, err := s.deps.Renderers.NewRenderer(out.Width, out.Height)
	if err != nil {
		return nil, fmt.Errorf("session: renderer %dx%d: %w", out.Width, out.Height, err)
	}
	e, err := s.newEncoder(out, bitRate)
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	return &pipeline{out: out, r: r, e: e}, nil
}

func (s *Session) newEncoder(out Output, bitRate int) (encoder.Encoder, error) {
	e, err := s.deps.Encoders.New(encoder.Config{Width: out.Width, Height: out.Height, FPS: out.FPS, BitRate: bitRate})
	if err != nil {
		return nil, fmt.Errorf("session: encoder %dx%d: %w", out.Width, out.Height, err)
	}
	return e, nil
}

// adapt returns a pipeline for out: pipe itself if it fits, pipe with its
// renderer resized (render.Resizer) and a new encoder, or a new pipeline.
func (s *Session) adapt(pipe *pipeline, out Output, bitRate int) (*pipeline, error) {
	if pipe != nil && pipe.sameSize(out) {
		pipe.out.Device = out.Device
		return pipe, nil
	}
	if pipe != nil {
		// The encoder goroutine finishes the frames of the old size (with
		// the old encoder) before the encoder closes.
		s.enc.wait()
		if rs, ok := pipe.r.(render.Resizer); ok && rs.SetSize(out.Width, out.Height) == nil {
			_ = pipe.e.Close()
			pipe.e = nil
			e, err := s.newEncoder(out, bitRate)
			if err != nil {
				pipe.close()
				return nil, err
			}
			pipe.e, pipe.out = e, out
			return pipe, nil
		}
		pipe.close()
	}
	return s.newPipeline(out, bitRate)
}

// frameLoop renders, encodes and sends frames once the peer is connected.
// Latency first: a frame starts when a new pose arrives and the session's
// frame slot is due, so that the pose does not wait for a free-running
// tick; the tick is the fallback when poses stop or come slower than the
// frame rate (see scheduler). Every frame renders the newest (predicted)
// pose, and a frame that overruns its slot makes the loop skip the slots
// it missed instead of catching up.
func (s *Session) frameLoop() {
	defer s.wg.Done()
	select {
	case <-s.connected:
	case <-s.ctx.Done():
		return
	}
	fs := frameState{tsBase: rand.Uint32(), bitRate: s.cfg.BitRate}
	if s.deps.Bandwidth != nil {
		fs.bwe = s.deps.Bandwidth()
	}
	if fs.bwe != nil {
		fs.bitRate = s.controlledBitRate(fs.bwe) // the encoder starts where the controller does
	}
	s.stats.bitRate.Store(int64(fs.bitRate))
	defer func() {
		if fs.pipe != nil {
			fs.pipe.close()
		}
	}()
	s.enc = s.startEncodeStage()
	defer s.enc.close() // before the pipeline closes (deferred above)
	var sc scheduler
	// target is the aimed start of the next frame, chosen once per slot
	// (zero: not aimed).
	var target displayTarget
	timer := s.cfg.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C():
		case <-s.poseReady:
		}
		s.mu.Lock()
		sc.setRate(fs.ladder.Output(s.output).FPS)
		s.mu.Unlock()
		now := s.cfg.Now()
		latest, _ := s.intake.Latest()
		if target.start.IsZero() {
			target = s.aimDisplay(&fs, &sc, now)
		}
		cause, due := sc.decide(now, latest.Seq, latest.Arrived, target.start)
		if cause == causeNone {
			timer.Reset(sc.wake(target.start).Sub(now))
			continue
		}
		sc.started(cause, due, latest.Seq)
		if cause != causeAim {
			target = displayTarget{}
		}
		if !s.startFrame(&fs, frameDue{at: due, cause: cause, display: target}) {
			return
		}
		end := s.cfg.Now()
		s.stats.skippedTicks.Add(sc.finished(end))
		fs.work, fs.encodeWork = s.enc.estimates()
		target = s.aimDisplay(&fs, &sc, end)
		timer.Reset(sc.wake(target.start).Sub(end))
	}
}

// frameDue is when and why a frame was due, and the display time it is
// aimed at (the zero target when it is not).
type frameDue struct {
	at      time.Time
	cause   startCause
	display displayTarget
}

// startFrame builds or adapts the pipeline and makes one frame; false
// means the session ends because no pipeline could be built.
func (s *Session) startFrame(fs *frameState, due frameDue) bool {
	s.mu.Lock()
	req := s.output
	s.mu.Unlock()
	want := s.degrade(fs, req) // see ladder.go
	s.mu.Lock()
	out := s.throttle(fs, want)
	s.mu.Unlock()
	pipe, err := s.adapt(fs.pipe, out, fs.bitRate)
	if err != nil {
		fs.pipe = nil
		s.log.Error("cannot build pipeline; ending session", "err", err)
		s.notice(err.Error())
		s.cancel()
		return false
	}
	fs.pipe = pipe
	s.applyScene(fs)
	s.mu.Lock()
	s.rendering = pipe.out
	if sameFormat(pipe.out, want) {
		s.renderingFor = req
	}
	s.mu.Unlock()
	s.frame(fs, due)
	return true
}

// throttle returns what the frame loop renders next, given want, what the
// client asked for last: want, unless that needs a pipeline rebuild less
// than Config.RebuildInterval after the last one; then the current
// pipeline's output, until the interval is up (by then want may have been
// replaced by a newer config: the newest wins). The first pipeline is not
// counted as a rebuild.
func (s *Session) throttle(fs *frameState, want Output) Output {
	if fs.pipe == nil || fs.pipe.sameSize(want) {
		return want
	}
	now := s.cfg.Now()
	if s.cfg.RebuildInterval > 0 && !fs.lastRebuild.IsZero() && now.Sub(fs.lastRebuild) < s.cfg.RebuildInterval {
		return fs.pipe.out
	}
	fs.lastRebuild = now
	s.stats.pipelineRebuilds.Add(1)
	return want
}

// frameState is what the frame loop carries from one frame to the next.
type frameState struct {
	pipe     *pipeline
	samples  []pose.Sample
	frameID  uint64
	tsBase   uint32
	lastPing time.Time
	bitRate  int
	bwe      BandwidthEstimator
	budget   sendBudget
	// lastForcedKey is when the last receiver-requested key frame was
	// forced.
	lastForcedKey time.Time
	// lastRebuild is when the pipeline was last rebuilt for a new output
	// size or rate (zero before the first rebuild).
	lastRebuild time.Time
	// clock maps the client's clock to the node's; work is the running
	// estimate of a frame's work (due → sent). Both serve display aiming.
	clock clientClock
	work  time.Duration
	// loopWork is the running estimate of the frame loop's own time per
	// frame (due → handed to the encoder goroutine: waiting for a render
	// worker, rendering, converting), encodeWork the encoder goroutine's
	// (encode, send; read with work); together they give the pipeline's
	// time per frame, which the degradation ladder's time rule watches
	// (see pipelineWork).
	loopWork, encodeWork time.Duration
	// scene is what applyScene last gave the renderer.
	scene sceneFrame
	// ladder is the degradation ladder's state (see ladder.go).
	ladder ladder
}

// frame makes and sends one frame: bit rate, ping, then renderAndSend.
func (s *Session) frame(fs *frameState, due frameDue) {
	if fs.bwe != nil {
		fs.bitRate = s.followBandwidth(fs.pipe, fs.bwe, fs.bitRate)
	}
	start := s.cfg.Now()
	if fs.bwe != nil && s.sendBacklogged(fs, start) {
		return
	}
	if start.Sub(fs.lastPing) >= time.Second {
		fs.lastPing = start
		s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Ping{
			Ping: &holocastv1.Ping{Id: fs.frameID, TimeUs: s.sinceStart().Microseconds()}}})
	}
	fs.frameID++
	s.renderAndSend(fs, start, due)
}

// followBandwidth moves the encoder's bit rate to the congestion
// controller's target, kept within [Config.MinBitRate, Config.BitRate],
// when it differs by more than 10 %, and returns the rate in force.
func (s *Session) followBandwidth(pipe *pipeline, bwe BandwidthEstimator, cur int) int {
	target := s.controlledBitRate(bwe)
	if target <= 0 || math.Abs(float64(target-cur)) <= 0.1*float64(cur) {
		return cur
	}
	bc, ok := pipe.e.(encoder.BitRateController)
	if !ok {
		return cur
	}
	if err := bc.SetBitRate(target); err != nil {
		s.frameError("set bit rate", err)
		return cur
	}
	s.stats.bitRate.Store(int64(target))
	s.stats.bitRateChanges.Add(1)
	return target
}

// aim is the pose a frame is rendered for.
type aim struct {
	latest  pose.Sample // newest client pose; valid if ok
	ok      bool
	target  pose.Pose // what is rendered: latest predicted to latest.Time+horizon
	horizon time.Duration
	poseAge time.Duration // from latest's arrival to the frame's start
}

// renderAndSend renders one frame for the newest predicted pose and hands
// it to the session's encoder goroutine (encodeStage), which encodes and
// sends it while the loop goes on to the next frame. A frame is not
// started while the one before still waits for the encoder: it would wait
// behind two encodes, and a waiting frame is replaced by a newer one.
func (s *Session) renderAndSend(fs *frameState, start time.Time, due frameDue) {
	if s.enc.backlogged() {
		s.stats.encoderSkips.Add(1)
		return
	}
	a := s.predict(fs, start)
	renderCall := s.cfg.Now()
	frame, err := s.render(fs.pipe, a.target, due)
	if err != nil {
		s.frameError("render", err)
		return
	}
	s.serveKeyFrameRequest(fs, start)
	ready, at := s.cfg.Now(), start.Sub(s.start)
	s.enc.hand(&encodeJob{
		frame: s.enc.buffer(frame), enc: fs.pipe.e, ready: ready,
		at: at, ts: fs.tsBase + wire.RTPTimestamp(at), a: a, due: due,
		times: stageTimes{poseAge: a.poseAge, queue: renderCall.Sub(due.at) + frame.Timings.Wait, frame: frame.Timings},
		scene: fs.scene, rates: frameBitRates(fs),
	})
	fs.loopWork = ewma(fs.loopWork, s.cfg.Now().Sub(due.at))
}

// pipelineWork is the running estimate of the session's time per frame
// as a pipeline: the slower of its two stages, the frame loop (render
// worker wait, render, convert) and the encoder goroutine (encode, send),
// which work on consecutive frames at the same time. It bounds the frame
// rate the session can keep (1/pipelineWork), where due → sent (fs.work,
// their sum) bounds its latency; 0 before both stages have a frame.
func (fs *frameState) pipelineWork() time.Duration {
	if fs.loopWork == 0 || fs.encodeWork == 0 {
		return 0
	}
	return max(fs.loopWork, fs.encodeWork)
}

// encodeAndSend encodes and sends j, on the encoder goroutine, and reports
// it: Stats, FrameInfo and Deps.OnFrame.
func (s *Session) encodeAndSend(j *encodeJob) {
	encStart := s.cfg.Now()
	t := &j.times
	t.encodeWait = encStart.Sub(j.ready)
	au, err := j.encode()
	t.encode = s.cfg.Now().Sub(encStart)
	if err != nil {
		s.frameError("encode", err)
		return
	}
	if len(au.Data) == 0 {
		return
	}
	sendStart := s.cfg.Now()
	if _, err := s.pw.write(au.Data, j.ts); err != nil {
		s.frameError("send", err)
		return
	}
	t.sent = s.cfg.Now()
	t.send = t.sent.Sub(sendStart)
	j.frameID = s.stats.framesSent.Load() + 1
	s.recordFrame(au, *t)
	s.sendFrameInfo(j, au)
	if s.deps.OnFrame != nil {
		s.deps.OnFrame(s, FrameStats{
			HasPose: j.a.ok, PoseAge: t.poseAge, Queue: t.queue, Render: t.frame.Render, Convert: t.frame.Convert,
			EncodeWait: t.encodeWait, Encode: t.encode, Send: t.send, Bytes: len(au.Data), KeyFrame: au.KeyFrame,
			TargetDisplayUs: j.due.display.displayUs,
		})
	}
}

// render draws target on the pipeline's renderer; one that shares a
// worker with other sessions (render.DeadlineRenderer) is told the
// frame's deadline, its due time plus one frame interval, so that the
// worker serves the sessions earliest deadline first.
func (s *Session) render(pipe *pipeline, target pose.Pose, due frameDue) (*render.Frame, error) {
	v := pipe.out.Device.Views(target)
	if dr, ok := pipe.r.(render.DeadlineRenderer); ok {
		return dr.RenderBy(v, due.at.Add(time.Second/time.Duration(max(pipe.out.FPS, 1))))
	}
	return pipe.r.Render(v)
}

// predict feeds the poses that arrived since the last frame to the
// predictor and aims the frame at the newest one, looked ahead by the
// motion-to-photon horizon.
func (s *Session) predict(fs *frameState, start time.Time) aim {
	fs.samples = s.intake.Drain(fs.samples[:0])
	for _, smp := range fs.samples {
		s.predictor.Observe(smp.Pose)
		fs.clock.observe(smp)
	}
	a := aim{target: pose.Identity()}
	a.latest, a.ok = s.intake.Latest()
	if !a.ok {
		return a
	}
	s.latencyMu.Lock()
	a.horizon = s.latency.Horizon()
	s.latencyMu.Unlock()
	if s.cfg.FixedHorizon > 0 {
		a.horizon = s.cfg.FixedHorizon
	}
	a.target = s.predictor.Predict(a.latest.Time + a.horizon)
	a.poseAge = start.Sub(a.latest.Arrived)
	return a
}

// serveKeyFrameRequest forces a key frame if the receiver asked for one
// (PLI/FIR), at most every MinKeyFrameInterval: on a congested link every
// lost key frame would otherwise trigger the next, and the stream never
// recovers.
func (s *Session) serveKeyFrameRequest(fs *frameState, now time.Time) {
	if !s.keyFrame.Load() || now.Sub(fs.lastForcedKey) < MinKeyFrameInterval {
		return
	}
	kc, ok := fs.pipe.e.(encoder.KeyFrameController)
	if !ok {
		return
	}
	s.keyFrame.Store(false)
	fs.lastForcedKey = now
	kc.ForceKeyFrame()
}

// stageTimes are one frame's durations on the node.
type stageTimes struct {
	poseAge time.Duration
	// queue is from the frame being due (see frameDue) to the start of
	// drawing: the loop's wake-up, prediction and the wait for a shared
	// render worker.
	queue time.Duration
	frame render.Timings
	// encodeWait is from the end of the frame's conversion to the start
	// of its encoding: the hand-over to the encoder goroutine (a copy of
	// the frame) and the wait for the encoder, busy with the frame
	// before.
	encodeWait, encode, send time.Duration
	// sent is when the frame's last packet was written.
	sent time.Time
}

// recordFrame counts a sent frame and feeds its stage times to the latency
// estimator.
func (s *Session) recordFrame(au encoder.AccessUnit, t stageTimes) {
	s.stats.framesSent.Add(1)
	s.stats.bytesSent.Add(uint64(len(au.Data)))
	if au.KeyFrame {
		s.stats.keyFrames.Add(1)
	}
	s.latencyMu.Lock()
	s.latency.ObserveNodeFrame(t.poseAge, t.frame.Render, t.frame.Convert, t.encodeWait+t.encode, t.send)
	s.latencyMu.Unlock()
}

// sendFrameInfo tells the client what j's frame, sent as au, shows.
func (s *Session) sendFrameInfo(j *encodeJob, au encoder.AccessUnit) {
	a, t, frame := j.a, j.times, j.frame
	q, p := poseProto(a.target)
	info := &holocastv1.FrameInfo{
		RtpTimestamp: j.ts, FrameId: j.frameID,
		RenderedOrientation: q, RenderedPosition: p,
		HorizonUs: uint32(a.horizon.Microseconds()),
		Timings: &holocastv1.StageTimings{
			PoseAgeUs: us(t.poseAge), RenderUs: us(t.frame.Render), ConvertUs: us(t.frame.Convert),
			EncodeUs: us(t.encode), SendUs: us(t.send), QueueUs: us(t.queue), EncodeWaitUs: us(t.encodeWait),
		},
		KeyFrame: au.KeyFrame, Width: uint32(frame.Width), Height: uint32(frame.Height),
		EncodedBytes:      uint32(len(au.Data)),
		ModelTransformSeq: j.scene.seq, Triangles: uint32(max(frame.Triangles, 0)), Scene: j.scene.name,
		TargetDisplayTimeUs: j.due.display.displayUs,
		DegradationRung:     uint32(s.stats.ladderRung.Load()), //nolint:gosec // an index in LadderRungs
	}
	info.CongestionTargetKbps, info.EncoderBitrateKbps = j.rates.congestionKbps, j.rates.encoderKbps
	if a.ok {
		info.PoseSeq = a.latest.Seq
		info.PoseSampleTimeUs = a.latest.Time.Microseconds()
		info.PredictedTimeUs = (a.latest.Time + a.horizon).Microseconds()
	}
	s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_FrameInfo{FrameInfo: info}})
}

func (s *Session) frameError(stage string, err error) {
	n := s.stats.frameErrors.Add(1)
	if n <= 3 || n%100 == 0 {
		s.log.Warn("frame failed", "stage", stage, "err", err, "errors", n)
	}
}

func us(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	return uint32(d.Microseconds())
}
