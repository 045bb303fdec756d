package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-gl/mathgl/mgl32"
	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/glrender"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// Render modes of RenderConfig.Modes: what the renderer may skip.
const (
	ModeAll     = "all"      // every triangle of the model, both eyes
	ModeCull    = "cull"     // frustum culling per chunk and eye
	ModeCullLOD = "cull+lod" // culling and level of detail
)

// Generated models of RenderConfig.Generate: sphere parts on a grid
// (scenetest.Spheres), the assemblies the project's render benchmarks use.
var Generated = map[string][2]int{
	"10k":  {16, 640},
	"100k": {64, 1600},
	"1M":   {256, 4000},
}

// RenderConfig is a render-only benchmark: models drawn by the node's GL
// renderer, without encoding or network.
type RenderConfig struct {
	// Scenes are .gltf/.glb files, or "builtin" for the built-in scene.
	Scenes []string
	// Generate names generated models (keys of Generated).
	Generate []string
	// Sizes are side-by-side frame sizes.
	Sizes [][2]int
	// Modes are ModeAll, ModeCull and/or ModeCullLOD (ignored for the
	// built-in scene).
	Modes []string
	// Frames measured per size and mode, after one unmeasured frame.
	Frames int
	// FitNone keeps a model's own units instead of fitting it to 1.5 m.
	FitNone bool
	// LODPixelError overrides glrender.LODPixelError when positive.
	LODPixelError float64
}

// RenderModel is what was measured of one model.
type RenderModel struct {
	Name      string  `json:"name"`
	Triangles int     `json:"triangles"`
	FileMB    float64 `json:"file_mb,omitempty"`
	// LoadMS is the wall time to read, decode and prepare the model
	// (chunks and levels of detail).
	LoadMS float64 `json:"load_ms"`
	// AllocMB is the Go memory allocated while loading.
	AllocMB float64 `json:"alloc_mb"`
	// ModelMB is what the loaded model holds: vertices, indices of every
	// level, texture pixels.
	ModelMB float64 `json:"model_mb"`
	// PeakRSSMB is the process's peak resident memory after loading it
	// (VmHWM: the highest so far in this run, so it only grows).
	PeakRSSMB float64     `json:"peak_rss_mb,omitempty"`
	Runs      []RenderRun `json:"runs"`
}

// RenderRun is one size and mode of a model.
type RenderRun struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Mode   string `json:"mode"`
	Frames int    `json:"frames"`
	// TrianglesPerFrame is the mean drawn per frame, both eyes.
	TrianglesPerFrame float64 `json:"triangles_per_frame"`
	// Render is the GL time per frame (drawing and readback), Convert the
	// RGBA to I420 conversion, both in ms.
	Render  Dist `json:"render_ms"`
	Convert Dist `json:"convert_ms"`
	// CPUPerFrameMS is the process's CPU time (user and system, every
	// thread: llvmpipe's too) per frame, rendering and converting; on a
	// shared machine it is steadier than the wall-clock times.
	CPUPerFrameMS float64 `json:"cpu_per_frame_ms,omitempty"`
}

