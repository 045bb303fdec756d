package main

import (
	"strings"
	"testing"
)

func TestRunRejectsBadFlags(t *testing.T) {
	t.Setenv(envToken, "")
	t.Setenv(envJWTSecret, "")
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
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if err := run(tt.args, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
