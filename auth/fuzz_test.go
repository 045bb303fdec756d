package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/holocast/holocast/auth"
)

// FuzzBearerToken: any header value parses or is refused without
// panicking; an accepted token is non-empty token68 without spaces.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Basic x", "", "Bearer ", "Bearer a=b==", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := auth.BearerToken(h)
		if err != nil {
			if tok != "" {
				t.Fatalf("error %v with token %q", err, tok)
			}
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") || auth.CheckToken(strings.Repeat("a", auth.MinTokenLength)+tok) != nil {
			t.Fatalf("accepted %q from %q", tok, h)
		}
	})
}

// FuzzVerify: arbitrary credentials never panic the verifier, and only
// the static token or a JWT signed with the secret is accepted.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key := []byte(secret)
	a, err := auth.New(auth.Config{Token: staticToken, JWTSecret: key, Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	good, err := jwt.NewWithClaims(jwt.SigningMethodHS256, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}, MaxFPS: ptr(30),
	}).SignedString(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(staticToken)
	f.Add(good)
	f.Add(unsigned(`{"alg":"none"}`, `{"exp":9999999999}`, ""))
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, cred string) {
		g, err := a.Verify(cred)
		if err != nil {
			return
		}
		if cred == staticToken {
			if g != (auth.Grant{}) {
				t.Fatalf("static token granted %+v", g)
			}
			return
		}
		// Anything else accepted must verify as an HS256 JWT under key.
		if _, perr := jwt.Parse(cred, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation()); perr != nil || !g.JWT {
			t.Fatalf("accepted %q (%+v) that is not a JWT signed with the secret: %v", cred, g, perr)
		}
	})
}
