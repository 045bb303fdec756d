package session

import (
	"time"
)

// SendBacklog is implemented by congestion controllers that pace what
// the session sends (package congestion's Estimator, through the node).
type SendBacklog interface {
	// Backlog is how long the packets still waiting to be sent take to
	// leave at the pacing rate.
	Backlog() time.Duration
}

// sendBudgetDepth is how much unused send budget the frame loop may save
// up, in time at the congestion controller's target.
const sendBudgetDepth = 250 * time.Millisecond

// sendBudget holds the frame loop to the congestion controller's target
// whatever the encoder makes of its bit rate: a token bucket of bytes,
// filled at the target and drained by what the session sent (its
// bytesSent counter). Encoders miss their target, at low rates and after
// a rate step above all (x264's rate control takes frames to follow, and
// a key frame can be worth a second of a narrow link), and every byte
// over the target waits in the bottleneck's queue.
type sendBudget struct {
	tokens float64 // bytes; negative: spent ahead
	at     time.Time
	sent   uint64 // bytesSent when last counted
	init   bool
}

// sendBacklogged reports whether the frame loop should skip this frame
// at now: when the pacer still holds more than a frame interval of
// packets, or when the session has sent more than the controller's
// target allows. A frame made now would only wait behind what was sent
// (latency first: skip a frame rather than queue it); a skipped frame is
// never encoded, so the stream stays decodable. It counts the skip.
func (s *Session) sendBacklogged(fs *frameState, now time.Time) bool {
	if fs.pipe == nil {
		return false
	}
	target := float64(s.controlledBitRate(fs.bwe)) / 8
	g := &fs.budget
	sent := s.stats.bytesSent.Load()
	if !g.init {
		*g = sendBudget{tokens: target * sendBudgetDepth.Seconds(), at: now, sent: sent, init: true}
	}
	if now.After(g.at) {
		g.tokens += target * now.Sub(g.at).Seconds()
	}
	g.tokens = min(g.tokens-float64(sent-g.sent), target*sendBudgetDepth.Seconds())
	g.at, g.sent = now, sent
	interval := time.Second / time.Duration(max(fs.pipe.out.FPS, 1))
	b, paced := fs.bwe.(SendBacklog)
	if g.tokens >= 0 && (!paced || b.Backlog() <= interval) {
		return false
	}
	s.stats.congestionSkips.Add(1)
	return true
}

// controlledBitRate is the congestion controller's target kept within
// [Config.MinBitRate, Config.BitRate].
func (s *Session) controlledBitRate(bwe BandwidthEstimator) int {
	return min(max(bwe.GetTargetBitrate(), s.cfg.MinBitRate), s.cfg.BitRate)
}

// bitRates are the congestion controller's target and the encoder's bit
// rate in force when a frame was made (kbit/s), which its FrameInfo tells
// the client, so that a client (the bench's series against a remote node)
// can chart them against what it receives.
type bitRates struct {
	congestionKbps, encoderKbps uint32
}

// frameBitRates reads the rates in force from the frame loop's state (the
// encoder goroutine that sends the FrameInfo must not read fs).
func frameBitRates(fs *frameState) bitRates {
	var r bitRates
	if fs.bwe != nil {
		r.congestionKbps = uint32(max(fs.bwe.GetTargetBitrate(), 0) / 1000) //nolint:gosec // a bit rate
	}
	r.encoderKbps = uint32(max(fs.bitRate, 0) / 1000) //nolint:gosec // a bit rate
	return r
}
