package pose

import (
	"testing"
	"time"
)

func TestLatencyEstimator(t *testing.T) {
	ms := func(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
	type obs func(e *LatencyEstimator, clock *time.Time)
	client := func(d ...float64) obs {
		return func(e *LatencyEstimator, _ *time.Time) {
			for _, x := range d {
				e.ObserveClientReport(ms(x))
			}
		}
	}
	node := func(age, render, conv, enc, send float64) obs {
		return func(e *LatencyEstimator, _ *time.Time) {
			e.ObserveNodeFrame(ms(age), ms(render), ms(conv), ms(enc), ms(send))
		}
	}
	rtt := func(d float64) obs { return func(e *LatencyEstimator, _ *time.Time) { e.ObserveRTT(ms(d)) } }
	disp := func(d float64) obs { return func(e *LatencyEstimator, _ *time.Time) { e.ObserveDisplayDelay(ms(d)) } }
	wait := func(d time.Duration) obs { return func(_ *LatencyEstimator, c *time.Time) { *c = c.Add(d) } }
	tests := []struct {
		name string
		obs  []obs
		want time.Duration
		tol  time.Duration
	}{
		{"default before anything", nil, DefaultHorizon, 0},
		{"one client report", []obs{client(70)}, ms(70), 0},
		{"client outlier rejected by median", []obs{client(60, 60, 60, 60, 60, 900, 60, 60)}, ms(60), ms(0.01)},
		{"client converges on a step", []obs{client(40, 40, 40, 40, 40, 40, 40, 40, 40, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80)}, ms(80), ms(1)},
		{"client wins over node stages", []obs{node(5, 30, 2, 5, 1), rtt(40), client(90)}, ms(90), 0},
		{"node stages + rtt/2 + default display", []obs{node(5, 30, 2, 5, 1), rtt(40)}, ms(5+30+2+5+1+20) + DefaultDisplayDelay, ms(0.01)},
		{"node stages + reported display", []obs{node(5, 30, 2, 5, 1), rtt(40), disp(8)}, ms(5 + 30 + 2 + 5 + 1 + 20 + 8), ms(0.01)},
		{"rtt only", []obs{rtt(20)}, ms(10) + DefaultDisplayDelay, ms(0.01)},
		{"stale client report falls back to node", []obs{client(90), wait(ClientReportTTL + time.Second), node(1, 10, 1, 1, 1)}, ms(14) + DefaultDisplayDelay, ms(0.01)},
		{"stale client report alone still used", []obs{client(90), wait(time.Minute)}, ms(90), 0},
		{"clamped to max", []obs{client(2000)}, MaxHorizon, 0},
		{"node sum clamped", []obs{node(100, 200, 50, 50, 50), rtt(400)}, MaxHorizon, 0},
		{"negative and absurd ignored", []obs{client(-5, 20000)}, DefaultHorizon, 0},
		{"zero latency", []obs{client(0)}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := time.Unix(1000, 0)
			e := NewLatencyEstimator(WithNow(func() time.Time { return clock }))
			for _, o := range tc.obs {
				o(e, &clock)
			}
			got := e.Horizon()
			if d := got - tc.want; d > tc.tol || d < -tc.tol {
				t.Errorf("Horizon() = %v, want %v ± %v", got, tc.want, tc.tol)
			}
		})
	}
}
