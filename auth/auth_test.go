package auth_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/holocast/holocast/auth"
)

const (
	staticToken = "s3cret-static-token-0123456789"
	secret      = "0123456789abcdef0123456789abcdef-fleet"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func sign(t *testing.T, method jwt.SigningMethod, key any, c auth.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exp(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(t0.Add(d)) }

// unsigned makes a JWT with the given header and claims and a garbage or
// empty signature.
func unsigned(header, claims, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + sig
}

func TestVerify(t *testing.T) {
	a, err := auth.New(auth.Config{Token: staticToken, JWTSecret: []byte(secret), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte(secret)
	good := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "headset-7", ExpiresAt: exp(time.Hour)}}
	capped := good
	capped.MaxWidth, capped.MaxHeight, capped.MaxFPS, capped.MaxSessionS = ptr(640), ptr(360), ptr(24), ptr[int64](90)
	tests := []struct {
		name  string
		cred  string
		want  error
		grant auth.Grant
	}{
		{"static token", staticToken, nil, auth.Grant{}},
		{"wrong static token", staticToken + "x", auth.ErrInvalidCredential, auth.Grant{}},
		{"prefix of the static token", staticToken[:20], auth.ErrInvalidCredential, auth.Grant{}},
		{"empty", "", auth.ErrNoCredential, auth.Grant{}},
		{"huge", strings.Repeat("a", auth.MaxCredentialLength+1), auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT without caps", sign(t, jwt.SigningMethodHS256, key, good), nil, auth.Grant{Subject: "headset-7", JWT: true}},
		{"JWT with caps", sign(t, jwt.SigningMethodHS256, key, capped), nil,
			auth.Grant{Subject: "headset-7", JWT: true, MaxWidth: 640, MaxHeight: 360, MaxFPS: 24, MaxSession: 90 * time.Second}},
		{"JWT expired", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: exp(-time.Minute)}}), auth.ErrExpired, auth.Grant{}},
		{"JWT expired within leeway", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: exp(-10 * time.Second)}}), nil, auth.Grant{JWT: true}},
		{"JWT not yet valid", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: exp(time.Hour), NotBefore: exp(time.Minute)}}), auth.ErrExpired, auth.Grant{}},
		{"JWT issued in the future", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: exp(time.Hour), IssuedAt: exp(time.Minute)}}), auth.ErrExpired, auth.Grant{}},
		{"JWT without exp", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "forever"}}), auth.ErrBadClaims, auth.Grant{}},
		{"JWT cap below minimum", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: good.RegisteredClaims, MaxWidth: ptr(10)}), auth.ErrBadClaims, auth.Grant{}},
		{"JWT negative lifetime", sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: good.RegisteredClaims, MaxSessionS: ptr[int64](-1)}), auth.ErrBadClaims, auth.Grant{}},
		{"JWT forged (other secret)", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), good), auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT HS512", sign(t, jwt.SigningMethodHS512, key, good), auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT alg none, hand-made", unsigned(`{"alg":"none","typ":"JWT"}`, `{"exp":9999999999}`, ""), auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT alg RS256 with an HMAC signature", unsigned(`{"alg":"RS256","typ":"JWT"}`, `{"exp":9999999999}`, "c2ln"), auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT garbage", "a.b.c", auth.ErrInvalidCredential, auth.Grant{}},
		{"JWT tampered claims", func() string {
			p := strings.Split(sign(t, jwt.SigningMethodHS256, key, capped), ".")
			p[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"exp":9999999999,"max_width":4096}`))
			return strings.Join(p, ".")
		}(), auth.ErrInvalidCredential, auth.Grant{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := a.Verify(tt.cred)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if g != tt.grant {
				t.Errorf("grant = %+v, want %+v", g, tt.grant)
			}
			if err != nil && len(tt.cred) > 8 && strings.Contains(err.Error(), tt.cred) {
				t.Errorf("error text contains the credential: %v", err)
			}
		})
	}
}

func TestBadClaimsMessage(t *testing.T) {
	a, _ := auth.New(auth.Config{JWTSecret: []byte(secret), Now: func() time.Time { return t0 }})
	_, err := a.Verify(sign(t, jwt.SigningMethodHS256, []byte(secret), auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: exp(time.Hour)}, MaxWidth: ptr(10)}))
	if err == nil || err.Error() != "token claims invalid: max_width 10 below 64" {
		t.Errorf("err = %v", err)
	}
}

func TestVerifyOneMethod(t *testing.T) {
	key := []byte(secret)
	jwtTok := sign(t, jwt.SigningMethodHS256, key, auth.Claims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}})
	static, _ := auth.New(auth.Config{Token: staticToken})
	if _, err := static.Verify(jwtTok); !errors.Is(err, auth.ErrInvalidCredential) {
		t.Errorf("static-only authenticator took a JWT: %v", err)
	}
	jwtOnly, _ := auth.New(auth.Config{JWTSecret: key})
	if _, err := jwtOnly.Verify(staticToken); !errors.Is(err, auth.ErrInvalidCredential) {
		t.Errorf("JWT-only authenticator took a static token: %v", err)
	}
	if _, err := jwtOnly.Verify(jwtTok); err != nil {
		t.Errorf("JWT-only authenticator refused a good JWT: %v", err)
	}
}

func TestNewRefusesWeakConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.Config
		want error
	}{
		{"nothing", auth.Config{}, auth.ErrNoMethod},
		{"short token", auth.Config{Token: "letmein"}, auth.ErrWeakToken},
		{"token with a space", auth.Config{Token: "a token with spaces in it"}, auth.ErrWeakToken},
		{"short secret", auth.Config{JWTSecret: []byte("shh")}, auth.ErrWeakSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := auth.New(tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header, want string
		err          error
	}{
		{"Bearer abc.def-ghi_jkl~mno+p/q==", "abc.def-ghi_jkl~mno+p/q==", nil},
		{"bearer abc", "abc", nil},
		{"BEARER  abc", "abc", nil},
		{"", "", auth.ErrNoCredential},
		{"Bearer", "", auth.ErrMalformedHeader},
		{"Bearer ", "", auth.ErrMalformedHeader},
		{"Basic dXNlcjpwYXNz", "", auth.ErrMalformedHeader},
		{"Bearer two tokens", "", auth.ErrMalformedHeader},
		{"Bearer ===", "", auth.ErrMalformedHeader},
		{"Bearer a=b", "", auth.ErrMalformedHeader},
		{"Bearer tok\x00en", "", auth.ErrMalformedHeader},
	}
	for _, tt := range tests {
		got, err := auth.BearerToken(tt.header)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.err)
		}
	}
}

func TestNewTokenIsAccepted(t *testing.T) {
	a, b := auth.NewToken(), auth.NewToken()
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if err := auth.CheckToken(a); err != nil {
		t.Fatal(err)
	}
	if got, err := auth.BearerToken("Bearer " + a); err != nil || got != a {
		t.Fatalf("BearerToken of a generated token: %q, %v", got, err)
	}
}

func TestLoadOrCreateToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "holocast")
	path := filepath.Join(dir, "token")
	tok, created, err := auth.LoadOrCreateToken(path)
	if err != nil || !created {
		t.Fatalf("first run: %q %v %v", tok, created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %04o, want 0600", st.Mode().Perm())
	}
	again, created, err := auth.LoadOrCreateToken(path)
	if err != nil || created || again != tok {
		t.Fatalf("second run: %q %v %v, want the kept %q", again, created, err, tok)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.LoadOrCreateToken(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token file: err = %v", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.LoadOrCreateToken(bad); !errors.Is(err, auth.ErrWeakToken) {
		t.Errorf("invalid token file: err = %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	if !auth.Same(auth.Fingerprint("a"), auth.Fingerprint("a")) || auth.Same(auth.Fingerprint("a"), auth.Fingerprint("b")) {
		t.Error("fingerprints do not tell credentials apart")
	}
}
