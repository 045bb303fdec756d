package node

import (
	"errors"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
)

// TestEstimatorErrorsStayOutOfRTCPReads proves the finding guardedEstimator
// exists for, with pion's own cc interceptor: when the estimator's
// WriteRTCP fails, the cc reader fails the whole read (the PLI in the
// batch is lost to the session); with the guard the batch comes through
// and the failure is counted.
func TestEstimatorErrorsStayOutOfRTCPReads(t *testing.T) {
	pli, err := rtcp.Marshal([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, guarded := range []bool{false, true} {
		var g *guardedEstimator
		f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			e, err := gcc.NewSendSideBWE(gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
			if err != nil {
				return nil, err
			}
			// A closed estimator rejects every batch
			// (gcc.ErrSendSideBWEClosed), as it would malformed feedback.
			if err := e.Close(); err != nil {
				return nil, err
			}
			if !guarded {
				return e, nil
			}
			g = guardEstimator(e)
			return g, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		i, err := f.NewInterceptor("pc")
		if err != nil {
			t.Fatal(err)
		}
		r := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, pli), a, nil
		}))
		buf := make([]byte, 1500)
		n, _, err := r.Read(buf, nil)
		switch {
		case !guarded && !errors.Is(err, gcc.ErrSendSideBWEClosed):
			t.Errorf("unguarded: read = %d, %v; want pion's cc reader to fail with the estimator's error", n, err)
		case guarded && (err != nil || n != len(pli)):
			t.Errorf("guarded: read = %d, %v; want the %d-byte batch", n, err, len(pli))
		case guarded && g.Failures() != 1:
			t.Errorf("guarded: %d failures counted, want 1", g.Failures())
		}
		// No i.Close(): it would close the estimator a second time, which
		// gcc's SendSideBWE does not survive (close of a closed channel).
	}
}
