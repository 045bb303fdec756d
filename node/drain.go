package node

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DrainNoticePrefix begins the Notice a draining node sends each live
// session (Node.Drain), so that a client can tell it from other Notices
// and connect elsewhere in time.
const DrainNoticePrefix = "node draining:"

// noticer is what Drain needs of a session to tell it (*session.Session).
type noticer interface{ Notice(text string) }

// Drain stops the node taking sessions and lets the live ones run to
// their end. Ready and POST /v1/sessions then answer an error wrapping
// signaling.ErrDraining (the POST with 503 and Retry-After), and every
// live session is told in a Notice (beginning with DrainNoticePrefix) that
// the node is draining and by when it will end the session. Drain returns
// when the last session has ended, when timeout has passed (0: at once)
// or when ctx is done, whichever comes first; it then ends the sessions
// still running (as Close does, so that Ready reports
// signaling.ErrShuttingDown from then on). It returns ctx's error if ctx
// cut the drain short, else nil. The node's handler keeps answering (503
// to new sessions, /readyz) until the caller stops serving it; Close is
// still needed to release the GL workers.
func (n *Node) Drain(ctx context.Context, timeout time.Duration) error {
	live, drained := n.sig.Drain()
	n.refreshFleet()
	dctx, cancel := context.WithTimeout(ctx, max(timeout, 0))
	defer cancel()
	text := DrainNoticePrefix + " this node takes no new sessions and ends this one now; reconnect to another node"
	if deadline, _ := dctx.Deadline(); timeout > 0 {
		text = fmt.Sprintf("%s this node takes no new sessions and ends this one by %s (within %v); reconnect to another node before then",
			DrainNoticePrefix, deadline.UTC().Format(time.RFC3339), timeout)
	}
	for _, s := range live {
		if s, ok := s.(noticer); ok {
			s.Notice(text)
		}
	}
	n.log.Info("draining", "sessions", len(live), "timeout", timeout)
	var err error
	select {
	case <-drained:
		n.log.Info("drained: the last session has ended")
	case <-dctx.Done():
		err = ctx.Err() // nil when only the timeout passed
		n.log.Info("drain over, ending the remaining sessions", "sessions", n.sig.Len(), "cut_short", err != nil)
	}
	if cerr := n.sig.Close(); err == nil {
		err = cerr
	}
	return err
}

// HealthzHandler answers GET /healthz: 200 "ok sessions=N" while the
// process serves at all, draining or not (a liveness probe: a draining
// node must not be restarted).
func (n *Node) HealthzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok sessions=%d\n", n.sig.Len())
	})
}

// ReadyzHandler answers GET /readyz from Node.Ready (see ReadyHandler):
// 503 while the node is draining, shutting down or at its session cap.
func (n *Node) ReadyzHandler() http.Handler { return ReadyHandler(n.Ready) }

// ReadyHandler answers a readiness probe from ready: 200 "ready" when it
// returns nil, else 503 "not ready: " and its error. It never caches:
// every request calls ready.
func ReadyHandler(ready func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if err := ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
}
