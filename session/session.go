// Package session owns one headset's pipeline on the node: its WebRTC peer
// connection, pose intake, predictor, render target, encoder and the frame
// loop that ties them together, and its lifecycle from offer to teardown.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

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
	// Now is the session's clock for timestamps and stage timings; nil
	// means time.Now. (Timers still run on the wall clock.)
	Now func() time.Time
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
	// Encoders makes the session's H.264 encoder; its Name is reported in
	// SessionInfo. The frame loop forces key frames and follows the
	// congestion controller through the encoder's optional
	// encoder.KeyFrameController and encoder.BitRateController.
	Encoders encoder.Factory
	// Logger receives the session's logs; nil means slog.Default().
	Logger *slog.Logger
	// OnClose, if set, is called once when the session has fully ended.
	OnClose func(*Session)
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
	done      chan struct{}
	wg        sync.WaitGroup

	control   atomic.Pointer[webrtc.DataChannel]
	keyFrame  atomic.Bool
	mu        sync.Mutex
	output    Output // guarded by mu: what the frame loop should render
	latencyMu sync.Mutex

	stats counters
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
	if deps.API == nil || deps.Renderers == nil || deps.Encoders.New == nil {
		return nil, errors.New("session: Deps need an API, Renderers and Encoders")
	}
	if cfg.Predictor == "" {
		cfg.Predictor = pose.DefaultPredictorName
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
		done:      make(chan struct{}),
		output:    cfg.Output,
	}
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
	timer := time.NewTimer(s.cfg.ConnectTimeout)
	select {
	case <-s.connected:
		timer.Stop()
	case <-timer.C:
		s.log.Info("peer did not connect in time", "timeout", s.cfg.ConnectTimeout)
		s.cancel()
	case <-s.ctx.Done():
		timer.Stop()
	}
	<-s.ctx.Done()
	if err := s.pc.Close(); err != nil {
		s.log.Debug("closing peer connection", "err", err)
	}
	s.wg.Wait()
	st := s.Stats()
	s.log.Info("session ended", "frames", st.FramesSent, "skipped_ticks", st.SkippedTicks,
		"poses", st.Intake.Accepted, "bad_poses", st.Intake.Malformed+st.Intake.Invalid,
		"bitrate", st.BitRate, "bitrate_changes", st.BitRateChanges)
	close(s.done)
	if s.deps.OnClose != nil {
		s.deps.OnClose(s)
	}
}

// readRTCP drains the sender's RTCP and turns PLI/FIR into key frames. It
// ends when the peer connection closes.
func (s *Session) readRTCP() {
	defer s.wg.Done()
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if isKeyFrameRequest(p) {
				s.stats.keyFrameRequests.Add(1)
				s.keyFrame.Store(true)
			}
		}
	}
}
