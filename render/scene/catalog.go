package scene

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Builtin is the name of the renderer's built-in scene in a Catalog.
const Builtin = "builtin"

// ErrUnknownScene is wrapped by Catalog.Get's error for a name it lacks.
var ErrUnknownScene = errors.New("unknown scene")

// validName is what a scene name may look like: it comes from a file name
// and travels in URLs and control messages.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidName reports whether name can name a scene.
func ValidName(name string) bool { return validName.MatchString(name) }

// Catalog is a node's scenes by name: the built-in one and the models
// loaded from files, each loaded once and shared by every session that
// shows it. It is read-only after LoadCatalog and safe for concurrent use.
type Catalog struct {
	models map[string]*Model
	names  []string // sorted, Builtin first
}

// Info describes a scene for GET /v1/scenes.
type Info struct {
	Name string `json:"name"`
	// Triangles at full detail (0 for the built-in scene, which the
	// renderer describes itself).
	Triangles int `json:"triangles"`
	// Bounds in the file's units; absent for the built-in scene.
	Bounds *Box `json:"bounds,omitempty"`
}

// NewCatalog returns a catalog of the built-in scene and the given models
// (each named by its Name, which must be valid and unique).
func NewCatalog(models ...*Model) (*Catalog, error) {
	c := &Catalog{models: map[string]*Model{}, names: []string{Builtin}}
	for _, m := range models {
		if !ValidName(m.Name) || m.Name == Builtin {
			return nil, fmt.Errorf("scene: name %q: want letters, digits, '.', '_' or '-' (at most 128), not %q", m.Name, Builtin)
		}
		if _, dup := c.models[m.Name]; dup {
			return nil, fmt.Errorf("scene: two scenes named %q", m.Name)
		}
		c.models[m.Name] = m
		c.names = append(c.names, m.Name)
	}
	slices.Sort(c.names[1:])
	return c, nil
}

// LoadCatalog loads the scenes named by path: one .gltf or .glb file,
// whose failure to load is an error, or a directory, whose .gltf and .glb
// files are loaded (not recursively) with those that fail skipped and
// logged. A scene is named by its file name without extension. An empty
// path gives the built-in scene only.
func LoadCatalog(path string, lim Limits, log *slog.Logger) (*Catalog, error) {
	if path == "" {
		return NewCatalog()
	}
	if log == nil {
		log = slog.Default()
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("scene: %w", err)
	}
	if !st.IsDir() {
		m, err := loadNamed(path, lim, log)
		if err != nil {
			return nil, err
		}
		return NewCatalog(m)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("scene: %w", err)
	}
	var models []*Model
	seen := map[string]string{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".gltf" && ext != ".glb") {
			continue
		}
		file := filepath.Join(path, e.Name())
		m, err := loadNamed(file, lim, log)
		if err != nil {
			log.Warn("scene skipped", "file", file, "err", err)
			continue
		}
		if other, dup := seen[m.Name]; dup {
			log.Warn("scene skipped", "file", file, "err", fmt.Sprintf("name %q already taken by %s", m.Name, other))
			continue
		}
		seen[m.Name] = file
		models = append(models, m)
	}
	return NewCatalog(models...)
}

func loadNamed(file string, lim Limits, log *slog.Logger) (*Model, error) {
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if !ValidName(name) || name == Builtin {
		return nil, fmt.Errorf("scene: %s: the file name %q cannot name a scene (letters, digits, '.', '_' or '-', at most 128, not %q)", file, name, Builtin)
	}
	start := time.Now()
	m, err := LoadWithLimits(file, lim)
	if err != nil {
		return nil, err
	}
	log.Info("scene loaded", "scene", m.Name, "file", file, "triangles", m.Triangles, "chunks", len(m.Chunks),
		"materials", len(m.Materials), "textures", len(m.Textures), "load_ms", time.Since(start).Milliseconds())
	for _, n := range m.Notes {
		log.Info("scene note", "scene", m.Name, "note", n)
	}
	return m, nil
}

// Get returns the model named name; nil (and no error) for Builtin; an
// error wrapping ErrUnknownScene when there is none.
func (c *Catalog) Get(name string) (*Model, error) {
	if name == Builtin {
		return nil, nil
	}
	m, ok := c.models[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (GET /v1/scenes lists them)", ErrUnknownScene, name)
	}
	return m, nil
}

// List describes every scene, the built-in one first.
func (c *Catalog) List() []Info {
	out := make([]Info, 0, len(c.names))
	for _, n := range c.names {
		in := Info{Name: n}
		if m := c.models[n]; m != nil {
			b := m.Bounds
			in.Triangles, in.Bounds = m.Triangles, &b
		}
		out = append(out, in)
	}
	return out
}

// Len returns the number of scenes, the built-in one included.
func (c *Catalog) Len() int { return len(c.names) }
