package session

// Tests of the session's encoder goroutine (encodeStage) on the fake
// clock of frameloop_clock_test.go, with an encoder that can be held in
// Encode: the next frame renders while one is encoded, a frame waits for
// at most one encode, frames are sent in order with the pictures they were
// rendered with, and neither a pipeline rebuild nor the session's end
// closes an encoder under a running Encode.

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render"
)

// encodeGate holds the Encode calls of the encoders it wraps while it is
// closed, and records what they encode.
type encodeGate struct {
	mu      sync.Mutex
	release chan struct{}   // nil: open; closed when the gate opens
	lumas   []byte          // the first luma byte of each frame Encode read (after the gate)
	sizes   [][2]int        // each frame's size
	ats     []time.Duration // each frame's time given to EncodeAt (-1: Encode)

	entered, left  atomic.Int64 // Encode calls begun and returned
	inEncode       atomic.Int64
	closedInEncode atomic.Bool // an encoder was closed while one of them encoded
}

// factory wraps f's encoders.
func (g *encodeGate) factory(f encoder.Factory) encoder.Factory {
	return encoder.Factory{Name: f.Name, New: func(cfg encoder.Config) (encoder.Encoder, error) {
		e, err := f.New(cfg)
		if err != nil {
			return nil, err
		}
		return &gatedEncoder{testEncoder: e.(*testEncoder), g: g}, nil
	}}
}

// close makes the next Encode calls wait until open.
func (g *encodeGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release == nil {
		g.release = make(chan struct{})
	}
}

// held reports whether the gate is closed.
func (g *encodeGate) held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.release != nil
}

// open lets the held Encode calls (and later ones) through.
func (g *encodeGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		close(g.release)
		g.release = nil
	}
}

// encoded returns the lumas and sizes of the frames given to Encode.
func (g *encodeGate) encoded() ([]byte, [][2]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]byte(nil), g.lumas...), append([][2]int(nil), g.sizes...)
}

// gatedEncoder is a testEncoder (encodertest.Fake: key frame and bit rate
// control too) behind an encodeGate.
type gatedEncoder struct {
	*testEncoder
	g *encodeGate
}

func (e *gatedEncoder) Encode(f *render.Frame) (encoder.AccessUnit, error) {
	return e.gated(f, -1, func() (encoder.AccessUnit, error) { return e.testEncoder.Encode(f) })
}

func (e *gatedEncoder) EncodeAt(f *render.Frame, at time.Duration) (encoder.AccessUnit, error) {
	return e.gated(f, at, func() (encoder.AccessUnit, error) { return e.testEncoder.EncodeAt(f, at) })
}

// gated runs encode once the gate lets it, recording f and at.
func (e *gatedEncoder) gated(f *render.Frame, at time.Duration, encode func() (encoder.AccessUnit, error)) (encoder.AccessUnit, error) {
	g := e.g
	g.inEncode.Add(1)
	defer g.inEncode.Add(-1)
	g.mu.Lock()
	wait := g.release
	g.mu.Unlock()
	g.entered.Add(1)
	if wait != nil {
		<-wait
	}
	// What the encoder reads, once it was held while the loop went on.
	g.mu.Lock()
	g.lumas = append(g.lumas, f.Y[0])
	g.sizes = append(g.sizes, [2]int{f.Width, f.Height})
	g.ats = append(g.ats, at)
	g.mu.Unlock()
	au, err := encode()
	g.left.Add(1)
	return au, err
}

func (e *gatedEncoder) Close() error {
	if e.g.inEncode.Load() > 0 {
		e.g.closedInEncode.Store(true)
	}
	return e.testEncoder.Close()
}

