package main

import (
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/signaling/link"
	"github.com/holocast/holocast/turnrest"
)

func TestRunRejectsBadFlags(t *testing.T) {
	t.Setenv(envToken, "")
	t.Setenv(envJWTSecret, "")
	t.Setenv(envTURNSecret, "")
	const lo = "127.0.0.1:0"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", lo, "--insecure-http"}, "--nats is required"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1"}, "--tls-cert"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--deadline", "0s"}, "--deadline"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--allow-origin", "https://x/y"}, "--allow-origin"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http"}, "--auth token needs --token"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--token", "short"}, "--token"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "jwt"}, "--jwt-secret"},
		{[]string{"--listen", "0.0.0.0:0", "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none"}, "loopback"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none"}, "NATS"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--log-level", "loud"}, "--log-level"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none", "--ice-server", "http://x"}, "--ice-server"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none", "--turn-secret", "0123456789abcdef"}, "need --ice-server"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none", "--ice-server", "turn:t.example", "--turn-secret", "short"}, "at least 16 bytes"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none", "--ice-server", "stun:s.example", "--turn-secret", "0123456789abcdef"}, "needs a TURN server"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none", "--ice-server", "turn:t.example", "--turn-secret", "0123456789abcdef", "--ice-username", "u"}, "drop --ice-username"},
		{[]string{"--listen", lo, "--nats", "nats://127.0.0.1:1", "--insecure-http", "--auth", "none", "--ice-server", "turn:t.example", "--turn-secret", "0123456789abcdef", "--turn-ttl", "10s"}, "--turn-ttl"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if err := run(tt.args, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestICEServersFlags: --ice-server with --turn-secret gives each client
// TURN credentials minted for it that the TURN server's check accepts,
// and STUN servers as they are; static credentials go to TURN servers only.
func TestICEServersFlags(t *testing.T) {
	const secret = "turn-secret-0123456789"
	f := &iceFlags{servers: listFlag{"stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp"}, turnTTL: time.Hour}
	list, err := f.iceServers(func(k string) string { return map[string]string{envTURNSecret: secret}[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := list("node-1.abc123")
	if len(got) != 2 || got[0] != (link.ICEServer{URL: "stun:stun.example.org:3478"}) || got[1].URL != "turn:turn.example.org:3478?transport=udp" {
		t.Fatalf("ICE servers %+v", got)
	}
	if err := turnrest.Verify([]byte(secret), got[1].Username, got[1].Credential, time.Now()); err != nil || !strings.HasSuffix(got[1].Username, ":node-1.abc123") {
		t.Errorf("minted TURN credentials %q/%q: %v", got[1].Username, got[1].Credential, err)
	}
	if err := turnrest.Verify([]byte(secret), got[1].Username, got[1].Credential, time.Now().Add(2*time.Hour)); err == nil {
		t.Error("TURN credentials still valid after --turn-ttl")
	}
	static := &iceFlags{servers: listFlag{"stun:s.example", "turns:t.example"}, username: "u", credential: "c", turnTTL: time.Hour}
	list, err = static.iceServers(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := list(""); got[0].Username != "" || got[1].Username != "u" || got[1].Credential != "c" {
		t.Errorf("static credentials: %+v", got)
	}
	if list, err := (&iceFlags{}).iceServers(func(string) string { return secret }); err != nil || list != nil {
		t.Errorf("no --ice-server: list %v, err %v; want none (the environment's secret alone is not an error)", list != nil, err)
	}
}
