package message

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Secret sizes: the specification asks for 24 to 64 random bytes.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
	secretPrefix   = "whsec_"
)

// CheckSecret says what is wrong with a signing secret, which must be
// "whsec_" and the base64 of 24 to 64 bytes (the specification's format).
// The message never repeats the secret.
func CheckSecret(secret string) error {
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return errors.New("a secret must start with whsec_ (whsec_ and base64 of 24 to 64 random bytes)")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return errors.New("the part after whsec_ is not standard base64")
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return fmt.Errorf("a secret must hold %d to %d bytes, this one holds %d", minSecretBytes, maxSecretBytes, len(key))
	}
	return nil
}

// NewSecret returns a fresh random signing secret of 32 bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Signer signs messages with every configured secret: during a rotation
// both the old and the new one are configured and each message carries a
// signature of each, so the bank's receiver accepts it with either.
type Signer struct {
	hooks []*standardwebhooks.Webhook
}

// NewSigner makes a signer of one or more secrets.
func NewSigner(secrets []string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("message: no signing secret")
	}
	s := &Signer{}
	for i, sec := range secrets {
		if err := CheckSecret(sec); err != nil {
			return nil, fmt.Errorf("message: secret %d: %w", i+1, err)
		}
		wh, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			return nil, fmt.Errorf("message: secret %d: %w", i+1, err)
		}
		s.hooks = append(s.hooks, wh)
	}
	return s, nil
}

// Headers are the Standard Webhooks headers of one delivery attempt: the
// message id, the attempt's time and the space-separated signatures.
func (s *Signer) Headers(id string, at time.Time, payload []byte) (http.Header, error) {
	sigs := make([]string, 0, len(s.hooks))
	for _, wh := range s.hooks {
		sig, err := wh.Sign(id, at, payload)
		if err != nil {
			return nil, fmt.Errorf("message: sign %s: %w", id, err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	return h, nil
}
