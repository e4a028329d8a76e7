// Package sso is single sign-on for people: it checks access tokens of the
// bank's OpenID Connect provider and runs the authorization-code exchange
// (with PKCE) for the pages. Discovery and the claim checks are
// github.com/coreos/go-oidc's, the code exchange golang.org/x/oauth2's, the
// keys are parsed and checked by go-jose; this package adds what the engine
// decides: which algorithms (RS256, ES256), how much clock skew, which claim
// names the person and which names the role.
package sso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// Algorithms are the signatures accepted from the provider. HS256 stays the
// engine's own (internal/bank/auth): a shared secret never comes from the IdP.
var Algorithms = []string{oidc.RS256, oidc.ES256}

// Reasons a token or a sign-in is refused. The API answers ErrUnavailable
// with 503, ErrNoRole with 403 and the others with 401; the message of the
// wrapping error says what was wrong.
var (
	ErrInvalid     = errors.New("invalid token")
	ErrNoRole      = errors.New("no engine role")
	ErrUnavailable = errors.New("the identity provider is unavailable")
)

// Identity is who a valid token names: what the API also learns from one of
// the engine's own tokens.
type Identity = auth.Claims

// Provider checks tokens of one issuer. Discovery happens on first use and
// is retried (at most every retryAfter) while it fails, so that the API
// starts, and serves its own tokens, while the bank's provider is down.
type Provider struct {
	cfg    config.OIDC
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	p       *discovered
	lastErr error
	lastTry time.Time
}

type discovered struct {
	verifier *oidc.IDTokenVerifier
	keys     *keySet
	endpoint oauth2.Endpoint
}

const (
	retryAfter       = 5 * time.Second
	discoveryTimeout = 10 * time.Second
)

// New returns a Provider for cfg (which must be Enabled). client makes the
// requests to the provider; nil means a client with a 10 s timeout.
func New(cfg config.OIDC, client *http.Client, now func() time.Time) *Provider {
	if client == nil {
		client = &http.Client{Timeout: discoveryTimeout}
	}
	if now == nil {
		now = time.Now
	}
	return &Provider{cfg: cfg, client: client, now: now}
}

func (p *Provider) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p != nil {
		return p.p, nil
	}
	if p.lastErr != nil && p.now().Sub(p.lastTry) < retryAfter {
		return nil, p.lastErr
	}
	p.lastTry = p.now()
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), discoveryTimeout)
	defer cancel()
	prov, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		p.lastErr = fmt.Errorf("%w: discovery at %s: %w", ErrUnavailable, p.cfg.Issuer, err)
		return nil, p.lastErr
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := prov.Claims(&meta); err != nil || meta.JWKSURI == "" {
		p.lastErr = fmt.Errorf("%w: the discovery document of %s names no jwks_uri", ErrUnavailable, p.cfg.Issuer)
		return nil, p.lastErr
	}
	keys := newKeySet(meta.JWKSURI, p.client, p.now)
	d := &discovered{
		keys: keys,
		verifier: oidc.NewVerifier(p.cfg.Issuer, keys, &oidc.Config{
			ClientID:             p.cfg.Audience,
			SupportedSigningAlgs: Algorithms,
			// exp, nbf and iat are checked below with OIDC_CLOCK_SKEW:
			// go-oidc allows no skew on exp and five minutes on nbf.
			SkipExpiryCheck: true,
		}),
		endpoint: prov.Endpoint(),
	}
	if p.cfg.ClientSecret == "" {
		// A public client sends its id in the body; Basic with an empty
		// password is refused by some providers.
		d.endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	p.p, p.lastErr = d, nil
	return d, nil
}

