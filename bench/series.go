package bench

import (
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/cc"

	"github.com/holocast/holocast/node"
)

// This file samples each session's network figures over time, from the
// headsets connecting through the warm-up to the window's end: what the headset
// received, the link's cap and drops (--impair rate=…) and, with the
// embedded node, its congestion controller's target and the encoder's.

// seriesInterval is the time between two points of a session's series.
const seriesInterval = 250 * time.Millisecond

// rateSpan is the span a series point's delivered and offered rates and
// loss are measured over; fpsSpan that of its frame rate.
const (
	rateSpan = 500 * time.Millisecond
	fpsSpan  = time.Second
)

// SeriesPoint is one session's state at one time of a run.
type SeriesPoint struct {
	// TS ("t_s") is the time from the run's start (when its headsets
	// began to connect; rate@ steps count from it), in seconds.
	TS float64 `json:"t_s"`
	// DeliveredKbps ("delivered_kbps") is the H.264 bytes of the frames
	// that arrived in the last 500 ms, in kbit/s.
	DeliveredKbps float64 `json:"delivered_kbps"`
	// OfferedKbps ("offered_kbps") is what the node sent into the
	// headset's bottleneck in the last 500 ms (UDP payload: SRTP), in
	// kbit/s; 0 without a rate cap.
	OfferedKbps float64 `json:"offered_kbps"`
	// CapKbps ("cap_kbps") is the bottleneck's rate in force; 0 without
	// a rate cap.
	CapKbps float64 `json:"cap_kbps"`
	// TargetKbps ("target_kbps") is the node's congestion controller's
	// target (its estimate of the link), and EncoderKbps
	// ("encoder_kbps") the encoder's target: the estimate kept within
	// the node's floor and --bitrate, as the session sets it. The
	// embedded node's are read from it; a node given by --url tells them
	// in each FrameInfo (the newest frame's; 0 from a node that does not).
	TargetKbps  float64 `json:"target_kbps"`
	EncoderKbps float64 `json:"encoder_kbps"`
	// LossPct ("loss_pct") is the share of the packets that reached the
	// bottleneck in the last 500 ms and were dropped (its queue full);
	// without a rate cap, the node's controller's smoothed loss from
	// transport-wide feedback (random loss of --impair loss=…); 0 for a
	// node given by --url without a cap.
	LossPct float64 `json:"loss_pct"`
	// FPS ("fps") is the frames received in the last second.
	FPS float64 `json:"fps"`
	// FramesLost ("frames_lost") counts the frames the headset gave up
	// on since the run's start.
	FramesLost uint64 `json:"frames_lost"`
	// FrozenMS ("frozen_ms") is the time since the last frame when it
	// is longer than the freeze limit (a freeze in progress), else 0.
	FrozenMS float64 `json:"frozen_ms"`
	// PoseToFrameP95MS ("pose_to_frame_p95_ms") is the p95 pose-to-frame
	// latency of the frames of the measured window received in the last
	// 500 ms; 0 without any.
	PoseToFrameP95MS float64 `json:"pose_to_frame_p95_ms"`
	// Width and Height ("width", "height") are the size of the newest
	// frame, from its FrameInfo (0 before any).
	Width  int `json:"width"`
	Height int `json:"height"`
}

// seriesCap is the most points a session's series keeps: every point
// for 34 minutes, then every 2nd, 4th, … so that it spans the run (as
// the report's per-frame timeline does).
const seriesCap = 8192

// histKeep is how many raw samples the sampler keeps per session: enough
// for the longest span (fpsSpan) and a margin.
const histKeep = int(fpsSpan/seriesInterval) + 3

// rxState is what a headset received since the run's start, for its
// series.
type rxState struct {
	bytes         int64
	frames        int
	last          time.Time // arrival of the newest frame
	width, height int
	// targetKbps and encoderKbps are the node's rates in the newest
	// frame's FrameInfo.
	targetKbps, encoderKbps float64
}

// seriesSample is one tick's raw counters of a session.
type seriesSample struct {
	at     time.Time
	rx     rxState
	link   linkCounts
	hasCap bool
}

// estimators collects the embedded node's congestion controllers as its
// sessions make them, for the series (matched to headsets by SSRC).
type estimators struct {
	mu   sync.Mutex
	list []cc.BandwidthEstimator
}

// add takes a new session's controller.
func (e *estimators) add(b cc.BandwidthEstimator) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, b)
}

// find returns the newest controller that paces stream ssrc, or nil.
func (e *estimators) find(ssrc uint32) cc.BandwidthEstimator {
	if e == nil || ssrc == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.list) - 1; i >= 0; i-- {
		ss, _ := e.list[i].GetStats()["ssrcs"].([]uint32)
		for _, s := range ss {
			if s == ssrc {
				return e.list[i]
			}
		}
	}
	return nil
}

// sampler records every session's series every seriesInterval from
// when it starts (the headsets connected) until stop, timed from the
// run's start; runOnce owns its goroutine.
type sampler struct {
	cfg      *Config
	env      *env
	sims     []*sim
	start    time.Time     // the run's start: rate steps count from it
	interval time.Duration // the nominal frame interval, for freezes
	limit    time.Duration // the freeze limit
	hist     [][]seriesSample
	lastAt   time.Time // the last sample's time
	bwe      []cc.BandwidthEstimator
	stop     chan struct{}
	done     chan struct{}
}

