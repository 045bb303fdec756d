//go:build egl && cgo

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nodeProcess is holocast-node running as a separate process.
type nodeProcess struct {
	sessions, metrics string // signaling endpoint, metrics URL
	cmd               *exec.Cmd
	exited            chan struct{}
}

// startNodeProcess builds holocast-node (with the egl tag, as the project
// does; go's build cache makes it cheap after the first time) and runs it
// on loopback with plain HTTP, a token, metrics on a free loopback port and
// small frames; it waits for the URLs it prints. The process is ended
// when the test ends.
func startNodeProcess(t *testing.T, token string) *nodeProcess {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "holocast-node")
	// go test puts its own go first on PATH.
	if out, err := exec.Command("go", "build", "-tags", "egl", "-o", bin, "github.com/holocast/holocast/cmd/holocast-node").CombinedOutput(); err != nil {
		t.Fatalf("go build holocast-node: %v\n%s", err, out)
	}
	p := &nodeProcess{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "--listen", "127.0.0.1:0", "--insecure-http", "--token", token, "--cert-dir", t.TempDir(),
		"--metrics-listen", "127.0.0.1:0", "--width", "160", "--height", "90", "--max-sessions-per-ip", "4")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	base, murl := make(chan string, 1), make(chan string, 1)
	openRE := regexp.MustCompile(`open (http://[^/ ]+)/`)
	metricsRE := regexp.MustCompile(`msg="serving metrics" url=(\S+)`)
	scan := func(r io.Reader, re *regexp.Regexp, to chan<- string) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case to <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	go scan(stderr, metricsRE, murl)
	go func() {
		scan(stdout, openRE, base)
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	for p.sessions == "" || p.metrics == "" {
		select {
		case b := <-base:
			p.sessions = b + "/v1/sessions"
		case p.metrics = <-murl:
		case <-p.exited:
			t.Fatal("holocast-node exited before it was ready")
		case <-time.After(30 * time.Second):
			t.Fatal("holocast-node printed no URLs")
		}
	}
	return p
}

// TestRunSoakCLI is a short soak: holocast-bench run against a separate
// holocast-node with --metrics-url. The node's goroutines and open files
// go up with the sessions and come back to the baseline after them, and
// the JSON and the table carry the samples.
func TestRunSoakCLI(t *testing.T) {
	const token = "soak-test-token-0123456789abcdef"
	p := startNodeProcess(t, token)
	// A just-started node still starts a goroutine or two (its servers'
	// first connections); let it settle before the baseline.
	time.Sleep(time.Second)
	js := filepath.Join(t.TempDir(), "soak.json")
	rc, o, e := run("run", "--url", p.sessions, "--token", token, "--sessions", "2", "--duration", "3s", "--warmup", "500ms",
		"--metrics-url", p.metrics, "--metrics-interval", "250ms", "--metrics-after", "3s", "--json", js, "--quiet", writeTrace(t))
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, e)
	}
	if !strings.Contains(o, "node process ("+p.metrics) || !strings.Contains(o, "goroutines") {
		t.Errorf("table:\n%s", o)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	type trend struct {
		Before, Start, End, Max, After float64
		AfterDelta                     float64 `json:"after_delta"`
	}
	var doc struct {
		FPS         float64 `json:"fps"`
		NodeProcess struct {
			ScrapeErrors int `json:"scrape_errors"`
			Samples      []struct {
				Phase          string  `json:"phase"`
				Goroutines     float64 `json:"goroutines"`
				OpenFDs        float64 `json:"open_fds"`
				RSSBytes       float64 `json:"rss_bytes"`
				SessionsActive float64 `json:"sessions_active"`
			} `json:"samples"`
			Summary struct {
				Goroutines     trend `json:"goroutines"`
				OpenFDs        trend `json:"open_fds"`
				RSSBytes       trend `json:"rss_bytes"`
				SessionsActive trend `json:"sessions_active"`
			} `json:"summary"`
		} `json:"node_process"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	np := doc.NodeProcess
	phases := map[string]int{}
	for _, s := range np.Samples {
		phases[s.Phase]++
		if s.Goroutines <= 0 || s.OpenFDs <= 0 || s.RSSBytes <= 0 {
			t.Errorf("sample %+v", s)
		}
	}
	g, fds, sa := np.Summary.Goroutines, np.Summary.OpenFDs, np.Summary.SessionsActive
	t.Logf("fps %.1f; %d samples %v; goroutines %+v; open fds %+v; rss %+v", doc.FPS, len(np.Samples), phases, g, fds, np.Summary.RSSBytes)
	// Every 250 ms; fewer when the machine is busy, but at least the
	// samples each phase change asks for (and the last one).
	if phases["before"] != 1 || phases["window"] < 2 || phases["after"] < 2 || np.ScrapeErrors != 0 {
		t.Errorf("samples by phase %v, %d scrape errors", phases, np.ScrapeErrors)
	}
	if sa.Before != 0 || sa.Max != 2 || sa.After != 0 {
		t.Errorf("sessions_active %+v", sa)
	}
	// Two sessions bring goroutines (peer connections, frame loops) and
	// files (sockets); after them the node is back where it started,
	// give or take a connection in flight.
	if g.Start < g.Before+10 || fds.Max < fds.Before+2 {
		t.Errorf("the sessions did not show: goroutines %+v, open fds %+v", g, fds)
	}
	if g.AfterDelta > 2 || g.AfterDelta < -2 || fds.AfterDelta > 1 || fds.AfterDelta < -1 {
		t.Errorf("after the sessions: goroutines %+v, open fds %+v; want back at the baseline", g, fds)
	}
}
