// Package auth checks the bearer credentials a render node's signaling
// endpoint accepts: the node's own static token, and for fleets JWTs signed
// with HS256 by a shared secret whose claims may cap what the session gets
// (frame size, frame rate, lifetime). It is pure Go and knows nothing of
// HTTP beyond parsing an Authorization header.
//
// JWT claims (RFC 7519 names where they exist):
//
//	exp            required: expiry (seconds since the epoch); checked with Leeway
//	nbf, iat       optional: not before / issued at; checked with Leeway
//	sub            optional: who the token is for (logged, never the token)
//	max_width      optional: cap on the side-by-side frame width, pixels (≥ 64)
//	max_height     optional: cap on the frame height, pixels (≥ 64)
//	max_fps        optional: cap on the frame rate (≥ 1)
//	max_session_s  optional: cap on the session's lifetime, seconds (≥ 1)
//
// exp bounds when a session may be created with the token; a session
// already running is not ended when its token expires (max_session_s
// bounds that). Only HS256 is accepted: "none" and every other algorithm
// are refused.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultLeeway is the clock skew allowed on exp, nbf and iat when
// Config.Leeway is 0.
const DefaultLeeway = 30 * time.Second

// MinTokenLength is the shortest static token accepted (a generated one is
// 43 characters: 32 random bytes in unpadded base64url).
const MinTokenLength = 16

// MinSecretLength is the shortest HS256 secret accepted, in bytes
// (RFC 7518 §3.2: a key of at least the hash's size).
const MinSecretLength = 32

// MaxCredentialLength bounds a credential before any parsing.
const MaxCredentialLength = 4096

// Grant is what a verified credential allows a session. Zero caps mean the
// credential sets none (the node's own limits apply).
type Grant struct {
	// Subject names the holder in logs: a JWT's "sub"; "" for the node's
	// static token.
	Subject string
	// JWT tells that the credential was a JWT rather than the static token.
	JWT bool
	// MaxWidth and MaxHeight cap the side-by-side frame, in pixels.
	MaxWidth, MaxHeight int
	// MaxFPS caps the frame rate.
	MaxFPS int
	// MaxSession caps how long the session may last.
	MaxSession time.Duration
}

// Claims are the JWT claims the node reads: the registered ones (exp
// required) and the caps. Issuers written in Go can sign them with
// jwt.NewWithClaims(jwt.SigningMethodHS256, claims).
type Claims struct {
	jwt.RegisteredClaims
	// MaxWidth ("max_width") caps the side-by-side frame width; nil: no cap.
	MaxWidth *int `json:"max_width,omitempty"`
	// MaxHeight ("max_height") caps the frame height; nil: no cap.
	MaxHeight *int `json:"max_height,omitempty"`
	// MaxFPS ("max_fps") caps the frame rate; nil: no cap.
	MaxFPS *int `json:"max_fps,omitempty"`
	// MaxSessionS ("max_session_s") caps the session's lifetime in
	// seconds; nil: no cap.
	MaxSessionS *int64 `json:"max_session_s,omitempty"`
}

// Validate checks the caps' ranges; the jwt parser calls it after the
// registered claims.
func (c Claims) Validate() error {
	check := func(name string, v *int, minimum int) error {
		if v != nil && *v < minimum {
			return fmt.Errorf("%w: %s %d below %d", ErrBadClaims, name, *v, minimum)
		}
		return nil
	}
	if err := errors.Join(check("max_width", c.MaxWidth, 64), check("max_height", c.MaxHeight, 64), check("max_fps", c.MaxFPS, 1)); err != nil {
		return err
	}
	// One year bounds the conversion to a Duration.
	if s := c.MaxSessionS; s != nil && (*s < 1 || *s > 366*24*3600) {
		return fmt.Errorf("%w: max_session_s %d outside [1, 31622400]", ErrBadClaims, *s)
	}
	return nil
}

// Config configures an Authenticator. At least one of Token and JWTSecret
// must be set.
type Config struct {
	// Token is the node's static bearer token; "" accepts none. It must
	// have at least MinTokenLength token68 characters (see CheckToken).
	Token string
	// JWTSecret, if set, accepts JWTs signed with HS256 under it; it must
	// be at least MinSecretLength bytes.
	JWTSecret []byte
	// Leeway is the clock skew allowed on exp, nbf and iat; 0 means
	// DefaultLeeway.
	Leeway time.Duration
	// Now is the clock JWT times are checked against; nil means time.Now.
	Now func() time.Time
}

// Authenticator verifies bearer credentials. It is safe for concurrent use.
type Authenticator struct {
	token  [sha256.Size]byte
	static bool
	secret []byte
	parser *jwt.Parser
}

