// Package corbillon embeds a small, licence-clean set of real head motion:
// one-minute excerpts of two of Corbillon et al.'s MMSys 2018 head-
// orientation traces (MIT licence; data/README.md cites the source and
// data/LICENSE carries the notice). It is the default head motion of
// holocast-bench when no traces are given, so that the benchmark works
// from any directory, and it lets a plain clone run prediction checks.
package corbillon

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/holocast/holocast/pose/trace"
)

//go:embed data/*.txt data/README.md data/LICENSE
var data embed.FS

// Prefix marks a trace name as one of this package's, e.g.
// "builtin:corbillon/user1_quaternion_20-80s".
const Prefix = "builtin:corbillon/"

// Names returns the embedded traces' names (each with Prefix), sorted.
func Names() []string {
	files, _ := fs.Glob(data, "data/*.txt")
	out := make([]string, 0, len(files))
	for _, f := range files {
		out = append(out, Prefix+strings.TrimSuffix(path.Base(f), ".txt"))
	}
	sort.Strings(out)
	return out
}

// IsBuiltin reports whether name names an embedded trace.
func IsBuiltin(name string) bool { return strings.HasPrefix(name, Prefix) }

// Open parses the embedded trace called name (as Names returns it).
func Open(name string) ([]trace.Sample, error) {
	if !IsBuiltin(name) {
		return nil, fmt.Errorf("corbillon: %q is not an embedded trace (want %s…)", name, Prefix)
	}
	f, err := data.Open("data/" + strings.TrimPrefix(name, Prefix) + ".txt")
	if err != nil {
		return nil, fmt.Errorf("corbillon: %q: %w", name, err)
	}
	defer func() { _ = f.Close() }() // embedded: Close cannot fail
	s, err := trace.Parse(f, trace.FormatCorbillon)
	if err != nil {
		return nil, fmt.Errorf("corbillon: %q: %w", name, err)
	}
	return s, nil
}

// Licence returns the MIT licence text that must accompany the data.
func Licence() string {
	b, _ := data.ReadFile("data/LICENSE")
	return string(b)
}
