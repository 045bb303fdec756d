package congestion

import (
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"go.uber.org/goleak"
)

// TestEstimator: packets written to a stream come out of the pacer in
// order and spread at the pacing rate; transport-wide feedback reporting
// them lost brings the target down and tells OnTargetBitrateChange;
// after Close writes fail and no goroutine is left.
func TestEstimator(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := NewEstimator(Config{StartBitRate: 400_000, MinBitRate: 100_000, MaxBitRate: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		got  []uint16
		at   []time.Time
		done = make(chan struct{})
	)
	const n = 10
	inner := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, h.SequenceNumber)
		at = append(at, time.Now())
		if len(got) == n {
			close(done)
		}
		return 0, nil
	})
	w := e.AddStream(&interceptor.StreamInfo{SSRC: 7, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: transportCCURI, ID: 3}}}, inner)
	payload := make([]byte, 1000)
	for i := range n {
		h := &rtp.Header{Version: 2, SSRC: 7, SequenceNumber: uint16(100 + i)}
		if err := h.SetExtension(3, []byte{0, byte(i)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(h, payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("paced packets never left")
	}
	mu.Lock()
	for i, s := range got {
		if s != uint16(100+i) {
			t.Errorf("packet %d has sequence number %d", i, s)
		}
	}
	// 10 kB at 2.5 × 400 kbit/s take 80 ms; less the burst allowance
	// before any feedback (MinPacerBurst).
	if spread := at[n-1].Sub(at[0]); spread < 60*time.Millisecond {
		t.Errorf("10 kB left in %v: not paced", spread)
	}
	mu.Unlock()

	changed := make(chan int, 4)
	e.OnTargetBitrateChange(func(b int) { changed <- b })
	lost := &rtcp.TransportLayerCC{BaseSequenceNumber: 0, PacketStatusCount: n, PacketChunks: []rtcp.PacketStatusChunk{
		&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: n},
	}}
	for range 3 {
		if err := e.WriteRTCP([]rtcp.Packet{lost}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond) // past the hold-off between decreases
	}
	if tg := e.GetTargetBitrate(); tg >= 400_000 {
		t.Errorf("target %d after 100 %% loss", tg)
	}
	select {
	case b := <-changed:
		if b >= 400_000 {
			t.Errorf("OnTargetBitrateChange(%d)", b)
		}
	default:
		t.Error("OnTargetBitrateChange not called")
	}
	if st := e.GetStats(); st["loss"].(float64) <= 0 {
		t.Errorf("stats %v", st)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(&rtp.Header{SSRC: 7}, payload, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestEstimatorSendDelay: the node's own delay on the way out does not
// count as network delay. For 600 ms every write of a paced packet to its
// stream takes 80 ms before the packet leaves (a CPU-bound node: the
// writing goroutine waits for the CPU in SRTP and the socket write), on
// a path of 10 ms without a queue. The packets' one-way delay from when
// they left is 10 ms throughout; timed from the pacer's pop it is 90 ms
// for every packet of those reports, which the controller took for a
// standing queue and fell (before send times were taken after the
// write).
func TestEstimatorSendDelay(t *testing.T) {
	defer goleak.VerifyNone(t)
	const start = 1_000_000
	e, err := NewEstimator(Config{StartBitRate: start, MinBitRate: 300_000, MaxBitRate: start})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t0 := time.Now()
	type arrival struct {
		seq uint16
		at  time.Time
	}
	var (
		mu       sync.Mutex
		arrivals []arrival
	)
	inner := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		if d := time.Since(t0); d >= 600*time.Millisecond && d < 1200*time.Millisecond {
			time.Sleep(80 * time.Millisecond)
		}
		left := time.Now()
		mu.Lock()
		arrivals = append(arrivals, arrival{binary.BigEndian.Uint16(h.GetExtension(3)), left.Add(10 * time.Millisecond)})
		mu.Unlock()
		return 0, nil
	})
	w := e.AddStream(&interceptor.StreamInfo{SSRC: 7, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: transportCCURI, ID: 3}}}, inner)
	rec := twcc.NewRecorder(1)
	var seq uint16
	payload := make([]byte, 1000)
	frames := time.NewTicker(time.Second / 30)
	defer frames.Stop()
	reports := time.NewTicker(100 * time.Millisecond)
	defer reports.Stop()
	lowest, slowest := e.GetTargetBitrate(), 0.0
	for time.Since(t0) < 2500*time.Millisecond {
		select {
		case <-frames.C:
			for range e.GetTargetBitrate() / 30 / 8 / len(payload) {
				h := &rtp.Header{Version: 2, SSRC: 7, SequenceNumber: seq}
				if err := h.SetExtension(3, binary.BigEndian.AppendUint16(nil, seq)); err != nil {
					t.Fatal(err)
				}
				seq++
				if _, err := w.Write(h, payload, nil); err != nil {
					t.Fatal(err)
				}
			}
		case now := <-reports.C:
			mu.Lock()
			n := 0
			for _, a := range arrivals {
				if a.at.After(now) {
					break
				}
				rec.Record(7, a.seq, a.at.Sub(t0).Microseconds())
				n++
			}
			arrivals = arrivals[n:]
			mu.Unlock()
			if n == 0 {
				continue
			}
			if err := e.WriteRTCP(rec.BuildFeedbackPacket(), nil); err != nil {
				t.Fatal(err)
			}
			lowest = min(lowest, e.GetTargetBitrate())
			st := e.GetStats()
			slowest = max(slowest, st["writeMaxMs"].(float64))
			if st["state"] == "decrease" {
				t.Errorf("%v: decrease on feedback without a network queue: %v", time.Since(t0).Round(time.Millisecond), st)
			}
		}
	}
	st := e.GetStats()
	t.Logf("lowest target %d; at the end %v", lowest, st)
	if lowest < start {
		t.Errorf("target fell to %d on a path without a queue", lowest)
	}
	if slowest < 80 {
		t.Errorf("slowest write %.1f ms, want the 80 ms the writer slept", slowest)
	}
}

