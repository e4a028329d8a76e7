package sso_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vkyc-engine/vkyc/internal/bank/devoidc"
	"github.com/vkyc-engine/vkyc/internal/bank/sso"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

const redirect = "http://127.0.0.1:1/app/agent"

type idp struct {
	*devoidc.Provider
	url       string
	keyFetchs atomic.Int64
}

// startIdP serves a development provider on a loopback port, counting the
// fetches of its key set.
func startIdP(t *testing.T, alg string) *idp {
	t.Helper()
	i := &idp{}
	srv := httptest.NewUnstartedServer(nil)
	i.url = "http://" + srv.Listener.Addr().String()
	p, err := devoidc.New(devoidc.Config{
		Issuer:    i.url,
		Users:     append(devoidc.DevUsers("pw"), devoidc.User{ID: "visitor-5", Password: "pw", Groups: []string{"marketing"}}),
		Clients:   []devoidc.Client{{ID: "vkyc-pages", RedirectURIs: []string{redirect}}},
		Algorithm: alg,
	})
	if err != nil {
		t.Fatal(err)
	}
	i.Provider = p
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			i.keyFetchs.Add(1)
		}
		p.Handler().ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return i
}

func ssoConfig(issuer string) config.OIDC {
	return config.OIDC{
		Issuer: issuer, ClientID: "vkyc-pages", Audience: "vkyc-pages", Scopes: []string{"openid", "profile"},
		RoleClaim: "groups", SubjectClaim: "sub", ClockSkew: 30 * time.Second,
		RoleMap: map[string]kyc.Role{devoidc.GroupAgents: kyc.RoleAgent, devoidc.GroupAuditors: kyc.RoleAuditor, devoidc.GroupAdmins: kyc.RoleAdmin},
	}
}

// signIn runs the whole code flow with PKCE through the provider's login
// page and returns the access token.
func signIn(t *testing.T, p *sso.Provider, user string) (string, sso.Identity) {
	t.Helper()
	ctx := context.Background()
	start, err := p.AuthCodeURL(ctx, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(start.URL, "code_challenge_method=S256") || strings.Contains(start.URL, start.Verifier) {
		t.Fatalf("authorization URL %s: want an S256 challenge and never the verifier", start.URL)
	}
	back, err := devoidc.Login(ctx, start.URL, user, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != start.State {
		t.Fatalf("state %q came back as %q", start.State, back.Query().Get("state"))
	}
	token, id, err := p.Exchange(ctx, back.Query().Get("code"), start.Verifier, redirect)
	if err != nil {
		t.Fatalf("exchange as %s: %v", user, err)
	}
	return token, id
}

func TestSignInAndRotation(t *testing.T) {
	i := startIdP(t, "RS256")
	p := sso.New(ssoConfig(i.url), nil, nil)
	ctx := context.Background()

	rsToken, id := signIn(t, p, "agent-7")
	if id.Subject != "agent-7" || id.Role != kyc.RoleAgent || time.Until(id.ExpiresAt) < 50*time.Minute {
		t.Fatalf("identity %+v", id)
	}
	if alg := header(t, rsToken).Algorithm; alg != "RS256" {
		t.Fatalf("first token signed with %s", alg)
	}
	fetches := i.keyFetchs.Load()

	// The provider rotates to an ES256 key: its next token has a key id
	// the verifier has not seen, so the key set is fetched once more.
	kid, err := i.Rotate("ES256")
	if err != nil {
		t.Fatal(err)
	}
	esToken, id := signIn(t, p, "auditor-3")
	if h := header(t, esToken); h.Algorithm != "ES256" || h.KeyID != kid {
		t.Fatalf("after rotation: %s with key %s, want ES256 with %s", h.Algorithm, h.KeyID, kid)
	}
	if id.Role != kyc.RoleAuditor {
		t.Fatalf("auditor-3 got %s", id.Role)
	}
	if got := i.keyFetchs.Load() - fetches; got != 1 {
		t.Fatalf("the rotation cost %d key set fetches, want 1", got)
	}
	// Tokens of the earlier key stay valid while it is published.
	if _, err := p.Verify(ctx, rsToken); err != nil {
		t.Fatalf("the RS256 token after rotation: %v", err)
	}
	if _, _, err := p.Exchange(ctx, "made-up-code", "verifier-verifier-verifier-verifier-verifier", redirect); !errors.Is(err, sso.ErrInvalid) {
		t.Fatalf("a made-up code: %v, want ErrInvalid", err)
	}

	// PKCE: a code is worth nothing without its verifier, and only once.
	start, err := p.AuthCodeURL(ctx, redirect)
	if err != nil {
		t.Fatal(err)
	}
	back, err := devoidc.Login(ctx, start.URL, "agent-9", "pw")
	if err != nil {
		t.Fatal(err)
	}
	code := back.Query().Get("code")
	other, _ := p.AuthCodeURL(ctx, redirect)
	if _, _, err := p.Exchange(ctx, code, other.Verifier, redirect); !errors.Is(err, sso.ErrInvalid) {
		t.Fatalf("a code with another sign-in's verifier: %v, want ErrInvalid", err)
	}
	back, err = devoidc.Login(ctx, start.URL, "agent-9", "pw")
	if err != nil {
		t.Fatal(err)
	}
	code = back.Query().Get("code")
	if _, _, err := p.Exchange(ctx, code, start.Verifier, redirect); err != nil {
		t.Fatalf("the code with its verifier: %v", err)
	}
	if _, _, err := p.Exchange(ctx, code, start.Verifier, redirect); !errors.Is(err, sso.ErrInvalid) {
		t.Fatalf("the same code again: %v, want ErrInvalid", err)
	}
}

func TestRefusals(t *testing.T) {
	i := startIdP(t, "ES256")
	other := startIdP(t, "RS256")
	p := sso.New(ssoConfig(i.url), nil, nil)
	ctx := context.Background()
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": i.url, "aud": []string{"vkyc-pages"}, "sub": "agent-7", "groups": []string{devoidc.GroupAgents},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(by *idp, edit func(map[string]any)) string {
		tok, err := by.Sign(claims(edit))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if _, err := p.Verify(ctx, sign(i, nil)); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	tests := []struct {
		name  string
		token string
		want  error
		says  string
	}{
		{"another issuer", sign(other, func(c map[string]any) { c["iss"] = other.url }), sso.ErrInvalid, "issued by"},
		{"another issuer's key, our issuer's name", sign(other, nil), sso.ErrInvalid, "unknown key id"},
		{"another audience", sign(i, func(c map[string]any) { c["aud"] = "payments-app" }), sso.ErrInvalid, "audience"},
		{"expired past the skew", sign(i, func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), sso.ErrInvalid, "expired"},
		{"not valid yet past the skew", sign(i, func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }), sso.ErrInvalid, "not valid before"},
		{"issued in the future", sign(i, func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), sso.ErrInvalid, "future"},
		{"no exp", sign(i, func(c map[string]any) { delete(c, "exp") }), sso.ErrInvalid, "exp"},
		{"unknown key id", foreign(t, "not-published", claims(nil)), sso.ErrInvalid, "unknown key id"},
		{"groups mapping to nothing", sign(i, func(c map[string]any) { c["groups"] = []string{"marketing"} }), sso.ErrNoRole, "maps to a role"},
		{"no groups", sign(i, func(c map[string]any) { delete(c, "groups") }), sso.ErrNoRole, "maps to a role"},
		{"agent and auditor at once", sign(i, func(c map[string]any) { c["groups"] = []string{devoidc.GroupAgents, devoidc.GroupAuditors} }), sso.ErrNoRole, "several roles"},
		{"subject with a space", sign(i, func(c map[string]any) { c["sub"] = "agent 7" }), sso.ErrInvalid, "sub"},
		{"HS256", hs256(t), sso.ErrInvalid, "not a JWT signed with RS256 or ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Verify(ctx, tt.token)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want %v saying %q", err, tt.want, tt.says)
			}
		})
	}
	// Within the skew, early and late tokens pass.
	for _, edit := range []func(map[string]any){
		func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() },
		func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() },
	} {
		if _, err := p.Verify(ctx, sign(i, edit)); err != nil {
			t.Fatalf("a token within the skew: %v", err)
		}
	}
}

