package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holocast/holocast/node"
)

func parseSecurity(t *testing.T, args ...string) *securityFlags {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := addSecurityFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func nolog(string, ...any) {}

func TestSecurityFlagErrors(t *testing.T) {
	t.Setenv(envToken, "")
	t.Setenv(envJWTSecret, "")
	tests := []struct {
		args     []string
		loopback bool
		want     string
	}{
		{[]string{"--auth", "none"}, false, "only allowed on a loopback"},
		{[]string{"--auth", "none", "--token", "0123456789abcdefgh"}, true, "takes no --token"},
		{[]string{"--auth", "jwt"}, true, "needs --jwt-secret"},
		{[]string{"--auth", "jwt", "--jwt-secret", strings.Repeat("s", 32), "--token", "0123456789abcdefgh"}, true, "takes no --token"},
		{[]string{"--auth", "open"}, true, "want token, jwt or none"},
		{[]string{"--token", "letmein"}, true, "too short"},
		{[]string{"--jwt-secret", "short"}, true, "JWT secret too short"},
		{[]string{"--allow-origin", "https://ok.example", "--allow-origin", "evil.example"}, true, "--allow-origin"},
		{[]string{"--max-candidates", "-1"}, true, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var cfg node.Config
			_, err := parseSecurity(t, tt.args...).apply(&cfg, t.TempDir(), tt.loopback, nolog)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestSecurityFlags(t *testing.T) {
	t.Setenv(envToken, "")
	t.Setenv(envJWTSecret, "")
	t.Run("token generated on first run and kept 0600 next to the certificate", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "certs")
		var cfg node.Config
		tok, err := parseSecurity(t).apply(&cfg, dir, false, nolog)
		if err != nil || len(tok) < 40 || cfg.Auth == nil {
			t.Fatalf("token %q, auth %v, err %v", tok, cfg.Auth, err)
		}
		st, err := os.Stat(filepath.Join(dir, tokenFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("token file: %v %v", st, err)
		}
		again, err := parseSecurity(t).apply(&node.Config{}, dir, false, nolog)
		if err != nil || again != tok {
			t.Errorf("second run: %q %v, want the kept token", again, err)
		}
		if _, err := cfg.Auth.Verify(tok); err != nil {
			t.Errorf("the printed token is refused: %v", err)
		}
	})
	t.Run("--token and HOLOCAST_TOKEN", func(t *testing.T) {
		dir := t.TempDir()
		tok, err := parseSecurity(t, "--token", "flag-token-0123456789").apply(&node.Config{}, dir, false, nolog)
		if err != nil || tok != "flag-token-0123456789" {
			t.Errorf("--token: %q %v", tok, err)
		}
		t.Setenv(envToken, "env-token-0123456789ab")
		if tok, err = parseSecurity(t).apply(&node.Config{}, dir, false, nolog); err != nil || tok != "env-token-0123456789ab" {
			t.Errorf("env: %q %v", tok, err)
		}
		if _, err := os.Stat(filepath.Join(dir, tokenFile)); err == nil {
			t.Error("a token file was written although a token was given")
		}
	})
	t.Run("JWT only", func(t *testing.T) {
		t.Setenv(envJWTSecret, strings.Repeat("k", 32))
		var cfg node.Config
		tok, err := parseSecurity(t, "--auth", "jwt").apply(&cfg, t.TempDir(), false, nolog)
		if err != nil || tok != "" || cfg.Auth == nil {
			t.Errorf("%q %v %v", tok, cfg.Auth, err)
		}
	})
	t.Run("none on loopback", func(t *testing.T) {
		var cfg node.Config
		tok, err := parseSecurity(t, "--auth", "none").apply(&cfg, t.TempDir(), true, nolog)
		if err != nil || tok != "" || cfg.Auth != nil || !cfg.AllowLoopbackCandidates {
			t.Errorf("%q %+v %v", tok, cfg, err)
		}
	})
	t.Run("limits and origins", func(t *testing.T) {
		var cfg node.Config
		_, err := parseSecurity(t, "--max-candidates", "0", "--max-negotiations", "7", "--allow-origin", "https://a.example", "--allow-origin", "*").apply(&cfg, t.TempDir(), false, nolog)
		if err != nil || cfg.MaxCandidates != -1 || cfg.MaxNegotiations != 7 || cfg.MaxSessionsPerClient != 2 || len(cfg.AllowedOrigins) != 2 || cfg.AllowLoopbackCandidates {
			t.Errorf("%+v %v", cfg, err)
		}
	})
}

func TestWithToken(t *testing.T) {
	if got := withToken("https://localhost:8443/", "abc"); got != "https://localhost:8443/#token=abc" {
		t.Error(got)
	}
	if got := withToken("http://127.0.0.1:1/", ""); got != "http://127.0.0.1:1/" {
		t.Error(got)
	}
}

func TestRunRefusesAuthNoneOffLoopback(t *testing.T) {
	err := run([]string{"--auth", "none", "--listen", "0.0.0.0:0", "--cert-dir", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("err = %v", err)
	}
}
