package trace

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestParseCSV(t *testing.T) {
	in := "# neutral trace\nt_ms,qx,qy,qz,qw,px,py,pz\n0,0,0,0,1,0,1.6,0\n\n16.5,0,0.7071067811865476,0,0.7071067811865476,0.1,1.6,-0.2\n"
	s, err := Parse(strings.NewReader(in), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[1].T != 16500*time.Microsecond || !s[1].HasPosition || s[1].Position != (mgl64.Vec3{0.1, 1.6, -0.2}) || !near(s[1].Orientation.V[1], math.Sqrt(0.5)) {
		t.Fatalf("got %+v", s)
	}
	// Orientation only, no header.
	s, err = ParseCSV([]byte("100,0,0,0,1\n110,0,0,0,-1\n"))
	if err != nil || len(s) != 2 || s[0].HasPosition || s[0].T != 100*time.Millisecond {
		t.Fatalf("got %+v, %v", s, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, format, in, want string
	}{
		{"csv bad number", FormatCSV, "0,0,0,0,1\n1,0,x,0,1\n2,0,0,0,1\n", "line 2"},
		{"csv nan", FormatCSV, "0,0,0,0,1\n1,0,NaN,0,1\n2,0,0,0,1\n", "not finite"},
		{"csv inf", FormatCSV, "0,0,0,0,1\n1,0,0,0,+Inf\n2,0,0,0,1\n", "line 2"},
		{"csv not unit", FormatCSV, "0,0,0,0,1\n1,0,0,0,2\n2,0,0,0,1\n", "line 2"},
		{"csv column count", FormatCSV, "0,0,0,0,1\n1,0,0,0,1,1,1,1\n2,0,0,0,1\n", "line 2"},
		{"hololens bad", FormatHoloLens, "timestamp,x,y,z,qx,qy,qz,qw\n1, 0, 0, 0, 0, 0, 0, 1\n2, 0, 0, 0, 0, 0\n3, 0, 0, 0, 0, 0, 0, 1\n", "line 3"},
		{"hololens float ticks", FormatHoloLens, "1, 0, 0, 0, 0, 0, 0, 1\n2.5, 0, 0, 0, 0, 0, 0, 1\n3, 0, 0, 0, 0, 0, 0, 1\n", "line 2"},
		{"corbillon bad", FormatCorbillon, "timestamp viewpoint w x y z\n0 0 1 0 0 0\n0.1 0 1 0 0\n0.2 0 1 0 0 0\n", "line 3"},
		{"unknown format", "xml", "0,0,0,0,1\n", "unknown format"},
		{"undetectable", FormatAuto, "hello world\n", "unknown format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in), tc.format)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseHoloLens(t *testing.T) {
	// The second quaternion is a yaw of 90° about +Y in Unity's frame;
	// the last line is truncated mid-number and unterminated.
	in := "timestamp,x,y,z,qx,qy,qz,qw\n" +
		"637139238387771648, 1, 2, 3, 0, 0, 0, 1\n" +
		"637139238387938648, 1, 2, 3.5, 0.1, 0.7, 0.2, 0.6782329983125268\n" +
		"637139238388105648, 1, 2, 3.5, 0.1, 0.7, 0.2, 0.6"
	s, err := Parse(strings.NewReader(in), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 {
		t.Fatalf("got %d samples, want 2 (truncated last line dropped)", len(s))
	}
	if s[0].T != 0 || s[1].T != 16700*time.Microsecond {
		t.Errorf("times %v %v", s[0].T, s[1].T)
	}
	if s[1].Position != (mgl64.Vec3{1, 2, -3.5}) {
		t.Errorf("position %v", s[1].Position)
	}
	q := s[1].Orientation
	if !near(q.V[0], -0.1) || !near(q.V[1], -0.7) || !near(q.V[2], 0.2) || !near(q.W, 0.6782329983125268) {
		t.Errorf("orientation %v", q)
	}
}

func TestParseCorbillon(t *testing.T) {
	in := "timestamp viewpoint w x y z\n0.0 0 1 0 0 0\n0.0165 1 -0.7071067811865476 0 0.7071067811865476 0\n"
	s, err := Parse(strings.NewReader(in), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s[1].T != 16500*time.Microsecond || s[1].HasPosition || !near(s[1].Orientation.W, -math.Sqrt(0.5)) || !near(s[1].Orientation.V[1], math.Sqrt(0.5)) {
		t.Fatalf("got %+v", s)
	}
}

func TestDetect(t *testing.T) {
	for in, want := range map[string]string{
		"timestamp,x,y,z,qx,qy,qz,qw\n":           FormatHoloLens,
		"637139238387771648, 0, 0, 0, 0, 0, 0, 1": FormatHoloLens,
		"timestamp viewpoint w x y z\n":           FormatCorbillon,
		"0.1 0 1 0 0 0\n":                         FormatCorbillon,
		"# c\nt_ms,qx,qy,qz,qw\n":                 FormatCSV,
		"0,0,0,0,1\n":                             FormatCSV,
		"0,0,0,0,1,0,0,0\n":                       FormatCSV,
		"0, 0, 0, 0, 1, 0, 1.6, 0\n":              FormatCSV,
	} {
		if got, err := Detect([]byte(in)); got != want || err != nil {
			t.Errorf("Detect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestSharedTraces reads the real traces beside the repository, if there.
func TestSharedTraces(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "headmotion")
	files, _ := filepath.Glob(filepath.Join(dir, "gul-nossdav20", "raw", "User*.csv"))
	more, _ := filepath.Glob(filepath.Join(dir, "corbillon-mmsys18", "rawNavigationTrace", "user*_quaternion.txt"))
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("shared head-motion traces not present")
	}
	for _, f := range files {
		s, err := Open(f, FormatAuto)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) < 1000 {
			t.Errorf("%s: only %d samples", f, len(s))
		}
		if strings.HasSuffix(f, "User1.csv") && len(s) != 1518 {
			t.Errorf("User1: %d samples, want 1518 (truncated last line dropped)", len(s))
		}
	}
}

func fuzzParse(f *testing.F, parse func([]byte) ([]Sample, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := parse(data)
		for _, x := range s {
			n := x.Orientation.Len()
			if math.IsNaN(n) || math.Abs(n-1) > 1e-9 {
				t.Fatalf("non-unit quaternion %v", x.Orientation)
			}
		}
		_, _ = Detect(data)
	})
}

func FuzzParseCSV(f *testing.F) {
	fuzzParse(f, ParseCSV, "t_ms,qx,qy,qz,qw\n0,0,0,0,1\n", "0,0,0,0,1,1,2,3\n1e308,0,0,0,1,1e308,-1e308,0\n")
}

func FuzzParseHoloLens(f *testing.F) {
	fuzzParse(f, ParseHoloLens, "timestamp,x,y,z,qx,qy,qz,qw\n637139238387771648, 0.005, 0.07, 0.08, 0.05, 0.006, -0.019, 0.998\n-9223372036854775808, 0, 0, 0, 0, 0, 0, 1\n9223372036854775807, 0, 0, 0, 0, 0, 0, 1\n")
}

func FuzzParseCorbillon(f *testing.F) {
	fuzzParse(f, ParseCorbillon, "timestamp viewpoint w x y z\n0.0 0 0.9968 -0.0705 0.0016 0.0357\n1e300 0 1 0 0 0\n")
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope.csv"), FormatAuto); !os.IsNotExist(err) {
		t.Errorf("err = %v", err)
	}
}
