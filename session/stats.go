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
	// RTCPErrors counts RTCP reads that failed, e.g. on a packet that does
	// not parse; the session keeps reading.
	RTCPErrors uint64
	RTT        time.Duration
	// BitRate is the encoder's target in force (bps), following the
	// congestion controller; BitRateChanges counts its changes.
	BitRate        int
	BitRateChanges uint64
	Intake         pose.IntakeStats
}

type counters struct {
	framesSent, keyFrames, skippedTicks, frameErrors, bytesSent atomic.Uint64
	keyFrameRequests, badControl, controlDropped, rtcpErrors    atomic.Uint64
	rttUS, bitRate                                              atomic.Int64
	bitRateChanges                                              atomic.Uint64
	lastPoseLog                                                 atomic.Int64
}

// logPoseError logs a rejected pose at most once a second.
func (c *counters) logPoseError(log *slog.Logger, at time.Time, err error) {
	now := at.UnixNano()
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
		BadControl: c.badControl.Load(), ControlDropped: c.controlDropped.Load(), RTCPErrors: c.rtcpErrors.Load(),
		RTT:     time.Duration(c.rttUS.Load()) * time.Microsecond,
		BitRate: int(c.bitRate.Load()), BitRateChanges: c.bitRateChanges.Load(),
		Intake: s.intake.Stats(),
	}
}
