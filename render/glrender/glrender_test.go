//go:build egl && cgo

package glrender

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/mathgl/mgl64"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/render"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newWorker starts a Worker or skips the test if EGL itself cannot be
// initialised on this machine.
func newWorker(tb testing.TB) *Worker {
	tb.Helper()
	w, err := NewWorker(context.Background())
	skipWithoutEGL(tb, err)
	tb.Cleanup(func() { w.Close() })
	return w
}

// skipWithoutEGL skips the test if err says this machine has no EGL
// (ErrNoEGL, ErrNoGL) and fails it on any other NewWorker error: a
// shader that does not compile must fail the tests, not skip them.
func skipWithoutEGL(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNoEGL) || errors.Is(err, ErrNoGL):
		tb.Skipf("EGL initialisation failed: %v", err)
	default:
		tb.Fatalf("NewWorker: %v", err)
	}
}

func yawPose(deg float64) pose.Pose {
	return pose.Pose{Orientation: mgl64.QuatRotate(deg*math.Pi/180, mgl64.Vec3{0, 1, 0})}
}

func views(width, height int, p pose.Pose) render.StereoViews {
	return render.DefaultDevice(width/2, height).Views(p)
}

func newRenderer(tb testing.TB, w *Worker, width, height int) *Renderer {
	tb.Helper()
	r, err := w.NewRenderer(width, height)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r.(*Renderer)
}

// copyFrame returns a deep copy: Render reuses its Frame.
func copyFrame(f *render.Frame) *render.Frame {
	c := *f
	c.Y = append([]byte(nil), f.Y...)
	c.U = append([]byte(nil), f.U...)
	c.V = append([]byte(nil), f.V...)
	return &c
}

// meanAbsDiff is the mean absolute difference of two byte planes.
func meanAbsDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

// halves splits the Y plane into the left- and right-eye planes.
func halves(f *render.Frame) (l, r []byte) {
	hw := f.Width / 2
	for y := range f.Height {
		row := f.Y[y*f.Width : (y+1)*f.Width]
		l = append(l, row[:hw]...)
		r = append(r, row[hw:]...)
	}
	return l, r
}

func TestRenderPictures(t *testing.T) {
	w := newWorker(t)
	t.Logf("GL: %+v", w.Info())
	const width, height = 640, 360
	r := newRenderer(t, w, width, height)

	f0, err := r.Render(views(width, height, yawPose(0)))
	if err != nil {
		t.Fatal(err)
	}
	a := copyFrame(f0)
	if a.Width != width || a.Height != height {
		t.Fatalf("frame %dx%d", a.Width, a.Height)
	}
	if a.Timings.Render <= 0 || a.Timings.Convert <= 0 {
		t.Errorf("timings not filled: %+v", a.Timings)
	}

	t.Run("non-uniform", func(t *testing.T) {
		var lo, hi byte = 255, 0
		hist := map[byte]int{}
		for _, y := range a.Y {
			lo, hi = min(lo, y), max(hi, y)
			hist[y]++
		}
		if hi-lo < 100 || len(hist) < 50 {
			t.Errorf("picture too flat: Y range %d..%d, %d distinct values", lo, hi, len(hist))
		}
	})

	t.Run("parallax", func(t *testing.T) {
		l, rr := halves(a)
		d := meanAbsDiff(l, rr)
		t.Logf("left/right mean |ΔY| = %.2f", d)
		if d == 0 {
			t.Error("left and right eyes are identical: no parallax")
		}
		if d > 12 {
			t.Errorf("left and right eyes differ too much (%.2f): not the same scene", d)
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		f, err := r.Render(views(width, height, yawPose(0)))
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Y) != string(a.Y) || string(f.U) != string(a.U) || string(f.V) != string(a.V) {
			t.Error("same pose rendered twice gives different bytes")
		}
	})

	t.Run("yaw", func(t *testing.T) {
		f, err := r.Render(views(width, height, yawPose(90)))
		if err != nil {
			t.Fatal(err)
		}
		d := meanAbsDiff(a.Y, f.Y)
		t.Logf("yaw 0 vs 90 mean |ΔY| = %.2f", d)
		if d < 8 {
			t.Errorf("yaw 0° and 90° pictures too similar: mean |ΔY| %.2f", d)
		}
	})

	t.Run("red north", func(t *testing.T) {
		// Looking north (-Z) the red tower stands in the middle of each
		// eye; looking south it must not be there.
		count := func(f *render.Frame) int {
			n := 0
			for i := range f.V {
				if f.V[i] > 170 && f.U[i] < 120 {
					n++
				}
			}
			return n
		}
		north := count(a)
		f, err := r.Render(views(width, height, yawPose(180)))
		if err != nil {
			t.Fatal(err)
		}
		south := count(f)
		t.Logf("red chroma samples: north %d, south %d", north, south)
		if north < 200 {
			t.Errorf("red landmark not visible looking north: %d red samples", north)
		}
		if south > north/10 {
			t.Errorf("red seen looking south: %d samples (north %d)", south, north)
		}
		// And the RGBA readback agrees: centre column of the left eye,
		// a little above the horizon, is red.
		px, err := r.RenderRGBA(views(width, height, yawPose(0)))
		if err != nil {
			t.Fatal(err)
		}
		x, y := width/4, height/2+height/10 // bottom-up rows
		i := (y*width + x) * 4
		if rr, g, b := px[i], px[i+1], px[i+2]; rr <= 120 || g >= 80 || b >= 80 {
			t.Errorf("left eye centre above horizon is %d,%d,%d, want red", rr, g, b)
		}
	})
}

