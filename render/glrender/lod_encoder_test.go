//go:build egl && cgo

package glrender

import (
	"bytes"
	"math"
	"os/exec"
	"testing"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/encoder/x264"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// lodEncoderBitRate is the node's default H.264 bit rate
// (node.DefaultBitRate) at which the picture is streamed.
const lodEncoderBitRate = 4_000_000

// TestLODErrorBelowEncoderError justifies LODPixelError with the error
// the stream adds anyway: the 1M-triangle benchmark model, fitted 2 m
// ahead, with the head turning, is rendered at full detail and with level
// of detail at several pixel errors; the full-detail frames are encoded
// with x264 at the node's default bit rate and decoded with ffmpeg. The
// mean luma difference that level of detail makes at LODPixelError must
// stay well below the difference that encoding makes to the same frames.
func TestLODErrorBelowEncoderError(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 1M-triangle model")
	}
	encodertest.NeedFFmpeg(t)
	const width, height, frames, skip = 1280, 720, 16, 6
	w := newWorker(t)
	r := newRenderer(t, w, width, height)
	m := decodeModel(t, scenetest.Spheres(256, 4000))
	if err := r.SetModel(m, scene.Fit(m.Bounds)); err != nil {
		t.Fatal(err)
	}
	yaw := func(i int) float64 { return 20 * math.Sin(float64(i)*0.1) }
	lumas := func(cull, lod bool, px float64) ([][]byte, []encoder.AccessUnit, int) {
		r.SetCulling(cull, lod)
		r.SetLODPixelError(px)
		var out [][]byte
		tris := 0
		for i := range frames {
			f, err := r.Render(views(width, height, yawPose(yaw(i))))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, bytes.Clone(f.Y))
			tris += f.Triangles
		}
		return out, nil, tris / frames
	}
	full, _, fullTris := lumas(true, false, 0)

	// Encode the full-detail frames as the node streams them.
	enc, err := x264.New(encoder.Config{Width: width, Height: height, FPS: 30, BitRate: lodEncoderBitRate})
	if err != nil {
		t.Skipf("x264: %v", err)
	}
	defer enc.Close()
	var aus []encoder.AccessUnit
	for i := range frames {
		f, err := r.Render(views(width, height, yawPose(yaw(i))))
		if err != nil {
			t.Fatal(err)
		}
		au, err := enc.Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, au)
	}
	path := encodertest.WriteStream(t, aus)
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-f", "h264", "-i", path, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	size := width * height * 3 / 2
	if len(raw) != frames*size {
		t.Fatalf("decoded %d bytes, want %d frames of %d", len(raw), frames, size)
	}
	meanDiff := func(a, b [][]byte) float64 {
		var s, n int
		for i := skip; i < frames; i++ {
			for j := range a[i] {
				d := int(a[i][j]) - int(b[i][j])
				s += max(d, -d)
			}
			n += len(a[i])
		}
		return float64(s) / float64(n)
	}
	var dec [][]byte
	for i := range frames {
		dec = append(dec, raw[i*size:i*size+width*height])
	}
	encErr := meanDiff(full, dec)
	t.Logf("x264 at %d bit/s: mean luma difference %.3f from full detail (%d triangles/frame)", lodEncoderBitRate, encErr, fullTris)
	var atDefault float64
	for _, px := range []float64{1, 2, 4, 8} {
		lod, _, tris := lumas(true, true, px)
		d := meanDiff(full, lod)
		t.Logf("LOD at %g px: mean luma difference %.3f from full detail, %d triangles/frame", px, d, tris)
		if px == LODPixelError {
			atDefault = d
		}
	}
	if atDefault == 0 || atDefault > encErr/2 {
		t.Errorf("LOD at LODPixelError (%g px) differs by %.3f, want (0, %.3f]: half the encoder's", float64(LODPixelError), atDefault, encErr/2)
	}
}
