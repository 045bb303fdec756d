// Package session owns one headset's pipeline on the node: its WebRTC peer
// connection, pose intake, predictor, render target, encoder and the frame
// loop that ties them together, and its lifecycle from offer to teardown.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render"
)

// Config is one session's settings.
type Config struct {
	// ID names the session in logs and SessionInfo.
	ID string
	// Output is the initial size, frame rate and optics; the client may
	// change them with a DeviceConfig within Limits.
	Output Output
	// Limits bound what a client may ask for.
	Limits Limits
	// BitRate is the encoder's target in bits per second, and the ceiling
	// when a congestion controller steers it (Deps.Bandwidth).
	BitRate int
	// MinBitRate is the floor under the congestion controller's target.
	MinBitRate int
	// Predictor names the pose predictor (see pose.PredictorNames).
	Predictor string
	// FixedHorizon, if positive, replaces the measured motion-to-photon
	// latency as the prediction look-ahead.
	FixedHorizon time.Duration
	// ICEServers are handed to the peer connection.
	ICEServers []webrtc.ICEServer
	// ConnectTimeout ends a session whose peer has not connected in time.
	ConnectTimeout time.Duration

	// Limits on what a client may do. Each one reached is reported in a
	// Notice on the control channel, logged with the session's id and
	// counted in Stats; the ones that end the session end it cleanly
	// (Notice first) and make Err return why.

	// MaxDuration, if positive, ends the session that long after New.
	// Zero or negative means no limit.
	MaxDuration time.Duration
	// IdleTimeout, if positive, ends a session with a pose channel when no
	// pose has been accepted for that long (counted from the channel's
	// opening). A session without a pose channel (a plain WHEP viewer) is
	// never ended for idleness. Zero or negative means no limit.
	IdleTimeout time.Duration
	// PoseRate and ControlRate bound the messages the client may send on
	// the pose and control channels; the excess is dropped and counted
	// (Stats.PosesRateLimited, Stats.ControlRateLimited). The zero Rate
	// means DefaultPoseRate and DefaultControlRate.
	PoseRate, ControlRate Rate
	// MaxRejectedChannels is how many data channels other than one "pose"
	// and one "control" are closed (and counted in Stats.RejectedChannels)
	// before the session ends; 0 means DefaultMaxRejectedChannels,
	// negative none.
	MaxRejectedChannels int
	// MaxMessageSize, if positive, is the SCTP max-message-size the
	// session's API advertises (webrtc.SettingEngine.SetSCTPMaxMessageSize):
	// a larger message that arrives all the same ends the session
	// (Stats.OversizeMessages). A message larger than the SCTP receive
	// buffer never arrives whole.
	MaxMessageSize int
	// RebuildInterval is the shortest time between two pipeline rebuilds
	// (new encoder, maybe renderer) caused by DeviceConfig: a change that
	// comes sooner is applied when the interval is up, the newest config
	// winning. 0 means DefaultRebuildInterval, negative no limit.
	RebuildInterval time.Duration
	// Degrade turns on the degradation ladder (ladder.go): when the
	// congestion target gives too few bits per pixel, or (DegradeAll) the
	// node's work per frame outgrows the frame interval, the session
	// renders and encodes 0.75, then 0.5 of the requested size, then 20,
	// then 15 fps, and steps back up when there is headroom. FrameInfo
	// carries each frame's size and rung. DegradeOff (the zero value)
	// renders what the client asked for.
	Degrade Degradation
	// Scene names the scene shown first (Deps.Scenes); "" means
	// scene.Builtin. An unknown name fails New with an error wrapping
	// scene.ErrUnknownScene.
	Scene string
	// Now is the session's clock for timestamps and stage timings; nil
	// means time.Now.
	Now func() time.Time
	// NewTimer makes the frame loop's timer, which must run on the clock
	// of Now; nil means a time.Timer. (The session's other timers, its
	// limits, run on the wall clock.)
	NewTimer func(d time.Duration) Timer
}

// Deps are the node-wide parts a session uses.
type Deps struct {
	// API builds peer connections (codecs, interceptors, ICE settings).
	API *webrtc.API
	// Bandwidth, if set, returns the congestion controller's estimator for
	// this session's peer connection (nil if there is none); the frame loop
	// calls it once and steers the encoder's bit rate by it.
	Bandwidth func() BandwidthEstimator
	// Renderers makes the session's render target; its Name is reported
	// in SessionInfo.
	Renderers render.Factory
	// Scenes, if set, finds the scenes a client may select (Config.Scene,
	// SelectScene); nil offers only the built-in scene.
	Scenes SceneSource
	// Encoders makes the session's H.264 encoder; its Name is reported in
	// SessionInfo. The frame loop forces key frames and follows the
	// congestion controller through the encoder's optional
	// encoder.KeyFrameController and encoder.BitRateController, and gives
	// an encoder.TimedEncoder each frame's time.
	Encoders encoder.Factory
	// Logger receives the session's logs; nil means slog.Default().
	Logger *slog.Logger
	// OnClose, if set, is called once when the session has fully ended.
	OnClose func(*Session)
	// OnFrame, if set, is called after each frame the session sent (node
	// metrics). It runs on the session's encoder goroutine, one frame at a
	// time: it must be cheap and never block.
	OnFrame func(*Session, FrameStats)
	// OnClientReport, if set, is called with the motion-to-photon latency
	// of each ClientReport that carries one (node metrics). It runs on the
	// control channel's callback: it must be cheap and never block.
	OnClientReport func(s *Session, motionToPhoton time.Duration)
}

