package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// OIDC is single sign-on for people: the API accepts access tokens of the
// bank's OpenID Connect provider (RS256 or ES256, checked against the
// provider's published keys) next to its own HS256 tokens, and the pages
// sign in with the authorization-code flow with PKCE. Off when Issuer is "".
type OIDC struct {
	// Issuer is the provider's issuer URL; discovery is at
	// Issuer/.well-known/openid-configuration.
	Issuer string
	// ClientID is the pages' client at the provider; ClientSecret is sent
	// on the code exchange when the provider registers them as a
	// confidential client ("" for a public client, PKCE alone).
	ClientID, ClientSecret string
	// Audience is what an access token's aud must hold.
	Audience string
	// Scopes are asked for at sign-in.
	Scopes []string
	// RoleClaim is the claim holding group or role names (a string or a
	// list); a dotted name reaches into objects (realm_access.roles).
	RoleClaim string
	// RoleMap maps those names to the engine's roles.
	RoleMap map[string]kyc.Role
	// SubjectClaim names the person: the id that cases and the event log
	// record.
	SubjectClaim string
	// ClockSkew is how far exp, nbf and iat may be off.
	ClockSkew time.Duration
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// Names of the single sign-on variables.
//
// #nosec G101 -- the names of variables, not credentials.
const (
	EnvOIDCIssuer       = "OIDC_ISSUER"
	EnvOIDCClientID     = "OIDC_CLIENT_ID"
	EnvOIDCClientSecret = "OIDC_CLIENT_SECRET"
	EnvOIDCAudience     = "OIDC_AUDIENCE"
	EnvOIDCScopes       = "OIDC_SCOPES"
	EnvOIDCRoleClaim    = "OIDC_ROLE_CLAIM"
	EnvOIDCRoleMap      = "OIDC_ROLE_MAP"
	EnvOIDCSubjectClaim = "OIDC_SUBJECT_CLAIM"
	EnvOIDCClockSkew    = "OIDC_CLOCK_SKEW"
)

// maxOIDCClockSkew bounds OIDC_CLOCK_SKEW: past a few minutes an expired
// token is simply accepted.
const maxOIDCClockSkew = 5 * time.Minute

var oidcVariables = []Variable{
	{EnvOIDCIssuer, "(none: single sign-on off)", "issuer URL of the bank's OpenID Connect provider, exactly as its discovery document says (https in production); the API then accepts its RS256/ES256 access tokens and the pages sign in with it"},
	{EnvOIDCClientID, "(none; required with OIDC_ISSUER)", "the pages' client id at the provider (authorization code with PKCE; redirect URIs `$PUBLIC_BASE_URL/app/agent` and `$PUBLIC_BASE_URL/app/audit`)"},
	{EnvOIDCClientSecret, "(none: a public client)", "the client's secret, sent by the API on the code exchange when the provider registers the pages as a confidential client"},
	{EnvOIDCAudience, "(OIDC_CLIENT_ID)", "what an access token's `aud` must hold"},
	{EnvOIDCScopes, "openid", "space-separated scopes asked for at sign-in (e.g. `openid groups`)"},
	{EnvOIDCRoleClaim, "groups", "claim holding the person's group or role names (a string or a list; `a.b` reaches into an object, e.g. `realm_access.roles`)"},
	{EnvOIDCRoleMap, "(none; required with OIDC_ISSUER)", "`name=role,...`: group or role names mapped to agent, auditor or admin; a token whose names map to no role, or to two, is refused (403)"},
	{EnvOIDCSubjectClaim, "sub", "claim naming the person, as cases and the event log record them (e.g. `preferred_username`)"},
	{EnvOIDCClockSkew, "60s", "how far a token's exp, nbf and iat may be off this clock (at most 5m)"},
}

// loadOIDC reads the single sign-on settings.
func (r *reader) loadOIDC(c *Config) {
	o := &c.OIDC
	// Kept exactly as given: the issuer is compared byte for byte with the
	// discovery document's and each token's iss (Auth0's ends in "/").
	o.Issuer = r.str(EnvOIDCIssuer, "")
	o.ClientID = r.str(EnvOIDCClientID, "")
	o.ClientSecret = r.secret(EnvOIDCClientSecret, "")
	o.Audience = r.str(EnvOIDCAudience, o.ClientID)
	o.Scopes = strings.Fields(r.str(EnvOIDCScopes, "openid"))
	o.RoleClaim = r.str(EnvOIDCRoleClaim, "groups")
	o.SubjectClaim = r.str(EnvOIDCSubjectClaim, "sub")
	o.ClockSkew = r.duration(EnvOIDCClockSkew, time.Minute)
	o.RoleMap = map[string]kyc.Role{}
	for _, item := range r.list(EnvOIDCRoleMap, "", false) {
		name, role, ok := strings.Cut(item, "=")
		name, role = strings.TrimSpace(name), strings.TrimSpace(role)
		switch kyc.Role(role) {
		case kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin:
		default:
			// The bank's backend keeps its HS256 service tokens.
			r.fail(EnvOIDCRoleMap, "%q: want name=role with role agent, auditor or admin", item)
			continue
		}
		if !ok || name == "" {
			r.fail(EnvOIDCRoleMap, "%q: want name=role", item)
			continue
		}
		o.RoleMap[name] = kyc.Role(role)
	}
	if !o.Enabled() {
		return
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		r.fail(EnvOIDCIssuer, "%q is not an http(s) URL", o.Issuer)
	}
	if !slices.Contains(o.Scopes, "openid") {
		r.fail(EnvOIDCScopes, "must include openid")
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
