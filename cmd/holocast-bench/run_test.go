package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holocast/holocast/pose/trace/corbillon"
)

func TestRunFlags(t *testing.T) {
	if rc, o, _ := run("help", "run"); rc != 0 || !strings.Contains(o, "--impair") || !strings.Contains(o, "--record") || !strings.Contains(o, "--repeat N") {
		t.Errorf("help run: rc %d, %q", rc, o)
	}
	if rc, o, _ := run("encode", "--help"); rc != 0 || !strings.Contains(o, "libx264") {
		t.Errorf("encode --help: rc %d, %q", rc, o)
	}
	tr := writeTrace(t)
	for _, args := range [][]string{
		{"run", "--impair", "fog=3", tr},
		{"run", "--url", "http://127.0.0.1:1/v1/sessions", "--impair", "wifi", tr},
		{"run", "--url", "http://127.0.0.1:1/v1/sessions", "--bitrate", "100", tr},
		{"run", "--token", "abc", tr},
		{"run", "--sessions", "0", tr},
		{"run", "--sessions", "one", tr},
		{"run", "--rate", "-1", tr},
		{"run", "--repeat", "0", tr},
		{"table"},
		{"run", "--duration", "0s", tr},
		{"run", "--width", "321", "--height", "180", tr},
		{"run", "--width", "320", tr},
		{"run", "--bogus", tr},
		{"encode", "--frames", "0"},
		{"encode", "--width", "63"},
		{"encode", "extra"},
	} {
		if rc, _, e := run(args...); rc != 2 || e == "" {
			t.Errorf("%v: rc %d, stderr %q", args, rc, e)
		}
	}
}

// TestRunOutsideTree runs from a directory without the shared traces: the
// head motion built into the binary is replayed.
func TestRunOutsideTree(t *testing.T) {
	t.Chdir(t.TempDir())
	rc, o, e := run("run", "--width", "320", "--height", "180", "--bitrate", "800000",
		"--duration", "1s", "--warmup", "300ms", "--json", "-", "--quiet")
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, e)
	}
	if !strings.Contains(o, corbillon.Prefix) {
		t.Errorf("JSON does not name the built-in traces:\n%s", o)
	}
}

// TestRunCLI runs the command end to end at 320x180 and checks its files.
func TestRunCLI(t *testing.T) {
	dir := t.TempDir()
	js, page, rec := filepath.Join(dir, "out.json"), filepath.Join(dir, "out.html"), filepath.Join(dir, "out.h264")
	rc, o, e := run("run", "--trace", writeTrace(t), "--width", "320", "--height", "180", "--bitrate", "800000",
		"--duration", "1500ms", "--warmup", "300ms", "--rate", "72", "--json", js, "--report", page, "--record", rec)
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, e)
	}
	if !strings.Contains(o, "pose→frame") || !strings.Contains(o, "320x180@30") {
		t.Errorf("table:\n%s", o)
	}
	if !strings.Contains(e, "measuring") {
		t.Errorf("no progress line on stderr: %q", e)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema string `json:"schema"`
		Config struct {
			PoseRateHz int `json:"pose_rate_hz"`
		} `json:"config"`
		Runs []struct {
			FPS         float64 `json:"fps"`
			BitrateKbps float64 `json:"bitrate_kbps"`
			PoseToFrame struct {
				P50, P95, P99 float64
			} `json:"pose_to_frame_ms"`
			Stages map[string]struct{ P50 float64 } `json:"stages_ms"`
			Err    struct{ Mean, P95 float64 }      `json:"prediction_error_deg"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "holocast-bench.run/1" || doc.Config.PoseRateHz != 72 || len(doc.Runs) != 1 {
		t.Fatalf("%s", data)
	}
	r := doc.Runs[0]
	if r.FPS <= 0 || r.BitrateKbps <= 0 || r.PoseToFrame.P50 <= 0 || r.PoseToFrame.P99 < r.PoseToFrame.P50 || r.Err.Mean <= 0 || r.Stages["render"].P50 <= 0 || r.Stages["encode"].P50 <= 0 {
		t.Errorf("figures: %+v", r)
	}
	// The proof table reads the JSON report back.
	rc, o, e = run("table", js, js)
	if rc != 0 || strings.Count(o, "| loopback | 800000 | 1 |") != 2 || !strings.Contains(o, "| link | --bitrate | runs | fps |") {
		t.Errorf("table: rc %d, %s\n%s", rc, e, o)
	}
	if rc, _, e := run("table", page); rc != 1 || e == "" {
		t.Errorf("table of an HTML file: rc %d, %q", rc, e)
	}
	html, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(html), `id="latency-cdf"`) {
		t.Errorf("report: %v", err)
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skipf("ffprobe not installed: %v", err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,nb_read_frames", "-of", "csv=p=0", rec).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "h264,320,") {
		t.Errorf("ffprobe: %v %q", err, out)
	}
}

func TestEncodeCLI(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skipf("ffmpeg not installed: %v", err)
	}
	js := filepath.Join(t.TempDir(), "enc.json")
	rc, o, e := run("encode", "--width", "320", "--height", "180", "--frames", "30", "--bitrate", "800000", "--json", js)
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, e)
	}
	if !strings.Contains(o, "throughput ratio") {
		t.Errorf("output: %s", o)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Frames     int     `json:"frames"`
		ProjectFPS float64 `json:"project_fps"`
		FFmpegFPS  float64 `json:"ffmpeg_fps"`
		Ratio      float64 `json:"throughput_ratio"`
		ProjKbps   float64 `json:"project_kbps"`
		FFKbps     float64 `json:"ffmpeg_kbps"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Frames != 30 || res.ProjectFPS <= 0 || res.FFmpegFPS <= 0 || res.Ratio <= 0 || res.ProjKbps <= 0 || res.FFKbps <= 0 {
		t.Errorf("%s", data)
	}
}

// TestRunInterruptedCLI: a cancelled run still prints its table and exits 130.
func TestRunInterruptedCLI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	rc := runRun(ctx, []string{"--trace", writeTrace(t), "--width", "320", "--height", "180", "--duration", "1s"}, &out, &errb)
	if rc != 130 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("rc %d, out %q, err %q", rc, out.String(), errb.String())
	}
}
