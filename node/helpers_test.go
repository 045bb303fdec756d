package node_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
)

// startNode starts a node on a loopback HTTP test server.
func startNode(t *testing.T, cfg node.Config) (*node.Node, string) {
	t.Helper()
	n, err := node.New(context.Background(), withParts(cfg))
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := n.Close(); err != nil {
			t.Errorf("node.Close: %v", err)
		}
	})
	return n, srv.URL + "/v1/sessions"
}

// serve serves n on a loopback HTTP test server until the test ends and
// returns its sessions URL; the test closes n.
func serve(t *testing.T, n *node.Node) string {
	t.Helper()
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/sessions"
}

// dial connects a headset, closes it when the test ends, and waits for the
// control channel unless the offer has no data channels.
func dial(t *testing.T, ctx context.Context, url string, opts headset.Options) *headset.Client {
	t.Helper()
	c, err := headset.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	if !opts.NoDataChannels {
		if err := c.WaitControl(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func yawPose(seq uint64, nowUS int64, deg float64) *holocastv1.Pose {
	h := deg * math.Pi / 360
	return &holocastv1.Pose{
		Seq: seq, SampleTimeUs: nowUS,
		Orientation: &holocastv1.Quat{Y: float32(math.Sin(h)), W: float32(math.Cos(h))},
		Position:    &holocastv1.Vec3{Y: 1.6},
	}
}

func meanAbsDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func maxDur(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

// get answers a GET on url with its status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
