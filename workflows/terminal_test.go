package workflows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

func TestCustomerNeverJoinsExpires(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "agent"))
	h.snapshot(30*time.Minute-time.Second, "before")

	v := h.run(input())

	if b := h.view("before"); b.Status != kyc.StatusWaitingForParticipants {
		t.Fatalf("before the join timeout: %s", b.Status)
	}
	if v.Status != kyc.StatusExpired || v.StatusReason != core.ReasonJoinTimeout || v.Attempts[0].Status != kyc.AttemptAborted {
		t.Fatalf("status %s (%s) attempt %+v", v.Status, v.StatusReason, v.Attempts[0])
	}
	if !v.UpdatedAt.Equal(v.CreatedAt.Add(30 * time.Minute)) {
		t.Fatalf("expired at %s", v.UpdatedAt)
	}
	var d core.EventData
	for _, e := range h.events() {
		if e.Type == core.EventTimeout {
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d.Role != "customer" || d.Reason != core.ReasonJoinTimeout {
		t.Fatalf("timeout event %+v", d)
	}
	if len(h.ended) != 1 || !slices.Equal(h.disabled, []string{roomID(1)}) {
		t.Fatalf("room not closed: ended %+v disabled %v", h.ended, h.disabled)
	}
}

type activeStatus struct {
	status kyc.Status
	steps  func(h *harness) time.Duration // schedules the way to status; returns when it is reached
}

// activeStatusSteps lists every status a case can be cancelled in, with the
// steps that reach it.
func activeStatusSteps() []activeStatus {
	return []activeStatus{
		{kyc.StatusWaitingForParticipants, func(h *harness) time.Duration { return time.Minute }},
		{kyc.StatusInCall, func(h *harness) time.Duration {
			h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
			return 2 * time.Minute
		}},
		{kyc.StatusAwaitingDecision, func(h *harness) time.Duration {
			end := h.callWithCaptures(time.Minute, 1)
			h.signal(end, h.sessionClose(1), h.recorded(1))
			return end + time.Minute
		}},
		{kyc.StatusAwaitingRecording, func(h *harness) time.Duration {
			end := h.callWithCaptures(time.Minute, 1)
			h.update(end, UpdateAgentDecision, "decide", approve(""))
			return end + time.Minute
		}},
		{kyc.StatusAwaitingAudit, func(h *harness) time.Duration {
			end := h.callWithCaptures(time.Minute, 1)
			h.approveAndRecord(end, "decide", 1)
			return end + 2*time.Minute
		}},
	}
}

func TestCancelInEveryActiveStatus(t *testing.T) {
	cancelInEveryActiveStatus(t, func(h *harness, at time.Duration) {
		h.update(at+time.Second, UpdateCancel, "cancel-no-by", CancelRequest{Reason: "x"})
		h.update(at+2*time.Second, UpdateCancel, "cancel", CancelRequest{By: "ops-1", Role: "admin", Reason: "customer withdrew consent"})
		h.update(at+2*time.Second, UpdateCancel, "cancel-again", CancelRequest{By: "ops-1", Role: "admin", Reason: "customer withdrew consent"})
	}, func(h *harness) {
		h.mustReject("cancel-no-by", RejectInvalidRequest, "by is required")
		if c := h.mustAccept("cancel"); c.Status != kyc.StatusCancelled {
			h.t.Fatalf("cancel answered %s", c.Status)
		}
		h.mustAccept("cancel-again")
	}, "customer withdrew consent", "ops-1", kyc.RoleAdmin)
}

// TestTemporalCancelInEveryActiveStatus: an operator's "Request
// Cancellation" in the Web UI (or `temporal workflow cancel`) ends the case
// as the bank's cancel does, names the operator, and completes the workflow.
func TestTemporalCancelInEveryActiveStatus(t *testing.T) {
	cancelInEveryActiveStatus(t, func(h *harness, at time.Duration) {
		h.at(at+time.Second, h.env.CancelWorkflow)
	}, func(*harness) {}, "opened twice by mistake", "ops-7@bank (temporal-ui)", kyc.RoleOperator)
}

// cancelInEveryActiveStatus reaches each active status, has cancel cancel
// the case there, checks the answers, and checks that the case ended
// cancelled for reason in the name of actor (in role), its room disabled.
func cancelInEveryActiveStatus(t *testing.T, cancel func(h *harness, at time.Duration), answers func(h *harness), reason, actor string, role kyc.Role) {
	for _, tc := range activeStatusSteps() {
		t.Run(string(tc.status), func(t *testing.T) {
			h := newHarness(t)
			h.assign()
			at := tc.steps(h)
			h.snapshot(at, "before")
			cancel(h, at)

			v := h.run(input())

			if b := h.view("before"); b.Status != tc.status {
				t.Fatalf("reached %s, want %s", b.Status, tc.status)
			}
			answers(h)
			if v.Status != kyc.StatusCancelled || v.StatusReason != reason || h.count(core.EventCaseCancelled) != 1 {
				t.Fatalf("final %s (%s), events %v", v.Status, v.StatusReason, h.eventTypes())
			}
			if !slices.Contains(h.disabled, roomID(1)) {
				t.Fatalf("room not disabled: %v", h.disabled)
			}
			for _, e := range h.events() {
				if e.Type == core.EventCaseCancelled && (e.ActorID != actor || e.ActorRole != role) {
					t.Fatalf("cancel event actor %s/%s", e.ActorID, e.ActorRole)
				}
			}
			if h.search["KycStatus"] != "cancelled" {
				t.Fatalf("search %v", h.search)
			}
		})
	}
}

func TestCaseTTLExpiresUndecidedCase(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.Timeouts = Timeouts{CaseTTL: 50 * time.Minute, JoinTimeout: 40 * time.Minute}
	h.assign()
	// Attempt 1 drops at 30 min; attempt 2 would run to 70 min, past the TTL.
	h.signal(25*time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.signal(30*time.Minute, h.leave(1, "agent", "websocket closed"))
	h.signal(45*time.Minute, h.join(2, "customer"), h.join(2, "agent"))

	v := h.run(in)

	if v.Status != kyc.StatusExpired || v.StatusReason != core.ReasonCaseTTL || !v.UpdatedAt.Equal(v.CreatedAt.Add(50*time.Minute)) {
		t.Fatalf("status %s (%s) at %s", v.Status, v.StatusReason, v.UpdatedAt)
	}
	if v.Attempt != 2 || v.Attempts[1].Status != kyc.AttemptAborted || v.Attempts[1].EndReason != core.ReasonCaseTTL {
		t.Fatalf("attempts %+v", v.Attempts)
	}
	if !slices.Contains(h.disabled, roomID(2)) {
		t.Fatalf("room 2 not disabled: %v", h.disabled)
	}
}

// The TTL bounds the time to the agent's decision; a decided case waits for
// its auditor (the SLA flags it) instead of expiring.
func TestCaseTTLDoesNotExpireDecidedCase(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.Timeouts = Timeouts{CaseTTL: time.Hour}
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.approveAndRecord(end, "decide", 1)
	h.update(3*time.Hour, UpdateAuditDecision, "recapture", audit(kyc.OutcomeRecapture, "try again"))
	h.update(5*time.Hour, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(in)

	if v.Status != kyc.StatusApproved {
		t.Fatalf("status %s (%s)", v.Status, v.StatusReason)
	}
	h.mustReject("recapture", RejectInvalidState, "the case TTL passed at 2026-03-02T10:00:00Z; approve or reject")
}

func TestAuditSLAMarksOverdue(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.approveAndRecord(end, "decide", 1) // awaiting_audit from end+1m
	var overdueSearch any
	h.snapshot(end+time.Minute+24*time.Hour-time.Second, "before")
	h.snapshot(end+time.Minute+24*time.Hour+time.Second, "after")
	h.at(end+time.Minute+24*time.Hour+2*time.Second, func() { overdueSearch = h.search["KycOverdue"] })
	h.update(30*time.Hour, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, "late but fine"))

	v := h.run(input())

	if b := h.view("before"); b.Overdue || b.Status != kyc.StatusAwaitingAudit {
		t.Fatalf("before the SLA: %s overdue=%v", b.Status, b.Overdue)
	}
	if a := h.view("after"); !a.Overdue || a.Status != kyc.StatusAwaitingAudit {
		t.Fatalf("after the SLA: %s overdue=%v", a.Status, a.Overdue)
	}
	if overdueSearch != true {
		t.Fatalf("KycOverdue after the SLA = %v", overdueSearch)
	}
	if v.Status != kyc.StatusApproved || v.Overdue || h.search["KycOverdue"] != false || h.count(core.EventAuditOverdue) != 1 {
		t.Fatalf("final %s overdue=%v search=%v", v.Status, v.Overdue, h.search["KycOverdue"])
	}
}

func TestAgentRejectGoesToAudit(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	// A rejection needs neither the captures nor the recording.
	h.update(2*time.Minute, UpdateAgentDecision, "reject", AgentDecisionRequest{AgentID: testAgent, Outcome: kyc.OutcomeReject, Reason: "ID photo does not match"})
	h.update(3*time.Minute, UpdateAuditDecision, "audit-approve", audit(kyc.OutcomeApprove, ""))
	h.update(4*time.Minute, UpdateAuditDecision, "audit-reject", audit(kyc.OutcomeReject, "confirmed"))

	v := h.run(input())

	if r := h.mustAccept("reject"); r.Status != kyc.StatusAwaitingAudit {
		t.Fatalf("reject answered %s", r.Status)
	}
	h.mustReject("audit-approve", RejectInvalidRequest, "the agent rejected the case; the auditor may only reject or recapture")
	if v.Status != kyc.StatusRejected || v.StatusReason != "confirmed" || v.Decision.Outcome != kyc.OutcomeReject || v.Audit.Outcome != kyc.OutcomeReject {
		t.Fatalf("final %s (%s) %+v %+v", v.Status, v.StatusReason, v.Decision, v.Audit)
	}
	if len(h.ended) != 1 || !h.ended[0].Lock {
		t.Fatalf("session not ended after the decision: %+v", h.ended)
	}
}

func TestRejectionWithoutAudit(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.AuditRejections = false
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.update(2*time.Minute, UpdateAgentDecision, "reject", AgentDecisionRequest{AgentID: testAgent, Outcome: kyc.OutcomeReject, Reason: "customer refused to show ID"})

	v := h.run(in)

	if v.Status != kyc.StatusRejected || v.StatusReason != "customer refused to show ID" || v.Audit != nil {
		t.Fatalf("final %s (%s)", v.Status, v.StatusReason)
	}
	if v.Recording.Status != kyc.RecordingPending || len(h.verified)+len(h.finds) != 0 {
		t.Fatalf("a rejection waited for the recording: %+v", v.Recording)
	}
	if !slices.Contains(h.disabled, roomID(1)) || len(h.ended) != 1 {
		t.Fatalf("room not closed: ended %+v disabled %v", h.ended, h.disabled)
	}
}

// The event log is never given up on: a refused save is retried later with
// the same events, and the case only completes once everything is saved.
func TestRefusedSaveIsRetriedLater(t *testing.T) {
	h := newHarness(t)
	h.saveErr = func(call int) error {
		if call <= 2 {
			return temporal.NewNonRetryableApplicationError("conflict", activities.ErrCaseEventConflict, nil)
		}
		return nil
	}
	h.update(time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "duplicate case"})

	v := h.run(input())

	if v.Status != kyc.StatusCancelled || h.saveCalls < 3 {
		t.Fatalf("final %s after %d save calls", v.Status, h.saveCalls)
	}
	if first := h.saves[0].Events[0]; first.Seq != 1 || first.Type != core.EventCaseCreated {
		t.Fatalf("first saved event %+v: the refused batch was lost", first)
	}
	if !v.UpdatedAt.Before(h.env.Now()) {
		t.Fatalf("the workflow finished at %s, before the saves that waited 20 minutes", h.env.Now())
	}
}

// TestResetForkIsRebased: after an operator's Reset the new run makes
// events at sequence numbers the discarded run already saved. Once Temporal
// confirms the discarded events (ResolveFork), the run appends after them:
// a log_rebased event naming them and the operator, then its own events
// renumbered and chained from the stored head; the projection follows.
func TestResetForkIsRebased(t *testing.T) {
	h := newHarness(t)
	const storedHead = 9
	storedHash := strings.Repeat("ab", 32)
	h.saveErr = func(call int) error {
		if call == 1 {
			return temporal.NewNonRetryableApplicationError("event 1 differs", activities.ErrCaseEventConflict, nil)
		}
		return nil
	}
	var asked activities.ResolveForkInput
	h.fork = func(in activities.ResolveForkInput) activities.ForkResolution {
		asked = in
		return activities.ForkResolution{Reset: true, Head: chain.Head{Seq: storedHead, Hash: storedHash},
			RunIDs: []string{"run-before-reset"}, Operator: "ops-2@bank", Reason: "replay after a bad deploy"}
	}
	h.update(time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	v := h.run(input())

	if asked.FromSeq != 1 || asked.PrevHash != chain.Genesis {
		t.Fatalf("ResolveFork asked %+v", asked)
	}
	evs := h.events()
	if len(evs) == 0 || evs[0].Type != core.EventLogRebased || evs[0].Seq != storedHead+1 || evs[0].ActorID != "ops-2@bank" {
		t.Fatalf("first saved event %+v", evs)
	}
	if !strings.Contains(string(evs[0].Data), `"from_seq":1`) || !strings.Contains(string(evs[0].Data), `"to_seq":9`) ||
		!strings.Contains(string(evs[0].Data), "run-before-reset") {
		t.Fatalf("log_rebased data %s", evs[0].Data)
	}
	prev := storedHash
	for i, e := range evs {
		if e.Seq != storedHead+1+int64(i) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		want := chain.Next(prev, chain.Event{CaseID: testCase, Seq: e.Seq, Type: e.Type, ActorID: e.ActorID,
			ActorRole: string(e.ActorRole), At: e.At, Data: e.Data})
		if e.Hash != want {
			t.Fatalf("event %d hash %s, want %s chained from the stored head", e.Seq, e.Hash, want)
		}
		prev = e.Hash
	}
	if v.Version != evs[len(evs)-1].Seq || v.Status != kyc.StatusCancelled {
		t.Fatalf("final version %d status %s", v.Version, v.Status)
	}
}
