package pose

import (
	"math"
	"time"

	"github.com/go-gl/mathgl/mgl64"
)

// RobustConfig parameterises the RobustCV predictor.
type RobustConfig struct {
	// ClockGain is the phase gain of the sample-clock loop (0 < g ≤ 1;
	// the period gain is g²/4). Head trackers sample at a regular rate,
	// but the timestamps that reach the node are jittered labels of those
	// instants; the loop recovers the regular grid. 0 disables the model:
	// recorded timestamps are used as they are.
	ClockGain float64
	// Decay is the time constant of an exponential decay of the
	// extrapolated angular velocity: rotation = ω·T·(1−e^(−τ/T)); 0 keeps
	// it constant.
	Decay time.Duration
	// PosWindow is the span of the least-squares line fitted to recent
	// positions (against grid times) to estimate the linear velocity:
	// position noise is large relative to the motion between two
	// samples. 0 differences the last two samples.
	PosWindow time.Duration
	// PosDecay is Decay for position.
	PosDecay time.Duration
	// StraightWindow, when > 0, scales the extrapolated rotation by how
	// straight the orientation path of the last StraightWindow was: s =
	// net rotation / path length ∈ [0,1], factor StraightFloor +
	// (1−StraightFloor)·s. A head that has been turning steadily keeps
	// turning; one that has been wobbling or reversing does not.
	StraightWindow time.Duration
	StraightFloor  float64
	// UseClientVelocity makes the predictor use the angular and linear
	// velocity the client sent with the newest sample, when it did.
	UseClientVelocity bool
}

// DefaultRobustConfig is the configuration of the "robust-cv" predictor,
// chosen by leave-one-trace-out evaluation on the shared HoloLens traces
// (see docs/prediction.md).
var DefaultRobustConfig = RobustConfig{
	ClockGain:         0.2,
	Decay:             700 * time.Millisecond,
	StraightWindow:    100 * time.Millisecond,
	StraightFloor:     0.5,
	PosWindow:         50 * time.Millisecond,
	PosDecay:          700 * time.Millisecond,
	UseClientVelocity: true,
}

// RobustCV is constant-velocity extrapolation on SO(3) made robust to
// what real traces contain:
//
//   - timestamp jitter: a second-order loop locks onto the tracker's
//     regular sample clock (counting dropped samples as whole periods);
//     the angular velocity of the last two samples is divided by their
//     grid interval, not by their jittered timestamp difference, and the
//     look-ahead is counted from the newest sample's grid time. When the
//     timestamps leave the grid by more than a period (rate change,
//     irregular sender) the loop restarts on the newest sample;
//   - position noise: the linear velocity is the slope of a
//     least-squares line over a short window;
//   - long horizons: the extrapolated velocity decays exponentially,
//     and is scaled down when the recent path was not straight;
//   - sign flips, glitches, gaps and stale samples, as every predictor
//     here (see track).
type RobustCV struct {
	name string
	cfg  RobustConfig
	tr   track

	ok   bool
	w, v mgl64.Vec3

	// Sample clock, seconds on the client clock; grid[i] is the grid
	// time of tr.hist[i].
	period    float64
	intervals int
	grid      []float64
	// Which clock explains the samples better: running one-step
	// prediction errors (rad²) of the grid and the raw timestamps.
	errGrid, errRaw float64
	wRaw            mgl64.Vec3 // angular velocity on raw timestamps
	wGrid           mgl64.Vec3
	straight        float64
	useGrid         bool

	ts []float64
	ps []mgl64.Vec3
}

// clockScoreGain is the EWMA weight of each one-step error when scoring
// the two clocks.
const clockScoreGain = 0.05

// NewRobustCV returns a RobustCV predictor named name.
func NewRobustCV(name string, cfg RobustConfig) *RobustCV {
	return &RobustCV{name: name, cfg: cfg}
}

// Name implements Predictor.
func (f *RobustCV) Name() string { return f.name }

// Observe implements Predictor.
func (f *RobustCV) Observe(p Pose) {
	acc, restart := f.tr.observe(p)
	if !acc {
		return
	}
	h := f.tr.hist
	last := h[len(h)-1]
	if restart {
		f.period, f.intervals, f.grid = 0, 0, f.grid[:0]
		f.errGrid, f.errRaw, f.useGrid = 0, 0, false
		f.wRaw, f.wGrid = mgl64.Vec3{}, mgl64.Vec3{}
	}
	f.advanceClock(h)
	f.ok = false
	if n := len(h); n >= 2 {
		dg, dr := f.grid[n-1]-f.grid[n-2], (last.t - h[n-2].t).Seconds()
		if n >= 3 && f.cfg.ClockGain > 0 {
			// Score both clocks on how well their velocity, over their
			// interval, predicted this sample.
			eg := quatAngle(quatExp(f.wGrid.Mul(dg)).Mul(h[n-2].q), last.q)
			er := quatAngle(quatExp(f.wRaw.Mul(dr)).Mul(h[n-2].q), last.q)
			f.errGrid += clockScoreGain * (eg*eg - f.errGrid)
			f.errRaw += clockScoreGain * (er*er - f.errRaw)
			f.useGrid = f.errGrid < f.errRaw
		}
		rel := quatLog(last.q.Mul(h[n-2].q.Conjugate()))
		f.wRaw = rel.Mul(1 / dr)
		f.wGrid = f.wRaw
		if dg > 0 {
			f.wGrid = rel.Mul(1 / dg)
		}
		f.w = f.wRaw
		if f.useGrid {
			f.w = f.wGrid
		}
		f.v = f.posVelocity(h)
		f.ok = true
		f.straight = 1
		if f.cfg.StraightWindow > 0 {
			var path float64
			j := n - 1
			for j > 0 && last.t-h[j-1].t <= f.cfg.StraightWindow {
				path += quatAngle(h[j].q, h[j-1].q)
				j--
			}
			if path > 1e-9 {
				f.straight = quatAngle(last.q, h[j].q) / path
			}
		}
	}
	if last.hasVel && f.cfg.UseClientVelocity && last.w.Len() <= GlitchAngularSpeed && last.v.Len() <= GlitchLinearSpeed {
		f.w, f.v, f.ok = last.w, last.v, true
	}
	f.ok = f.ok && finiteVec(f.w) && finiteVec(f.v)
}

