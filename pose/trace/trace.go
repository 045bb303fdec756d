// Package trace reads recorded head-motion traces into samples in WebXR's
// frame of reference (right-handed, +Y up, −Z forward, metres).
//
// Three formats are understood:
//
//   - "csv": the project's neutral CSV, one sample per line,
//     t_ms,qx,qy,qz,qw[,px,py,pz] — time in milliseconds (any origin),
//     a unit quaternion with the scalar last, optional position in metres,
//     all in the WebXR frame. An optional header line (first line whose
//     first field is not a number), blank lines and lines starting with #
//     are skipped. Every data line has the column count of the first.
//   - "hololens": raw HoloLens CSV as recorded by Gül et al. (NOSSDAV
//     2020): header timestamp,x,y,z,qx,qy,qz,qw, values separated by
//     ", ", timestamp in .NET ticks (100 ns), Unity's left-handed frame
//     (+Y up, +Z forward). Converted to WebXR: position (x, y, −z),
//     quaternion (−qx, −qy, qz, qw); time rebased to start at 0.
//   - "corbillon": the space-separated text of Corbillon et al. (MMSys
//     2018): header timestamp viewpoint w x y z, time in seconds, scalar
//     first, orientation only.
//
// Malformed data is an error naming its line, except an unterminated last
// line that does not parse (a truncated recording), which is dropped.
// Non-finite numbers and quaternions whose norm is not within 1% of 1 are
// rejected; the others are normalised.
package trace

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// Sample is one recorded head pose.
type Sample struct {
	// T is the sample time from the trace's origin.
	T time.Duration
	// Orientation is a unit quaternion, head to world.
	Orientation mgl64.Quat
	// Position is the head position in metres; valid if HasPosition.
	Position    mgl64.Vec3
	HasPosition bool
}

// Format names.
const (
	FormatCSV       = "csv"
	FormatHoloLens  = "hololens"
	FormatCorbillon = "corbillon"
	FormatAuto      = "auto"
)

// Formats lists the format names Parse accepts, "auto" first.
func Formats() []string { return []string{FormatAuto, FormatCSV, FormatHoloLens, FormatCorbillon} }

// maxSize bounds what Parse reads.
const maxSize = 1 << 30

// unitTolerance is how far a quaternion's norm may be from 1.
const unitTolerance = 0.01

// Open reads the trace at path in the given format ("auto" or "" to
// detect it from the content).
func Open(path, format string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: Close cannot lose data
	s, err := Parse(f, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse reads a whole trace from r in the given format ("auto" or "" to
// detect it).
func Parse(r io.Reader, format string) ([]Sample, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize))
	if err != nil {
		return nil, err
	}
	if format == "" || format == FormatAuto {
		if format, err = Detect(data); err != nil {
			return nil, err
		}
	}
	switch format {
	case FormatCSV:
		return ParseCSV(data)
	case FormatHoloLens:
		return ParseHoloLens(data)
	case FormatCorbillon:
		return ParseCorbillon(data)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownFormat, format)
}

// Detect names the format of a trace from its first meaningful line.
func Detect(data []byte) (string, error) {
	for _, ln := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(ln))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		low := strings.ToLower(line)
		switch {
		case strings.HasPrefix(low, "timestamp viewpoint"):
			return FormatCorbillon, nil
		case strings.HasPrefix(low, "timestamp,x,y,z,qx,qy,qz,qw"):
			return FormatHoloLens, nil
		case strings.HasPrefix(low, "t_ms"):
			return FormatCSV, nil
		}
		if strings.Contains(line, ",") {
			f := strings.Split(line, ",")
			if len(f) == 8 && strings.HasPrefix(f[1], " ") {
				// .NET ticks of any date after 1900 exceed 5.9e17.
				if ticks, err := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64); err == nil && ticks > 1e17 {
					return FormatHoloLens, nil
				}
			}
			if len(f) == 5 || len(f) == 8 {
				return FormatCSV, nil
			}
		} else if len(strings.Fields(line)) == 6 {
			return FormatCorbillon, nil
		}
		break
	}
	return "", ErrUnknownFormat
}

// lines splits data into lines and reports whether the last one was
// terminated by a newline.
type line struct {
	n    int // 1-based line number
	text string
	last bool // the unterminated final line
}

func splitLines(data []byte) []line {
	var out []line
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		var l []byte
		last := false
		if i < 0 {
			l, data, last = data, nil, true
		} else {
			l, data = data[:i], data[i+1:]
		}
		out = append(out, line{n: n, text: strings.TrimSpace(string(l)), last: last})
	}
	return out
}

func parseFloats(fields []string) ([]float64, error) {
	v := make([]float64, len(fields))
	for i, f := range fields {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("field %d: %q is not a number", i+1, strings.TrimSpace(f))
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("field %d: %q is not finite", i+1, strings.TrimSpace(f))
		}
		v[i] = x
	}
	return v, nil
}

func unitQuat(w, x, y, z float64) (mgl64.Quat, error) {
	n := math.Sqrt(w*w + x*x + y*y + z*z)
	if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n-1) > unitTolerance {
		return mgl64.Quat{}, fmt.Errorf("quaternion norm %.6g is not 1", n)
	}
	return mgl64.Quat{W: w / n, V: mgl64.Vec3{x / n, y / n, z / n}}, nil
}

