//go:build egl && cgo

package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qmuntal/gltf"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// modelDir writes two models and a broken file into a directory.
func modelDir(t *testing.T) string {
	dir := t.TempDir()
	ball := scenetest.New()
	p := scenetest.Sphere(0.5, 24, 12)
	p.Material = gltf.Index(ball.Material(&gltf.Material{PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &[4]float64{0.1, 0.3, 1, 1}}}))
	ball.Node(&gltf.Node{Mesh: gltf.Index(ball.Mesh(p))}, true)
	tower := scenetest.New()
	q := scenetest.Quad(0.4, 2)
	q.Material = gltf.Index(tower.Material(&gltf.Material{DoubleSided: true, PBRMetallicRoughness: &gltf.PBRMetallicRoughness{BaseColorFactor: &[4]float64{1, 0.9, 0.1, 1}}}))
	tower.Node(&gltf.Node{Mesh: gltf.Index(tower.Mesh(q))}, true)
	for name, data := range map[string][]byte{"ball.glb": ball.GLB(), "tower.gltf": tower.GLTF(), "broken.glb": []byte("glTF not really")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// grayFrames decodes the received stream with ffmpeg into Y planes.
func grayFrames(t *testing.T, frames []*headset.Frame, w, h int) [][]byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skipf("ffmpeg not installed: %v", err)
	}
	var stream bytes.Buffer
	for _, f := range frames {
		stream.Write(f.Data)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "s.h264"), filepath.Join(dir, "s.gray")
	if err := os.WriteFile(in, stream.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command("ffmpeg", "-v", "error", "-i", in, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", out).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, msg)
	}
	pix, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(pix) != len(frames)*w*h {
		t.Fatalf("decoded %d bytes for %d frames", len(pix), len(frames))
	}
	var planes [][]byte
	for i := range frames {
		planes = append(planes, pix[i*w*h:(i+1)*w*h])
	}
	return planes
}

// until collects c's frames until done says the newest one is enough.
func until(t *testing.T, c *headset.Client, frames []*headset.Frame, done func(*holocastv1.FrameInfo) bool) []*headset.Frame {
	t.Helper()
	timeout := time.After(30 * time.Second)
	seen := 0
	for {
		select {
		case f := <-c.Frames():
			frames = append(frames, f)
			if f.Info != nil && done(f.Info) {
				if seen++; seen >= 3 { // a few frames for the encoder to settle
					return frames
				}
			}
		case <-timeout:
			t.Fatalf("timed out after %d frames", len(frames))
		}
	}
}

// TestScenes: GET /v1/scenes lists the models of a --scene directory (the
// broken file skipped); a session request naming an unknown scene gets
// 404; two sessions on different scenes each see their own picture; the
// model transform and SelectScene change what a session sees.
func TestScenes(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	cat, err := scene.LoadCatalog(modelDir(t), scene.DefaultLimits, nil)
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 320, 180
	_, url := startNode(t, node.Config{Width: w, Height: h, FPS: 30, BitRate: 1_000_000, Predictor: "none", Scenes: cat})
	base := strings.TrimSuffix(url, "/v1/sessions")

	code, body := get(t, base+"/v1/scenes")
	var list []scene.Info
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/scenes: %d %q %v", code, body, err)
	}
	if len(list) != 3 || list[0].Name != "builtin" || list[1].Name != "ball" || list[2].Name != "tower" || list[1].Triangles != 2*24*12 || list[2].Bounds == nil {
		t.Fatalf("scenes %s", body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := headset.Dial(ctx, url+"?scene=nope", headset.Options{}); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "unknown scene") {
		t.Fatalf("unknown scene: %v", err)
	}

	a := dial(t, ctx, url+"?scene=ball", headset.Options{})
	b := dial(t, ctx, url+"?scene=tower", headset.Options{})
	if a.SessionInfo().GetScene() != "ball" || b.SessionInfo().GetScene() != "tower" {
		t.Fatalf("session scenes %q and %q", a.SessionInfo().GetScene(), b.SessionInfo().GetScene())
	}
	isScene := func(n string) func(*holocastv1.FrameInfo) bool {
		return func(i *holocastv1.FrameInfo) bool { return i.GetScene() == n }
	}
	fa := until(t, a, nil, isScene("ball"))
	fb := until(t, b, nil, isScene("tower"))
	if tri := fa[len(fa)-1].Info.GetTriangles(); tri < 100 {
		t.Errorf("ball frame drew %d triangles", tri)
	}

	// Session a: move, turn and scale the model.
	if err := a.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ModelTransform{ModelTransform: &holocastv1.ModelTransform{
		Seq: 1, Position: &holocastv1.Vec3{X: 0.5}, Scale: 1.5}}}); err != nil {
		t.Fatal(err)
	}
	nBefore := len(fa)
	fa = until(t, a, fa, func(i *holocastv1.FrameInfo) bool { return i.GetModelTransformSeq() == 1 })
	nMoved := len(fa)
	// Session a: switch to b's scene, back at its placement.
	if err := a.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ModelTransform{ModelTransform: &holocastv1.ModelTransform{Seq: 2}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_SelectScene{SelectScene: &holocastv1.SelectScene{Name: "tower"}}}); err != nil {
		t.Fatal(err)
	}
	fa = until(t, a, fa, func(i *holocastv1.FrameInfo) bool { return i.GetScene() == "tower" && i.GetModelTransformSeq() == 2 })

	pa, pb := grayFrames(t, fa, w, h), grayFrames(t, fb, w, h)
	ball, moved, switched, tower := pa[nBefore-1], pa[nMoved-1], pa[len(pa)-1], pb[len(pb)-1]
	dOwn := meanAbsDiff(ball, tower)
	dMoved := meanAbsDiff(ball, moved)
	dSwitched := meanAbsDiff(switched, tower)
	t.Logf("mean |ΔY|: ball vs tower %.2f, ball vs moved ball %.2f, a switched to tower vs b's tower %.2f", dOwn, dMoved, dSwitched)
	if dOwn < 2 {
		t.Errorf("sessions on different scenes look alike (%.2f)", dOwn)
	}
	if dMoved < 1 {
		t.Errorf("the model transform changed the picture by only %.2f", dMoved)
	}
	if dSwitched > dOwn/3 {
		t.Errorf("after SelectScene the picture differs from the same scene's by %.2f (scenes differ by %.2f)", dSwitched, dOwn)
	}

	// Bad requests get a Notice, and the session goes on.
	if err := a.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_SelectScene{SelectScene: &holocastv1.SelectScene{Name: "../etc"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_ModelTransform{ModelTransform: &holocastv1.ModelTransform{Seq: 3, Scale: 1e9}}}); err != nil {
		t.Fatal(err)
	}
	var notices []string
	timeout := time.After(10 * time.Second)
	for len(notices) < 2 {
		select {
		case m := <-a.Control():
			if n := m.GetNotice(); n != nil {
				notices = append(notices, n.GetMessage())
			}
		case <-a.Frames():
		case <-timeout:
			t.Fatalf("notices %q", notices)
		}
	}
	if !strings.Contains(notices[0], "unknown scene") || !strings.Contains(notices[1], "scale") {
		t.Errorf("notices %q", notices)
	}
}
