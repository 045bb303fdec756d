package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holocast/holocast/pose"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := dispatch(args, &out, &errb)
	return rc, out.String(), errb.String()
}

func writeTrace(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t_ms,qx,qy,qz,qw,px,py,pz\n")
	for i := 0; i < 200; i++ {
		a := float64(i) * 0.016 * math.Pi / 2 / 2 // 90°/s, half angle
		fmt.Fprintf(&b, "%d,0,%g,0,%g,%g,1.6,0\n", i*16, math.Sin(a), math.Cos(a), float64(i)*0.001)
	}
	p := filepath.Join(t.TempDir(), "turn.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDispatch(t *testing.T) {
	if rc, _, e := run(); rc != 2 || !strings.Contains(e, "usage") {
		t.Errorf("no args: rc %d, %q", rc, e)
	}
	if rc, o, _ := run("help"); rc != 0 || !strings.Contains(o, "predict") {
		t.Errorf("help: rc %d, %q", rc, o)
	}
	if rc, o, _ := run("help", "predict"); rc != 0 || !strings.Contains(o, "--horizons") {
		t.Errorf("help predict: rc %d, %q", rc, o)
	}
	if rc, o, _ := run("predict", "--help"); rc != 0 || !strings.Contains(o, "--predictors") {
		t.Errorf("predict --help: rc %d, %q", rc, o)
	}
	if rc, _, e := run("frobnicate"); rc != 2 || !strings.Contains(e, "unknown command") {
		t.Errorf("unknown: rc %d, %q", rc, e)
	}
}

func TestPredict(t *testing.T) {
	tr := writeTrace(t)
	js := filepath.Join(t.TempDir(), "out.json")
	rc, o, e := run("predict", "--horizons", "20ms,60ms", tr, "--json", js)
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, e)
	}
	for _, n := range pose.PredictorNames() {
		if !strings.Contains(o, n) {
			t.Errorf("table lacks %s:\n%s", n, o)
		}
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Predictor      string  `json:"predictor"`
			Default        bool    `json:"default"`
			HorizonMS      float64 `json:"horizon_ms"`
			Samples        int     `json:"samples"`
			OrientationDeg struct{ Mean, P95, P99 float64 }
			PositionCM     *struct{ Mean, P95, P99 float64 } `json:"position_cm"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 2*len(pose.PredictorNames()) {
		t.Fatalf("%d results", len(doc.Results))
	}
	defaults := 0
	for _, r := range doc.Results {
		if r.Default {
			defaults++
			if r.Predictor != pose.DefaultPredictorName {
				t.Errorf("default marks %s", r.Predictor)
			}
		}
		if r.Samples == 0 || r.PositionCM == nil || (r.HorizonMS != 20 && r.HorizonMS != 60) {
			t.Errorf("bad result %+v", r)
		}
		if r.Predictor == "constant-velocity" && r.OrientationDeg.P95 > 1e-3 {
			t.Errorf("constant-velocity on a constant turn: %+v", r.OrientationDeg)
		}
	}
	if defaults != 2 {
		t.Errorf("%d default rows", defaults)
	}
}

func TestPredictErrors(t *testing.T) {
	tr := writeTrace(t)
	for _, args := range [][]string{
		{"predict"},
		{"predict", "--horizons", "soon", tr},
		{"predict", "--predictors", "psychic", tr},
		{"predict", "--format", "xml", tr},
		{"predict", "--bogus", tr},
	} {
		if rc, _, e := run(args...); rc != 2 || e == "" {
			t.Errorf("%v: rc %d, stderr %q", args, rc, e)
		}
	}
	if rc, _, e := run("predict", filepath.Join(t.TempDir(), "missing.csv")); rc != 1 || !strings.Contains(e, "missing.csv") {
		t.Errorf("missing file: rc %d, %q", rc, e)
	}
	if rc, _, e := run("predict", "--format", "corbillon", tr); rc != 1 || !strings.Contains(e, "line") {
		t.Errorf("wrong format: rc %d, %q", rc, e)
	}
}
