package bench

import "time"

// This file is the JSON document Run produces and WriteJSON writes
// (docs/bench.md, "JSON schema", documents it for readers of the file;
// testdata/run_fields.golden pins its field names).

// Schema names the JSON layout written by WriteJSON; it changes only when
// a field is removed or changes meaning.
const Schema = "holocast-bench.run/1"

// Report is everything a Run measured; it is the JSON document.
type Report struct {
	// Schema ("schema") is always the constant Schema.
	Schema string `json:"schema"`
	// Started ("started") is when the run began, UTC, to the second.
	Started time.Time `json:"started"`
	// Machine ("machine") is where the benchmark ran.
	Machine Machine `json:"machine"`
	// Config ("config") is the configuration the run used.
	Config ConfigSummary `json:"config"`
	// Interrupted ("interrupted") is set when the run was stopped (Ctrl-C)
	// before its end.
	Interrupted bool `json:"interrupted"`
	// Runs ("runs") holds one result per concurrency level measured, in
	// the order of Config.Sessions.
	Runs []*RunResult `json:"runs"`
	// NodeProcess ("node_process") is what the node's metrics endpoint
	// showed through the run (Config.MetricsURL): its resident memory,
	// goroutines and open files over time; null without one.
	NodeProcess *NodeProcess `json:"node_process"`
	// The first concurrency level's figures are repeated at the top level,
	// so that a one-level run reads as one flat object
	// (pose_to_frame_ms.p50, fps, stages_ms.render.p50, …). The top-level
	// "interrupted" stays Report.Interrupted, the whole run's.
	*RunResult
}

// Machine describes where the benchmark ran.
type Machine struct {
	OS   string `json:"os"`   // runtime.GOOS
	Arch string `json:"arch"` // runtime.GOARCH
	CPUs int    `json:"cpus"` // logical CPUs (runtime.NumCPU)
	Go   string `json:"go"`   // the Go version the benchmark was built with
}

// ConfigSummary is the configuration as recorded in the report.
type ConfigSummary struct {
	// Node ("node") is "embedded" or the node's signaling URL.
	Node string `json:"node"`
	// Sessions ("sessions") are the concurrency levels, in the order run.
	Sessions []int `json:"sessions"`
	// DurationS and WarmupS ("duration_s", "warmup_s") are the measured
	// window and the warm-up before it, in seconds.
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	// PoseRateHz ("pose_rate_hz") is the pose rate; 0 replays the traces'
	// own sample times.
	PoseRateHz int `json:"pose_rate_hz"`
	// Traces ("traces") are the trace files replayed (at most one per
	// headset).
	Traces []string `json:"traces"`
	// Width, Height, FPS and BitRate ("width", "height", "fps",
	// "bitrate", bit/s) are the output asked for (0 where a remote node's
	// own setting applies).
	Width   int `json:"width"`
	Height  int `json:"height"`
	FPS     int `json:"fps"`
	BitRate int `json:"bitrate"`
	// DisplayDelayMS ("display_delay_ms") is added to a frame's arrival to
	// get the time it is shown, for the prediction error.
	DisplayDelayMS float64 `json:"display_delay_ms"`
	// DisplayRateHz and DisplayLeadMS ("display_rate_hz",
	// "display_lead_ms") are the headsets' simulated display: 0 for none;
	// else each headset sends its DisplayTiming and a frame is shown at
	// the first vsync at least the lead after it arrived (instead of
	// arrival + display delay).
	DisplayRateHz float64 `json:"display_rate_hz"`
	DisplayLeadMS float64 `json:"display_lead_ms"`
	// DisplayTiming ("display_timing") is set when the headsets told the
	// node their display timing (a display without --no-display-timing).
	DisplayTiming bool `json:"display_timing"`
	// LateAfterMS ("late_after_ms") is the pose-to-frame latency above
	// which a frame counts as late.
	LateAfterMS float64 `json:"late_after_ms"`
	// Impair ("impair") is the virtual network's impairment, or null on
	// loopback or with a remote node.
	Impair *Impairment `json:"impair"`
	// ClientReports ("client_reports") is set when the headsets sent the
	// once-a-second ClientReport (no --no-client-report).
	ClientReports bool `json:"client_reports"`
	// Repeat ("repeat") is how many times each concurrency level ran
	// (--repeat; 1 by default).
	Repeat int `json:"repeat"`
}

