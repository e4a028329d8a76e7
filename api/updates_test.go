package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"

	"github.com/vkyc-engine/vkyc/workflows/core"
)

func (e *env) post(id, suffix, token string, body any, headers map[string]string) response {
	e.t.Helper()
	return e.call(req{method: "POST", path: casePath(id, suffix), token: token, json: body, headers: headers})
}

// eventsOfType counts a case's stored events of one type, waiting a moment
// for the workflow's save.
func (e *env) eventsOfType(id, typ string, want int) int {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := e.st.Events(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == typ {
				n++
			}
		}
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1", kyc.CaptureFace)
	agent := e.agent("agent-1")

	tests := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
		says   string
	}{
		{"another agent", e.agent("agent-2"), map[string]string{"outcome": "reject", "reason": "x"}, 403, "forbidden", "another agent"},
		{"no outcome", agent, map[string]string{"reason": "x"}, 422, "invalid_field", "outcome"},
		{"unknown outcome", agent, map[string]string{"outcome": "maybe"}, 422, "invalid_field", "outcome"},
		{"recapture is the auditor's", agent, map[string]string{"outcome": "recapture", "reason": "x"}, 422, "invalid_field", "outcome"},
		{"reject without a reason", agent, map[string]string{"outcome": "reject"}, 422, "invalid_field", "reason"},
		{"reason too long", agent, map[string]string{"outcome": "reject", "reason": strings.Repeat("r", 2001)}, 422, "invalid_field", "reason"},
		{"approve without captures", agent, map[string]string{"outcome": "approve"}, 409, "invalid_state", "in_call"},
		{"unknown field", agent, map[string]string{"outcome": "approve", "note": "x"}, 422, "unknown_field", "note"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(v.ID, "/decision", tt.token, tt.body, nil)
			wantError(t, r, tt.status, tt.code)
			if !strings.Contains(string(r.body), tt.says) {
				t.Fatalf("message does not say %q: %s", tt.says, r.body)
			}
		})
	}
	if got := e.view(v.ID); got.Decision != nil || got.Status != kyc.StatusInCall {
		t.Fatalf("refused decisions changed the case: %+v", got)
	}

	wantStatus(t, e.upload(v.ID, agent, kyc.CaptureFace, pngImage(t, 3, 3), nil), http.StatusCreated)
	key := map[string]string{"Idempotency-Key": "dec-" + uuid.NewString()}
	body := map[string]string{"outcome": "approve", "reason": "all good"}
	r := e.post(v.ID, "/decision", agent, body, key)
	wantStatus(t, r, http.StatusOK)
	var first kyc.CaseView
	r.decode(t, &first)
	if first.Decision == nil || first.Decision.By != "agent-1" || first.Status != kyc.StatusAwaitingRecording && first.Status != kyc.StatusAwaitingAudit {
		t.Fatalf("after approval: %+v", first)
	}
	// Reads come from the projection; an answered update is already in it.
	if got := e.view(v.ID); got.Version < first.Version || got.Decision == nil {
		t.Fatalf("read after the answer shows v%d without the decision, answer was v%d", got.Version, first.Version)
	}
	// A retry with the key is answered the same, even much later.
	r = e.post(v.ID, "/decision", agent, body, key)
	wantStatus(t, r, http.StatusOK)
	var again kyc.CaseView
	r.decode(t, &again)
	if again.Version != first.Version || again.Decision.At != first.Decision.At {
		t.Fatalf("replay differs: v%d vs v%d", again.Version, first.Version)
	}
	// The same key for something else is refused.
	wantError(t, e.post(v.ID, "/decision", agent, map[string]string{"outcome": "reject", "reason": "no"}, key), http.StatusConflict, "idempotency_key_reused")
	// A retry without a key is recognised as the same decision.
	wantStatus(t, e.post(v.ID, "/decision", agent, body, nil), http.StatusOK)
	if n := e.eventsOfType(v.ID, core.EventAgentDecision, 1); n != 1 {
		t.Fatalf("%d agent_decision events, want 1", n)
	}
	// Another decision now is out of place, and says why.
	r = e.post(v.ID, "/decision", agent, map[string]string{"outcome": "reject", "reason": "changed my mind"}, nil)
	wantError(t, r, http.StatusConflict, "invalid_state")
	if !strings.Contains(string(r.body), "awaiting_") {
		t.Fatalf("409 does not name the status: %s", r.body)
	}
	wantError(t, e.post(uuid.NewString(), "/decision", agent, body, nil), http.StatusNotFound, "case_not_found")
}

func TestAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	auditor := e.auditor("aud-1")
	// Before the agent's decision there is nothing to audit.
	r := e.post(v.ID, "/audit", auditor, map[string]string{"outcome": "reject", "reason": "x"}, nil)
	wantError(t, r, http.StatusConflict, "invalid_state")
	if !strings.Contains(string(r.body), "in_call") {
		t.Fatalf("409 does not name the status: %s", r.body)
	}
	wantStatus(t, e.post(v.ID, "/decision", e.agent("agent-1"), map[string]string{"outcome": "reject", "reason": "face does not match"}, nil), http.StatusOK)
	e.waitFor(v.ID, "awaiting_audit", func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })

	// The auditor sees the case now; an auditor token of the deciding agent
	// may not audit it.
	wantStatus(t, e.call(req{method: "GET", path: casePath(v.ID), token: auditor}), http.StatusOK)
	wantError(t, e.post(v.ID, "/audit", e.auditor("agent-1"), map[string]string{"outcome": "reject", "reason": "x"}, nil), http.StatusForbidden, "forbidden")
	wantError(t, e.post(v.ID, "/audit", auditor, map[string]string{"outcome": "approve"}, nil), http.StatusUnprocessableEntity, "invalid_field")
	wantError(t, e.post(v.ID, "/audit", auditor, map[string]string{"outcome": "reject"}, nil), http.StatusUnprocessableEntity, "invalid_field")
	wantError(t, e.post(v.ID, "/audit", auditor, map[string]string{"outcome": "ok"}, nil), http.StatusUnprocessableEntity, "invalid_field")

	key := map[string]string{"Idempotency-Key": "aud-" + uuid.NewString()}
	body := map[string]string{"outcome": "reject", "reason": "agrees with the agent"}
	r = e.post(v.ID, "/audit", auditor, body, key)
	wantStatus(t, r, http.StatusOK)
	var done kyc.CaseView
	r.decode(t, &done)
	if done.Status != kyc.StatusRejected || done.Audit == nil || done.Audit.By != "aud-1" {
		t.Fatalf("after audit: %+v", done)
	}
	// The workflow finishes; a keyed retry still gets its answer, an
	// unkeyed new request gets the final status.
	e.waitFor(v.ID, "workflow done", func(kyc.CaseView) bool {
		d, err := e.tc.DescribeWorkflow(context.Background(), kyc.WorkflowID(v.ID), "")
		return err == nil && d.RawResponse.WorkflowExecutionInfo.CloseTime != nil
	})
	wantStatus(t, e.post(v.ID, "/audit", auditor, body, key), http.StatusOK)
	r = e.post(v.ID, "/audit", e.auditor("aud-2"), map[string]string{"outcome": "reject", "reason": "me too"}, nil)
	wantError(t, r, http.StatusConflict, "invalid_state")
	if !strings.Contains(string(r.body), "rejected") {
		t.Fatalf("409 does not name the status: %s", r.body)
	}
	// The auditor who audited still sees the case; another does not.
	wantStatus(t, e.call(req{method: "GET", path: casePath(v.ID), token: auditor}), http.StatusOK)
	wantError(t, e.call(req{method: "GET", path: casePath(v.ID), token: e.auditor("aud-2")}), http.StatusForbidden, "forbidden")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.createCase()
	wantError(t, e.post(v.ID, "/cancel", e.service(), map[string]string{}, nil), http.StatusUnprocessableEntity, "invalid_field")
	wantError(t, e.post(v.ID, "/cancel", e.service(), map[string]string{"reason": "   "}, nil), http.StatusUnprocessableEntity, "invalid_field")
	r := e.post(v.ID, "/cancel", e.admin(), map[string]string{"reason": "duplicate application"}, nil)
	wantStatus(t, r, http.StatusOK)
	var c kyc.CaseView
	r.decode(t, &c)
	if c.Status != kyc.StatusCancelled || c.StatusReason != "duplicate application" || c.Customer.Email == "" {
		t.Fatalf("after cancel: %+v", c)
	}
	final := e.waitFor(v.ID, "projection cancelled", func(v kyc.CaseView) bool {
		rec, err := e.st.GetCase(context.Background(), v.ID)
		return err == nil && rec.Status == kyc.StatusCancelled
	})
	if final.Status != kyc.StatusCancelled {
		t.Fatalf("final %+v", final)
	}
	// After the workflow ended: decisions are 409 naming the status.
	e.waitFor(v.ID, "workflow done", func(kyc.CaseView) bool {
		d, err := e.tc.DescribeWorkflow(context.Background(), kyc.WorkflowID(v.ID), "")
		return err == nil && d.RawResponse.WorkflowExecutionInfo.CloseTime != nil
	})
	r = e.post(v.ID, "/cancel", e.service(), map[string]string{"reason": "again"}, nil)
	wantError(t, r, http.StatusConflict, "invalid_state")
	if !strings.Contains(string(r.body), "cancelled") {
		t.Fatalf("409 does not name the status: %s", r.body)
	}
	wantError(t, e.post(v.ID, "/decision", e.agent("a"), map[string]string{"outcome": "reject", "reason": "x"}, nil), http.StatusConflict, "invalid_state")
}

