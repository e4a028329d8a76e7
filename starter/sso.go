package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/bank/devoidc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

// ssoToken signs a person in as the pages do (authorization code with PKCE
// through the API's /v1/sign-in/oidc endpoints) and prints the identity
// provider's access token, for curl. It fills in the login page of the
// development provider of `make dev` (internal/bank/devoidc); a bank's own
// provider has its own login, which only a browser goes through.
func (c *cli) ssoToken(ctx context.Context, args []string) error {
	fs := c.newFlags("sso-token", "--user USER [--password P] [--page agent|audit] [--api URL]")
	user := fs.String("user", "", "who signs in, e.g. agent-7 (required)")
	password := fs.String("password", devoidc.DevPassword, "their password at the development provider")
	page := fs.String("page", "agent", "the page whose sign-in to run: agent or audit")
	base := addAPIBaseFlag(fs)
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return usagef("sso-token: --user is required")
	}
	if *base == "" {
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		*base = cfg.PublicBaseURL
	}
	api := strings.TrimRight(*base, "/")
	var start struct {
		AuthorizationURL string `json:"authorization_url"`
		State            string `json:"state"`
		CodeVerifier     string `json:"code_verifier"`
	}
	if err := postJSON(ctx, api+"/v1/sign-in/oidc/start", map[string]string{"page": *page}, &start); err != nil {
		return err
	}
	back, err := devoidc.Login(ctx, start.AuthorizationURL, *user, *password)
	if err != nil {
		return err
	}
	if back.Query().Get("state") != start.State {
		return fmt.Errorf("sso-token: the provider answered another sign-in's state")
	}
	var s struct {
		Token     string    `json:"token"`
		Sub       string    `json:"sub"`
		Role      string    `json:"role"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := postJSON(ctx, api+"/v1/sign-in/oidc", map[string]string{
		"page": *page, "code": back.Query().Get("code"), "code_verifier": start.CodeVerifier,
	}, &s); err != nil {
		return err
	}
	fmt.Fprintln(c.out, s.Token)
	fmt.Fprintf(c.errOut, "identity provider token for %s (%s), valid until %s\n", s.Sub, s.Role, s.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

func postJSON(ctx context.Context, url string, body, out any) error {
	_, err := apiclient.Do(ctx, apiHTTP, apiclient.Request{Method: http.MethodPost, URL: url, JSON: body}, out)
	return err
}
