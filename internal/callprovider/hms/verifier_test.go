package hms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifier(t *testing.T) {
	body := []byte(`{"version":"2.0","id":"9a8b7c6d","type":"peer.join.success","data":{}}`)
	const hmacSecret = "hipaa-signing-secret"
	headers := Verifier{Headers: map[string]string{"X-Vkyc-Webhook-Secret": "wh-secret-1", "x-vkyc-tenant": "bank-a"}}
	withHMAC := Verifier{HMACSecret: hmacSecret}
	both := Verifier{Headers: map[string]string{"X-Vkyc-Webhook-Secret": "wh-secret-1"}, HMACSecret: hmacSecret}
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		v      Verifier
		header http.Header
		body   []byte
		ok     bool
	}{
		{"headers right", headers, h("X-Vkyc-Webhook-Secret", "wh-secret-1", "X-Vkyc-Tenant", "bank-a"), body, true},
		{"header names case-insensitive", headers, http.Header{"x-vkyc-webhook-secret": {"wh-secret-1"}, "X-VKYC-TENANT": {"bank-a"}}, body, true},
		{"header value is case-sensitive", headers, h("X-Vkyc-Webhook-Secret", "WH-SECRET-1", "X-Vkyc-Tenant", "bank-a"), body, false},
		{"header wrong", headers, h("X-Vkyc-Webhook-Secret", "wh-secret-2", "X-Vkyc-Tenant", "bank-a"), body, false},
		{"header prefix of the secret", headers, h("X-Vkyc-Webhook-Secret", "wh-secret", "X-Vkyc-Tenant", "bank-a"), body, false},
		{"one of two headers missing", headers, h("X-Vkyc-Webhook-Secret", "wh-secret-1"), body, false},
		{"no headers", headers, http.Header{}, body, false},
		{"header repeated", headers, h("X-Vkyc-Webhook-Secret", "wrong", "X-Vkyc-Webhook-Secret", "wh-secret-1", "X-Vkyc-Tenant", "bank-a"), body, false},
		{"hmac right", withHMAC, h(SignatureHeader, sign(hmacSecret, body)), body, true},
		{"hmac upper-case hex", withHMAC, h(SignatureHeader, strings.ToUpper(sign(hmacSecret, body))), body, true},
		{"hmac of another body", withHMAC, h(SignatureHeader, sign(hmacSecret, []byte(`{}`))), body, false},
		{"hmac with another secret", withHMAC, h(SignatureHeader, sign("other", body)), body, false},
		{"hmac body tampered", withHMAC, h(SignatureHeader, sign(hmacSecret, body)), append([]byte(nil), append(body, ' ')...), false},
		{"hmac not hex", withHMAC, h(SignatureHeader, "not-hex"), body, false},
		{"hmac missing", withHMAC, http.Header{}, body, false},
		{"hmac empty", withHMAC, h(SignatureHeader, ""), body, false},
		{"headers and hmac right", both, h("X-Vkyc-Webhook-Secret", "wh-secret-1", SignatureHeader, sign(hmacSecret, body)), body, true},
		{"headers right, hmac wrong", both, h("X-Vkyc-Webhook-Secret", "wh-secret-1", SignatureHeader, sign("x", body)), body, false},
		{"hmac right, header wrong", both, h("X-Vkyc-Webhook-Secret", "nope", SignatureHeader, sign(hmacSecret, body)), body, false},
		{"empty verifier refuses", Verifier{}, h("X-Anything", "x"), body, false},
		{"empty header map refuses", Verifier{Headers: map[string]string{}}, http.Header{}, body, false},
		{"configured empty value refuses", Verifier{Headers: map[string]string{"X-Secret": ""}}, http.Header{}, body, false},
		{"configured empty value refuses even when sent empty", Verifier{Headers: map[string]string{"X-Secret": ""}}, h("X-Secret", ""), body, false},
		{"explicitly unauthenticated", Verifier{AllowUnauthenticated: true}, http.Header{}, body, true},
		{"unauthenticated flag does not skip configured checks", Verifier{Headers: map[string]string{"X-Secret": "s"}, AllowUnauthenticated: true}, http.Header{}, body, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Verify(tc.header, tc.body)
			if tc.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Verify = %v, want ErrUnauthenticated", err)
			}
			for _, secret := range []string{"wh-secret-1", "bank-a", hmacSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}
