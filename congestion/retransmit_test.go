package congestion

import (
	"testing"
	"time"
)

// sendFrames records frames of pkts packets each, a frame every
// interval from t0 for n frames; it returns the time after the last.
func sendFrames(r *Retransmitter, t0 time.Time, n, pkts int, interval time.Duration) time.Time {
	seq := uint16(0)
	for f := range n {
		at := t0.Add(time.Duration(f) * interval)
		for range pkts {
			r.OnMedia(seq, uint32(f*3000), at) //nolint:gosec // test
			seq++
		}
	}
	return t0.Add(time.Duration(n) * interval)
}

// TestRetransmitBudgetHeavyLoss: a receiver that NACKs every packet of a
// 2 Mbit/s stream (100 % loss, the worst case) gets retransmissions at no
// more than RetransmitShare of the target, over any window, whatever the
// NACK pattern; the rest are counted over budget.
func TestRetransmitBudgetHeavyLoss(t *testing.T) {
	const (
		bps      = 2_000_000
		size     = 1200
		interval = time.Second / 30
		pkts     = 7 // 7 × 1200 B × 30 fps ≈ 2 Mbit/s
	)
	t0 := time.Unix(1000, 0)
	r := &Retransmitter{}
	var sentBytes []int // per frame
	seq := uint16(0)
	for f := range 300 { // 10 s
		at := t0.Add(time.Duration(f) * interval)
		first := seq
		for range pkts {
			r.OnMedia(seq, uint32(f*3000), at) //nolint:gosec // test
			seq++
		}
		// The NACK for the whole frame arrives 40 ms later (a 40 ms RTT),
		// twice (a receiver that repeats its NACKs: the repeats are skipped as such).
		nackAt := at.Add(40 * time.Millisecond)
		got := 0
		for range 2 {
			for s := first; s != seq; s++ {
				if r.Allow(s, size, bps, 40*time.Millisecond, nackAt) {
					got += size
				}
			}
		}
		sentBytes = append(sentBytes, got)
	}
	// Over any second (30 frames), retransmissions ≤ 25 % of 2 Mbit/s
	// (62.5 kB) plus the bucket's depth (100 ms at 25 %: 6.25 kB).
	limit := RetransmitShare*bps/8 + RetransmitShare*bps/8*retransmitBurst.Seconds()
	for i := 0; i+30 <= len(sentBytes); i++ {
		sum := 0
		for _, b := range sentBytes[i : i+30] {
			sum += b
		}
		if float64(sum) > limit {
			t.Fatalf("frames %d–%d: %d bytes retransmitted in 1 s, budget %.0f", i, i+30, sum, limit)
		}
	}
	st := r.Stats()
	total := float64(st.SentBytes) * 8 / 10 // bits per second over 10 s
	if total < 0.8*RetransmitShare*bps || total > 1.05*RetransmitShare*bps {
		t.Errorf("retransmitted %.0f bit/s on average, want close to %.0f (the whole budget used)", total, RetransmitShare*bps)
	}
	if st.OverBudget == 0 || st.TooOld != 0 || st.Repeated == 0 {
		t.Errorf("stats %+v: want over-budget skips and no too-old ones", st)
	}
}

// TestRetransmitAge: a packet is retransmitted while it is younger than
// one round trip, two frame intervals and the margin, at most once per
// round trip; older ones, and ones no longer remembered, are skipped.
func TestRetransmitAge(t *testing.T) {
	t0 := time.Unix(1000, 0)
	interval := 20 * time.Millisecond
	rtt := 60 * time.Millisecond
	r := &Retransmitter{}
	end := sendFrames(r, t0, 50, 2, interval)
	if fi := r.FrameInterval(); fi != interval {
		t.Fatalf("frame interval %v, want %v", fi, interval)
	}
	if got, want := r.MaxAge(rtt), rtt+2*interval+retransmitMargin; got != want {
		t.Fatalf("MaxAge %v, want %v", got, want)
	}
	if got := r.MaxAge(0); got != DefaultRetransmitRTT+2*interval+retransmitMargin {
		t.Fatalf("MaxAge without an RTT %v", got)
	}
	last := uint16(99) // frame 49, sent at end-interval
	lastAt := end.Add(-interval)
	tests := []struct {
		name string
		seq  uint16
		at   time.Time
		want bool
	}{
		{"fresh", last, lastAt.Add(rtt), true},
		{"asked again within the round trip", last, lastAt.Add(rtt + 10*time.Millisecond), false},
		{"asked again a round trip later", last, lastAt.Add(2*rtt + time.Millisecond), true},
		{"at the limit", last - 1, lastAt.Add(r.MaxAge(rtt)), true},
		{"just too old", last, lastAt.Add(r.MaxAge(rtt) + time.Millisecond), false},
		{"a frame older than the limit", 0, lastAt.Add(rtt), false},
		{"never sent", last + 10, lastAt, false},
	}
	for _, tc := range tests {
		if got := r.Allow(tc.seq, 1000, 10_000_000, rtt, tc.at); got != tc.want {
			t.Errorf("%s: Allow = %v, want %v", tc.name, got, tc.want)
		}
	}
	if st := r.Stats(); st.Sent != 3 || st.TooOld != 3 || st.OverBudget != 0 || st.Repeated != 1 {
		t.Errorf("stats %+v", st)
	}
	// A sequence number 2048 newer than a remembered one takes its slot.
	r.OnMedia(last+retransmitHistory, 0, lastAt)
	if r.Allow(last, 1000, 10_000_000, rtt, lastAt) {
		t.Error("a packet overwritten in the history was allowed")
	}
}

