// Package metrics keeps a render node's Prometheus metrics: sessions
// (active, created, refused by reason), frames, key frames, skipped ticks,
// NACKs and key frame requests received, poses accepted and rejected by
// reason, the encoders' target bit rate, the live sessions on each rung
// of the degradation ladder and the ladder's steps, histograms of the
// frame stages
// and of the clients' reported motion-to-photon latency, and the Go
// runtime's and the process's own metrics. Each Metrics has its own
// registry (never Prometheus' global one), so that a process may run
// several nodes.
//
// Counters move while sessions run, through the session's hooks
// (session.Deps.OnFrame, OnClientReport, OnClose) and the signaling
// server's (signaling.Options.OnResult), and keep what ended sessions
// counted. No metric is labelled by session.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/holocast/holocast/session"
	"github.com/holocast/holocast/signaling"
)

// Namespace prefixes every metric of this package.
const Namespace = "holocast"

// Stage names, the values of the stage label of the frame stage histogram.
const (
	StagePoseAge = "pose_age"
	StageQueue   = "queue"
	StageRender  = "render"
	StageConvert = "convert"
	StageEncode  = "encode"
	StageSend    = "send"
)

// Pose rejection reasons, the values of the reason label of the rejected
// poses counter (see pose.IntakeStats and session.Stats).
const (
	PoseMalformed   = "malformed"
	PoseInvalid     = "invalid"
	PoseStale       = "stale"
	PoseDuplicate   = "duplicate"
	PoseOverflow    = "overflow"
	PoseRateLimited = "rate_limited"
)

// StageBuckets are the frame stage histogram's buckets, in seconds: 0.25
// ms to about 0.5 s, doubling.
var StageBuckets = prometheus.ExponentialBuckets(0.00025, 2, 12)

// MotionToPhotonBuckets are the motion-to-photon histogram's buckets, in
// seconds: 5 ms to about 1.3 s, doubling.
var MotionToPhotonBuckets = prometheus.ExponentialBuckets(0.005, 2, 9)

// Metrics is one node's metrics and the registry they are kept in. Its
// methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	sessionsActive  prometheus.Gauge
	sessionsCreated prometheus.Counter
	sessionsRefused *prometheus.CounterVec
	sessionsEnded   prometheus.Counter

	framesSent, keyFrames, bytesSent prometheus.Counter
	skippedTicks, frameErrors        prometheus.Counter
	nacks, keyFrameRequests          prometheus.Counter
	posesAccepted                    prometheus.Counter
	posesRejected                    *prometheus.CounterVec
	bitRate                          prometheus.Gauge
	onRung                           []prometheus.Gauge // by rung index in session.LadderRungs
	ladderSteps                      prometheus.Counter
	stages                           *prometheus.HistogramVec
	stage                            [6]prometheus.Observer // by idxPoseAge…idxSend
	motionToPhoton                   prometheus.Histogram
	poseReason                       [6]prometheus.Counter // by the order of PoseMalformed…PoseRateLimited
}

const (
	idxPoseAge = iota
	idxQueue
	idxRender
	idxConvert
	idxEncode
	idxSend
)

// New returns metrics registered in a new registry, with the Go runtime
// collector (go_*: goroutines, heap, GC) and the process collector
// (process_*: resident memory, open file descriptors, CPU time).
func New() *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
		f(c)
		return c
	}
	m := &Metrics{reg: reg}
	m.sessionsActive = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "sessions_active",
		Help: "Sessions negotiated and not yet ended."})
	f(m.sessionsActive)
	m.sessionsCreated = counter("sessions_created_total", "Session requests answered 201 Created.")
	m.sessionsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "sessions_rejected_total",
		Help: "Session requests refused, by reason."}, []string{"reason"})
	f(m.sessionsRefused)
	for _, r := range signaling.RefusalReasons {
		m.sessionsRefused.WithLabelValues(r)
	}
	m.sessionsEnded = counter("sessions_ended_total", "Sessions that ended, for any reason.")
	m.framesSent = counter("frames_sent_total", "Video frames sent.")
	m.keyFrames = counter("key_frames_sent_total", "Key frames (IDR) sent.")
	m.bytesSent = counter("video_bytes_sent_total", "Encoded video bytes sent (H.264 access units, before RTP).")
	m.skippedTicks = counter("skipped_ticks_total", "Frame ticks skipped because a frame overran its slot.")
	m.frameErrors = counter("frame_errors_total", "Frames that failed to render, encode or send.")
	m.nacks = counter("nacks_received_total", "RTCP generic NACK packets received from clients.")
	m.keyFrameRequests = counter("key_frame_requests_total", "RTCP key frame requests (PLI and FIR) received from clients.")
	m.posesAccepted = counter("poses_accepted_total", "Pose datagrams accepted.")
	m.posesRejected = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "poses_rejected_total",
		Help: "Pose datagrams not used, by reason."}, []string{"reason"})
	f(m.posesRejected)
	for i, r := range []string{PoseMalformed, PoseInvalid, PoseStale, PoseDuplicate, PoseOverflow, PoseRateLimited} {
		m.poseReason[i] = m.posesRejected.WithLabelValues(r)
	}
	m.bitRate = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "encoder_target_bitrate_bps",
		Help: "Sum over live sessions of the encoder's target bit rate, in bits per second."})
	f(m.bitRate)
	rungs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "sessions_ladder_rung",
		Help: "Live sessions on each rung of the degradation ladder: 0 renders the client's request; " +
			"1 and 2 render 0.75 and 0.5 of its size; 3 and 4 the half size at 20 and 15 fps."}, []string{"rung"})
	f(rungs)
	for i := range session.LadderRungs {
		m.onRung = append(m.onRung, rungs.WithLabelValues(strconv.Itoa(i)))
	}
	m.ladderSteps = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "ladder_steps_total",
		Help: "Steps of the degradation ladder, down or up, summed over sessions."})
	f(m.ladderSteps)
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "frame_stage_seconds",
		Help: "Duration of each stage of a sent frame, by stage.", Buckets: StageBuckets}, []string{"stage"})
	f(m.stages)
	for i, s := range []string{StagePoseAge, StageQueue, StageRender, StageConvert, StageEncode, StageSend} {
		m.stage[i] = m.stages.WithLabelValues(s)
	}
	m.motionToPhoton = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "client_motion_to_photon_seconds",
		Help: "Motion-to-photon latency reported by clients (ClientReport).", Buckets: MotionToPhotonBuckets})
	f(m.motionToPhoton)
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry the metrics are kept in; more collectors
// may be registered in it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Result counts a session request's result (signaling.Options.OnResult):
// signaling.ResultCreated, or the reason it was refused.
func (m *Metrics) Result(result string) {
	if result == signaling.ResultCreated {
		m.sessionsCreated.Inc()
		return
	}
	m.sessionsRefused.WithLabelValues(result).Inc()
}

