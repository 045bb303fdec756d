package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/node"
	"github.com/holocast/holocast/turnrest"
)

// envTURNSecret is read when --turn-secret is not given.
const envTURNSecret = "HOLOCAST_TURN_SECRET"

// iceFlags are the flags of ICE: ports, interfaces, IP families, NAT
// addresses and the STUN/TURN servers (docs/operations.md, "Ports,
// firewalls, NAT and TURN").
type iceFlags struct {
	servers              listFlag
	username, credential string
	turnSecret           string
	turnTTL              time.Duration
	natIPs, udpPorts     string
	udpPort, tcpPort     int
	interfaces           listFlag
	ipv6                 bool
}

// addICEFlags defines the ICE flags on fs.
func addICEFlags(fs *flag.FlagSet) *iceFlags {
	f := &iceFlags{}
	fs.Var(&f.servers, "ice-server", "STUN/TURN `URL` for ICE, e.g. stun:stun.example.org:3478 or turn:turn.example.org:3478?transport=udp (repeatable); the node uses them and tells clients in Link headers")
	fs.StringVar(&f.username, "ice-username", "", "static username for TURN servers in --ice-server")
	fs.StringVar(&f.credential, "ice-credential", "", "static credential for TURN servers in --ice-server")
	fs.StringVar(&f.turnSecret, "turn-secret", "", "`secret` shared with the TURN servers (coturn use-auth-secret/static-auth-secret), at least 16 bytes (or env "+envTURNSecret+"): clients get time-limited TURN credentials minted from it")
	fs.DurationVar(&f.turnTTL, "turn-ttl", node.DefaultTURNTTL, "lifetime of the TURN credentials minted with --turn-secret")
	fs.StringVar(&f.natIPs, "nat-ip", "", "comma-separated public `IPs` to announce as the only ICE host candidates (node behind 1:1 NAT; EXTERNAL/LOCAL maps one local address); ICE then uses only their IP families")
	fs.StringVar(&f.udpPorts, "udp-ports", "", "ICE UDP port `range` MIN-MAX, a port per session and address (default: ephemeral); excludes --udp-port")
	fs.IntVar(&f.udpPort, "udp-port", 0, "serve every session's ICE on this one UDP `port` (0 = a port per session, see --udp-ports)")
	fs.IntVar(&f.tcpPort, "tcp-port", 0, "also offer ICE-TCP on this one TCP `port`, for clients whose network blocks UDP (0 = no ICE-TCP)")
	fs.Var(&f.interfaces, "ice-interface", "network interface `name` whose addresses ICE uses (repeatable); default all but loopback")
	fs.BoolVar(&f.ipv6, "ice-ipv6", true, "use IPv6 addresses for ICE (--ice-ipv6=false: IPv4 only)")
	return f
}

// apply checks the ICE flags and fills cfg; getenv reads the environment.
func (f *iceFlags) apply(cfg *node.Config, getenv func(string) string) error {
	if f.udpPort != 0 && f.udpPorts != "" {
		return errors.New("--udp-port and --udp-ports exclude each other: one UDP port for every session, or a range with a port per session")
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"--udp-port", f.udpPort}, {"--tcp-port", f.tcpPort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("%s %d: want a port from 1 to 65535 (0 = off)", p.name, p.v)
		}
	}
	cfg.UDPPort, cfg.TCPPort = f.udpPort, f.tcpPort
	if f.udpPorts != "" {
		lo, hi, ok := strings.Cut(f.udpPorts, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
			return fmt.Errorf("--udp-ports %q: want MIN-MAX, ports from 1 to 65535", f.udpPorts)
		}
		cfg.UDPPortMin, cfg.UDPPortMax = uint16(a), uint16(b)
	}
	if f.natIPs != "" {
		for _, e := range strings.Split(f.natIPs, ",") {
			ext, local, hasLocal := strings.Cut(e, "/")
			if _, err := netip.ParseAddr(ext); err != nil {
				return fmt.Errorf("--nat-ip %q: want IP addresses (or EXTERNAL/LOCAL), comma-separated", e)
			}
			if _, err := netip.ParseAddr(local); hasLocal && err != nil {
				return fmt.Errorf("--nat-ip %q: the local address after / is not an IP address", e)
			}
			cfg.NAT1To1IPs = append(cfg.NAT1To1IPs, e)
		}
	}
	for _, name := range f.interfaces {
		if _, err := net.InterfaceByName(name); err != nil {
			return fmt.Errorf("--ice-interface %q: no such network interface", name)
		}
	}
	cfg.ICEInterfaces = f.interfaces
	cfg.NoIPv6 = !f.ipv6

	secret := f.turnSecret
	if secret == "" {
		secret = getenv(envTURNSecret)
	}
	hasTURN := false
	for _, u := range f.servers {
		if _, err := stun.ParseURI(u); err != nil {
			return fmt.Errorf("--ice-server %q: %w", u, err)
		}
		hasTURN = hasTURN || turnrest.IsTURN(u)
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: []string{u}, Username: f.username, Credential: f.credential})
	}
	if secret != "" {
		switch {
		case f.username != "" || f.credential != "":
			return errors.New("--turn-secret mints the TURN credentials: drop --ice-username and --ice-credential")
		case len(secret) < turnrest.MinSecret:
			return fmt.Errorf("--turn-secret (or %s): at least %d bytes", envTURNSecret, turnrest.MinSecret)
		case !hasTURN:
			return errors.New("--turn-secret needs a TURN server: --ice-server turn:HOST:PORT")
		case f.turnTTL < time.Minute:
			return fmt.Errorf("--turn-ttl %s: at least 1m", f.turnTTL)
		}
		cfg.TURNSecret, cfg.TURNTTL = []byte(secret), f.turnTTL
	}
	return nil
}
