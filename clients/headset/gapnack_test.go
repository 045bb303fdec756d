package headset

import (
	"slices"
	"testing"
	"time"
)

// TestGapStream: which packets a gap NACKs at once. Each step is a
// packet's arrival, ms after the first; want is what arrive returns.
func TestGapStream(t *testing.T) {
	type step struct {
		seq  uint16
		ms   int
		want []uint16
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{1, 0, nil}, {2, 1, nil}, {3, 2, nil}}},
		{"one lost", []step{{1, 0, nil}, {2, 1, nil}, {4, 2, []uint16{3}}, {5, 3, nil}}},
		{"three lost", []step{{10, 0, nil}, {14, 1, []uint16{11, 12, 13}}}},
		{"across the wrap", []step{{65534, 0, nil}, {1, 1, []uint16{65535, 0}}}},
		{"repair a round trip later, then a new gap", []step{
			{1, 0, nil}, {3, 1, []uint16{2}}, {2, 101, nil}, {5, 102, []uint16{4}},
		}},
		{"duplicate and old packets ask for nothing", []step{{5, 0, nil}, {5, 1, nil}, {3, 2, nil}, {6, 3, nil}}},
		{"an outage is left to the generator", []step{{1, 0, nil}, {1 + maxGapNACK + 2, 500, nil}, {1 + maxGapNACK + 4, 501, []uint16{1 + maxGapNACK + 3}}}},
		{"reordering holds the early NACK", []step{
			{1, 0, nil}, {3, 1, []uint16{2}}, {2, 2, nil}, // 2 came 1 ms late: reordered
			{5, 3, nil}, {4, 4, nil},
			{7, 1000, nil},
			{9, 2010, []uint16{8}}, // reorderHold after the last reordering
		}},
		{"a repair after reorderWindow is no reordering", []step{
			{1, 0, nil}, {3, 1, []uint16{2}}, {2, 12, nil}, {5, 13, []uint16{4}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s gapStream
			t0 := time.Unix(1000, 0)
			for i, st := range c.steps {
				got := s.arrive(st.seq, t0.Add(time.Duration(st.ms)*time.Millisecond))
				if !slices.Equal(got, st.want) {
					t.Fatalf("step %d (seq %d at %d ms): NACK %v, want %v", i, st.seq, st.ms, got, st.want)
				}
			}
		})
	}
}
