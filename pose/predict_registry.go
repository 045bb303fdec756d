package pose

import (
	"fmt"
	"sort"
	"strings"
)

// DefaultPredictorName names the predictor the node uses.
const DefaultPredictorName = "robust-cv"

var registry = map[string]func() Predictor{
	"none":              func() Predictor { return NewNoPrediction() },
	"constant-velocity": func() Predictor { return NewConstantVelocity() },
	"kalman":            func() Predictor { return NewKalman() },
	"robust-cv":         func() Predictor { return NewRobustCV("robust-cv", DefaultRobustConfig) },
}

// order lists the registered predictors baseline first.
var order = []string{"none", "constant-velocity", "kalman", "robust-cv"}

// PredictorNames returns the registered predictor names, baselines first.
func PredictorNames() []string {
	out := append([]string(nil), order...)
	if len(out) != len(registry) {
		out = out[:0]
		for n := range registry {
			out = append(out, n)
		}
		sort.Strings(out)
	}
	return out
}

// NewPredictor returns a fresh predictor by name.
func NewPredictor(name string) (Predictor, error) {
	mk, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("pose: unknown predictor %q (known: %s)", name, strings.Join(PredictorNames(), ", "))
	}
	return mk(), nil
}
