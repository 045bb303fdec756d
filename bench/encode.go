package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/builtin"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/glrender"
)

// EncodeConfig configures Encode.
type EncodeConfig struct {
	Width, Height, FPS, BitRate int
	// Preset is the x264 preset ("" means encoder.DefaultPreset).
	Preset string
	// Frames is how many frames are rendered and encoded; 0 means 120.
	Frames int
	// Trace, if set, is the head motion the frames are rendered from;
	// otherwise the head turns at 90°/s.
	Trace       string
	TraceFormat string
	// FFmpeg is the ffmpeg executable; "" means "ffmpeg" on PATH.
	FFmpeg string
}

// EncodeResult compares the project's encoder with ffmpeg's libx264 on the
// same rendered frames.
type EncodeResult struct {
	Frames  int    `json:"frames"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	FPS     int    `json:"fps"`
	BitRate int    `json:"bitrate"`
	Preset  string `json:"preset"`
	Backend string `json:"backend"`
	// RenderMS is the mean render+readback+convert time per frame.
	RenderMS float64 `json:"render_ms"`
	// ProjectS is the project's wall clock for builtin.New, every Encode
	// and Close; ProjectFPS is frames per second of Encode calls alone.
	ProjectS     float64 `json:"project_s"`
	ProjectFPS   float64 `json:"project_fps"`
	ProjectEncMS float64 `json:"project_encode_ms_mean"`
	ProjectKbps  float64 `json:"project_kbps"`
	// FFmpegS is ffmpeg's real time for all frames, FFmpegStartS for the
	// first frame alone (start-up, set-up, flush); FFmpegFPS is its
	// steady-state rate, (frames-1) / (FFmpegS - FFmpegStartS).
	FFmpegS      float64 `json:"ffmpeg_s"`
	FFmpegStartS float64 `json:"ffmpeg_startup_s"`
	FFmpegFPS    float64 `json:"ffmpeg_fps"`
	FFmpegKbps   float64 `json:"ffmpeg_kbps"`
	FFmpegArgs   string  `json:"ffmpeg_args"`
	// ThroughputRatio is ProjectFPS / FFmpegFPS (above 1: the project's
	// path is faster).
	ThroughputRatio float64 `json:"throughput_ratio"`
	// ProjectCPUMS and FFmpegCPUMS are CPU time (user + system, all
	// threads) per frame; CPURatio is FFmpegCPUMS / ProjectCPUMS. They
	// are steadier than wall-clock rates on a busy machine.
	ProjectCPUMS float64 `json:"project_cpu_ms"`
	FFmpegCPUMS  float64 `json:"ffmpeg_cpu_ms"`
	CPURatio     float64 `json:"cpu_ratio"`
}

// Encode renders cfg.Frames frames with the project's GL renderer, then
// encodes them with the project's encoder (its own x264 binding) and
// with `ffmpeg -c:v libx264` at the same preset, zerolatency tune, bit rate,
// VBV and key frame interval, and compares their throughput. ffmpeg's time
// rate is its steady state: its measured real time (-benchmark rtime) for
// all frames minus that for one frame (process start-up, libx264 set-up
// and flush); the project's rate is likewise that of its Encode calls.
func Encode(ctx context.Context, cfg EncodeConfig) (*EncodeResult, error) {
	cfg, ffPath, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var m *motion
	if cfg.Trace != "" {
		if m, err = loadMotion(cfg.Trace, cfg.TraceFormat); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	frames, renderMS, err := renderFrames(ctx, cfg, m)
	if err != nil {
		return nil, err
	}
	res := &EncodeResult{Frames: cfg.Frames, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.BitRate,
		Preset: cfg.Preset, Backend: builtin.Name, RenderMS: round3(renderMS)}
	if err := encodeProject(cfg, frames, res); err != nil {
		return nil, err
	}
	if err := encodeFFmpeg(ctx, cfg, ffPath, frames, res); err != nil {
		return nil, err
	}
	if res.FFmpegCPUMS > 0 && res.ProjectCPUMS > 0 {
		res.CPURatio = round3(res.FFmpegCPUMS / res.ProjectCPUMS)
	}
	return res, nil
}

// withDefaults checks cfg, fills in its defaults and finds ffmpeg.
func (cfg EncodeConfig) withDefaults() (EncodeConfig, string, error) {
	if cfg.Frames <= 0 {
		cfg.Frames = 120
	}
	if cfg.Preset == "" {
		cfg.Preset = encoder.DefaultPreset
	}
	if cfg.FPS <= 0 || cfg.BitRate <= 0 || cfg.Width < 64 || cfg.Height < 64 || cfg.Width%2 != 0 || cfg.Height%2 != 0 {
		return cfg, "", fmt.Errorf("bench: encode %dx%d at %d fps, %d bit/s: want an even size of at least 64x64 and a positive rate", cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate)
	}
	ff := cfg.FFmpeg
	if ff == "" {
		ff = "ffmpeg"
	}
	ffPath, err := exec.LookPath(ff)
	if err != nil {
		return cfg, "", fmt.Errorf("%w: %w", ErrNoFFmpeg, err)
	}
	return cfg, ffPath, nil
}

// encodeProject encodes frames with the project's encoder and fills in
// the Project* figures of res.
func encodeProject(cfg EncodeConfig, frames []*render.Frame, res *EncodeResult) error {
	start := time.Now()
	enc, err := builtin.New(encoder.Config{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.BitRate, Preset: cfg.Preset})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var bytesOut int
	var encTime time.Duration
	cpu0 := processCPU()
	for _, f := range frames {
		t := time.Now()
		au, err := enc.Encode(f)
		encTime += time.Since(t)
		if err != nil {
			_ = enc.Close()
			return fmt.Errorf("bench: encode: %w", err)
		}
		bytesOut += len(au.Data)
	}
	if c := processCPU() - cpu0; c > 0 {
		res.ProjectCPUMS = round3(ms(c) / float64(cfg.Frames))
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("bench: encoder close: %w", err)
	}
	dur := float64(cfg.Frames) / float64(cfg.FPS)
	res.ProjectS = round3(time.Since(start).Seconds())
	res.ProjectFPS = round3(float64(cfg.Frames) / encTime.Seconds())
	res.ProjectEncMS = round3(ms(encTime) / float64(cfg.Frames))
	res.ProjectKbps = round3(float64(bytesOut) * 8 / dur / 1000)
	return nil
}

// encodeFFmpeg encodes the same frames with ffmpeg's libx264, piped raw:
// once with the first frame only (start-up, set-up and flush) and once with
// all; the difference is its steady-state encoding time. It fills in the
// FFmpeg* figures and the throughput ratio of res.
func encodeFFmpeg(ctx context.Context, cfg EncodeConfig, ffPath string, frames []*render.Frame, res *EncodeResult) error {
	dir, err := os.MkdirTemp("", "holocast-bench-encode")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	out := filepath.Join(dir, "ffmpeg.h264")
	args := ffmpegArgs(cfg, out)
	res.FFmpegArgs = "ffmpeg " + strings.Join(args[:len(args)-1], " ") + " OUT.h264"
	one, oneCPU, err := runFFmpeg(ctx, ffPath, args, dir, frames[:1])
	if err != nil {
		return err
	}
	all, allCPU, err := runFFmpeg(ctx, ffPath, args, dir, frames)
	if err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	steady := all - one
	if steady <= 0 || cfg.Frames < 2 {
		steady = all
	}
	n := max(cfg.Frames-1, 1)
	dur := float64(cfg.Frames) / float64(cfg.FPS)
	res.FFmpegS = round3(all.Seconds())
	res.FFmpegStartS = round3(one.Seconds())
	res.FFmpegFPS = round3(float64(n) / steady.Seconds())
	res.FFmpegKbps = round3(float64(st.Size()) * 8 / dur / 1000)
	res.ThroughputRatio = round3(res.ProjectFPS / res.FFmpegFPS)
	if c := allCPU - oneCPU; c > 0 {
		res.FFmpegCPUMS = round3(ms(c) / float64(n))
	}
	return nil
}

// ffmpegArgs are ffmpeg's arguments for the project's encoder settings,
// reading raw frames from IN and writing Annex-B to out.
func ffmpegArgs(cfg EncodeConfig, out string) []string {
	keyint := encoder.DefaultKeyFrameSeconds * cfg.FPS
	// The project's x264 binding sets VBV max rate = the ABR rate, a
	// buffer of two frame intervals (x264.VBVFrames), the baseline profile,
	// one reference and periodic intra refresh with the key frame interval
	// as its period.
	bufsize := int64(cfg.BitRate) * 2 / int64(cfg.FPS)
	return []string{"-hide_banner", "-nostdin", "-nostats", "-benchmark",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height), "-r", strconv.Itoa(cfg.FPS), "-i", "IN",
		"-c:v", "libx264", "-preset", cfg.Preset, "-tune", "zerolatency", "-profile:v", "baseline", "-b:v", strconv.Itoa(cfg.BitRate),
		"-maxrate", strconv.Itoa(cfg.BitRate), "-bufsize", strconv.FormatInt(bufsize, 10), "-g", strconv.Itoa(keyint), "-bf", "0",
		"-intra-refresh", "1", "-refs", "1", "-f", "h264", "-y", out}
}

// runFFmpeg writes frames to a raw file in dir, runs ffmpeg on it (IN in
// args) and returns its real and CPU (user + system) time as its
// -benchmark line reports them; without that line, the wall clock and 0.
func runFFmpeg(ctx context.Context, path string, args []string, dir string, frames []*render.Frame) (time.Duration, time.Duration, error) {
	in := filepath.Join(dir, "frames.yuv")
	f, err := os.Create(in)
	if err != nil {
		return 0, 0, err
	}
	for _, fr := range frames {
		for _, p := range [][]byte{fr.Y, fr.U, fr.V} {
			if _, err := f.Write(p); err != nil {
				_ = f.Close()
				return 0, 0, err
			}
		}
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = os.Remove(in) }()
	a := append([]string(nil), args...)
	for i := range a {
		if a[i] == "IN" {
			a[i] = in
		}
	}
	cmd := exec.CommandContext(ctx, path, a...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("bench: ffmpeg: %w\n%s", err, tail(stderr.String(), 2000))
	}
	rtime, cpu := time.Since(start), time.Duration(0)
	if mm := rtimeRE.FindStringSubmatch(stderr.String()); mm != nil {
		u, _ := strconv.ParseFloat(mm[1], 64)
		s, _ := strconv.ParseFloat(mm[2], 64)
		r, _ := strconv.ParseFloat(mm[3], 64)
		if r > 0 {
			rtime = time.Duration(r * float64(time.Second))
		}
		cpu = time.Duration((u + s) * float64(time.Second))
	}
	return rtime, cpu, nil
}

var rtimeRE = regexp.MustCompile(`bench: utime=([0-9.]+)s stime=([0-9.]+)s rtime=([0-9.]+)s`)

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// renderFrames renders the frames once, copying each out of the renderer.
func renderFrames(ctx context.Context, cfg EncodeConfig, m *motion) ([]*render.Frame, float64, error) {
	w, err := glrender.NewWorker(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: renderer: %w", err)
	}
	defer func() { _ = w.Close() }()
	r, err := w.NewRenderer(cfg.Width, cfg.Height)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: renderer: %w", err)
	}
	defer func() { _ = r.Close() }()
	dev := render.DefaultDevice(cfg.Width/2, cfg.Height)
	frames := make([]*render.Frame, 0, cfg.Frames)
	var total time.Duration
	for i := 0; i < cfg.Frames; i++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		t := time.Duration(i) * time.Second / time.Duration(cfg.FPS)
		p := pose.Pose{Time: t, Orientation: mgl64.QuatRotate(t.Seconds()*math.Pi/2, mgl64.Vec3{0, 1, 0}), Position: mgl64.Vec3{0, 1.6, 0}}
		if m != nil {
			p.Orientation, p.Position = m.at(t)
			if !m.HasPosition {
				p.Position = mgl64.Vec3{0, 1.6, 0}
			}
		}
		start := time.Now()
		f, err := r.Render(dev.Views(p))
		total += time.Since(start)
		if err != nil {
			return nil, 0, fmt.Errorf("bench: render: %w", err)
		}
		frames = append(frames, &render.Frame{Width: f.Width, Height: f.Height,
			Y: bytes.Clone(f.Y), U: bytes.Clone(f.U), V: bytes.Clone(f.V)})
	}
	return frames, ms(total) / float64(cfg.Frames), nil
}

// WriteEncodeTable prints the comparison.
func WriteEncodeTable(w io.Writer, r *EncodeResult) error {
	_, err := fmt.Fprintf(w, `%d frames %dx%d at %d fps, %d bit/s, preset %s (rendered once: %.1f ms/frame)
  project (%s via mediadevices): %6.1f fps  (%.2f ms/frame; %.3f s with New and Close)  %6.0f kbit/s
  ffmpeg -c:v libx264:           %6.1f fps  (steady state; %.3f s in all, %.3f s for one frame)  %6.0f kbit/s
  throughput ratio project/ffmpeg: %.2f   (CPU per frame: project %.2f ms, ffmpeg %.2f ms, ratio %.2f)
  %s
`, r.Frames, r.Width, r.Height, r.FPS, r.BitRate, r.Preset, r.RenderMS,
		r.Backend, r.ProjectFPS, r.ProjectEncMS, r.ProjectS, r.ProjectKbps,
		r.FFmpegFPS, r.FFmpegS, r.FFmpegStartS, r.FFmpegKbps, r.ThroughputRatio, r.ProjectCPUMS, r.FFmpegCPUMS, r.CPURatio, r.FFmpegArgs)
	return err
}

// processCPU is this process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
