package signaling

import (
	"errors"
	"net/http"

	"github.com/holocast/holocast/auth"
)

// Unauthorized returns the WWW-Authenticate challenge and the message of
// the 401 that answers a request whose credential failed with err (an
// error of auth.BearerToken or an Authenticator), so that every endpoint
// of the WHEP contract refuses credentials in the same words.
func Unauthorized(err error) (challenge, message string) {
	// RFC 6750 §3: no error code when no credential came.
	challenge = `Bearer realm="holocast"`
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		message = "unauthorized: this render node needs an access token (Authorization: Bearer TOKEN); open the URL the node printed at start, which carries it after #token="
	case errors.Is(err, auth.ErrMalformedHeader):
		challenge += `, error="invalid_request"`
		message = "unauthorized: " + err.Error()
	case errors.Is(err, auth.ErrExpired):
		challenge += `, error="invalid_token", error_description="token expired"`
		message = "unauthorized: token expired or not yet valid"
	case errors.Is(err, auth.ErrBadClaims):
		challenge += `, error="invalid_token", error_description="bad claims"`
		message = "unauthorized: " + err.Error()
	default:
		challenge += `, error="invalid_token"`
		message = "unauthorized: invalid token"
	}
	return challenge, message
}

// CORS wraps h with the cross-origin rules of Options.AllowedOrigins (see
// Server.Handler), for another server of the same contract (a fleet's
// gateway). An origin that ParseOrigin refuses is an error.
func CORS(allowedOrigins []string, h http.Handler) (http.Handler, error) {
	c, err := newCORS(allowedOrigins)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.apply(w.Header(), r)
		h.ServeHTTP(w, r)
	}), nil
}

// Preflight answers OPTIONS on the sessions endpoints (204 with Allow and
// Accept-Post). Server.Handler answers with it, after adding the ICE
// servers' Link headers for a request with an accepted credential.
func Preflight(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "POST, DELETE, PATCH, OPTIONS")
	w.Header().Set("Accept-Post", "application/sdp")
	w.WriteHeader(http.StatusNoContent)
}
