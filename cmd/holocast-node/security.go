package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/holocast/holocast/auth"
	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/signaling"
)

// Environment variables read when the matching flag is not given; they
// keep secrets out of the process list.
const (
	envToken     = "HOLOCAST_TOKEN"
	envJWTSecret = "HOLOCAST_JWT_SECRET"
)

// tokenFile is the name of the file in --cert-dir that keeps the node's
// generated token.
const tokenFile = "token"

// Authentication modes of --auth.
const (
	authToken = "token"
	authJWT   = "jwt"
	authNone  = "none"
)

// securityFlags are the flags of authentication, cross-origin access and
// the signaling limits.
type securityFlags struct {
	auth, token, jwtSecret string
	origins                listFlag
	maxCandidates          int
	maxNegotiations        int
	maxPerIP               int
}

func addSecurityFlags(fs *flag.FlagSet) *securityFlags {
	f := &securityFlags{}
	fs.StringVar(&f.auth, "auth", authToken, "who may create sessions, by `mode`: token (the node's token, and JWTs with --jwt-secret), jwt (JWTs only), none (anyone; only on a loopback --listen)")
	fs.StringVar(&f.token, "token", "", "the node's bearer `token` (or env "+envToken+"); default: one generated on first run and kept in --cert-dir/"+tokenFile)
	fs.StringVar(&f.jwtSecret, "jwt-secret", "", "accept JWTs signed with HS256 under this `secret` of at least 32 bytes (or env "+envJWTSecret+"); claims max_width, max_height, max_fps, max_session_s cap the session")
	fs.Var(&f.origins, "allow-origin", "`origin` (scheme://host[:port], or *) whose pages may call the signaling endpoints cross-origin (repeatable); default same-origin only")
	fs.IntVar(&f.maxCandidates, "max-candidates", signaling.DefaultMaxCandidates, "most ICE candidates an offer may carry (0 = unlimited); more get 400")
	fs.IntVar(&f.maxNegotiations, "max-negotiations", signaling.DefaultMaxNegotiations, "most sessions negotiated at once (0 = unlimited); more get 503")
	fs.IntVar(&f.maxPerIP, "max-sessions-per-ip", signaling.DefaultMaxSessionsPerClient, "most sessions of one client IP address, IPv6 by /64 (0 = unlimited; behind a reverse proxy all clients share its address); more get 429")
	return f
}

// unlimited maps a flag's "0 = unlimited" to node.Config's negative.
func unlimited(v int) int {
	if v == 0 {
		return -1
	}
	return v
}

// apply checks the flags and fills cfg. loopback tells that the node
// listens on a loopback address only. It returns the token to put in the
// printed URL ("" for none).
func (f *securityFlags) apply(cfg *node.Config, certDir string, loopback bool, log func(msg string, args ...any)) (string, error) {
	if f.maxCandidates < 0 || f.maxNegotiations < 0 || f.maxPerIP < 0 {
		return "", errors.New("--max-candidates, --max-negotiations and --max-sessions-per-ip must not be negative")
	}
	cfg.MaxCandidates, cfg.MaxNegotiations, cfg.MaxSessionsPerClient = unlimited(f.maxCandidates), unlimited(f.maxNegotiations), unlimited(f.maxPerIP)
	cfg.AllowLoopbackCandidates = loopback
	for _, o := range f.origins {
		if _, err := signaling.ParseOrigin(o); err != nil {
			return "", fmt.Errorf("--allow-origin: %w", err)
		}
	}
	cfg.AllowedOrigins = f.origins

	token, secret := f.token, f.jwtSecret
	if token == "" {
		token = os.Getenv(envToken)
	}
	if secret == "" {
		secret = os.Getenv(envJWTSecret)
	}
	var ac auth.Config
	switch f.auth {
	case authNone:
		if !loopback {
			return "", errors.New("--auth none is only allowed on a loopback --listen address: anyone who reaches the node could start sessions")
		}
		if f.token != "" || f.jwtSecret != "" {
			return "", errors.New("--auth none takes no --token or --jwt-secret")
		}
		return "", nil
	case authJWT:
		if secret == "" {
			return "", fmt.Errorf("--auth jwt needs --jwt-secret (or %s)", envJWTSecret)
		}
		if f.token != "" {
			return "", errors.New("--auth jwt takes no --token (use --auth token to accept both)")
		}
		token = ""
	case authToken:
		if token == "" {
			var created bool
			var err error
			path := filepath.Join(certDir, tokenFile)
			if token, created, err = auth.LoadOrCreateToken(path); err != nil {
				return "", fmt.Errorf("--auth token: %w", err)
			}
			if created {
				log("generated the node's access token", "file", path)
			}
		}
	default:
		return "", fmt.Errorf("--auth %q: want token, jwt or none", f.auth)
	}
	ac.Token, ac.JWTSecret = token, []byte(secret)
	a, err := auth.New(ac)
	if err != nil {
		return "", fmt.Errorf("--token / --jwt-secret: %w", err)
	}
	cfg.Auth = a
	log("authentication", "mode", f.auth, "static_token", token != "", "jwt", secret != "", "allowed_origins", len(f.origins))
	return token, nil
}

// isLoopback tells whether a listener's address is a loopback one.
func isLoopback(addr net.Addr) bool {
	host, _, _ := net.SplitHostPort(addr.String())
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withToken adds the token to a URL's fragment, which browsers do not
// send to servers (nor put in Referer headers); the web client takes it
// from there.
func withToken(url, token string) string {
	if token == "" {
		return url
	}
	return url + "#token=" + token
}
