package node

import (
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
)

// guardedEstimator keeps a congestion controller's failures out of the RTCP
// read path. pion's cc interceptor hands every RTCP batch the sender reads
// to the estimator's WriteRTCP and returns its error from the read itself,
// dropping the batch: a feedback packet the estimator rejects (malformed
// transport-cc chunks from the peer, or any packet after the estimator was
// closed) then costs the NACKs and key frame requests in that batch, and
// the session's RTCP loop sees a read error. The guard counts the failure
// and lets the batch through; the estimate simply misses that feedback.
type guardedEstimator struct {
	cc.BandwidthEstimator
	failures atomic.Uint64
}

// guardEstimator wraps e.
func guardEstimator(e cc.BandwidthEstimator) *guardedEstimator {
	return &guardedEstimator{BandwidthEstimator: e}
}

// WriteRTCP passes pkts to the estimator and never fails.
func (g *guardedEstimator) WriteRTCP(pkts []rtcp.Packet, attr interceptor.Attributes) error {
	if err := g.BandwidthEstimator.WriteRTCP(pkts, attr); err != nil {
		g.failures.Add(1)
	}
	return nil
}

// Backlog is how long the packets the estimator's pacer holds take to
// leave (0 for an estimator without a pacer); the session skips frames
// while it exceeds a frame interval.
func (g *guardedEstimator) Backlog() time.Duration {
	if b, ok := g.BandwidthEstimator.(interface{ Backlog() time.Duration }); ok {
		return b.Backlog()
	}
	return 0
}

// Failures counts the feedback batches the estimator rejected.
func (g *guardedEstimator) Failures() uint64 { return g.failures.Load() }
