package hms

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SignatureHeader carries hex(HMAC-SHA256(secret, raw body)) on workspaces
// that sign their webhooks.
const SignatureHeader = "x-100ms-signature"

// ErrUnauthenticated marks a webhook request that failed verification. The
// wrapped message names the failed check, never a secret or a header value.
var ErrUnauthenticated = errors.New("hms: webhook not authenticated")

// Verifier checks that a webhook request comes from 100ms. 100ms sends the
// secret headers configured on the dashboard (or the room's webhook.headers)
// unchanged, and signs the body only on some workspaces.
type Verifier struct {
	// Headers that must all be present with exactly these values; names are
	// case-insensitive.
	Headers map[string]string
	// HMACSecret, when set, requires SignatureHeader to match the body.
	HMACSecret string
	// AllowUnauthenticated must be set to accept requests when neither
	// Headers nor HMACSecret is configured; otherwise an empty Verifier
	// refuses everything, so a missing setting never opens the endpoint.
	AllowUnauthenticated bool
}

// Verify checks every configured header and the signature. It returns nil or
// an error wrapping ErrUnauthenticated.
func (v Verifier) Verify(h http.Header, body []byte) error {
	if err := v.VerifyHeaders(h); err != nil {
		return err
	}
	return v.VerifySignature(h, body)
}

// VerifyHeaders checks the configured secret headers, which need no body:
// webhook intake calls it before it reads the body, so an unauthenticated
// sender costs no body read. VerifySignature must follow when it passes.
func (v Verifier) VerifyHeaders(h http.Header) error {
	if len(v.Headers) == 0 && v.HMACSecret == "" {
		if v.AllowUnauthenticated {
			return nil
		}
		return fmt.Errorf("%w: no secret header or HMAC secret is configured", ErrUnauthenticated)
	}
	for name, want := range v.Headers {
		if want == "" {
			// An empty expected value would accept a request that simply
			// omits the header.
			return fmt.Errorf("%w: header %q is configured with an empty value", ErrUnauthenticated, name)
		}
		got, err := single(h, name)
		if err != nil {
			return err
		}
		if !equalSecret(got, want) {
			return fmt.Errorf("%w: header %q does not match", ErrUnauthenticated, name)
		}
	}
	if v.HMACSecret != "" {
		// The signature itself needs the body; its presence does not.
		if _, err := single(h, SignatureHeader); err != nil {
			return err
		}
	}
	return nil
}

// VerifySignature checks the HMAC signature of body when an HMAC secret is
// configured (and does nothing otherwise).
func (v Verifier) VerifySignature(h http.Header, body []byte) error {
	if v.HMACSecret == "" {
		return nil
	}
	sig, err := single(h, SignatureHeader)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrUnauthenticated, SignatureHeader)
	}
	mac := hmac.New(sha256.New, []byte(v.HMACSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", ErrUnauthenticated, SignatureHeader)
	}
	return nil
}

// single returns the one value of the header name, matched
// case-insensitively even in a map built by hand with non-canonical keys.
// A repeated header is refused rather than guessed at.
func single(h http.Header, name string) (string, error) {
	var vals []string
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			vals = append(vals, vs...)
		}
	}
	switch len(vals) {
	case 0:
		return "", fmt.Errorf("%w: header %q is missing", ErrUnauthenticated, name)
	case 1:
		return vals[0], nil
	}
	return "", fmt.Errorf("%w: header %q is repeated", ErrUnauthenticated, name)
}

// equalSecret compares in constant time; hashing first hides the length of
// the expected value too.
func equalSecret(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
