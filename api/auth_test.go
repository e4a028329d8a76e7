package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

func signed(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	now := time.Now()
	valid := jwt.MapClaims{"sub": "bank-backend", "role": "service", "exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	expired, err := func() (string, error) {
		return jwt.NewWithClaims(jwt.SigningMethodHS256, with("exp", now.Add(-time.Hour).Unix())).SignedString([]byte(testSecret))
	}()
	if err != nil {
		t.Fatal(err)
	}
	none := signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)
	tests := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"not bearer", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
		{"empty bearer", "Bearer "},
		{"garbage", "Bearer not-a-jwt"},
		{"forged with another secret", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef"), valid)},
		{"expired", "Bearer " + expired},
		{"alg none", "Bearer " + none},
		{"HS512", "Bearer " + signed(t, jwt.SigningMethodHS512, []byte(testSecret), valid)},
		{"no exp", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte(testSecret), with("exp", nil))},
		{"no sub", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte(testSecret), with("sub", nil))},
		{"unknown role", "Bearer " + signed(t, jwt.SigningMethodHS256, []byte(testSecret), with("role", "customer"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(req{method: "GET", path: "/v1/cases", headers: map[string]string{"Authorization": tt.header}})
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		r := e.call(req{method: "GET", path: "/v1/cases", token: signed(t, jwt.SigningMethodHS256, []byte(testSecret), valid)})
		wantStatus(t, r, http.StatusOK)
	})
	// Tokens are never logged.
	if strings.Contains(e.logs.String(), "eyJ") {
		t.Fatal("a token reached the log")
	}
}

func TestRoutesAndMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	wantError(t, e.call(req{method: "GET", path: "/v2/nothing", token: e.service()}), http.StatusNotFound, "not_found")
	wantError(t, e.call(req{method: "DELETE", path: "/v1/cases", token: e.service()}), http.StatusMethodNotAllowed, "method_not_allowed")
	wantError(t, e.call(req{method: "GET", path: "/v1/cases/", token: e.service()}), http.StatusNotFound, "")
	wantError(t, e.call(req{method: "GET", path: casePath("not-a-uuid"), token: e.service()}), http.StatusNotFound, "case_not_found")
	wantError(t, e.call(req{method: "GET", path: casePath("0b9f2d0e-8f4e-4a53-9bd4-3c3f3f3f3f3f"), token: e.service()}), http.StatusNotFound, "case_not_found")
}

// TestRoles asks every endpoint as every role: a role outside the spec's
// "who" column gets 403 before anything else happens; a role inside it never
// gets 401 or 403 for its role (it may still get 404 or 4xx for the body).
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	missing := "0b9f2d0e-8f4e-4a53-9bd4-3c3f3f3f3f3f" // no such case: allowed roles get 404
	all := []kyc.Role{kyc.RoleService, kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin}
	endpoints := []struct {
		method, path string
		allowed      []kyc.Role
	}{
		{"POST", "/v1/cases", []kyc.Role{kyc.RoleService, kyc.RoleAdmin}},
		{"GET", "/v1/cases", all},
		{"GET", casePath(missing), all},
		{"POST", casePath(missing, "/join-tokens"), []kyc.Role{kyc.RoleService, kyc.RoleAgent}},
		{"POST", casePath(missing, "/captures"), []kyc.Role{kyc.RoleAgent}},
		{"GET", casePath(missing, "/captures/c1"), []kyc.Role{kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin}},
		{"POST", casePath(missing, "/decision"), []kyc.Role{kyc.RoleAgent}},
		{"POST", casePath(missing, "/audit"), []kyc.Role{kyc.RoleAuditor}},
		{"POST", casePath(missing, "/cancel"), []kyc.Role{kyc.RoleService, kyc.RoleAdmin}},
		{"GET", casePath(missing, "/events"), []kyc.Role{kyc.RoleService, kyc.RoleAdmin, kyc.RoleAuditor}},
	}
	for _, ep := range endpoints {
		for _, role := range all {
			allowed := false
			for _, a := range ep.allowed {
				allowed = allowed || a == role
			}
			t.Run(ep.method+" "+ep.path+" as "+string(role), func(t *testing.T) {
				r := req{method: ep.method, path: ep.path, token: e.token(role, "someone")}
				if ep.method == "POST" {
					r.json = map[string]string{}
				}
				if strings.HasSuffix(ep.path, "/join-tokens") {
					r.json = map[string]string{"role": map[kyc.Role]string{kyc.RoleService: "customer", kyc.RoleAgent: "agent"}[role]}
				}
				if strings.HasSuffix(ep.path, "/decision") || strings.HasSuffix(ep.path, "/audit") {
					r.json = map[string]string{"outcome": "reject", "reason": "x"}
				}
				if strings.HasSuffix(ep.path, "/cancel") {
					r.json = map[string]string{"reason": "x"}
				}
				got := e.call(r)
				if !allowed {
					wantError(t, got, http.StatusForbidden, "forbidden")
					return
				}
				if got.status == http.StatusForbidden || got.status == http.StatusUnauthorized {
					t.Fatalf("allowed role refused: %d %s", got.status, got.body)
				}
			})
		}
	}
}
