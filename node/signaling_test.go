package node_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/signaling"
)

// offerSDP makes a real offer from a pion peer shaped by setup.
func offerSDP(t *testing.T, setup func(pc *webrtc.PeerConnection) error) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := setup(pc); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func post(t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSignalingBadRequests(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n, url := startNode(t, node.Config{Width: 160, Height: 90})

	noVideo := offerSDP(t, func(pc *webrtc.PeerConnection) error {
		_, err := pc.CreateDataChannel("pose", nil)
		return err
	})
	sendOnly := offerSDP(t, func(pc *webrtc.PeerConnection) error {
		_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		return err
	})
	tests := []struct {
		name, contentType, body string
		status                  int
		msg                     string
	}{
		{"wrong content type", "text/plain", "v=0", http.StatusUnsupportedMediaType, "application/sdp"},
		{"oversized SDP", "application/sdp", "v=0\r\n" + strings.Repeat("a=x\r\n", signaling.MaxOfferSize/5+1), http.StatusRequestEntityTooLarge, "larger than"},
		{"malformed SDP", "application/sdp", "this is not SDP", http.StatusBadRequest, "malformed SDP"},
		{"no video m-line", "application/sdp", noVideo, http.StatusBadRequest, "no video m-line"},
		{"video not received", "application/sdp", sendOnly, http.StatusBadRequest, "does not receive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, url, tt.contentType, tt.body)
			if status != tt.status || !strings.Contains(body, tt.msg) {
				t.Errorf("got %d %q, want %d containing %q", status, body, tt.status, tt.msg)
			}
		})
	}
	t.Run("unknown session", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, url+"/deadbeef", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
	})
	t.Run("CORS preflight from a foreign origin (same-origin by default)", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", "https://player.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
			resp.Header.Get("Access-Control-Allow-Headers") != "" || resp.Header.Get("Accept-Post") != "application/sdp" {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: status %d, want 405", url, resp.StatusCode)
		}
	})
	if n.Sessions() != 0 {
		t.Errorf("%d sessions left after bad requests", n.Sessions())
	}
}

func TestSessionCapAndCleanup(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n, url := startNode(t, node.Config{Width: 160, Height: 90, MaxSessions: 2, RenderWorkers: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var clients []*headset.Client
	for i := 0; i < 2; i++ {
		c, err := headset.Dial(ctx, url, headset.Options{})
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		clients = append(clients, c)
	}
	_, err := headset.Dial(ctx, url, headset.Options{})
	var se *headset.SignalingError
	if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable {
		t.Fatalf("third session: err = %v, want 503", err)
	}
	// Both sessions stream.
	for i, c := range clients {
		select {
		case <-c.Frames():
		case <-ctx.Done():
			t.Fatalf("client %d got no frame", i)
		}
	}
	// DELETE ends a session and frees its slot.
	if err := clients[0].Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })
	c3, err := headset.Dial(ctx, url, headset.Options{})
	if err != nil {
		t.Fatalf("dial after DELETE: %v", err)
	}
	for _, c := range []*headset.Client{clients[1], c3} {
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	}
	waitFor(t, ctx, func() bool { return n.Sessions() == 0 })
}

// TestDeadClientSessionEnds: a client that vanishes without DELETE loses
// its session once ICE gives up, and the node keeps serving others.
func TestDeadClientSessionEnds(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n, url := startNode(t, node.Config{Width: 160, Height: 90, ICEDisconnectedTimeout: time.Second, ICEFailedTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dead, err := headset.Dial(ctx, url, headset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	alive, err := headset.Dial(ctx, url, headset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer alive.Close(ctx)
	<-dead.Frames()
	// Vanish without DELETE: close only the peer connection.
	if err := dead.PeerConnection().Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })
	// The other session still streams.
	got := 0
	for got < 10 {
		select {
		case <-alive.Frames():
			got++
		case <-ctx.Done():
			t.Fatalf("surviving session stalled after %d frames", got)
		}
	}
	_ = dead.Close(ctx)
}

// TestPlainWHEPViewer: an offer with video only still gets a stream.
func TestPlainWHEPViewer(t *testing.T) {
	_, url := startNode(t, node.Config{Width: 160, Height: 90})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{NoDataChannels: true, MatchTimeout: 10 * time.Millisecond})
	for i := 0; i < 10; i++ {
		select {
		case f := <-c.Frames():
			if len(f.Data) == 0 {
				t.Fatal("empty frame")
			}
		case <-ctx.Done():
			t.Fatalf("only %d frames", i)
		}
	}
}

// TestBadInputDoesNotWedge: garbage on both channels is rejected and
// counted; frames keep flowing and a DeviceConfig still takes effect.
func TestBadInputDoesNotWedge(t *testing.T) {
	_, url := startNode(t, node.Config{Width: 160, Height: 90})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})
	garbage := [][]byte{{0xff, 0xff}, make([]byte, 4000), []byte("pose please")}
	for _, g := range garbage {
		if err := c.SendRawPose(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SendPose(&holocastv1.Pose{Seq: 1, Orientation: &holocastv1.Quat{W: 5}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: &holocastv1.DeviceConfig{IpdM: 7}}}); err != nil {
		t.Fatal(err)
	}
	// A rejected DeviceConfig comes back as a Notice.
	waitNotice(t, ctx, c, "ipd")
	if err := c.SendControl(&holocastv1.ControlMessage{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: &holocastv1.DeviceConfig{Width: 256, Height: 128}}}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case f := <-c.Frames():
			if f.Info != nil && f.Info.GetWidth() == 256 && f.Info.GetHeight() == 128 {
				if info := c.SessionInfo(); info == nil || info.GetWidth() != 256 {
					t.Errorf("SessionInfo after DeviceConfig: %v", info)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no frame at the requested size")
		}
	}
}

func waitNotice(t *testing.T, ctx context.Context, c *headset.Client, substr string) {
	t.Helper()
	for {
		select {
		case m := <-c.Control():
			if n := m.GetNotice(); n != nil && strings.Contains(n.GetMessage(), substr) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no notice containing %q", substr)
		}
	}
}

func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestKeyFrameOnPLI: a Picture Loss Indication from the receiver makes the
// next frame a key frame, long before the periodic one.
func TestKeyFrameOnPLI(t *testing.T) {
	_, url := startNode(t, node.Config{Width: 160, Height: 90, FPS: 30})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dial(t, ctx, url, headset.Options{})
	next := func() *headset.Frame {
		select {
		case f := <-c.Frames():
			return f
		case <-ctx.Done():
			t.Fatal("no frame")
			return nil
		}
	}
	// Skip the opening key frame and a few more, and whatever queued up
	// while the control channel opened (frames wait there for their
	// FrameInfo).
	for i := 0; i < 5 || len(c.Frames()) > 0; i++ {
		next()
	}
	if err := c.RequestKeyFrame(); err != nil {
		t.Fatal(err)
	}
	// The periodic key frame comes every 2 s (60 frames); the requested one
	// must come within a few frames (the PLI's own round trip).
	for i := 0; i < 10; i++ {
		if f := next(); f.KeyFrame {
			if f.Info == nil || !f.Info.GetKeyFrame() {
				t.Error("FrameInfo does not flag the key frame")
			}
			return
		}
	}
	t.Fatal("no key frame within 10 frames of a PLI")
}
