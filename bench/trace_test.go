package bench

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/pose/trace"
	"github.com/holocast/holocast/pose/trace/corbillon"
)

func yaw(deg float64) mgl64.Quat {
	return mgl64.QuatRotate(deg*math.Pi/180, mgl64.Vec3{0, 1, 0})
}

func TestMotion(t *testing.T) {
	var s []trace.Sample
	for i := 0; i <= 10; i++ {
		q := yaw(float64(i) * 10)
		if i%3 == 1 {
			q = mgl64.Quat{W: -q.W, V: q.V.Mul(-1)} // sign flips as in real traces
		}
		s = append(s, trace.Sample{T: time.Second + time.Duration(i)*100*time.Millisecond, Orientation: q, HasPosition: true, Position: mgl64.Vec3{float64(i), 0, 0}})
	}
	m, err := newMotion("t", s)
	if err != nil {
		t.Fatal(err)
	}
	if m.length != time.Second || !m.HasPosition {
		t.Fatalf("length %v, pos %v", m.length, m.HasPosition)
	}
	for _, c := range []struct {
		at  time.Duration
		deg float64
	}{{0, 0}, {150 * time.Millisecond, 15}, {time.Second + 250*time.Millisecond, 25}, {-100 * time.Millisecond, 90}} {
		q, _ := m.at(c.at)
		if d := pose.QuatAngle(q, yaw(c.deg)) * 180 / math.Pi; d > 1e-6 {
			t.Errorf("at %v: %.4f° off %v°", c.at, d, c.deg)
		}
	}
	if _, p := m.at(450 * time.Millisecond); math.Abs(p[0]-4.5) > 1e-9 {
		t.Errorf("position %v", p)
	}
	if n := m.nextSample(150 * time.Millisecond); n != 200*time.Millisecond {
		t.Errorf("next after 150ms: %v", n)
	}
	if n := m.nextSample(200 * time.Millisecond); n != 300*time.Millisecond {
		t.Errorf("next after 200ms: %v", n)
	}
	if n := m.nextSample(950 * time.Millisecond); n != time.Second {
		t.Errorf("next after 950ms: %v", n)
	}
	if n := m.nextSample(time.Second); n != 1100*time.Millisecond {
		t.Errorf("next after 1s (loop): %v", n)
	}
	if o := m.offset(1, 2, 400*time.Millisecond); o != 300*time.Millisecond {
		t.Errorf("offset %v", o)
	}
	if _, err := newMotion("short", s[:1]); err == nil {
		t.Error("one sample accepted")
	}
}

// TestDefaultTraces loads the shared traces, when they are there.
func TestDefaultTraces(t *testing.T) {
	dir := filepath.Join("..", DefaultTraceDir)
	files, err := DefaultTraces(dir)
	if err != nil {
		t.Skipf("shared traces absent: %v", err)
	}
	for _, f := range files {
		if _, err := loadMotion(f, ""); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestBuiltinTraces: without shared traces the embedded head motion is the
// default, and it loads for replay.
func TestBuiltinTraces(t *testing.T) {
	files, err := DefaultTraces(t.TempDir())
	if err != nil || len(files) == 0 {
		t.Fatalf("DefaultTraces(empty dir) = %v, %v", files, err)
	}
	for _, f := range files {
		if !corbillon.IsBuiltin(f) {
			t.Errorf("%s is not a built-in trace", f)
		}
		m, err := loadMotion(f, "")
		if err != nil {
			t.Fatal(err)
		}
		if m.length < 59*time.Second {
			t.Errorf("%s: %v long", f, m.length)
		}
	}
}

func TestSummarizeAndFreezes(t *testing.T) {
	d := summarize([]float64{4, 1, 3, 2, 5})
	if d.Count != 5 || d.Mean != 3 || d.P50 != 3 || d.Max != 5 || d.P95 != 4.8 {
		t.Errorf("%+v", d)
	}
	if (summarize(nil) != Dist{}) {
		t.Error("empty")
	}
	iv := 33 * time.Millisecond
	arr := []time.Duration{0, 33 * time.Millisecond, 66 * time.Millisecond, 300 * time.Millisecond, 333 * time.Millisecond}
	f := newFreezeCounter(iv) // the window's start at 0 counts as a frame
	for _, a := range arr[1:] {
		f.arrive(a)
	}
	if f.n != 1 || f.total != 234*time.Millisecond {
		t.Errorf("freezes %d %v", f.n, f.total)
	}
	f.arrive(900 * time.Millisecond) // the window's end
	if f.n != 2 || f.total != 801*time.Millisecond {
		t.Errorf("with the window's end: freezes %d %v", f.n, f.total)
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{0, 21.7}, {0, 1}, {3.2, 97.1}, {0, 0.034}, {5, 5}} {
		tk := niceTicks(c.lo, c.hi, 5)
		if len(tk) < 2 || tk[0] > c.lo || tk[len(tk)-1] < c.hi || len(tk) > 12 {
			t.Errorf("niceTicks(%v, %v) = %v", c.lo, c.hi, tk)
		}
	}
}
