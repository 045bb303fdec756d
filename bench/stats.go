package bench

import (
	"math"
	"sort"
	"time"

	"github.com/holocast/holocast/pose/eval"
)

// summarize computes a Dist; percentiles interpolate linearly between
// closest ranks.
func summarize(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := sorted(v)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return Dist{
		Count: len(s), Mean: round3(sum / float64(len(s))),
		P50: round3(eval.Percentile(s, 50)), P95: round3(eval.Percentile(s, 95)),
		P99: round3(eval.Percentile(s, 99)), Max: round3(s[len(s)-1]),
	}
}

// sorted returns a sorted copy of v.
func sorted(v []float64) []float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s
}

// median returns the median of v, unrounded (v is reordered).
func median(v []float64) float64 {
	sort.Float64s(v)
	return eval.Percentile(v, 50)
}

// round3 rounds to 3 decimals, the precision of every figure in the report.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// usMS converts the microseconds of a wire field to milliseconds.
func usMS(us uint32) float64 { return float64(us) / 1000 }

// kbps is the bit rate, in kbit/s, of bytes received over seconds.
func kbps(bytes int64, seconds float64) float64 { return float64(bytes) * 8 / seconds / 1000 }
