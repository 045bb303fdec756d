package pose

import (
	"math"
	"testing"

	"github.com/go-gl/mathgl/mgl64"
)

// learnSteady feeds l a head turning at the constant world-frame angular
// velocity actual about a fixed axis, sampled every step seconds, while
// the extrapolations it is given assume the velocity extrapolated. Every
// extrapolation is kept with sample period period.
func learnSteady(l *gainLearner, samples int, step, period float64, actual, extrapolated mgl64.Vec3) {
	for i := 0; i < samples; i++ {
		now := float64(i) * step
		q := quatExp(actual.Mul(now))
		l.score(now, q)
		l.keep(now, period, q, mgl64.Vec3{}, func(tau float64) mgl64.Vec3 { return extrapolated.Mul(tau) })
	}
}

// TestGainLearner: steady turns whose actual yaw and tilt rates are fixed
// multiples of the extrapolated ones teach those multiples, per
// look-ahead, shrunk toward 1 by the prior and clamped; the gains are
// interpolated between whole periods, 1 at zero look-ahead and below
// first periods.
func TestGainLearner(t *testing.T) {
	const period = 1.0 / 60
	extrapolated := mgl64.Vec3{0.3, 1, -0.2}
	tests := []struct {
		name      string
		l         gainLearner
		samples   int
		step      float64 // sample interval, periods
		yaw, tilt float64 // actual rate / extrapolated rate
		// want[k] is the yaw and tilt gain at look-ahead k/2 periods;
		// nil: the clamped, shrunk ratio at every whole period from 1.
		want [][2]float64
	}{
		{
			name:    "nothing learned yet",
			l:       gainLearner{memory: 100, lo: 0.5, hi: 2, first: 1},
			samples: 0, step: 1, yaw: 1.2, tilt: 0.8,
			want: [][2]float64{{1, 1}, {1, 1}, {1, 1}, {1, 1}},
		},
		{
			name:    "ratios learned per look-ahead",
			l:       gainLearner{memory: 100, lo: 0.5, hi: 2, first: 1},
			samples: 200, step: 1, yaw: 1.2, tilt: 0.8,
		},
		{
			name:    "interpolated between periods, 1 at zero",
			l:       gainLearner{memory: 100, lo: 0.5, hi: 2, first: 1},
			samples: 200, step: 1, yaw: 1.2, tilt: 0.8,
			want: [][2]float64{{1, 1}, {1.1, 0.9}, {1.2, 0.8}, {1.2, 0.8}, {1.2, 0.8}},
		},
		{
			name:    "clamped to [lo, hi]",
			l:       gainLearner{memory: 100, lo: 0.5, hi: 2, first: 1},
			samples: 200, step: 1, yaw: 3, tilt: 0.1,
		},
		{
			name:    "shrunk toward 1 by the prior",
			l:       gainLearner{memory: 100, prior: 50, lo: 0.5, hi: 2, first: 1},
			samples: 60, step: 1, yaw: 1.2, tilt: 0.8,
		},
		{
			name:    "below first periods the gain is 1",
			l:       gainLearner{memory: 100, lo: 0.5, hi: 2, first: 3},
			samples: 200, step: 1, yaw: 1.2, tilt: 0.8,
			want: [][2]float64{{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1.1, 0.9}, {1.2, 0.8}},
		},
		{
			// Samples 1.5 periods apart are 1.5, 3, 4.5, 6 periods after
			// an extrapolation: only lags 3 and 6 are near whole periods.
			name:    "only whole periods are scored",
			l:       gainLearner{memory: 100, lo: 0.5, hi: 2, first: 1},
			samples: 200, step: 1.5, yaw: 1.2, tilt: 0.8,
			want: [][2]float64{{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1.1, 0.9}, {1.2, 0.8},
				{1.1, 0.9}, {1, 1}, {1, 1}, {1, 1}, {1.1, 0.9}, {1.2, 0.8}, {1.2, 0.8}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			actual := mgl64.Vec3{extrapolated[0] * tc.tilt, extrapolated[1] * tc.yaw, extrapolated[2] * tc.tilt}
			learnSteady(&l, tc.samples, tc.step*period, period, actual, extrapolated)
			check := func(tau float64, wy, wt float64) {
				t.Helper()
				gy, gt := l.gain(tau)
				if math.Abs(gy-wy) > 1e-9 || math.Abs(gt-wt) > 1e-9 {
					t.Errorf("gain(%.2f periods) = %.6f, %.6f; want %.6f, %.6f", tau/period, gy, gt, wy, wt)
				}
			}
			if tc.want != nil {
				for k, w := range tc.want {
					check(float64(k)/2*period, w[0], w[1])
				}
				return
			}
			for k := 1; k <= adaptLags+2; k++ {
				// Lag k was scored on every sample from the k-th on: its
				// forgetting sums hold n = memory·(1−(1−1/memory)^m)
				// samples' worth.
				m := float64(tc.samples - min(k, adaptLags))
				n := l.memory * (1 - math.Pow(1-1/l.memory, m))
				want := func(r float64) float64 {
					return math.Max(l.lo, math.Min(l.hi, (r*n+l.prior)/(n+l.prior)))
				}
				check(float64(k)*period, want(tc.yaw), want(tc.tilt))
			}
		})
	}
}

