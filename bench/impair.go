package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
)

// Impairment describes the virtual network a run goes over. The zero value
// is a perfect virtual network (still pion's vnet, not the loopback).
type Impairment struct {
	// Spec is the text it was parsed from.
	Spec string `json:"spec"`
	// Delay is added one way, in each direction (vnet router MinDelay).
	Delay time.Duration `json:"-"`
	// Jitter is vnet's router jitter: before each routing pass the router
	// waits a random time in [0, Jitter), delaying whatever is queued.
	Jitter time.Duration `json:"-"`
	// LossPct is the chance in percent that a packet is dropped, in each
	// direction (a router chunk filter).
	LossPct float64 `json:"loss_pct"`
	// RateBps caps each headset's downlink (node → headset) with a token
	// bucket, in bits per second; 0 means no cap.
	RateBps int64 `json:"rate_bps"`
	// RateSteps change the cap during the run ("rate@8s=1mbit"), each At
	// after the run's start (each level, and each repeat, starts the
	// links anew), in increasing order.
	RateSteps []RateStep `json:"rate_steps,omitempty"`

	// For JSON.
	DelayMS  float64 `json:"delay_ms"`
	JitterMS float64 `json:"jitter_ms"`
}

// Presets are named impairments for --impair. They are illustrative
// profiles, not measurements of any particular network.
var Presets = map[string]string{
	"vnet": "delay=0ms",
	"wifi": "delay=3ms,jitter=4ms,loss=0.5%",
	"lte":  "delay=25ms,jitter=10ms,loss=1%,rate=20mbit",
}

// ParseImpairment reads "delay=20ms,jitter=5ms,loss=1%,rate=20mbit" or a
// preset name (see Presets). "rate@8s=1mbit" changes the rate cap 8 s
// after the run's start (it needs a rate=).
func ParseImpairment(spec string) (*Impairment, error) {
	spec = strings.TrimSpace(spec)
	text := spec
	if p, ok := Presets[strings.ToLower(spec)]; ok {
		text = p
	}
	if text == "" {
		return nil, errors.New("empty impairment")
	}
	imp := &Impairment{Spec: spec}
	for _, kv := range strings.Split(text, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("impairment %q: want key=value (or a preset: vnet, wifi, lte)", kv)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		var err error
		if at, ok := strings.CutPrefix(k, "rate@"); ok {
			if err := imp.addStep(at, v); err != nil {
				return nil, fmt.Errorf("impairment %q: %w", kv, err)
			}
			continue
		}
		switch k {
		case "delay":
			imp.Delay, err = nonNegDuration(v)
		case "jitter":
			imp.Jitter, err = nonNegDuration(v)
		case "loss":
			imp.LossPct, err = parsePercent(v)
		case "rate":
			imp.RateBps, err = parseRate(v)
		default:
			err = fmt.Errorf("unknown key %q (want delay, jitter, loss, rate)", k)
		}
		if err != nil {
			return nil, fmt.Errorf("impairment %q: %w", kv, err)
		}
	}
	if len(imp.RateSteps) > 0 && imp.RateBps == 0 {
		return nil, fmt.Errorf("impairment %q: rate@ steps need a rate= to start from", spec)
	}
	imp.DelayMS = ms(imp.Delay)
	imp.JitterMS = ms(imp.Jitter)
	return imp, nil
}

// addStep adds the rate step "at=v" (rate@at=v); steps must come in
// increasing time order.
func (imp *Impairment) addStep(at, v string) error {
	d, err := time.ParseDuration(at)
	if err != nil || d <= 0 {
		return fmt.Errorf("rate@%s: want a positive time such as rate@8s", at)
	}
	if n := len(imp.RateSteps); n > 0 && d <= imp.RateSteps[n-1].At {
		return fmt.Errorf("rate@%s: steps must be in increasing time order", at)
	}
	bps, err := parseRate(v)
	if err != nil {
		return err
	}
	imp.RateSteps = append(imp.RateSteps, RateStep{At: d, Bps: bps, AtS: d.Seconds()})
	return nil
}

// nonNegDuration parses a duration that must not be negative.
func nonNegDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, errors.New("negative duration")
	}
	return d, nil
}

// parsePercent reads a loss as a percentage ("1%") or a fraction ("0.01").
func parsePercent(v string) (float64, error) {
	s, pct := strings.CutSuffix(v, "%")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if !pct {
		f *= 100 // a fraction
	}
	if f < 0 || f > 100 || f != f {
		return 0, fmt.Errorf("loss %v%% outside [0, 100]", f)
	}
	return f, nil
}

