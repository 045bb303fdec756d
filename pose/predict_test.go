package pose

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

const deg = math.Pi / 180

// motion is a rigid motion with constant angular and linear velocity.
type motion struct {
	q0 mgl64.Quat
	w  mgl64.Vec3 // rad/s, world frame
	p0 mgl64.Vec3
	v  mgl64.Vec3
}

func (m motion) at(t time.Duration) Pose {
	s := t.Seconds()
	return Pose{Time: t, Orientation: quatExp(m.w.Mul(s)).Mul(m.q0), Position: m.p0.Add(m.v.Mul(s))}
}

var turn = motion{
	q0: mgl64.QuatRotate(0.3, mgl64.Vec3{1, 2, 3}.Normalize()),
	w:  mgl64.Vec3{0.2, 1.5, -0.4}, // about 90°/s
	p0: mgl64.Vec3{0.1, 1.6, -0.2},
	v:  mgl64.Vec3{0.3, 0, -0.2},
}

// unevenTimes returns n sample times with intervals between 8 and 25 ms.
func unevenTimes(n int) []time.Duration {
	ts := make([]time.Duration, n)
	for i := 1; i < n; i++ {
		ts[i] = ts[i-1] + time.Duration(8+(i*7)%18)*time.Millisecond
	}
	return ts
}

func angleDeg(a, b mgl64.Quat) float64 { return quatAngle(a, b) / deg }

func newAll(t testing.TB) map[string]Predictor {
	out := map[string]Predictor{}
	for _, n := range PredictorNames() {
		p, err := NewPredictor(n)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name() != n {
			t.Fatalf("NewPredictor(%q).Name() = %q", n, p.Name())
		}
		out[n] = p
	}
	return out
}

func TestRegistry(t *testing.T) {
	names := PredictorNames()
	want := map[string]bool{"none": false, "constant-velocity": false, "kalman": false, DefaultPredictorName: false}
	for _, n := range names {
		want[n] = true
	}
	for n, ok := range want {
		if !ok {
			t.Errorf("predictor %q not registered", n)
		}
	}
	if _, err := NewPredictor("nope"); err == nil {
		t.Error("NewPredictor(nope) did not fail")
	}
	// Fresh instances: no shared state.
	a, _ := NewPredictor("constant-velocity")
	b, _ := NewPredictor("constant-velocity")
	a.Observe(turn.at(0))
	if b.Predict(0) != Identity() {
		t.Error("instances share state")
	}
}

func TestBeforeObserveIdentity(t *testing.T) {
	for n, p := range newAll(t) {
		if got := p.Predict(time.Second); got != Identity() {
			t.Errorf("%s: Predict before Observe = %+v", n, got)
		}
	}
}

// TestConstantRateExact: constant angular and linear velocity, uneven
// sampling: extrapolation from the last two samples is exact.
func TestConstantRateExact(t *testing.T) {
	exact := map[string]Predictor{
		"constant-velocity":  NewConstantVelocity(),
		"robust-cv/no-decay": NewRobustCV("x", RobustConfig{PosWindow: 50 * time.Millisecond}),
	}
	for name, p := range exact {
		for _, tt := range unevenTimes(40) {
			p.Observe(turn.at(tt))
		}
		last := unevenTimes(40)[39]
		for _, h := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond, 100 * time.Millisecond} {
			got, want := p.Predict(last+h), turn.at(last+h)
			if a := angleDeg(got.Orientation, want.Orientation); a > 1e-4 {
				t.Errorf("%s h=%v: orientation off by %g°", name, h, a)
			}
			if d := got.Position.Sub(want.Position).Len(); d > 1e-9 {
				t.Errorf("%s h=%v: position off by %g m", name, h, d)
			}
			if got.Time != last+h {
				t.Errorf("%s: Time = %v", name, got.Time)
			}
		}
	}
}

