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
	// NACKsReceived counts the receiver's generic NACK packets (RTCP
	// transport-layer feedback); pion's NACK responder resends what they
	// name.
	NACKsReceived  uint64
	BadControl     uint64
	ControlDropped uint64
	// RTCPErrors counts RTCP reads that failed, e.g. on a packet that does
	// not parse; the session keeps reading.
	RTCPErrors uint64
	RTT        time.Duration
	// BitRate is the encoder's target in force (bps), following the
	// congestion controller; BitRateChanges counts its changes.
	BitRate        int
	BitRateChanges uint64
	// CongestionSkips counts frames not made because the congestion
	// controller's pacer still held more than a frame interval of packets.
	CongestionSkips uint64
	// EncoderSkips counts frames not started because the frame before
	// was still waiting for the session's encoder, busy with the one
	// before it (see the frame loop).
	EncoderSkips uint64
	Intake       pose.IntakeStats

	// Limits (see Config).

	// RejectedChannels counts data channels closed because they were not
	// the first "pose" or "control" channel.
	RejectedChannels uint64
	// OversizeMessages counts messages larger than Config.MaxMessageSize
	// (the first one ends the session).
	OversizeMessages uint64
	// PosesRateLimited and ControlRateLimited count messages dropped over
	// Config.PoseRate and Config.ControlRate.
	PosesRateLimited, ControlRateLimited uint64
	// PipelineRebuilds counts pipelines rebuilt for a new output size or
	// rate (the first pipeline is not counted).
	PipelineRebuilds uint64
	// DeviceConfigsSuperseded counts size or rate changes replaced by a
	// newer DeviceConfig before they were applied (Config.RebuildInterval).
	DeviceConfigsSuperseded uint64
}

type counters struct {
	framesSent, keyFrames, skippedTicks, frameErrors, bytesSent atomic.Uint64
	keyFrameRequests, badControl, controlDropped, rtcpErrors    atomic.Uint64
	nacks                                                       atomic.Uint64
	rttUS, bitRate                                              atomic.Int64
	bitRateChanges, congestionSkips                             atomic.Uint64
	encoderSkips                                                atomic.Uint64
	lastPoseLog                                                 atomic.Int64

	rejectedChannels, oversizeMessages        atomic.Uint64
	posesRateLimited, controlRateLimited      atomic.Uint64
	pipelineRebuilds, deviceConfigsSuperseded atomic.Uint64
	lastPoseLimit, lastControlLimit           atomic.Int64 // Unix ns of the last report (see every)
	lastSupersededNotice                      atomic.Int64
}

// logPoseError logs a rejected pose at most once a second.
func (c *counters) logPoseError(log *slog.Logger, at time.Time, err error) {
	if every(&c.lastPoseLog, at, time.Second) {
		log.Warn("rejected pose datagram", "err", err)
	}
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	c := &s.stats
	return Stats{
		FramesSent: c.framesSent.Load(), KeyFrames: c.keyFrames.Load(), SkippedTicks: c.skippedTicks.Load(),
		FrameErrors: c.frameErrors.Load(), BytesSent: c.bytesSent.Load(), KeyFrameRequests: c.keyFrameRequests.Load(),
		NACKsReceived: c.nacks.Load(),
		BadControl:    c.badControl.Load(), ControlDropped: c.controlDropped.Load(), RTCPErrors: c.rtcpErrors.Load(),
		RTT:     time.Duration(c.rttUS.Load()) * time.Microsecond,
		BitRate: int(c.bitRate.Load()), BitRateChanges: c.bitRateChanges.Load(),
		CongestionSkips:  c.congestionSkips.Load(),
		EncoderSkips:     c.encoderSkips.Load(),
		Intake:           s.intake.Stats(),
		RejectedChannels: c.rejectedChannels.Load(), OversizeMessages: c.oversizeMessages.Load(),
		PosesRateLimited: c.posesRateLimited.Load(), ControlRateLimited: c.controlRateLimited.Load(),
		PipelineRebuilds: c.pipelineRebuilds.Load(), DeviceConfigsSuperseded: c.deviceConfigsSuperseded.Load(),
	}
}

// FrameStats is one sent frame as the frame loop reports it to
// Deps.OnFrame.
type FrameStats struct {
	// HasPose says whether the frame was rendered for a client pose;
	// without one PoseAge is zero.
	HasPose bool
	// PoseAge is from the newest pose's arrival to the frame's start.
	PoseAge time.Duration
	// Queue is from the frame being due to the start of drawing (the
	// loop's wake-up and the wait for a shared render worker); Render (GL
	// draw and readback), Convert (RGBA→I420), Encode and Send (RTP
	// packetising and writing) are the stages' durations; EncodeWait is
	// the wait for the session's encoder, still busy with the frame before.
	Queue, Render, Convert, EncodeWait, Encode, Send time.Duration
	// Bytes is the size of the encoded access unit.
	Bytes int
	// KeyFrame says whether the frame is a key frame.
	KeyFrame bool
	// TargetDisplayUs is the client-clock display time (µs) the frame was
	// aimed at, as in its FrameInfo; 0 when it was not aimed.
	TargetDisplayUs int64
}