// New returns an Authenticator for cfg.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Token == "" && len(cfg.JWTSecret) == 0 {
		return nil, fmt.Errorf("auth: %w", ErrNoMethod)
	}
	a := &Authenticator{}
	if cfg.Token != "" {
		if err := CheckToken(cfg.Token); err != nil {
			return nil, err
		}
		a.token, a.static = sha256.Sum256([]byte(cfg.Token)), true
	}
	if len(cfg.JWTSecret) > 0 {
		if len(cfg.JWTSecret) < MinSecretLength {
			return nil, fmt.Errorf("auth: %w: %d bytes, want at least %d", ErrWeakSecret, len(cfg.JWTSecret), MinSecretLength)
		}
		a.secret = append([]byte(nil), cfg.JWTSecret...)
		leeway := cfg.Leeway
		if leeway <= 0 {
			leeway = DefaultLeeway
		}
		opts := []jwt.ParserOption{
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(leeway),
		}
		if cfg.Now != nil {
			opts = append(opts, jwt.WithTimeFunc(cfg.Now))
		}
		a.parser = jwt.NewParser(opts...)
	}
	return a, nil
}

// Verify checks a bearer credential and returns what it grants. Errors
// wrap ErrNoCredential, ErrInvalidCredential, ErrExpired or ErrBadClaims;
// their text never contains the credential.
func (a *Authenticator) Verify(credential string) (Grant, error) {
	switch {
	case credential == "":
		return Grant{}, ErrNoCredential
	case len(credential) > MaxCredentialLength:
		return Grant{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidCredential, MaxCredentialLength)
	}
	if a.static {
		sum := sha256.Sum256([]byte(credential))
		if subtle.ConstantTimeCompare(sum[:], a.token[:]) == 1 {
			return Grant{}, nil
		}
	}
	if a.parser == nil || strings.Count(credential, ".") != 2 {
		return Grant{}, ErrInvalidCredential
	}
	return a.verifyJWT(credential)
}

func (a *Authenticator) verifyJWT(credential string) (Grant, error) {
	var c Claims
	_, err := a.parser.ParseWithClaims(credential, &c, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refuses other algorithms; this makes
		// sure the key is only ever used as an HMAC key.
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("algorithm %v", t.Header["alg"])
		}
		return a.secret, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrBadClaims):
		// The signature verified and c holds the claims: say which cap,
		// without the parser's prefix.
		if verr := c.Validate(); verr != nil {
			return Grant{}, verr
		}
		return Grant{}, ErrBadClaims
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return Grant{}, fmt.Errorf("%w: exp is required", ErrBadClaims)
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Grant{}, ErrExpired
	default:
		// Signature, algorithm, encoding: say no more than "invalid".
		return Grant{}, ErrInvalidCredential
	}
	g := Grant{Subject: c.Subject, JWT: true}
	if c.MaxWidth != nil {
		g.MaxWidth = *c.MaxWidth
	}
	if c.MaxHeight != nil {
		g.MaxHeight = *c.MaxHeight
	}
	if c.MaxFPS != nil {
		g.MaxFPS = *c.MaxFPS
	}
	if c.MaxSessionS != nil {
		g.MaxSession = time.Duration(*c.MaxSessionS) * time.Second
	}
	return g, nil
}

// BearerToken returns the credential of an Authorization header value of
// the form "Bearer TOKEN" (scheme case-insensitive, RFC 6750 §2.1). An
// empty header is ErrNoCredential; anything else that is not of that form
// is ErrMalformedHeader.
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", ErrNoCredential
	}
	if len(header) > MaxCredentialLength+len("Bearer ") {
		return "", ErrMalformedHeader
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformedHeader
	}
	tok = strings.TrimLeft(tok, " ")
	if !isToken68(tok) {
		return "", ErrMalformedHeader
	}
	return tok, nil
}

// CheckToken reports whether tok is acceptable as a static token: at
// least MinTokenLength characters of token68 (RFC 7235: A-Z a-z 0-9
// - . _ ~ + /, then optional trailing =), so that it fits an Authorization
// header and a URL fragment unescaped.
func CheckToken(tok string) error {
	if len(tok) < MinTokenLength || !isToken68(tok) {
		return fmt.Errorf("auth: %w: want at least %d characters of A-Z a-z 0-9 - . _ ~ + / (trailing =)", ErrWeakToken, MinTokenLength)
	}
	return nil
}

func isToken68(s string) bool {
	if s == "" {
		return false
	}
	end := len(strings.TrimRight(s, "="))
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// Fingerprint returns a digest of a credential that can be kept to
// recognise it later (compare with Same) without keeping the credential.
func Fingerprint(credential string) [sha256.Size]byte {
	return sha256.Sum256([]byte(credential))
}

// Same compares two fingerprints in constant time.
func Same(a, b [sha256.Size]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