// seconds converts s to a Duration, rejecting values that overflow.
func seconds(s float64) (time.Duration, error) {
	ns := s * 1e9
	if math.Abs(ns) >= math.MaxInt64/2 {
		return 0, fmt.Errorf("time %g s out of range", s)
	}
	return time.Duration(math.Round(ns)), nil
}

// ParseCSV reads the neutral CSV format.
func ParseCSV(data []byte) ([]Sample, error) {
	var out []Sample
	cols := 0
	first := true
	for _, l := range splitLines(data) {
		if l.text == "" || strings.HasPrefix(l.text, "#") {
			continue
		}
		f := strings.Split(l.text, ",")
		if first {
			first = false
			if _, err := strconv.ParseFloat(strings.TrimSpace(f[0]), 64); err != nil {
				continue // header
			}
		}
		s, err := csvSample(f, &cols)
		if err != nil {
			if l.last {
				break // truncated final line
			}
			return out, fmt.Errorf("line %d: %w", l.n, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func csvSample(f []string, cols *int) (Sample, error) {
	if len(f) != 5 && len(f) != 8 {
		return Sample{}, fmt.Errorf("%d fields, want 5 or 8", len(f))
	}
	if *cols != 0 && len(f) != *cols {
		return Sample{}, fmt.Errorf("%d fields, earlier lines have %d", len(f), *cols)
	}
	v, err := parseFloats(f)
	if err != nil {
		return Sample{}, err
	}
	t, err := seconds(v[0] / 1000)
	if err != nil {
		return Sample{}, err
	}
	q, err := unitQuat(v[4], v[1], v[2], v[3])
	if err != nil {
		return Sample{}, err
	}
	*cols = len(f)
	s := Sample{T: t, Orientation: q}
	if len(f) == 8 {
		s.Position, s.HasPosition = mgl64.Vec3{v[5], v[6], v[7]}, true
	}
	return s, nil
}

// ParseHoloLens reads the raw HoloLens CSV and converts it to WebXR's
// frame, time rebased to 0 at the first sample.
func ParseHoloLens(data []byte) ([]Sample, error) {
	var out []Sample
	var t0 int64
	for i, l := range splitLines(data) {
		if l.text == "" || strings.HasPrefix(l.text, "#") {
			continue
		}
		if i == 0 && strings.HasPrefix(strings.ToLower(l.text), "timestamp") {
			continue
		}
		s, ticks, err := holoSample(l.text)
		if err == nil && len(out) > 0 {
			if fd := float64(ticks) - float64(t0); math.Abs(fd) > 9e16 {
				err = fmt.Errorf("timestamp %d out of range", ticks)
			}
		}
		if err != nil {
			if l.last {
				break // truncated final line
			}
			return out, fmt.Errorf("line %d: %w", l.n, err)
		}
		if len(out) == 0 {
			t0 = ticks
		}
		s.T = time.Duration(ticks-t0) * 100
		out = append(out, s)
	}
	return out, nil
}

func holoSample(text string) (Sample, int64, error) {
	f := strings.Split(text, ",")
	if len(f) != 8 {
		return Sample{}, 0, fmt.Errorf("%d fields, want 8", len(f))
	}
	ticks, err := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64)
	if err != nil {
		return Sample{}, 0, fmt.Errorf("field 1: %q is not an integer tick count", strings.TrimSpace(f[0]))
	}
	v, err := parseFloats(f[1:])
	if err != nil {
		return Sample{}, 0, err
	}
	// Left-handed (+Z forward) to right-handed (−Z forward): mirror z.
	q, err := unitQuat(v[6], -v[3], -v[4], v[5])
	if err != nil {
		return Sample{}, 0, err
	}
	return Sample{Orientation: q, Position: mgl64.Vec3{v[0], v[1], -v[2]}, HasPosition: true}, ticks, nil
}

// ParseCorbillon reads the Corbillon et al. navigation trace format.
func ParseCorbillon(data []byte) ([]Sample, error) {
	var out []Sample
	for i, l := range splitLines(data) {
		if l.text == "" || strings.HasPrefix(l.text, "#") {
			continue
		}
		if i == 0 && strings.HasPrefix(strings.ToLower(l.text), "timestamp") {
			continue
		}
		s, err := corbSample(l.text)
		if err != nil {
			if l.last {
				break
			}
			return out, fmt.Errorf("line %d: %w", l.n, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func corbSample(text string) (Sample, error) {
	f := strings.Fields(text)
	if len(f) != 6 {
		return Sample{}, fmt.Errorf("%d fields, want 6", len(f))
	}
	v, err := parseFloats(f)
	if err != nil {
		return Sample{}, err
	}
	t, err := seconds(v[0])
	if err != nil {
		return Sample{}, err
	}
	q, err := unitQuat(v[2], v[3], v[4], v[5])
	if err != nil {
		return Sample{}, err
	}
	return Sample{T: t, Orientation: q}, nil
}
