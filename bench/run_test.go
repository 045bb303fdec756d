package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/scene/scenetest"
)

var update = flag.Bool("update", false, "rewrite testdata/run_fields.golden")

// smallRun is the configuration of the tests' runs: 320×180 at 30 fps.
func smallRun(t *testing.T) Config {
	return Config{Sessions: []int{1}, Duration: 2500 * time.Millisecond, Warmup: 500 * time.Millisecond,
		Traces: []string{writeTrace(t)}, Width: 320, Height: 180, FPS: 30, BitRate: 1_000_000,
		DisplayDelay: 16 * time.Millisecond}
}

// TestRunLoopback is the end-to-end proof on loopback: an embedded node,
// one simulated headset, every figure present and sane, the JSON field
// list stable, the HTML report with its charts, and the recorded stream
// decodable by ffprobe.
func TestRunLoopback(t *testing.T) {
	var (
		rep  *Report
		rec  bytes.Buffer
		wall time.Duration
	)
	// The frame-rate check needs an idle machine; when something else
	// (another package's tests) starves this run, measure once more.
	for attempt := 1; ; attempt++ {
		cfg := smallRun(t)
		rec.Reset()
		cfg.Record = &rec
		start := time.Now()
		var err error
		rep, err = Run(context.Background(), cfg)
		wall = time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Runs[0]
		if attempt == 3 || (r.FPS >= 27 && r.FPS <= 33 && r.FreezeCount == 0) {
			break
		}
		t.Logf("attempt %d: fps %.1f, %d freezes (%v ms): busy machine, measuring again", attempt, r.FPS, r.FreezeCount, r.FreezeMS)
	}
	if rep.Interrupted || len(rep.Runs) != 1 {
		t.Fatalf("interrupted %v, %d runs", rep.Interrupted, len(rep.Runs))
	}
	r := rep.Runs[0]
	t.Logf("fps %.1f, pose→frame %+v, stages %+v, err %+v, kbps %.0f", r.FPS, r.PoseToFrameMS, r.StagesMS, r.PredictionErrorDeg, r.BitrateKbps)
	if r.Sessions != 1 || r.Width != 320 || r.Height != 180 || r.FPSTarget != 30 || r.Encoder == "" || r.Renderer == "" || r.Predictor == "" {
		t.Errorf("run header %+v", r)
	}
	if r.WindowS < 2.4 || r.WindowS > 3.5 {
		t.Errorf("window %v s", r.WindowS)
	}
	p := r.PoseToFrameMS
	if p.Count < 40 || p.P50 <= 0 || p.P50 > p.P95 || p.P95 > p.P99 || p.P99 > p.Max || p.Max > ms(wall) {
		t.Errorf("pose_to_frame_ms %+v (run wall clock %v)", p, wall)
	}
	// Never faster than the tick grid (no bursts, no catching up); at
	// least half the target even when other packages' tests (run in
	// parallel by go test) starve this one. How close to 30 an idle
	// machine gets is the benchmark's to measure (holocast-bench run), not
	// a unit test's.
	if r.FPS < 15 || r.FPS > 33 {
		t.Errorf("fps %.2f: want at most 33 and at least 15 (target 30)", r.FPS)
	}
	for name, d := range map[string]Dist{"render": r.StagesMS.Render, "convert": r.StagesMS.Convert, "encode": r.StagesMS.Encode, "send": r.StagesMS.Send, "pose_age": r.StagesMS.PoseAge} {
		if d.Count != p.Count || d.P50 < 0 || d.P50 > p.Max || (name != "pose_age" && name != "send" && d.P50 <= 0) {
			t.Errorf("stage %s %+v", name, d)
		}
	}
	if e := r.PredictionErrorDeg; e.Count != p.Count || e.Mean <= 0 || e.Mean > 20 || e.P95 < e.P50 {
		t.Errorf("prediction_error_deg %+v", e)
	}
	if r.PredictionErrorCM.Count != p.Count {
		t.Errorf("prediction_error_cm %+v", r.PredictionErrorCM)
	}
	if r.BitrateKbps < 300 || r.BitrateKbps > 3000 {
		t.Errorf("bitrate_kbps %.0f for a 1000 kbit/s encoder", r.BitrateKbps)
	}
	if r.FramesLost != 0 || r.FramesUnmatched != 0 || r.FramesReceived != p.Count {
		t.Errorf("losses on loopback: lost %d, unmatched %d, received %d of %d", r.FramesLost, r.FramesUnmatched, r.FramesReceived, p.Count)
	}
	if len(r.PerSession) != 1 || r.PerSession[0].PosesSent < 100 {
		t.Errorf("per_session %+v", r.PerSession)
	}
	checkSeries(t, r, 1000)
	if v := r.Verdict; v == nil || len(v.Targets) != 4 || v.Targets[0].Name != "fps" || v.Targets[1].Name != "ramp" || v.RampS == 0 {
		t.Errorf("verdict %+v", r.Verdict)
	}

	// The JSON field list is stable.
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "run_fields.golden", "JSON fields", strings.Join(fieldPaths("", doc), "\n")+"\n")

	// The report holds its charts and fetches nothing.
	var page bytes.Buffer
	if err := WriteReport(&page, rep); err != nil {
		t.Fatal(err)
	}
	h := page.String()
	for _, id := range []string{`id="net-0-0-rate"`, `id="net-0-0-loss"`, `id="net-0-0-fps"`, `id="net-0-0-res"`, `id="latency-cdf"`, `id="fps-over-time"`, `id="prediction-error-cdf"`, `id="prediction-error-0"`, `id="stage-timeline-0"`, "<polyline", "<rect"} {
		if !strings.Contains(h, id) {
			t.Errorf("report lacks %s", id)
		}
	}
	for _, bad := range []string{"<script", "<link", "http://", "https://", "NaN"} {
		if strings.Contains(h, bad) {
			t.Errorf("report contains %q", bad)
		}
	}

	// The recorded stream decodes.
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skipf("ffprobe not installed: %v", err)
	}
	file := filepath.Join(t.TempDir(), "rec.h264")
	if err := os.WriteFile(file, rec.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(f) != 4 || f[0] != "h264" || f[1] != "320" || f[2] != "180" {
		t.Fatalf("ffprobe: %q", out)
	}
	if n, _ := strconv.Atoi(f[3]); n < p.Count {
		t.Errorf("ffprobe decoded %d frames, %d received in the window alone", n, p.Count)
	}
}

// checkSeries checks the series of run r's sessions from an embedded
// node with an encoder bit rate of maxKbps: points about every 250 ms
// from the headsets connecting to the window's end, frames arriving, the node's
// estimate and the encoder's target within the node's bounds, the
// frames' size.
func checkSeries(t *testing.T, r *RunResult, maxKbps float64) {
	t.Helper()
	for k, s := range r.PerSession {
		ps := s.Series
		end := r.WindowStartS + r.WindowS
		if ps[0].TS > r.ConnectedS+0.5 || ps[len(ps)-1].TS < end-0.3 {
			t.Errorf("session %d: %d points, the last at %v s, for a run of %.2f s", k, len(ps), ps[len(ps)-1].TS, end)
			continue
		}
		var delivered, fps float64
		estimated := false
		for i, p := range ps {
			// A point every 250 ms; a starved machine delays some (the
			// ticker drops the ticks it missed), never by a second.
			if i > 0 && (p.TS <= ps[i-1].TS || p.TS-ps[i-1].TS > 1) {
				t.Errorf("session %d: point %d at %v s after %v s", k, i, p.TS, ps[i-1].TS)
			}
			delivered, fps = max(delivered, p.DeliveredKbps), max(fps, p.FPS)
			if p.TargetKbps > 0 {
				estimated = true
				floor := float64(node.MinBitRate) / 1000
				if p.EncoderKbps < floor || p.EncoderKbps > maxKbps || p.EncoderKbps > max(p.TargetKbps, floor) {
					t.Errorf("session %d at %v s: encoder target %v kbit/s for an estimate of %v", k, p.TS, p.EncoderKbps, p.TargetKbps)
				}
			}
		}
		// The embedded node runs the degradation ladder (as holocast-node):
		// on a narrow link or a busy machine it renders smaller than asked,
		// never larger.
		last := ps[len(ps)-1]
		if !estimated || delivered <= 0 || fps <= 0 || last.Width <= 0 || last.Height <= 0 || last.Width > r.Width || last.Height > r.Height {
			t.Errorf("session %d: estimate seen %v, delivered up to %v kbit/s, fps up to %v, last frame %dx%d", k, estimated, delivered, fps, last.Width, last.Height)
		}
	}
}

// fieldPaths lists the JSON object keys of v as dotted paths; arrays
// contribute their first element as "[]".
// checkGolden compares got with testdata/file (writing it first with
// -update) and reports what changed, named what.
func checkGolden(t *testing.T, file, what, got string) {
	t.Helper()
	golden := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s changed (run with -update if intended):\n%s", what, got)
	}
}

func fieldPaths(prefix string, v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, p)
			out = append(out, fieldPaths(p, e)...)
		}
	case []any:
		if len(x) > 0 {
			out = append(out, fieldPaths(prefix+"[]", x[0])...)
		}
	}
	sort.Strings(out)
	return out
}