// BandwidthEstimator is what the frame loop needs of a congestion
// controller (pion/interceptor's cc.BandwidthEstimator satisfies it).
type BandwidthEstimator interface {
	// GetTargetBitrate returns the estimated available send rate in bps.
	GetTargetBitrate() int
}

// Session is one connected headset.
type Session struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	pc     *webrtc.PeerConnection
	sender *webrtc.RTPSender
	pw     packetWriter
	answer string

	intake    *pose.Intake
	predictor pose.Predictor
	latency   *pose.LatencyEstimator
	start     time.Time

	ctx       context.Context
	cancel    context.CancelFunc
	connected chan struct{}
	connOnce  sync.Once
	// poseReady wakes the frame loop when a new pose was accepted (one
	// pending wake-up at most: newer poses fold into it).
	poseReady chan struct{}
	done      chan struct{}
	wg        sync.WaitGroup

	control   atomic.Pointer[webrtc.DataChannel]
	display   atomic.Pointer[displayTiming] // the client's newest DisplayTiming
	keyFrame  atomic.Bool
	mu        sync.Mutex
	output    Output // guarded by mu: what the frame loop should render
	rendering Output // guarded by mu: what the frame loop renders now
	// renderingFor is the client's request (an output) that rendering
	// serves: rendering is it on the degradation ladder's rung.
	renderingFor Output // guarded by mu
	latencyMu    sync.Mutex

	// Limits.
	havePose, haveControl atomic.Bool
	poseIn, controlIn     *rate.Limiter
	lastPose              atomic.Int64 // Unix ns of the newest accepted pose (or the pose channel's opening); 0 before
	endErr                atomic.Pointer[error]
	ending                chan struct{} // closed by endWith

	stats counters
	// enc is the session's encoder goroutine, started and stopped by the
	// frame loop and used only by it.
	enc *encodeStage

	scene sceneState
}

// New creates a session from a client's SDP offer and returns once the
// answer (with all ICE candidates, as WHEP expects) is ready. ctx bounds
// only the negotiation; the session runs until Close is called, the peer
// goes away, or it does not connect within Config.ConnectTimeout.
func New(ctx context.Context, offer string, cfg Config, deps Deps) (*Session, error) {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewTimer == nil {
		cfg.NewTimer = newWallTimer
	}
	if deps.API == nil || deps.Renderers == nil || deps.Encoders.New == nil {
		return nil, errors.New("session: Deps need an API, Renderers and Encoders")
	}
	if cfg.Predictor == "" {
		cfg.Predictor = pose.DefaultPredictorName
	}
	if err := cfg.limitDefaults(); err != nil {
		return nil, err
	}
	pred, err := pose.NewPredictor(cfg.Predictor)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Session{
		cfg: cfg, deps: deps,
		log:       log.With("component", "session", "session", cfg.ID),
		intake:    pose.NewIntake(pose.WithNow(cfg.Now)),
		predictor: pred,
		latency:   pose.NewLatencyEstimator(pose.WithNow(cfg.Now)),
		start:     cfg.Now(),
		connected: make(chan struct{}),
		poseReady: make(chan struct{}, 1),
		done:      make(chan struct{}),
		ending:    make(chan struct{}),
		output:    cfg.Output,
		rendering: cfg.Output, renderingFor: cfg.Output,
	}
	if err := s.initScene(); err != nil {
		return nil, err
	}
	s.poseIn, s.controlIn = newBucket(cfg.PoseRate), newBucket(cfg.ControlRate)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.negotiate(ctx, offer); err != nil {
		s.cancel()
		if s.pc != nil {
			_ = s.pc.Close()
		}
		return nil, err
	}
	s.wg.Add(2)
	go s.readRTCP()
	go s.frameLoop()
	go s.supervise()
	return s, nil
}

