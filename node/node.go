// Package node wires a Holocast render node together: the WebRTC API
// (codecs, interceptors, ICE settings), the GL render worker, the encoder
// factory, the signaling server with its session registry, and the HTTP
// handler that serves them with the browser client.
package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/clients/web"
	"github.com/holocast/holocast/congestion"
	"github.com/holocast/holocast/encoder"
	"github.com/holocast/holocast/encoder/builtin"
	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/playout"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/proto/wire"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/render/scene"
	"github.com/holocast/holocast/session"
	"github.com/holocast/holocast/signaling"
)

// Config is everything a node needs; cmd/holocast-node fills it from flags.
type Config struct {
	// Width and Height of the side-by-side frame; 0 means render.DefaultWidth/Height.
	Width, Height int
	// FPS is the default frame rate; 0 means 30.
	FPS int
	// BitRate in bits per second; 0 means DefaultBitRate.
	BitRate int
	// MaxSessions caps concurrent sessions; 0 means no cap.
	MaxSessions int
	// Auth, if set, must accept the bearer credential of every session
	// request, and what it grants caps the session (see
	// signaling.Options.Auth and auth.Grant); nil means no authentication
	// (tests, embedding; holocast-node sets it unless --auth none).
	Auth signaling.Authenticator
	// AllowedOrigins are the origins whose pages may call the signaling
	// endpoints cross-origin ("*": any); empty means same-origin only
	// (signaling.Options.AllowedOrigins).
	AllowedOrigins []string
	// MaxCandidates, MaxNegotiations and MaxSessionsPerClient bound the
	// ICE candidates of an offer, the sessions negotiated at once and the
	// sessions of one client address (signaling.Options); 0 means the
	// signaling package's default, negative no limit.
	MaxCandidates, MaxNegotiations, MaxSessionsPerClient int
	// AllowLoopbackCandidates lets ICE use loopback addresses of clients,
	// for a node that listens on loopback itself; link-local, multicast
	// and unspecified addresses are never used.
	AllowLoopbackCandidates bool
	// Limits bound what a client may request; zero means session.DefaultLimits.
	Limits session.Limits
	// MaxSessionDuration ends a session that long after it was created,
	// with a Notice first (session.Config.MaxDuration); 0 means
	// DefaultMaxSessionDuration, negative no limit.
	MaxSessionDuration time.Duration
	// IdleTimeout ends a session with a pose channel that has sent no pose
	// for that long (session.Config.IdleTimeout; a plain WHEP viewer
	// without data channels is never ended for idleness); 0 means
	// DefaultIdleTimeout, negative no limit.
	IdleTimeout time.Duration
	// PoseRate and ControlRate bound the messages of each session's pose
	// and control channels; zero means session.DefaultPoseRate and
	// session.DefaultControlRate.
	PoseRate, ControlRate session.Rate
	// MaxRejectedChannels is how many unexpected data channels a session
	// closes before it ends; 0 means session.DefaultMaxRejectedChannels,
	// negative none.
	MaxRejectedChannels int
	// RebuildInterval is the shortest time between two pipeline rebuilds
	// of a session caused by DeviceConfig; 0 means
	// session.DefaultRebuildInterval, negative no limit.
	RebuildInterval time.Duration
	// Degrade is what each session's degradation ladder watches
	// (session.Config.Degrade): smaller, then slower frames when the link
	// or the node's time per frame falls short. The zero value is off;
	// holocast-node watches both (--degrade).
	Degrade session.Degradation
	// MaxMessageSize is the SCTP max-message-size the node advertises in
	// its answers; a session whose client sends a larger message all the
	// same is ended. 0 means DefaultMaxMessageSize; at most
	// MaxMessageSizeLimit.
	MaxMessageSize int
	// SCTPReceiveBuffer bounds each session's SCTP receive buffer: what a
	// client may have in flight on its data channels (a message larger
	// than it never arrives whole). 0 means DefaultSCTPReceiveBuffer; at
	// least MaxMessageSize.
	SCTPReceiveBuffer int
	// Predictor names the pose predictor; "" means pose.DefaultPredictorName.
	Predictor string
	// FixedHorizon, if positive, replaces the measured motion-to-photon
	// latency as prediction look-ahead.
	FixedHorizon time.Duration
	// ICEServers (STUN/TURN URLs) are given to every peer connection of
	// the node (but none behind 1:1 NAT, see NAT1To1IPs) and announced to
	// clients as WHEP Link headers (signaling.Options.ICEServers).
	ICEServers []webrtc.ICEServer
	// TURNSecret, if set, is shared with the TURN servers of ICEServers
	// (coturn's static-auth-secret): every client, and the node's own peer
	// connection, gets TURN credentials minted from it (package turnrest)
	// instead of ICEServers' static ones, valid for TURNTTL (0 means
	// DefaultTURNTTL). At least turnrest.MinSecret bytes.
	TURNSecret []byte
	TURNTTL    time.Duration
	// NAT1To1IPs, if set, are the only addresses the node announces as
	// host candidates, instead of its interface addresses (a node behind
	// 1:1 NAT): an entry is an IP address or EXTERNAL/LOCAL. ICE then uses
	// only their IP families, and the node's own peer connections use no
	// ICE servers (no server-reflexive or relayed candidates either).
	NAT1To1IPs []string
	// UDPPortMin and UDPPortMax, if set, bound the ICE UDP ports (one per
	// session and interface address).
	UDPPortMin, UDPPortMax uint16
	// UDPPort, if set, serves every session's ICE over this one UDP port
	// on each interface address (pion's UDP mux); it excludes a port range.
	UDPPort int
	// TCPPort, if set, also offers ICE-TCP: passive TCP candidates on this
	// one port, for clients on networks that block UDP.
	TCPPort int
	// ICEInterfaces, if set, are the only network interfaces whose
	// addresses ICE uses.
	ICEInterfaces []string
	// NoIPv6 keeps ICE to IPv4 addresses.
	NoIPv6 bool
	// ICEDisconnectedTimeout and ICEFailedTimeout bound how long a silent
	// peer keeps its session: after the failed timeout the session ends.
	// Zero means 5 s and 10 s.
	ICEDisconnectedTimeout, ICEFailedTimeout time.Duration
	// RenderWorkers is the number of GL contexts, each on its own OS
	// thread, that render frames; sessions are spread over them. 0 means
	// 1, right for a CPU-only node where llvmpipe already uses every core
	// for one frame; a GPU node can overlap several sessions' frames.
	RenderWorkers int
	// EGLPlatform forces "device" or "surfaceless"; "" picks automatically.
	EGLPlatform string
	// Scenes are the scenes a session may show (GET /v1/scenes, the
	// "scene" query of a session request, SelectScene); nil offers the
	// built-in scene only.
	Scenes *scene.Catalog
	// SceneFitNone keeps a model in its file's units instead of scaling
	// it to about 1.5 m; either way it stands on the floor 2 m ahead.
	SceneFitNone bool
	// DefaultScene is shown by a session whose request names none; ""
	// means scene.Builtin.
	DefaultScene string
	// Renderers, if set, makes the sessions' render targets instead of the
	// node's own GL workers (RenderWorkers and EGLPlatform are then
	// unused). The caller owns it: the node does not close it.
	// render/rendertest has a pure-Go one for tests and examples.
	Renderers render.Factory
	// Encoders makes the sessions' H.264 encoders; the zero value means the
	// back-end compiled into the binary (encoder/builtin).
	Encoders encoder.Factory
	// Static serves the browser client at "/"; nil serves nothing there.
	Static fs.FS
	// Logger receives all logs; nil means slog.Default().
	Logger *slog.Logger
	// Metrics, if set, counts the node's sessions, frames, poses and
	// stage times (package metrics; MetricsHandler serves them); nil
	// means no metrics.
	Metrics *metrics.Metrics
	// SettingEngine, if set, is applied last to the WebRTC setting engine
	// every session's peer connection is built from. holocast-bench uses it
	// to run ICE and media over pion's virtual network
	// (se.SetNet(vnetNet)) for impaired-network measurements.
	SettingEngine func(se *webrtc.SettingEngine)
	// NATS, if set, is the URL of the NATS server through which the node
	// joins a fleet (package fleet): it then also takes offers placed by a
	// fleet gateway. Fleet describes the node there (its ID defaults to
	// the host name, Capacity to MaxSessions).
	NATS  string
	Fleet fleet.AgentOptions
	// Interceptors, if set, are added to every session's interceptor
	// registry before the node's own, so that they sit closest to the
	// network: they see every RTP packet as it leaves (retransmissions and
	// transport-wide sequence numbers included) and every RTCP packet as it
	// arrives. holocast-bench's --trace-net records a session with one.
	Interceptors []interceptor.Factory
	// OnBandwidthEstimator, if set, is called with each session's
	// congestion controller when its peer connection is made (to observe
	// its target; the session owns it).
	OnBandwidthEstimator func(cc.BandwidthEstimator)
}

