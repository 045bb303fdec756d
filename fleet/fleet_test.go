package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/render/scene/scenetest"
)

// offerSDP returns a complete offer (ICE gathered) that receives H.264
// video, as a headset's; its peer connection is closed when the test ends.
func offerSDP(t testing.TB) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

// TestPlacementByCapacity: three nodes of capacity 1 take three headsets,
// one each; the fourth offer gets 503 with Retry-After; a DELETE through
// the gateway frees the right node, which takes the next headset.
func TestPlacementByCapacity(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	url := startNATS(t)
	ns := map[string]*node.Node{}
	for _, id := range []string{"a", "b", "c"} {
		ns[id] = startNode(t, url, id, 1)
	}
	_, base := startGateway(t, url, fleet.GatewayOptions{})
	accepting(t, base, "a", "b", "c")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	on := map[string]*headset.Client{}
	for range 3 {
		c := dial(t, ctx, base, headset.Options{})
		id := placedOn(t, c)
		if on[id] != nil {
			t.Fatalf("two sessions placed on node %s of capacity 1", id)
		}
		on[id] = c
	}
	for id, n := range ns {
		if n.Sessions() != 1 {
			t.Errorf("node %s holds %d sessions, want 1", id, n.Sessions())
		}
	}
	code, hdr, body := do(t, http.MethodPost, base+"/v1/sessions", "", offerSDP(t))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("fourth offer: %d Retry-After %q %q, want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
	}

	// DELETE through the gateway ends the session on its own node only.
	if code, _, body := do(t, http.MethodDelete, on["b"].Location(), "", ""); code != http.StatusOK {
		t.Fatalf("DELETE %s: %d %q", on["b"].Location(), code, body)
	}
	waitFor(t, "node b to free its session", func() bool { return ns["b"].Sessions() == 0 })
	if ns["a"].Sessions() != 1 || ns["c"].Sessions() != 1 {
		t.Errorf("sessions a=%d c=%d after deleting b's, want 1 each", ns["a"].Sessions(), ns["c"].Sessions())
	}
	if code, _, _ := do(t, http.MethodDelete, on["b"].Location(), "", ""); code != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	accepting(t, base, "b")
	if id := placedOn(t, dial(t, ctx, base, headset.Options{})); id != "b" {
		t.Errorf("next headset placed on %s, want b (the only node with room)", id)
	}
}