// TestGainLearnerAcceleration: a head sweeping ±40° in yaw at 0.5 Hz,
// extrapolated at its exact velocity, with its exact acceleration kept:
// the velocity gains stay near 1 (acceleration is uncorrelated with
// velocity over a sweep) and the yaw acceleration coefficients near 1
// (what is left is ½·a·τ², up to higher orders); tilt, which never
// moves, learns nothing. Without accel nothing is learned.
func TestGainLearnerAcceleration(t *testing.T) {
	const period = 1.0 / 60
	yaw := mgl64.Vec3{0, 1, 0}
	amp, omega := 40*deg, math.Pi
	for _, accel := range []bool{true, false} {
		l := gainLearner{memory: 300, lo: 0.5, hi: 1.3, first: 1, accel: accel}
		for i := 0; i < 900; i++ {
			now := float64(i) * period
			q := quatExp(yaw.Mul(amp * math.Sin(omega*now)))
			w := yaw.Mul(amp * omega * math.Cos(omega*now))
			acc := yaw.Mul(-amp * omega * omega * math.Sin(omega*now))
			l.score(now, q)
			l.keep(now, period, q, acc, func(tau float64) mgl64.Vec3 { return w.Mul(tau) })
		}
		for k := 1; k <= adaptLags; k++ {
			tau := float64(k) * period
			gy, _ := l.gain(tau)
			ky, kt := l.accGain(tau)
			t.Logf("accel %v, %d periods: yaw gain %.4f, acceleration coefficients %.4f, %.4f", accel, k, gy, ky, kt)
			if math.Abs(gy-1) > 0.05 {
				t.Errorf("accel %v, %d periods: yaw gain %.4f, want 1 ± 0.05", accel, k, gy)
			}
			if kt != 0 {
				t.Errorf("accel %v, %d periods: tilt acceleration coefficient %v, want 0", accel, k, kt)
			}
			if accel && (ky < 0.9 || ky > 1) {
				t.Errorf("%d periods: yaw acceleration coefficient %.4f, want in [0.9, 1]", k, ky)
			}
			if !accel && ky != 0 {
				t.Errorf("accel off, %d periods: yaw acceleration coefficient %v, want 0", k, ky)
			}
		}
		if ky, kt := l.accGain(0); ky != 0 || kt != 0 {
			t.Errorf("accel %v: coefficients at zero look-ahead %v, %v, want 0", accel, ky, kt)
		}
	}
}

// TestGainLearnerApply: apply scales yaw and tilt by their gains and adds
// the learned share of ½·acc·τ².
func TestGainLearnerApply(t *testing.T) {
	const period = 0.01
	l := gainLearner{memory: 100, first: 1, accel: true, ring: []adaptEntry{{period: period}}}
	l.gains[1] = [2]float64{1.25, 0.5}
	l.accGains[1] = [2]float64{0.5, 0.25}
	tau := 2 * period
	r, acc := mgl64.Vec3{1, 2, 3}, mgl64.Vec3{100, 200, 300}
	h := 0.5 * tau * tau
	want := mgl64.Vec3{1*0.5 + 100*0.25*h, 2*1.25 + 200*0.5*h, 3*0.5 + 300*0.25*h}
	if got := l.apply(tau, r, acc); !got.ApproxEqualThreshold(want, 1e-12) {
		t.Errorf("apply = %v, want %v", got, want)
	}
	l.accel = false
	want = mgl64.Vec3{1 * 0.5, 2 * 1.25, 3 * 0.5}
	if got := l.apply(tau, r, acc); !got.ApproxEqualThreshold(want, 1e-12) {
		t.Errorf("apply without accel = %v, want %v", got, want)
	}
}