// DefaultBitRate is the encoder target when Config.BitRate is 0.
const DefaultBitRate = 4_000_000

// DefaultFPS is the frame rate when Config.FPS is 0.
const DefaultFPS = 30

// Node is a running render node.
type Node struct {
	cfg     Config
	log     *slog.Logger
	workers *workerPool // nil when Config.Renderers is set
	se      webrtc.SettingEngine
	ice     *iceSockets // shared ICE sockets, closed after the sessions
	sig     *signaling.Server
	nc      *nats.Conn   // Config.NATS's connection; nil without
	fleet   *fleet.Agent // nil without Config.NATS
	scenes  scenes
}

// New starts a node: it opens the GL contexts (unless Config.Renderers is
// set) and prepares the WebRTC stack. ctx bounds only the start; the node
// runs until Close, which ends the sessions first and then the GL workers.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Width == 0 || cfg.Height == 0 {
		cfg.Width, cfg.Height = render.DefaultWidth, render.DefaultHeight
	}
	if cfg.Width%4 != 0 || cfg.Height%2 != 0 || cfg.Width < 64 || cfg.Height < 64 {
		return nil, fmt.Errorf("node: size %dx%d: width must be a multiple of 4, height even, both at least 64", cfg.Width, cfg.Height)
	}
	if cfg.FPS == 0 {
		cfg.FPS = DefaultFPS
	}
	if cfg.BitRate == 0 {
		cfg.BitRate = DefaultBitRate
	}
	if cfg.Limits == (session.Limits{}) {
		cfg.Limits = session.DefaultLimits
	}
	cfg.Limits.MaxWidth = max(cfg.Limits.MaxWidth, cfg.Width)
	cfg.Limits.MaxHeight = max(cfg.Limits.MaxHeight, cfg.Height)
	cfg.Limits.MaxFPS = max(cfg.Limits.MaxFPS, cfg.FPS)
	if cfg.Predictor == "" {
		cfg.Predictor = pose.DefaultPredictorName
	}
	if err := limitDefaults(&cfg); err != nil {
		return nil, err
	}
	if err := checkTURN(&cfg); err != nil {
		return nil, err
	}
	if _, err := pose.NewPredictor(cfg.Predictor); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("component", "node")}
	if cfg.Scenes == nil {
		cfg.Scenes, _ = scene.NewCatalog()
	}
	n.scenes = scenes{cat: cfg.Scenes, fit: !cfg.SceneFitNone}
	if cfg.DefaultScene != "" {
		if _, err := cfg.Scenes.Get(cfg.DefaultScene); err != nil {
			return nil, fmt.Errorf("node: default scene: %w", err)
		}
	}

	if cfg.Encoders.New == nil {
		cfg.Encoders = builtin.Factory
	}
	if cfg.Renderers == nil {
		pool, err := startWorkers(ctx, cfg)
		if err != nil {
			return nil, err
		}
		n.workers = pool
		cfg.Renderers = pool
		info := pool.workers[0].Info()
		n.log.Info("renderer ready", "platform", info.Platform, "gl_renderer", info.Renderer, "gl_version", info.Version, "workers", len(pool.workers))
	}
	n.cfg = cfg

	var err error
	if n.se, n.ice, err = newSettingEngine(cfg); err != nil {
		if n.workers != nil {
			_ = n.workers.Close()
		}
		return nil, err
	}
	filterRemoteAddresses(&n.se, cfg.AllowLoopbackCandidates)
	if n.sig, err = signaling.NewServer(n.newSession, signaling.Options{
		MaxSessions: cfg.MaxSessions, Auth: cfg.Auth, AllowedOrigins: cfg.AllowedOrigins,
		MaxCandidates: cfg.MaxCandidates, AllowLoopbackCandidates: cfg.AllowLoopbackCandidates,
		MaxNegotiations: cfg.MaxNegotiations, MaxSessionsPerClient: cfg.MaxSessionsPerClient, Logger: cfg.Logger,
		OnResult: metricsResult(cfg.Metrics), ICEServers: n.clientICEServers,
	}); err != nil {
		_ = n.ice.Close()
		if n.workers != nil {
			_ = n.workers.Close()
		}
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := n.joinFleet(); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

// newSettingEngine builds the ICE and logging settings shared by every
// session's peer connection.
func newSettingEngine(cfg Config) (webrtc.SettingEngine, *iceSockets, error) {
	se := webrtc.SettingEngine{LoggerFactory: pionLoggerFactory{cfg.Logger}}
	disc, failed := cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout
	if disc <= 0 {
		disc = 5 * time.Second
	}
	if failed <= 0 {
		failed = 10 * time.Second
	}
	se.SetICETimeouts(disc, failed, min(2*time.Second, disc/2))
	socks, err := configureICE(&se, cfg) // see ice.go
	if err != nil {
		return se, nil, err
	}
	setSCTPLimits(&se, cfg)
	if cfg.SettingEngine != nil {
		cfg.SettingEngine(&se)
	}
	return se, socks, nil
}

// MinBitRate is the floor of the congestion controller's target.
const MinBitRate = 150_000

// newSessionAPI builds the WebRTC API for one session: H.264 codecs and
// their RTX (RFC 4588) formats, the node's NACK responder (RTX where the
// peer offers it), pion's RTCP reports, stats and TWCC feedback, the TWCC header
// extension on sent packets, the playout-delay extension asking the
// receiver to show each frame as soon as it is decoded (package playout),
// and the node's send-side congestion
// controller (package congestion, behind pion's cc interceptor), whose
// estimator arrives on the returned channel when the session's peer
// connection is created. It is built per session so that each estimator
// reaches its own session. The controller starts at
// congestion.DefaultStartBitRate (at most the configured rate) and probes
// up to Config.BitRate; its pacer spreads each frame's packets at
// congestion.PacingFactor times the target, and the encoder's bit rate
// follows the target.
func newSessionAPI(cfg Config, se webrtc.SettingEngine) (*webrtc.API, <-chan cc.BandwidthEstimator, error) {
	m := &webrtc.MediaEngine{}
	if err := wire.RegisterH264(m); err != nil {
		return nil, nil, fmt.Errorf("node: %w", err)
	}
	if err := wire.RegisterRTX(m); err != nil { // used where the offer has it
		return nil, nil, fmt.Errorf("node: %w", err)
	}
	ir := &interceptor.Registry{}
	for _, f := range cfg.Interceptors {
		ir.Add(f)
	}
	bwe, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		e, err := congestion.NewEstimator(congestion.Config{
			StartBitRate: min(congestion.DefaultStartBitRate, cfg.BitRate),
			MinBitRate:   min(MinBitRate, cfg.BitRate), MaxBitRate: cfg.BitRate,
		})
		if err != nil {
			return nil, err
		}
		return guardEstimator(e), nil // see guardedEstimator
	})
	if err != nil {
		return nil, nil, fmt.Errorf("node: congestion control: %w", err)
	}
	estimators := make(chan cc.BandwidthEstimator, 1)
	bwe.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
		if cfg.OnBandwidthEstimator != nil {
			cfg.OnBandwidthEstimator(e)
		}
		select {
		case estimators <- e:
		default:
		}
	})
	ir.Add(bwe)
	// The transport-wide sequence number is stamped by the estimator as
	// each packet leaves its pacer, so that each retransmission (RTX or
	// not) gets its own, as libwebrtc does, rather than repeating the
	// original's, and the numbers go out in order although repairs pass
	// the media queued before them; pion's header extension interceptor
	// (which stamps as packets enter) is not used, only the extension is
	// negotiated. pion's default interceptors follow, but for its NACK
	// responder: the node's (congestion.ResponderFactory) sends RTX where
	// negotiated and leaves the decisions to the pacer's retransmission
	// budget. The node receives no media, so it needs no NACK generator.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, nil, fmt.Errorf("node: TWCC header extension: %w", err)
		}
	}
	ir.Add(congestion.ResponderFactory{})
	// Wrapping the responder, so that the packets it keeps (and so its
	// retransmissions) carry it too: every video packet asks the receiver
	// for no playout delay where it offered the extension.
	if err := playout.Register(m); err != nil {
		return nil, nil, fmt.Errorf("node: %w", err)
	}
	ir.Add(playout.Factory{})
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, fmt.Errorf("node: RTCP reports: %w", err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, nil, fmt.Errorf("node: simulcast header extensions: %w", err)
	}
	if err := webrtc.ConfigureStatsInterceptor(ir); err != nil {
		return nil, nil, fmt.Errorf("node: stats interceptor: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(m, ir); err != nil {
		return nil, nil, fmt.Errorf("node: TWCC feedback: %w", err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), estimators, nil
}

func (n *Node) newSession(ctx context.Context, req signaling.Request) (signaling.Session, error) {
	if err := n.checkScene(req.Scene); err != nil {
		return nil, err
	}
	api, estimators, err := newSessionAPI(n.cfg, n.se)
	if err != nil {
		return nil, err
	}
	out, lim := grantedOutput(n.cfg, req.Grant)
	deps := session.Deps{
		API: api,
		Bandwidth: func() session.BandwidthEstimator {
			select {
			case e := <-estimators:
				return e
			default:
				return nil
			}
		},
		Renderers: n.cfg.Renderers,
		Scenes:    n.scenes,
		Encoders:  n.cfg.Encoders,
		Logger:    n.cfg.Logger,
	}
	obs := observe(n.cfg.Metrics, &deps)
	s, err := session.New(ctx, req.Offer, session.Config{
		ID: req.ID, Output: out, Limits: lim, MaxDuration: grantedDuration(n.cfg.MaxSessionDuration, req.Grant), BitRate: n.cfg.BitRate, MinBitRate: min(MinBitRate, n.cfg.BitRate),
		Predictor: n.cfg.Predictor, FixedHorizon: n.cfg.FixedHorizon, ICEServers: n.peerICEServers(req.ID),
		IdleTimeout: n.cfg.IdleTimeout, PoseRate: n.cfg.PoseRate, ControlRate: n.cfg.ControlRate,
		MaxRejectedChannels: n.cfg.MaxRejectedChannels, RebuildInterval: n.cfg.RebuildInterval, MaxMessageSize: n.cfg.MaxMessageSize, Degrade: n.cfg.Degrade,
		Scene: cmp.Or(req.Scene, n.cfg.DefaultScene),
	}, deps)
	if err == nil {
		if err = checkCandidates(req.Offer, s.Answer()); err != nil { // see ice.go
			_ = s.Close()
			return nil, err
		}
	}
	if err == nil && obs != nil {
		obs.Started()
	}
	if errors.Is(err, session.ErrBadOffer) {
		return nil, fmt.Errorf("%w: %w", signaling.ErrBadOffer, err)
	}
	return s, err
}

// Ready reports whether the node would take a new session now (nil), or
// why not: an error wrapping signaling.ErrShuttingDown,
// signaling.ErrDraining (see Drain) or signaling.ErrSessionLimit.
func (n *Node) Ready() error { return n.sig.Ready() }

// Sessions returns the number of live sessions.
func (n *Node) Sessions() int { return n.sig.Len() }

// RendererName describes what the node renders with (GL_RENDERER of its
// GL workers, or the configured Config.Renderers' name).
func (n *Node) RendererName() string { return n.cfg.Renderers.Name() }

// EncoderName names the H.264 back-end the node encodes with.
func (n *Node) EncoderName() string { return n.cfg.Encoders.Name }

// Handler serves the signaling endpoints, GET /healthz (HealthzHandler),
// GET /readyz (ReadyzHandler) and, at "/", the browser client.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(signaling.SessionsPath, n.sig.Handler())
	mux.Handle(signaling.SessionsPath+"/", n.sig.Handler())
	mux.Handle(signaling.ScenesPath, n.sig.ListHandler(func() any { return n.SceneList() }))
	mux.Handle("GET /healthz", n.HealthzHandler())
	mux.Handle("GET /readyz", n.ReadyzHandler())
	if n.cfg.Static != nil {
		mux.Handle("/", web.FileHandler(n.cfg.Static))
	}
	return mux
}

// Close ends every session, then releases the GL workers (in that order:
// a session's last frame may still be rendering). It is idempotent.
func (n *Node) Close() error {
	err := errors.Join(n.leaveFleet(), n.sig.Close())
	err = errors.Join(err, n.ice.Close())
	if n.workers != nil {
		err = errors.Join(err, n.workers.Close())
	}
	return err
}
