package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/holocast/holocast/bench"
	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/builtin"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/pose/trace"
	"github.com/holocast/holocast/render"
)

func init() {
	commands["encode"] = &command{
		summary: "compare the project's H.264 encoder with ffmpeg's libx264 on rendered frames",
		run:     runEncode,
		usage:   encodeUsage,
	}
}

func encodeUsage(w io.Writer) {
	fmt.Fprintf(w, `usage: holocast-bench encode [--width W --height H] [--fps N] [--bitrate BPS] [--preset P]
                             [--frames N] [--trace FILE] [--ffmpeg PATH] [--json FILE]

Renders N frames once with the node's GL renderer, then encodes the same
frames with the project's encoder (%s) and with ffmpeg -c:v libx264 at the
same preset, -tune zerolatency, bit rate, VBV and key frame interval, and
prints both throughputs and their ratio (project fps / ffmpeg fps).

flags:
  --width, --height  frame size (default %dx%d)
  --fps N            frame rate the rate control assumes (default %d)
  --bitrate BPS      target bit rate (default %d)
  --preset P         x264 preset (default %s)
  --frames N         frames to encode (default 120; they are kept in memory)
  --trace FILE       render the frames from this head-motion trace (default: a 90°/s turn)
  --format FORMAT    trace format (default auto)
  --ffmpeg PATH      ffmpeg executable (default: ffmpeg on PATH)
  --json FILE        also write the result as JSON ("-": stdout instead of the text)
`, builtin.Name, render.DefaultWidth, render.DefaultHeight, node.DefaultFPS, node.DefaultBitRate, encoder.DefaultPreset)
}

func runEncode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("encode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := bench.EncodeConfig{}
	fs.IntVar(&cfg.Width, "width", render.DefaultWidth, "")
	fs.IntVar(&cfg.Height, "height", render.DefaultHeight, "")
	fs.IntVar(&cfg.FPS, "fps", node.DefaultFPS, "")
	fs.IntVar(&cfg.BitRate, "bitrate", node.DefaultBitRate, "")
	fs.StringVar(&cfg.Preset, "preset", encoder.DefaultPreset, "")
	fs.IntVar(&cfg.Frames, "frames", 120, "")
	fs.StringVar(&cfg.Trace, "trace", "", "")
	fs.StringVar(&cfg.TraceFormat, "format", trace.FormatAuto, "")
	fs.StringVar(&cfg.FFmpeg, "ffmpeg", "", "")
	jsonOut := fs.String("json", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			encodeUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "holocast-bench encode: %v\n", err)
		encodeUsage(stderr)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "holocast-bench encode: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.Frames < 1 || cfg.Frames > 10000 || cfg.FPS < 1 || cfg.BitRate < 1 || cfg.Width < 64 || cfg.Height < 64 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		fmt.Fprintln(stderr, "holocast-bench encode: want an even size of at least 64x64, and positive --fps, --bitrate and --frames (at most 10000)")
		return 2
	}
	res, err := bench.Encode(signalContext(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "holocast-bench encode: %v\n", err)
		return 1
	}
	if *jsonOut != "-" {
		if err := bench.WriteEncodeTable(stdout, res); err != nil {
			return 1
		}
	}
	if *jsonOut != "" {
		if err := writeFile(*jsonOut, stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		}); err != nil {
			fmt.Fprintf(stderr, "holocast-bench encode: --json: %v\n", err)
			return 1
		}
	}
	return 0
}