// TestFrameLoopEncodeOverlapsRender: while the encoder goroutine encodes
// frame 1, the frame loop renders frame 2 on the next pose; frame 2 then
// waits for the encoder (encode wait) and the slot after it is skipped
// rather than rendered to wait behind two encodes. Once the encoder is
// free both frames are sent in order, each encoded from the picture it
// was rendered with (the renderer's reused Frame was copied), and frame
// 2 reports its wait.
func TestFrameLoopEncodeOverlapsRender(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.gate.close()
	rig.poseYaw(frameInterval, 30) // frame 1: rendered, then held in Encode
	waitFor(t, "frame 1 in the encoder", func() bool { return rig.gate.entered.Load() == 2 })
	rig.poseYaw(2*frameInterval, 90) // frame 2 renders while frame 1 is encoded
	if r := rig.renders(); len(r) != 3 || r[2] != 2*frameInterval {
		t.Fatalf("frames started at %v, want the third at %v while frame 1 is encoded", r, 2*frameInterval)
	}
	if n := rig.gate.left.Load(); n != 1 {
		t.Fatalf("%d encodes finished before frame 2 rendered, want 1 (frame 1 still encoding)", n)
	}
	rig.pose(3 * frameInterval) // frame 2 still waits: this slot is skipped
	if n := len(rig.renders()); n != 3 {
		t.Fatalf("a frame started while another waited for the encoder (%d frames)", n)
	}
	if st := rig.h.s.Stats(); st.EncoderSkips != 1 || st.FramesSent != 1 {
		t.Fatalf("EncoderSkips %d, FramesSent %d; want 1 and 1", st.EncoderSkips, st.FramesSent)
	}

	wait := frameInterval + 5*time.Millisecond
	rig.clk.set(rig.t0.Add(2*frameInterval + wait))
	rig.gate.open()
	rig.waitSent(3)
	st := rig.stats()
	if st[1].EncodeWait != 0 || st[2].EncodeWait != wait {
		t.Errorf("encode waits %v and %v, want 0 and %v", st[1].EncodeWait, st[2].EncodeWait, wait)
	}
	if !st[1].HasPose || !st[2].HasPose || st[1].PoseAge != 0 || st[2].PoseAge != 0 {
		t.Errorf("frames 1 and 2: %+v, %+v; want each on its own pose", st[1], st[2])
	}
	rig.r.mu.Lock()
	rendered := append([]byte(nil), rig.r.lumas...)
	rig.r.mu.Unlock()
	encoded, _ := rig.gate.encoded()
	if len(encoded) != 3 || string(encoded) != string(rendered) {
		t.Fatalf("encoded pictures (first luma) %v, rendered %v: want the same, in order", encoded, rendered)
	}
	if rendered[1] == rendered[2] {
		t.Fatalf("frames 1 and 2 rendered alike (%v): the test cannot tell them apart", rendered)
	}
}

// TestFrameLoopRebuildWaitsForEncoder: a size change while a frame is
// being encoded closes that encoder only after its Encode returned; the
// old frame goes out at the old size with the old encoder, the next one
// at the new size with a new encoder.
func TestFrameLoopRebuildWaitsForEncoder(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.gate.close()
	rig.pose(frameInterval)
	waitFor(t, "frame 1 in the encoder", func() bool { return rig.gate.entered.Load() == 2 })
	dc := &holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: &holocastv1.DeviceConfig{Width: 320, Height: 160}}}
	rig.h.s.onControl(marshal(t, dc))
	// The next frame's rebuild waits for the encoder: open the gate once
	// the loop is waiting in it (no new frame rendered before).
	done := make(chan struct{})
	go func() {
		defer close(done)
		rig.pose(2 * frameInterval)
	}()
	if rig.h.encoders.all()[0].closed.Load() {
		t.Fatal("the encoder was closed while it encoded")
	}
	rig.gate.open()
	<-done
	rig.waitSent(3)
	if rig.gate.closedInEncode.Load() {
		t.Fatal("an encoder was closed during its Encode")
	}
	_, sizes := rig.gate.encoded()
	if len(sizes) != 3 || sizes[1] != [2]int{256, 128} || sizes[2] != [2]int{320, 160} {
		t.Fatalf("encoded sizes %v, want 256x128 twice, then 320x160", sizes)
	}
	all := rig.h.encoders.all()
	if len(all) != 2 || !all[0].closed.Load() || all[1].closed.Load() {
		t.Fatalf("%d encoders, want the first closed and the second open", len(all))
	}
}