// recorder is the writer under an Estimator in the tests: it keeps a
// copy of every header written to it and closes done at the one last
// reports true for.
type recorder struct {
	mu   sync.Mutex
	hs   []rtp.Header
	last func(h *rtp.Header, n int) bool // n: headers so far, h included
	done chan struct{}
}

func newRecorder(last func(h *rtp.Header, n int) bool) *recorder {
	return &recorder{last: last, done: make(chan struct{})}
}

// Write implements interceptor.RTPWriter.
func (r *recorder) Write(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hs = append(r.hs, h.Clone())
	if r.last(h, len(r.hs)) {
		close(r.done)
	}
	return 0, nil
}

// wait returns the headers written once done is closed.
func (r *recorder) wait(t *testing.T) []rtp.Header {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("paced packets never left")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hs)
}

// twccOf is the transport-wide sequence number a header carries (ID 3
// in these tests), or -1.
func twccOf(h rtp.Header) int {
	if ext := h.GetExtension(3); len(ext) == 2 {
		return int(binary.BigEndian.Uint16(ext))
	}
	return -1
}

// TestEstimatorRepairsFirst: a NACK retransmission (RTX) leaves before
// the media packets the pacer still holds, and the transport-wide
// sequence numbers are stamped as packets leave: consecutive in the
// order they go out, whatever the writer stamped before.
func TestEstimatorRepairsFirst(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := NewEstimator(Config{StartBitRate: 400_000, MinBitRate: 100_000, MaxBitRate: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	const media = 40 // 1200 bytes each: 384 ms at 2.5 × 400 kbit/s
	rec := newRecorder(func(h *rtp.Header, _ int) bool { return h.SSRC == 7 && h.SequenceNumber == 100+media-1 })
	w := e.AddStream(&interceptor.StreamInfo{SSRC: 7, SSRCRetransmission: 8,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: transportCCURI, ID: 3}}}, rec)
	for i := range media {
		h := &rtp.Header{Version: 2, SSRC: 7, SequenceNumber: uint16(100 + i)}
		if err := h.SetExtension(3, []byte{0xff, byte(i)}); err != nil { // replaced on the way out
			t.Fatal(err)
		}
		if _, err := w.Write(h, make([]byte, 1200), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The repair of media 101: RFC 4588, the original sequence number
	// first.
	if _, err := w.Write(&rtp.Header{Version: 2, SSRC: 8, SequenceNumber: 1}, append([]byte{0, 101}, make([]byte, 198)...), nil); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t)
	// Numbered in the order they left; a copy of the repair (the
	// estimator may send it twice, see RepairCopies) repeats its number.
	repairAt, want := -1, 0
	for i, h := range got {
		if h.SSRC == 8 && repairAt < 0 {
			repairAt = i
		}
		if i > 0 && h.SSRC == got[i-1].SSRC && h.SequenceNumber == got[i-1].SequenceNumber {
			want--
		}
		if n := twccOf(h); n != want {
			t.Errorf("packet %d out (SSRC %d, seq %d) carries transport-wide number %d, want %d", i, h.SSRC, h.SequenceNumber, n, want)
		}
		want++
	}
	if len(got) < media+1 {
		t.Errorf("%d packets out, want the %d media packets and the repair", len(got), media)
	}
	// Written after all 40 media packets, it must pass most of them:
	// the pacer sends one every 9.6 ms.
	if repairAt < 0 || repairAt > media/2 {
		t.Errorf("the repair left %dth of %d (want within the first %d)", repairAt, len(got), media/2)
	}
}

// TestEstimatorCopiesShareNumber: a copy of a packet (a repair's or a
// frame's last packet's, see RepairCopies and FrameEndCopies) leaves
// with its original's transport-wide sequence number: the receiver's
// SRTP drops it as a replay before its feedback could report it, and a
// number of its own would read as a lost packet.
func TestEstimatorCopiesShareNumber(t *testing.T) {
	defer goleak.VerifyNone(t)
	e, err := NewEstimator(Config{StartBitRate: 400_000, MinBitRate: 100_000, MaxBitRate: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close() }()
	rec := newRecorder(func(_ *rtp.Header, n int) bool { return n == 4 })
	e.AddStream(&interceptor.StreamInfo{SSRC: 7, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: transportCCURI, ID: 3}}}, rec)
	e.mu.Lock()
	sw := &streamWriter{w: rec, twccID: 3}
	a := &packet{h: rtp.Header{Version: 2, SSRC: 7, SequenceNumber: 1}, p: make([]byte, 100), sw: sw}
	b := &packet{h: rtp.Header{Version: 2, SSRC: 7, SequenceNumber: 2}, p: make([]byte, 100), sw: sw}
	now := time.Now()
	e.pacer.Push(a, 112, now)
	e.pacer.Push(&packet{h: a.h, p: a.p, sw: sw, first: a}, 112, now)
	e.pacer.Push(b, 112, now)
	e.pacer.Push(&packet{h: b.h, p: b.p, sw: sw, first: b}, 112, now)
	e.mu.Unlock()
	e.wake <- struct{}{}
	var got []int
	for _, h := range rec.wait(t) {
		got = append(got, twccOf(h))
	}
	if want := []int{0, 0, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("transport-wide numbers %v, want %v", got, want)
	}
}
