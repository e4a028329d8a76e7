package workflows

import (
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

func TestApproveWithoutRequiredCapturesIsRejected(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.update(2*time.Minute, UpdateAddCapture, "face", capture(1, kyc.CaptureFace))
	h.update(3*time.Minute, UpdateAgentDecision, "approve", approve(""))
	h.snapshot(4*time.Minute, "after")
	h.update(5*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	h.mustReject("approve", RejectInvalidState, "required captures missing: id_front, id_back")
	if a := h.view("after"); a.Status != kyc.StatusInCall || a.Decision != nil {
		t.Fatalf("after the rejected approval: %s %v", a.Status, a.Decision)
	}
	if h.count(core.EventAgentDecision) != 0 {
		t.Fatalf("a rejected update left an event: %v", h.eventTypes())
	}
}

// Every validator message, each checked against an update that must be
// refused at that point of the case, and never logged.
func TestValidatorsRejectWithClearReasons(t *testing.T) {
	other := func(r AddCaptureRequest, f func(*AddCaptureRequest)) AddCaptureRequest { f(&r); return r }
	tests := []struct {
		name, update string
		arg          any
		errType, msg string
	}{
		{"assign empty", UpdateAssignAgent, AssignAgentRequest{}, RejectInvalidRequest, "agent_id is required"},
		{"assign another", UpdateAssignAgent, AssignAgentRequest{AgentID: "agent-9"}, RejectForbidden, "case is assigned to another agent"},
		{"capture by another agent", UpdateAddCapture, other(capture(1, kyc.CapturePAN), func(r *AddCaptureRequest) { r.AgentID = "agent-9" }),
			RejectForbidden, "case is assigned to another agent"},
		{"capture of next attempt", UpdateAddCapture, capture(2, kyc.CapturePAN), RejectInvalidState,
			"capture was made for attempt 2 but the case is on attempt 1"},
		{"capture kind", UpdateAddCapture, other(capture(1, kyc.CapturePAN), func(r *AddCaptureRequest) { r.Kind = "selfie" }),
			RejectInvalidRequest, `kind "selfie" is not a capture kind`},
		{"capture key", UpdateAddCapture, other(capture(1, kyc.CapturePAN), func(r *AddCaptureRequest) { r.ObjectKey = "cases/other/attempt-1/pan.jpg" }),
			RejectInvalidRequest, "object key must be under cases/" + testCase + "/attempt-1/"},
		{"capture digest", UpdateAddCapture, other(capture(1, kyc.CapturePAN), func(r *AddCaptureRequest) { r.SHA256 = "ABC" }),
			RejectInvalidRequest, "sha256 must be 64 lower-case hex characters"},
		{"capture type", UpdateAddCapture, other(capture(1, kyc.CapturePAN), func(r *AddCaptureRequest) { r.ContentType = "text/html" }),
			RejectInvalidRequest, `content type "text/html" is not an image`},
		{"capture id reused", UpdateAddCapture, other(capture(1, kyc.CaptureFace), func(r *AddCaptureRequest) { r.Size = 1 }),
			RejectInvalidRequest, "capture cap-1-face was already recorded with other content"},
		{"reject without reason", UpdateAgentDecision, AgentDecisionRequest{AgentID: testAgent, Outcome: kyc.OutcomeReject},
			RejectInvalidRequest, "reason is required"},
		{"decision outcome", UpdateAgentDecision, AgentDecisionRequest{AgentID: testAgent, Outcome: "maybe"},
			RejectInvalidRequest, `outcome must be "approve" or "reject"`},
		{"decision by another agent", UpdateAgentDecision, AgentDecisionRequest{AgentID: "agent-9", Outcome: kyc.OutcomeApprove},
			RejectForbidden, "case is assigned to another agent"},
		{"audit too early", UpdateAuditDecision, audit(kyc.OutcomeApprove, ""), RejectInvalidState,
			"case is in_call; it is not awaiting audit"},
		{"cancel without reason", UpdateCancel, CancelRequest{By: "ops"}, RejectInvalidRequest, "reason is required"},
	}
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.update(2*time.Minute, UpdateAddCapture, "face", capture(1, kyc.CaptureFace))
	for i, tc := range tests {
		h.update(3*time.Minute+time.Duration(i)*time.Second, tc.update, tc.name, tc.arg)
	}
	h.update(time.Hour-time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	v := h.run(input())

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.mustReject(tc.name, tc.errType, tc.msg)
		})
	}
	if len(v.Captures) != 1 || v.AgentID != testAgent {
		t.Fatalf("captures %d agent %s", len(v.Captures), v.AgentID)
	}
}

func TestDecisionBeforeTheCallIsRejected(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, UpdateAgentDecision, "unassigned", approve(""))
	h.update(2*time.Minute, UpdateAssignAgent, "assign", AssignAgentRequest{AgentID: testAgent})
	h.update(3*time.Minute, UpdateAgentDecision, "early", approve(""))
	h.update(4*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	h.mustReject("unassigned", RejectInvalidState, "no agent is assigned to the case")
	h.mustReject("early", RejectInvalidState,
		"case is waiting_for_participants; the agent's decision is taken during or right after the call")
}

func TestAuditorMustDifferFromAgent(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.approveAndRecord(end, "decide", 1)
	h.update(end+2*time.Minute, UpdateAuditDecision, "self-audit",
		AuditDecisionRequest{AuditorID: testAgent, Outcome: kyc.OutcomeApprove})
	h.snapshot(end+3*time.Minute, "after")
	h.update(end+4*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	h.mustReject("self-audit", RejectForbidden, "auditor must differ from the deciding agent")
	if a := h.view("after"); a.Status != kyc.StatusAwaitingAudit || a.Audit != nil {
		t.Fatalf("after self-audit: %s %v", a.Status, a.Audit)
	}
	if v.Status != kyc.StatusApproved || h.count(core.EventAuditDecision) != 1 {
		t.Fatalf("final %s, %d audit events", v.Status, h.count(core.EventAuditDecision))
	}
}

// Clients retry: the same update id is deduplicated by Temporal, and a
// repeated request under a new id returns the view without a second change.
func TestRepeatedRequestsAreIdempotent(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.update(2*time.Second, UpdateAssignAgent, "assign-again", AssignAgentRequest{AgentID: testAgent})
	end := h.callWithCaptures(time.Minute, 1)
	h.update(end, UpdateAddCapture, "face-retry", capture(1, kyc.CaptureFace))
	h.update(end+time.Second, UpdateAgentDecision, "decide", approve("ok"))
	h.at(end+2*time.Second, func() { h.sendUpdate(UpdateAgentDecision, "decide", approve("ok")) })
	h.update(end+3*time.Second, UpdateAgentDecision, "decide-new-id", approve("ok"))
	h.signal(end+time.Minute, h.recorded(1))
	h.update(end+2*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	h.mustAccept("assign-again")
	if f := h.mustAccept("face-retry"); len(f.Captures) != 3 {
		t.Fatalf("repeated capture answered %d captures", len(f.Captures))
	}
	if r := h.mustAccept("decide-new-id"); r.Decision == nil || r.Status != kyc.StatusAwaitingRecording {
		t.Fatalf("repeated decision answered %s %v", r.Status, r.Decision)
	}
	if h.count(core.EventAgentDecision) != 1 || h.count(core.EventCaptureAdded) != 3 || h.count(core.EventAgentAssigned) != 1 {
		t.Fatalf("events %v", h.eventTypes())
	}
	if v.Status != kyc.StatusApproved || len(v.Captures) != 3 {
		t.Fatalf("final %s captures %d", v.Status, len(v.Captures))
	}
}
