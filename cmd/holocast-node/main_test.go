package main

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
)

func TestSelfSignedIsKept(t *testing.T) {
	dir := t.TempDir()
	a, err := selfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := selfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Error("second run made a new certificate instead of keeping the first")
	}
	leaf, err := x509.ParseCertificate(a.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate not valid for %s: %v", host, err)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--insecure-http", "--listen", "0.0.0.0:0"}, "loopback"},
		{[]string{"--encoder", "vp8", "--listen", "127.0.0.1:0"}, "built with"},
		{[]string{"--log-level", "loud", "--listen", "127.0.0.1:0"}, "--log-level"},
		{[]string{"--udp-ports", "9-1", "--listen", "127.0.0.1:0"}, "--udp-ports"},
		{[]string{"--fps", "0", "--listen", "127.0.0.1:0"}, "positive"},
		{[]string{"--drain-timeout", "-1s", "--listen", "127.0.0.1:0"}, "--drain-timeout"},
		{[]string{"--node-id", "a", "--listen", "127.0.0.1:0"}, "need --nats"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--node-id", "a.b", "--listen", "127.0.0.1:0"}, "--node-id"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--scenes", "x,,y", "--listen", "127.0.0.1:0"}, "--scenes"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if err := run(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
