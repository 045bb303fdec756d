package fleet_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/signaling"
	"github.com/holocast/holocast/signaling/link"
)

// simNode is a node that answers offers without rendering: a fleet
// Agent over a backend that takes sessions up to its capacity and answers
// at once with a fixed SDP.
type simNode struct {
	capacity int
	mu       sync.Mutex
	sessions map[string]bool
	peak     int
	seq      int
	creds    map[string][sha256.Size]byte // by session, when kept
	last     signaling.OfferRequest
	ice      []link.ICEServer // named in each answer
}

func (s *simNode) Offer(_ context.Context, req signaling.OfferRequest) (signaling.OfferAnswer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = req
	if len(s.sessions) >= s.capacity {
		return signaling.OfferAnswer{}, fmt.Errorf("%w (%d)", signaling.ErrSessionLimit, s.capacity)
	}
	s.seq++
	id := fmt.Sprintf("s%d", s.seq)
	s.sessions[id] = true
	if s.creds != nil {
		s.creds[id] = req.Credential
	}
	s.peak = max(s.peak, len(s.sessions))
	return signaling.OfferAnswer{ID: id, Answer: "v=0\r\n", ICEServers: s.ice}, nil
}

func (s *simNode) End(id string, cred [sha256.Size]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.sessions[id] && (s.creds == nil || s.creds[id] == cred)
	if ok {
		delete(s.sessions, id)
	}
	return ok
}

func (s *simNode) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= s.capacity {
		return signaling.ErrSessionLimit
	}
	return nil
}

func (s *simNode) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// reset ends every session and returns the node's count and peak.
func (s *simNode) reset() (count, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	count, peak = len(s.sessions), s.peak
	s.sessions, s.peak = map[string]bool{}, 0
	return count, peak
}

// simFleet is a NATS server, n simulated nodes of the given capacity,
// each on its own connection, and a gateway.
type simFleet struct {
	nodes []*simNode
	gw    *fleet.Gateway
	h     http.Handler
	ns    *server.Server
}

// traffic is how many messages and bytes the NATS server has received
// from its clients so far.
func (f *simFleet) traffic() (msgs, bytes int64) {
	v, err := f.ns.Varz(nil)
	if err != nil {
		return 0, 0
	}
	return v.InMsgs, v.InBytes
}

func startSimFleet(tb testing.TB, n, capacity int) *simFleet {
	tb.Helper()
	ns := startNATSServer(tb)
	url := ns.ClientURL()
	f := &simFleet{ns: ns}
	for i := range n {
		sn := &simNode{capacity: capacity, sessions: map[string]bool{}}
		a, err := fleet.StartAgent(connect(tb, url), sn, fleet.AgentOptions{ID: fmt.Sprintf("sim-%03d", i), Capacity: capacity, Logger: quiet,
			// Heartbeats every 15 s: the state messages counted are mostly
			// those that placements cause (a fleet's heartbeats are one
			// message per node per second, placements or not).
			Heartbeat: 15 * time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = a.Close() })
		f.nodes = append(f.nodes, sn)
	}
	g, err := fleet.NewGateway(connect(tb, url, nats.Name("gateway")), fleet.GatewayOptions{Logger: quiet, Deadline: 30 * time.Second, MaxAttempts: 32})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = g.Close() })
	f.gw, f.h = g, g.Handler()
	f.waitAccepting(tb)
	return f
}

