// Package turnrest mints and checks time-limited TURN credentials in the
// scheme of the "TURN REST API" (draft-uberti-behave-turn-rest-00), which
// coturn checks with use-auth-secret and static-auth-secret: the username
// is "<expiry as Unix seconds>:<id>" and the credential (the TURN
// password) is base64(HMAC-SHA1(secret, username)). A node and its TURN
// server share only the secret; the node hands each client credentials
// that the TURN server accepts until they expire.
package turnrest

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // G505: HMAC-SHA1 is what the TURN REST scheme and coturn specify
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinSecret is the shortest secret New and Verify take, in bytes.
const MinSecret = 16

// DefaultTTL is how long minted credentials last unless configured
// otherwise (a node's and a gateway's --turn-ttl).
const DefaultTTL = 24 * time.Hour

// IsTURN reports whether an ICE server URL is a TURN one (turn: or
// turns:, in any case): the servers credentials are minted for.
func IsTURN(url string) bool {
	s := strings.ToLower(url)
	return strings.HasPrefix(s, "turn:") || strings.HasPrefix(s, "turns:")
}

// Errors of Verify (and, for ErrShortSecret, New).
var (
	// ErrShortSecret means a secret shorter than MinSecret.
	ErrShortSecret = errors.New("turnrest: secret shorter than 16 bytes")
	// ErrMalformed means a username that is not "<expiry>:<id>".
	ErrMalformed = errors.New("turnrest: username is not <unix expiry>:<id>")
	// ErrExpired means the username's expiry has passed.
	ErrExpired = errors.New("turnrest: credentials expired")
	// ErrBadCredential means the credential is not the username's HMAC.
	ErrBadCredential = errors.New("turnrest: credential does not match the username")
)

// New returns the username and credential for id, valid until expires.
// id may be empty; it must not contain ':'.
func New(secret []byte, id string, expires time.Time) (username, credential string, err error) {
	if len(secret) < MinSecret {
		return "", "", ErrShortSecret
	}
	if strings.Contains(id, ":") {
		return "", "", fmt.Errorf("turnrest: id %q contains ':'", id)
	}
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + id
	return username, sign(secret, username), nil
}

// Verify checks credentials as a TURN server with the same secret does at
// time now: the credential is the username's HMAC and its expiry is not
// past.
func Verify(secret []byte, username, credential string, now time.Time) error {
	if len(secret) < MinSecret {
		return ErrShortSecret
	}
	exp, _, ok := strings.Cut(username, ":")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil {
		return ErrMalformed
	}
	if !hmac.Equal([]byte(sign(secret, username)), []byte(credential)) {
		return ErrBadCredential
	}
	if now.Unix() > unix {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(unix, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func sign(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
