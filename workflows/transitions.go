package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// Reasons the workflow gives for aborted attempts and terminal statuses.
const (
	ReasonNetworkDrop         = "network_drop"
	ReasonCallEndedIncomplete = "call_ended_without_captures"
	ReasonMaxCallLength       = "max_call_length"
	ReasonDecisionWindow      = "decision_window_elapsed"
	ReasonRecordingFailed     = "recording_failed"
	ReasonRecordingMissing    = "recording_missing"
	ReasonRecordingInvalid    = "recording_invalid"
	ReasonRecordingElsewhere  = "recording_outside_room"
	ReasonRecordingUnverified = "recording_unverified"
	ReasonAuditRecapture      = "audit_recapture"
	ReasonJoinTimeout         = "join_timeout"
	ReasonCaseTTL             = "case_ttl"
	ReasonMaxAttempts         = "max_attempts_reached"
	ReasonRoomCreationFailed  = "room_creation_failed"
)

func (c *kycCase) setStatus(ctx workflow.Context, to kyc.Status, reason string, who actor) {
	v := &c.s.View
	from := v.Status
	if from == to {
		return
	}
	v.Status, v.StatusReason = to, reason
	if from == kyc.StatusAwaitingAudit {
		// Overdue means "an auditor owes this case a look now"; the
		// audit_overdue event keeps the SLA breach on record.
		v.Overdue = false
		c.s.AuditAt = nil
	}
	if to == kyc.StatusAwaitingAudit {
		c.s.AuditAt = timePtr(workflow.Now(ctx))
	}
	c.record(ctx, EventStatusChanged, who, eventData{From: from, To: to, Reason: reason, Attempt: v.Attempt})
}

// startAttempt opens attempt n with a fresh room, participants, recording and
// decision. Captures of earlier attempts stay in the view for the record but
// no longer count.
func (c *kycCase) startAttempt(ctx workflow.Context, n int, reason string, who actor) {
	v := &c.s.View
	v.Attempt = n
	v.Attempts = append(v.Attempts, kyc.Attempt{
		Number: n, RoomName: kyc.RoomName(v.ID, n), Status: kyc.AttemptActive, StartedAt: workflow.Now(ctx),
	})
	v.Participants = kyc.Participants{Agent: kyc.Participant{ID: v.AgentID}}
	v.Recording = kyc.Recording{Status: kyc.RecordingPending}
	v.Decision, v.Audit = nil, nil
	c.s.Call = Call{}
	c.s.PrevSeen, c.s.Seen = c.s.Seen, nil
	c.record(ctx, EventAttemptStarted, who, eventData{Attempt: n, RoomName: kyc.RoomName(v.ID, n), Reason: reason})
	c.setStatus(ctx, kyc.StatusWaitingForParticipants, reason, who)
}

// abortAttempt gives up the current attempt: its room is ended and disabled
// and, attempts permitting, a new one starts. Regulators want every approval
// backed by one unbroken, recorded session, so nothing of an aborted attempt
// carries over.
func (c *kycCase) abortAttempt(ctx workflow.Context, reason string, who actor) {
	v := &c.s.View
	c.endAttempt(ctx, kyc.AttemptAborted, reason)
	c.record(ctx, EventAttemptAborted, who, eventData{Attempt: v.Attempt, Reason: reason})
	c.queueRoomClose(reason)
	if v.Attempt >= c.in.Timeouts.MaxAttempts {
		c.terminate(ctx, kyc.StatusFailed, ReasonMaxAttempts, who)
		return
	}
	c.startAttempt(ctx, v.Attempt+1, reason, who)
}

func (c *kycCase) endAttempt(ctx workflow.Context, status, reason string) {
	a := c.s.attempt()
	a.Status, a.EndReason = status, reason
	if a.EndedAt == nil {
		a.EndedAt = timePtr(workflow.Now(ctx))
	}
}

// terminate moves the case to a terminal status and closes its room.
func (c *kycCase) terminate(ctx workflow.Context, to kyc.Status, reason string, who actor) {
	if a := c.s.attempt(); a.Status == kyc.AttemptActive {
		c.endAttempt(ctx, kyc.AttemptAborted, reason)
	}
	c.queueRoomClose(reason)
	c.setStatus(ctx, to, reason, who)
}

// queueRoomClose asks the room worker to end the current attempt's session
// (when it may still run) and disable its room, once per attempt.
func (c *kycCase) queueRoomClose(reason string) {
	if c.s.Call.RoomClosing {
		return
	}
	c.s.Call.RoomClosing = true
	c.s.RoomOps = append(c.s.RoomOps, RoomOp{Attempt: c.s.View.Attempt, Reason: reason, End: !c.s.Call.SessionClosed})
	c.tick++
}