// advanceClock appends the grid time of the newest sample of h.
func (f *RobustCV) advanceClock(h []sample) {
	if len(f.grid) >= len(h) { // history dropped its oldest sample
		copy(f.grid, f.grid[len(f.grid)-len(h)+1:])
		f.grid = f.grid[:len(h)-1]
	}
	t := h[len(h)-1].t.Seconds()
	if len(h) < 2 || f.cfg.ClockGain <= 0 {
		f.grid = append(f.grid, t)
		return
	}
	prev := f.grid[len(f.grid)-1]
	d := t - h[len(h)-2].t.Seconds()
	n := 1.0
	if f.intervals > 0 {
		// Periods elapsed: dropped samples show as whole multiples.
		n = math.Max(1, math.Floor(d/f.period+0.25))
	}
	if n > 4 {
		// A gap of many periods: restart the phase on this sample.
		f.grid = append(f.grid, t)
		return
	}
	// The period is the mean interval (jitter cancels out in it): a
	// cumulative mean at first, then an EWMA.
	f.intervals++
	a := math.Max(1/float64(f.intervals), 0.05)
	if f.intervals == 1 {
		f.period = d
	} else {
		f.period += a * (math.Min(d/n, 2*f.period) - f.period)
	}
	pred := prev + n*f.period
	e := t - pred
	if math.Abs(e) > f.period {
		// Off the grid (rate change, irregular sender): resync the phase.
		f.grid = append(f.grid, t)
		return
	}
	f.grid = append(f.grid, pred+f.cfg.ClockGain*e)
}

// posVelocity estimates the linear velocity from the history.
func (f *RobustCV) posVelocity(h []sample) mgl64.Vec3 {
	n := len(h)
	last := h[n-1]
	if f.cfg.PosWindow <= 0 {
		return last.p.Sub(h[n-2].p).Mul(1 / (f.grid[n-1] - f.grid[n-2]))
	}
	f.ts, f.ps = f.ts[:0], f.ps[:0]
	win := f.cfg.PosWindow.Seconds()
	for i := n - 1; i >= 0; i-- {
		if f.grid[n-1]-f.grid[i] > win && len(f.ts) >= 2 {
			break
		}
		f.ts = append(f.ts, f.grid[i]-f.grid[n-1])
		f.ps = append(f.ps, h[i].p.Sub(last.p))
	}
	return fitSlope(f.ts, f.ps)
}

// Predict implements Predictor.
func (f *RobustCV) Predict(at time.Duration) Pose {
	if _, ok := f.tr.horizon(at); !ok || !f.ok {
		return f.tr.current()
	}
	// Look-ahead from the newest sample's time on the chosen clock.
	tau := at.Seconds() - f.tr.last.Time.Seconds()
	if f.useGrid {
		tau = at.Seconds() - f.grid[len(f.grid)-1]
	}
	tau = math.Max(0, math.Min(tau, MaxExtrapolation.Seconds()))
	r := f.w.Mul(decayed(tau, f.cfg.Decay))
	if f.cfg.StraightWindow > 0 {
		r = r.Mul(f.cfg.StraightFloor + (1-f.cfg.StraightFloor)*f.straight)
	}
	dp := f.v.Mul(decayed(tau, f.cfg.PosDecay))
	return f.tr.result(at, r, dp, f.w, f.v)
}

// decayed returns ∫₀^τ e^(−s/T) ds, or τ when T is 0.
func decayed(tau float64, T time.Duration) float64 {
	if T <= 0 {
		return tau
	}
	t := T.Seconds()
	return t * (1 - math.Exp(-tau/t))
}

// fitSlope returns the slope of the least-squares line through the points
// (ts[i], ys[i]) (zero for fewer than two distinct times).
func fitSlope(ts []float64, ys []mgl64.Vec3) mgl64.Vec3 {
	n := float64(len(ts))
	var st, stt float64
	var sy, sty mgl64.Vec3
	for i, t := range ts {
		st += t
		stt += t * t
		sy = sy.Add(ys[i])
		sty = sty.Add(ys[i].Mul(t))
	}
	den := n*stt - st*st
	if len(ts) < 2 || den <= 1e-18 {
		return mgl64.Vec3{}
	}
	return sty.Mul(n).Sub(sy.Mul(st)).Mul(1 / den)
}