// TestRobustDecay: without its online parts (deceleration, learned
// gains), the default configuration extrapolates a steady turn with a
// known, critically damped decay: slow for yaw (about world +Y), fast for
// tilt (about the horizontal axes).
func TestRobustDecay(t *testing.T) {
	cfg := DefaultRobustConfig
	cfg.DecelGain, cfg.AdaptMemory = 0, 0
	p := NewRobustCV("robust-cv", cfg)
	ts := unevenTimes(40)
	for _, tt := range ts {
		p.Observe(turn.at(tt))
	}
	last := ts[39]
	smooth := func(tau float64, T time.Duration) float64 {
		s := T.Seconds()
		return 2*s - (2*s+tau)*math.Exp(-tau/s)
	}
	for _, h := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond} {
		yaw, tilt := smooth(h.Seconds(), cfg.Decay), smooth(h.Seconds(), cfg.TiltDecay)
		r := mgl64.Vec3{turn.w[0] * tilt, turn.w[1] * yaw, turn.w[2] * tilt}
		want := quatExp(r).Mul(turn.at(last).Orientation)
		got := p.Predict(last + h)
		if a := angleDeg(got.Orientation, want); a > 1e-4 {
			t.Errorf("h=%v: off by %g°", h, a)
		}
		if yaw >= h.Seconds() || yaw < 0.99*h.Seconds() || tilt >= yaw || tilt < 0.5*h.Seconds() {
			t.Errorf("h=%v: implausible decayed horizons yaw %v tilt %v", h, yaw, tilt)
		}
	}
}

// TestJitteredTimestamps: regular 60 Hz sampling of a constant turn,
// timestamps jittered by up to ±5 ms. Constant velocity from the last two
// timestamps is thrown off; the default predictor's sample clock is not.
func TestJitteredTimestamps(t *testing.T) {
	const n = 120
	period := time.Second / 60
	jitter := []time.Duration{0, 4, -3, 5, -5, 1, -2, 3, -4, 2}
	// The sample clock alone: no tilt decay, deceleration or learned gains.
	cfg := DefaultRobustConfig
	cfg.TiltDecay, cfg.SmoothDecay, cfg.DecelGain, cfg.AdaptMemory = 0, false, 0, 0
	cv, rob := NewConstantVelocity(), NewRobustCV("robust-cv", cfg)
	var errCV, errRob float64
	for i := 0; i < n; i++ {
		truth := time.Duration(i) * period
		s := turn.at(truth)
		s.Time = truth + jitter[i%len(jitter)]*time.Millisecond
		cv.Observe(s)
		rob.Observe(s)
		if i < 60 {
			continue
		}
		// Predict 50 ms past the sample's true time, where the truth is.
		want := turn.at(truth + 50*time.Millisecond).Orientation
		eff := decayed(0.05, cfg.Decay)
		wantDecayed := quatExp(turn.w.Mul(eff)).Mul(turn.at(truth).Orientation)
		errCV += angleDeg(cv.Predict(truth+50*time.Millisecond).Orientation, want)
		errRob += angleDeg(rob.Predict(truth+50*time.Millisecond).Orientation, wantDecayed)
	}
	errCV /= n - 60
	errRob /= n - 60
	if errRob > errCV/5 {
		t.Errorf("mean error: robust-cv %.3f°, constant-velocity %.3f°", errRob, errCV)
	}
	t.Logf("mean error: robust-cv %.4f°, constant-velocity %.3f°", errRob, errCV)
}

// TestKalmanConverges: on noise-free constant-rate motion the filter
// converges to the true velocity.
func TestKalmanConverges(t *testing.T) {
	p := NewKalman()
	ts := unevenTimes(300)
	for _, tt := range ts {
		p.Observe(turn.at(tt))
	}
	last := ts[len(ts)-1]
	h := 60 * time.Millisecond
	got, want := p.Predict(last+h), turn.at(last+h)
	if a := angleDeg(got.Orientation, want.Orientation); a > 0.01 {
		t.Errorf("orientation off by %g°", a)
	}
	if d := got.Position.Sub(want.Position).Len(); d > 1e-4 {
		t.Errorf("position off by %g m", d)
	}
}

// TestSignFlips: feeding −q for some samples changes nothing.
func TestSignFlips(t *testing.T) {
	ts := unevenTimes(30)
	for _, name := range robustNames() {
		a, _ := NewPredictor(name)
		b, _ := NewPredictor(name)
		for i, tt := range ts {
			s := turn.at(tt)
			a.Observe(s)
			if i%3 != 0 {
				s.Orientation = mgl64.Quat{W: -s.Orientation.W, V: s.Orientation.V.Mul(-1)}
			}
			b.Observe(s)
			at := tt + 50*time.Millisecond
			if d := angleDeg(a.Predict(at).Orientation, b.Predict(at).Orientation); d > 1e-4 {
				t.Fatalf("%s sample %d: sign flip changes prediction by %g°", name, i, d)
			}
		}
	}
}

