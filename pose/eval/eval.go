// Package eval replays recorded head-motion traces through pose
// predictors the way the node runs them and measures the prediction
// error.
//
// Each sample is observed at its recorded time, in file order; right
// after observing sample i the predictor is asked for the pose at
// t_i + h for each horizon h. The truth at t_i + h is interpolated from
// the trace (SLERP for orientation, linear for position); targets beyond
// the last sample are skipped. The orientation error is the full,
// sign-invariant rotation angle 2·acos(|⟨q_pred,q_true⟩|) in degrees; the
// position error is the Euclidean distance in centimetres (only for
// traces with positions).
package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/pose/trace"
)

// DefaultHorizons are the look-aheads evaluated when none are given.
var DefaultHorizons = []time.Duration{
	20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond,
	80 * time.Millisecond, 100 * time.Millisecond,
}

// Trace is one recording to replay.
type Trace struct {
	Name    string
	Samples []trace.Sample
}

// Predictor names a predictor and makes a fresh instance per trace.
type Predictor struct {
	Name string
	New  func() pose.Predictor
}

// Registered returns the Predictors for the given registered names, or
// for all registered predictors when names is empty.
func Registered(names ...string) ([]Predictor, error) {
	if len(names) == 0 {
		names = pose.PredictorNames()
	}
	out := make([]Predictor, 0, len(names))
	for _, n := range names {
		if _, err := pose.NewPredictor(n); err != nil {
			return nil, err
		}
		out = append(out, Predictor{Name: n, New: func() pose.Predictor {
			p, _ := pose.NewPredictor(n)
			return p
		}})
	}
	return out, nil
}

