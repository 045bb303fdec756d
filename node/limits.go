package node

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
)

// Defaults of the per-session limits in Config.
const (
	// DefaultMaxSessionDuration is the longest a session lives.
	DefaultMaxSessionDuration = 4 * time.Hour
	// DefaultIdleTimeout ends a session with a pose channel after this
	// long without a pose.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxMessageSize is the SCTP max-message-size advertised in the
	// node's answers (pion's own default is 1 GiB). A control message is
	// at most session.MaxControlMessage, a pose a few hundred bytes.
	DefaultMaxMessageSize = 64 << 10
	// MaxMessageSizeLimit is the largest Config.MaxMessageSize.
	MaxMessageSizeLimit = 64 << 10
	// DefaultSCTPReceiveBuffer bounds a session's SCTP receive buffer
	// (pion's default is 1 MiB): room for one largest message and as much
	// again of poses and control messages in flight.
	DefaultSCTPReceiveBuffer = 128 << 10
)

// limitDefaults fills the limits cfg leaves zero and checks them; the
// session limits' own defaults are session's.
func limitDefaults(cfg *Config) error {
	if cfg.MaxSessionDuration == 0 {
		cfg.MaxSessionDuration = DefaultMaxSessionDuration
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.SCTPReceiveBuffer == 0 {
		cfg.SCTPReceiveBuffer = max(DefaultSCTPReceiveBuffer, cfg.MaxMessageSize)
	}
	if cfg.MaxMessageSize < 1024 || cfg.MaxMessageSize > MaxMessageSizeLimit {
		return fmt.Errorf("node: max message size %d: want 1024 to %d bytes", cfg.MaxMessageSize, MaxMessageSizeLimit)
	}
	if cfg.SCTPReceiveBuffer < cfg.MaxMessageSize || cfg.SCTPReceiveBuffer > 64<<20 {
		return fmt.Errorf("node: SCTP receive buffer %d: want %d (the max message size) to %d bytes", cfg.SCTPReceiveBuffer, cfg.MaxMessageSize, 64<<20)
	}
	return nil
}

// setSCTPLimits makes se advertise cfg.MaxMessageSize and bound the SCTP
// receive buffer; limitDefaults has checked both.
func setSCTPLimits(se *webrtc.SettingEngine, cfg Config) {
	se.SetSCTPMaxMessageSize(uint32(cfg.MaxMessageSize))          //nolint:gosec // G115: checked by limitDefaults
	se.SetSCTPMaxReceiveBufferSize(uint32(cfg.SCTPReceiveBuffer)) //nolint:gosec // G115: checked by limitDefaults
}