// NewSession returns the observer of one session, to be wired into its
// session.Deps before session.New (OnFrame, OnClientReport, OnClose);
// call Started once session.New has succeeded.
func (m *Metrics) NewSession() *SessionObserver {
	return &SessionObserver{m: m}
}

// SessionObserver feeds one session's events to its Metrics. Its methods
// fit session.Deps' hooks.
type SessionObserver struct {
	m *Metrics

	mu      sync.Mutex
	last    session.Stats // what has been counted so far
	started bool
	closed  bool
}

// Started counts the session as active, unless it has ended already.
func (o *SessionObserver) Started() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started || o.closed {
		return
	}
	o.started = true
	o.m.sessionsActive.Inc()
	o.m.rung(o.last.LadderRung).Inc()
}

// Frame observes a frame's stage times and brings the counters up to the
// session's (session.Deps.OnFrame).
func (o *SessionObserver) Frame(s *session.Session, fs session.FrameStats) {
	o.frame(fs, s.Stats())
}

func (o *SessionObserver) frame(fs session.FrameStats, st session.Stats) {
	stage := &o.m.stage
	if fs.HasPose {
		stage[idxPoseAge].Observe(fs.PoseAge.Seconds())
	}
	stage[idxQueue].Observe(fs.Queue.Seconds())
	stage[idxRender].Observe(fs.Render.Seconds())
	stage[idxConvert].Observe(fs.Convert.Seconds())
	stage[idxEncode].Observe(fs.Encode.Seconds())
	stage[idxSend].Observe(fs.Send.Seconds())
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.sync(st)
	}
}

// ClientReport observes a client's reported motion-to-photon latency
// (session.Deps.OnClientReport).
func (o *SessionObserver) ClientReport(_ *session.Session, motionToPhoton time.Duration) {
	o.m.motionToPhoton.Observe(motionToPhoton.Seconds())
}

// Closed counts the session's last counts and its end, and takes it off
// the active sessions and the bit rate sum (session.Deps.OnClose).
func (o *SessionObserver) Closed(s *session.Session) { o.closed1(s.Stats()) }

func (o *SessionObserver) closed1(st session.Stats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed = true
	st.BitRate = 0 // off the sum
	o.sync(st)
	if o.started {
		o.m.sessionsActive.Dec()
		o.m.sessionsEnded.Inc()
		o.m.rung(o.last.LadderRung).Dec()
	}
}

// sync adds to the counters what st counts beyond o.last; o.mu must be
// held.
func (o *SessionObserver) sync(st session.Stats) {
	m, l := o.m, &o.last
	add(m.framesSent, st.FramesSent, l.FramesSent)
	add(m.keyFrames, st.KeyFrames, l.KeyFrames)
	add(m.bytesSent, st.BytesSent, l.BytesSent)
	add(m.skippedTicks, st.SkippedTicks, l.SkippedTicks)
	add(m.frameErrors, st.FrameErrors, l.FrameErrors)
	add(m.nacks, st.NACKsReceived, l.NACKsReceived)
	add(m.keyFrameRequests, st.KeyFrameRequests, l.KeyFrameRequests)
	in, lin := st.Intake, l.Intake
	add(m.posesAccepted, in.Accepted, lin.Accepted)
	add(m.poseReason[0], in.Malformed, lin.Malformed)
	add(m.poseReason[1], in.Invalid, lin.Invalid)
	add(m.poseReason[2], in.Stale, lin.Stale)
	add(m.poseReason[3], in.Duplicate, lin.Duplicate)
	add(m.poseReason[4], in.Overflow, lin.Overflow)
	add(m.poseReason[5], st.PosesRateLimited, l.PosesRateLimited)
	if st.BitRate != l.BitRate {
		m.bitRate.Add(float64(st.BitRate - l.BitRate))
	}
	add(m.ladderSteps, st.LadderSteps, l.LadderSteps)
	if st.LadderRung != l.LadderRung && o.started {
		m.rung(l.LadderRung).Dec()
		m.rung(st.LadderRung).Inc()
	}
	*l = st
}

// rung is the gauge of rung r (the last one for an r out of range).
func (m *Metrics) rung(r int) prometheus.Gauge {
	return m.onRung[min(max(r, 0), len(m.onRung)-1)]
}

// add adds now-before to c if the count grew.
func add(c prometheus.Counter, now, before uint64) {
	if now > before {
		c.Add(float64(now - before))
	}
}
