package signaling

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/pion/sdp/v3"
)

// filterCandidates enforces the ICE candidate rules on an offer: at most
// maxCandidates a=candidate lines (0: no limit), and no candidate whose
// address the node must not send to. Those are removed from the offer:
// loopback ones (unless allowLoopback), link-local, multicast, unspecified
// (and 0.0.0.0/8) and broadcast addresses, host names other than mDNS
// ones (*.local) and lines that do not parse. It returns the offer without
// them and how many were removed; an offer left with none of the
// candidates it had is refused (ErrForbiddenCandidates). Every other line
// is kept byte for byte.
func filterCandidates(offer string, maxCandidates int, allowLoopback bool) (string, int, error) {
	// Count and judge on the offer as WebRTC will parse it, whatever its
	// line endings.
	all, err := parsedCandidates(offer)
	if err != nil {
		return "", 0, err
	}
	total := len(all)
	if maxCandidates > 0 && total > maxCandidates {
		return "", 0, fmt.Errorf("%w: the offer has %d a=candidate lines, this node accepts at most %d", ErrTooManyCandidates, total, maxCandidates)
	}
	forbidden, first := 0, ""
	for _, v := range all {
		if addr, why := candidateVerdict(v, allowLoopback); why != "" {
			if forbidden == 0 {
				first = addr + " (" + why + ")"
			}
			forbidden++
		}
	}
	switch forbidden {
	case 0:
		return offer, 0, nil
	case total:
		return "", 0, fmt.Errorf("%w: all %d ICE candidates were refused, e.g. %s; a client must offer an address this node may reach", ErrForbiddenCandidates, total, first)
	}
	var b strings.Builder
	b.Grow(len(offer))
	for _, l := range strings.SplitAfter(offer, "\n") {
		if v, ok := candidateLine(l); ok {
			if _, why := candidateVerdict(v, allowLoopback); why != "" {
				continue
			}
		}
		b.WriteString(l)
	}
	out := b.String()
	// What is left must parse, with no forbidden candidate left over (a
	// line the parser splits differently, e.g. at a bare CR).
	left, err := parsedCandidates(out)
	if err != nil {
		return "", 0, err
	}
	for _, v := range left {
		if addr, why := candidateVerdict(v, allowLoopback); why != "" {
			return "", 0, fmt.Errorf("%w: candidate %s (%s) could not be removed", ErrForbiddenCandidates, addr, why)
		}
	}
	return out, total - len(left), nil
}

// candidateLine returns the value of an a=candidate line (with its line
// ending) as the SDP parser reads it: leading CRs are skipped, the
// attribute name runs to the first ':' or the end of the line.
func candidateLine(l string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(l, "\r"), "a=candidate")
	if !ok {
		return "", false
	}
	if v, ok := strings.CutPrefix(rest, ":"); ok {
		return v, true
	}
	return "", strings.TrimRight(rest, "\r\n") == ""
}

// parsedCandidates returns the values of the a=candidate attributes of an
// offer, session and media level, as the SDP parser WebRTC uses sees them.
func parsedCandidates(offer string) ([]string, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedSDP, err)
	}
	var out []string
	add := func(attrs []sdp.Attribute) {
		for _, a := range attrs {
			if a.Key == "candidate" {
				out = append(out, a.Value)
			}
		}
	}
	add(d.Attributes)
	for _, m := range d.MediaDescriptions {
		add(m.Attributes)
	}
	return out, nil
}

// candidateVerdict returns the connection address of a candidate (the
// value of an a=candidate attribute) and, if the node must not use it,
// why ("" if it may).
func candidateVerdict(value string, allowLoopback bool) (addr, why string) {
	// foundation component transport priority address port typ type ...
	f := strings.Fields(value)
	if len(f) < 8 || f[6] != "typ" {
		return "?", "malformed"
	}
	addr = f[4]
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		if h := strings.ToLower(strings.TrimSuffix(addr, ".")); strings.HasSuffix(h, ".local") && len(h) > len(".local") {
			return addr, "" // an mDNS name; its resolution is filtered by the node's ICE settings
		}
		return addr, "host name other than mDNS .local"
	}
	return addr, ForbiddenAddress(ip, allowLoopback)
}

// ForbiddenAddress says why the node must not send to ip as an ICE
// candidate ("" if it may): loopback (unless allowLoopback), link-local,
// multicast, unspecified (or in 0.0.0.0/8) or broadcast. The node applies
// it to the candidates of every offer and, through its WebRTC settings, to
// every remote candidate ICE takes up (mDNS names once resolved).
func ForbiddenAddress(ip netip.Addr, allowLoopback bool) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return ""
		}
		return "loopback"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.IsUnspecified(), ip.Is4() && ip.As4()[0] == 0:
		return "unspecified"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	return ""
}

// clientKey is what the per-client cap counts by: the host of an
// http.Request.RemoteAddr, an IPv6 address by its /64 prefix (one
// subscriber's usual allocation), an IPv4-mapped one as IPv4.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
