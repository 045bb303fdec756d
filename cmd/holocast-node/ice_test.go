package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/node"
)

// TestICEFlags: the ICE flags reach node.Config, and conflicting or bad
// values are refused with an error that names the flag.
func TestICEFlags(t *testing.T) {
	parse := func(env map[string]string, args ...string) (node.Config, error) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := addICEFlags(fs)
		if err := fs.Parse(args); err != nil {
			return node.Config{}, err
		}
		var cfg node.Config
		return cfg, f.apply(&cfg, func(k string) string { return env[k] })
	}
	cfg, err := parse(nil, "--udp-port", "3478", "--tcp-port", "3479", "--ice-interface", "lo", "--ice-ipv6=false",
		"--nat-ip", "203.0.113.7,198.51.100.9/10.0.0.9", "--ice-server", "stun:stun.example.org:3478",
		"--ice-server", "turn:turn.example.org:3478?transport=udp", "--turn-secret", "0123456789abcdef", "--turn-ttl", "2h")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UDPPort != 3478 || cfg.TCPPort != 3479 || len(cfg.ICEInterfaces) != 1 || cfg.ICEInterfaces[0] != "lo" || !cfg.NoIPv6 ||
		strings.Join(cfg.NAT1To1IPs, ",") != "203.0.113.7,198.51.100.9/10.0.0.9" || len(cfg.ICEServers) != 2 ||
		string(cfg.TURNSecret) != "0123456789abcdef" || cfg.TURNTTL != 2*time.Hour {
		t.Errorf("config: %+v", cfg)
	}
	cfg, err = parse(map[string]string{envTURNSecret: "secret-from-the-environment"}, "--ice-server", "turns:turn.example.org:5349")
	if err != nil || string(cfg.TURNSecret) != "secret-from-the-environment" || cfg.TURNTTL != node.DefaultTURNTTL {
		t.Errorf("secret from %s: %v %+v", envTURNSecret, err, cfg)
	}
	cfg, err = parse(nil, "--udp-ports", "40000-40099", "--ice-server", "turn:t.example.org", "--ice-username", "u", "--ice-credential", "c")
	if err != nil || cfg.UDPPortMin != 40000 || cfg.UDPPortMax != 40099 || cfg.ICEServers[0].Username != "u" || cfg.ICEServers[0].Credential != "c" || cfg.TURNSecret != nil {
		t.Errorf("range and static TURN credentials: %v %+v", err, cfg)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--udp-port", "3478", "--udp-ports", "40000-40010"}, "exclude each other"},
		{[]string{"--udp-port", "70000"}, "--udp-port 70000"},
		{[]string{"--tcp-port", "-1"}, "--tcp-port -1"},
		{[]string{"--udp-port", "udp"}, "invalid value"},
		{[]string{"--udp-ports", "9-1"}, "--udp-ports"},
		{[]string{"--udp-ports", "0-10"}, "--udp-ports"},
		{[]string{"--nat-ip", "203.0.113.7,public"}, `--nat-ip "public"`},
		{[]string{"--nat-ip", "203.0.113.7/private"}, "local address"},
		{[]string{"--ice-interface", "nosuch0"}, `--ice-interface "nosuch0"`},
		{[]string{"--ice-server", "http://example.org"}, "--ice-server"},
		{[]string{"--turn-secret", "0123456789abcdef"}, "needs a TURN server"},
		{[]string{"--turn-secret", "0123456789abcdef", "--ice-server", "stun:s.example.org"}, "needs a TURN server"},
		{[]string{"--turn-secret", "short", "--ice-server", "turn:t.example.org"}, "at least 16 bytes"},
		{[]string{"--turn-secret", "0123456789abcdef", "--ice-server", "turn:t.example.org", "--ice-username", "u"}, "drop --ice-username"},
		{[]string{"--turn-secret", "0123456789abcdef", "--ice-server", "turn:t.example.org", "--turn-ttl", "10s"}, "--turn-ttl"},
	} {
		if _, err := parse(nil, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want it to mention %q", tt.args, err, tt.want)
		}
	}
}

// TestREADMEFlags: README's "holocast-node flags" block is the output of
// --help (with the user's configuration directory written as ~/.config).
func TestREADMEFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "```\nUsage: holocast-node [flags]\n"
	i := bytes.Index(readme, []byte(start))
	if i < 0 {
		t.Fatal("README has no holocast-node flags block")
	}
	block := readme[i+len("```\n"):]
	block = block[:bytes.Index(block, []byte("```"))]

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	err = run([]string{"-help"})
	os.Stderr = stderr
	_ = w.Close()
	help, _ := io.ReadAll(r)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -help: %v", err)
	}
	if d, err := os.UserConfigDir(); err == nil {
		help = bytes.ReplaceAll(help, []byte(filepath.Join(d, "holocast")), []byte("~/.config/holocast"))
	}
	if !bytes.Equal(help, block) {
		t.Errorf("README's flags block differs from --help; regenerate it:\n%s", help)
	}
}
