package signaling

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// offerWith is videoOffer with the given a=candidate values appended to
// its video m-line.
func offerWith(cands ...string) string {
	var b strings.Builder
	b.WriteString(videoOffer)
	for _, c := range cands {
		b.WriteString("a=candidate:" + c + "\r\n")
	}
	return b.String()
}

func host(addr string) string {
	return fmt.Sprintf("1 1 udp 2130706431 %s 50000 typ host", addr)
}

func TestFilterCandidates(t *testing.T) {
	relay := "3 1 udp 16777215 203.0.113.9 3478 typ relay raddr 127.0.0.1 rport 9"
	tests := []struct {
		name          string
		offer         string
		max           int
		allowLoopback bool
		want          error
		removed       int
		keep, drop    []string
	}{
		{"no candidates", videoOffer, 20, false, nil, 0, nil, nil},
		{"public and private addresses", offerWith(host("192.0.2.7"), host("10.1.2.3"), host("2001:db8::1"), relay), 20, false, nil, 0,
			[]string{"192.0.2.7", "10.1.2.3", "2001:db8::1", "203.0.113.9"}, nil},
		{"mDNS name", offerWith(host("0b5c4f0e-6f4e-4d3a-9d2c-1a2b3c4d5e6f.local")), 20, false, nil, 0, []string{".local"}, nil},
		{"20 is the limit", offerWith(repeat(host("192.0.2.7"), 20)...), 20, false, nil, 0, nil, nil},
		{"21 are too many", offerWith(repeat(host("192.0.2.7"), 21)...), 20, false, ErrTooManyCandidates, 0, nil, nil},
		{"no limit", offerWith(repeat(host("192.0.2.7"), 50)...), 0, false, nil, 0, nil, nil},
		{"loopback among good ones is removed", offerWith(host("127.0.0.1"), host("::1"), host("192.0.2.7")), 20, false, nil, 2,
			[]string{"192.0.2.7"}, []string{"127.0.0.1", "::1"}},
		{"link-local, multicast, unspecified, broadcast, mapped loopback removed",
			offerWith(host("169.254.1.1"), host("fe80::1"), host("224.0.0.251"), host("ff02::1"), host("0.0.0.0"), host("255.255.255.255"), host("::ffff:127.0.0.1"), host("198.51.100.1")),
			20, false, nil, 7, []string{"198.51.100.1"}, []string{"169.254", "fe80", "224.0", "ff02", "0.0.0.0", "255.255", "::ffff"}},
		{"host names other than mDNS removed", offerWith(host("localhost"), host("metadata.internal"), host(".local"), host("192.0.2.7")), 20, false, nil, 3,
			[]string{"192.0.2.7"}, []string{"localhost", "metadata", " .local"}},
		{"malformed candidate removed", offerWith("1 1 udp 1 192.0.2.7", host("192.0.2.8")), 20, false, nil, 1, []string{"192.0.2.8"}, []string{"192.0.2.7"}},
		{"only loopback is refused", offerWith(host("127.0.0.1"), host("::1")), 20, false, ErrForbiddenCandidates, 0, nil, nil},
		{"loopback allowed on a loopback node", offerWith(host("127.0.0.1"), host("::1")), 20, true, nil, 0, []string{"127.0.0.1", "::1"}, nil},
		{"link-local refused on a loopback node too", offerWith(host("127.0.0.1"), host("fe80::1")), 20, true, nil, 1, []string{"127.0.0.1"}, []string{"fe80"}},
		{"candidate hidden behind a bare CR is still seen", videoOffer + "\ra=candidate:" + host("127.0.0.1") + "\r\n", 20, false, ErrForbiddenCandidates, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, removed, err := filterCandidates(tt.offer, tt.max, tt.allowLoopback)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if removed != tt.removed {
				t.Errorf("removed %d, want %d", removed, tt.removed)
			}
			for _, k := range tt.keep {
				if !strings.Contains(out, k) {
					t.Errorf("%q was removed", k)
				}
			}
			cands, _ := parsedCandidates(out)
			for _, d := range tt.drop {
				if strings.Contains(strings.Join(cands, "\n"), d) {
					t.Errorf("%q is still in the offer:\n%s", d, out)
				}
			}
			if err := checkOffer(out); err != nil {
				t.Errorf("filtered offer no longer passes checkOffer: %v", err)
			}
			if tt.removed == 0 && out != tt.offer {
				t.Error("an offer with nothing to remove was changed")
			}
		})
	}
	_, _, err := filterCandidates(offerWith(repeat(host("192.0.2.7"), 21)...), 20, false)
	if err == nil || !strings.Contains(err.Error(), "at most 20") || !strings.Contains(err.Error(), "21") {
		t.Errorf("candidate limit error does not name the limit and the count: %v", err)
	}
	_, _, err = filterCandidates(offerWith(host("127.0.0.1")), 20, false)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1 (loopback)") {
		t.Errorf("refusal does not name the address and the rule: %v", err)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestClientKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.7:5000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:1", "fe80::/64"},
		{"pipe", "pipe"},
	}
	for _, tt := range tests {
		if got := clientKey(tt.in); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestForbiddenAddress(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.5": "loopback", "::1": "loopback", "169.254.169.254": "link-local", "fe80::9": "link-local",
		"239.1.1.1": "multicast", "ff05::2": "multicast", "0.1.2.3": "unspecified", "::": "unspecified",
		"255.255.255.255": "broadcast", "10.0.0.1": "", "100.64.0.1": "", "2001:db8::5": "", "::ffff:169.254.1.1": "link-local",
	} {
		if got := ForbiddenAddress(netip.MustParseAddr(addr), false); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
	if got := ForbiddenAddress(netip.MustParseAddr("127.0.0.1"), true); got != "" {
		t.Errorf("loopback on a loopback node: %q", got)
	}
}

// FuzzFilterCandidates: arbitrary offers never panic the candidate check,
// and what it lets through has no forbidden candidate, no more candidates
// than the limit, and nothing it did not get.
func FuzzFilterCandidates(f *testing.F) {
	f.Add(offerWith(host("192.0.2.7"), host("127.0.0.1")), false)
	f.Add(offerWith(host("x.local"), host("fe80::1%eth0")), true)
	f.Add(videoOffer+"\ra=candidate:"+host("::1")+"\r\n", false)
	f.Add("v=0\r\n", false)
	f.Fuzz(func(t *testing.T, offer string, loopback bool) {
		out, removed, err := filterCandidates(offer, 5, loopback)
		if err != nil {
			return
		}
		if removed == 0 && out != offer {
			t.Fatal("changed an offer without removing anything")
		}
		if len(out) > len(offer) {
			t.Fatal("the filtered offer grew")
		}
		left, err := parsedCandidates(out)
		if err != nil {
			t.Fatalf("filtered offer does not parse: %v", err)
		}
		if len(left) > 5 {
			t.Fatalf("%d candidates let through, limit 5", len(left))
		}
		for _, v := range left {
			if addr, why := candidateVerdict(v, loopback); why != "" {
				t.Fatalf("forbidden candidate %s (%s) let through", addr, why)
			}
		}
	})
}
