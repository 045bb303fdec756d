// Command holocast-node is the Holocast render node: it accepts headsets
// over WebRTC (WHEP-style signaling at /v1/sessions), renders the built-in
// scene in stereo for each head pose, and streams H.264 back. It serves the
// browser client at "/".
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/holocast/holocast/clients/web"
	"github.com/holocast/holocast/encoder/builtin"
	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/pose"
	"github.com/holocast/holocast/render"
	"github.com/holocast/holocast/session"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "holocast-node:", err)
		var se sceneError
		if errors.As(err, &se) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("holocast-node", flag.ContinueOnError)
	var (
		listen      = fs.String("listen", ":8443", "`address` to serve HTTPS (or HTTP with --insecure-http) on")
		certFile    = fs.String("tls-cert", "", "TLS certificate `file` (PEM); default: a self-signed one kept in --cert-dir")
		keyFile     = fs.String("tls-key", "", "TLS private key `file` (PEM) for --tls-cert")
		certDir     = fs.String("cert-dir", defaultCertDir(), "`directory` where the self-signed certificate is generated on first run and kept")
		insecure    = fs.Bool("insecure-http", false, "serve plain HTTP instead of HTTPS; only allowed on a loopback --listen address")
		width       = fs.Int("width", render.DefaultWidth, "side-by-side frame `width` in pixels (both eyes)")
		height      = fs.Int("height", render.DefaultHeight, "frame `height` in pixels")
		fps         = fs.Int("fps", node.DefaultFPS, "frame rate")
		bitrate     = fs.Int("bitrate", node.DefaultBitRate, "H.264 target bit rate in `bps`")
		enc         = fs.String("encoder", builtin.Name, "H.264 encoder; this binary has "+builtin.Name+" (build with -tags openh264 for openh264)")
		maxSessions = fs.Int("max-sessions", 4, "maximum concurrent sessions (0 = unlimited); more get 503")
		maxW        = fs.Int("max-width", 2*1440, "largest frame width a client may request")
		maxH        = fs.Int("max-height", 1600, "largest frame height a client may request")
		maxFPS      = fs.Int("max-fps", 90, "largest frame rate a client may request")
		predictor   = fs.String("predictor", pose.DefaultPredictorName, "head-motion predictor: "+strings.Join(pose.PredictorNames(), ", "))
		horizon     = fs.Duration("horizon", 0, "fixed prediction look-ahead (e.g. 50ms); 0 measures motion-to-photon latency per session")
		workers     = fs.Int("render-workers", 1, "GL contexts rendering in parallel; 1 on a CPU-only node, more on a GPU node")
		eglPlatform = fs.String("egl-platform", "", "EGL platform: device (GPU) or surfaceless (Mesa); default tries device, then surfaceless")
		logLevel    = fs.String("log-level", "info", "log `level`: debug, info, warn, error")
		drainFor    = fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM or SIGINT, how long running sessions may go on (taking no new ones) before they are ended; ends sooner when the last one ends (0 = end them at once; a second signal also does)")
		scenePath   = fs.String("scene", "", "glTF 2.0 `path`: a .gltf/.glb file (shown by default) or a directory of them (skipping those that fail to load), each a scene named by its file name without extension; the built-in scene is \"builtin\", the default without --scene")
		sceneFit    = fs.String("scene-fit", "auto", "model placement: auto (scaled to about 1.5 m) or none (the file's own units); either way on the floor 2 m ahead")
		degrade     = fs.Bool("degrade", true, "degradation ladder: when the congestion target or the node's time per frame falls short, render smaller (0.75, then 0.5 of the requested size), then slower (20, then 15 fps), and recover with headroom; false keeps the requested size and rate")
		metricsAddr = fs.String("metrics-listen", defaultMetricsListen, "`address` to serve Prometheus metrics (/metrics), /healthz and /readyz on, in plain HTTP without authentication; empty disables")
	)
	lim := addLimitFlags(fs)
	iceF := addICEFlags(fs)
	sec := addSecurityFlags(fs)
	flt := addFleetFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: holocast-node [flags]\n\nRuns a Holocast render node and prints the URL to open in a browser.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	if *enc != builtin.Name {
		return fmt.Errorf("--encoder %q: this binary was built with %s (the x264 and openh264 bridges cannot be linked together; build with -tags 'egl openh264' for openh264)", *enc, builtin.Name)
	}
	cfg := node.Config{
		Width: *width, Height: *height, FPS: *fps, BitRate: *bitrate, MaxSessions: *maxSessions,
		Predictor: *predictor, FixedHorizon: *horizon, EGLPlatform: *eglPlatform, RenderWorkers: *workers,
		Static: web.FS(), Logger: log,
	}
	if *degrade {
		cfg.Degrade = session.DegradeAll
	}
	cfg.Limits.MaxWidth, cfg.Limits.MaxHeight, cfg.Limits.MaxFPS = *maxW, *maxH, *maxFPS
	if err := loadScenes(&cfg, *scenePath, *sceneFit, log); err != nil {
		return err
	}
	if err := lim.apply(&cfg); err != nil {
		return err
	}
	if err := flt.apply(&cfg); err != nil {
		return err
	}
	if *fps <= 0 || *bitrate <= 0 || *maxSessions < 0 || *drainFor < 0 {
		return errors.New("--fps and --bitrate must be positive, --max-sessions and --drain-timeout not negative")
	}
	if err := iceF.apply(&cfg, os.Getenv); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "https"
	if *insecure {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			_ = ln.Close()
			return fmt.Errorf("--insecure-http is only allowed on a loopback address (browsers need a secure context for WebXR and sensors); got %s", *listen)
		}
		scheme = "http"
	} else {
		var cert tls.Certificate
		if *certFile != "" || *keyFile != "" {
			cert, err = tls.LoadX509KeyPair(*certFile, *keyFile)
		} else {
			cert, err = selfSigned(*certDir)
		}
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}

	token, err := sec.apply(&cfg, *certDir, isLoopback(ln.Addr()), log.Info)
	if err != nil {
		_ = ln.Close()
		return err
	}
	mln, err := listenMetrics(*metricsAddr)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if mln != nil {
		cfg.Metrics = metrics.New()
	}

	ctx, again, stop := watchSignals()
	defer stop()
	n, err := node.New(ctx, cfg)
	if err != nil {
		_ = ln.Close()
		if mln != nil {
			_ = mln.Close()
		}
		return err
	}
	if mln != nil {
		defer serveMetrics(mln, n, log)() // shut down last, after the node: /readyz answers until the end
	}
	srv := newHTTPServer(n.Handler(), log, lim)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("render node ready", "url", publicURL(scheme, ln.Addr()), "size", fmt.Sprintf("%dx%d", *width, *height), "fps", *fps, "encoder", builtin.Name, "renderer", n.RendererName())
	// The token goes to stdout only, never to the log.
	fmt.Printf("Holocast render node: open %s in a browser\n", withToken(publicURL(scheme, ln.Addr()), token))
	if sec.auth == authJWT {
		fmt.Println("(this node accepts JWTs only: append #token=JWT to the URL)")
	}

	select {
	case <-ctx.Done():
		// Drain: new sessions get 503 and /readyz 503 while the running
		// ones go on, up to --drain-timeout; a second signal cuts it short.
		log.Info("draining", "timeout", *drainFor)
		if n.Drain(again, *drainFor) != nil {
			err = errCutShort
		}
		log.Info("shutting down")
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(again, 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	return errors.Join(err, n.Close())
}

func publicURL(scheme string, addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

func defaultCertDir() string {
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "holocast")
	}
	return ".holocast"
}
