package devoidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Login goes through this provider's sign-in as a browser would: it opens
// authURL (an authorization request), fills in the login page with user and
// password, and returns the URL the provider then sends the browser to (the
// application's redirect URI with the code and state). Tests and `starter
// sso-token` use it; it works with this provider's login page only.
func Login(ctx context.Context, authURL, user, password string) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	next, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	var page string
	for range 5 { // the authorization endpoint redirects to the login page
		resp, err := get(ctx, c, next.String())
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther {
			if next, err = next.Parse(resp.Header.Get("Location")); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("devoidc login: %s answered %d: %.200s", next.Redacted(), resp.StatusCode, body)
		}
		page = string(body)
		break
	}
	m := regexp.MustCompile(`name="id" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return nil, errors.New("devoidc login: no login form")
	}
	form := url.Values{"id": {m[1]}, "username": {user}, "password": {password}}
	loginURL, _ := next.Parse("/login")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loginURL.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("devoidc login: the login form answered %d (wrong user or password?)", resp.StatusCode)
	}
	// The library's callback issues the code and redirects to the client.
	cb, err := next.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	resp, err = get(ctx, c, cb.String())
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("devoidc login: the callback answered %d", resp.StatusCode)
	}
	return cb.Parse(resp.Header.Get("Location"))
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req) // #nosec G704 -- the provider's own URLs, given by the caller
}
