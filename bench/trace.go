package bench

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose/eval"
	"github.com/holocast/holocast/pose/trace"
)

// DefaultTraceDir is where the shared head-motion traces are looked for,
// relative to the working directory, when no trace is given.
const DefaultTraceDir = "../shared/headmotion"

// DefaultTraces lists the shared traces under dir (HoloLens CSVs and
// Corbillon quaternion files), sorted. It fails with a message naming dir
// when there are none.
func DefaultTraces(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"gul-nossdav20/raw/*.csv", "corbillon-mmsys18/rawNavigationTrace/*_quaternion.txt"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		abs, _ := filepath.Abs(dir)
		return nil, fmt.Errorf("no --trace given and no default head-motion traces found in %s (run from the project root next to the shared folder, or pass --trace FILE)", abs)
	}
	sort.Strings(out)
	return out, nil
}

// motion is one trace prepared for replay: strictly increasing times from
// 0, orientation and (if recorded) position, looped past its end.
type motion struct {
	name   string
	t      []time.Duration
	q      []mgl64.Quat
	p      []mgl64.Vec3
	hasPos bool
	length time.Duration // t[last]
}

func loadMotion(path, format string) (*motion, error) {
	s, err := trace.Open(path, format)
	if err != nil {
		return nil, err
	}
	return newMotion(path, s)
}

func newMotion(name string, s []trace.Sample) (*motion, error) {
	m := &motion{name: name, hasPos: len(s) > 0}
	for i, x := range s {
		if n := len(m.t); n > 0 && x.T <= m.t[n-1]+s[0].T {
			continue
		}
		m.t = append(m.t, x.T-s[0].T)
		q := x.Orientation
		// Keep consecutive quaternions in one hemisphere so that the
		// interpolation takes the short way (traces flip q and -q).
		if n := len(m.q); n > 0 && m.q[n-1].Dot(q) < 0 {
			q = mgl64.Quat{W: -q.W, V: q.V.Mul(-1)}
		}
		m.q = append(m.q, q)
		m.p = append(m.p, x.Position)
		m.hasPos = m.hasPos && s[i].HasPosition
	}
	if len(m.t) < 2 {
		return nil, fmt.Errorf("%s: fewer than 2 usable samples", name)
	}
	m.length = m.t[len(m.t)-1]
	if m.length < 100*time.Millisecond {
		return nil, errors.New(name + ": shorter than 100 ms")
	}
	return m, nil
}

// wrap maps any trace time into [0, length).
func (m *motion) wrap(t time.Duration) time.Duration {
	t %= m.length
	if t < 0 {
		t += m.length
	}
	return t
}

// at interpolates the trace at time t (looped).
func (m *motion) at(t time.Duration) (mgl64.Quat, mgl64.Vec3) {
	t = m.wrap(t)
	j := sort.Search(len(m.t), func(i int) bool { return m.t[i] >= t })
	if j == 0 {
		return m.q[0], m.p[0]
	}
	if j >= len(m.t) {
		j = len(m.t) - 1
	}
	if m.t[j] == t {
		return m.q[j], m.p[j]
	}
	a := float64(t-m.t[j-1]) / float64(m.t[j]-m.t[j-1])
	return eval.Slerp(m.q[j-1], m.q[j], a), m.p[j-1].Add(m.p[j].Sub(m.p[j-1]).Mul(a))
}

// nextSample returns the first recorded sample time strictly after t
// (looped), as an absolute time ≥ t.
func (m *motion) nextSample(t time.Duration) time.Duration {
	base := t - m.wrap(t)
	w := m.wrap(t)
	j := sort.Search(len(m.t), func(i int) bool { return m.t[i] > w })
	if j >= len(m.t) {
		// Past the last sample: the loop starts over (t[0] = 0 is the
		// same instant as length, so skip it).
		return base + m.length + m.t[1]
	}
	return base + m.t[j]
}

// offsets spreads n headsets' start times over the trace so that each
// plays a different part; when the needed span fits, no headset loops.
func (m *motion) offset(k, n int, span time.Duration) time.Duration {
	if n <= 1 {
		return 0
	}
	room := m.length - span
	if room <= 0 {
		room = m.length
	}
	return time.Duration(int64(room) / int64(n) * int64(k))
}
