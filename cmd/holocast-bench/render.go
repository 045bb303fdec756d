package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/holocast/holocast/bench"
)

func init() {
	commands["render"] = &command{
		summary: "render-only throughput of models: ms/frame, triangles drawn, load time and memory",
		run:     runRender,
		usage:   renderUsage,
	}
}

func renderUsage(w io.Writer) {
	fmt.Fprint(w, `usage: holocast-bench render [--scene FILE|builtin]... [--generate 10k,100k,1M]
                             [--sizes 1280x720,1920x1080 | --width W --height H]
                             [--modes all,cull,cull+lod] [--frames N] [--scene-fit auto|none]
                             [--lod-error PX] [--json FILE]

Loads each model as the node does (decode, chunks, levels of detail) and
renders it with the node's GL renderer, side by side, with the head turning
±20°, without encoding or network: the render stage's cost for a model, to
size a node before deploying it. Prints per model its triangles, load time,
memory allocated while loading, memory the model holds and the process's
peak resident memory, then per size and mode the triangles drawn per frame
(both eyes) and render and convert times.

flags:
  --scene FILE       a .gltf/.glb model, or builtin; repeatable
                     (default builtin when no --generate is given)
  --generate LIST    generated sphere assemblies of about 10k, 100k and/or 1M
                     triangles (the project's render benchmarks' models)
  --sizes LIST       side-by-side frame sizes (default 1280x720)
  --width, --height  one frame size (instead of --sizes)
  --modes LIST       all (draw every triangle), cull (frustum culling),
                     cull+lod (culling and level of detail; the node's way)
                     (default cull+lod)
  --frames N         measured frames per size and mode (default 60)
  --scene-fit MODE   auto: scale models to 1.5 m, 2 m ahead (the node's default);
                     none: keep the file's units (default auto)
  --lod-error PX     largest screen-space error of level of detail, pixels
                     (default: the renderer's, 1)
  --json FILE        also write the figures as JSON ("-": stdout instead of the table)
`)
}

func runRender(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var scenes multiFlag
	fs.Var(&scenes, "scene", "")
	generate := fs.String("generate", "", "")
	sizes := fs.String("sizes", "1280x720", "")
	width := fs.Int("width", 0, "")
	height := fs.Int("height", 0, "")
	modes := fs.String("modes", bench.ModeCullLOD, "")
	frames := fs.Int("frames", 60, "")
	fit := fs.String("scene-fit", "auto", "")
	lodErr := fs.Float64("lod-error", 0, "")
	jsonOut := fs.String("json", "", "")
	pos, code := parseInterleaved(fs, args, "render", renderUsage, stdout, stderr)
	if code >= 0 {
		return code
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "holocast-bench render: "+format+"\n", a...)
		return 2
	}
	if len(pos) > 0 {
		return bad("unexpected argument %q", pos[0])
	}
	cfg := bench.RenderConfig{Scenes: scenes, Frames: *frames, LODPixelError: *lodErr}
	if *generate != "" {
		cfg.Generate = strings.Split(*generate, ",")
		for _, g := range cfg.Generate {
			if _, ok := bench.Generated[g]; !ok {
				return bad("--generate: unknown model %q (want 10k, 100k or 1M)", g)
			}
		}
	}
	if len(cfg.Scenes) == 0 && len(cfg.Generate) == 0 {
		cfg.Scenes = []string{"builtin"}
	}
	switch *fit {
	case "auto":
	case "none":
		cfg.FitNone = true
	default:
		return bad("--scene-fit %q: want auto or none", *fit)
	}
	if *width != 0 || *height != 0 {
		cfg.Sizes = [][2]int{{*width, *height}}
	} else {
		for _, s := range strings.Split(*sizes, ",") {
			w, h, ok := strings.Cut(s, "x")
			wi, err1 := strconv.Atoi(w)
			hi, err2 := strconv.Atoi(h)
			if !ok || err1 != nil || err2 != nil {
				return bad("--sizes: %q is not WxH", s)
			}
			cfg.Sizes = append(cfg.Sizes, [2]int{wi, hi})
		}
	}
	for _, sz := range cfg.Sizes {
		if sz[0] < 64 || sz[1] < 64 || sz[0] > 8192 || sz[1] > 8192 || sz[0]%4 != 0 || sz[1]%2 != 0 {
			return bad("size %dx%d: want a width that is a multiple of 4 and an even height, 64 to 8192", sz[0], sz[1])
		}
	}
	for _, m := range strings.Split(*modes, ",") {
		if m != bench.ModeAll && m != bench.ModeCull && m != bench.ModeCullLOD {
			return bad("--modes: unknown mode %q (want all, cull or cull+lod)", m)
		}
		cfg.Modes = append(cfg.Modes, m)
	}
	if cfg.Frames < 1 || cfg.Frames > 100000 {
		return bad("--frames %d: want 1 to 100000", cfg.Frames)
	}
	if *lodErr < 0 || *lodErr > 1000 {
		return bad("--lod-error %g: want 0 to 1000 pixels", *lodErr)
	}
	res, err := bench.Render(signalContext(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "holocast-bench render: %v\n", err)
		if len(res) == 0 {
			return 1
		}
	}
	if *jsonOut != "-" {
		if werr := bench.WriteRenderTable(stdout, res); werr != nil {
			return 1
		}
	}
	if *jsonOut != "" {
		if werr := writeFile(*jsonOut, stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}); werr != nil {
			fmt.Fprintf(stderr, "holocast-bench render: --json: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		return 1
	}
	return 0
}
