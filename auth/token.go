package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NewToken returns a random static token: 32 bytes from crypto/rand in
// unpadded base64url (43 characters).
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// LoadOrCreateToken returns the token kept in the file at path, or makes a
// new one (NewToken) and keeps it there, creating the directory (0700) and
// the file (0600). created reports a new token. A kept file that others
// may read (any group or other permission bit) or that holds no valid
// token (CheckToken) is an error rather than being replaced silently.
func LoadOrCreateToken(path string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, err := os.Stat(path)
		if err != nil {
			return "", false, fmt.Errorf("auth: token file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return "", false, fmt.Errorf("auth: token file %s is accessible to others (mode %04o): chmod 600 it, or remove it to have a new token made", path, st.Mode().Perm())
		}
		tok := strings.TrimSpace(string(b))
		if err := CheckToken(tok); err != nil {
			return "", false, fmt.Errorf("auth: token file %s: %w", path, err)
		}
		return tok, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("auth: token file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("auth: token directory: %w", err)
	}
	tok := NewToken()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("auth: token file: %w", err)
	}
	_, err = f.WriteString(tok + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", false, fmt.Errorf("auth: write token file: %w", err)
	}
	return tok, true, nil
}