// Verify checks an access token: signed with RS256 or ES256 by a key the
// provider publishes, issued by the issuer for the audience, within its
// lifetime (give or take the clock skew), naming a person and exactly one
// engine role.
func (p *Provider) Verify(ctx context.Context, raw string) (Identity, error) {
	jws, err := jose.ParseSignedCompact(raw, algorithms())
	if err != nil {
		return Identity{}, fmt.Errorf("%w: not a JWT signed with %s", ErrInvalid, strings.Join(Algorithms, " or "))
	}
	// Unverified, only to name what is wrong; the verifier below decides.
	var peek struct {
		Issuer   string           `json:"iss"`
		Audience josejwt.Audience `json:"aud"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &peek); err != nil {
		return Identity{}, fmt.Errorf("%w: the payload is not a JSON object", ErrInvalid)
	}
	if peek.Issuer != p.cfg.Issuer {
		return Identity{}, fmt.Errorf("%w: issued by %q, not by this engine's provider", ErrInvalid, truncate(peek.Issuer, 100))
	}
	if !slices.Contains(peek.Audience, p.cfg.Audience) {
		return Identity{}, fmt.Errorf("%w: meant for another audience (aud does not hold %q)", ErrInvalid, p.cfg.Audience)
	}
	d, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	rec := &keyOutcome{}
	tok, err := d.verifier.Verify(context.WithValue(ctx, keyOutcomeKey{}, rec), raw)
	if err != nil {
		if rec.err != nil {
			return Identity{}, rec.err
		}
		return Identity{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %w", ErrInvalid, err)
	}
	exp, err := p.checkTimes(tok, claims)
	if err != nil {
		return Identity{}, err
	}
	sub, ok := lookup(claims, p.cfg.SubjectClaim).(string)
	if !ok || sub == "" {
		return Identity{}, fmt.Errorf("%w: no %s claim names the person", ErrInvalid, p.cfg.SubjectClaim)
	}
	// The subject is an actor of the event log and part of update ids.
	if err := kyc.CheckSubject(sub); err != nil {
		return Identity{}, fmt.Errorf("%w: %s %w", ErrInvalid, p.cfg.SubjectClaim, err)
	}
	role, err := p.role(claims)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Subject: sub, Role: role, ExpiresAt: exp}, nil
}

// checkTimes requires exp, and checks exp, nbf and iat against now with the
// configured skew.
func (p *Provider) checkTimes(tok *oidc.IDToken, claims map[string]any) (time.Time, error) {
	now, skew := p.now(), p.cfg.ClockSkew
	if tok.Expiry.IsZero() {
		return time.Time{}, fmt.Errorf("%w: no exp claim", ErrInvalid)
	}
	if !now.Before(tok.Expiry.Add(skew)) {
		return time.Time{}, fmt.Errorf("%w: expired at %s", ErrInvalid, tok.Expiry.UTC().Format(time.RFC3339))
	}
	if nbf, ok := claims["nbf"].(float64); ok {
		if t := time.Unix(int64(nbf), 0); now.Add(skew).Before(t) {
			return time.Time{}, fmt.Errorf("%w: not valid before %s", ErrInvalid, t.UTC().Format(time.RFC3339))
		}
	}
	if !tok.IssuedAt.IsZero() && now.Add(skew).Before(tok.IssuedAt) {
		return time.Time{}, fmt.Errorf("%w: issued in the future (%s)", ErrInvalid, tok.IssuedAt.UTC().Format(time.RFC3339))
	}
	return tok.Expiry, nil
}

// role maps the names in the role claim to one engine role.
func (p *Provider) role(claims map[string]any) (kyc.Role, error) {
	var names []string
	switch v := lookup(claims, p.cfg.RoleClaim).(type) {
	case string:
		names = strings.Fields(v)
	case []any:
		for _, n := range v {
			if s, ok := n.(string); ok {
				names = append(names, s)
			}
		}
	}
	var roles []string
	for _, n := range names {
		if r, ok := p.cfg.RoleMap[n]; ok && !slices.Contains(roles, string(r)) {
			roles = append(roles, string(r))
		}
	}
	switch len(roles) {
	case 1:
		return kyc.Role(roles[0]), nil
	case 0:
		return "", fmt.Errorf("%w: none of the names in the token's %s claim maps to a role (OIDC_ROLE_MAP)", ErrNoRole, p.cfg.RoleClaim)
	default:
		// Maker-checker: one person is never agent and auditor at once.
		slices.Sort(roles)
		return "", fmt.Errorf("%w: the token's %s claim maps to several roles (%s); give each person one", ErrNoRole, p.cfg.RoleClaim, strings.Join(roles, ", "))
	}
}

// lookup follows a dotted claim name into nested objects.
func lookup(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var cur any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// SignIn is what the pages need to send a person to the provider.
type SignIn struct {
	URL, State, Verifier string
}

// AuthCodeURL starts a sign-in: the provider's authorization URL for
// redirectURI with a fresh state and a PKCE challenge; the page keeps state
// and verifier (never in a URL) until the provider sends the person back.
func (p *Provider) AuthCodeURL(ctx context.Context, redirectURI string) (SignIn, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return SignIn{}, err
	}
	s := SignIn{State: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
	s.URL = p.oauth(d, redirectURI).AuthCodeURL(s.State, oauth2.S256ChallengeOption(s.Verifier))
	return s, nil
}

// Exchange trades an authorization code (with its PKCE verifier) for the
// provider's access token and checks it as Verify does.
func (p *Provider) Exchange(ctx context.Context, code, verifier, redirectURI string) (string, Identity, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", Identity{}, err
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, p.client), discoveryTimeout)
	defer cancel()
	tok, err := p.oauth(d, redirectURI).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			desc := re.ErrorCode
			if re.ErrorDescription != "" {
				desc += ": " + re.ErrorDescription
			}
			return "", Identity{}, fmt.Errorf("%w: the provider refused the code (%s)", ErrInvalid, truncate(desc, 200))
		}
		return "", Identity{}, fmt.Errorf("%w: code exchange: %w", ErrUnavailable, err)
	}
	id, err := p.Verify(ctx, tok.AccessToken)
	if err != nil {
		return "", Identity{}, err
	}
	return tok.AccessToken, id, nil
}

func (p *Provider) oauth(d *discovered, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
		Endpoint: d.endpoint, RedirectURL: redirectURI, Scopes: p.cfg.Scopes,
	}
}

func algorithms() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(Algorithms))
	for i, a := range Algorithms {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