// TestUpdatesWhileTemporalIsDown: the case exists, Temporal does not answer.
func TestUpdatesWhileTemporalIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	down := e.otherAPI(deadTemporal(t), e.st)
	for _, tt := range []struct {
		suffix string
		token  string
		body   any
	}{
		{"/decision", e.agent("agent-1"), map[string]string{"outcome": "reject", "reason": "x"}},
		{"/cancel", e.service(), map[string]string{"reason": "x"}},
		{"/join-tokens", e.agent("agent-1"), map[string]string{"role": "agent"}},
	} {
		r := e.call(req{base: down, method: "POST", path: casePath(v.ID, tt.suffix), token: tt.token, json: tt.body})
		wantError(t, r, http.StatusServiceUnavailable, "")
	}
	// Uploads: nobody but the confirmed agent stores bytes under a case.
	unassigned := e.createCase()
	for _, tt := range []struct {
		name, caseID, agent string
		status              int
	}{
		{"unassigned case, assignment unconfirmable", unassigned.ID, "agent-2", http.StatusServiceUnavailable},
		{"another agent's case", v.ID, "agent-2", http.StatusForbidden},
	} {
		body, ct := captureForm(t, kyc.CaptureFace, pngImage(t, 2, 2))
		r := e.call(req{base: down, method: "POST", path: casePath(tt.caseID, "/captures"), token: e.agent(tt.agent), raw: body, contentType: ct})
		if r.status != tt.status {
			t.Fatalf("%s: upload answered %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
		if n := len(e.objects("cases/" + tt.caseID + "/")); n != 0 {
			t.Fatalf("%s: %d objects stored", tt.name, n)
		}
	}
	// Reads fall back to the projection.
	r := e.call(req{base: down, method: "GET", path: casePath(v.ID), token: e.service()})
	wantStatus(t, r, http.StatusOK)
	var got kyc.CaseView
	r.decode(t, &got)
	if got.ID != v.ID {
		t.Fatalf("view %+v", got)
	}
}

// TestStoreDown: the database is gone (a closed pool); every endpoint that
// needs it answers 503 in the error shape, the webhook included, so that
// 100ms retries.
func TestStoreDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	closed, err := store.Open(context.Background(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	down := e.otherAPI(e.tc, closed)
	id := uuid.NewString()
	for _, r := range []req{
		{method: "POST", path: "/v1/cases", token: e.service(), json: map[string]any{"customer": map[string]string{"reference": "R"}}},
		{method: "GET", path: "/v1/cases", token: e.service()},
		{method: "GET", path: casePath(id), token: e.service()},
		{method: "GET", path: casePath(id, "/events"), token: e.service()},
		{method: "POST", path: casePath(id, "/cancel"), token: e.service(), json: map[string]string{"reason": "x"}},
	} {
		r.base = down
		wantError(t, e.call(r), http.StatusServiceUnavailable, "unavailable")
	}
	r := e.call(req{base: down, method: "POST", path: "/v1/webhooks/100ms", raw: hmsEvent("ev-down", "peer.join.success", "kyc-"+id+"-a1"),
		contentType: "application/json", headers: map[string]string{webhookHeader: webhookSecret}})
	wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	r = e.call(req{base: down, method: "GET", path: "/readyz"})
	wantStatus(t, r, http.StatusServiceUnavailable)
	if !strings.Contains(string(r.body), `"postgres":"down"`) {
		t.Fatalf("readyz does not name the database: %s", r.body)
	}
}
