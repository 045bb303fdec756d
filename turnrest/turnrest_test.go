package turnrest_test

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // G505: the scheme under test
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/holocast/holocast/turnrest"
)

var secret = []byte("0123456789abcdef-shared-with-coturn")

func TestNewIsTheCoturnScheme(t *testing.T) {
	exp := time.Unix(1_900_000_000, 0)
	user, cred, err := turnrest.New(secret, "sess42", exp)
	if err != nil {
		t.Fatal(err)
	}
	if user != "1900000000:sess42" {
		t.Errorf("username %q, want 1900000000:sess42", user)
	}
	// Computed here independently, as coturn does: base64(HMAC-SHA1(secret, username)).
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(user))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); cred != want {
		t.Errorf("credential %q, want %q", cred, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	user, cred, err := turnrest.New(secret, "a", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		secret     []byte
		user, cred string
		at         time.Time
		want       error
	}{
		{"valid", secret, user, cred, now, nil},
		{"valid at expiry", secret, user, cred, now.Add(time.Hour), nil},
		{"expired", secret, user, cred, now.Add(time.Hour + time.Second), turnrest.ErrExpired},
		{"other secret", []byte("another-secret-of-16+bytes"), user, cred, now, turnrest.ErrBadCredential},
		{"changed expiry", secret, strings.Replace(user, "18", "19", 1), cred, now, turnrest.ErrBadCredential},
		{"no colon", secret, "1800003600", cred, now, turnrest.ErrMalformed},
		{"not a number", secret, "soon:a", cred, now, turnrest.ErrMalformed},
		{"short secret", []byte("short"), user, cred, now, turnrest.ErrShortSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := turnrest.Verify(tt.secret, tt.user, tt.cred, tt.at); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	if _, _, err := turnrest.New([]byte("short"), "a", time.Now()); !errors.Is(err, turnrest.ErrShortSecret) {
		t.Errorf("short secret: %v", err)
	}
	if _, _, err := turnrest.New(secret, "a:b", time.Now()); err == nil {
		t.Error("id with ':' accepted")
	}
}

func ExampleNew() {
	user, cred, _ := turnrest.New([]byte("0123456789abcdef-shared-with-coturn"), "session-1", time.Unix(1_900_000_000, 0))
	fmt.Println(user)
	fmt.Println(turnrest.Verify([]byte("0123456789abcdef-shared-with-coturn"), user, cred, time.Unix(1_899_999_000, 0)))
	// Output:
	// 1900000000:session-1
	// <nil>
}

// TestIsTURN: turn: and turns: URLs in any case are TURN servers; STUN
// ones and look-alikes are not.
func TestIsTURN(t *testing.T) {
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"turn:turn.example.org:3478", true},
		{"turns:turn.example.org:5349?transport=tcp", true},
		{"TURN:turn.example.org", true},
		{"stun:stun.example.org:3478", false},
		{"stuns:stun.example.org", false},
		{"turnx:turn.example.org", false},
		{"", false},
	} {
		if got := turnrest.IsTURN(c.url); got != c.want {
			t.Errorf("IsTURN(%q) = %v, want %v", c.url, got, c.want)
		}
	}
}
