package signaling

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CORS answers: what a page from an allowed origin may send and read.
const (
	corsAllowMethods  = "POST, DELETE, PATCH, OPTIONS"
	corsAllowHeaders  = "Authorization, Content-Type"
	corsExposeHeaders = "Location, Link, ETag"
	corsMaxAge        = "600"
)

// cors is the set of origins allowed cross-origin access.
type cors struct {
	any     bool
	origins map[string]bool
}

func newCORS(list []string) (cors, error) {
	c := cors{origins: map[string]bool{}}
	for _, o := range list {
		canon, err := ParseOrigin(o)
		if err != nil {
			return cors{}, err
		}
		if canon == "*" {
			c.any = true
		}
		c.origins[canon] = true
	}
	return c, nil
}

// ParseOrigin checks an allowed origin and returns it in the form browsers
// send in the Origin header: "*", or scheme://host[:port] in lower case,
// without a default port (80 for http, 443 for https) or trailing slash.
// A path, query, fragment or user name is an error wrapping ErrBadOrigin.
func ParseOrigin(s string) (string, error) {
	if s == "*" {
		return s, nil
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "//") {
		return "", fmt.Errorf("%w %q: want \"*\" or scheme://host[:port], e.g. https://player.example.org", ErrBadOrigin, s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// apply adds the CORS headers for r if its Origin is allowed. A request
// from any other origin gets none, so the browser keeps its page from
// reading the answer (and does not send a POST or DELETE after the
// preflight). Same-origin requests need no CORS headers.
func (c cors) apply(h http.Header, r *http.Request) {
	if len(c.origins) == 0 {
		return
	}
	if !c.any {
		h.Add("Vary", "Origin")
	}
	origin := r.Header.Get("Origin")
	if origin == "" || (!c.any && !c.origins[strings.ToLower(origin)]) {
		return
	}
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
}
