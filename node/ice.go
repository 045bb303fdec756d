package node

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/holocast/holocast/signaling"
	"github.com/holocast/holocast/signaling/link"
	"github.com/holocast/holocast/turnrest"
)

// DefaultTURNTTL is how long the TURN credentials minted with
// Config.TURNSecret are valid when Config.TURNTTL is 0.
const DefaultTURNTTL = turnrest.DefaultTTL

// tcpMuxReadBuffer is how many ICE-TCP packets pion buffers per
// connection before the session reads them.
const tcpMuxReadBuffer = 64

// iceSockets are the sockets every session's ICE shares: the UDP mux of
// Config.UDPPort and the ICE-TCP listener of Config.TCPPort. The node
// owns them and closes them after its sessions.
type iceSockets struct {
	udp  *ice.MultiUDPMuxDefault
	tcp  ice.TCPMux
	once sync.Once
}

// Close closes the shared sockets; it is idempotent.
func (s *iceSockets) Close() error {
	var err error
	s.once.Do(func() {
		if s.udp != nil {
			err = s.udp.Close()
		}
		if s.tcp != nil {
			err = errors.Join(err, s.tcp.Close())
		}
	})
	return err
}

// iceFamilies returns the IP families ICE gathers in: IPv4 and, unless
// cfg.NoIPv6, IPv6; with NAT1To1IPs only the families of those addresses,
// so that no interface address of another family is announced beside
// them.
func iceFamilies(cfg Config) (v4, v6 bool, err error) {
	v4, v6 = true, !cfg.NoIPv6
	if len(cfg.NAT1To1IPs) > 0 {
		var nat4, nat6 bool
		for _, e := range cfg.NAT1To1IPs {
			ext, local, hasLocal := strings.Cut(e, "/")
			a, err := netip.ParseAddr(ext)
			if err != nil {
				return false, false, fmt.Errorf("node: NAT 1:1 address %q: want an IP address, or EXTERNAL/LOCAL", e)
			}
			if hasLocal {
				l, err := netip.ParseAddr(local)
				if err != nil || l.Unmap().Is4() != a.Unmap().Is4() {
					return false, false, fmt.Errorf("node: NAT 1:1 address %q: the local address must be an IP address of the same family", e)
				}
			}
			if a.Unmap().Is4() {
				nat4 = true
			} else {
				nat6 = true
			}
		}
		v4, v6 = v4 && nat4, v6 && nat6
	}
	if !v4 && !v6 {
		return false, false, errors.New("node: no IP family left for ICE: the NAT 1:1 addresses are all IPv6 and IPv6 is off")
	}
	return v4, v6, nil
}

