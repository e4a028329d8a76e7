package sso

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/time/rate"
)

// keySet is the provider's published keys (its jwks_uri), for go-oidc's
// verifier. go-oidc's own RemoteKeySet fetches the set again for every
// token it cannot verify, so a flood of forged tokens (made-up key ids, bad
// signatures) would become a flood of requests to the bank's provider; this
// one fetches again only for a key id it does not hold, at most once per
// refetchEvery, and when its copy is older than maxAge, which is how a
// rotation is followed: the provider publishes the new key, signs with it,
// the first token with the new key id brings it in.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey
	fetched time.Time
	limit   *rate.Limiter
}

const (
	refetchEvery = 10 * time.Second
	maxKeysAge   = time.Hour
	maxJWKSBytes = 1 << 20
)

func newKeySet(url string, client *http.Client, now func() time.Time) *keySet {
	return &keySet{url: url, client: client, now: now, limit: rate.NewLimiter(rate.Every(refetchEvery), 1)}
}

// keyOutcome carries the key set's reason for a refusal past go-oidc, which
// formats it into a string.
type keyOutcome struct{ err error }

type keyOutcomeKey struct{}

func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	payload, err := k.verify(ctx, raw)
	if err != nil {
		if rec, ok := ctx.Value(keyOutcomeKey{}).(*keyOutcome); ok {
			rec.err = err
		}
		return nil, err
	}
	return payload, nil
}

func (k *keySet) verify(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, algorithms())
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: not a JWT with one signature", ErrInvalid)
	}
	h := jws.Signatures[0].Header
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: no key id (kid) in the header", ErrInvalid)
	}
	key, err := k.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("%w: key %q is for %s, the token says %s", ErrInvalid, h.KeyID, key.Algorithm, h.Algorithm)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature does not verify with key %q", ErrInvalid, h.KeyID)
	}
	return payload, nil
}

// key returns the published key kid, fetching the set when it is missing
// (within the rate limit) or stale.
func (k *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[kid]
	stale := k.now().Sub(k.fetched) > maxKeysAge
	if ok && !stale {
		return key, nil
	}
	if k.keys != nil && !k.limit.Allow() {
		if ok {
			return key, nil
		}
		return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key id %q (the provider's keys were fetched moments ago)", ErrInvalid, kid)
	}
	// Held under the lock: concurrent misses wait for this one fetch.
	if err := k.fetch(ctx); err != nil {
		if ok {
			return key, nil // a stale copy beats refusing everyone
		}
		return jose.JSONWebKey{}, err
	}
	if key, ok = k.keys[kid]; !ok {
		return jose.JSONWebKey{}, fmt.Errorf("%w: unknown key id %q: the provider does not publish it", ErrInvalid, kid)
	}
	return key, nil
}

func (k *keySet) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	resp, err := k.client.Do(req) // #nosec G704 -- jwks_uri of the configured issuer's discovery document
	if err != nil {
		return fmt.Errorf("%w: keys: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: keys: %s answered %d", ErrUnavailable, k.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return fmt.Errorf("%w: keys: %w", ErrUnavailable, err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("%w: keys: %s is not a JWK set: %w", ErrUnavailable, k.url, err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, key := range set.Keys {
		if key.KeyID == "" || !key.Valid() || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		keys[key.KeyID] = key
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: keys: %s publishes no signing key", ErrUnavailable, k.url)
	}
	k.keys, k.fetched = keys, k.now()
	return nil
}