// TestRunInterrupted: cancelling (Ctrl-C) stops the run promptly and
// still returns what was measured.
func TestRunInterrupted(t *testing.T) {
	cfg := smallRun(t)
	cfg.Duration = time.Minute
	cfg.Sessions = []int{1, 2}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Stop (as Ctrl-C does) once the progress line has reported the
	// measurement running for a second.
	prog := &cancelWriter{cancel: cancel, after: 2}
	cfg.Progress = prog
	start := time.Now()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("stopping took until %v", d)
	}
	if !rep.Interrupted || len(rep.Runs) != 1 || !rep.Runs[0].Interrupted {
		t.Fatalf("interrupted %v, runs %d", rep.Interrupted, len(rep.Runs))
	}
	r := rep.Runs[0]
	if r.WindowS <= 0 || r.WindowS > 5 || r.PoseToFrameMS.Count == 0 || r.FPS <= 0 {
		t.Errorf("partial run: window %v s, %+v, fps %v", r.WindowS, r.PoseToFrameMS, r.FPS)
	}
	if !strings.Contains(prog.b.String(), "sessions 1") || !strings.Contains(prog.b.String(), "measuring") {
		t.Errorf("progress: %q", prog.b.String())
	}
	var tab bytes.Buffer
	if err := WriteTable(&tab, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "interrupted") {
		t.Errorf("table: %s", tab.String())
	}
}

// cancelWriter records progress lines and cancels after the given number
// of "measuring" lines.
type cancelWriter struct {
	b      bytes.Buffer
	n      int
	after  int
	cancel func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("measuring")) {
		if w.n++; w.n == w.after {
			w.cancel()
		}
	}
	return w.b.Write(p)
}

// TestRunScene: the embedded node shows a model given as Scene, and a file
// it cannot load is a clear error before any headset connects.
func TestRunScene(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "parts.glb"), filepath.Join(dir, "bad.glb")
	if err := os.WriteFile(good, scenetest.Spheres(9, 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := smallRun(t)
	cfg.Scene = bad
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "bad.glb") {
		t.Fatalf("bad scene: %v", err)
	}
	cfg.Scene = good
	cfg.URL = "http://127.0.0.1:1/v1/sessions"
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "embedded") {
		t.Fatalf("scene with URL: %v", err)
	}
	cfg.URL = ""
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Runs[0]; r.FPS < 5 {
		t.Errorf("%.1f fps with a scene", r.FPS)
	}
}

// TestRunDisplay: with a simulated 60 Hz display the headset sends its
// DisplayTiming, the node aims its frames at the display's vsyncs, and
// motion-to-photon runs to the vsync that shows each frame: never less
// than pose-to-frame plus the display's lead. At 10 fps, so that the
// node's work fits a frame interval (it aims only then) even on a busy
// machine.
func TestRunDisplay(t *testing.T) {
	cfg := smallRun(t)
	cfg.FPS = 10
	cfg.DisplayRate, cfg.DisplayLead = 60, 4*time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	t.Logf("aimed %d of %d, on target %d; pose→frame %+v; motion-to-photon %+v", r.FramesAimed, r.FramesReceived, r.FramesOnTarget, r.PoseToFrameMS, r.MotionToPhotonMS)
	if rep.Config.DisplayRateHz != 60 || rep.Config.DisplayLeadMS != 4 || !rep.Config.DisplayTiming {
		t.Errorf("config %+v", rep.Config)
	}
	if r.FramesReceived == 0 || r.FramesAimed < r.FramesReceived/2 {
		t.Errorf("%d of %d frames aimed at a display time, want at least half", r.FramesAimed, r.FramesReceived)
	}
	if r.FramesOnTarget > r.FramesAimed {
		t.Errorf("%d frames on target of %d aimed", r.FramesOnTarget, r.FramesAimed)
	}
	m, p := r.MotionToPhotonMS, r.PoseToFrameMS
	if m.Count != p.Count || m.P50 < p.P50+4 || m.Max > p.Max+4+1000.0/60+1 {
		t.Errorf("motion-to-photon %+v for pose-to-frame %+v: want pose-to-frame + 4 ms lead + up to one refresh", m, p)
	}
}

// TestRunDisplaySilent: with --no-display-timing the display shows frames
// at its vsyncs but the node, never told, aims none.
func TestRunDisplaySilent(t *testing.T) {
	cfg := smallRun(t)
	cfg.DisplayRate, cfg.NoDisplayTiming = 60, true
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Runs[0]
	if rep.Config.DisplayTiming || r.FramesAimed != 0 || r.FramesReceived == 0 || r.MotionToPhotonMS.Count != r.PoseToFrameMS.Count {
		t.Errorf("display_timing %v, aimed %d of %d, motion-to-photon %+v", rep.Config.DisplayTiming, r.FramesAimed, r.FramesReceived, r.MotionToPhotonMS)
	}
}
