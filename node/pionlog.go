package node

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLoggerFactory routes pion's logs to slog with component=pion and the
// pion scope (ice, dtls, sctp, …). pion's Info is demoted to Debug: it is
// chatty per connection.
type pionLoggerFactory struct{ log *slog.Logger }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("component", "pion", "scope", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) at(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l pionLogger) Trace(msg string) { l.at(slog.LevelDebug-4, msg) }
func (l pionLogger) Tracef(format string, args ...any) {
	l.at(slog.LevelDebug-4, fmt.Sprintf(format, args...))
}
func (l pionLogger) Debug(msg string) { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Debugf(format string, args ...any) {
	l.at(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (l pionLogger) Info(msg string) { l.at(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any) {
	l.at(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (l pionLogger) Warn(msg string) { l.at(slog.LevelWarn, msg) }
func (l pionLogger) Warnf(format string, args ...any) {
	level := slog.LevelWarn
	if strings.HasPrefix(format, "Ignoring remote candidate filtered by remote IP policy") {
		// The node's own policy (filterRemoteAddresses), hit by every
		// peer-reflexive link-local address a client's checks come from.
		level = slog.LevelDebug
	}
	l.at(level, fmt.Sprintf(format, args...))
}
func (l pionLogger) Error(msg string) { l.at(slog.LevelError, msg) }
func (l pionLogger) Errorf(format string, args ...any) {
	l.at(slog.LevelError, fmt.Sprintf(format, args...))
}