func (s *Session) negotiate(ctx context.Context, offer string) error {
	pc, err := s.deps.API.NewPeerConnection(webrtc.Configuration{ICEServers: s.cfg.ICEServers})
	if err != nil {
		return fmt.Errorf("session: new peer connection: %w", err)
	}
	s.pc = pc
	track, err := webrtc.NewTrackLocalStaticRTP(wire.VideoTrackCapability(), "video", "holocast")
	if err != nil {
		return fmt.Errorf("session: new track: %w", err)
	}
	s.pw.track = track
	s.pw.seq = uint16(rand.Uint32())
	if s.sender, err = pc.AddTrack(track); err != nil {
		return fmt.Errorf("session: add track: %w", err)
	}
	pc.OnDataChannel(s.onDataChannel)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("peer connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			s.connOnce.Do(func() { close(s.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			s.cancel()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: create answer: %w", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("session: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fmt.Errorf("session: gathering ICE candidates: %w", ctx.Err())
	}
	s.answer = pc.LocalDescription().SDP
	return nil
}

// ID returns the session's identifier.
func (s *Session) ID() string { return s.cfg.ID }

// Answer returns the SDP answer for the client.
func (s *Session) Answer() string { return s.answer }

// Done is closed when the session has fully ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Close ends the session and waits until everything it started has stopped
// (Done is closed); Deps.OnClose runs right after that, so it may still be
// running when Close returns. Close is idempotent and safe to call from any
// goroutine except the session's own callbacks.
func (s *Session) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// supervise waits for the end of the session and tears it down.
func (s *Session) supervise() {
	s.watch()
	s.cancel()
	if err := s.pc.Close(); err != nil {
		s.log.Debug("closing peer connection", "err", err)
	}
	s.wg.Wait()
	st := s.Stats()
	s.log.Info("session ended", "reason", s.Err(), "frames", st.FramesSent, "skipped_ticks", st.SkippedTicks,
		"poses", st.Intake.Accepted, "bad_poses", st.Intake.Malformed+st.Intake.Invalid,
		"bitrate", st.BitRate, "bitrate_changes", st.BitRateChanges, "congestion_skips", st.CongestionSkips,
		"encoder_skips", st.EncoderSkips,
		"rejected_channels", st.RejectedChannels, "poses_rate_limited", st.PosesRateLimited,
		"control_rate_limited", st.ControlRateLimited, "rebuilds", st.PipelineRebuilds,
		"ladder_rung", st.LadderRung, "ladder_steps", st.LadderSteps)
	close(s.done)
	if s.deps.OnClose != nil {
		s.deps.OnClose(s)
	}
}

// watch runs the session's timers until it is to end: the connect
// timeout, Config.MaxDuration and Config.IdleTimeout. A limit that ends the
// session (endWith) has its Notice sent before watch returns.
func (s *Session) watch() {
	connect := time.NewTimer(s.cfg.ConnectTimeout)
	defer connect.Stop()
	connectC, connected := connect.C, s.connected
	var lifetime, idle <-chan time.Time
	if s.cfg.MaxDuration > 0 {
		t := time.NewTimer(s.cfg.MaxDuration - s.sinceStart())
		defer t.Stop()
		lifetime = t.C
	}
	var idleTimer *time.Timer
	if s.cfg.IdleTimeout > 0 {
		idleTimer = time.NewTimer(s.cfg.IdleTimeout)
		defer idleTimer.Stop()
		idle = idleTimer.C
	}
	for {
		select {
		case <-connected:
			connect.Stop()
			connectC, connected = nil, nil
		case <-connectC:
			s.log.Info("peer did not connect in time", "timeout", s.cfg.ConnectTimeout)
			return
		case <-lifetime:
			lifetime = nil
			s.endWith(fmt.Errorf("%w: the session ran for its limit of %v", ErrMaxDuration, s.cfg.MaxDuration))
		case <-idle:
			if left := s.idleLeft(); left > 0 {
				idleTimer.Reset(left)
				continue
			}
			idle = nil
			s.endWith(fmt.Errorf("%w: no pose for %v", ErrIdle, s.cfg.IdleTimeout))
		case <-s.ending:
			s.drainNotice()
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// readRTCP drains the sender's RTCP and turns PLI/FIR into key frames. It
// ends when the peer connection closes. pion's RTCP interceptors (NACK
// responder, congestion control) do their work inside these reads, and a
// read fails for a single packet that does not parse, or that the
// congestion controller rejects: such an error is counted and the loop
// goes on, or one bad packet from the peer would end NACKs and key frame
// requests for the rest of the session.
func (s *Session) readRTCP() {
	defer s.wg.Done()
	failed := 0 // consecutive failed reads
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
				return
			}
			s.stats.rtcpErrors.Add(1)
			if failed++; failed == 1 || failed%1000 == 0 {
				s.log.Warn("RTCP read failed; reading on", "err", err, "errors", s.stats.rtcpErrors.Load())
			}
			if failed > 100 {
				// Not one packet but a transport that keeps failing: do not
				// spin until the session ends.
				select {
				case <-s.ctx.Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			continue
		}
		failed = 0
		for _, p := range pkts {
			if _, ok := p.(*rtcp.TransportLayerNack); ok {
				s.stats.nacks.Add(1)
			}
			if isKeyFrameRequest(p) {
				s.stats.keyFrameRequests.Add(1)
				s.keyFrame.Store(true)
			}
		}
	}
}
