package node

import (
	"net/http"

	"github.com/holocast/holocast/metrics"
	"github.com/holocast/holocast/session"
)

// MetricsHandler serves, for a listener apart from the signaling one
// (holocast-node's --metrics-listen): GET /metrics, the node's Prometheus
// metrics (Config.Metrics; 404 without them), GET /healthz
// (HealthzHandler) and GET /readyz (ReadyzHandler).
func (n *Node) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	if n.cfg.Metrics != nil {
		mux.Handle("GET /metrics", n.cfg.Metrics.Handler())
	}
	mux.Handle("GET /healthz", n.HealthzHandler())
	mux.Handle("GET /readyz", n.ReadyzHandler())
	return mux
}

// metricsResult returns m's counter of session request results for
// signaling.Options.OnResult, or nil without metrics.
func metricsResult(m *metrics.Metrics) func(string) {
	if m == nil {
		return nil
	}
	return m.Result
}

// observe wires a new observer of m into a session's deps and returns it
// (nil without metrics).
func observe(m *metrics.Metrics, deps *session.Deps) *metrics.SessionObserver {
	if m == nil {
		return nil
	}
	o := m.NewSession()
	deps.OnFrame, deps.OnClientReport, deps.OnClose = o.Frame, o.ClientReport, o.Closed
	return o
}