// TestReorderedAndDuplicateTimes: samples whose time does not increase
// are ignored.
func TestReorderedAndDuplicateTimes(t *testing.T) {
	ts := unevenTimes(20)
	for _, name := range robustNames() {
		a, _ := NewPredictor(name)
		b, _ := NewPredictor(name)
		for i, tt := range ts {
			a.Observe(turn.at(tt))
			b.Observe(turn.at(tt))
			if i > 2 {
				// A duplicate time with a different pose, and an old one.
				dup := turn.at(tt + 40*time.Millisecond)
				dup.Time = tt
				b.Observe(dup)
				b.Observe(turn.at(ts[i-2]))
			}
		}
		at := ts[19] + 60*time.Millisecond
		pa, pb := a.Predict(at), b.Predict(at)
		if d := angleDeg(pa.Orientation, pb.Orientation); d > 1e-4 || pa.Position.Sub(pb.Position).Len() > 1e-12 {
			t.Errorf("%s: reordered samples changed the prediction (%g°)", name, d)
		}
	}
}

// TestGapAndStale: across a gap longer than MaxSampleGap no velocity is
// estimated; a stale newest sample is returned as is.
func TestGapAndStale(t *testing.T) {
	for _, name := range PredictorNames() {
		p, _ := NewPredictor(name)
		for _, tt := range unevenTimes(10) {
			p.Observe(turn.at(tt))
		}
		last := unevenTimes(10)[9]
		// Stale: requested far beyond the newest sample.
		s := turn.at(last)
		if got := p.Predict(last + StaleAfter + time.Millisecond); angleDeg(got.Orientation, s.Orientation) > 1e-6 || got.Position.Sub(s.Position).Len() > 1e-9 {
			t.Errorf("%s: stale prediction moved", name)
		}
		// Gap: one sample after a long gap; no extrapolation from it.
		after := last + MaxSampleGap + 100*time.Millisecond
		s = turn.at(after)
		p.Observe(s)
		got := p.Predict(after + 50*time.Millisecond)
		if a := angleDeg(got.Orientation, s.Orientation); a > 1e-6 {
			t.Errorf("%s: extrapolated across a gap (%g°)", name, a)
		}
	}
}

// TestGlitch: a tracking spike (3000°/s) must not be extrapolated.
func TestGlitch(t *testing.T) {
	for _, name := range PredictorNames() {
		p, _ := NewPredictor(name)
		ts := unevenTimes(20)
		for _, tt := range ts[:19] {
			p.Observe(turn.at(tt))
		}
		spike := turn.at(ts[19])
		spike.Orientation = mgl64.QuatRotate(60*deg, mgl64.Vec3{0, 1, 0}).Mul(spike.Orientation)
		p.Observe(spike)
		got := p.Predict(ts[19] + 100*time.Millisecond)
		if a := angleDeg(got.Orientation, spike.Orientation); a > 15 {
			t.Errorf("%s: prediction %g° away from the spike sample", name, a)
		}
	}
}

// TestNonFiniteIgnored: NaN or infinite input is dropped.
func TestNonFiniteIgnored(t *testing.T) {
	for _, name := range robustNames() {
		p, _ := NewPredictor(name)
		p.Observe(turn.at(0))
		p.Observe(turn.at(16 * time.Millisecond))
		bad := turn.at(32 * time.Millisecond)
		bad.Orientation.W = math.NaN()
		p.Observe(bad)
		bad = turn.at(33 * time.Millisecond)
		bad.Position[1] = math.Inf(1)
		p.Observe(bad)
		bad = turn.at(34 * time.Millisecond)
		bad.Orientation = mgl64.Quat{}
		p.Observe(bad)
		checkPose(t, name, p.Predict(80*time.Millisecond))
	}
}

// TestClientVelocity: robust-cv uses client-sent velocity.
func TestClientVelocity(t *testing.T) {
	p := NewRobustCV("x", RobustConfig{UseClientVelocity: true})
	s := turn.at(0)
	s.AngularVelocity, s.LinearVelocity, s.HasVelocity = turn.w, turn.v, true
	p.Observe(s)
	h := 40 * time.Millisecond
	if a := angleDeg(p.Predict(h).Orientation, turn.at(h).Orientation); a > 1e-6 {
		t.Errorf("client velocity ignored: off by %g°", a)
	}
}

