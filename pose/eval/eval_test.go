package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-gl/mathgl/mgl64"

	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/pose/trace"
)

const sharedDir = "../../../shared/headmotion"

func loadShared(t testing.TB, glob string) []Trace {
	files, _ := filepath.Glob(filepath.Join(sharedDir, glob))
	if len(files) == 0 {
		t.Skip("shared head-motion traces not present")
	}
	var out []Trace
	for _, f := range files {
		s, err := trace.Open(f, trace.FormatAuto)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Trace{Name: filepath.Base(f), Samples: s})
	}
	return out
}

func pooled(t testing.TB, tr []Trace, names []string, hs []time.Duration) map[string][]Result {
	preds, err := Registered(names...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Result{}
	for _, r := range Evaluate(tr, preds, hs, pose.DefaultPredictorName) {
		out[r.Predictor] = append(out[r.Predictor], r)
	}
	return out
}

var ms = func(x int) time.Duration { return time.Duration(x) * time.Millisecond }

// TestReferenceFigures checks the metric and interpolation against the
// issue's reference figures on the shared HoloLens traces.
func TestReferenceFigures(t *testing.T) {
	tr := loadShared(t, "gul-nossdav20/raw/User*.csv")
	hs := []time.Duration{ms(20), ms(60), ms(100)}
	res := pooled(t, tr, []string{"none", "constant-velocity"}, hs)
	check := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.3f, want %.2f ± %.2f", name, got, want, tol)
		}
	}
	for i, want := range []float64{0.92, 2.72, 4.42} {
		check("none orientation "+hs[i].String(), res["none"][i].OrientationDeg.Mean, want, 0.05)
	}
	check("none position 60ms", res["none"][1].PositionCM.Mean, 2.06, 0.05)
	for i, want := range []float64{0.31, 1.16, 2.15} {
		check("constant-velocity orientation "+hs[i].String(), res["constant-velocity"][i].OrientationDeg.Mean, want, 0.05)
	}
	check("constant-velocity position 60ms", res["constant-velocity"][1].PositionCM.Mean, 0.48, 0.05)
}

// TestDefaultBeatsConstantVelocity checks the issue's acceptance on the
// shared HoloLens traces, pooled and trace by trace: never worse than
// constant velocity in mean and p99 orientation error at 20–100 ms, nor in
// mean position error at 60 ms; mean orientation error at 60 and 100 ms
// at least 15% lower pooled and at least 5% lower on each trace (the
// traces with a regular clock gain least: see the leave-one-out test).
func TestDefaultBeatsConstantVelocity(t *testing.T) {
	tr := loadShared(t, "gul-nossdav20/raw/User*.csv")
	hs := []time.Duration{ms(20), ms(40), ms(60), ms(80), ms(100)}
	check := func(label string, traces []Trace, minGain float64) {
		res := pooled(t, traces, []string{"constant-velocity", pose.DefaultPredictorName}, hs)
		cv, def := res["constant-velocity"], res[pose.DefaultPredictorName]
		for i, h := range hs {
			if def[i].OrientationDeg.Mean > cv[i].OrientationDeg.Mean {
				t.Errorf("%s %v: mean %.3f° > constant-velocity %.3f°", label, h, def[i].OrientationDeg.Mean, cv[i].OrientationDeg.Mean)
			}
			if def[i].OrientationDeg.P99 > cv[i].OrientationDeg.P99 {
				t.Errorf("%s %v: p99 %.3f° > constant-velocity %.3f°", label, h, def[i].OrientationDeg.P99, cv[i].OrientationDeg.P99)
			}
			if h == ms(60) || h == ms(100) {
				if gain := 1 - def[i].OrientationDeg.Mean/cv[i].OrientationDeg.Mean; gain < minGain {
					t.Errorf("%s %v: mean only %.1f%% below constant-velocity, want %.0f%%", label, h, 100*gain, 100*minGain)
				}
			}
			t.Logf("%s %v: mean %.3f vs %.3f (%.1f%%), p99 %.3f vs %.3f", label, h, def[i].OrientationDeg.Mean, cv[i].OrientationDeg.Mean,
				100*(1-def[i].OrientationDeg.Mean/cv[i].OrientationDeg.Mean), def[i].OrientationDeg.P99, cv[i].OrientationDeg.P99)
		}
		if def[2].PositionCM.Mean > cv[2].PositionCM.Mean {
			t.Errorf("%s 60ms: position mean %.3f cm > constant-velocity %.3f cm", label, def[2].PositionCM.Mean, cv[2].PositionCM.Mean)
		}
	}
	check("pooled", tr, 0.15)
	for i := range tr {
		check(tr[i].Name, tr[i:i+1], 0.05)
	}
}

