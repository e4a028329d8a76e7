package workflows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

func TestHappyPathApproved(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, UpdateAssignAgent, "assign", AssignAgentRequest{AgentID: testAgent})
	end := h.callWithCaptures(2*time.Minute, 1)
	h.snapshot(end, "in call")
	h.currentDetails(end, "in call")
	h.update(end+time.Minute, UpdateAgentDecision, "decide", approve("documents match"))
	h.signal(end+2*time.Minute, h.sessionClose(1), h.recorded(1))
	h.snapshot(end+3*time.Minute, "audit")
	h.update(2*time.Hour, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	if v.Status != kyc.StatusApproved || v.Attempt != 1 || len(v.Attempts) != 1 {
		t.Fatalf("final: status %s attempt %d attempts %d", v.Status, v.Attempt, len(v.Attempts))
	}
	if a := v.Attempts[0]; a.Status != kyc.AttemptCompleted || a.RoomID != roomID(1) || a.RoomName != kyc.RoomName(testCase, 1) {
		t.Fatalf("attempt: %+v", a)
	}
	if v.Decision == nil || v.Decision.Outcome != kyc.OutcomeApprove || v.Audit == nil || v.Audit.By != testAuditor {
		t.Fatalf("verdicts: decision %+v audit %+v", v.Decision, v.Audit)
	}
	if r := v.Recording; r.Status != kyc.RecordingVerified || r.SHA256 != sha(9) || r.Duration != 420 || r.VerifiedAt == nil {
		t.Fatalf("recording: %+v", r)
	}
	if len(v.Captures) != 3 || v.Customer != (kyc.Customer{Reference: "CUST-0042"}) {
		t.Fatalf("captures %d customer %+v", len(v.Captures), v.Customer)
	}
	if in := h.view("in call"); in.Status != kyc.StatusInCall || !in.Participants.Agent.Joined || !in.Participants.Customer.Joined {
		t.Fatalf("in call: %s %+v", in.Status, in.Participants)
	}
	for _, want := range []string{"**Status:** `in_call`", "**Attempt:** 1 of 3", "`" + roomID(1) + "`",
		"agent in the call since", "face ✓ (1), id_front ✓ (1), id_back ✓ (1)", "**Recording:** pending", "CUST-0042", "**Next deadline:** maximum call length at 2026-03-02 09:33:00Z"} {
		if !strings.Contains(h.details["in call"], want) {
			t.Errorf("details lack %q:\n%s", want, h.details["in call"])
		}
	}
	if au := h.view("audit"); au.Status != kyc.StatusAwaitingAudit {
		t.Fatalf("after recording: %s", au.Status)
	}
	if d := h.mustAccept("decide"); d.Status != kyc.StatusAwaitingRecording {
		t.Fatalf("decision answered %s", d.Status)
	}
	h.mustHaveEvents(core.EventCaseCreated, core.EventAttemptStarted, core.EventRoomCreated, core.EventAgentAssigned,
		"hms.peer.join.success", "hms.peer.join.success", core.EventStatusChanged, core.EventCaptureAdded, core.EventCaptureAdded,
		core.EventCaptureAdded, core.EventAgentDecision, core.EventStatusChanged, core.EventRoomClosed, "hms.beam.recording.success",
		core.EventRecordingChecked, core.EventStatusChanged, core.EventAuditDecision, core.EventStatusChanged)
	if len(h.ended) != 1 || !h.ended[0].Lock || h.ended[0].RoomID != roomID(1) || !slices.Equal(h.disabled, []string{roomID(1)}) {
		t.Fatalf("room closing: ended %+v disabled %v", h.ended, h.disabled)
	}
	if len(h.verified) != 1 || h.verified[0].Path != h.recordedPath(1) {
		t.Fatalf("verified %+v", h.verified)
	}
	want := map[string]any{"KycStatus": "approved", "KycCustomerRef": "CUST-0042", "KycAgentId": testAgent,
		"KycAttempt": int64(1), "KycOverdue": false}
	for k, w := range want {
		if h.search[k] != w {
			t.Errorf("search attribute %s = %v, want %v", k, h.search[k], w)
		}
	}
}

