package main

import (
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"time"

	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/session"
)

// maxHeaderBytes bounds a request's header (Go's default is 1 MiB); a
// session request carries a few hundred bytes of headers and at most a
// bearer token of a few KiB.
const maxHeaderBytes = 16 << 10

// limitFlags are the flags that bound what one client may do (see
// docs/security.md, "Limits").
type limitFlags struct {
	maxSessionDuration, idleTimeout, rebuildInterval time.Duration
	poseRate, controlRate                            float64
	poseBurst, controlBurst, maxRejectedChannels     int
	maxMessageSize, sctpReceiveBuffer                int
	httpRead, httpWrite, httpIdle                    time.Duration
}

// addLimitFlags defines the limit flags on fs.
func addLimitFlags(fs *flag.FlagSet) *limitFlags {
	l := &limitFlags{}
	fs.DurationVar(&l.maxSessionDuration, "max-session-duration", node.DefaultMaxSessionDuration, "longest a session lives; it is then ended with a Notice (0 = no limit)")
	fs.DurationVar(&l.idleTimeout, "idle-timeout", node.DefaultIdleTimeout, "end a session whose pose channel has carried no pose for this long, with a Notice (0 = never); a viewer without data channels is never idle")
	fs.Float64Var(&l.poseRate, "pose-rate", session.DefaultPoseRate.PerSecond, "poses per second a session takes on average; more are dropped")
	fs.IntVar(&l.poseBurst, "pose-burst", session.DefaultPoseRate.Burst, "poses a session takes at once above --pose-rate")
	fs.Float64Var(&l.controlRate, "control-rate", session.DefaultControlRate.PerSecond, "control messages per second a session takes on average; more are dropped")
	fs.IntVar(&l.controlBurst, "control-burst", session.DefaultControlRate.Burst, "control messages a session takes at once above --control-rate")
	fs.IntVar(&l.maxRejectedChannels, "max-rejected-channels", session.DefaultMaxRejectedChannels, "data channels other than one pose and one control channel a session closes before it ends the session")
	fs.DurationVar(&l.rebuildInterval, "rebuild-interval", session.DefaultRebuildInterval, "shortest time between two pipeline rebuilds a client's DeviceConfig causes; the newest config waits (0 = no limit)")
	fs.IntVar(&l.maxMessageSize, "max-message-size", node.DefaultMaxMessageSize, "SCTP max-message-size in `bytes` advertised to clients, at most 65536; a larger message ends the session")
	fs.IntVar(&l.sctpReceiveBuffer, "sctp-receive-buffer", node.DefaultSCTPReceiveBuffer, "SCTP receive buffer of a session in `bytes`, at least --max-message-size")
	fs.DurationVar(&l.httpRead, "http-read-timeout", 10*time.Second, "time to read a whole HTTP request, headers and body")
	fs.DurationVar(&l.httpWrite, "http-write-timeout", 30*time.Second, "time to handle an HTTP request and write its response; keep it above the 10 s a session's negotiation may take")
	fs.DurationVar(&l.httpIdle, "http-idle-timeout", 60*time.Second, "time an idle keep-alive HTTP connection is kept open")
	return l
}

// apply checks the limit flags and sets them in cfg; a flag's 0 meaning
// "no limit" is node.Config's negative.
func (l *limitFlags) apply(cfg *node.Config) error {
	if l.maxSessionDuration < 0 || l.idleTimeout < 0 || l.rebuildInterval < 0 || l.maxRejectedChannels < 0 {
		return errors.New("--max-session-duration, --idle-timeout, --rebuild-interval and --max-rejected-channels must not be negative")
	}
	if !(l.poseRate > 0) || !(l.controlRate > 0) || l.poseBurst < 1 || l.controlBurst < 1 {
		return errors.New("--pose-rate, --pose-burst, --control-rate and --control-burst must be positive")
	}
	if l.httpRead <= 0 || l.httpWrite <= 0 || l.httpIdle <= 0 {
		return errors.New("--http-read-timeout, --http-write-timeout and --http-idle-timeout must be positive")
	}
	if l.maxMessageSize < 1024 || l.maxMessageSize > node.MaxMessageSizeLimit || l.sctpReceiveBuffer < l.maxMessageSize {
		return errors.New("--max-message-size must be 1024 to 65536 bytes, --sctp-receive-buffer at least as large")
	}
	orNone := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	cfg.MaxSessionDuration = orNone(l.maxSessionDuration)
	cfg.IdleTimeout = orNone(l.idleTimeout)
	cfg.RebuildInterval = orNone(l.rebuildInterval)
	cfg.MaxRejectedChannels = l.maxRejectedChannels
	if l.maxRejectedChannels == 0 {
		cfg.MaxRejectedChannels = -1
	}
	cfg.PoseRate = session.Rate{PerSecond: l.poseRate, Burst: l.poseBurst}
	cfg.ControlRate = session.Rate{PerSecond: l.controlRate, Burst: l.controlBurst}
	cfg.MaxMessageSize, cfg.SCTPReceiveBuffer = l.maxMessageSize, l.sctpReceiveBuffer
	return nil
}

// newHTTPServer serves h with bounded reads, writes, idle connections and
// headers, so that a client that drips its request or keeps an idle
// connection open cannot hold the connection indefinitely.
func newHTTPServer(h http.Handler, log *slog.Logger, l *limitFlags) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, l.httpRead),
		ReadTimeout:       l.httpRead,
		WriteTimeout:      l.httpWrite,
		IdleTimeout:       l.httpIdle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
