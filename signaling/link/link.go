// Package link formats and parses the WHEP/WHIP Link headers that tell a
// client which STUN and TURN servers to use: "Link: <URL>;
// rel=\"ice-server\"" with, for TURN, username, credential and
// credential-type parameters (RFC 9725 §4.6, link syntax of RFC 8288).
// The node writes them (package signaling); clients parse them.
package link

import (
	"errors"
	"fmt"
	"strings"
)

// ICEServer is a STUN or TURN server a client should use for ICE, as the
// node announces it in a WHEP/WHIP "Link: <URL>; rel=\"ice-server\""
// header (RFC 9725 §4.6, with the link syntax of RFC 8288).
type ICEServer struct {
	// URL is the server's stun:, stuns:, turn: or turns: URI.
	URL string
	// Username and Credential authenticate at a TURN server (long-term
	// credentials, credential-type "password"); both empty for STUN.
	Username, Credential string
}

// Rel is the link relation type of an ICE server link.
const Rel = "ice-server"

// MaxServers bounds the ICE server links Parse
// returns: more are an error (a node announces a handful).
const MaxServers = 16

// ErrBad means a Link header value that does not parse (RFC 8288),
// or an ice-server link whose target is not a STUN or TURN URI.
var ErrBad = errors.New("bad Link header")

// Header formats s as a Link header value, e.g.
//
//	<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="1700000000:ab12"; credential="c2VjcmV0"; credential-type="password"
//
// The username and credential parameters are present only when a
// username or credential is set.
func (s ICEServer) Header() string {
	var b strings.Builder
	b.WriteString("<" + s.URL + `>; rel="` + Rel + `"`)
	if s.Username != "" || s.Credential != "" {
		b.WriteString("; username=" + quote(s.Username))
		b.WriteString("; credential=" + quote(s.Credential))
		b.WriteString(`; credential-type="password"`)
	}
	return b.String()
}

// quote returns v as an HTTP quoted-string (RFC 9110 §5.6.4).
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// Parse returns the ICE servers of the links with relation
// type "ice-server" in the given Link header values (each may hold several
// comma-separated links); links of other relation types are skipped. A
// value that does not parse, an ice-server link to anything but a
// stun:, stuns:, turn: or turns: URI, a credential-type other than
// "password", or more than MaxServers ice-server links is an error
// wrapping ErrBad. It is meant for answers of a node the client does
// not otherwise trust: it never panics and bounds what it returns.
func Parse(values []string) ([]ICEServer, error) {
	var out []ICEServer
	for _, v := range values {
		p := linkParser{s: v}
		for {
			p.skipSpace()
			if p.done() {
				break
			}
			if p.peek() == ',' { // empty list element (RFC 9110 §5.6.1)
				p.i++
				continue
			}
			l, err := p.link()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBad, err)
			}
			if !l.hasRel(Rel) {
				continue
			}
			s, err := l.iceServer()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBad, err)
			}
			if len(out) == MaxServers {
				return nil, fmt.Errorf("%w: more than %d ice-server links", ErrBad, MaxServers)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// link is one parsed link-value: its target and parameters (names lower
// case; the first occurrence of each wins, RFC 8288 §3).
type link struct {
	target string
	params map[string]string
}

func (l link) hasRel(rel string) bool {
	for _, r := range strings.Fields(l.params["rel"]) {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

func (l link) iceServer() (ICEServer, error) {
	scheme, _, ok := strings.Cut(l.target, ":")
	switch strings.ToLower(scheme) {
	case "stun", "stuns", "turn", "turns":
	default:
		ok = false
	}
	if !ok {
		return ICEServer{}, fmt.Errorf("ice-server link to %q: not a stun:, stuns:, turn: or turns: URI", l.target)
	}
	if ct, ok := l.params["credential-type"]; ok && ct != "password" {
		return ICEServer{}, fmt.Errorf("ice-server link to %q: credential-type %q (only \"password\" is known)", l.target, ct)
	}
	return ICEServer{URL: l.target, Username: l.params["username"], Credential: l.params["credential"]}, nil
}

// linkParser reads RFC 8288 link-values from a header value.
type linkParser struct {
	s string
	i int
}

func (p *linkParser) done() bool { return p.i >= len(p.s) }
func (p *linkParser) peek() byte { return p.s[p.i] }

func (p *linkParser) skipSpace() {
	for !p.done() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// link reads `<target> *( ";" param )` and the "," that ends it, if any.
func (p *linkParser) link() (link, error) {
	if p.peek() != '<' {
		return link{}, fmt.Errorf("at byte %d: want '<'", p.i)
	}
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return link{}, errors.New("unterminated <target>")
	}
	l := link{target: p.s[p.i+1 : p.i+end], params: map[string]string{}}
	if l.target == "" || strings.ContainsAny(l.target, " \t<\"") {
		return link{}, fmt.Errorf("bad target %q", l.target)
	}
	p.i += end + 1
	for {
		p.skipSpace()
		if p.done() {
			return l, nil
		}
		switch p.peek() {
		case ',':
			p.i++
			return l, nil
		case ';':
			p.i++
		default:
			return link{}, fmt.Errorf("at byte %d: want ';' or ','", p.i)
		}
		p.skipSpace()
		name := p.token()
		if name == "" {
			return link{}, fmt.Errorf("at byte %d: want a parameter name", p.i)
		}
		name = strings.ToLower(name)
		p.skipSpace()
		var val string
		if !p.done() && p.peek() == '=' {
			p.i++
			p.skipSpace()
			var err error
			if val, err = p.value(); err != nil {
				return link{}, err
			}
		}
		if _, seen := l.params[name]; !seen {
			l.params[name] = val
		}
	}
}

// token reads an RFC 9110 token.
func (p *linkParser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted-string.
func (p *linkParser) value() (string, error) {
	if p.done() || p.peek() != '"' {
		v := p.token()
		if v == "" {
			return "", fmt.Errorf("at byte %d: want a parameter value", p.i)
		}
		return v, nil
	}
	p.i++
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.done() {
				return "", errors.New("unterminated quoted-string")
			}
			c = p.peek()
			p.i++
		}
		b.WriteByte(c)
	}
	return "", errors.New("unterminated quoted-string")
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