// callOver marks the moment the call stopped mattering (it ended, or the
// agent decided) and closes the room: nobody may rejoin and extend a session
// whose outcome is settled, and ending the room makes 100ms finish the
// recording now instead of 5 minutes after the last peer left.
func (c *kycCase) callOver(ctx workflow.Context, reason string) {
	if c.s.Call.OverAt == nil {
		c.s.Call.OverAt = timePtr(workflow.Now(ctx))
	}
	c.queueRoomClose(reason)
}

// callEnded handles a call that ended before the agent decided: with every
// required capture the agent gets the decision window, otherwise the
// attempt is void.
func (c *kycCase) callEnded(ctx workflow.Context, reason string, who actor) {
	c.s.Call.EndedAt = timePtr(workflow.Now(ctx))
	c.callOver(ctx, reason)
	if missing := c.s.missingCaptures(); len(missing) > 0 {
		c.abortAttempt(ctx, ReasonCallEndedIncomplete, who)
		return
	}
	c.setStatus(ctx, kyc.StatusAwaitingDecision, reason, who)
}

// startCall begins the call once both participants are in the same session.
// A session whose recording already failed cannot carry the call.
func (c *kycCase) startCall(ctx workflow.Context, who actor) {
	c.s.Call.StartedAt = timePtr(workflow.Now(ctx))
	c.s.Call.CallSessionID = c.s.Call.SessionID
	c.setStatus(ctx, kyc.StatusInCall, "", who)
	id := c.s.Call.CallSessionID
	if id != "" && slices.Contains(c.s.Call.FailedSessions, id) {
		c.recordingFailed(ctx, ReasonRecordingFailed, "", who)
		return
	}
	if id != "" && slices.Contains(c.s.Call.RecordingSessions, id) && c.s.View.Recording.Status == kyc.RecordingPending {
		c.s.View.Recording.Status = kyc.RecordingStarted
	}
}

// recordingFailed handles a recording that failed, could not be verified or
// never came. Before the case reaches the audit an approval would lack its
// evidence, so the attempt is void (and a decision already taken with it).
// A rejection does not need the recording, so after one it is only noted.
func (c *kycCase) recordingFailed(ctx workflow.Context, reason, errorType string, who actor) {
	v := &c.s.View
	v.Recording.Status = kyc.RecordingFailed
	c.record(ctx, EventRecordingFailed, who, eventData{Attempt: v.Attempt, Reason: reason, ErrorType: errorType})
	switch v.Status {
	case kyc.StatusWaitingForParticipants, kyc.StatusInCall, kyc.StatusAwaitingDecision, kyc.StatusAwaitingRecording:
		c.abortAttempt(ctx, reason, who)
	}
}

// decided routes the case after the agent's decision.
func (c *kycCase) decided(ctx workflow.Context, d kyc.Verdict, who actor) {
	v := &c.s.View
	v.Decision = &d
	c.record(ctx, EventAgentDecision, who, eventData{Attempt: v.Attempt, Outcome: d.Outcome, Reason: d.Reason})
	c.endAttempt(ctx, kyc.AttemptCompleted, "agent_"+d.Outcome)
	c.callOver(ctx, "agent_"+d.Outcome)
	switch {
	case d.Outcome == kyc.OutcomeReject && !v.AuditRejections:
		c.setStatus(ctx, kyc.StatusRejected, d.Reason, who)
	case d.Outcome == kyc.OutcomeReject, v.Recording.Status == kyc.RecordingVerified:
		// A rejection is audited on the decision and the captures; the
		// recording is verified too if it comes, but is not waited for.
		c.setStatus(ctx, kyc.StatusAwaitingAudit, "", who)
	default:
		c.setStatus(ctx, kyc.StatusAwaitingRecording, "", who)
	}
}

// audited applies the auditor's verdict.
func (c *kycCase) audited(ctx workflow.Context, a kyc.Verdict, who actor) {
	v := &c.s.View
	v.Audit = &a
	c.record(ctx, EventAuditDecision, who, eventData{Attempt: v.Attempt, Outcome: a.Outcome, Reason: a.Reason})
	switch a.Outcome {
	case kyc.OutcomeApprove:
		c.setStatus(ctx, kyc.StatusApproved, "", who)
	case kyc.OutcomeReject:
		c.setStatus(ctx, kyc.StatusRejected, a.Reason, who)
	case kyc.OutcomeRecapture:
		c.abortAttempt(ctx, ReasonAuditRecapture, who)
	}
}