// configureICE applies the node's ICE settings to se: IP families,
// interfaces, NAT 1:1 addresses, the UDP port range or the one shared UDP
// port, ICE-TCP on one port. It returns the shared sockets it opened (the
// caller closes them), or an error that names the setting.
func configureICE(se *webrtc.SettingEngine, cfg Config) (*iceSockets, error) {
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 || cfg.TCPPort < 0 || cfg.TCPPort > 65535 {
		return nil, fmt.Errorf("node: ICE ports %d (UDP) and %d (TCP): want 1 to 65535, or 0 for none", cfg.UDPPort, cfg.TCPPort)
	}
	if cfg.UDPPort != 0 && (cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0) {
		return nil, errors.New("node: one UDP port (UDPPort) and a UDP port range (UDPPortMin, UDPPortMax) exclude each other")
	}
	v4, v6, err := iceFamilies(cfg)
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.ICEInterfaces {
		if _, err := net.InterfaceByName(name); err != nil {
			return nil, fmt.Errorf("node: ICE interface %q: %w", name, err)
		}
	}
	var udpTypes, types []webrtc.NetworkType
	if v4 {
		udpTypes = append(udpTypes, webrtc.NetworkTypeUDP4)
	}
	if v6 {
		udpTypes = append(udpTypes, webrtc.NetworkTypeUDP6)
	}
	types = append(types, udpTypes...)
	if cfg.TCPPort != 0 {
		if v4 {
			types = append(types, webrtc.NetworkTypeTCP4)
		}
		if v6 {
			types = append(types, webrtc.NetworkTypeTCP6)
		}
	}
	se.SetNetworkTypes(types)
	var ifaceFilter func(string) bool
	if len(cfg.ICEInterfaces) > 0 {
		ifaceFilter = func(name string) bool { return slices.Contains(cfg.ICEInterfaces, name) }
		se.SetInterfaceFilter(ifaceFilter)
	}
	ipFilter := func(ip net.IP) bool {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return false
		}
		a = a.Unmap()
		return !a.IsLinkLocalUnicast() && (a.Is4() && v4 || a.Is6() && v6)
	}
	se.SetIPFilter(ipFilter)
	// The node never dials TCP to addresses a client offers: clients
	// connect to its passive ICE-TCP candidates.
	se.DisableActiveTCP(true)
	if len(cfg.NAT1To1IPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("node: NAT 1:1 addresses: %w", err)
		}
	}
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("node: UDP port range: %w", err)
		}
	}
	socks := &iceSockets{}
	logger := pionLoggerFactory{cfg.Logger}.NewLogger("ice")
	if cfg.UDPPort != 0 {
		opts := []ice.UDPMuxFromPortOption{
			ice.UDPMuxFromPortWithIPFilter(ipFilter), ice.UDPMuxFromPortWithNetworks(toICE(udpTypes)...),
			ice.UDPMuxFromPortWithLogger(logger),
		}
		if ifaceFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(ifaceFilter))
		}
		mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, opts...)
		if err != nil {
			return nil, fmt.Errorf("node: ICE UDP port %d: %w", cfg.UDPPort, err)
		}
		if len(mux.GetListenAddresses()) == 0 {
			_ = mux.Close()
			return nil, fmt.Errorf("node: ICE UDP port %d: no interface address to listen on (check the ICE interfaces and IP families)", cfg.UDPPort)
		}
		socks.udp = mux
		se.SetICEUDPMux(mux)
	}
	if cfg.TCPPort != 0 {
		network := "tcp"
		switch {
		case !v6:
			network = "tcp4"
		case !v4:
			network = "tcp6"
		}
		ln, err := net.Listen(network, ":"+strconv.Itoa(cfg.TCPPort))
		if err != nil {
			_ = socks.Close()
			return nil, fmt.Errorf("node: ICE TCP port %d: %w", cfg.TCPPort, err)
		}
		socks.tcp = webrtc.NewICETCPMux(logger, ln, tcpMuxReadBuffer)
		se.SetICETCPMux(socks.tcp)
	}
	return socks, nil
}

func toICE(types []webrtc.NetworkType) []ice.NetworkType {
	out := make([]ice.NetworkType, 0, len(types))
	for _, t := range types {
		switch t {
		case webrtc.NetworkTypeUDP4:
			out = append(out, ice.NetworkTypeUDP4)
		case webrtc.NetworkTypeUDP6:
			out = append(out, ice.NetworkTypeUDP6)
		}
	}
	return out
}

