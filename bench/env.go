package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/clients/headset"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/session"
	"github.com/holocast/holocast/signaling"
)

// env is the node (embedded or remote) and the network to it. It lives
// for the whole of Run, across the concurrency levels.
type env struct {
	url  string       // the node's signaling endpoint (…/v1/sessions)
	node *node.Node   // the embedded node; nil with a remote one
	srv  *http.Server // serves the embedded node's signaling; nil with a remote one
	nw   *network     // the virtual network with --impair; nil on loopback
	// http is the headsets' HTTP client (offers, DELETEs); its idle
	// keep-alive connections are closed after each level, so that they
	// do not count in the node's open files after the sessions.
	http *http.Client
	// watch samples a remote node's metrics (Config.MetricsURL); nil
	// without. Run starts it and finishes it.
	watch *nodeWatch
	nt    *netTrace // --trace-net; nil without
	// ests are the embedded node's sessions' congestion controllers, for
	// the series; nil with a remote node.
	ests *estimators
	// traceErr is what closing the trace returned.
	traceErr error
}

// startEnv sets up the network (a pion virtual network with an
// impairment, else none) and, without cfg.URL, an embedded node serving
// signaling on a loopback port. The caller owns the result and must close
// it.
func startEnv(ctx context.Context, cfg *Config) (*env, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.InsecureTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // asked for with --insecure
	}
	e := &env{url: cfg.URL, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	if cfg.TraceNet != nil {
		e.nt = newNetTrace(cfg.TraceNet)
	}
	if cfg.Impair != nil {
		nw, err := newNetwork(cfg.Impair)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("bench: %w", err)
		}
		nw.trace = e.nt
		e.nw = nw
	}
	if cfg.URL != "" {
		return e, nil
	}
	if err := e.startEmbedded(ctx, cfg); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// startEmbedded starts the embedded node (over e.nw when set) and its
// signaling server on a free loopback port, and points e.url at it. The
// server's goroutine belongs to e and ends when close shuts it down.
func (e *env) startEmbedded(ctx context.Context, cfg *Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The embedded node serves only this process on loopback: no
	// authentication, and every headset comes from the same address at
	// once, so no per-client or negotiation cap either.
	ncfg := node.Config{
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.BitRate,
		Predictor: cfg.Predictor, FixedHorizon: cfg.FixedHorizon, Logger: log,
		MaxSessionsPerClient: -1, MaxNegotiations: -1, AllowLoopbackCandidates: true,
		Degrade: session.DegradeAll, // as holocast-node
	}
	if cfg.NoDegrade {
		ncfg.Degrade = session.DegradeOff
	}
	if cfg.Scene != "" {
		cat, err := scene.LoadCatalog(cfg.Scene, scene.DefaultLimits, log)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		if cat.Len() != 2 {
			return fmt.Errorf("bench: scene %s: want one .gltf or .glb file", cfg.Scene)
		}
		ncfg.Scenes, ncfg.DefaultScene = cat, cat.List()[1].Name
	}
	e.ests = &estimators{}
	ncfg.OnBandwidthEstimator = e.ests.add
	if e.nt != nil {
		ncfg.Interceptors = []interceptor.Factory{e.nt}
		ncfg.OnBandwidthEstimator = func(b cc.BandwidthEstimator) {
			e.ests.add(b)
			e.nt.onEstimator(b)
		}
	}
	if e.nw != nil {
		nodeNet := e.nw.nodeNet
		ncfg.SettingEngine = func(se *webrtc.SettingEngine) { vnetSettings(se, nodeNet) }
	}
	n, err := node.New(ctx, ncfg)
	if err != nil {
		return fmt.Errorf("bench: embedded node: %w", err)
	}
	e.node = n
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	e.srv = &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	e.url = "http://" + ln.Addr().String() + signaling.SessionsPath
	return nil
}

// headsetOptions are the client options that reach the node for headset
// k: cfg.Token, e's HTTP client (TLS without verification with
// cfg.InsecureTLS), and headset k's own interface on the virtual network
// when there is one.
func (e *env) headsetOptions(cfg *Config, k int) (headset.Options, error) {
	opts := headset.Options{FrameBuffer: 1024, Token: cfg.Token, HTTPClient: e.http, JitterWait: jitterWait(cfg.Impair)}
	if e.nw != nil {
		cn, err := e.nw.client(k)
		if err != nil {
			return opts, err
		}
		se := &webrtc.SettingEngine{}
		vnetSettings(se, cn)
		if opts.API, err = headset.NewAPI(se); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// jitterWait is how long headsets wait for a missing packet before they
// give its frame up: the headset's default (100 ms) on a plain link, plus
// two round trips the impairment adds (twice the one-way delay and
// jitter, twice) on an impaired one, so that a NACKed packet's
// retransmission can arrive in time, and the repeat of a repair that was
// lost too (the node answers a repeated NACK a round trip after its
// first repair). A browser waits longer still: Chromium NACKs a missing
// packet up to 10 times, a round trip apart, and asks for a key frame
// only when it cannot recover (its decoder waits seconds for a decodable
// frame). With 100 ms alone, every retransmission over a 50 ms one-way
// link came after the frame was given up; with one round trip, every
// repeated repair.
func jitterWait(imp *Impairment) time.Duration {
	const base = 100 * time.Millisecond // headset.Options' default
	if imp == nil {
		return base
	}
	return base + 4*(imp.Delay+imp.Jitter)
}

// closeIdle closes the headsets' idle keep-alive connections to the node.
func (e *env) closeIdle() { e.http.CloseIdleConnections() }

// close stops the signaling server (ending its goroutine), the embedded
// node and the virtual network, whichever were started.
func (e *env) close() {
	e.closeIdle()
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = e.srv.Shutdown(ctx)
		cancel()
	}
	if e.node != nil {
		_ = e.node.Close()
	}
	if e.nw != nil {
		e.nw.close()
	}
	if e.nt != nil {
		e.traceErr = e.nt.close()
	}
}
