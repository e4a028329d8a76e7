package config

import (
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestOIDCSettings: single sign-on is off by default, read whole when on,
// and each mistake is refused with a message that names its variable.
func TestOIDCSettings(t *testing.T) {
	isolate(t)
	on := env{
		"OIDC_ISSUER":    "https://login.bank.example/realms/staff/",
		"OIDC_CLIENT_ID": "vkyc-pages",
		"OIDC_ROLE_MAP":  "kyc-agents=agent, kyc-auditors=auditor,kyc-admins=admin",
	}
	c, err := loadValidated(on)
	if err != nil {
		t.Fatal(err)
	}
	o := c.OIDC
	if !o.Enabled() || o.Issuer != "https://login.bank.example/realms/staff/" || o.Audience != "vkyc-pages" ||
		o.RoleClaim != "groups" || o.SubjectClaim != "sub" || o.ClockSkew != time.Minute ||
		strings.Join(o.Scopes, " ") != "openid" || o.RoleMap["kyc-auditors"] != kyc.RoleAuditor || len(o.RoleMap) != 3 {
		t.Fatalf("read %+v", o)
	}
	if c, _ := LoadFrom(env{}.getenv); c.OIDC.Enabled() {
		t.Fatal("single sign-on is on without OIDC_ISSUER")
	}
	cases := []struct {
		name string
		env  env
		want string // "" means valid
	}{
		{"production with https", production.with("OIDC_ISSUER", on["OIDC_ISSUER"]).with("OIDC_CLIENT_ID", "p").with("OIDC_ROLE_MAP", "a=agent"), ""},
		{"http in production", production.with("OIDC_ISSUER", "http://login.bank.example").with("OIDC_CLIENT_ID", "p").with("OIDC_ROLE_MAP", "a=agent"), "OIDC_ISSUER: must be https in production"},
		{"not a URL", on.with("OIDC_ISSUER", "login.bank.example"), "OIDC_ISSUER: \"login.bank.example\" is not an http(s) URL"},
		{"no client", on.with("OIDC_CLIENT_ID", ""), "OIDC_CLIENT_ID: required with OIDC_ISSUER"},
		{"no role map", on.with("OIDC_ROLE_MAP", ""), "OIDC_ROLE_MAP: required with OIDC_ISSUER"},
		{"service through the IdP", on.with("OIDC_ROLE_MAP", "backend=service"), "OIDC_ROLE_MAP: \"backend=service\": want name=role with role agent, auditor or admin"},
		{"a name without a role", on.with("OIDC_ROLE_MAP", "agents"), "OIDC_ROLE_MAP: \"agents\""},
		{"an empty name", on.with("OIDC_ROLE_MAP", "=agent"), "OIDC_ROLE_MAP: \"=agent\": want name=role"},
		{"scopes without openid", on.with("OIDC_SCOPES", "profile groups"), "OIDC_SCOPES: must include openid"},
		{"a skew past five minutes", on.with("OIDC_CLOCK_SKEW", "10m"), "OIDC_CLOCK_SKEW: 10m0s is more than 5m0s"},
		{"a client without an issuer", env{"OIDC_CLIENT_ID": "p"}, "OIDC_CLIENT_ID: is set but OIDC_ISSUER is not"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadValidated(tc.env)
			wantRefusal(t, err, tc.want)
		})
	}
}