// RunResult holds the figures of one concurrency level. Counts are over
// the measured window and summed over its headsets unless said otherwise.
type RunResult struct {
	// Sessions ("sessions") is the number of headsets in this level.
	Sessions int `json:"sessions"`
	// WindowS ("window_s") is the measured window's length in seconds
	// (shorter if interrupted; 0 when stopped during the warm-up).
	WindowS float64 `json:"window_s"`
	// Interrupted ("interrupted") is set when this level was cut short.
	Interrupted bool `json:"interrupted"`
	// Width, Height ("width", "height"), Encoder, Renderer and Predictor
	// ("encoder", "renderer", "predictor") come from the node's
	// SessionInfo to headset 0 (the configured size, and empty names,
	// when none came).
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Encoder   string `json:"encoder"`
	Renderer  string `json:"renderer"`
	Predictor string `json:"predictor"`

	// FPSTarget ("fps_target") is the node's frame rate from SessionInfo
	// (else the configured one, else the node's default).
	FPSTarget float64 `json:"fps_target"`
	// FPS ("fps") is frames received per second per headset, the mean
	// over the headsets; FPSMin ("fps_min") the slowest headset's.
	FPS    float64 `json:"fps"`
	FPSMin float64 `json:"fps_min"`

	// FramesReceived ("frames_received") counts the frames whose last
	// packet arrived in the window.
	FramesReceived int `json:"frames_received"`
	// FramesLost ("frames_lost") counts frames the headsets gave up on
	// because packets never came.
	FramesLost uint64 `json:"frames_lost"`
	// FramesDropped ("frames_dropped") counts frames the headsets
	// discarded while waiting for a key frame after a loss.
	FramesDropped uint64 `json:"frames_dropped"`
	// FramesLate ("frames_late") counts frames whose pose-to-frame
	// latency exceeded Config.LateAfter.
	FramesLate int `json:"frames_late"`
	// FramesUnmatched ("frames_unmatched") counts frames for which no
	// FrameInfo arrived.
	FramesUnmatched int `json:"frames_unmatched"`
	// KeyFrames ("key_frames") counts key frames received.
	KeyFrames int `json:"key_frames"`
	// DegradationRungMax ("degradation_rung_max") is the highest rung of
	// the node's degradation ladder (FrameInfo.degradation_rung: 0 the
	// requested size and rate, then 0.75 and 0.5 of the size, then 20 and
	// 15 fps) among the window's frames.
	DegradationRungMax int `json:"degradation_rung_max"`
	// PLIsSent ("plis_sent") counts the Picture Loss Indications the
	// headsets sent.
	PLIsSent uint64 `json:"plis_sent"`
	// PacketsRecovered ("packets_recovered") counts RTP packets that
	// filled a gap in time (NACK retransmissions); PacketsGivenUp
	// ("packets_given_up") the missing ones never recovered.
	PacketsRecovered uint64 `json:"packets_recovered"`
	PacketsGivenUp   uint64 `json:"packets_given_up"`

	// BitrateKbps ("bitrate_kbps") is the received H.264 kbit/s per
	// headset (mean); BitrateKbpsTotal ("bitrate_kbps_total") that of all
	// headsets together.
	BitrateKbps      float64 `json:"bitrate_kbps"`
	BitrateKbpsTotal float64 `json:"bitrate_kbps_total"`
	// FreezeCount and FreezeMS ("freeze_count", "freeze_ms") are the
	// freezes, gaps between consecutive frames longer than max(3 frame
	// intervals, 1 interval + 150 ms) with the window's start and end
	// counting as frames, and their total length in ms.
	FreezeCount int     `json:"freeze_count"`
	FreezeMS    float64 `json:"freeze_ms"`

	// PoseToFrameMS ("pose_to_frame_ms") is the distribution of the time
	// from sampling a pose to receiving the last packet of the frame
	// rendered from it, on the headset's clock, in ms.
	PoseToFrameMS Dist `json:"pose_to_frame_ms"`
	// PoseToFrameSteadyMS ("pose_to_frame_steady_ms") is the same for
	// the frames that did not arrive within 2 s after a rate step down
	// of the link (--impair rate@…), where the network targets allow the
	// stream to settle; all of PoseToFrameMS in a run without one. The
	// p95 target is scored on it.
	PoseToFrameSteadyMS Dist `json:"pose_to_frame_steady_ms"`
	// StagesMS ("stages_ms") are the node's stage times of those frames.
	StagesMS StagesMS `json:"stages_ms"`
	// MotionToPhotonMS ("motion_to_photon_ms") is the distribution of the
	// time from sampling a pose to showing the frame rendered from it, on
	// the headset's clock, in ms: pose-to-frame plus the display delay,
	// or with a simulated display up to the vsync that shows the frame.
	MotionToPhotonMS Dist `json:"motion_to_photon_ms"`
	// FramesAimed ("frames_aimed") counts the frames the node aimed at a
	// display time (FrameInfo.target_display_time_us); FramesOnTarget
	// ("frames_on_target") those of them shown at that very vsync by the
	// headset's simulated display (both 0 without --display-rate).
	FramesAimed    int `json:"frames_aimed"`
	FramesOnTarget int `json:"frames_on_target"`
	// HorizonMS ("horizon_ms") is the node's prediction look-ahead per
	// frame, in ms.
	HorizonMS Dist `json:"horizon_ms"`
	// PredictionErrorDeg ("prediction_error_deg") is the angle in degrees
	// between the orientation a frame was rendered for and the trace's
	// orientation when it is shown (arrival + display delay, or the vsync
	// that shows it).
	PredictionErrorDeg Dist `json:"prediction_error_deg"`
	// PredictionErrorCM ("prediction_error_cm") is the same for the
	// position, in cm (count 0 for orientation-only traces).
	PredictionErrorCM Dist `json:"prediction_error_cm"`
	// PerSession ("per_session") holds each headset's own figures.
	PerSession []Session `json:"per_session"`

	// Timeline is headset 0's frames of the window in arrival order, for
	// the report's per-frame charts: every frame up to 4096, else every
	// 2nd, 4th, … frame so that they span the window.
	Timeline []FrameSample `json:"-"`
	// LatencySample and ErrorSample are the pose-to-frame latencies (ms)
	// and prediction errors (degrees) of all headsets' frames, for the
	// report's CDFs: every one up to 2^18, else a uniform random sample.
	LatencySample, ErrorSample []float64 `json:"-"`
	// FPSOverTime is frames received per second per headset in each
	// 0.5 s of the window (a last part under 0.1 s left out).
	FPSOverTime []float64 `json:"-"`
	// Start is when the window began.
	Start time.Time `json:"-"`
	// ConnectedS and WindowStartS ("connected_s", "window_start_s") are
	// when every headset had connected and when the measured window
	// began, in seconds from the run's start (the time base of the
	// sessions' series and of --impair's rate@ steps).
	ConnectedS   float64 `json:"connected_s"`
	WindowStartS float64 `json:"window_start_s"`
	// Repeat ("repeat") numbers the runs of one concurrency level with
	// --repeat, from 0.
	Repeat int `json:"repeat"`
	// Verdict ("verdict") scores the run against the network targets
	// (see Verdict).
	Verdict *Verdict `json:"verdict"`
}

