package session

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/holocast/holocast/proto/wire"
)

// Defaults of the limits a Config leaves zero. A 120 Hz headset sends 120
// poses and a few control messages (Pong, ClientReport, the odd
// DeviceConfig) a second; the rates leave it twice that and a burst for a
// stall of a few hundred milliseconds.
const (
	// DefaultMaxRejectedChannels is how many unexpected data channels a
	// session closes before it ends.
	DefaultMaxRejectedChannels = 4
	// DefaultRebuildInterval is the shortest time between two pipeline
	// rebuilds caused by DeviceConfig.
	DefaultRebuildInterval = time.Second
)

// DefaultPoseRate bounds the pose channel: 250 poses/s, bursts of 50.
var DefaultPoseRate = Rate{PerSecond: 250, Burst: 50}

// DefaultControlRate bounds the control channel: 50 messages/s, bursts of 20.
var DefaultControlRate = Rate{PerSecond: 50, Burst: 20}

// noticeDrain bounds how long a session that a limit ends waits for its
// Notice to reach the client before closing the peer connection (which
// aborts SCTP and would drop it).
const noticeDrain = time.Second

// maxLabelInNotice bounds how much of an unexpected channel's label is
// echoed in logs and Notices.
const maxLabelInNotice = 64

// Rate is a token bucket: PerSecond messages a second on average, at most
// Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// orDefault returns r, or def if r is the zero Rate, and checks it.
func (r Rate) orDefault(def Rate, what string) (Rate, error) {
	if r == (Rate{}) {
		return def, nil
	}
	if !(r.PerSecond > 0) || r.Burst < 1 {
		return r, fmt.Errorf("%w: %s rate %g/s burst %d: both must be positive", ErrBadConfig, what, r.PerSecond, r.Burst)
	}
	return r, nil
}

// newBucket returns a full token bucket for r: golang.org/x/time/rate's
// limiter, asked with the session's clock (AllowN(now, 1)).
func newBucket(r Rate) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
}

// every reports whether at least d has passed since the time stored in
// last (Unix nanoseconds; 0 is never), and if so stores now there. Of
// concurrent callers at most one wins.
func every(last *atomic.Int64, now time.Time, d time.Duration) bool {
	n, l := now.UnixNano(), last.Load()
	if l != 0 && n-l < int64(d) {
		return false
	}
	return last.CompareAndSwap(l, n)
}

// limitDefaults fills the limits cfg leaves zero and checks them.
func (cfg *Config) limitDefaults() error {
	var err error
	if cfg.PoseRate, err = cfg.PoseRate.orDefault(DefaultPoseRate, "pose"); err != nil {
		return err
	}
	if cfg.ControlRate, err = cfg.ControlRate.orDefault(DefaultControlRate, "control"); err != nil {
		return err
	}
	if cfg.MaxRejectedChannels == 0 {
		cfg.MaxRejectedChannels = DefaultMaxRejectedChannels
	}
	if cfg.RebuildInterval == 0 {
		cfg.RebuildInterval = DefaultRebuildInterval
	}
	return nil
}

// onDataChannel accepts the first "pose" and the first "control" channel
// and closes any other at once (before pion starts a reader for it).
func (s *Session) onDataChannel(dc *webrtc.DataChannel) {
	switch label := dc.Label(); {
	case label == wire.PoseLabel && s.havePose.CompareAndSwap(false, true):
		dc.OnOpen(func() { s.lastPose.CompareAndSwap(0, s.cfg.Now().UnixNano()) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if !s.oversize(label, m.Data) {
				s.onPose(m.Data)
			}
		})
	case label == wire.ControlLabel && s.haveControl.CompareAndSwap(false, true):
		dc.OnOpen(func() {
			s.control.Store(dc)
			s.sendSessionInfo()
		})
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if s.oversize(label, m.Data) {
				return
			}
			now := s.cfg.Now()
			if !s.controlIn.AllowN(now, 1) {
				n := s.stats.controlRateLimited.Add(1)
				s.rateLimited(&s.stats.lastControlLimit, now, "control", s.cfg.ControlRate, n)
				return
			}
			s.onControl(m.Data)
		})
	default:
		s.rejectChannel(dc)
	}
}

