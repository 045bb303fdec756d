package bench

import (
	"math"
	"sort"
	"time"

	"github.com/holocast/holocast/pose/eval"
)

// Dist summarises a distribution. Every field is always present in JSON;
// with Count 0 the others are 0.
type Dist struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// summarize computes a Dist; percentiles interpolate linearly between
// closest ranks.
func summarize(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
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

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// freezes returns the count and total length of the gaps between
// consecutive arrival times (sorted) that count as freezes: longer than
// max(3 frame intervals, 1 interval + 150 ms), the rule WebRTC's
// freezeCount uses with the nominal frame interval.
func freezes(arrivals []time.Duration, interval time.Duration) (int, time.Duration) {
	limit := max(3*interval, interval+150*time.Millisecond)
	var n int
	var total time.Duration
	for i := 1; i < len(arrivals); i++ {
		if g := arrivals[i] - arrivals[i-1]; g > limit {
			n++
			total += g
		}
	}
	return n, total
}