// TestKilledNodeDisappears: a node whose NATS connection dies (a crash,
// a partition) leaves GET /v1/nodes within 5 s, and new offers go to
// the other nodes.
func TestKilledNodeDisappears(t *testing.T) {
	url := startNATS(t)
	var d killableDialer
	startNode(t, url, "a", 1)
	startNode(t, url, "b", 1, nats.SetCustomDialer(&d), nats.NoReconnect())
	startNode(t, url, "c", 1)
	_, base := startGateway(t, url, fleet.GatewayOptions{})
	accepting(t, base, "a", "b", "c")

	d.kill()
	killed := time.Now()
	waitFor(t, "node b to leave /v1/nodes", func() bool { _, ok := nodes(t, base)["b"]; return !ok })
	gone := time.Since(killed)
	t.Logf("killed node gone from /v1/nodes after %v", gone)
	if gone > 5*time.Second {
		t.Errorf("killed node listed for %v, want under 5 s", gone)
	}
	if m := nodes(t, base); len(m) != 2 {
		t.Errorf("nodes after the kill: %v, want a and c", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got := map[string]bool{}
	for range 2 {
		got[placedOn(t, dial(t, ctx, base, headset.Options{}))] = true
	}
	if !got["a"] || !got["c"] {
		t.Errorf("sessions placed on %v, want a and c", got)
	}
}

// TestDrainingNodeTakesNoOffers: a draining node stops taking offers
// while its own session keeps streaming; new sessions go to the other
// node.
func TestDrainingNodeTakesNoOffers(t *testing.T) {
	url := startNATS(t)
	ns := map[string]*node.Node{"a": startNode(t, url, "a", 2), "b": startNode(t, url, "b", 2)}
	_, base := startGateway(t, url, fleet.GatewayOptions{})
	accepting(t, base, "a", "b")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	first := dial(t, ctx, base, headset.Options{})
	var frames atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range first.Frames() {
			frames.Add(1)
		}
	}()
	defer wg.Wait()
	defer func() { _ = first.Close(context.Background()) }()
	draining := placedOn(t, first)
	other := map[string]string{"a": "b", "b": "a"}[draining]

	dctx, stopDrain := context.WithCancel(context.Background())
	drained := make(chan error, 1)
	go func() { drained <- ns[draining].Drain(dctx, time.Hour) }()
	waitFor(t, "the draining node to stop accepting", func() bool {
		v := nodes(t, base)[draining]
		return v.Draining && !v.Accepting
	})
	before := frames.Load()
	for range 2 {
		if id := placedOn(t, dial(t, ctx, base, headset.Options{})); id != other {
			t.Errorf("session placed on %s while it drains, want %s", id, other)
		}
	}
	waitFor(t, "the draining node's session to keep streaming", func() bool { return frames.Load() >= before+15 })
	if ns[draining].Sessions() != 1 {
		t.Errorf("draining node holds %d sessions, want its 1", ns[draining].Sessions())
	}
	stopDrain()
	if err := <-drained; !errors.Is(err, context.Canceled) {
		t.Errorf("Drain = %v, want context.Canceled", err)
	}
}

// TestStreamThroughGateway: a headset placed by the gateway streams real
// frames from its node; with GL and x264 built in, ffmpeg decodes them.
func TestStreamThroughGateway(t *testing.T) {
	url := startNATS(t)
	startNode(t, url, "solo", 1)
	_, base := startGateway(t, url, fleet.GatewayOptions{})
	accepting(t, base, "solo")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := dial(t, ctx, base, headset.Options{})
	var stream bytes.Buffer
	var n int
	for n < 45 {
		select {
		case f := <-c.Frames():
			if n == 0 && !f.KeyFrame {
				t.Fatal("first frame is not a key frame")
			}
			stream.Write(f.Data)
			n++
		case <-ctx.Done():
			t.Fatalf("%d frames before the deadline", n)
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("close through the gateway: %v", err)
	}
	if !realParts {
		t.Skip("fake encoder: the stream is not H.264; built with -tags egl and cgo, ffmpeg decodes it")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skipf("ffprobe not installed: %v", err)
	}
	file := filepath.Join(t.TempDir(), "stream.h264")
	if err := os.WriteFile(file, stream.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "h264,320,180,"+strconv.Itoa(n); got != want {
		t.Errorf("ffprobe: %q, want %q", got, want)
	}
}

// TestSceneFileThroughGateway: a node whose scene comes from the file
// engine.v2.glb (scene "engine.v2": a '.' in its name) offers it to the
// fleet, and a headset asking the gateway for it lands on that node and
// is shown it; a node without it takes none of these.
func TestSceneFileThroughGateway(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "engine.v2.glb"), scenetest.Spheres(2, 200), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := scene.LoadCatalog(dir, scene.DefaultLimits, quiet)
	if err != nil {
		t.Fatal(err)
	}
	url := startNATS(t)
	n, err := node.New(context.Background(), withParts(node.Config{
		Width: 320, Height: 180, FPS: 30, BitRate: 500_000, Predictor: "none",
		MaxSessions: 2, AllowLoopbackCandidates: true, Logger: quiet, Scenes: cat,
		NATS: url, Fleet: fleet.AgentOptions{ID: "models", Heartbeat: 250 * time.Millisecond},
	}))
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	plain := startNode(t, url, "plain", 2)
	_, base := startGateway(t, url, fleet.GatewayOptions{})
	accepting(t, base, "models", "plain")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for range 2 {
		c, err := headset.Dial(ctx, base+"/v1/sessions?scene=engine.v2", headset.Options{})
		if err != nil {
			t.Fatalf("dial for scene engine.v2: %v", err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		if err := c.WaitControl(ctx); err != nil {
			t.Fatal(err)
		}
		if id := placedOn(t, c); id != "models" {
			t.Errorf("session for scene engine.v2 placed on %s, want models", id)
		}
		if got := c.SessionInfo().GetScene(); got != "engine.v2" {
			t.Errorf("session shows scene %q, want engine.v2", got)
		}
	}
	if plain.Sessions() != 0 {
		t.Errorf("the node without the scene holds %d sessions", plain.Sessions())
	}
}
