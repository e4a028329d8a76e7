package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

func TestJoinTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.createCase()

	cust := e.joinToken(v.ID, e.service(), "customer")
	ag := e.joinToken(v.ID, e.agent("agent-1"), "agent")
	room := e.waitFor(v.ID, "room", func(v kyc.CaseView) bool { return len(v.Attempts) == 1 && v.Attempts[0].RoomID != "" }).Attempts[0].RoomID
	for _, tt := range []struct {
		ans      joinAnswer
		role     string
		userID   string
		assigned string
	}{
		{cust, "customer", "customer-" + v.ID, ""},
		{ag, "agent", "agent-1", "agent-1"},
	} {
		if tt.ans.RoomID != room || tt.ans.Role != tt.role || tt.ans.Token == "" {
			t.Fatalf("%s token answer %+v (room %s)", tt.role, tt.ans, room)
		}
		if d := time.Until(tt.ans.ExpiresAt); d < 29*time.Minute || d > 31*time.Minute {
			t.Fatalf("%s token expires in %s, want JOIN_TOKEN_TTL 30m", tt.role, d)
		}
		claims := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(tt.ans.Token, claims, func(*jwt.Token) (any, error) { return []byte(testHMSSecret), nil },
			jwt.WithValidMethods([]string{"HS256"})); err != nil {
			t.Fatalf("%s token does not verify with the 100ms app secret: %v", tt.role, err)
		}
		if claims["room_id"] != room || claims["role"] != tt.role || claims["user_id"] != tt.userID || claims["type"] != "app" {
			t.Fatalf("%s token claims %v", tt.role, claims)
		}
	}
	if got := e.view(v.ID).AgentID; got != "agent-1" {
		t.Fatalf("asking for an agent token assigned %q", got)
	}
	// Asking again is fine for the assigned agent, a conflict for another.
	e.joinToken(v.ID, e.agent("agent-1"), "agent")
	r := e.call(req{method: "POST", path: casePath(v.ID, "/join-tokens"), token: e.agent("agent-2"), json: map[string]string{"role": "agent"}})
	wantError(t, r, http.StatusConflict, "agent_conflict")

	for _, tt := range []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"service asks for an agent token", e.service(), map[string]string{"role": "agent"}, 403, "forbidden"},
		{"agent asks for a customer token", e.agent("agent-1"), map[string]string{"role": "customer"}, 403, "forbidden"},
		{"unknown role", e.service(), map[string]string{"role": "auditor"}, 422, "invalid_field"},
		{"no role", e.service(), map[string]string{}, 422, "invalid_field"},
		{"unknown field", e.service(), map[string]string{"role": "customer", "name": "x"}, 422, "unknown_field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.call(req{method: "POST", path: casePath(v.ID, "/join-tokens"), token: tt.token, json: tt.body}), tt.status, tt.code)
		})
	}

	t.Run("finished case", func(t *testing.T) {
		c := e.createCase()
		wantStatus(t, e.call(req{method: "POST", path: casePath(c.ID, "/cancel"), token: e.service(), json: map[string]string{"reason": "customer withdrew"}}), http.StatusOK)
		r := e.call(req{method: "POST", path: casePath(c.ID, "/join-tokens"), token: e.service(), json: map[string]string{"role": "customer"}})
		wantError(t, r, http.StatusConflict, "invalid_state")
		r = e.call(req{method: "POST", path: casePath(c.ID, "/join-tokens"), token: e.agent("agent-9"), json: map[string]string{"role": "agent"}})
		wantError(t, r, http.StatusConflict, "invalid_state")
	})
}

// TestJoinTokenRoomNotReady: with no worker the workflow never creates its
// room, and the customer's token request gives up after RoomWait.
func TestJoinTokenRoomNotReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, roomWait: 500 * time.Millisecond})
	v := e.createCase()
	start := time.Now()
	r := e.call(req{method: "POST", path: casePath(v.ID, "/join-tokens"), token: e.service(), json: map[string]string{"role": "customer"}})
	wantError(t, r, http.StatusServiceUnavailable, "room_not_ready")
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Fatalf("gave up after %s, before RoomWait", took)
	}
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	// Once a worker runs, the same request succeeds.
	e.startWorker()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = e.call(req{method: "POST", path: casePath(v.ID, "/join-tokens"), token: e.service(), json: map[string]string{"role": "customer"}})
		if r.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	wantStatus(t, r, http.StatusOK)
}
