package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderErrors(t *testing.T) {
	for _, args := range [][]string{
		{"render", "--modes", "fast"},
		{"render", "--generate", "2M"},
		{"render", "--sizes", "big"},
		{"render", "--width", "1281", "--height", "720"},
		{"render", "--frames", "0"},
		{"render", "--scene-fit", "tight"},
		{"render", "--lod-error", "-1"},
		{"render", "extra"},
	} {
		if rc, _, e := run(args...); rc != 2 || e == "" {
			t.Errorf("%v: rc %d, stderr %q", args, rc, e)
		}
	}
	if rc, o, _ := run("help", "render"); rc != 0 || !strings.Contains(o, "--generate") {
		t.Errorf("help render: rc %d, %q", rc, o)
	}
}

// TestRender renders the built-in scene and the generated 10k model with
// and without culling and level of detail, and reads the JSON figures.
func TestRender(t *testing.T) {
	rc, o, e := run("render", "--scene", "builtin", "--generate", "10k", "--sizes", "256x128",
		"--modes", "all,cull+lod", "--frames", "3", "--json", "-")
	if rc != 0 {
		if strings.Contains(e, "OpenGL") || strings.Contains(e, "EGL") {
			t.Skipf("no GL: %s", e)
		}
		t.Fatalf("rc %d: %s", rc, e)
	}
	var models []struct {
		Name      string  `json:"name"`
		Triangles int     `json:"triangles"`
		LoadMS    float64 `json:"load_ms"`
		AllocMB   float64 `json:"alloc_mb"`
		ModelMB   float64 `json:"model_mb"`
		Runs      []struct {
			Width, Height     int
			Mode              string
			Frames            int
			TrianglesPerFrame float64                    `json:"triangles_per_frame"`
			Render            struct{ P50, P99 float64 } `json:"render_ms"`
		}
	}
	if err := json.Unmarshal([]byte(o), &models); err != nil {
		t.Fatalf("%v:\n%s", err, o)
	}
	if len(models) != 2 || models[0].Name != "builtin" || models[1].Name != "generated-10k" {
		t.Fatalf("models %+v", models)
	}
	if len(models[0].Runs) != 1 || len(models[1].Runs) != 2 {
		t.Fatalf("runs: builtin %d, generated %d", len(models[0].Runs), len(models[1].Runs))
	}
	g := models[1]
	if g.Triangles < 9000 || g.LoadMS <= 0 || g.AllocMB <= 0 || g.ModelMB <= 0 {
		t.Errorf("generated model figures %+v", g)
	}
	for _, r := range g.Runs {
		if r.Width != 256 || r.Height != 128 || r.Frames != 3 || r.Render.P50 <= 0 || r.TrianglesPerFrame <= 0 {
			t.Errorf("run %+v", r)
		}
		// The whole model is drawn for each eye in "all".
		if r.Mode == "all" && r.TrianglesPerFrame < 2*float64(g.Triangles) {
			t.Errorf("all: %.0f triangles per frame, want both eyes' %d", r.TrianglesPerFrame, 2*g.Triangles)
		}
	}
}
