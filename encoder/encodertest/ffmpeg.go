package encodertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/holocast/holocast/encoder"
)

// NeedFFmpeg skips the test when ffmpeg or ffprobe is not installed.
func NeedFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found in PATH (%v); install ffmpeg to run the decode checks", tool, err)
		}
	}
}

// WriteStream concatenates the access units into an Annex-B file.
func WriteStream(t testing.TB, aus []encoder.AccessUnit) string {
	t.Helper()
	var buf bytes.Buffer
	for _, au := range aus {
		buf.Write(au.Data)
	}
	path := filepath.Join(t.TempDir(), "stream.h264")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// FFmpegDecode fully decodes the file and fails on any error output.
func FFmpegDecode(t testing.TB, path string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "h264", "-i", path, "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decode failed: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("ffmpeg decode reported errors:\n%s", stderr.String())
	}
}

// DecodesAll writes the access units to a file, decodes it fully with
// ffmpeg (failing on any error output) and checks that ffprobe counts
// want frames in it; it returns what ffprobe reports. The caller skips
// with NeedFFmpeg first.
func DecodesAll(t testing.TB, aus []encoder.AccessUnit, want int) ProbeStream {
	t.Helper()
	path := WriteStream(t, aus)
	FFmpegDecode(t, path)
	ps := FFprobe(t, path)
	if ps.NbReadFrames != strconv.Itoa(want) {
		t.Errorf("ffprobe counted %s frames, want %d", ps.NbReadFrames, want)
	}
	return ps
}

// ProbeStream is what ffprobe reports of a video stream.
type ProbeStream struct {
	CodecName    string `json:"codec_name"`
	Profile      string `json:"profile"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	NbReadFrames string `json:"nb_read_frames"`
}

// FFprobe returns the first video stream's properties, frames counted.
func FFprobe(t testing.TB, path string) ProbeStream {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-f", "h264", "-count_frames",
		"-select_streams", "v:0",
		"-show_entries", "stream=codec_name,profile,width,height,nb_read_frames",
		"-of", "json", path).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("ffprobe: %v\n%s", err, stderr)
	}
	var res struct {
		Streams []ProbeStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("ffprobe found %d video streams, want 1: %s", len(res.Streams), out)
	}
	return res.Streams[0]
}
