package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestFS checks the embedded client: the page, its stylesheet and the
// committed esbuild bundle are there, and the page needs nothing that the
// node's Content-Security-Policy forbids (inline scripts, inline styles,
// other origins). clients/web/test.sh checks that the bundle is current.
func TestFS(t *testing.T) {
	f := FS()
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := fs.ReadFile(f, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(b) == 0 {
			t.Fatalf("%s is empty", name)
		}
	}
	html, _ := fs.ReadFile(f, "index.html")
	page := string(html)
	for _, m := range regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script in index.html (blocked by script-src 'self'): %.60q", m[2])
		}
		if src := regexp.MustCompile(`src="([^"]*)"`).FindStringSubmatch(m[1]); src == nil || strings.Contains(src[1], "//") {
			t.Errorf("script %q must be a same-origin file", m[1])
		}
	}
	if regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=`).MatchString(page) {
		t.Error("index.html has inline styles or event handlers (blocked by the CSP)")
	}
	js, _ := fs.ReadFile(f, "app.js")
	if !strings.HasPrefix(string(js), "// Holocast browser client. Generated from clients/web/src") {
		t.Error("app.js is not the esbuild bundle of clients/web/src (run make web)")
	}
}
