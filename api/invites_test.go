package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/api"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
)

type inviteAnswer struct {
	InviteID  string     `json:"invite_id"`
	CaseID    string     `json:"case_id"`
	URL       string     `json:"url"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func (e *env) invite(caseID string) (inviteAnswer, string) {
	e.t.Helper()
	r := e.call(req{method: "POST", path: casePath(caseID, "/invites"), token: e.service()})
	wantStatus(e.t, r, http.StatusCreated)
	var a inviteAnswer
	r.decode(e.t, &a)
	_, token, ok := strings.Cut(a.URL, "/app/join/")
	if !ok || len(token) != 43 {
		e.t.Fatalf("invite url %q does not end in /app/join/<43-character token>", a.URL)
	}
	return a, token
}

func inviteReq(method, path, token string, body any) req {
	return req{method: method, path: path, json: body, headers: map[string]string{"X-Invite-Token": token}}
}

// TestInviteLifecycle follows a customer's link from its creation through
// consent, location and the join token, and checks each refusal on the way.
func TestInviteLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.createCase()

	wantError(t, e.call(req{method: "POST", path: casePath(v.ID, "/invites"), token: e.agent("agent-1")}), http.StatusForbidden, "forbidden")
	inv, token := e.invite(v.ID)
	if d := time.Until(inv.ExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("invite expires in %s, want INVITE_TTL 24h", d)
	}

	// Status: no personal data, consent text and version.
	r := e.call(inviteReq("GET", "/v1/invite", token, nil))
	wantStatus(t, r, http.StatusOK)
	for _, pii := range []string{"Asha", "asha@", "CUST-"} {
		if strings.Contains(string(r.body), pii) {
			t.Fatalf("invite status shows personal data %q: %s", pii, r.body)
		}
	}
	var st struct {
		Stage   string `json:"stage"`
		Consent struct {
			Text, Version string
			Given         bool
		} `json:"consent"`
	}
	r.decode(t, &st)
	if st.Stage != "waiting" || st.Consent.Version != config.ConsentVersion(st.Consent.Text) || st.Consent.Given {
		t.Fatalf("status %s", r.body)
	}

	// Unknown, malformed and missing invites: 401, nothing revealed.
	other, _ := e.invite(v.ID)
	for _, bad := range []string{"", "short", strings.Repeat("A", 43)} {
		wantError(t, e.call(inviteReq("GET", "/v1/invite", bad, nil)), http.StatusUnauthorized, "invite_invalid")
	}

	// The join token needs consent, then a location answer.
	wantError(t, e.call(inviteReq("POST", "/v1/invite/join-token", token, nil)), http.StatusConflict, "consent_required")
	wantError(t, e.call(inviteReq("POST", "/v1/invite/consent", token, map[string]any{"version": "old", "agree": true})), http.StatusConflict, "consent_version_outdated")
	wantError(t, e.call(inviteReq("POST", "/v1/invite/consent", token, map[string]any{"version": st.Consent.Version, "agree": false})), http.StatusUnprocessableEntity, "invalid_field")
	r = e.call(inviteReq("POST", "/v1/invite/consent", token, map[string]any{"version": st.Consent.Version, "agree": true}))
	wantStatus(t, r, http.StatusOK)
	wantError(t, e.call(inviteReq("POST", "/v1/invite/join-token", token, nil)), http.StatusConflict, "location_required")
	for _, bad := range []map[string]any{
		{"latitude": 91, "longitude": 0, "accuracy": 5},
		{"latitude": 12, "longitude": 77},
		{"refused": true, "latitude": 1},
	} {
		wantError(t, e.call(inviteReq("POST", "/v1/invite/location", token, bad)), http.StatusUnprocessableEntity, "invalid_field")
	}
	wantStatus(t, e.call(inviteReq("POST", "/v1/invite/location", token, map[string]any{"latitude": 12.97, "longitude": 77.59, "accuracy": 25})), http.StatusOK)

	r = e.call(inviteReq("POST", "/v1/invite/join-token", token, nil))
	wantStatus(t, r, http.StatusOK)
	var jt struct {
		Token, Role, Provider string
		SimulatorURL          string `json:"simulator_url"`
	}
	r.decode(t, &jt)
	// The API's HMS_BASE_URL (the default simulator address) names the
	// provider; the test's 100ms client talks to its own simulator.
	simBase := strings.TrimSuffix(e.cfg.HMS.BaseURL, "/v2")
	if jt.Role != "customer" || jt.Provider != "simulator" || jt.SimulatorURL != simBase || jt.Token == "" {
		t.Fatalf("customer join token %s (simulator at %s)", r.body, simBase)
	}

	// The evidence is in the database, and the event log holds its digest.
	r = e.call(req{method: "GET", path: casePath(v.ID, "/customer-evidence"), token: e.service()})
	wantStatus(t, r, http.StatusOK)
	var evs struct {
		Evidence []struct {
			ID, Kind, SHA256 string
			Details          json.RawMessage
			InEventLog       bool `json:"in_event_log"`
		}
	}
	r.decode(t, &evs)
	if len(evs.Evidence) != 2 {
		t.Fatalf("evidence %s", r.body)
	}
	for _, ev := range evs.Evidence {
		sum := sha256.Sum256(ev.Details)
		if hex.EncodeToString(sum[:]) != ev.SHA256 || !ev.InEventLog {
			t.Fatalf("evidence %s: digest or event log reference wrong: %s", ev.ID, r.body)
		}
		if ev.Kind == kyc.EvidenceConsent && !strings.Contains(string(ev.Details), `"ip_address":"127.0.0.1"`) {
			t.Fatalf("consent evidence lacks the IP address: %s", ev.Details)
		}
	}
	r = e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.service()})
	for _, want := range []string{`"consent_given"`, `"location_shared"`, `"chain_valid":true`} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("event log lacks %s: %s", want, r.body)
		}
	}

	// Revoked: 410 at once; the other invite still works.
	r = e.call(req{method: "DELETE", path: casePath(v.ID, "/invites/", other.InviteID), token: e.service()})
	wantStatus(t, r, http.StatusOK)
	wantStatus(t, e.call(req{method: "DELETE", path: casePath(v.ID, "/invites/", other.InviteID), token: e.service()}), http.StatusOK)
	wantError(t, e.call(req{method: "DELETE", path: casePath(v.ID, "/invites/", "00000000-0000-0000-0000-000000000000"), token: e.service()}), http.StatusNotFound, "invite_not_found")
	_, otherToken, _ := strings.Cut(other.URL, "/app/join/")
	wantError(t, e.call(inviteReq("GET", "/v1/invite", otherToken, nil)), http.StatusGone, "invite_revoked")
	wantError(t, e.call(inviteReq("POST", "/v1/invite/join-token", otherToken, nil)), http.StatusGone, "invite_revoked")

	// Expired: an API whose clock is a day and a minute ahead.
	later := e.otherAPIWith(func(d *api.Deps) { d.Now = func() time.Time { return time.Now().Add(24*time.Hour + time.Minute) } })
	wantError(t, e.call(req{base: later, method: "GET", path: "/v1/invite", headers: map[string]string{"X-Invite-Token": token}}), http.StatusGone, "invite_expired")

	// The join page: CSP, no referrer, and the invite never in a log line.
	r = e.call(req{method: "GET", path: "/app/join/" + token})
	wantStatus(t, r, http.StatusOK)
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self'", simBase, "ws://" + strings.TrimPrefix(simBase, "http://")} {
		if !strings.Contains(csp, want) {
			t.Fatalf("CSP %q lacks %q", csp, want)
		}
	}
	if r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("join page Referrer-Policy %q", r.header.Get("Referrer-Policy"))
	}
	if strings.Contains(e.logs.String(), token) || strings.Contains(e.logs.String(), otherToken) {
		t.Fatal("an invite token is in the service log")
	}

	// The recording is served only once verified.
	wantError(t, e.call(req{method: "GET", path: casePath(v.ID, "/recording"), token: e.admin()}), http.StatusConflict, "recording_not_verified")
	wantError(t, e.call(req{method: "GET", path: casePath(v.ID, "/recording"), token: e.agent("agent-1")}), http.StatusForbidden, "forbidden")
}

// TestDevelopmentSignIn: a token for any agent, auditor or admin id in
// development; nothing in production.
func TestDevelopmentSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	r := e.call(req{method: "GET", path: "/v1/sign-in"})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"methods":["development"]`) {
		t.Fatalf("sign-in methods %d %s", r.status, r.body)
	}
	r = e.call(req{method: "POST", path: "/v1/sign-in/development", json: map[string]string{"role": "agent", "id": "agent-7"}})
	wantStatus(t, r, http.StatusOK)
	var s struct{ Token string }
	r.decode(t, &s)
	wantStatus(t, e.call(req{method: "GET", path: "/v1/cases?limit=1", token: s.Token}), http.StatusOK)
	wantError(t, e.call(req{method: "POST", path: "/v1/sign-in/development", json: map[string]string{"role": "service", "id": "x"}}), http.StatusUnprocessableEntity, "invalid_field")
	wantError(t, e.call(req{method: "POST", path: "/v1/sign-in/development", json: map[string]string{"role": "agent", "id": "a b"}}), http.StatusUnprocessableEntity, "invalid_field")

	prod := e.otherAPIWith(func(d *api.Deps) { d.Config.Production = true })
	r = e.call(req{base: prod, method: "GET", path: "/v1/sign-in"})
	if !strings.Contains(string(r.body), `"methods":[]`) || !strings.Contains(string(r.body), `"environment":"production"`) {
		t.Fatalf("production sign-in methods %s", r.body)
	}
	wantError(t, e.call(req{base: prod, method: "POST", path: "/v1/sign-in/development", json: map[string]string{"role": "agent", "id": "agent-7"}}), http.StatusNotFound, "sign_in_not_configured")
}