// rejectChannel closes an unexpected data channel, and ends the session
// when there have been more than Config.MaxRejectedChannels.
func (s *Session) rejectChannel(dc *webrtc.DataChannel) {
	n := s.stats.rejectedChannels.Add(1)
	if err := dc.Close(); err != nil {
		s.log.Debug("closing rejected data channel", "err", err)
	}
	label := dc.Label()
	if len(label) > maxLabelInNotice {
		label = label[:maxLabelInNotice] + "…"
	}
	if limit := max(s.cfg.MaxRejectedChannels, 0); n > uint64(limit) {
		s.endWith(fmt.Errorf("%w: %d opened, at most %d tolerated (only one %q and one %q are allowed)",
			ErrTooManyChannels, n, limit, wire.PoseLabel, wire.ControlLabel))
		return
	}
	err := fmt.Errorf("%w %q closed: only one %q and one %q are allowed (%d of %d tolerated)",
		ErrUnexpectedChannel, label, wire.PoseLabel, wire.ControlLabel, n, s.cfg.MaxRejectedChannels)
	s.log.Warn("data channel rejected", "err", err)
	s.notice(err.Error())
}

// oversize reports whether b is larger than Config.MaxMessageSize, and if
// so ends the session. pion (v4.2) does not enforce the max-message-size
// it advertises on what it receives: it reads a message of any size, as
// long as it fits in the SCTP receive buffer (a larger one never
// completes). A client that sends more than the node advertised ignores
// the contract.
func (s *Session) oversize(label string, b []byte) bool {
	if s.cfg.MaxMessageSize <= 0 || len(b) <= s.cfg.MaxMessageSize {
		return false
	}
	s.stats.oversizeMessages.Add(1)
	s.endWith(fmt.Errorf("%w: %d bytes on %q, more than the max-message-size of %d in the node's answer",
		ErrMessageTooLarge, len(b), label, s.cfg.MaxMessageSize))
	return true
}

// onPose takes one datagram from the pose channel, within Config.PoseRate.
func (s *Session) onPose(b []byte) {
	now := s.cfg.Now()
	if !s.poseIn.AllowN(now, 1) {
		n := s.stats.posesRateLimited.Add(1)
		s.rateLimited(&s.stats.lastPoseLimit, now, "pose", s.cfg.PoseRate, n)
		return
	}
	if err := s.intake.Submit(b); err != nil {
		s.stats.logPoseError(s.log, now, err)
		return
	}
	s.lastPose.Store(now.UnixNano())
	select {
	case s.poseReady <- struct{}{}:
	default:
	}
}

// rateLimited reports messages dropped over a rate limit: a log line and a
// Notice at most once a second per channel.
func (s *Session) rateLimited(last *atomic.Int64, now time.Time, channel string, r Rate, dropped uint64) {
	if !every(last, now, time.Second) {
		return
	}
	err := fmt.Errorf("%w on %q: more than %g messages/s (burst %d); %d dropped so far",
		ErrRateLimited, channel, r.PerSecond, r.Burst, dropped)
	s.log.Warn("messages dropped", "err", err)
	s.notice(err.Error())
}

// endWith ends the session because a limit was reached: it logs err,
// tells the client in a Notice and has the supervisor close the session
// once the Notice is sent. Only the first call counts; Err returns its
// err.
func (s *Session) endWith(err error) {
	if !s.endErr.CompareAndSwap(nil, &err) {
		return
	}
	s.log.Warn("ending session", "reason", err)
	s.notice(err.Error())
	close(s.ending)
}

// Err returns why the session ended (or is ending) when a limit ended it,
// wrapping ErrTooManyChannels, ErrMessageTooLarge, ErrMaxDuration or
// ErrIdle; nil otherwise (still running, closed, or the peer left).
func (s *Session) Err() error {
	if p := s.endErr.Load(); p != nil {
		return *p
	}
	return nil
}

// idleLeft returns how long until the session counts as idle: the idle
// timeout after the newest accepted pose, or after the pose channel
// opened. Without a pose channel it is the whole timeout (checked again
// then).
func (s *Session) idleLeft() time.Duration {
	last := s.lastPose.Load()
	if last == 0 {
		return s.cfg.IdleTimeout
	}
	return s.cfg.IdleTimeout - s.cfg.Now().Sub(time.Unix(0, last))
}

// drainNotice waits (at most noticeDrain) until everything queued on the
// control channel, the ending Notice last, has been acknowledged.
func (s *Session) drainNotice() {
	dc := s.control.Load()
	if dc == nil {
		return
	}
	deadline := time.NewTimer(noticeDrain)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for dc.ReadyState() == webrtc.DataChannelStateOpen && dc.BufferedAmount() > 0 {
		select {
		case <-tick.C:
		case <-deadline.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}
