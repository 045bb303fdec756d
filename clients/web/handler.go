package web

import (
	"io/fs"
	"net/http"
)

// ContentSecurityPolicy is the policy the client's pages are served with:
// same-origin scripts, styles, connections and media only.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// Handler serves the embedded client, FS, as FileHandler does (a fleet
// gateway serves the client with it, so that a browser can open the
// gateway's address).
func Handler() http.Handler { return FileHandler(FS()) }

// FileHandler serves fsys for GET and HEAD with ContentSecurityPolicy and
// the other security headers of the client's pages; other methods get
// 405. The render node serves its Config.Static with it.
func FileHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "xr-spatial-tracking=(self), gyroscope=(self), accelerometer=(self)")
		files.ServeHTTP(w, r)
	})
}
