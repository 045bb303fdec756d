package congestion

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
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
	// 10 kB at 2.5 × 400 kbit/s take 80 ms; less the 5 ms burst allowance.
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
