package hmssim_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
)

type errorBody struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
}

func decodeError(t *testing.T, b []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %s: %v", b, err)
	}
	return e
}

func TestManagementTokenValidation(t *testing.T) {
	s := newSim(t, hmssim.Config{})
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, claims{
		"type": "management", "access_key": testAccessKey, "version": 2, "jti": "x",
		"exp": future.Unix(),
	}).SignedString([]byte(testAppSecret))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		header     string
		wantDetail string
	}{
		{"no header", "", "missing"},
		{"not bearer", "Basic dXNlcjpwYXNz", "Bearer"},
		{"malformed", "Bearer not.a.jwt", "malformed"},
		{"bad signature", "Bearer " + signToken(t, "another-secret", claims{"type": "management"}), "signature"},
		{"expired", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "exp": past.Unix(), "iat": past.Add(-time.Hour).Unix(), "nbf": past.Add(-time.Hour).Unix()}), "expired"},
		{"not valid yet", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "nbf": future.Unix(), "iat": future.Unix(), "exp": future.Add(time.Hour).Unix()}), "not valid yet"},
		{"no exp", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "exp": nil}), "exp"},
		{"app token", "Bearer " + signToken(t, testAppSecret, claims{"type": "app", "room_id": "r", "role": "agent", "user_id": "u"}), "type"},
		{"wrong access key", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "access_key": "other"}), "access_key"},
		{"version 1", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "version": 1}), "version"},
		{"version as string", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "version": "2"}), "version"},
		{"no jti", "Bearer " + signToken(t, testAppSecret, claims{"type": "management", "jti": nil}), "jti"},
		{"HS512", "Bearer " + hs512, "HS256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/v2/rooms", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e errorBody
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUnauthorized || e.Code != 401 || e.Message != "Token validation error" {
				t.Fatalf("status %d body %+v, want 401 Token validation error", resp.StatusCode, e)
			}
			if len(e.Details) != 1 || !strings.Contains(e.Details[0], tc.wantDetail) {
				t.Fatalf("details %q, want one mentioning %q", e.Details, tc.wantDetail)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		if status, b := do(t, http.MethodGet, s.URL+"/v2/rooms", mgmtToken(t), nil); status != http.StatusOK {
			t.Fatalf("valid token: %d %s", status, b)
		}
	})
}

func TestJoinValidation(t *testing.T) {
	rx := newReceiver(t, nil)
	s := newSim(t, hmssim.Config{WebhookURL: rx.URL(), RecordingStartDelay: time.Minute})
	open := s.createRoom(t, map[string]any{"name": "join-open"})
	disabled := s.createRoom(t, map[string]any{"name": "join-disabled"})
	s.api(t, http.MethodPost, "/v2/rooms/"+disabled.ID, map[string]any{"enabled": false}, nil)
	var tpl struct {
		ID string `json:"id"`
	}
	s.api(t, http.MethodPost, "/v2/templates", map[string]any{
		"name": "join-roles", "roles": map[string]any{"agent": map[string]any{"name": "agent"}, "customer": map[string]any{"name": "customer"}},
	}, &tpl)
	templated := s.createRoom(t, map[string]any{"name": "join-templated", "template_id": tpl.ID})
	past := time.Now().Add(-time.Hour)
	peer := func(c claims) string {
		base := claims{"type": "app", "room_id": open.ID, "role": "agent", "user_id": "u1"}
		for k, v := range c {
			base[k] = v
		}
		return signToken(t, testAppSecret, base)
	}

	tests := []struct {
		name    string
		token   string
		status  int
		message string
	}{
		{"valid", peer(nil), 200, ""},
		{"missing token", "", 401, "Token validation error"},
		{"bad signature", signToken(t, "other-secret", claims{"type": "app", "room_id": open.ID, "role": "agent", "user_id": "u1"}), 401, "Token validation error"},
		{"expired", peer(claims{"exp": past.Unix(), "iat": past.Add(-time.Hour).Unix(), "nbf": past.Add(-time.Hour).Unix()}), 401, "Token validation error"},
		{"management token", signToken(t, testAppSecret, claims{"type": "management"}), 401, "Token validation error"},
		{"no user_id", peer(claims{"user_id": nil}), 401, "Token validation error"},
		{"unknown room", peer(claims{"room_id": "000000000000000000000000"}), 404, "room not found"},
		{"disabled room", peer(claims{"room_id": disabled.ID}), 403, "room is disabled"},
		{"role outside the default roles", peer(claims{"role": "auditor"}), 403, "role not allowed"},
		{"role outside the template", peer(claims{"room_id": templated.ID, "role": "host"}), 403, "role not allowed"},
		{"template role", peer(claims{"room_id": templated.ID, "role": "customer"}), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, b := do(t, http.MethodPost, s.URL+"/sim/v1/join", "", map[string]string{"token": tc.token, "name": "Tester"})
			if status != tc.status {
				t.Fatalf("status %d (%s), want %d", status, b, tc.status)
			}
			if tc.status == 200 {
				var j joined
				if err := json.Unmarshal(b, &j); err != nil || j.PeerID == "" || j.SessionID == "" {
					t.Fatalf("join answer %s", b)
				}
				return
			}
			if e := decodeError(t, b); e.Code != tc.status || e.Message != tc.message {
				t.Fatalf("error %+v, want code %d message %q", e, tc.status, tc.message)
			}
		})
	}
	// Refused roles of existing rooms are reported like 100ms does.
	all := rx.waitFor(t, "2 join failures", 5*time.Second, func(hs []hook) bool {
		return len(attemptsOf(hs, "peer.join.failure")) == 2
	})
	var roles []string
	for _, h := range attemptsOf(all, "peer.join.failure") {
		roles = append(roles, h.str("role"))
	}
	if !slices.Equal(roles, []string{"auditor", "host"}) {
		t.Fatalf("join failures for roles %v", roles)
	}
}

func TestLeaveValidation(t *testing.T) {
	s := newSim(t, hmssim.Config{RecordingStartDelay: time.Minute})
	room := s.createRoom(t, map[string]any{"name": "leave-validation"})
	p := s.join(t, room.ID, "agent", "a1")
	if status, _ := do(t, http.MethodPost, s.URL+"/sim/v1/leave", "", map[string]string{"peer_id": p.PeerID, "reason": "got bored"}); status != 400 {
		t.Fatalf("unknown reason: %d, want 400", status)
	}
	if status, _ := do(t, http.MethodPost, s.URL+"/sim/v1/leave", "", map[string]string{"peer_id": "nope"}); status != 404 {
		t.Fatalf("unknown peer: %d, want 404", status)
	}
	s.leave(t, p.PeerID, "") // defaults to client request
	s.leave(t, p.PeerID, hmssim.ReasonClientRequest)
	st := s.State()
	if len(st.Sessions) != 1 || st.Sessions[0].Active || st.Sessions[0].Peers[0].LeaveReason != hmssim.ReasonClientRequest {
		t.Fatalf("state after leave: %+v", st.Sessions)
	}
}