// Stats summarises an error distribution.
type Stats struct {
	Mean float64 `json:"mean"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
}

// Result is the pooled error of one predictor at one horizon.
type Result struct {
	Predictor string  `json:"predictor"`
	Default   bool    `json:"default"`
	HorizonMS float64 `json:"horizon_ms"`
	// Samples counts the predictions scored for orientation.
	Samples        int   `json:"samples"`
	OrientationDeg Stats `json:"orientation_deg"`
	// PositionCM is nil when no trace had positions.
	PositionCM      *Stats `json:"position_cm"`
	PositionSamples int    `json:"position_samples"`
}

// Errors holds the raw errors of one predictor at one horizon.
type Errors struct {
	OrientationDeg []float64
	PositionCM     []float64
}

// Run replays every trace through a fresh instance of every predictor and
// returns the raw errors indexed [predictor][horizon].
func Run(traces []Trace, preds []Predictor, horizons []time.Duration) [][]Errors {
	out := make([][]Errors, len(preds))
	for pi, pr := range preds {
		out[pi] = make([]Errors, len(horizons))
		for _, tr := range traces {
			replay(tr.Samples, pr.New(), horizons, out[pi])
		}
	}
	return out
}

// Evaluate runs the traces and pools the errors per predictor and
// horizon; the predictor named defaultName is marked Default.
func Evaluate(traces []Trace, preds []Predictor, horizons []time.Duration, defaultName string) []Result {
	errs := Run(traces, preds, horizons)
	var res []Result
	for pi, pr := range preds {
		for hi, h := range horizons {
			e := errs[pi][hi]
			r := Result{
				Predictor:      pr.Name,
				Default:        pr.Name == defaultName,
				HorizonMS:      float64(h) / float64(time.Millisecond),
				Samples:        len(e.OrientationDeg),
				OrientationDeg: Summarize(e.OrientationDeg),
			}
			if len(e.PositionCM) > 0 {
				s := Summarize(e.PositionCM)
				r.PositionCM = &s
				r.PositionSamples = len(e.PositionCM)
			}
			res = append(res, r)
		}
	}
	return res
}

// Timeline is a trace's ground truth for interpolation: its samples with
// strictly increasing times (a sample whose time does not increase is
// dropped).
type Timeline struct {
	T []time.Duration
	Q []mgl64.Quat
	P []mgl64.Vec3
	// HasPosition tells whether every sample recorded a position.
	HasPosition bool
}

// NewTimeline prepares samples for At.
func NewTimeline(s []trace.Sample) *Timeline {
	tl := &Timeline{HasPosition: len(s) > 0}
	for _, x := range s {
		if n := len(tl.T); n > 0 && x.T <= tl.T[n-1] {
			continue
		}
		tl.T = append(tl.T, x.T)
		tl.Q = append(tl.Q, x.Orientation)
		tl.P = append(tl.P, x.Position)
		tl.HasPosition = tl.HasPosition && x.HasPosition
	}
	return tl
}

// At interpolates the pose at time t: SLERP for orientation (the short way
// round, whatever the samples' signs), linear for position. Times outside
// the timeline clamp to its first or last sample.
func (tl *Timeline) At(t time.Duration) (mgl64.Quat, mgl64.Vec3) {
	j := sort.Search(len(tl.T), func(i int) bool { return tl.T[i] >= t })
	if j == 0 {
		return tl.Q[0], tl.P[0]
	}
	if j >= len(tl.T) {
		j = len(tl.T) - 1
	}
	if tl.T[j] == t {
		return tl.Q[j], tl.P[j]
	}
	a := float64(t-tl.T[j-1]) / float64(tl.T[j]-tl.T[j-1])
	return Slerp(tl.Q[j-1], tl.Q[j], a), tl.P[j-1].Add(tl.P[j].Sub(tl.P[j-1]).Mul(a))
}

// Slerp interpolates between unit quaternions along the shorter arc.
func Slerp(a, b mgl64.Quat, t float64) mgl64.Quat {
	d := a.Dot(b)
	if d < 0 {
		b, d = mgl64.Quat{W: -b.W, V: b.V.Mul(-1)}, -d
	}
	if d > 0.9999995 {
		return mgl64.Quat{W: a.W + t*(b.W-a.W), V: a.V.Add(b.V.Sub(a.V).Mul(t))}.Normalize()
	}
	th := math.Acos(d)
	s := math.Sin(th)
	wa, wb := math.Sin((1-t)*th)/s, math.Sin(t*th)/s
	return mgl64.Quat{W: wa*a.W + wb*b.W, V: a.V.Mul(wa).Add(b.V.Mul(wb))}.Normalize()
}

func replay(s []trace.Sample, p pose.Predictor, horizons []time.Duration, out []Errors) {
	tl := NewTimeline(s)
	if len(tl.T) == 0 {
		return
	}
	end := tl.T[len(tl.T)-1]
	for i, x := range s {
		p.Observe(pose.Pose{Seq: uint64(i + 1), Time: x.T, Orientation: x.Orientation, Position: x.Position})
		for hi, h := range horizons {
			target := x.T + h
			if target > end || target < tl.T[0] {
				continue
			}
			pr := p.Predict(target)
			q, pos := tl.At(target)
			out[hi].OrientationDeg = append(out[hi].OrientationDeg, pose.QuatAngle(pr.Orientation, q)*180/math.Pi)
			if tl.HasPosition {
				out[hi].PositionCM = append(out[hi].PositionCM, pr.Position.Sub(pos).Len()*100)
			}
		}
	}
}

// Summarize returns the mean and the 95th and 99th percentiles (linear
// interpolation between closest ranks) of v.
func Summarize(v []float64) Stats {
	if len(v) == 0 {
		return Stats{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return Stats{Mean: sum / float64(len(s)), P95: Percentile(s, 95), P99: Percentile(s, 99)}
}

// Percentile returns the p-th percentile of sorted s by linear
// interpolation between closest ranks.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	r := p / 100 * float64(len(sorted)-1)
	i := int(math.Floor(r))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := r - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

// WriteTable prints results as an aligned table; the default predictor
// is marked with *.
func WriteTable(w io.Writer, res []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "predictor\thorizon\tsamples\tori mean°\tori p95°\tori p99°\tpos mean cm\tpos p95 cm\tpos p99 cm\t")
	for _, r := range res {
		name := r.Predictor
		if r.Default {
			name += " *"
		}
		pos := "-\t-\t-"
		if r.PositionCM != nil {
			pos = fmt.Sprintf("%.2f\t%.2f\t%.2f", r.PositionCM.Mean, r.PositionCM.P95, r.PositionCM.P99)
		}
		fmt.Fprintf(tw, "%s\t%gms\t%d\t%.2f\t%.2f\t%.2f\t%s\t\n", name, r.HorizonMS, r.Samples,
			r.OrientationDeg.Mean, r.OrientationDeg.P95, r.OrientationDeg.P99, pos)
	}
	return tw.Flush()
}

// Report is the JSON document written by WriteJSON.
type Report struct {
	Results []Result `json:"results"`
}

// WriteJSON writes {"results": [...]}.
func WriteJSON(w io.Writer, res []Result) error {
	if res == nil {
		res = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{Results: res})
}