// robustNames lists the predictors that validate their input; "none"
// (NoPrediction) returns its newest input as is, relying on intake.
func robustNames() []string {
	var out []string
	for _, n := range PredictorNames() {
		if n != "none" {
			out = append(out, n)
		}
	}
	return out
}

func checkPose(t testing.TB, name string, p Pose) {
	t.Helper()
	if !finiteQuat(p.Orientation) || !finiteVec(p.Position) || !finiteVec(p.AngularVelocity) || !finiteVec(p.LinearVelocity) {
		t.Fatalf("%s: non-finite prediction %+v", name, p)
	}
	if n := p.Orientation.Len(); math.Abs(n-1) > 1e-9 {
		t.Fatalf("%s: |q| = %v", name, n)
	}
}

// FuzzPredictor feeds arbitrary sample sequences (extreme values, NaN,
// non-unit and zero quaternions, any time order) to every predictor: the
// predictions must be finite with unit quaternions.
func FuzzPredictor(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"))
	seed := make([]byte, 0, 400)
	for i := 0; i < 20; i++ {
		seed = binary.LittleEndian.AppendUint16(seed, uint16(16+i%5))
		for k := 0; k < 7; k++ {
			seed = append(seed, byte(i*k), byte(k))
		}
		seed = append(seed, byte(i))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		preds := newAll(t)
		var now time.Duration
		const rec = 2 + 7*2 + 1
		for len(data) >= rec {
			r := data[:rec]
			data = data[rec:]
			now += time.Duration(int16(binary.LittleEndian.Uint16(r))) * time.Millisecond
			var v [7]float64
			scale := []float64{1, 1e-6, 1e6, 1e300, 1e-300, math.NaN(), math.Inf(1), 0}[r[16]%8]
			for k := range v {
				v[k] = float64(int16(binary.LittleEndian.Uint16(r[2+2*k:]))) / 1000
				if r[16]&(1<<(3+k%5)) != 0 {
					v[k] *= scale
				}
			}
			p := Pose{Seq: uint64(now), Time: now,
				Orientation: mgl64.Quat{W: v[0], V: mgl64.Vec3{v[1], v[2], v[3]}},
				Position:    mgl64.Vec3{v[4], v[5], v[6]},
			}
			if r[16]&1 != 0 {
				p.AngularVelocity, p.LinearVelocity, p.HasVelocity = mgl64.Vec3{v[3], v[2], v[1]}, mgl64.Vec3{v[6], v[5], v[4]}, true
			}
			for name, pr := range preds {
				pr.Observe(p)
				for _, h := range []time.Duration{-time.Millisecond, 0, 17 * time.Millisecond, 100 * time.Millisecond, time.Second} {
					out := pr.Predict(now + h)
					if name == "none" {
						continue // returns its input as is
					}
					checkPose(t, name, out)
				}
			}
		}
	})
}

func BenchmarkPredict(b *testing.B) {
	ts := unevenTimes(64)
	for _, name := range PredictorNames() {
		b.Run(name, func(b *testing.B) {
			p, _ := NewPredictor(name)
			for _, tt := range ts {
				p.Observe(turn.at(tt))
			}
			at := ts[63] + 60*time.Millisecond
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = p.Predict(at)
			}
		})
		b.Run(name+"/observe+predict", func(b *testing.B) {
			p, _ := NewPredictor(name)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				tt := time.Duration(i) * 16 * time.Millisecond
				p.Observe(turn.at(tt))
				_ = p.Predict(tt + 60*time.Millisecond)
			}
		})
	}
}

func ExampleNewPredictor() {
	p, _ := NewPredictor("constant-velocity")
	// Yaw at 90°/s, sampled at 0 and 20 ms.
	yaw := func(t time.Duration) Pose {
		return Pose{Time: t, Orientation: mgl64.QuatRotate(math.Pi/2*t.Seconds(), mgl64.Vec3{0, 1, 0})}
	}
	p.Observe(yaw(0))
	p.Observe(yaw(20 * time.Millisecond))
	got := p.Predict(70 * time.Millisecond)
	fmt.Printf("%.2f°\n", 2*math.Acos(got.Orientation.W)*180/math.Pi)
	// Output: 6.30°
}
