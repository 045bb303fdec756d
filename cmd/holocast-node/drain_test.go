//go:build egl && cgo

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
)

// buildNode builds holocast-node (real EGL rendering and x264) into a
// directory of the test's; go's build cache makes a second build cheap.
func buildNode(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "holocast-node")
	// go test puts its own go first on PATH.
	if out, err := exec.Command("go", "build", "-tags", "egl", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running holocast-node.
type process struct {
	cmd    *exec.Cmd
	base   string        // http://127.0.0.1:PORT
	exited chan struct{} // closed when it has exited; then err is set
	err    error
	log    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBinary runs holocast-node on a loopback address with plain HTTP
// and no authentication, small frames and args, and waits for the URL it
// prints. The process is killed if the test ends while it runs; its log is
// shown if the test fails.
func startBinary(t *testing.T, args ...string) *process {
	t.Helper()
	bin := buildNode(t)
	help, _ := exec.Command(bin, "--help").CombinedOutput()
	args = append([]string{"--listen", "127.0.0.1:0", "--insecure-http", "--auth", "none", "--cert-dir", t.TempDir(),
		"--width", "160", "--height", "90", "--fps", "30"}, args...)
	if bytes.Contains(help, []byte("-metrics-listen")) {
		args = append(args, "--metrics-listen=") // no fixed port to collide on
	}
	p := &process{cmd: exec.Command(bin, args...), exited: make(chan struct{}), log: &syncBuffer{}}
	p.cmd.Stderr = p.log
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Holocast render node: open "); ok {
				urls <- strings.TrimSuffix(strings.TrimSuffix(rest, " in a browser"), "/")
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("holocast-node's log:\n%s", p.log.String())
		}
	})
	select {
	case p.base = <-urls:
	case <-p.exited:
		t.Fatalf("holocast-node exited before it was ready: %v", p.err)
	case <-time.After(slowWait):
		t.Fatal("holocast-node printed no URL")
	}
	return p
}

func (p *process) signal(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// wait waits up to d for the process to exit and returns its exit error.
func (p *process) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		t.Fatalf("holocast-node did not exit within %v", d)
		return nil
	}
}

// waitReadyz waits until GET /readyz answers code, and returns its body.
func (p *process) waitReadyz(t *testing.T, code int) string {
	t.Helper()
	deadline := time.Now().Add(slowWait)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == code {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer %d (last: %v)", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streaming is a headset whose frames are counted and whose Notices are
// collected until the test ends.
type streaming struct {
	*headset.Client
	frames  atomic.Uint64
	notices chan string
}

func connect(t *testing.T, ctx context.Context, sessionsURL string) *streaming {
	t.Helper()
	c, err := headset.Dial(ctx, sessionsURL, headset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &streaming{Client: c, notices: make(chan string, 16)}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range c.Frames() {
			s.frames.Add(1)
		}
	}()
	go func() { // Close closes Control()
		defer wg.Done()
		for m := range c.Control() {
			if n := m.GetNotice(); n != nil {
				select {
				case s.notices <- n.GetMessage():
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { _ = c.Close(context.Background()); wg.Wait() })
	if err := c.WaitControl(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *streaming) waitFrames(t *testing.T, n uint64) {
	t.Helper()
	deadline := time.Now().Add(slowWait)
	for s.frames.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames, want %d", s.frames.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDrainOnSIGTERM runs the real binary: on SIGTERM /readyz turns 503,
// a new session is refused with 503 and Retry-After, the running session
// is told in a Notice and keeps streaming until --drain-timeout, and the
// process then exits 0.
func TestDrainOnSIGTERM(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	const drainTimeout = 8 * time.Second
	p := startBinary(t, "--drain-timeout", drainTimeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), 3*slowWait)
	defer cancel()
	sessions := p.base + "/v1/sessions"
	c := connect(t, ctx, sessions)
	c.waitFrames(t, 5)
	if body := p.waitReadyz(t, http.StatusOK); body != "ready\n" {
		t.Errorf("/readyz before SIGTERM: %q", body)
	}

	p.signal(t)
	signalled := time.Now()
	if body := p.waitReadyz(t, http.StatusServiceUnavailable); !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining: %q", body)
	}
	offer := offerFor(t)
	resp, err := http.Post(sessions, "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "draining") {
		t.Errorf("POST while draining: %d %v %q", resp.StatusCode, resp.Header, b)
	}
	select {
	case msg := <-c.notices:
		if !strings.HasPrefix(msg, node.DrainNoticePrefix) || !strings.Contains(msg, "within "+drainTimeout.String()) {
			t.Errorf("Notice %q, want the drain Notice with its timeout", msg)
		}
	case <-time.After(slowWait):
		t.Fatal("no drain Notice")
	}
	c.waitFrames(t, c.frames.Load()+15) // frames keep flowing while draining
	select {
	case <-p.exited:
		t.Fatalf("exited (%v) %v after SIGTERM with a session running, before --drain-timeout %v", p.err, time.Since(signalled), drainTimeout)
	default:
	}

	if err := p.wait(t, drainTimeout+slowWait); err != nil {
		t.Errorf("exit: %v, want status 0\n", err)
	}
	if d := time.Since(signalled); d < drainTimeout-time.Second {
		t.Errorf("exited %v after SIGTERM, before --drain-timeout %v", d, drainTimeout)
	}
	if !strings.Contains(p.log.String(), "drain over") {
		t.Error("the log does not say the drain ran out")
	}
}

// TestSecondSIGTERM: a second SIGTERM ends the drain at once; the process
// exits with status 1 long before --drain-timeout.
func TestSecondSIGTERM(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	p := startBinary(t, "--drain-timeout", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), 3*slowWait)
	defer cancel()
	c := connect(t, ctx, p.base+"/v1/sessions")
	c.waitFrames(t, 5)

	p.signal(t)
	p.waitReadyz(t, http.StatusServiceUnavailable) // draining
	select {
	case <-p.exited:
		t.Fatalf("exited (%v) on the first SIGTERM with a session running", p.err)
	default:
	}
	p.signal(t)
	var exit *exec.ExitError
	if err := p.wait(t, slowWait); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1", err)
	}
	if !strings.Contains(p.log.String(), errCutShort.Error()) {
		t.Error("the process did not say that the drain was cut short")
	}
}

// offerFor makes a complete offer that passes the node's checks up to the
// session caps (video received, no candidates to refuse).
func offerFor(t *testing.T) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}