func TestLandmarkColours(t *testing.T) {
	w := newWorker(t)
	const width, height = 320, 180
	r := newRenderer(t, w, width, height)
	for _, c := range []struct {
		yaw     float64 // turning left (counter-clockwise seen from above) is positive
		name    string
		r, g, b func(r, g, b int) bool
	}{
		{0, "north red", nil, nil, nil},
		{-90, "east green", nil, nil, nil},
		{180, "south blue", nil, nil, nil},
		{90, "west yellow", nil, nil, nil},
	} {
		px, err := r.RenderRGBA(views(width, height, yawPose(c.yaw)))
		if err != nil {
			t.Fatal(err)
		}
		// Scan the centre column of the left eye above the horizon.
		var hits int
		for y := height/2 + 2; y < height; y++ {
			i := (y*width + width/4) * 4
			R, G, B := int(px[i]), int(px[i+1]), int(px[i+2])
			var ok bool
			switch c.name {
			case "north red":
				ok = R > 120 && G < 80 && B < 80
			case "east green":
				ok = G > 100 && R < G/2 && B < G/2
			case "south blue":
				ok = B > 120 && R < B/2 && G < B/2+30
			case "west yellow":
				ok = R > 120 && G > 100 && B < min(R, G)*3/5
			}
			if ok {
				hits++
			}
		}
		if hits < 3 {
			t.Errorf("%s: landmark colour not found ahead (%d pixels)", c.name, hits)
		}
	}
}

func TestSetSize(t *testing.T) {
	w := newWorker(t)
	r := newRenderer(t, w, 320, 180)
	for _, sz := range [][2]int{{640, 360}, {2880, 1600}, {320, 180}} {
		if err := r.SetSize(sz[0], sz[1]); err != nil {
			t.Fatalf("SetSize %v: %v", sz, err)
		}
		f, err := r.Render(views(sz[0], sz[1], pose.Identity()))
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != sz[0] || f.Height != sz[1] || len(f.Y) != sz[0]*sz[1] {
			t.Errorf("after SetSize %v frame is %dx%d", sz, f.Width, f.Height)
		}
	}
	for _, sz := range [][2]int{{322, 180}, {320, 181}, {0, 180}, {1 << 20, 180}} {
		if err := r.SetSize(sz[0], sz[1]); err == nil {
			t.Errorf("SetSize %v: want error", sz)
		}
	}
	if _, err := w.NewRenderer(330, 180); err == nil {
		t.Error("NewRenderer with width not a multiple of 4: want error")
	}
}

