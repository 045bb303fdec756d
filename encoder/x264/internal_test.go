//go:build cgo

package x264

import (
	"errors"
	"sync"
	"testing"

	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/encodertest"
)

// TestNeverBlocks holds the lock an Encode in progress holds and checks
// that ForceKeyFrame and SetBitRate return anyway (they only set pending
// values that the next Encode applies); were they to wait, the test would
// hang.
func TestNeverBlocks(t *testing.T) {
	e, err := NewEncoder(encoder.Config{Width: 64, Height: 64, FPS: 30, BitRate: 200_000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	f := encodertest.NewFrame(64, 64)
	if _, err := e.Encode(f); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock() // as Encode does
	e.ForceKeyFrame()
	if err := e.SetBitRate(300_000); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBitRate(400_000); err != nil { // the last one wins
		t.Fatal(err)
	}
	e.mu.Unlock()
	au, err := e.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !au.KeyFrame {
		t.Error("the frame after ForceKeyFrame is not a key frame")
	}
	if e.rate != 400_000 {
		t.Errorf("rate %d after SetBitRate(300k), SetBitRate(400k) and a frame, want 400000", e.rate)
	}
}

// TestConcurrentUse runs Encode in a loop while other goroutines force key
// frames, change the rate and finally Close; with -race it checks the
// locking, and every call ends with a result or ErrClosed.
func TestConcurrentUse(t *testing.T) {
	const w, h = 160, 96
	e, err := NewEncoder(encoder.Config{Width: w, Height: h, FPS: 30, BitRate: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	s := encodertest.NewMovingScene(w, h, 2, 4)
	var wg sync.WaitGroup
	wg.Add(3)
	encoded := make(chan struct{}, 1)
	go func() {
		defer wg.Done()
		f := encodertest.NewFrame(w, h)
		for i := 0; ; i++ {
			s.Draw(f, i)
			_, err := e.Encode(f)
			if errors.Is(err, encoder.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("Encode %d: %v", i, err)
				return
			}
			select {
			case encoded <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			e.ForceKeyFrame()
			if err := e.SetBitRate(100_000 + 10_000*(i%50)); err != nil && !errors.Is(err, encoder.ErrClosed) {
				t.Errorf("SetBitRate: %v", err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 20 {
			<-encoded
		}
		_ = e.Close()
	}()
	wg.Wait()
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.SetBitRate(1000); !errors.Is(err, encoder.ErrClosed) {
		t.Errorf("SetBitRate after Close = %v, want ErrClosed", err)
	}
}