// Render loads each model and renders cfg.Frames side-by-side frames per
// size and mode with the head turning ±20° (a model fitted 2 m ahead, as
// a headset sees it first).
func Render(ctx context.Context, cfg RenderConfig) ([]RenderModel, error) {
	if cfg.Frames < 1 {
		return nil, errors.New("bench: render: want at least one frame")
	}
	w, err := glrender.NewWorker(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: render: %w", err)
	}
	defer func() { _ = w.Close() }()
	type source struct {
		name string
		load func() (*scene.Model, int64, error)
	}
	var srcs []source
	for _, f := range cfg.Scenes {
		if f == "builtin" {
			srcs = append(srcs, source{name: "builtin"})
			continue
		}
		srcs = append(srcs, source{name: strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), load: func() (*scene.Model, int64, error) {
			st, err := os.Stat(f)
			if err != nil {
				return nil, 0, err
			}
			m, err := scene.Load(f)
			return m, st.Size(), err
		}})
	}
	for _, g := range cfg.Generate {
		p, ok := Generated[g]
		if !ok {
			return nil, fmt.Errorf("bench: render: no generated model %q (want one of 10k, 100k, 1M)", g)
		}
		srcs = append(srcs, source{name: "generated-" + g, load: func() (*scene.Model, int64, error) {
			data := scenetest.Spheres(p[0], p[1])
			m, err := scene.Decode(data, nil, scene.DefaultLimits)
			return m, int64(len(data)), err
		}})
	}
	var out []RenderModel
	for _, src := range srcs {
		res := RenderModel{Name: src.name}
		var m *scene.Model
		if src.load == nil {
			res.Triangles = glrender.DefaultScene().Triangles()
		} else {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			var size int64
			m, size, err = src.load()
			if err != nil {
				return out, fmt.Errorf("bench: render: %s: %w", src.name, err)
			}
			res.LoadMS = round3(ms(time.Since(start)))
			runtime.ReadMemStats(&after)
			res.AllocMB = round3(float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20))
			res.FileMB = round3(float64(size) / (1 << 20))
			res.Triangles = m.Triangles
			held := len(m.Vertices)*48 + len(m.Indices)*4
			for _, t := range m.Textures {
				held += len(t.Pix)
			}
			res.ModelMB = round3(float64(held) / (1 << 20))
			res.PeakRSSMB = peakRSSMB()
		}
		for _, sz := range cfg.Sizes {
			modes := cfg.Modes
			if m == nil {
				modes = []string{ModeAll}
			}
			for _, mode := range modes {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				run, err := renderRun(w, m, sz, mode, cfg)
				if err != nil {
					return out, fmt.Errorf("bench: render: %s %dx%d %s: %w", src.name, sz[0], sz[1], mode, err)
				}
				res.Runs = append(res.Runs, run)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// renderRun measures one model, size and mode on a fresh Renderer.
func renderRun(w *glrender.Worker, m *scene.Model, sz [2]int, mode string, cfg RenderConfig) (RenderRun, error) {
	run := RenderRun{Width: sz[0], Height: sz[1], Mode: mode, Frames: cfg.Frames}
	rr, err := w.NewRenderer(sz[0], sz[1])
	if err != nil {
		return run, err
	}
	defer func() { _ = rr.Close() }()
	if m != nil {
		cull, lod := false, false
		switch mode {
		case ModeAll:
		case ModeCull:
			cull = true
		case ModeCullLOD:
			cull, lod = true, true
		default:
			return run, fmt.Errorf("unknown mode %q (want all, cull or cull+lod)", mode)
		}
		type culler interface {
			SetCulling(cull, lod bool)
			SetLODPixelError(px float64)
		}
		c, ok := rr.(culler)
		mv, ok2 := rr.(render.ModelViewer)
		if !ok || !ok2 {
			return run, errors.New("renderer cannot show models")
		}
		c.SetCulling(cull, lod)
		c.SetLODPixelError(cfg.LODPixelError)
		xf := scene.Fit(m.Bounds)
		if cfg.FitNone {
			b := m.Bounds
			ctr := b.Center()
			xf = mgl32.Translate3D(-ctr[0], scene.FloorY-b.Min[1], -scene.FitDistance-ctr[2])
		}
		if err := mv.SetModel(m, xf); err != nil {
			return run, err
		}
	}
	dev := render.DefaultDevice(sz[0]/2, sz[1])
	view := func(i int) render.StereoViews {
		yaw := 20 * math.Sin(float64(i)*0.1) * math.Pi / 180
		return dev.Views(pose.Pose{Orientation: mgl64.QuatRotate(yaw, mgl64.Vec3{0, 1, 0})})
	}
	// One unmeasured frame: llvmpipe compiles shader variants on first use.
	if _, err := rr.Render(view(0)); err != nil {
		return run, err
	}
	var rend, conv []float64
	tris := 0
	cpu0 := cpuTime()
	for i := range cfg.Frames {
		f, err := rr.Render(view(i + 1))
		if err != nil {
			return run, err
		}
		rend = append(rend, ms(f.Timings.Render))
		conv = append(conv, ms(f.Timings.Convert))
		tris += f.Triangles
	}
	if cpu0 >= 0 {
		run.CPUPerFrameMS = round3(ms(cpuTime()-cpu0) / float64(cfg.Frames))
	}
	run.Render, run.Convert = summarize(rend), summarize(conv)
	run.TrianglesPerFrame = round3(float64(tris) / float64(cfg.Frames))
	return run, nil
}

// cpuTime is the process's user and system CPU time, or -1 where it
// cannot be read.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB is the process's peak resident set (VmHWM), or 0 where
// /proc is not available.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err == nil {
					return round3(kb / 1024)
				}
			}
		}
	}
	return 0
}

// WriteRenderTable prints the models' load figures and render times.
func WriteRenderTable(w io.Writer, models []RenderModel) error {
	for _, m := range models {
		if _, err := fmt.Fprintf(w, "%s: %d triangles", m.Name, m.Triangles); err != nil {
			return err
		}
		if m.LoadMS > 0 {
			fmt.Fprintf(w, ", loaded in %.0f ms (%.2f MB file, %.1f MB allocated, %.1f MB held, peak RSS %.0f MB)", m.LoadMS, m.FileMB, m.AllocMB, m.ModelMB, m.PeakRSSMB)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %-10s %-9s %12s %11s %11s %11s %12s %9s\n", "size", "mode", "tris/frame", "render p50", "render p99", "convert p50", "CPU / frame", "max fps")
		for _, r := range m.Runs {
			fps := 0.0
			if t := r.Render.P50 + r.Convert.P50; t > 0 {
				fps = 1000 / t
			}
			fmt.Fprintf(w, "  %-10s %-9s %12.0f %8.1f ms %8.1f ms %8.1f ms %9.1f ms %9.1f\n", fmt.Sprintf("%dx%d", r.Width, r.Height), r.Mode, r.TrianglesPerFrame, r.Render.P50, r.Render.P99, r.Convert.P50, r.CPUPerFrameMS, fps)
		}
	}
	_, err := fmt.Fprintln(w, "render: GL drawing and readback per side-by-side frame; convert: RGBA to I420; CPU: process CPU time per frame (all threads); max fps: 1000/(render+convert) p50 on one worker")
	return err
}
