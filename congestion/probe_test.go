package congestion

import (
	"math"
	"testing"
	"time"
)

// TestClusterMeter: frames through the pacer (two packets at once, the
// rest paced at 2.5 Mbit/s) over paths of different kinds; the meter
// reports the rates the clusters were sent and arrived at, from each
// cluster's second packet on.
func TestClusterMeter(t *testing.T) {
	const size = 1200
	gap := func(bytes int) time.Duration { return time.Duration(float64(bytes*8) * float64(time.Second) / 2.5e6) } // at 2.5 Mbit/s
	// frames returns n frames of k packets each (the last of last
	// bytes, the others of size), 33 ms apart, and when they arrive over
	// a bottleneck of linkBps (0: none) after 10 ms, or squeezed by
	// bunched (a starved receiver stamping them late and close together:
	// their spacing divided by it; 0: not); lose drops packet index lose
	// of every frame (-1: none). The pacer sends the first two at once
	// and waits each later packet's own size before the next.
	type pkt struct {
		sent, arrived time.Time
		size          int
	}
	frames := func(n, k, last int, linkBps, bunched float64, lose int) []pkt {
		t0 := time.Unix(100, 0)
		var out []pkt
		var free time.Time // when the bottleneck is free
		for f := range n {
			sent := t0.Add(time.Duration(f) * 33 * time.Millisecond)
			var frame []pkt
			for i := range k {
				sz := size
				if i == k-1 {
					sz = last
				}
				if i >= 2 {
					sent = sent.Add(gap(frame[i-1].size))
				}
				arr := sent.Add(10 * time.Millisecond)
				if linkBps > 0 {
					if free.After(arr) {
						arr = free
					}
					arr = arr.Add(time.Duration(float64(sz*8) * float64(time.Second) / linkBps))
					free = arr
				}
				frame = append(frame, pkt{sent, arr, sz})
			}
			if bunched > 0 {
				last := frame[k-1].arrived
				for i := range frame {
					frame[i].arrived = last.Add(-time.Duration(float64(last.Sub(frame[i].arrived)) / bunched))
				}
			}
			if lose >= 0 {
				frame[lose].arrived = time.Time{}
			}
			out = append(out, frame...)
		}
		return out
	}
	for _, c := range []struct {
		name           string
		pkts           []pkt
		wantSent, want float64 // bits/s; want is the slower rate, 0: none
	}{
		{"wide path: arrives as sent", frames(3, 5, size, 0, 0, -1), 2.5e6, 2.5e6},
		{"1 Mbit/s bottleneck: its rate", frames(3, 5, size, 1e6, 0, -1), 2.5e6, 1e6},
		// A frame's small last packet is left out: its bytes are not
		// what the pacer waited for before sending it (counted, a wide
		// path read as 54 % of the pacing rate).
		{"small last packets, wide path: the sending rate", frames(4, 5, 100, 0, 0, -1), 2.5e6, 2.5e6},
		{"small last packets, 1 Mbit/s bottleneck: its rate", frames(4, 5, 100, 1e6, 0, -1), 2.5e6, 1e6},
		{"bunched arrivals: the sending rate", frames(3, 5, size, 0, 4, -1), 2.5e6, 2.5e6},
		{"all arrivals stamped at once: none", frames(3, 5, size, 0, math.Inf(1), -1), 0, 0},
		{"a loss in every cluster: none", frames(3, 5, size, 0, 0, 3), 0, 0},
		{"two-packet frames (sent at once): none", frames(6, 2, size, 1e6, 0, -1), 0, 0},
		{"too few paced gaps: none", frames(1, 4, size, 0, 0, -1), 0, 0},
	} {
		var m clusterMeter
		for _, p := range c.pkts {
			m.add(p.sent, p.arrived, p.size)
		}
		sent, recv := m.rates()
		got := min(sent, recv)
		if math.Abs(sent-c.wantSent) > 0.01*c.wantSent+1 || math.Abs(got-c.want) > 0.01*c.want+1 {
			t.Errorf("%s: sent %.0f, arrived %.0f bit/s; want sent %.0f, slower %.0f", c.name, sent, recv, c.wantSent, c.want)
		}
	}
}

// TestControllerBottleneckKept: clusters that found a 2 Mbit/s
// bottleneck set it; clusters a starved receiver stamped bunched (four
// times faster than sent) do not clear it; clusters that arrive as sent,
// faster than it, do (the link widened).
func TestControllerBottleneckKept(t *testing.T) {
	c, err := NewController(Config{StartBitRate: 1_600_000, MinBitRate: 300_000, MaxBitRate: 4_000_000})
	if err != nil {
		t.Fatal(err)
	}
	const size = 1200
	t0, recv := time.Unix(1000, 0), time.Unix(5, 0)
	at := t0
	var seq int64
	// report sends three frames of six packets paced at 2.5× the target
	// (the first two at once) and acks them: spacing returns how far
	// apart the packets of a frame arrive, given how far apart they
	// were sent.
	report := func(spacing func(sent time.Duration) time.Duration) {
		gap := time.Duration(size * 8 * float64(time.Second) / (PacingFactor * float64(c.Target())))
		var acks []Ack
		for f := range 3 {
			start := at.Add(time.Duration(f) * 33 * time.Millisecond)
			arr := recv.Add(start.Sub(t0) + 10*time.Millisecond)
			for i := range 6 {
				sent := start
				if i >= 2 {
					sent = start.Add(time.Duration(i-1) * gap)
				}
				if i > 0 {
					prev := start
					if i >= 2 {
						prev = start.Add(time.Duration(i-2) * gap)
					}
					arr = arr.Add(spacing(sent.Sub(prev)))
				}
				c.OnSent(seq, size, sent)
				acks = append(acks, Ack{Seq: seq, Arrived: arr})
				seq++
			}
		}
		at = at.Add(100 * time.Millisecond)
		c.OnFeedback(acks, at.Add(30*time.Millisecond))
	}
	link := time.Duration(size * 8 * float64(time.Second) / 2e6) // one packet at 2 Mbit/s
	report(func(d time.Duration) time.Duration { return max(d, link) })
	if c.bottleneck < 1.9e6 || c.bottleneck > 2.1e6 {
		t.Fatalf("clusters over a 2 Mbit/s bottleneck: bottleneck %.0f bit/s (probed %.0f, saturated %v)", c.bottleneck, c.probed, c.saturated)
	}
	report(func(d time.Duration) time.Duration { return d / 4 })
	if c.bottleneck == 0 {
		t.Errorf("bunched arrivals cleared the bottleneck (probed %.0f)", c.probed)
	}
	report(func(d time.Duration) time.Duration { return d })
	if c.bottleneck != 0 {
		t.Errorf("clusters arriving as sent at %.0f bit/s kept the bottleneck at %.0f", c.probed, c.bottleneck)
	}
}
