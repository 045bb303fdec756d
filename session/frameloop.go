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

func (s *Session) newPipeline(out Output, bitRate int) (*pipeline, error) {
	r, err := s.deps.NewRenderer(out.Width, out.Height)
	if err != nil {
		return nil, fmt.Errorf("session: renderer %dx%d: %w", out.Width, out.Height, err)
	}
	e, err := s.deps.NewEncoder(encoder.Config{Width: out.Width, Height: out.Height, FPS: out.FPS, BitRate: bitRate})
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("session: encoder %dx%d: %w", out.Width, out.Height, err)
	}
	return &pipeline{out: out, r: r, e: e}, nil
}

// frameLoop renders, encodes and sends frames at the target rate once the
// peer is connected. Latency first: every frame renders the newest
// (predicted) pose, and a frame that overruns its slot makes the loop skip
// the ticks it missed instead of catching up.
func (s *Session) frameLoop() {
	defer s.wg.Done()
	select {
	case <-s.connected:
	case <-s.ctx.Done():
		return
	}
	var (
		pipe     *pipeline
		samples  []pose.Sample
		frameID  uint64
		tsBase   = rand.Uint32()
		next     = time.Now()
		lastPing time.Time
		bitRate  = s.cfg.BitRate
		bwe      BandwidthEstimator
	)
	if s.deps.Bandwidth != nil {
		bwe = s.deps.Bandwidth()
	}
	s.stats.bitRate.Store(int64(bitRate))
	defer func() {
		if pipe != nil {
			pipe.close()
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		}
		s.mu.Lock()
		out := s.output
		s.mu.Unlock()
		if pipe == nil || pipe.out.Width != out.Width || pipe.out.Height != out.Height || pipe.out.FPS != out.FPS {
			if pipe != nil {
				pipe.close()
				pipe = nil
			}
			p, err := s.newPipeline(out, bitRate)
			if err != nil {
				s.log.Error("cannot build pipeline; ending session", "err", err)
				s.notice(err.Error())
				s.cancel()
				return
			}
			pipe = p
		}
		pipe.out.Device = out.Device
		if bwe != nil {
			bitRate = s.followBandwidth(pipe, bwe, bitRate)
		}

		frameStart := time.Now()
		if frameStart.Sub(lastPing) >= time.Second {
			lastPing = frameStart
			s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_Ping{
				Ping: &holocastv1.Ping{Id: frameID, TimeUs: s.sinceStart().Microseconds()}}})
		}
		frameID++
		ts := tsBase + wire.RTPTimestamp(frameStart.Sub(s.start))
		samples = s.renderAndSend(pipe, frameID, ts, frameStart, samples[:0])

		interval := time.Second / time.Duration(max(out.FPS, 1))
		next = next.Add(interval)
		if now := time.Now(); now.After(next) {
			missed := now.Sub(next)/interval + 1
			s.stats.skippedTicks.Add(uint64(missed))
			next = next.Add(missed * interval)
		}
		timer.Reset(time.Until(next))
	}
}

// followBandwidth moves the encoder's bit rate to the congestion
// controller's target, kept within [Config.MinBitRate, Config.BitRate],
// when it differs by more than 10 %, and returns the rate in force.
func (s *Session) followBandwidth(pipe *pipeline, bwe BandwidthEstimator, cur int) int {
	target := min(max(bwe.GetTargetBitrate(), s.cfg.MinBitRate), s.cfg.BitRate)
	if target <= 0 || math.Abs(float64(target-cur)) <= 0.1*float64(cur) {
		return cur
	}
	if err := pipe.e.SetBitRate(target); err != nil {
		s.frameError("set bit rate", err)
		return cur
	}
	s.stats.bitRate.Store(int64(target))
	s.stats.bitRateChanges.Add(1)
	return target
}

// renderAndSend produces and sends one frame for the newest predicted pose.
func (s *Session) renderAndSend(pipe *pipeline, frameID uint64, ts uint32, start time.Time, samples []pose.Sample) []pose.Sample {
	samples = s.intake.Drain(samples)
	for _, smp := range samples {
		s.predictor.Observe(smp.Pose)
	}
	latest, ok := s.intake.Latest()
	var (
		target  = pose.Identity()
		horizon time.Duration
		poseAge time.Duration
	)
	if ok {
		s.latencyMu.Lock()
		horizon = s.latency.Horizon()
		s.latencyMu.Unlock()
		if s.cfg.FixedHorizon > 0 {
			horizon = s.cfg.FixedHorizon
		}
		target = s.predictor.Predict(latest.Time + horizon)
		poseAge = start.Sub(latest.Arrived)
	}
	frame, err := pipe.r.Render(pipe.out.Device.Views(target))
	if err != nil {
		s.frameError("render", err)
		return samples
	}
	// Key frames asked for by the receiver (PLI/FIR) are served at most
	// every MinKeyFrameInterval: on a congested link every lost key frame
	// would otherwise trigger the next, and the stream never recovers.
	if s.keyFrame.Load() && start.Sub(s.lastForcedKey) >= MinKeyFrameInterval {
		s.keyFrame.Store(false)
		s.lastForcedKey = start
		pipe.e.ForceKeyFrame()
	}
	encStart := time.Now()
	au, err := pipe.e.Encode(frame)
	encDur := time.Since(encStart)
	if err != nil {
		s.frameError("encode", err)
		return samples
	}
	if len(au.Data) == 0 {
		return samples
	}
	sendStart := time.Now()
	if _, err := s.pw.write(au.Data, ts); err != nil {
		s.frameError("send", err)
		return samples
	}
	sendDur := time.Since(sendStart)
	s.stats.framesSent.Add(1)
	s.stats.bytesSent.Add(uint64(len(au.Data)))
	if au.KeyFrame {
		s.stats.keyFrames.Add(1)
	}
	s.latencyMu.Lock()
	s.latency.ObserveNodeFrame(poseAge, frame.Timings.Render, frame.Timings.Convert, encDur, sendDur)
	s.latencyMu.Unlock()

	q, p := poseProto(target)
	info := &holocastv1.FrameInfo{
		RtpTimestamp: ts, FrameId: frameID,
		RenderedOrientation: q, RenderedPosition: p,
		HorizonUs: uint32(horizon.Microseconds()),
		Timings: &holocastv1.StageTimings{
			PoseAgeUs: us(poseAge), RenderUs: us(frame.Timings.Render), ConvertUs: us(frame.Timings.Convert),
			EncodeUs: us(encDur), SendUs: us(sendDur),
		},
		KeyFrame: au.KeyFrame, Width: uint32(frame.Width), Height: uint32(frame.Height),
		EncodedBytes: uint32(len(au.Data)),
	}
	if ok {
		info.PoseSeq = latest.Seq
		info.PoseSampleTimeUs = latest.Time.Microseconds()
		info.PredictedTimeUs = (latest.Time + horizon).Microseconds()
	}
	s.sendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_FrameInfo{FrameInfo: info}})
	return samples
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
