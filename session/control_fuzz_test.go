package session

import (
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/holocast/holocast/encoder/encodertest"
	"github.com/holocast/holocast/pose"
	holocastv1 "github.com/holocast/holocast/proto/holocastv1"
	"github.com/holocast/holocast/render/rendertest"
)

// bareSession is a Session without a peer connection or frame loop, for
// driving its message handlers directly; now is its clock.
func bareSession(t testing.TB, now func() time.Time) *Session {
	t.Helper()
	cfg := testConfig()
	cfg.Now = now
	if err := cfg.limitDefaults(); err != nil {
		t.Fatal(err)
	}
	pred, err := pose.NewPredictor(cfg.Predictor)
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{
		cfg: cfg, deps: Deps{Renderers: &rendertest.Factory{}, Encoders: encodertest.FakeFactory},
		log:    slog.New(slog.DiscardHandler),
		intake: pose.NewIntake(pose.WithNow(now)), predictor: pred, latency: pose.NewLatencyEstimator(pose.WithNow(now)),
		start: now(), output: cfg.Output, rendering: cfg.Output, ending: make(chan struct{}),
	}
	s.poseIn, s.controlIn = newBucket(cfg.PoseRate), newBucket(cfg.ControlRate)
	return s
}

// FuzzControlMessage: any bytes on the control channel are handled without
// a panic; whatever they are, the output the frame loop would render stays
// within the session's limits, and a message that is not a valid
// ControlMessage of the client's kinds is counted as bad.
func FuzzControlMessage(f *testing.F) {
	for _, m := range []*holocastv1.ControlMessage{
		{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: &holocastv1.DeviceConfig{Width: 400, Height: 200, MaxFps: 20, IpdM: 0.06}}},
		{Message: &holocastv1.ControlMessage_DeviceConfig{DeviceConfig: &holocastv1.DeviceConfig{Right: &holocastv1.EyeView{ProjectionMatrix: make([]float32, 16)}}}},
		{Message: &holocastv1.ControlMessage_ClientReport{ClientReport: &holocastv1.ClientReport{MotionToPhotonUs: 40_000, DisplayDelayUs: 9_000}}},
		{Message: &holocastv1.ControlMessage_Ping{Ping: &holocastv1.Ping{Id: 3, TimeUs: 9}}},
		{Message: &holocastv1.ControlMessage_Pong{Pong: &holocastv1.Pong{Id: 3, TimeUs: -1}}},
		{Message: &holocastv1.ControlMessage_FrameInfo{FrameInfo: &holocastv1.FrameInfo{FrameId: 1}}},
		{},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add(make([]byte, MaxControlMessage+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := bareSession(t, time.Now)
		s.onControl(b)
		s.mu.Lock()
		out := s.output
		s.mu.Unlock()
		lim := s.cfg.Limits
		if out.Width < 64 || out.Height < 64 || out.Width > lim.MaxWidth || out.Height > lim.MaxHeight ||
			out.Width%4 != 0 || out.Height%2 != 0 || out.FPS < 1 || out.FPS > lim.MaxFPS {
			t.Fatalf("output %dx%d@%d outside the limits %+v", out.Width, out.Height, out.FPS, lim)
		}
		var m holocastv1.ControlMessage
		valid := len(b) <= MaxControlMessage && proto.Unmarshal(b, &m) == nil
		if !valid && s.Stats().BadControl != 1 {
			t.Fatalf("invalid message counted %d times as bad", s.Stats().BadControl)
		}
		if s.Err() != nil {
			t.Fatalf("a control message ended the session: %v", s.Err())
		}
	})
}

// TestBucket: the token bucket gives a burst at once, then PerSecond on
// average, never more than Burst after a pause, and nothing for a clock
// that goes backwards.
func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		rate  Rate
		at    []time.Duration // offsets from t0 of one attempt each
		taken int
	}{
		{"burst at once", Rate{PerSecond: 10, Burst: 5}, repeat(0, 8), 5},
		{"refill", Rate{PerSecond: 10, Burst: 5}, append(repeat(0, 5), repeat(time.Second, 20)...), 5 + 5},
		{"half a token", Rate{PerSecond: 10, Burst: 1}, []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond}, 2},
		{"steady rate", Rate{PerSecond: 100, Burst: 1}, steps(10*time.Millisecond, 100), 100},
		{"twice the rate", Rate{PerSecond: 100, Burst: 1}, steps(5*time.Millisecond, 100), 50},
		{"clock backwards", Rate{PerSecond: 10, Burst: 1}, []time.Duration{0, -time.Hour, -time.Hour}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(tt.rate)
			n := 0
			for _, d := range tt.at {
				if b.AllowN(t0.Add(d), 1) {
					n++
				}
			}
			if n != tt.taken {
				t.Errorf("took %d of %d, want %d", n, len(tt.at), tt.taken)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func steps(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i) * d
	}
	return out
}

// TestRateLimitConfig: a partly set Rate is refused, the zero Rate means
// the default.
func TestRateLimitConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"pose rate without burst", func(c *Config) { c.PoseRate = Rate{PerSecond: 100} }, false},
		{"control burst without rate", func(c *Config) { c.ControlRate = Rate{Burst: 3} }, false},
		{"both set", func(c *Config) { c.PoseRate, c.ControlRate = Rate{100, 10}, Rate{5, 1} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.cfg(&cfg)
			err := cfg.limitDefaults()
			if (err == nil) != tt.ok {
				t.Fatalf("limitDefaults: %v", err)
			}
			if err == nil && (cfg.PoseRate == Rate{} || cfg.ControlRate == Rate{} || cfg.RebuildInterval == 0 || cfg.MaxRejectedChannels == 0) {
				t.Errorf("defaults not filled: %+v", cfg)
			}
		})
	}
}