// 100ms delivers at least once and out of order: duplicates, a leave before
// its join, session.close before the last leave, the recording before
// session.close, and events of another room must all leave the case intact.
func TestDuplicateAndReorderedEvents(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, UpdateAssignAgent, "assign", AssignAgentRequest{AgentID: testAgent})
	customer := h.join(1, "customer")
	staleLeave := h.leave(1, "customer", "websocket closed")
	staleLeave.PeerID = "peer-customer-old"
	staleJoin := h.join(1, "customer")
	staleJoin.PeerID = "peer-customer-old"
	h.signal(2*time.Minute, customer, customer, staleLeave, staleJoin, customer)
	agent := h.join(1, "agent")
	otherRoom := h.join(2, "agent")
	otherRoom.PeerID = "peer-from-attempt-2"
	h.signal(3*time.Minute, otherRoom, agent, agent)
	for i, k := range kyc.DefaultRequiredCaptures {
		h.update(4*time.Minute+time.Duration(i)*time.Second, UpdateAddCapture, "cap-"+string(k), capture(1, k))
	}
	rec := h.recorded(1)
	h.signal(6*time.Minute, rec, h.sessionClose(1), rec)
	h.signal(7*time.Minute, h.leave(1, "agent", "client request"), h.leave(1, "customer", "websocket closed"), customer, agent)
	h.snapshot(8*time.Minute, "after call")
	h.update(9*time.Minute, UpdateAgentDecision, "decide", approve(""))
	h.update(10*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, "ok"))

	v := h.run(input())

	if v.Status != kyc.StatusApproved || len(v.Attempts) != 1 || h.count(core.EventAttemptAborted) != 0 {
		t.Fatalf("status %s attempts %d events %v", v.Status, len(v.Attempts), h.eventTypes())
	}
	if got := h.count("hms.peer.join.success"); got != 3 {
		t.Fatalf("%d join events logged, want 3 (customer, stale customer, agent)", got)
	}
	if got := h.count("hms.beam.recording.success"); got != 1 || len(h.verified) != 1 {
		t.Fatalf("recording events %d, verifications %d", got, len(h.verified))
	}
	after := h.view("after call")
	if after.Status != kyc.StatusAwaitingDecision || after.Recording.Status != kyc.RecordingVerified {
		t.Fatalf("after call: %s, recording %s", after.Status, after.Recording.Status)
	}
	if after.Participants.Customer.LeftAt == nil || after.Participants.Agent.LeftAt == nil {
		t.Fatalf("participants after call: %+v", after.Participants)
	}
	// The recording was verified before the decision: no awaiting_recording.
	if d := h.mustAccept("decide"); d.Status != kyc.StatusAwaitingAudit {
		t.Fatalf("decision answered %s", d.Status)
	}
}

func TestQueryReturnsTheView(t *testing.T) {
	h := newHarness(t)
	h.update(time.Minute, UpdateAssignAgent, "assign", AssignAgentRequest{AgentID: testAgent})
	h.signal(2*time.Minute, h.join(1, "customer"))
	h.update(3*time.Minute, UpdateAddCapture, "cap", capture(1, kyc.CaptureFace)) // refused: not in call
	h.snapshot(4*time.Minute, "waiting")
	h.update(5*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops-1", Role: "admin", Reason: "customer withdrew"})

	v := h.run(input())

	q := h.view("waiting")
	if q.ID != testCase || q.Status != kyc.StatusWaitingForParticipants || q.AgentID != testAgent || q.Attempt != 1 {
		t.Fatalf("query: %+v", q)
	}
	if q.Customer != (kyc.Customer{Reference: "CUST-0042"}) || !slices.Equal(q.RequiredCaptures, kyc.DefaultRequiredCaptures) {
		t.Fatalf("query customer %+v required %v", q.Customer, q.RequiredCaptures)
	}
	if !q.Participants.Customer.Joined || q.Participants.Agent.Joined || q.Participants.Agent.ID != testAgent {
		t.Fatalf("query participants %+v", q.Participants)
	}
	if q.Attempts[0].RoomID != roomID(1) || len(q.Captures) != 0 || !q.AuditRejections {
		t.Fatalf("query attempts %+v captures %v", q.Attempts, q.Captures)
	}
	// The version is the sequence number of the last event at that moment.
	if q.Version != 5 || v.Version <= q.Version {
		t.Fatalf("query version %d, final %d", q.Version, v.Version)
	}
	h.mustReject("cap", RejectInvalidState, "case is waiting_for_participants; captures are closed")
}