// StagesMS are the node's stage times from FrameInfo, in ms, of the frames
// matched to a pose.
type StagesMS struct {
	PoseAge Dist `json:"pose_age"` // pose arrived at the node → frame start
	Queue   Dist `json:"queue"`    // frame due → drawing: the frame loop's wake-up and the wait for a shared render worker
	Render  Dist `json:"render"`   // GL draw and readback
	Convert Dist `json:"convert"`  // RGBA → I420
	// EncodeWait is conversion end → encoding start: the frame waiting
	// for the session's encoder, busy with the frame before (0 from a
	// node that encodes on its frame loop).
	EncodeWait Dist `json:"encode_wait"`
	Encode     Dist `json:"encode"` // H.264 encoding
	Send       Dist `json:"send"`   // packetise and write
}

// Session is one headset's figures within a run; the fields mean what
// RunResult's of the same name mean, for this headset alone.
type Session struct {
	Index         int     `json:"index"`                // headset number in the run, from 0
	Trace         string  `json:"trace"`                // the trace file it replayed
	OffsetS       float64 `json:"offset_s"`             // where in the trace it started, s
	Frames        int     `json:"frames_received"`      // frames received in the window
	FPS           float64 `json:"fps"`                  // frames received per second
	FramesLost    uint64  `json:"frames_lost"`          // see RunResult.FramesLost
	FramesDropped uint64  `json:"frames_dropped"`       // see RunResult.FramesDropped
	KeyFrames     int     `json:"key_frames"`           // key frames received
	PLIsSent      uint64  `json:"plis_sent"`            // PLIs it sent
	BitrateKbps   float64 `json:"bitrate_kbps"`         // received H.264 kbit/s
	FreezeMS      float64 `json:"freeze_ms"`            // total freeze length, ms
	PoseToFrameMS float64 `json:"pose_to_frame_ms_p50"` // median pose-to-frame latency, ms
	PosesSent     uint64  `json:"poses_sent"`           // poses sent over the whole run, warm-up included
	// Series ("series") is the session's network figures every 250 ms
	// from the headsets connecting (warm-up included) to the window's
	// end, timed from the run's start.
	Series []SeriesPoint `json:"series"`
}

// FrameSample is one received frame (not part of the JSON; WriteReport
// charts headset 0's).
type FrameSample struct {
	Session     int
	At          time.Duration // arrival of the last packet, from the window start
	PoseToFrame float64       // ms; NaN without a matched pose
	PoseAge     float64       // ms
	Queue       float64
	Render      float64
	Convert     float64
	EncodeWait  float64
	Encode      float64
	Send        float64
	ErrDeg      float64 // NaN without a rendered pose
	KeyFrame    bool
	Bytes       int
}

// Dist summarises a distribution. Every field is always present in JSON;
// with Count 0 the others are 0. Percentiles interpolate linearly between
// closest ranks; every figure is rounded to 3 decimals.
type Dist struct {
	Count int     `json:"count"` // number of samples
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}
