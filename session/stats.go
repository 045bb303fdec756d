package session

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/holocast/holocast/pose"
)

// Stats is a snapshot of a session's counters.
type Stats struct {
	FramesSent       uint64
	KeyFrames        uint64
	SkippedTicks     uint64
	FrameErrors      uint64
	BytesSent        uint64
	KeyFrameRequests uint64
	BadControl       uint64
	ControlDropped   uint64
	RTT              time.Duration
	Intake           pose.IntakeStats
}

type counters struct {
	framesSent, keyFrames, skippedTicks, frameErrors, bytesSent atomic.Uint64
	keyFrameRequests, badControl, controlDropped                atomic.Uint64
	rttUS                                                       atomic.Int64
	lastPoseLog                                                 atomic.Int64
}

// logPoseError logs a rejected pose at most once a second.
func (c *counters) logPoseError(log *slog.Logger, err error) {
	now := time.Now().UnixNano()
	last := c.lastPoseLog.Load()
	if now-last < int64(time.Second) || !c.lastPoseLog.CompareAndSwap(last, now) {
		return
	}
	log.Warn("rejected pose datagram", "err", err)
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	c := &s.stats
	return Stats{
		FramesSent: c.framesSent.Load(), KeyFrames: c.keyFrames.Load(), SkippedTicks: c.skippedTicks.Load(),
		FrameErrors: c.frameErrors.Load(), BytesSent: c.bytesSent.Load(), KeyFrameRequests: c.keyFrameRequests.Load(),
		BadControl: c.badControl.Load(), ControlDropped: c.controlDropped.Load(),
		RTT:    time.Duration(c.rttUS.Load()) * time.Microsecond,
		Intake: s.intake.Stats(),
	}
}
