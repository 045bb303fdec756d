package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/holocast/holocast/signaling/link"
	"github.com/holocast/holocast/turnrest"
)

// envTURNSecret is read when --turn-secret is not given.
const envTURNSecret = "HOLOCAST_TURN_SECRET"

// iceFlags are the STUN/TURN servers the gateway tells clients itself,
// with the semantics of the node's flags of the same names.
type iceFlags struct {
	servers              listFlag
	username, credential string
	turnSecret           string
	turnTTL              time.Duration
}

func addICEFlags(fs *flag.FlagSet) *iceFlags {
	f := &iceFlags{}
	fs.Var(&f.servers, "ice-server", "STUN/TURN `URL` to tell clients in Link headers, e.g. stun:stun.example.org:3478 or turn:turn.example.org:3478?transport=udp (repeatable): on OPTIONS /v1/sessions with an accepted credential, and on a 201 whose node names none (a node's own ICE servers are relayed)")
	fs.StringVar(&f.username, "ice-username", "", "static username for TURN servers in --ice-server")
	fs.StringVar(&f.credential, "ice-credential", "", "static credential for TURN servers in --ice-server")
	fs.StringVar(&f.turnSecret, "turn-secret", "", "`secret` shared with the TURN servers (coturn use-auth-secret/static-auth-secret), at least 16 bytes (or env "+envTURNSecret+"): clients get time-limited TURN credentials minted from it")
	fs.DurationVar(&f.turnTTL, "turn-ttl", turnrest.DefaultTTL, "lifetime of the TURN credentials minted with --turn-secret")
	return f
}

// iceServers checks the flags and returns what GatewayOptions.ICEServers
// wants: nil without --ice-server.
func (f *iceFlags) iceServers(getenv func(string) string) (func(id string) []link.ICEServer, error) {
	secret := f.turnSecret
	if secret == "" {
		secret = getenv(envTURNSecret)
	}
	hasTURN := false
	for _, u := range f.servers {
		if back, err := link.Parse([]string{link.ICEServer{URL: u}.Header()}); err != nil || len(back) != 1 || back[0].URL != u {
			return nil, fmt.Errorf("--ice-server %q: want a stun:, stuns:, turn: or turns: URI", u)
		}
		hasTURN = hasTURN || turnrest.IsTURN(u)
	}
	switch {
	case len(f.servers) == 0:
		if secret != "" && f.turnSecret != "" || f.username != "" || f.credential != "" {
			return nil, errors.New("--turn-secret, --ice-username and --ice-credential need --ice-server")
		}
		return nil, nil
	case secret == "":
	case f.username != "" || f.credential != "":
		return nil, errors.New("--turn-secret mints the TURN credentials: drop --ice-username and --ice-credential")
	case len(secret) < turnrest.MinSecret:
		return nil, fmt.Errorf("--turn-secret (or %s): at least %d bytes", envTURNSecret, turnrest.MinSecret)
	case !hasTURN:
		return nil, errors.New("--turn-secret needs a TURN server: --ice-server turn:HOST:PORT")
	case f.turnTTL < time.Minute:
		return nil, fmt.Errorf("--turn-ttl %s: at least 1m", f.turnTTL)
	}
	servers, user, cred, ttl := []string(f.servers), f.username, f.credential, f.turnTTL
	return func(id string) []link.ICEServer {
		out := make([]link.ICEServer, 0, len(servers))
		for _, u := range servers {
			s := link.ICEServer{URL: u}
			if turnrest.IsTURN(u) {
				s.Username, s.Credential = user, cred
				if secret != "" {
					// A session's Location segment is NODE.SESSION: no ':'.
					if id == "" || strings.Contains(id, ":") {
						id = "holocast"
					}
					// New fails only for a short secret, refused above.
					s.Username, s.Credential, _ = turnrest.New([]byte(secret), id, time.Now().Add(ttl))
				}
			}
			out = append(out, s)
		}
		return out
	}, nil
}
