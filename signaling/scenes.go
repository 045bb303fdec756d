package signaling

import (
	"encoding/json"
	"errors"
	"net/http"
)

// ScenesPath lists the scenes a session may show (GET).
const ScenesPath = "/v1/scenes"

// ErrNotFound may be wrapped by a Factory's error to have the client told
// 404 (e.g. the scene the request names does not exist).
var ErrNotFound = errors.New("not found")

// ListHandler serves GET requests with list() as JSON, to the clients
// that may create sessions (the same bearer credential check) and with
// the same CORS headers as the session endpoints.
func (s *Server) ListHandler(list func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.cors.apply(w.Header(), r)
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", "GET, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, OPTIONS")
			httpError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		if _, _, ok := s.authenticate(w, r); !ok {
			return
		}
		b, err := json.Marshal(list())
		if err != nil {
			httpError(w, http.StatusInternalServerError, "listing: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(b, '\n'))
	})
}
