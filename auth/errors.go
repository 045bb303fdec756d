package auth

import "errors"

// Reasons a credential is refused. Verify wraps them with detail; match
// them with errors.Is.
var (
	// ErrNoCredential means the request carries no bearer credential.
	ErrNoCredential = errors.New("no bearer credential")
	// ErrMalformedHeader means the Authorization header is not
	// "Bearer TOKEN" with a token68 token.
	ErrMalformedHeader = errors.New("malformed Authorization header (want \"Bearer TOKEN\")")
	// ErrInvalidCredential means the credential is neither the node's
	// token nor a JWT with a valid HS256 signature.
	ErrInvalidCredential = errors.New("invalid credential")
	// ErrExpired means a JWT's exp (or nbf, or iat) is outside its validity,
	// beyond the leeway.
	ErrExpired = errors.New("token expired or not yet valid")
	// ErrBadClaims means a JWT's claims are missing (exp) or out of range
	// (a cap below its minimum).
	ErrBadClaims = errors.New("token claims invalid")
	// ErrWeakToken means a static token is too short or has characters
	// outside the token68 set (A-Z a-z 0-9 - . _ ~ + /, trailing =).
	ErrWeakToken = errors.New("token too short or not token68")
	// ErrWeakSecret means a JWT secret is shorter than MinSecretLength.
	ErrWeakSecret = errors.New("JWT secret too short")
	// ErrNoMethod means a Config accepts neither a token nor JWTs.
	ErrNoMethod = errors.New("no token and no JWT secret")
)
