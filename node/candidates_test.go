package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/holocast/holocast/signaling"
)

// sdpWith is a minimal SDP with the given a=candidate values.
func sdpWith(cands ...string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n")
	for _, c := range cands {
		b.WriteString("a=candidate:" + c + "\r\n")
	}
	return b.String()
}

const (
	udp4   = "1 1 udp 2130706431 192.0.2.2 50000 typ host"
	udp6   = "2 1 udp 2130706431 2001:db8::2 50000 typ host"
	tcp4   = "3 1 tcp 1671430143 192.0.2.2 50001 typ host tcptype passive"
	mdns   = "4 1 udp 2130706431 0a1b2c3d.local 51000 typ host"
	active = "5 1 tcp 1518280447 198.51.100.20 9 typ host tcptype active"
	relay6 = "6 1 udp 41885439 2001:db8::9 3478 typ relay raddr :: rport 0"
)

func TestCheckCandidates(t *testing.T) {
	tests := []struct {
		name          string
		offer, answer []string
		want          string // "" for usable
	}{
		{"same transport and family", []string{udp4}, []string{udp4}, ""},
		{"offer without candidates", nil, []string{tcp4}, ""},
		{"mDNS name pairs with any family", []string{mdns}, []string{udp6}, ""},
		{"TCP client, ICE-TCP node", []string{active}, []string{udp4, tcp4}, ""},
		{"relayed IPv6 client, dual-stack node", []string{relay6}, []string{udp4, udp6}, ""},
		{"no candidate on the node", []string{udp4}, nil, "gathered no ICE candidate"},
		{"no candidate at all", nil, nil, "gathered no ICE candidate"},
		{"TCP client, no ICE-TCP", []string{active}, []string{udp4}, "share no transport and IP family with the offer's (tcp/IPv4)"},
		{"IPv6 client, IPv4 node", []string{udp6, relay6}, []string{udp4, tcp4}, "(udp/IPv4, tcp/IPv4) share no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCandidates(sdpWith(tt.offer...), sdpWith(tt.answer...))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (!errors.Is(err, signaling.ErrNoCandidates) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want ErrNoCandidates mentioning %q", err, tt.want)
			}
		})
	}
}

// FuzzCheckCandidates: the check reads the client's offer; whatever it
// holds, it never panics, and a refusal wraps ErrNoCandidates unless the
// answer itself does not parse.
func FuzzCheckCandidates(f *testing.F) {
	f.Add(sdpWith(udp4, active))
	f.Add(sdpWith("1 1 udp", mdns, relay6))
	f.Add("v=0\r\n")
	answer := sdpWith(udp4, tcp4)
	f.Fuzz(func(t *testing.T, offer string) {
		if err := checkCandidates(offer, answer); err != nil && !errors.Is(err, signaling.ErrNoCandidates) {
			t.Fatalf("error %v does not wrap ErrNoCandidates", err)
		}
	})
}
