// Command holocast-gateway is the front door of a fleet of Holocast render
// nodes: it serves the nodes' WHEP-style signaling contract
// (/v1/sessions) at one address and places each session on a node with
// room over NATS (nodes run with --nats); media then flow between headset
// and node directly. It serves the browser client at "/" and lists the
// fleet at /v1/nodes. It keeps no session state: run several behind a
// plain load balancer.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/clients/web"
	"github.com/holocast/holocast/fleet"
	"github.com/holocast/holocast/signaling"
)

// Environment variables read when the matching flag is not given.
const (
	envToken     = "HOLOCAST_TOKEN"
	envJWTSecret = "HOLOCAST_JWT_SECRET"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:], nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "holocast-gateway:", err)
		os.Exit(1)
	}
}

// run runs the gateway until SIGINT or SIGTERM; ready, if set, gets the
// public and ops addresses once both listen (tests).
func run(args []string, ready func(public, ops net.Addr)) error {
	fs := flag.NewFlagSet("holocast-gateway", flag.ContinueOnError)
	var (
		listen    = fs.String("listen", ":8443", "`address` to serve HTTPS (or HTTP with --insecure-http) on")
		certFile  = fs.String("tls-cert", "", "TLS certificate `file` (PEM)")
		keyFile   = fs.String("tls-key", "", "TLS private key `file` (PEM) for --tls-cert")
		insecure  = fs.Bool("insecure-http", false, "serve plain HTTP, behind a load balancer or ingress that terminates TLS (browsers need HTTPS for WebXR)")
		natsURL   = fs.String("nats", "", "`URL` of the fleet's NATS server, e.g. nats://nats:4222 (required)")
		natsCreds = fs.String("nats-creds", "", "NATS credentials `file` (user JWT and NKey seed)")
		authMode  = fs.String("auth", "token", "who may create sessions, by `mode`: token (--token, and JWTs with --jwt-secret), jwt (JWTs only), none (anyone; only on a loopback --listen)")
		token     = fs.String("token", "", "the fleet's bearer `token` (or env "+envToken+"); every gateway replica needs the same")
		jwtSecret = fs.String("jwt-secret", "", "accept JWTs signed with HS256 under this `secret` of at least 32 bytes (or env "+envJWTSecret+"); their caps go to the node with the offer")
		deadline  = fs.Duration("deadline", fleet.DefaultDeadline, "longest time to place one session, every node tried included")
		attempts  = fs.Int("max-attempts", fleet.DefaultMaxAttempts, "most nodes one offer is tried on when nodes answer busy")
		opsAddr   = fs.String("ops-listen", "127.0.0.1:9465", "`address` to serve /metrics, /healthz, /readyz and /v1/nodes on, in plain HTTP without authentication; empty disables")
		noWeb     = fs.Bool("no-web", false, "do not serve the browser client at /")
		logLevel  = fs.String("log-level", "info", "log `level`: debug, info, warn, error")
		origins   listFlag
	)
	ice := addICEFlags(fs)
	fs.Var(&origins, "allow-origin", "`origin` (scheme://host[:port], or *) whose pages may call the endpoints cross-origin (repeatable); default same-origin only")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: holocast-gateway --nats URL [flags]\n\nServes one address for a fleet of render nodes and places each session on a node with room.\n\nFlags:\n")
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
	switch {
	case *natsURL == "":
		return errors.New("--nats is required: the URL of the fleet's NATS server")
	case *deadline <= 0 || *attempts <= 0:
		return errors.New("--deadline and --max-attempts must be positive")
	case !*insecure && (*certFile == "" || *keyFile == ""):
		return errors.New("give --tls-cert and --tls-key, or --insecure-http behind a load balancer that terminates TLS")
	}
	for _, o := range origins {
		if _, err := signaling.ParseOrigin(o); err != nil {
			return fmt.Errorf("--allow-origin: %w", err)
		}
	}
	iceServers, err := ice.iceServers(os.Getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer func() { _ = ln.Close() }()
	authn, err := authenticator(*authMode, *token, *jwtSecret, isLoopback(ln.Addr()))
	if err != nil {
		return err
	}
	if !*insecure {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	nopts := []nats.Option{nats.Name("holocast-gateway"), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
	if *natsCreds != "" {
		nopts = append(nopts, nats.UserCredentials(*natsCreds))
	}
	nc, err := nats.Connect(*natsURL, nopts...)
	if err != nil {
		return fmt.Errorf("NATS %s: %w", *natsURL, err)
	}
	defer nc.Close()
	opts := fleet.GatewayOptions{Auth: authn, AllowedOrigins: origins, Deadline: *deadline, MaxAttempts: *attempts, ICEServers: iceServers, Logger: log}
	if !*noWeb {
		opts.Static = web.Handler()
	}
	g, err := fleet.NewGateway(nc, opts)
	if err != nil {
		return err
	}
	defer func() { _ = g.Close() }()

	servers := []*http.Server{newServer(g.Handler(), log, *deadline)}
	listeners := []net.Listener{ln}
	if *opsAddr != "" {
		oln, err := net.Listen("tcp", *opsAddr)
		if err != nil {
			return fmt.Errorf("--ops-listen: %w", err)
		}
		servers = append(servers, newServer(g.OpsHandler(), log, *deadline))
		listeners = append(listeners, oln)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	log.Info("gateway ready", "listen", ln.Addr().String(), "nats", nc.ConnectedUrlRedacted(), "auth", *authMode, "ops", *opsAddr)
	if ready != nil {
		ops := net.Addr(nil)
		if len(listeners) > 1 {
			ops = listeners[1].Addr()
		}
		ready(ln.Addr(), ops)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutCtx)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// authenticator checks the auth flags and returns the gateway's
// authenticator (nil for --auth none).
func authenticator(mode, token, secret string, loopback bool) (signaling.Authenticator, error) {
	if token == "" {
		token = os.Getenv(envToken)
	}
	if secret == "" {
		secret = os.Getenv(envJWTSecret)
	}
	var cfg auth.Config
	switch mode {
	case "none":
		if !loopback {
			return nil, errors.New("--auth none is only allowed on a loopback --listen address")
		}
		return nil, nil
	case "jwt":
		if secret == "" {
			return nil, fmt.Errorf("--auth jwt needs --jwt-secret (or %s)", envJWTSecret)
		}
		cfg.JWTSecret = []byte(secret)
	case "token":
		if token == "" {
			return nil, fmt.Errorf("--auth token needs --token (or %s), the same on every gateway replica", envToken)
		}
		cfg.Token, cfg.JWTSecret = token, []byte(secret)
	default:
		return nil, fmt.Errorf("--auth %q: want token, jwt or none", mode)
	}
	a, err := auth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("--token / --jwt-secret: %w", err)
	}
	return a, nil
}

func isLoopback(addr net.Addr) bool {
	host, _, _ := net.SplitHostPort(addr.String())
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newServer returns an HTTP server whose write timeout leaves room for a
// placement of up to deadline.
func newServer(h http.Handler, log *slog.Logger, deadline time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      deadline + 15*time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
