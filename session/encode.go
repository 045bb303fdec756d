package session

import (
	"context"
	"sync"
	"time"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/render"
)

// encodeJob is one rendered frame handed from the frame loop to the
// session's encoder goroutine, with everything its FrameInfo and stats
// need. The job owns frame (a copy of the renderer's, which the next
// Render reuses) until the encoder goroutine is done with it.
type encodeJob struct {
	frame *render.Frame
	enc   encoder.Encoder // the pipeline's encoder when the frame was made
	// ready is the end of the frame's conversion, when the frame loop
	// began to hand it over (copy it).
	ready time.Time
	// at is the frame's time since the session began, as in its RTP
	// timestamp ts: the time an encoder.TimedEncoder budgets it by.
	at      time.Duration
	ts      uint32
	frameID uint64
	a       aim
	due     frameDue
	times   stageTimes // poseAge, queue and frame; the rest is filled in
	scene   sceneFrame
	rates   bitRates // the rates in force when the frame was made
}

// encode encodes j's frame, with its time (EncodeAt) where the encoder
// can take it, so that frames that come more slowly than the configured
// frame rate still get the bit rate's worth of bits.
func (j *encodeJob) encode() (encoder.AccessUnit, error) {
	if te, ok := j.enc.(encoder.TimedEncoder); ok {
		return te.EncodeAt(j.frame, j.at)
	}
	return j.enc.Encode(j.frame)
}

// encodeStage runs a session's encoder on its own goroutine, so that the
// frame loop renders the next frame (on a render worker shared with other
// sessions) while the last one is encoded and sent. Latency first, it
// never queues: it holds at most one frame being encoded and one waiting
// (a one-slot hand-off), and the frame loop does not start a frame while
// one still waits (Stats.EncoderSkips): a frame waits for at most the one
// encode in progress, and no render (the scarce resource on a worker
// shared by several sessions) is made only to be thrown away. Frames are
// encoded and sent in the order they were rendered.
//
// The frame loop owns the stage: it starts it, hands it frames, waits for
// it to go idle before it closes an encoder (a pipeline rebuild), and
// stops it before it closes the last pipeline. The encoder goroutine is
// the only one that encodes, writes RTP, and reports frames (FrameInfo,
// Stats, Deps.OnFrame); key frame requests and bit rate changes still go
// to the encoder from the frame loop, which encoder.Encoder allows while
// an Encode runs.
type encodeStage struct {
	s *Session

	mu      sync.Mutex
	pending *encodeJob      // the frame waiting for the encoder; nil if none
	busy    bool            // a frame is being encoded or sent
	free    []*render.Frame // frame buffers for the next jobs
	work    time.Duration   // running estimate of due → sent (see observeWork)
	busyFor time.Duration   // running estimate of the goroutine's time per frame (encode + send)
	// wake has a value when pending was set; idle one when the encoder
	// goroutine finished a frame (for wait).
	wake, idle chan struct{}
	stop       context.CancelFunc
	done       chan struct{}
}

// startEncodeStage starts the session's encoder goroutine; it runs until
// stopEncodeStage or the session's end.
func (s *Session) startEncodeStage() *encodeStage {
	ctx, cancel := context.WithCancel(s.ctx)
	e := &encodeStage{s: s, wake: make(chan struct{}, 1), idle: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go e.run(ctx)
	return e
}

// close stops the encoder goroutine and waits for it to exit: a frame
// being encoded is finished and sent (the encoder is not closed under
// it), a waiting one is dropped. Idempotent.
func (e *encodeStage) close() {
	e.stop()
	<-e.done
}

// run is the encoder goroutine.
func (e *encodeStage) run(ctx context.Context) {
	defer close(e.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		}
		for {
			e.mu.Lock()
			j := e.pending
			e.pending = nil
			e.busy = j != nil
			e.mu.Unlock()
			if j == nil || ctx.Err() != nil {
				e.finish(j, false)
				break
			}
			e.s.encodeAndSend(j)
			e.finish(j, true)
		}
	}
}

// finish recycles j's frame buffer (j may be nil), records its work if it
// was sent, and tells a waiter that the stage went idle.
func (e *encodeStage) finish(j *encodeJob, sent bool) {
	e.mu.Lock()
	if j != nil {
		e.free = append(e.free, j.frame)
		if sent && !j.times.sent.IsZero() {
			e.observeWork(j.times.sent.Sub(j.due.at))
			if w := j.times.sent.Sub(j.ready.Add(j.times.encodeWait)); w >= 0 && w <= time.Second {
				e.busyFor = ewma(e.busyFor, w)
			}
		}
	}
	e.busy = false
	e.mu.Unlock()
	select {
	case e.idle <- struct{}{}:
	default:
	}
}

// observeWork updates the running estimate of the node's work per frame,
// from the frame being due to its last packet written, which aiming at the
// client's display budgets for; e.mu is held.
func (e *encodeStage) observeWork(w time.Duration) {
	if w < 0 || w > time.Second {
		return
	}
	e.work = ewma(e.work, w)
}

// ewma is the running estimate est updated with w (w itself when est is
// 0: the first frame).
func ewma(est, w time.Duration) time.Duration {
	if est == 0 {
		return w
	}
	return est + time.Duration(workWeight*float64(w-est))
}

// estimates returns the running estimates of due → sent (work) and of
// the encoder goroutine's own time per frame, encode and send (busy);
// each is 0 before the first frame was sent.
func (e *encodeStage) estimates() (work, busy time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.work, e.busyFor
}

// backlogged reports whether a frame is still waiting for the encoder.
func (e *encodeStage) backlogged() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pending != nil
}

// buffer returns a frame buffer holding a copy of f for a job.
func (e *encodeStage) buffer(f *render.Frame) *render.Frame {
	e.mu.Lock()
	var b *render.Frame
	if n := len(e.free); n > 0 {
		b = e.free[n-1]
		e.free[n-1] = nil
		e.free = e.free[:n-1]
	}
	e.mu.Unlock()
	if b == nil {
		b = &render.Frame{}
	}
	copyFrame(b, f)
	return b
}

// copyFrame makes dst a copy of src, reusing dst's planes when they are
// large enough.
func copyFrame(dst, src *render.Frame) {
	y, u, v := dst.Y, dst.U, dst.V
	*dst = *src
	dst.Y = append(y[:0], src.Y...)
	dst.U = append(u[:0], src.U...)
	dst.V = append(v[:0], src.V...)
}

// hand gives j to the encoder goroutine. The frame loop hands a frame
// only when none is waiting (backlogged); were one still waiting, the
// newest would win.
func (e *encodeStage) hand(j *encodeJob) {
	e.mu.Lock()
	if old := e.pending; old != nil {
		e.free = append(e.free, old.frame)
	}
	e.pending = j
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// wait returns once the encoder goroutine has no frame waiting or being
// encoded (or has stopped), so that the frame loop may close the encoder.
func (e *encodeStage) wait() {
	if e == nil {
		return
	}
	for {
		e.mu.Lock()
		idle := e.pending == nil && !e.busy
		e.mu.Unlock()
		if idle {
			return
		}
		select {
		case <-e.idle:
		case <-e.done:
			return
		}
	}
}
