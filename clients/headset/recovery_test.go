package headset

import (
	"testing"
	"time"
)

// TestAssemblerRecovery: a packet that fills a gap counts as recovered; a
// gap given up counts its missing packets, loses the frame and asks for a
// key frame; while frames are dropped waiting for it, the request repeats
// every keyRequestInterval; the key frame ends the wait.
func TestAssemblerRecovery(t *testing.T) {
	var c collector
	a := newTestAssembler(&c)
	var seq uint16 = 100
	now := time.Unix(0, 0)
	key := packetize(annexB(sps, pps, slice(true, 900)), 1000, &seq)
	for _, p := range key {
		a.push(p, now)
	}
	// Frame 2 arrives with its first packet late (reordered or a NACK
	// retransmission) but in time.
	f2 := packetize(annexB(slice(false, 900)), 2000, &seq)
	for _, p := range f2[1:] {
		a.push(p, now)
	}
	a.push(f2[0], now.Add(10*time.Millisecond))
	if a.recovered != 1 || len(c.frames) != 2 || c.plis != 0 {
		t.Fatalf("recovered %d, frames %d, PLIs %d", a.recovered, len(c.frames), c.plis)
	}
	// Frame 3 loses two packets for good.
	f3 := packetize(annexB(slice(false, 900)), 3000, &seq)
	now = now.Add(33 * time.Millisecond)
	a.push(f3[0], now)
	// Then non-key frames keep coming, 33 ms apart, for 600 ms.
	for i := 0; i < 18; i++ {
		now = now.Add(33 * time.Millisecond)
		for _, p := range packetize(annexB(slice(false, 300)), uint32(4000+1000*i), &seq) {
			a.push(p, now)
		}
	}
	if a.givenUp != uint64(len(f3)-1) || a.lostCount != 1 {
		t.Errorf("given up %d (want %d), lost %d", a.givenUp, len(f3)-1, a.lostCount)
	}
	// One PLI for the loss, then one per 250 ms of dropped frames.
	if c.plis < 2 || c.plis > 4 || a.dropped == 0 {
		t.Errorf("PLIs %d, dropped %d", c.plis, a.dropped)
	}
	n := len(c.frames)
	for _, p := range packetize(annexB(sps, pps, slice(true, 300)), 50000, &seq) {
		a.push(p, now)
	}
	if len(c.frames) != n+1 || !c.frames[n].KeyFrame {
		t.Errorf("key frame not delivered after the loss")
	}
}