// TestRendererNoLeak creates and closes many renderers and checks that
// every GL object each one made is gone afterwards.
func TestRendererNoLeak(t *testing.T) {
	w := newWorker(t)
	type names struct{ fbo, color, depth, vao, vbo, ibo uint32 }
	var all []names
	for range 40 {
		rr, err := w.NewRenderer(256, 144)
		if err != nil {
			t.Fatal(err)
		}
		r := rr.(*Renderer)
		if _, err := r.Render(views(256, 144, pose.Identity())); err != nil {
			t.Fatal(err)
		}
		all = append(all, names{r.fbo, r.colorRB, r.depthRB, r.vao, r.vbo, r.ibo})
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := r.Render(views(256, 144, pose.Identity())); !errors.Is(err, ErrClosed) {
			t.Fatalf("Render after Close: %v, want ErrClosed", err)
		}
	}
	var alive []string
	err := w.do(func() error {
		for _, n := range all {
			if isFramebuffer(n.fbo) || isRenderbuffer(n.color) || isRenderbuffer(n.depth) ||
				isVertexArray(n.vao) || isBuffer(n.vbo) || isBuffer(n.ibo) {
				alive = append(alive, fmt.Sprint(n))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(alive) > 0 {
		t.Errorf("GL objects still alive after Close: %v", alive)
	}
}

func TestWorkerClose(t *testing.T) {
	w, err := NewWorker(context.Background())
	skipWithoutEGL(t, err)
	r, err := w.NewRenderer(256, 144)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Render(views(256, 144, pose.Identity())); !errors.Is(err, ErrClosed) {
		t.Errorf("Render after worker Close: %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("renderer Close after worker Close: %v", err)
	}
	if _, err := w.NewRenderer(256, 144); !errors.Is(err, ErrClosed) {
		t.Errorf("NewRenderer after Close: %v, want ErrClosed", err)
	}
}

func TestWorkerContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w, err := NewWorker(ctx)
	if err != nil {
		cancel()
	}
	skipWithoutEGL(t, err)
	cancel()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not stop on context cancel")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSharedWorker renders from several sessions at once on one Worker.
func TestSharedWorker(t *testing.T) {
	w := newWorker(t)
	const n = 3
	errc := make(chan error, n)
	for i := range n {
		go func() {
			r, err := w.NewRenderer(320, 180)
			if err != nil {
				errc <- err
				return
			}
			defer r.Close()
			for j := range 5 {
				if _, err := r.Render(views(320, 180, yawPose(float64(30*i+j)))); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func TestTwoWorkers(t *testing.T) {
	a := newWorker(t)
	b := newWorker(t)
	ra := newRenderer(t, a, 320, 180)
	rb := newRenderer(t, b, 320, 180)
	fa, err := ra.Render(views(320, 180, yawPose(10)))
	if err != nil {
		t.Fatal(err)
	}
	ya := append([]byte(nil), fa.Y...)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	fb, err := rb.Render(views(320, 180, yawPose(10)))
	if err != nil {
		t.Fatalf("second worker after first closed: %v", err)
	}
	if string(fb.Y) != string(ya) {
		t.Error("two workers render the same pose differently")
	}
}

// TestWritePNGs saves frames for looking at the scene; set
// HOLOCAST_PNG_DIR to choose the directory (default: the test's temp dir).
func TestWritePNGs(t *testing.T) {
	w := newWorker(t)
	dir := os.Getenv("HOLOCAST_PNG_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	width, height := render.DefaultWidth, render.DefaultHeight
	r := newRenderer(t, w, width, height)
	for _, yaw := range []float64{0, 90, 180, 270} {
		f, err := r.Render(views(width, height, yawPose(yaw)))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("holocast-yaw%03.0f.png", yaw))
		if err := render.WritePNG(p, f); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (render %v, convert %v)", p, f.Timings.Render, f.Timings.Convert)
	}
}

func BenchmarkRender(b *testing.B) {
	w := newWorker(b)
	sizes := [][2]int{{1280, 720}, {1920, 1080}}
	if d := [2]int{render.DefaultWidth, render.DefaultHeight}; d != sizes[0] && d != sizes[1] {
		sizes = append(sizes, d)
	}
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			r := newRenderer(b, w, sz[0], sz[1])
			// Warm up: llvmpipe compiles shader variants on first use.
			if _, err := r.Render(views(sz[0], sz[1], pose.Identity())); err != nil {
				b.Fatal(err)
			}
			var rend, conv, total []time.Duration
			i := 0
			for b.Loop() {
				// Turn the head a little every frame, as a user would.
				p := yawPose(float64(i%360) * 0.5)
				i++
				start := time.Now()
				f, err := r.Render(views(sz[0], sz[1], p))
				if err != nil {
					b.Fatal(err)
				}
				total = append(total, time.Since(start))
				rend = append(rend, f.Timings.Render)
				conv = append(conv, f.Timings.Convert)
			}
			// Medians: the machine is shared, means are skewed by
			// other processes.
			b.ReportMetric(median(rend), "render-ms")
			b.ReportMetric(median(conv), "convert-ms")
			b.ReportMetric(median(total), "frame-ms")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}

func median(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// BenchmarkReadback splits the GL time of a 1280x720 frame into drawing
// (up to glFinish) and glReadPixels.
func BenchmarkReadback(b *testing.B) {
	w := newWorker(b)
	r := newRenderer(b, w, 1280, 720)
	v := views(1280, 720, pose.Identity())
	if _, err := r.Render(v); err != nil {
		b.Fatal(err)
	}
	var draw, read []time.Duration
	for b.Loop() {
		err := w.do(func() error {
			t0 := time.Now()
			r.drawEyes(v)
			gl.Finish()
			t1 := time.Now()
			err := r.readback()
			draw = append(draw, t1.Sub(t0))
			read = append(read, time.Since(t1))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(median(draw), "draw-ms")
	b.ReportMetric(median(read), "readpixels-ms")
}

// TestWorkerEarliestDeadlineFirst: three sessions share one worker.
// While it is busy, their work arrives latest deadline first; once it is
// free it runs it earliest deadline first (FIFO would run it in arrival
// order). Then the three sessions' renderers draw frames with RenderBy on
// the same path.
func TestWorkerEarliestDeadlineFirst(t *testing.T) {
	w := newWorker(t)
	rs := []*Renderer{newRenderer(t, w, 256, 144), newRenderer(t, w, 256, 144), newRenderer(t, w, 256, 144)}
	busy, release := make(chan struct{}), make(chan struct{})
	blocked := make(chan error, 1)
	go func() { blocked <- w.do(func() error { close(busy); <-release; return nil }) }()
	<-busy

	t0 := time.Now()
	deadlines := []time.Duration{30, 10, 20} // ms; session i's frame, pushed in this order
	var order []int                          // appended on the worker goroutine only
	done := make(chan error, len(rs))
	for i := range rs {
		go func() {
			done <- w.doBy(t0.Add(deadlines[i]*time.Millisecond), func() error {
				order = append(order, i)
				_, err := rs[i].drawOnWorker(views(256, 144, yawPose(float64(10*i))))
				return err
			})
		}()
		for w.jobs.Len() < i+1 { // queued before the next one is pushed
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for range rs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if want := []int{1, 2, 0}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("served sessions %v, want %v (earliest deadline first)", order, want)
	}
	for i, r := range rs {
		f, err := r.RenderBy(views(256, 144, yawPose(float64(10*i))), t0.Add(deadlines[i]*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if f.Timings.Render <= 0 {
			t.Errorf("RenderBy: render time %v", f.Timings.Render)
		}
	}
}
