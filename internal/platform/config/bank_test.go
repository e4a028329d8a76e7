package config

import (
	"strings"
	"testing"
)

// TestBankSettings: each mistake in the webhook, evidence and codec
// settings is refused with a message that names its variable and repeats no
// secret or key.
func TestBankSettings(t *testing.T) {
	isolate(t)
	secret := production["BANK_WEBHOOK_SECRETS"]
	cases := []struct {
		name string
		env  env
		want string // "" means valid
	}{
		{"development defaults", env{}, ""},
		{"production", production, ""},
		{"two secrets", production.with("BANK_WEBHOOK_SECRETS", secret+", "+secret), ""},
		{"urls without secrets", env{"BANK_WEBHOOK_URLS": "http://127.0.0.1:9/hooks"}, "BANK_WEBHOOK_SECRETS: required with BANK_WEBHOOK_URLS"},
		{"not a url", env{"BANK_WEBHOOK_URLS": "bank.example/hooks", "BANK_WEBHOOK_SECRETS": secret}, "BANK_WEBHOOK_URLS: \"bank.example/hooks\" is not an absolute"},
		{"credentials in a url", env{"BANK_WEBHOOK_URLS": "https://u:pw@bank.example/h", "BANK_WEBHOOK_SECRETS": secret}, "must not carry credentials"},
		{"http in production", production.with("BANK_WEBHOOK_URLS", "http://bank.example/h"), "must be https in production"},
		{"a secret without its prefix", env{"BANK_WEBHOOK_SECRETS": strings.TrimPrefix(secret, "whsec_")}, "BANK_WEBHOOK_SECRETS: secret 1: a secret must start with whsec_"},
		{"a short window in production", production.with("BANK_WEBHOOK_RETRY_WINDOW", "2h"), "BANK_WEBHOOK_RETRY_WINDOW: 2h0m0s is shorter than 24h0m0s"},
		{"a short window in development", env{"BANK_WEBHOOK_RETRY_WINDOW": "2m"}, ""},
		{"backoff above its maximum", env{"BANK_WEBHOOK_BACKOFF": "2h"}, "BANK_WEBHOOK_BACKOFF_MAX: 1h0m0s is shorter than"},
		{"an evidence key that is not base64", env{"EVIDENCE_SIGNING_KEY": "not base64!"}, "EVIDENCE_SIGNING_KEY: not standard base64"},
		{"an evidence key of the wrong size", env{"EVIDENCE_SIGNING_KEY": "c2hvcnQ="}, "EVIDENCE_SIGNING_KEY: 5 bytes, want the 32-byte"},
		{"an evidence link too long", env{"EVIDENCE_LINK_TTL": "200h"}, "EVIDENCE_LINK_TTL: 200h0m0s is out of range"},
		{"codec keys malformed", env{"PAYLOAD_CODEC_KEYS": "k1"}, "PAYLOAD_CODEC_KEYS: key 1: want id:base64key"},
		{"a codec key of the wrong size", env{"PAYLOAD_CODEC_KEYS": "k1:c2hvcnQ="}, "PAYLOAD_CODEC_KEYS: key k1: 5 bytes, want 32"},
		{"a codec origin with a path", env{"CODEC_CORS_ORIGINS": "http://127.0.0.1:8233/ui"}, "CODEC_CORS_ORIGINS: \"http://127.0.0.1:8233/ui\" is not an origin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadValidated(tc.env)
			wantRefusal(t, err, tc.want)
			noSecrets(t, err, secret)
		})
	}
}
