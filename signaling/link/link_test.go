package link_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/holocast/holocast/signaling/link"
)

func TestHeaderRoundTrip(t *testing.T) {
	servers := []link.ICEServer{
		{URL: "stun:stun.example.net:3478"},
		{URL: "turn:turn.example.net:3478?transport=udp", Username: "1900000000:ab12", Credential: "c2VjcmV0Lw=="},
		{URL: "turns:turn.example.net:5349?transport=tcp", Username: `we"ird\user`, Credential: "p;w,d"},
	}
	var values []string
	for _, s := range servers {
		values = append(values, s.Header())
	}
	if want := `<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="1900000000:ab12"; credential="c2VjcmV0Lw=="; credential-type="password"`; values[1] != want {
		t.Errorf("Header = %s\nwant     %s", values[1], want)
	}
	for _, joined := range [][]string{values, {strings.Join(values, ", ")}} {
		got, err := link.Parse(joined)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, servers) {
			t.Errorf("Parse(%q) = %+v, want %+v", joined, got, servers)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []link.ICEServer
		err    bool
	}{
		{"none", nil, nil, false},
		{"other relations skipped", []string{`<https://example.net/x>; rel="next", <stun:s.example>; rel=ice-server`}, []link.ICEServer{{URL: "stun:s.example"}}, false},
		{"rel list", []string{`<stun:s.example>; rel="foo ICE-SERVER"`}, []link.ICEServer{{URL: "stun:s.example"}}, false},
		{"spaces and empty elements", []string{` , <stun:s.example> ;rel = "ice-server"  ,`}, []link.ICEServer{{URL: "stun:s.example"}}, false},
		{"first parameter wins", []string{`<turn:t.example>; rel="ice-server"; username="a"; username="b"; credential=c`}, []link.ICEServer{{URL: "turn:t.example", Username: "a", Credential: "c"}}, false},
		{"comma in a quoted value", []string{`<turn:t.example>; rel="ice-server"; username="a,b"; credential="x"`}, []link.ICEServer{{URL: "turn:t.example", Username: "a,b", Credential: "x"}}, false},
		{"not a STUN or TURN URI", []string{`<https://evil.example>; rel="ice-server"`}, nil, true},
		{"oauth credential type", []string{`<turn:t.example>; rel="ice-server"; credential-type="oauth"`}, nil, true},
		{"no angle brackets", []string{`stun:s.example; rel="ice-server"`}, nil, true},
		{"unterminated target", []string{`<stun:s.example; rel="ice-server"`}, nil, true},
		{"unterminated quote", []string{`<stun:s.example>; rel="ice-server`}, nil, true},
		{"garbage after target", []string{`<stun:s.example> x; rel="ice-server"`}, nil, true},
		{"empty parameter name", []string{`<stun:s.example>; ="ice-server"`}, nil, true},
		{"too many", []string{strings.Repeat(`<stun:s.example>; rel="ice-server", `, link.MaxServers+1)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := link.Parse(tt.values)
			if tt.err {
				if !errors.Is(err, link.ErrBad) {
					t.Errorf("Parse = %+v, %v; want an error wrapping ErrBad", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzParse: Parse never panics on what a node may send, returns at most
// MaxServers STUN/TURN servers, and what it returns formats and parses
// back to itself.
func FuzzParse(f *testing.F) {
	f.Add(`<turn:t.example:3478?transport=udp>; rel="ice-server"; username="1:a"; credential="x"; credential-type="password"`)
	f.Add(`<stun:s.example>; rel=ice-server, <https://x>; rel=next`)
	f.Add(`<stun:s>; rel="ice-server"; username="a\"b\\c"`)
	f.Add(` , <`)
	f.Fuzz(func(t *testing.T, v string) {
		got, err := link.Parse([]string{v})
		if err != nil {
			if !errors.Is(err, link.ErrBad) {
				t.Fatalf("error %v does not wrap ErrBad", err)
			}
			return
		}
		if len(got) > link.MaxServers {
			t.Fatalf("%d servers", len(got))
		}
		var again []string
		for _, s := range got {
			scheme, _, _ := strings.Cut(strings.ToLower(s.URL), ":")
			if scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns" {
				t.Fatalf("server %q is not STUN or TURN", s.URL)
			}
			again = append(again, s.Header())
		}
		back, err := link.Parse(again)
		if err != nil || len(back) != len(got) {
			t.Fatalf("formatted %q does not parse back: %v", again, err)
		}
		for i := range got {
			// A credential-less TURN server formats without parameters.
			if back[i] != got[i] {
				t.Fatalf("round trip %+v -> %+v", got[i], back[i])
			}
		}
	})
}

func ExampleParse() {
	servers, err := link.Parse([]string{
		`<stun:stun.example.net>; rel="ice-server"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="1900000000:s1"; credential="c2VjcmV0"; credential-type="password"`,
	})
	fmt.Println(err)
	for _, s := range servers {
		fmt.Printf("%s %q %q\n", s.URL, s.Username, s.Credential)
	}
	// Output:
	// <nil>
	// stun:stun.example.net "" ""
	// turn:turn.example.net?transport=udp "1900000000:s1" "c2VjcmV0"
}