// A flood of made-up key ids costs the provider at most one key set fetch
// per ten seconds.
func TestUnknownKeysDoNotFloodTheProvider(t *testing.T) {
	i := startIdP(t, "RS256")
	p := sso.New(ssoConfig(i.url), nil, nil)
	ctx := context.Background()
	good, err := i.Sign(map[string]any{"iss": i.url, "aud": "vkyc-pages", "sub": "agent-7", "groups": []string{devoidc.GroupAgents}, "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	before := i.keyFetchs.Load()
	for n := range 50 {
		tok := foreign(t, "made-up-"+string(rune('a'+n%26)), map[string]any{"iss": i.url, "aud": "vkyc-pages", "sub": "x", "exp": time.Now().Add(time.Hour).Unix()})
		if _, err := p.Verify(ctx, tok); !errors.Is(err, sso.ErrInvalid) {
			t.Fatalf("made-up key id: %v", err)
		}
	}
	if got := i.keyFetchs.Load() - before; got > 1 {
		t.Fatalf("50 made-up key ids cost %d key set fetches, want at most 1", got)
	}
	if _, err := p.Verify(ctx, good); err != nil {
		t.Fatalf("a good token after the flood: %v", err)
	}
}

func TestProviderDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	p := sso.New(ssoConfig(url), nil, nil)
	tok := foreign(t, "k", map[string]any{"iss": url, "aud": "vkyc-pages", "sub": "agent-7", "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := p.Verify(context.Background(), tok); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("provider down: %v, want ErrUnavailable", err)
	}
}

// foreign signs claims with a key no provider publishes.
func foreign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, claims)
}

func hs256(t *testing.T) string {
	return signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, map[string]any{"sub": "agent-7"})
}

func signWith(t *testing.T, key jose.SigningKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func header(t *testing.T, token string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header
}
