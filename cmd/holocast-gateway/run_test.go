package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestRunServes runs the command against a real NATS server with no node:
// the ops listener is ready, the browser client is served at "/", an
// offer gets 503 with Retry-After, and SIGTERM stops it cleanly.
func TestRunServes(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })

	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"--listen", "127.0.0.1:0", "--insecure-http", "--auth", "none", "--ops-listen", "127.0.0.1:0",
			"--nats", ns.ClientURL(), "--log-level", "error"}, func(public, ops net.Addr) { addrs <- [2]net.Addr{public, ops} })
	}()
	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not start")
	}
	get := func(url string) (int, http.Header, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	if code, _, body := get("http://" + a[1].String() + "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, _, body := get("http://" + a[1].String() + "/v1/nodes"); code != http.StatusOK || !strings.Contains(body, `"nodes":[]`) {
		t.Errorf("/v1/nodes: %d %q", code, body)
	}
	if code, hdr, body := get("http://" + a[0].String() + "/"); code != http.StatusOK || hdr.Get("Content-Security-Policy") == "" || !strings.Contains(body, "<html") {
		t.Errorf("GET /: %d CSP %q", code, hdr.Get("Content-Security-Policy"))
	}
	resp, err := http.Post("http://"+a[0].String()+"/v1/sessions", "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("offer with no node: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not stop on SIGTERM")
	}
}
