package config

import (
	"fmt"
	"math"
	"net/url"
	"strings"
)

// placeholderMarkers are what an example value says instead of a secret
// (deploy/compose.env.example writes CHANGE-ME-...). A value containing one
// was copied, not chosen.
var placeholderMarkers = []string{"change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder", "example"}

func placeholder(v string) bool {
	l := strings.ToLower(v)
	for _, m := range placeholderMarkers {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

// weakness says why a secret that the bank chooses itself is too weak for
// production ("" when it is not): a placeholder, shorter than minLen bytes,
// one short pattern repeated, or under minBits bits by a character-frequency
// estimate. The estimate catches "aaaa…" and "passwordpassword", not every
// guessable value; `openssl rand -hex 32` passes every rule.
func weakness(v string, minLen int, minBits float64) string {
	switch {
	case placeholder(v):
		return "is a placeholder from an example; generate a secret (e.g. openssl rand -hex 32)"
	case len(v) < minLen:
		return fmt.Sprintf("is shorter than %d bytes", minLen)
	case repeated(v):
		return "is one short pattern repeated"
	case entropyBits(v) < minBits:
		return fmt.Sprintf("has too little variety (under %.0f bits by character frequency)", minBits)
	}
	return ""
}

// repeated reports whether v is a shorter string repeated (with a partial
// last copy allowed), as in "abcabcabcab".
func repeated(v string) bool {
	for p := 1; p <= len(v)/2; p++ {
		ok := true
		for i := p; i < len(v) && ok; i++ {
			ok = v[i] == v[i-p]
		}
		if ok {
			return true
		}
	}
	return false
}

// entropyBits is len(v) times the Shannon entropy of v's byte frequencies.
func entropyBits(v string) float64 {
	var counts [256]int
	for i := 0; i < len(v); i++ {
		counts[v[i]]++
	}
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(v))
			h -= p * math.Log2(p)
		}
	}
	return h * float64(len(v))
}

// Strength rules of production secrets. The JWT and webhook secrets are
// HMAC keys the bank generates; S3 secret keys are 40 characters at AWS and
// at least 8 at MinIO, so theirs is lower.
const (
	minSecretLen    = 32
	minSecretBits   = 96
	minS3SecretLen  = 16
	minS3SecretBits = 48
)

// secretErrors is the production check of every credential: the ones the
// bank chooses must be strong, and no value (issued by 100ms or the bucket's
// owner) may be a placeholder from an example. Messages name variables only.
func (c Config) secretErrors() []error {
	var errs []error
	chosen := []struct {
		name, v          string
		minLen           int
		minBits          float64
		optional, devDef bool
	}{
		{EnvAuthSecret, c.AuthSecret, minSecretLen, minSecretBits, false, c.AuthSecret == devAuthSecret},
		{EnvHMSWebhookSecret, c.HMS.WebhookSecret, minSecretLen, minSecretBits, false, c.HMS.WebhookSecret == devWebhookSecret},
		{EnvHMSWebhookHMACSecret, c.HMS.WebhookHMACSecret, minSecretLen, minSecretBits, true, false},
		{EnvS3SecretKey, c.S3.SecretKey, minS3SecretLen, minS3SecretBits, false, c.S3.SecretKey == DevS3SecretKey},
	}
	for _, s := range chosen {
		if s.devDef || (s.optional && s.v == "") {
			continue // Insecure reports development defaults
		}
		if why := weakness(s.v, s.minLen, s.minBits); why != "" {
			errs = append(errs, fmt.Errorf("%s: %s", s.name, why))
		}
	}
	issued := []struct{ name, v string }{
		{EnvHMSAccessKey, c.HMS.AccessKey}, {EnvHMSAppSecret, c.HMS.AppSecret},
		{EnvS3AccessKey, c.S3.AccessKey}, {EnvHMSTemplateID, c.HMS.TemplateID},
	}
	for _, s := range issued {
		if placeholder(s.v) {
			errs = append(errs, fmt.Errorf("%s: is a placeholder from an example; set the real value", s.name))
		}
	}
	if u, err := url.Parse(c.DatabaseURL); err == nil && u.User != nil {
		if pw, _ := u.User.Password(); placeholder(pw) {
			errs = append(errs, fmt.Errorf("%s: its password is a placeholder from an example", EnvDatabaseURL))
		}
	}
	return errs
}
