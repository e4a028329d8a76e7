package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// OIDC is single sign-on for people: the API accepts access tokens of the
// bank's OpenID Connect provider (RS256 or ES256, checked against the
// provider's published keys) next to its own HS256 tokens, and the pages
// sign in with the authorization-code flow with PKCE. Off when Issuer is "".
type OIDC struct {
	// Issuer is the provider's issuer URL; discovery is at
	// Issuer/.well-known/openid-configuration. A trailing slash is kept:
	// the issuer is compared byte for byte with the discovery document's
	// and each token's iss (Auth0's ends in "/").
	Issuer string `env:"OIDC_ISSUER" docDefault:"(none: single sign-on off)" doc:"issuer URL of the bank's OpenID Connect provider, exactly as its discovery document says (https in production); the API then accepts its RS256/ES256 access tokens and the pages sign in with it"`
	// ClientID is the pages' client at the provider; ClientSecret is sent
	// on the code exchange when the provider registers them as a
	// confidential client ("" for a public client, PKCE alone).
	ClientID     string `env:"OIDC_CLIENT_ID" docDefault:"(none; required with OIDC_ISSUER)" doc:"the pages' client id at the provider (authorization code with PKCE; redirect URIs \x60$PUBLIC_BASE_URL/app/agent\x60 and \x60$PUBLIC_BASE_URL/app/audit\x60)"`
	ClientSecret string `env:"OIDC_CLIENT_SECRET" secret:"true" docDefault:"(none: a public client)" doc:"the client's secret, sent by the API on the code exchange when the provider registers the pages as a confidential client"`
	// Audience is what an access token's aud must hold (ClientID when unset).
	Audience string `env:"OIDC_AUDIENCE" docDefault:"(OIDC_CLIENT_ID)" doc:"what an access token's \x60aud\x60 must hold"`
	// Scopes are asked for at sign-in.
	Scopes Words `env:"OIDC_SCOPES" envDefault:"openid" doc:"space-separated scopes asked for at sign-in (e.g. \x60openid groups\x60)"`
	// RoleClaim is the claim holding group or role names (a string or a
	// list); a dotted name reaches into objects (realm_access.roles).
	RoleClaim string `env:"OIDC_ROLE_CLAIM" envDefault:"groups" doc:"claim holding the person's group or role names (a string or a list; \x60a.b\x60 reaches into an object, e.g. \x60realm_access.roles\x60)"`
	// RoleMap maps those names to the engine's roles.
	RoleMap map[string]kyc.Role `env:"OIDC_ROLE_MAP" docDefault:"(none; required with OIDC_ISSUER)" doc:"\x60name=role,...\x60: group or role names mapped to agent, auditor or admin; a token whose names map to no role, or to two, is refused (403)"`
	// SubjectClaim names the person: the id that cases and the event log
	// record.
	SubjectClaim string `env:"OIDC_SUBJECT_CLAIM" envDefault:"sub" doc:"claim naming the person, as cases and the event log record them (e.g. \x60preferred_username\x60)"`
	// ClockSkew is how far exp, nbf and iat may be off.
	ClockSkew time.Duration `env:"OIDC_CLOCK_SKEW" envDefault:"60s" doc:"how far a token's exp, nbf and iat may be off this clock (at most 5m)"`
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// maxOIDCClockSkew bounds OIDC_CLOCK_SKEW: past a few minutes an expired
// token is simply accepted.
const maxOIDCClockSkew = 5 * time.Minute

// parseRoleMap reads name=role,... with role agent, auditor or admin (the
// bank's backend keeps its HS256 service tokens).
func parseRoleMap(name, v string) (map[string]kyc.Role, error) {
	out := map[string]kyc.Role{}
	var errs []error
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		n, role, ok := strings.Cut(item, "=")
		n, role = strings.TrimSpace(n), strings.TrimSpace(role)
		switch kyc.Role(role) {
		case kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin:
		default:
			errs = append(errs, fmt.Errorf("%s: %q: want name=role with role agent, auditor or admin", name, item))
			continue
		}
		if !ok || n == "" {
			errs = append(errs, fmt.Errorf("%s: %q: want name=role", name, item))
			continue
		}
		out[n] = kyc.Role(role)
	}
	return out, errors.Join(errs...)
}

// finishOIDC derives the defaults that depend on other settings and checks
// the issuer and scopes.
func (l *loader) finishOIDC(c *Config) {
	o := &c.OIDC
	if o.Audience == "" {
		o.Audience = o.ClientID
	}
	if o.RoleMap == nil {
		o.RoleMap = map[string]kyc.Role{}
	}
	if !o.Enabled() {
		return
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		l.fail(EnvOIDCIssuer, "%q is not an http(s) URL", o.Issuer)
	}
	if !slices.Contains(o.Scopes, "openid") {
		l.fail(EnvOIDCScopes, "must include openid")
	}
}

// oidcErrors are Validate's checks of the single sign-on settings.
func (c Config) oidcErrors() []error {
	o := c.OIDC
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if o.ClockSkew > maxOIDCClockSkew {
		fail(EnvOIDCClockSkew, "%s is more than %s", o.ClockSkew, maxOIDCClockSkew)
	}
	if !o.Enabled() {
		for _, name := range []string{EnvOIDCClientID, EnvOIDCClientSecret, EnvOIDCAudience, EnvOIDCRoleMap} {
			if c.set[name] {
				fail(name, "is set but %s is not: single sign-on is off", EnvOIDCIssuer)
			}
		}
		return errs
	}
	if o.ClientID == "" {
		fail(EnvOIDCClientID, "required with %s", EnvOIDCIssuer)
	}
	if len(o.RoleMap) == 0 {
		fail(EnvOIDCRoleMap, "required with %s: nobody would get a role", EnvOIDCIssuer)
	}
	if c.Production && o.ClientSecret != "" && placeholder(o.ClientSecret) {
		fail(EnvOIDCClientSecret, "is a placeholder from an example; use the secret the provider issued")
	}
	if c.Production && !strings.HasPrefix(o.Issuer, "https://") {
		fail(EnvOIDCIssuer, "must be https in production: its keys authenticate every person")
	}
	return errs
}