// peerICEServers returns the ICE servers of the node's own peer connection
// for session id: none behind 1:1 NAT (its host candidates are exactly
// the NAT addresses), else Config.ICEServers, with fresh TURN credentials
// when Config.TURNSecret is set.
func (n *Node) peerICEServers(id string) []webrtc.ICEServer {
	if len(n.cfg.NAT1To1IPs) > 0 {
		return nil
	}
	if len(n.cfg.TURNSecret) == 0 {
		return n.cfg.ICEServers
	}
	var out []webrtc.ICEServer
	for _, s := range n.clientICEServers(id) {
		out = append(out, webrtc.ICEServer{URLs: []string{s.URL}, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// clientICEServers returns Config.ICEServers for a client
// (signaling.Options.ICEServers), one per URL: a TURN one with time-limited
// credentials minted for id when Config.TURNSecret is set.
func (n *Node) clientICEServers(id string) []link.ICEServer {
	var out []link.ICEServer
	now := time.Now()
	for _, s := range n.cfg.ICEServers {
		for _, u := range s.URLs {
			srv := link.ICEServer{URL: u}
			if turnrest.IsTURN(u) {
				srv.Username = s.Username
				srv.Credential, _ = s.Credential.(string) // holocast-node sets strings only
				if len(n.cfg.TURNSecret) > 0 {
					if id == "" {
						id = "holocast"
					}
					// New fails only for a short secret (checkTURN refuses it) or an id with ':' (session ids are hex).
					srv.Username, srv.Credential, _ = turnrest.New(n.cfg.TURNSecret, id, now.Add(n.cfg.TURNTTL))
				}
			}
			out = append(out, srv)
		}
	}
	return out
}

// checkTURN checks the TURN settings of cfg and fills in the TTL.
func checkTURN(cfg *Config) error {
	if len(cfg.TURNSecret) == 0 {
		return nil
	}
	if len(cfg.TURNSecret) < turnrest.MinSecret {
		return fmt.Errorf("node: TURN secret: at least %d bytes", turnrest.MinSecret)
	}
	if cfg.TURNTTL == 0 {
		cfg.TURNTTL = DefaultTURNTTL
	}
	if cfg.TURNTTL < time.Minute {
		return fmt.Errorf("node: TURN credential lifetime %s: at least a minute", cfg.TURNTTL)
	}
	for _, s := range cfg.ICEServers {
		for _, u := range s.URLs {
			if turnrest.IsTURN(u) {
				return nil
			}
		}
	}
	return errors.New("node: a TURN secret needs a turn: or turns: ICE server to mint credentials for")
}

// candidate is what the usability check needs of an ICE candidate.
type candidate struct {
	transport string // "udp" or "tcp"
	family    int    // 4, 6, or 0 for a host name (mDNS)
}

// candidates returns the ICE candidates of an SDP, session and media level.
func candidates(desc string) ([]candidate, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(desc); err != nil {
		return nil, err
	}
	var out []candidate
	add := func(attrs []sdp.Attribute) {
		for _, a := range attrs {
			if a.Key != "candidate" {
				continue
			}
			// foundation component transport priority address port typ type ...
			f := strings.Fields(a.Value)
			if len(f) < 8 {
				continue
			}
			c := candidate{transport: strings.ToLower(f[2])}
			if ip, err := netip.ParseAddr(f[4]); err == nil {
				c.family = 6
				if ip.Unmap().Is4() {
					c.family = 4
				}
			}
			out = append(out, c)
		}
	}
	add(d.Attributes)
	for _, m := range d.MediaDescriptions {
		add(m.Attributes)
	}
	return out, nil
}

// checkCandidates makes sure a session's answer gives the client
// something to connect to: at least one ICE candidate and, when the offer
// carries candidates, one of the same transport and IP family as one of
// them (a candidate of the client's pairs only with such a one of the
// node's). An offer without candidates (a client that connects over
// ICE-TCP actively, or only through peer-reflexive ones) needs only some
// candidate. The error wraps signaling.ErrNoCandidates.
func checkCandidates(offer, answer string) error {
	ours, err := candidates(answer)
	if err != nil {
		return fmt.Errorf("node: the answer does not parse: %w", err)
	}
	if len(ours) == 0 {
		return fmt.Errorf("%w: the node gathered no ICE candidate (every port of its UDP port range in use, or no interface address for ICE?)", signaling.ErrNoCandidates)
	}
	theirs, err := candidates(offer)
	if err != nil || len(theirs) == 0 {
		return nil //nolint:nilerr // the offer was checked before; without candidates any of ours may do
	}
	for _, o := range ours {
		for _, t := range theirs {
			if o.transport == t.transport && (o.family == 0 || t.family == 0 || o.family == t.family) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: the node's candidates (%s) share no transport and IP family with the offer's (%s)", signaling.ErrNoCandidates, describe(ours), describe(theirs))
}

// describe lists the distinct transport/family pairs of cs, e.g. "udp/IPv4, tcp/IPv6".
func describe(cs []candidate) string {
	var seen []string
	for _, c := range cs {
		s := c.transport + "/"
		switch c.family {
		case 4:
			s += "IPv4"
		case 6:
			s += "IPv6"
		default:
			s += "name"
		}
		if !slices.Contains(seen, s) {
			seen = append(seen, s)
		}
	}
	return strings.Join(seen, ", ")
}
