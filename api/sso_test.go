package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/vkyc-engine/vkyc/api"
	"github.com/vkyc-engine/vkyc/internal/bank/devoidc"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

const (
	idpClient   = "vkyc-pages"
	idpPassword = "api-test-idp-password"
)

// startIdP serves a development OpenID Connect provider whose client is the
// pages of the API at apiURL.
func startIdP(t *testing.T, apiURL, alg string) *devoidc.Provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p, err := devoidc.New(devoidc.Config{
		Issuer:    "http://" + srv.Listener.Addr().String(),
		Users:     devoidc.DevUsers(idpPassword),
		Clients:   []devoidc.Client{{ID: idpClient, RedirectURIs: []string{apiURL + "/app/agent", apiURL + "/app/audit"}}},
		Algorithm: alg,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// ssoSignIn signs user in as the pages do: the API starts the flow, the
// provider's login page takes the password and sends the browser back to
// the page with a code, the API exchanges it.
func (e *env) ssoSignIn(user, page string) signIn {
	e.t.Helper()
	r := e.call(req{method: "POST", path: "/v1/sign-in/oidc/start", json: map[string]string{"page": page}})
	wantStatus(e.t, r, http.StatusOK)
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string `json:"state"`
		CodeVerifier     string `json:"code_verifier"`
		RedirectURI      string `json:"redirect_uri"`
	}
	r.decode(e.t, &start)
	if start.RedirectURI != e.url+"/app/"+page {
		e.t.Fatalf("redirect URI %s", start.RedirectURI)
	}
	back, err := devoidc.Login(context.Background(), start.AuthorizationURL, user, idpPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != start.RedirectURI || back.Query().Get("state") != start.State {
		e.t.Fatalf("the provider sent the browser to %s", back.Redacted())
	}
	r = e.call(req{method: "POST", path: "/v1/sign-in/oidc", json: map[string]string{
		"page": page, "code": back.Query().Get("code"), "code_verifier": start.CodeVerifier,
	}})
	wantStatus(e.t, r, http.StatusOK)
	var s signIn
	r.decode(e.t, &s)
	return s
}

type signIn struct {
	Token     string    `json:"token"`
	Sub       string    `json:"sub"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TestSingleSignOn signs people in through a real OpenID Connect provider
// (RS256, then ES256 after a key rotation) and uses their access tokens on
// the API next to the engine's own tokens.
func TestSingleSignOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{oidc: true})

	r := e.call(req{method: "GET", path: "/v1/sign-in"})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `"oidc"`) || !strings.Contains(string(r.body), `"development"`) {
		t.Fatalf("sign-in methods %s", r.body)
	}

	agent := e.ssoSignIn("agent-7", "agent")
	if agent.Sub != "agent-7" || agent.Role != "agent" || time.Until(agent.ExpiresAt) < 50*time.Minute {
		t.Fatalf("agent-7 signed in as %+v", agent)
	}
	if alg := tokenHeader(t, agent.Token).Algorithm; alg != "RS256" {
		t.Fatalf("the provider signed with %s", alg)
	}
	// The case is the bank's (HS256 service token); the agent takes it
	// with the provider's token and becomes its agent.
	v := e.createCase()
	r = e.post(v.ID, "/join-tokens", agent.Token, map[string]string{"role": "agent"}, nil)
	wantStatus(t, r, http.StatusOK)
	if got := e.waitFor(v.ID, "agent assigned", func(v kyc.CaseView) bool { return v.AgentID != "" }); got.AgentID != "agent-7" {
		t.Fatalf("agent %q assigned", got.AgentID)
	}
	wantError(t, e.call(req{method: "POST", path: "/v1/cases", token: agent.Token, json: map[string]any{"customer": map[string]string{"reference": "R"}}}),
		http.StatusForbidden, "forbidden")

	// The provider rotates to an ES256 key; the API follows.
	if _, err := e.idp.Rotate("ES256"); err != nil {
		t.Fatal(err)
	}
	auditor := e.ssoSignIn("auditor-3", "audit")
	if h := tokenHeader(t, auditor.Token); h.Algorithm != "ES256" || auditor.Role != "auditor" {
		t.Fatalf("auditor-3 after rotation: %s token, role %s", h.Algorithm, auditor.Role)
	}
	wantStatus(t, e.call(req{method: "GET", path: "/v1/cases?status=awaiting_audit", token: auditor.Token}), http.StatusOK)
	wantStatus(t, e.call(req{method: "GET", path: casePath(v.ID), token: agent.Token}), http.StatusOK)

	// The codec endpoint takes the provider's admin token as a bearer token
	// and in its session cookie.
	admin := e.ssoSignIn("admin-1", "agent")
	if admin.Role != "admin" {
		t.Fatalf("admin-1 got role %s", admin.Role)
	}
	decode := func(headers map[string]string, token string) response {
		return e.call(req{method: "POST", path: "/codec/decode", token: token, json: map[string]any{"payloads": []any{}}, headers: headers})
	}
	wantStatus(t, decode(nil, admin.Token), http.StatusOK)
	wantError(t, decode(nil, agent.Token), http.StatusForbidden, "forbidden")
	signin := e.call(req{method: "POST", path: "/codec/sign-in", raw: []byte(url.Values{"token": {admin.Token}}.Encode()), contentType: "application/x-www-form-urlencoded"})
	wantStatus(t, signin, http.StatusOK)
	cookie := signin.header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "vkyc_codec=") {
		t.Fatalf("codec sign-in set no cookie: %q", cookie)
	}
	wantStatus(t, decode(map[string]string{"Cookie": strings.Split(cookie, ";")[0]}, ""), http.StatusOK)

	// What the sign-in endpoints refuse.
	wantError(t, e.call(req{method: "POST", path: "/v1/sign-in/oidc/start", json: map[string]string{"page": "join"}}), http.StatusUnprocessableEntity, "invalid_field")
	wantError(t, e.call(req{method: "POST", path: "/v1/sign-in/oidc", json: map[string]string{"page": "agent", "code": "made-up", "code_verifier": strings.Repeat("v", 43)}}),
		http.StatusUnauthorized, "unauthorized")
	wantError(t, e.call(req{method: "POST", path: "/v1/sign-in/oidc", json: map[string]string{"page": "agent", "code": "a\x00b", "code_verifier": "v"}}),
		http.StatusUnprocessableEntity, "invalid_field")

	// Without OIDC_ISSUER the provider's tokens are refused and the pages'
	// sign-in says it is not configured.
	plain := e.otherAPIWith(func(d *api.Deps) { d.Config.OIDC = config.OIDC{} })
	r = e.call(req{base: plain, method: "GET", path: "/v1/cases", token: agent.Token})
	wantError(t, r, http.StatusUnauthorized, "unauthorized")
	if !strings.Contains(string(r.body), "OIDC_ISSUER") {
		t.Fatalf("the refusal does not say why: %s", r.body)
	}
	wantError(t, e.call(req{base: plain, method: "POST", path: "/v1/sign-in/oidc/start", json: map[string]string{"page": "agent"}}), http.StatusNotFound, "sign_in_not_configured")
}

func tokenHeader(t *testing.T, token string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header
}