// TestFrameLoopEndsWhileEncoding: a session closed while its encoder
// goroutine encodes ends once that Encode returns: the encoder is closed
// after it, not under it, and no goroutine is left (checkGoroutines).
func TestFrameLoopEndsWhileEncoding(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.gate.close()
	rig.pose(frameInterval)
	waitFor(t, "frame 1 in the encoder", func() bool { return rig.gate.entered.Load() == 2 })
	closed := make(chan struct{})
	go func() {
		_ = rig.h.s.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while the encoder goroutine was in Encode")
	case <-time.After(50 * time.Millisecond):
	}
	if rig.h.encoders.open() != 1 {
		t.Fatal("the encoder was closed while it encoded")
	}
	rig.gate.open()
	waitClosed(t, waitLong, "Close", closed)
	if rig.gate.closedInEncode.Load() {
		t.Fatal("the encoder was closed during its Encode")
	}
	if n := rig.h.encoders.open(); n != 0 {
		t.Fatalf("%d encoders open after the session ended", n)
	}
}

// BenchmarkCopyFrame is the cost of handing a 1280x720 frame to the
// encoder goroutine: the copy out of the renderer's reused Frame.
func BenchmarkCopyFrame(b *testing.B) {
	src, err := render.NewFrame(1280, 720)
	if err != nil {
		b.Fatal(err)
	}
	dst := &render.Frame{}
	b.SetBytes(int64(len(src.Y) + len(src.U) + len(src.V)))
	for b.Loop() {
		copyFrame(dst, src)
	}
}

// TestFrameLoopEncodeAtFrameTimes: the encoder goroutine gives an encoder
// that takes frame times (encoder.TimedEncoder) each frame's start since
// the session began, the time its RTP timestamp is made from, so that the
// encoder budgets bits by the real time between frames: a frame after
// skipped slots is given their time.
func TestFrameLoopEncodeAtFrameTimes(t *testing.T) {
	checkGoroutines(t)
	rig := startClockRig(t)

	rig.pose(frameInterval + 3*time.Millisecond)
	rig.pose(2*frameInterval + time.Millisecond)
	rig.pose(5 * frameInterval) // slots 3 and 4 had no pose
	r := rig.renders()
	rig.waitSent(len(r))
	rig.gate.mu.Lock()
	ats := append([]time.Duration(nil), rig.gate.ats...)
	rig.gate.mu.Unlock()
	if len(ats) != len(r) {
		t.Fatalf("%d frames encoded, %d rendered", len(ats), len(r))
	}
	first := rig.t0.Sub(rig.h.s.start)
	for i, at := range ats {
		if at < 0 {
			t.Fatalf("frame %d encoded with Encode, want EncodeAt (the fake is a TimedEncoder)", i)
		}
		if want := first + r[i]; at != want {
			t.Errorf("frame %d: EncodeAt at %v, want its start %v since the session began (frames at %v from the first)", i, at, want, r)
		}
	}
	if st := rig.h.encoders.last().Stats(); st.Timed != len(ats) || st.LastAt != ats[len(ats)-1] {
		t.Errorf("fake encoder stats %+v, want %d frames timed, the last at %v", st, len(ats), ats[len(ats)-1])
	}
}

// plainEncoder is an encoder without EncodeAt.
type plainEncoder struct{ f *encodertest.Fake }

func (e plainEncoder) Encode(f *render.Frame) (encoder.AccessUnit, error) { return e.f.Encode(f) }
func (e plainEncoder) Close() error                                       { return e.f.Close() }

// TestEncodeJobTimed: a job is encoded with EncodeAt and its time where
// the encoder has it, with Encode where it does not.
func TestEncodeJobTimed(t *testing.T) {
	cfg := encoder.Config{Width: 64, Height: 32, FPS: 30, BitRate: 100_000}
	for _, timed := range []bool{true, false} {
		f, err := encodertest.NewFake(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var enc encoder.Encoder = f
		if !timed {
			enc = plainEncoder{f}
		}
		j := &encodeJob{frame: encodertest.NewFrame(64, 32), enc: enc, at: 1234 * time.Millisecond}
		au, err := j.encode()
		if err != nil || !au.KeyFrame {
			t.Fatalf("timed %v: encode: %v, key frame %v", timed, err, au.KeyFrame)
		}
		st := f.Stats()
		wantTimed, wantAt := 0, time.Duration(0)
		if timed {
			wantTimed, wantAt = 1, j.at
		}
		if st.Frames != 1 || st.Timed != wantTimed || st.LastAt != wantAt {
			t.Errorf("timed %v: stats %+v, want 1 frame, %d timed at %v", timed, st, wantTimed, wantAt)
		}
	}
}