// parseRate reads a bit rate such as 20mbit, 500kbit, 1.5mbps, 800000.
func parseRate(v string) (int64, error) {
	low := strings.ToLower(v)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bit", 1}, {"bps", 1}} {
		if s, ok := strings.CutSuffix(low, u.suffix); ok {
			low, mult = s, u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(low), 64)
	if err != nil {
		return 0, err
	}
	bps := int64(f * mult)
	if bps < 8000 {
		return 0, fmt.Errorf("rate %d bit/s below 8 kbit/s", bps)
	}
	return bps, nil
}

// network is a pion virtual network: one router with the node's interface
// and one interface per headset.
type network struct {
	imp     *Impairment
	router  *vnet.Router
	nodeNet *vnet.Net

	mu      sync.Mutex
	clients []*vnet.Net
	delays  []*vnet.DelayFilter
	links   []*bottleneck // headset i's capped downlink; nil without a rate cap
	started time.Time     // the current run's start (restart): new links start then
	trace   *netTrace     // nil without --trace-net; records headset 0's link
}

// vnetCIDR is the virtual network's address range.
const vnetCIDR = "10.77.0.0/24"

// newNetwork starts a router with imp's delay, jitter and loss and the
// node's interface on it; headsets' interfaces are added by client.
func newNetwork(imp *Impairment) (*network, error) {
	r, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR: vnetCIDR, MinDelay: imp.Delay, MaxJitter: imp.Jitter,
		LoggerFactory: quietLoggerFactory(),
	})
	if err != nil {
		return nil, fmt.Errorf("vnet router: %w", err)
	}
	n := &network{imp: imp, router: r}
	if n.nodeNet, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"10.77.0.1"}}); err != nil {
		return nil, err
	}
	if err := r.AddNet(n.nodeNet); err != nil {
		return nil, err
	}
	if imp.LossPct > 0 {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(1, 2))
		p := imp.LossPct / 100
		r.AddChunkFilter(func(vnet.Chunk) bool {
			mu.Lock()
			defer mu.Unlock()
			return rng.Float64() >= p
		})
	}
	if err := r.Start(); err != nil {
		return nil, err
	}
	return n, nil
}

// client returns the i-th headset's interface, creating it on first use.
func (n *network) client(i int) (*vnet.Net, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for len(n.clients) <= i {
		ip := fmt.Sprintf("10.77.0.%d", 10+len(n.clients))
		if 10+len(n.clients) > 250 {
			return nil, errors.New("vnet: too many headsets")
		}
		c, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
		if err != nil {
			return nil, err
		}
		var nic vnet.NIC = c
		if n.imp.RateBps > 0 {
			// A drop-tail queue of 100 ms at the rate (at least 64 KiB)
			// drained at the rate (see bottleneck).
			df, err := vnet.NewDelayFilter(c)
			if err != nil {
				return nil, err
			}
			n.delays = append(n.delays, df)
			start := n.started
			if start.IsZero() {
				start = time.Now()
			}
			b := &bottleneck{dst: ip, delay: df, start: start,
				steps: append([]RateStep{{Bps: n.imp.RateBps}}, n.imp.RateSteps...)}
			if len(n.clients) == 0 {
				b.trace = n.trace
			}
			n.router.AddChunkFilter(b.filter)
			nic = df
			n.links = append(n.links, b)
		}
		if err := n.router.AddNet(nic); err != nil {
			return nil, err
		}
		n.clients = append(n.clients, c)
	}
	return n.clients[i], nil
}

// link returns headset i's bottleneck, or nil (no rate cap, or no such
// headset yet).
func (n *network) link(i int) *bottleneck {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if i < len(n.links) {
		return n.links[i]
	}
	return nil
}

// restart starts every existing bottleneck anew at now (see
// bottleneck.restart), and the links made later as if made at now.
func (n *network) restart(now time.Time) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.started = now
	for _, b := range n.links {
		b.restart(now)
	}
}

// vnetSettings points a setting engine at a vnet interface.
func vnetSettings(se *webrtc.SettingEngine, nw *vnet.Net) {
	se.SetNet(nw)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
}

// close stops the router, then the bottlenecks' delay filters.
func (n *network) close() {
	_ = n.router.Stop()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range n.delays {
		_ = d.Close()
	}
}

// quietLoggerFactory keeps pion's vnet logs to errors.
func quietLoggerFactory() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelError
	return f
}
