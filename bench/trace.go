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
	"github.com/holocast/holocast/pose/trace/corbillon"
)

// DefaultTraceDir is where the shared head-motion traces are looked for,
// relative to the working directory, when no trace is given.
const DefaultTraceDir = "../shared/headmotion"

// DefaultTraces lists the shared traces under dir (HoloLens CSVs and
// Corbillon quaternion files), sorted; where there are none (outside the
// development tree), the head motion embedded in the binary
// (package pose/trace/corbillon), whose names start with corbillon.Prefix.
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
		return corbillon.Names(), nil
	}
	sort.Strings(out)
	return out, nil
}

// motion is one trace prepared for replay: strictly increasing times from
// 0, orientation and (if recorded) position, looped past its end.
type motion struct {
	name string
	*eval.Timeline
	length time.Duration // T[last]
}

// loadMotion reads a trace file (format "" or "auto" detects it), or an
// embedded trace named with corbillon.Prefix, for replay.
func loadMotion(path, format string) (*motion, error) {
	if corbillon.IsBuiltin(path) {
		s, err := corbillon.Open(path)
		if err != nil {
			return nil, err
		}
		return newMotion(path, s)
	}
	s, err := trace.Open(path, format)
	if err != nil {
		return nil, err
	}
	return newMotion(path, s)
}

// newMotion prepares samples for replay, rebased to start at 0; it needs
// at least 2 usable samples spanning 100 ms.
func newMotion(name string, s []trace.Sample) (*motion, error) {
	rebased := make([]trace.Sample, len(s))
	for i, x := range s {
		x.T -= s[0].T
		rebased[i] = x
	}
	m := &motion{name: name, Timeline: eval.NewTimeline(rebased)}
	if len(m.T) < 2 {
		return nil, fmt.Errorf("%s: fewer than 2 usable samples", name)
	}
	m.length = m.T[len(m.T)-1]
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
	return m.At(m.wrap(t))
}

// nextSample returns the first recorded sample time strictly after t
// (looped), as an absolute time ≥ t.
func (m *motion) nextSample(t time.Duration) time.Duration {
	base := t - m.wrap(t)
	w := m.wrap(t)
	j := sort.Search(len(m.T), func(i int) bool { return m.T[i] > w })
	if j >= len(m.T) {
		// Past the last sample: the loop starts over (t[0] = 0 is the
		// same instant as length, so skip it).
		return base + m.length + m.T[1]
	}
	return base + m.T[j]
}

// offset is headset k of n's start time in the trace: it spreads the n
// headsets' start times over the trace so that each plays a different
// part; when the needed span fits, no headset loops.
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
