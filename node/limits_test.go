package node_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
)

// limitsWait bounds every wait in these tests: far above what a slow,
// shared machine needs, so that only a thing that never happens fails.
const limitsWait = 60 * time.Second

// minNeighbourShare is the least share of its frame rate a well-behaved
// client keeps while another session on its node runs into a limit: far
// below what a loaded machine gives, far above what a starved one gets.
const minNeighbourShare = 0.25

// neighbour is a well-behaved client on the node: it sends poses at 90 Hz
// and counts the frames it receives.
type neighbour struct {
	c      *headset.Client
	frames atomic.Uint64
	stop   chan struct{}
	wg     sync.WaitGroup
	start  time.Time
	from   uint64
}

func startNeighbour(t *testing.T, ctx context.Context, url string) *neighbour {
	t.Helper()
	nb := &neighbour{c: dial(t, ctx, url, headset.Options{}), stop: make(chan struct{})}
	nb.wg.Add(2)
	go func() {
		defer nb.wg.Done()
		for range nb.c.Frames() {
			nb.frames.Add(1)
		}
	}()
	go func() {
		defer nb.wg.Done()
		tick := time.NewTicker(time.Second / 90)
		defer tick.Stop()
		for seq := uint64(1); ; seq++ {
			select {
			case <-nb.stop:
				return
			case <-tick.C:
			}
			_ = nb.c.SendPose(yawPose(seq, nb.c.Now(), float64(seq%360)))
		}
	}()
	t.Cleanup(func() {
		close(nb.stop)
		_ = nb.c.Close(context.Background()) // ends Frames()
		nb.wg.Wait()
	})
	waitFor(t, ctx, func() bool { return nb.frames.Load() > 0 })
	nb.start, nb.from = time.Now(), nb.frames.Load()
	return nb
}

// check asserts that the neighbour kept streaming at (a share of) its
// frame rate since it started, without a Notice.
func (nb *neighbour) check(t *testing.T, ctx context.Context, fps int) {
	t.Helper()
	want := nb.frames.Load() + 10
	waitFor(t, ctx, func() bool { return nb.frames.Load() >= want })
	elapsed := time.Since(nb.start)
	got := float64(nb.frames.Load()-nb.from) / elapsed.Seconds()
	t.Logf("neighbour: %.1f fps of %d over %v", got, fps, elapsed.Round(time.Millisecond))
	if got < minNeighbourShare*float64(fps) {
		t.Errorf("neighbour: %.1f fps, want at least %.0f%% of %d", got, 100*minNeighbourShare, fps)
	}
	if n := nb.c.Stats().Notices; n != 0 {
		t.Errorf("neighbour got %d Notices", n)
	}
}

// TestAnswerAdvertisesMaxMessageSize: the node's answer advertises its
// SCTP max-message-size (64 KiB by default instead of pion's 1 GiB); a
// client cannot send a larger message, and its session goes on, as does
// its neighbour's.
func TestAnswerAdvertisesMaxMessageSize(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	_, url := startNode(t, node.Config{Width: 160, Height: 90, FPS: 30})
	ctx, cancel := context.WithTimeout(context.Background(), limitsWait)
	defer cancel()
	nb := startNeighbour(t, ctx, url)
	c := dial(t, ctx, url, headset.Options{})

	answer := c.PeerConnection().RemoteDescription().SDP
	if !strings.Contains(answer, "a=max-message-size:65536\r\n") {
		t.Errorf("answer does not advertise a 64 KiB max-message-size:\n%s", answer)
	}
	if err := c.SendRawPose(make([]byte, node.DefaultMaxMessageSize+1)); err == nil {
		t.Error("a message over the advertised max-message-size was sent")
	}
	if err := c.SendPose(yawPose(1, c.Now(), 0)); err != nil {
		t.Errorf("a pose after the refused message: %v", err)
	}
	for range 5 {
		select {
		case <-c.Frames():
		case <-ctx.Done():
			t.Fatal("no frames after the refused message")
		}
	}
	nb.check(t, ctx, 30)
}

// TestNodeSessionLimits: the node hands its limits to its sessions. An
// extra data channel is closed; a session with a pose channel but no poses
// ends after --idle-timeout, while a plain WHEP viewer outlives it; every
// session ends after --max-session-duration and frees its slot for the
// next client. Each ending comes with a Notice; a well-behaved neighbour
// streams on. (At most two clients at once: the signaling server may cap
// the sessions of one address.)
func TestNodeSessionLimits(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	const idle, lifetime = 2 * time.Second, 10 * time.Second
	n, url := startNode(t, node.Config{Width: 160, Height: 90, FPS: 30, MaxSessions: 2,
		IdleTimeout: idle, MaxSessionDuration: lifetime})
	ctx, cancel := context.WithTimeout(context.Background(), limitsWait)
	defer cancel()
	nb := startNeighbour(t, ctx, url)

	// An extra data channel is closed at once.
	silent := dial(t, ctx, url, headset.Options{})
	extra, err := silent.PeerConnection().CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	var once sync.Once
	extra.OnClose(func() { once.Do(func() { close(closed) }) })
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("the extra data channel was not closed")
	}
	waitNotice(t, ctx, silent, `unexpected data channel "chat"`)

	// The client that sends no pose is ended as idle, with a Notice.
	waitNotice(t, ctx, silent, "session: idle")
	waitFor(t, ctx, func() bool { return n.Sessions() == 1 })

	// A plain viewer outlives the idle timeout.
	viewer := dial(t, ctx, url, headset.Options{NoDataChannels: true, MatchTimeout: 10 * time.Millisecond})
	until := time.Now().Add(idle + time.Second)
	for frames := 0; frames < 5 || time.Now().Before(until); frames++ {
		select {
		case <-viewer.Frames():
		case <-ctx.Done():
			t.Fatal("the viewer stopped streaming")
		}
	}
	if n.Sessions() != 2 {
		t.Errorf("%d sessions, want the neighbour's and the viewer's", n.Sessions())
	}
	nb.check(t, ctx, 30)

	// Both reach the session lifetime (the neighbour, with a control
	// channel, gets a Notice); the slots are free again.
	waitNotice(t, ctx, nb.c, "maximum duration reached")
	waitFor(t, ctx, func() bool { return n.Sessions() == 0 })
	next := dial(t, ctx, url, headset.Options{NoDataChannels: true, MatchTimeout: 10 * time.Millisecond})
	select {
	case <-next.Frames():
	case <-ctx.Done():
		t.Fatal("no frames for the next client")
	}
}