// startSampler starts sampling sims.
func startSampler(cfg *Config, e *env, sims []*sim, start time.Time, interval time.Duration) *sampler {
	fc := newFreezeCounter(interval)
	sp := &sampler{cfg: cfg, env: e, sims: sims, start: start, interval: interval, limit: fc.limit,
		hist: make([][]seriesSample, len(sims)), bwe: make([]cc.BandwidthEstimator, len(sims)),
		stop: make(chan struct{}), done: make(chan struct{})}
	go sp.run()
	return sp
}

// finish stops sampling (after one last sample) and waits for the
// goroutine to end.
func (sp *sampler) finish() {
	close(sp.stop)
	<-sp.done
}

func (sp *sampler) run() {
	defer close(sp.done)
	tick := time.NewTicker(seriesInterval)
	defer tick.Stop()
	for {
		select {
		case <-sp.stop:
			sp.sample(time.Now())
			return
		case now := <-tick.C:
			sp.sample(now)
		}
	}
}

// sample takes every session's point at now (none within 10 ms of the
// last: the last tick and the final sample may coincide).
func (sp *sampler) sample(now time.Time) {
	if now.Sub(sp.lastAt) < 10*time.Millisecond {
		return
	}
	sp.lastAt = now
	for k, s := range sp.sims {
		s.mu.Lock()
		rx := s.rx
		p2f := s.recentP2FP95(now)
		s.mu.Unlock()
		cur := seriesSample{at: now, rx: rx}
		link := sp.env.nw.link(k)
		if link != nil {
			cur.link, cur.hasCap = link.counts(), true
		}
		h := append(sp.hist[k], cur)
		if len(h) > histKeep {
			h = append(h[:0], h[len(h)-histKeep:]...)
		}
		sp.hist[k] = h
		p := SeriesPoint{TS: round3(now.Sub(sp.start).Seconds()), Width: rx.width, Height: rx.height,
			TargetKbps: rx.targetKbps, EncoderKbps: rx.encoderKbps, PoseToFrameP95MS: p2f}
		if s.c != nil {
			p.FramesLost = s.c.Stats().FramesLost
		}
		if back := h[past(h, now, rateSpan)]; now.After(back.at) {
			secs := now.Sub(back.at).Seconds()
			p.DeliveredKbps = round3(kbps(rx.bytes-back.rx.bytes, secs))
			if cur.hasCap {
				p.OfferedKbps = round3(kbps(int64(cur.link.OfferedBytes-back.link.OfferedBytes), secs)) //nolint:gosec // byte counts
				if n := cur.link.Offered - back.link.Offered; n > 0 {
					p.LossPct = round3(100 * float64(cur.link.Dropped-back.link.Dropped) / float64(n))
				}
			}
		}
		if back := h[past(h, now, fpsSpan)]; now.After(back.at) {
			p.FPS = round3(float64(rx.frames-back.rx.frames) / now.Sub(back.at).Seconds())
		}
		if cur.hasCap {
			p.CapKbps = float64(link.rateAt(now.Sub(sp.start))) / 1000
		}
		last := rx.last
		if last.IsZero() {
			last = sp.start
		}
		if gap := now.Sub(last); gap > sp.limit {
			p.FrozenMS = round3(ms(gap))
		}
		sp.nodeFigures(k, s, cur.hasCap, &p)
		s.mu.Lock()
		s.series.add(p, seriesCap)
		s.mu.Unlock()
	}
}

// nodeFigures fills in the embedded node's view of session k: its
// controller's target, the encoder's target (both read from the node as
// they are now, rather than from the newest frame's FrameInfo) and,
// without a rate cap, the controller's loss.
func (sp *sampler) nodeFigures(k int, s *sim, hasCap bool, p *SeriesPoint) {
	if sp.env.ests == nil || s.c == nil {
		return
	}
	if sp.bwe[k] == nil {
		sp.bwe[k] = sp.env.ests.find(headsetSSRC(s))
		if sp.bwe[k] == nil {
			return
		}
	}
	target := sp.bwe[k].GetTargetBitrate()
	p.TargetKbps = float64(target) / 1000
	p.EncoderKbps = float64(min(max(target, min(node.MinBitRate, sp.cfg.BitRate)), sp.cfg.BitRate)) / 1000
	if !hasCap {
		if loss, ok := sp.bwe[k].GetStats()["loss"].(float64); ok {
			p.LossPct = round3(100 * loss)
		}
	}
}

// past returns the index of the newest sample of h at least d before
// now, else the oldest.
func past(h []seriesSample, now time.Time, d time.Duration) int {
	for i := len(h) - 1; i >= 0; i-- {
		if now.Sub(h[i].at) >= d-seriesInterval/4 {
			return i
		}
	}
	return 0
}

// headsetSSRC is the SSRC of the video headset s receives, or 0 before
// its track arrived.
func headsetSSRC(s *sim) uint32 {
	pc := s.c.PeerConnection()
	if pc == nil {
		return 0
	}
	for _, r := range pc.GetReceivers() {
		if t := r.Track(); t != nil && t.Kind().String() == "video" {
			return uint32(t.SSRC())
		}
	}
	return 0
}
