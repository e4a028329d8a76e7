package config

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
)

// devEvidenceSeed derives the development evidence key the same way in
// every checkout, so that packs made in development verify anywhere; it is
// refused in production.
var devEvidenceSeed = sha256.Sum256([]byte("vkyc development evidence signing key; never use in production"))

// DevEvidenceKey is the development default of EVIDENCE_SIGNING_KEY.
func DevEvidenceKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(devEvidenceSeed[:]) }

// Limits of the bank integration settings.
const (
	minProductionRetryWindow = 24 * time.Hour
	maxWebhookEndpoints      = 8
)

// finishBank checks the endpoints, secrets and origins, and gives the
// development evidence key when none is set.
func (l *loader) finishBank(c *Config) {
	o := &c.Outbound
	for _, u := range o.URLs {
		if err := checkEndpoint(u); err != nil {
			l.fail(EnvBankWebhookURLs, "%v", err)
		}
	}
	if len(o.URLs) > maxWebhookEndpoints {
		l.fail(EnvBankWebhookURLs, "at most %d endpoints", maxWebhookEndpoints)
	}
	for i, s := range o.Secrets {
		if err := message.CheckSecret(s); err != nil {
			l.fail(EnvBankWebhookSecrets, "secret %d: %v", i+1, err)
		}
	}
	if c.Evidence.SigningKey == nil {
		c.Evidence.SigningKey = DevEvidenceKey()
	}
	for _, o := range c.Codec.Origins {
		if err := checkOrigin(o); err != nil {
			l.fail(EnvCodecCORSOrigins, "%v", err)
		}
	}
}

// bankErrors are Validate's checks of the bank integration settings.
func (c Config) bankErrors() []error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	o := c.Outbound
	if len(o.URLs) > 0 && len(o.Secrets) == 0 {
		fail(EnvBankWebhookSecrets, "required with %s: every message is signed", EnvBankWebhookURLs)
	}
	if o.BackoffMax < o.Backoff {
		fail(EnvBankWebhookBackoffMax, "%s is shorter than %s (%s)", o.BackoffMax, EnvBankWebhookBackoff, o.Backoff)
	}
	if c.Evidence.LinkTTL < minURLTTL || c.Evidence.LinkTTL > maxURLTTL {
		fail(EnvEvidenceLinkTTL, "%s is out of range (%s to %s, the limits of presigned URLs)", c.Evidence.LinkTTL, minURLTTL, maxURLTTL)
	}
	if !c.Production {
		return errs
	}
	for _, u := range o.URLs {
		if pu, err := url.Parse(u); err == nil && pu.Scheme != "https" {
			fail(EnvBankWebhookURLs, "%s must be https in production", redactURL(pu))
		}
	}
	if o.RetryWindow < minProductionRetryWindow {
		fail(EnvBankWebhookRetryWindow, "%s is shorter than %s: the bank must get at least a day to come back", o.RetryWindow, minProductionRetryWindow)
	}
	return errs
}

func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", redactRaw(raw))
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%s must not carry credentials or a fragment (the signature authenticates the sender)", redactURL(u))
	}
	return nil
}

func checkOrigin(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin (scheme://host[:port], nothing after)", raw)
	}
	return nil
}

// redactURL names an endpoint without its query, which may hold a token.
func redactURL(u *url.URL) string { return u.Scheme + "://" + u.Host + u.Path }

func redactRaw(raw string) string {
	if i := strings.IndexAny(raw, "?@"); i >= 0 {
		return raw[:i] + "…"
	}
	return raw
}