// waitAccepting waits until the gateway sees every node accepting.
func (f *simFleet) waitAccepting(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok := 0
		for _, n := range f.gw.Nodes() {
			if n.GetAccepting() {
				ok++
			}
		}
		if ok == len(f.nodes) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d simulated nodes accepting", ok, len(f.nodes))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// burst posts n offers to the gateway at once and returns each one's
// placement time (gateway has the offer → gateway has the node's answer)
// and how many were not placed.
func (f *simFleet) burst(n int, offer string) (lat []time.Duration, failed int) {
	lat = make([]time.Duration, n)
	var bad atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/v1/sessions", strings.NewReader(offer))
			req.Header.Set("Content-Type", "application/sdp")
			w := httptest.NewRecorder()
			<-start
			t0 := time.Now()
			f.h.ServeHTTP(w, req)
			lat[i] = time.Since(t0)
			if w.Code != http.StatusCreated {
				bad.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return lat, int(bad.Load())
}

// spread ends every session and returns the sessions per node (min, max,
// standard deviation) and the highest count any node ever held.
func (f *simFleet) spread() (lo, hi int, sd float64, peak int) {
	counts := make([]int, len(f.nodes))
	var sum float64
	for i, n := range f.nodes {
		c, p := n.reset()
		counts[i], peak = c, max(peak, p)
		sum += float64(c)
	}
	mean := sum / float64(len(counts))
	for _, c := range counts {
		sd += (float64(c) - mean) * (float64(c) - mean)
	}
	return slices.Min(counts), slices.Max(counts), math.Sqrt(sd / float64(len(counts))), peak
}

// cpuTime is the CPU time (user and system) the process has used: the
// NATS server, the gateway and every simulated node together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// TestSimulatedFleetPlacement: offers in a burst over simulated nodes are
// all placed and no node goes over its capacity, even when the burst
// fills the fleet exactly.
func TestSimulatedFleetPlacement(t *testing.T) {
	f := startSimFleet(t, 10, 3)
	lat, failed := f.burst(30, "v=0\r\n")
	lo, hi, _, peak := f.spread()
	t.Logf("30 offers over 10 nodes of capacity 3: median %v, p99 %v, %d failed, sessions per node %d..%d",
		percentile(lat, 0.5), percentile(lat, 0.99), failed, lo, hi)
	if failed != 0 || lo != 3 || hi != 3 || peak > 3 {
		t.Errorf("failed %d, sessions per node %d..%d, peak %d: want every offer placed, 3 on each node, none over 3", failed, lo, hi, peak)
	}
}

// BenchmarkPlacement measures placement over 500 simulated nodes (each
// taking up to 4 sessions) with bursts of 100 and 1000 offers at once:
// p50 and p99 of the time from the gateway having an offer to it having
// the node's answer, and the spread of sessions over the nodes.
func BenchmarkPlacement(b *testing.B) {
	const nodes, capacity = 500, 4
	f := startSimFleet(b, nodes, capacity)
	offer := offerSDP(b)
	c0 := cpuTime()
	time.Sleep(2 * time.Second)
	b.Logf("%d simulated nodes of capacity %d; offers of %d bytes (an SDP offer with its candidates); idle fleet (heartbeats, checks) %.0f ms of CPU a second",
		nodes, capacity, len(offer), float64((cpuTime()-c0).Microseconds())/2000)
	for _, burst := range []int{100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d/concurrent=%d", nodes, burst), func(b *testing.B) {
			var all []time.Duration
			var failed, hi, peak int
			var sd float64
			var cpu time.Duration
			var msgs, bytes int64
			for b.Loop() {
				c0 := cpuTime()
				m0, b0 := f.traffic()
				lat, bad := f.burst(burst, offer)
				cpu += cpuTime() - c0
				all = append(all, lat...)
				b.StopTimer()
				// The state messages a burst causes follow it within a
				// node's check (100 ms): count them too.
				time.Sleep(150 * time.Millisecond)
				m1, b1 := f.traffic()
				msgs, bytes = msgs+m1-m0, bytes+b1-b0
				b.StartTimer()
				failed += bad
				b.StopTimer()
				_, h, s, p := f.spread()
				hi, peak, sd = max(hi, h), max(peak, p), max(sd, s)
				f.waitAccepting(b)
				b.StartTimer()
			}
			b.ReportMetric(float64(percentile(all, 0.5).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(hi), "max-sessions/node")
			b.ReportMetric(sd, "sd-sessions/node")
			b.ReportMetric(float64(failed), "failed")
			// CPU time per placement does not depend on the machine's
			// load, unlike the latencies.
			b.ReportMetric(float64(cpu.Microseconds())/float64(len(all)), "cpu-us/placement")
			// Messages and bytes the NATS server received per placement
			// (offers, answers, state messages, heartbeats of the window):
			// they do not depend on the machine's load either.
			b.ReportMetric(float64(msgs)/float64(len(all)), "nats-msgs/placement")
			b.ReportMetric(float64(bytes)/float64(len(all)), "nats-bytes/placement")
			if peak > capacity {
				b.Errorf("a node held %d sessions, over its capacity %d", peak, capacity)
			}
		})
	}
}