// TestRetransmitLowRate: at a target so low that the budget's depth is
// below one packet, one full-size retransmission is still allowed, and
// the budget refills at RetransmitShare of the target.
func TestRetransmitLowRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := &Retransmitter{}
	sendFrames(r, t0, 1, 10, time.Second/30)
	const bps = 100_000 // 25 % = 3125 B/s
	ok := 0
	for s := range uint16(10) {
		if r.Allow(s, 1200, bps, time.Second, t0) {
			ok++
		}
	}
	if ok != 2 {
		t.Fatalf("%d of 10 allowed at once, want 2 (the minimum depth)", ok)
	}
	// 1200 B at 3125 B/s = 384 ms.
	if r.Allow(2, 1200, bps, time.Second, t0.Add(300*time.Millisecond)) {
		t.Error("allowed before the budget refilled")
	}
	if !r.Allow(3, 1200, bps, time.Second, t0.Add(390*time.Millisecond)) {
		t.Error("not allowed once the budget refilled")
	}
}

// TestIsRetransmission: only sequence numbers at or before the newest
// sent are repeats, across the 16-bit wrap.
func TestIsRetransmission(t *testing.T) {
	r := &Retransmitter{}
	if r.IsRetransmission(5) {
		t.Error("nothing sent yet")
	}
	t0 := time.Unix(1000, 0)
	r.OnMedia(65534, 0, t0)
	r.OnMedia(65535, 0, t0)
	r.OnMedia(0, 0, t0)
	for seq, want := range map[uint16]bool{65534: true, 0: true, 1: false, 60000: true, 100: false} {
		if got := r.IsRetransmission(seq); got != want {
			t.Errorf("IsRetransmission(%d) = %v, want %v", seq, got, want)
		}
	}
}

// TestDuplicateRepairs: repairs go out twice only where a second round
// trip would break WebRTC's freeze limit: at 30 fps from a round trip of
// about 58 ms, at 60 fps (where 150 ms dominates the limit) from about
// 67 ms, at 10 fps from 50 ms; never on a short round trip.
func TestDuplicateRepairs(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		rtt, interval time.Duration
		want          bool
	}{
		{10 * ms, 33 * ms, false},
		{50 * ms, 33 * ms, false},
		{60 * ms, 33 * ms, true},
		{100 * ms, 33 * ms, true},
		{0, 33 * ms, true}, // none measured: DefaultRetransmitRTT
		{55 * ms, 16 * ms, false},
		{70 * ms, 16 * ms, true},
		{40 * ms, 100 * ms, false}, // 10 fps: a 300 ms limit, 280 ms for two rounds
		{60 * ms, 100 * ms, true},  // 320 ms
	} {
		if got := DuplicateRepairs(c.rtt, c.interval); got != c.want {
			t.Errorf("rtt %v, interval %v: %v, want %v", c.rtt, c.interval, got, c.want)
		}
	}
}

// TestAllowCopy: a second copy spends the budget like the first and is
// refused, and counted, when the budget cannot take it.
func TestAllowCopy(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := &Retransmitter{}
	sendFrames(r, t0, 10, 4, 33*time.Millisecond)
	now := t0.Add(330 * time.Millisecond)
	const bps = 1_000_000 // budget: 250 kbit/s, 100 ms deep: 3125 bytes
	copies := 0
	for seq := uint16(36); seq < 40; seq++ {
		if !r.Allow(seq, 1000, bps, 50*time.Millisecond, now) {
			break
		}
		if r.AllowCopy(1000, bps, now) {
			copies++
		}
	}
	st := r.Stats()
	if st.Sent+st.Copies > 3 || st.Copies != uint64(copies) || copies == 0 || st.OverBudget == 0 {
		t.Errorf("stats %+v, %d copies: want at most 3 packets in a 3125-byte budget, copies counted, the rest over budget", st, copies)
	}
	if st.SentBytes != 1000*(st.Sent+st.Copies) || st.CopyBytes != 1000*st.Copies {
		t.Errorf("bytes: %+v", st)
	}
}
