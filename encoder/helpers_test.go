package encoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/holocast/holocast/render"
)

// newFrame allocates an I420 frame with the layout render.Frame promises.
func newFrame(w, h int) *render.Frame {
	return &render.Frame{
		Width: w, Height: h,
		Y: make([]byte, w*h),
		U: make([]byte, w*h/4),
		V: make([]byte, w*h/4),
	}
}

// xorshift is a tiny deterministic PRNG for test content.
type xorshift uint32

func (x *xorshift) next() uint32 {
	v := uint32(*x)
	v ^= v << 13
	v ^= v >> 17
	v ^= v << 5
	*x = xorshift(v)
	return v
}

// movingScene draws frames whose content changes every frame: a gradient
// background scrolling by speed pixels per frame, with a textured overlay
// of the given noise amplitude (0 for smooth), and a box moving diagonally.
type movingScene struct {
	w, h, speed int
	// bg holds the background planes, twice as wide as the frame so that
	// scrolling is a row copy.
	bgY, bgU, bgV []byte
}

func newMovingScene(w, h, speed, noise int) *movingScene {
	s := &movingScene{w: w, h: h, speed: speed}
	rng := xorshift(0x9e3779b9)
	bw := 2 * w
	s.bgY = make([]byte, bw*h)
	for y := 0; y < h; y++ {
		for x := 0; x < bw; x++ {
			// Periodic in x with period w so the wrap-around is seamless.
			xx := x % w
			v := 40 + 150*xx/w + 30*y/h
			if noise > 0 {
				v += int(rng.next()%uint32(2*noise+1)) - noise
			}
			s.bgY[y*bw+x] = clamp(v)
		}
	}
	cw, ch := w/2, h/2
	s.bgU = make([]byte, 2*cw*ch)
	s.bgV = make([]byte, 2*cw*ch)
	for y := 0; y < ch; y++ {
		for x := 0; x < 2*cw; x++ {
			xx := x % cw
			s.bgU[y*2*cw+x] = clamp(128 + 60*xx/cw - 30)
			s.bgV[y*2*cw+x] = clamp(128 - 50*y/ch + 25)
		}
	}
	return s
}

func clamp(v int) byte {
	if v < 16 {
		return 16
	}
	if v > 235 {
		return 235
	}
	return byte(v)
}

// draw renders frame i into f.
func (s *movingScene) draw(f *render.Frame, i int) {
	w, h := s.w, s.h
	off := (i * s.speed) % w
	for y := 0; y < h; y++ {
		copy(f.Y[y*w:(y+1)*w], s.bgY[y*2*w+off:])
	}
	cw, ch, coff := w/2, h/2, off/2
	for y := 0; y < ch; y++ {
		copy(f.U[y*cw:(y+1)*cw], s.bgU[y*2*cw+coff:])
		copy(f.V[y*cw:(y+1)*cw], s.bgV[y*2*cw+coff:])
	}
	// A box a fifth of the height, moving 4 px/frame diagonally.
	bs := h / 5 &^ 1
	bx := (i * 4) % (w - bs) &^ 1
	by := (i * 4) % (h - bs) &^ 1
	for y := by; y < by+bs; y++ {
		for x := bx; x < bx+bs; x++ {
			f.Y[y*w+x] = 200
		}
	}
	for y := by / 2; y < (by+bs)/2; y++ {
		for x := bx / 2; x < (bx+bs)/2; x++ {
			f.U[y*cw+x] = 90
			f.V[y*cw+x] = 200
		}
	}
}

// encodeScene encodes n frames of a moving scene and returns the AUs.
func encodeScene(t testing.TB, enc Encoder, s *movingScene, n int) []AccessUnit {
	t.Helper()
	f := newFrame(s.w, s.h)
	aus := make([]AccessUnit, 0, n)
	for i := 0; i < n; i++ {
		s.draw(f, i)
		au, err := enc.Encode(f)
		if err != nil {
			t.Fatalf("Encode frame %d: %v", i, err)
		}
		aus = append(aus, au)
	}
	return aus
}

// needFFmpeg skips the test when ffmpeg or ffprobe is not installed.
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found in PATH (%v); install ffmpeg to run the decode checks", tool, err)
		}
	}
}

// writeStream concatenates the access units into an Annex-B file.
func writeStream(t *testing.T, aus []AccessUnit) string {
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

// ffmpegDecode fully decodes the file and fails on any error output.
func ffmpegDecode(t *testing.T, path string) {
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

type probeStream struct {
	CodecName    string `json:"codec_name"`
	Profile      string `json:"profile"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	NbReadFrames string `json:"nb_read_frames"`
}

// ffprobeStream returns the first video stream's properties, frames counted.
func ffprobeStream(t *testing.T, path string) probeStream {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-f", "h264", "-count_frames",
		"-select_streams", "v:0",
		"-show_entries", "stream=codec_name,profile,width,height,nb_read_frames",
		"-of", "json", path).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ffprobe: %v\n%s", err, stderr)
	}
	var res struct {
		Streams []probeStream `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("ffprobe found %d video streams, want 1: %s", len(res.Streams), out)
	}
	return res.Streams[0]
}

func sizeName(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }
