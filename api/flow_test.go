package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestCaseLifecycle drives one case through the whole API: create, both
// join tokens, the call in the simulator (whose webhooks reach the workflow
// through the inbox), a capture, the agent's approval, the recording's
// verification and the auditor's approval; then the event log.
func TestCaseLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-7", kyc.CaptureFace)
	if v.AgentID != "agent-7" || !v.Participants.Agent.Joined || !v.Participants.Customer.Joined {
		t.Fatalf("after both joined: %+v", v)
	}

	img := pngImage(t, 8, 8)
	r := e.upload(v.ID, e.agent("agent-7"), kyc.CaptureFace, img, map[string]string{"X-Content-SHA256": sha(img)})
	wantStatus(t, r, http.StatusCreated)
	var c kyc.Capture
	r.decode(t, &c)
	if c.Kind != kyc.CaptureFace || c.SHA256 != sha(img) || c.Size != int64(len(img)) || c.ContentType != "image/png" || c.Attempt != 1 {
		t.Fatalf("capture %+v", c)
	}

	r = e.call(req{method: "POST", path: casePath(v.ID, "/decision"), token: e.agent("agent-7"),
		json: map[string]string{"outcome": "approve", "reason": "matches"}})
	wantStatus(t, r, http.StatusOK)
	var after kyc.CaseView
	r.decode(t, &after)
	if after.Decision == nil || after.Decision.Outcome != kyc.OutcomeApprove {
		t.Fatalf("decision not in the view: %+v", after)
	}
	// The agent sees whom to greet, not how to contact them.
	if after.Customer.Name != "Asha Rao" || after.Customer.Email != "" || after.Customer.Phone != "" {
		t.Fatalf("customer in the agent's view: %+v", after.Customer)
	}

	e.waitFor(v.ID, "awaiting_audit", func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })
	r = e.call(req{method: "POST", path: casePath(v.ID, "/audit"), token: e.auditor("auditor-1"),
		json: map[string]string{"outcome": "approve"}})
	wantStatus(t, r, http.StatusOK)
	final := e.waitFor(v.ID, "approved", func(v kyc.CaseView) bool { return v.Status == kyc.StatusApproved })
	if final.Recording.Status != kyc.RecordingVerified || final.Customer.Email != "asha@example.com" {
		t.Fatalf("final view: recording %+v customer %+v", final.Recording, final.Customer)
	}

	// The workflow saves its events right after each change.
	var log struct {
		Events     []map[string]any `json:"events"`
		ChainValid bool             `json:"chain_valid"`
		Count      int              `json:"count"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.auditor("auditor-1")})
		wantStatus(t, r, http.StatusOK)
		r.decode(t, &log)
		if strings.Contains(string(r.body), `"approved"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !log.ChainValid || log.Count != len(log.Events) || !strings.Contains(string(r.body), `"approved"`) {
		t.Fatalf("event log: valid=%v count=%d events=%d", log.ChainValid, log.Count, len(log.Events))
	}
	// PII never reaches the workflow, so never its log either.
	for _, pii := range []string{"Asha Rao", "asha@example.com", "98765"} {
		if strings.Contains(string(r.body), pii) {
			t.Fatalf("the event log holds PII %q", pii)
		}
	}
}