func TestSummarize(t *testing.T) {
	v := make([]float64, 101)
	for i := range v {
		v[100-i] = float64(i)
	}
	s := Summarize(v)
	if s.Mean != 50 || s.P95 != 95 || s.P99 != 99 {
		t.Errorf("got %+v", s)
	}
	if (Summarize(nil) != Stats{}) {
		t.Error("empty")
	}
	if got := Percentile([]float64{0, 10}, 95); math.Abs(got-9.5) > 1e-12 {
		t.Errorf("Percentile = %v", got)
	}
}

// TestGroundTruthInterpolation: a trace rotating at a constant rate gives
// zero error for constant-velocity at any horizon, which needs SLERP
// ground truth; none's error is the rotation over the horizon.
func TestGroundTruthInterpolation(t *testing.T) {
	var s []trace.Sample
	for i := 0; i < 100; i++ {
		tt := time.Duration(i*i%7+i*15) * time.Millisecond
		a := tt.Seconds() * math.Pi / 2 // 90°/s about Y
		// Alternate signs: q and −q are the same orientation.
		q := mgl64.QuatRotate(a, mgl64.Vec3{0, 1, 0})
		if i%2 == 1 {
			q = q.Scale(-1)
		}
		s = append(s, trace.Sample{T: tt, Orientation: q, Position: mgl64.Vec3{tt.Seconds(), 0, 0}, HasPosition: true})
	}
	preds, _ := Registered("none", "constant-velocity")
	res := Evaluate([]Trace{{Name: "synthetic", Samples: s}}, preds, []time.Duration{ms(20), ms(37)}, "")
	for _, r := range res {
		switch r.Predictor {
		case "none":
			want := r.HorizonMS / 1000 * 90
			if math.Abs(r.OrientationDeg.Mean-want) > 1e-6 || math.Abs(r.PositionCM.Mean-r.HorizonMS/10) > 1e-6 {
				t.Errorf("none %vms: %.4f° %.4f cm, want %.4f° %.4f cm", r.HorizonMS, r.OrientationDeg.Mean, r.PositionCM.Mean, want, r.HorizonMS/10)
			}
		case "constant-velocity":
			// The first sample has no velocity yet.
			if r.OrientationDeg.P95 > 1e-4 || r.PositionCM.P95 > 1e-6 {
				t.Errorf("constant-velocity %vms: %+v %+v", r.HorizonMS, r.OrientationDeg, *r.PositionCM)
			}
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var s []trace.Sample
	for i := 0; i < 10; i++ {
		s = append(s, trace.Sample{T: ms(i * 16), Orientation: mgl64.QuatIdent()})
	}
	preds, _ := Registered("none", pose.DefaultPredictorName)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, Evaluate([]Trace{{Samples: s}}, preds, DefaultHorizons, pose.DefaultPredictorName)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 10 {
		t.Fatalf("%d results", len(doc.Results))
	}
	r := doc.Results[len(doc.Results)-1]
	for _, k := range []string{"predictor", "default", "horizon_ms", "samples", "orientation_deg", "position_cm"} {
		if _, ok := r[k]; !ok {
			t.Errorf("missing %q in %v", k, r)
		}
	}
	if r["default"] != true || r["horizon_ms"] != 100.0 || r["position_cm"] != nil {
		t.Errorf("got %v", r)
	}
	if o := r["orientation_deg"].(map[string]any); len(o) != 3 || o["p99"] == nil {
		t.Errorf("orientation_deg %v", o)
	}
}

func Example() {
	// A head turning at 90°/s about +Y, sampled every 16 ms.
	var s []trace.Sample
	for i := 0; i <= 60; i++ {
		tt := time.Duration(i) * 16 * time.Millisecond
		s = append(s, trace.Sample{T: tt, Orientation: mgl64.QuatRotate(tt.Seconds()*math.Pi/2, mgl64.Vec3{0, 1, 0})})
	}
	preds, _ := Registered("none", "constant-velocity")
	res := Evaluate([]Trace{{Name: "turn", Samples: s}}, preds, []time.Duration{48 * time.Millisecond}, "")
	for _, r := range res {
		fmt.Printf("%s at %gms: mean %.2f°, p99 %.2f°\n", r.Predictor, r.HorizonMS, r.OrientationDeg.Mean, r.OrientationDeg.P99)
	}
	// Output:
	// none at 48ms: mean 4.32°, p99 4.32°
	// constant-velocity at 48ms: mean 0.07°, p99 1.86°
}

// TestPerturbedTraces checks that the default predictor's advantage is
// not tied to the exact sampling of the shared traces: with 10% of the
// samples dropped, and separately with ±3 ms of extra timestamp jitter,
// it still beats constant velocity in mean and p99 at 20–100 ms.
func TestPerturbedTraces(t *testing.T) {
	tr := loadShared(t, "gul-nossdav20/raw/User*.csv")
	rng := uint64(12345)
	next := func() uint64 { // xorshift: deterministic without math/rand
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return rng
	}
	perturb := map[string]func(trace.Sample, time.Duration) (trace.Sample, bool){
		"drop 10%": func(s trace.Sample, _ time.Duration) (trace.Sample, bool) { return s, next()%10 != 0 },
		"jitter ±3ms": func(s trace.Sample, prev time.Duration) (trace.Sample, bool) {
			s.T += time.Duration(int64(next()%6001)-3000) * time.Microsecond
			return s, s.T > prev
		},
	}
	hs := []time.Duration{ms(20), ms(40), ms(60), ms(80), ms(100)}
	for name, f := range perturb {
		var pt []Trace
		for _, x := range tr {
			var s []trace.Sample
			for _, smp := range x.Samples {
				prev := time.Duration(-1 << 62)
				if len(s) > 0 {
					prev = s[len(s)-1].T
				}
				if y, ok := f(smp, prev); ok {
					s = append(s, y)
				}
			}
			pt = append(pt, Trace{Name: x.Name, Samples: s})
		}
		res := pooled(t, pt, []string{"constant-velocity", pose.DefaultPredictorName}, hs)
		cv, def := res["constant-velocity"], res[pose.DefaultPredictorName]
		for i, h := range hs {
			if def[i].OrientationDeg.Mean >= cv[i].OrientationDeg.Mean || def[i].OrientationDeg.P99 >= cv[i].OrientationDeg.P99 {
				t.Errorf("%s %v: mean %.3f p99 %.3f, constant-velocity %.3f %.3f", name, h,
					def[i].OrientationDeg.Mean, def[i].OrientationDeg.P99, cv[i].OrientationDeg.Mean, cv[i].OrientationDeg.P99)
			}
			t.Logf("%s %v: mean %.3f vs %.3f (%.1f%%)", name, h, def[i].OrientationDeg.Mean, cv[i].OrientationDeg.Mean,
				100*(1-def[i].OrientationDeg.Mean/cv[i].OrientationDeg.Mean))
		}
	}
}
