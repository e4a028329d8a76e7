package core

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Transition is one allowed change of status and what causes it.
type Transition struct {
	From, To kyc.Status
	When     string
}

// open lists the statuses a case can still leave.
var open = []kyc.Status{
	kyc.StatusWaitingForParticipants, kyc.StatusInCall, kyc.StatusAwaitingDecision,
	kyc.StatusAwaitingRecording, kyc.StatusAwaitingAudit,
}

// Transitions is the case's state machine: setStatus makes no other change.
// The README's diagram is generated from it (Diagram), and a test keeps the
// two equal.
var Transitions = func() []Transition {
	t := []Transition{
		// A case is born waiting; this row is the diagram's entry.
		{"", kyc.StatusWaitingForParticipants, "case created, room of attempt 1 created"},
		{kyc.StatusWaitingForParticipants, kyc.StatusInCall, "agent and customer joined"},
		{kyc.StatusWaitingForParticipants, kyc.StatusExpired, "join timeout"},
		{kyc.StatusInCall, kyc.StatusAwaitingDecision, "call ended normally, all required captures taken"},
		{kyc.StatusInCall, kyc.StatusAwaitingRecording, "agent approved"},
		{kyc.StatusInCall, kyc.StatusAwaitingAudit, "agent rejected (audit_rejections)"},
		{kyc.StatusInCall, kyc.StatusRejected, "agent rejected (audit_rejections = false)"},
		{kyc.StatusInCall, kyc.StatusWaitingForParticipants, "call dropped, recording failed or call ended without captures (new attempt)"},
		{kyc.StatusAwaitingDecision, kyc.StatusAwaitingRecording, "agent approved"},
		{kyc.StatusAwaitingDecision, kyc.StatusAwaitingAudit, "agent rejected (audit_rejections)"},
		{kyc.StatusAwaitingDecision, kyc.StatusRejected, "agent rejected (audit_rejections = false)"},
		{kyc.StatusAwaitingDecision, kyc.StatusWaitingForParticipants, "decision window passed or recording failed (new attempt)"},
		{kyc.StatusAwaitingRecording, kyc.StatusAwaitingAudit, "recording verified in our bucket"},
		{kyc.StatusAwaitingRecording, kyc.StatusWaitingForParticipants, "recording failed, never came or was not verified in time (new attempt)"},
		{kyc.StatusAwaitingAudit, kyc.StatusApproved, "auditor approves (agent approved)"},
		{kyc.StatusAwaitingAudit, kyc.StatusRejected, "auditor rejects"},
		{kyc.StatusAwaitingAudit, kyc.StatusWaitingForParticipants, "auditor asks for recapture (new attempt)"},
	}
	for _, from := range open {
		t = append(t, Transition{from, kyc.StatusFailed, "max attempts reached, or the room could not be created"})
		if beforeDecision(from) && from != kyc.StatusWaitingForParticipants {
			t = append(t, Transition{from, kyc.StatusExpired, "case TTL passed before the agent decided"})
		}
		t = append(t, Transition{from, kyc.StatusCancelled, "the bank or an operator cancels"},
			Transition{from, kyc.StatusTerminated, "its workflow was closed from outside; the reconciler ends it"})
	}
	return t
}()

// Allowed reports whether from → to is in Transitions.
func Allowed(from, to kyc.Status) bool {
	return slices.ContainsFunc(Transitions, func(t Transition) bool { return t.From == from && t.To == to })
}

// step is one application of an input: the state, the time, and the
// effects the change calls for.
type step struct {
	s   *State
	now time.Time
	fx  []Effect
}

func (t *step) add(e Effect) { t.fx = append(t.fx, e) }

// record appends an event to the log. Every change of the case goes
// through here: the version is the last event's seq, so a projection and
// the log can always be lined up.
func (t *step) record(typ string, who Actor, d EventData) {
	// encoding/json sorts nothing here (a flat struct, no maps);
	// workflowcheck only objects to reflect's internals deep below.
	data, err := json.Marshal(d) //workflowcheck:ignore
	if err != nil {
		// A flat struct of strings and numbers cannot fail to marshal;
		// keep the event rather than lose it.
		data = []byte(`{}`)
	}
	s := t.s
	s.Log.Version++
	s.UpdatedAt = t.now
	s.Log.append(s.CaseID, Entry{Seq: s.Log.Version, Type: typ, ActorID: who.ID, ActorRole: who.Role, At: t.now, Data: data})
	if len(s.Log.Unsaved) == 1 {
		t.add(Save{})
	}
}

// append links e into the chain and queues it for the save.
func (l *Log) append(caseID string, e Entry) {
	if l.Head.Hash == "" && l.Head.Seq == 0 && e.Seq == 1 {
		l.Head.Hash = chain.Genesis
	}
	if l.Head.Hash != "" && l.Head.Seq == e.Seq-1 {
		ev := chain.Event{
			CaseID: caseID, Seq: e.Seq, Type: e.Type, ActorID: e.ActorID, ActorRole: string(e.ActorRole),
			At: e.At, Data: e.Data,
		}
		// Pure: RFC 8785 canonical JSON (a parser over a byte slice that
		// sorts object members in a slice, no maps), then SHA-256.
		e.Hash = chain.Next(l.Head.Hash, ev) //workflowcheck:ignore
	}
	l.Head = chain.Head{Seq: e.Seq, Hash: e.Hash}
	l.Unsaved = append(l.Unsaved, e)
}

// setStatus moves the case along one transition of the table; anything
// else is refused (and reported by Apply as a bug).
func (t *step) setStatus(to kyc.Status, reason string, who Actor) {
	s := t.s
	from := s.Status
	if from == to {
		return
	}
	if !Allowed(from, to) {
		t.add(Bug{fmt.Sprintf("status %s → %s is not in the case's transition table", from, to)})
		return
	}
	s.Status, s.StatusReason = to, reason
	if from == kyc.StatusAwaitingAudit {
		// Overdue means "an auditor owes this case a look now"; the
		// audit_overdue event keeps the SLA breach on record.
		s.Overdue, s.AuditAt = false, nil
	}
	if to == kyc.StatusAwaitingAudit {
		s.AuditAt = timePtr(t.now)
	}
	t.record(EventStatusChanged, who, EventData{From: from, To: to, Reason: reason, Attempt: s.Attempt})
}

// open creates the case and its first attempt.
func (t *step) open(by Actor) {
	s := t.s
	t.record(EventCaseCreated, by, EventData{CustomerRef: s.CustomerRef, Required: s.Required})
	t.startAttempt(1, "", by)
}

// startAttempt opens attempt n with a fresh room, participants, recording
// and decision. Captures of earlier attempts stay for the record but no
// longer count.
func (t *step) startAttempt(n int, reason string, who Actor) {
	s := t.s
	s.Attempt = n
	s.Attempts = append(s.Attempts, kyc.Attempt{
		Number: n, RoomName: kyc.RoomName(s.CaseID, n), Status: kyc.AttemptActive, StartedAt: t.now,
	})
	s.Participants = kyc.Participants{Agent: kyc.Participant{ID: s.AgentID}}
	s.Recording = kyc.Recording{Status: kyc.RecordingPending}
	s.Decision, s.Audit = nil, nil
	s.Call = Call{}
	s.PrevSeen, s.Seen = s.Seen, nil
	t.record(EventAttemptStarted, who, EventData{Attempt: n, RoomName: kyc.RoomName(s.CaseID, n), Reason: reason})
	t.setStatus(kyc.StatusWaitingForParticipants, reason, who)
	t.add(CreateRoom{Attempt: n})
}

// abortAttempt gives up the current attempt: its room is ended and disabled
// and, attempts permitting, a new one starts. Regulators want every
// approval backed by one unbroken, recorded session, so nothing of an
// aborted attempt carries over.
func (t *step) abortAttempt(reason string, who Actor) {
	s := t.s
	t.endAttempt(kyc.AttemptAborted, reason)
	t.record(EventAttemptAborted, who, EventData{Attempt: s.Attempt, Reason: reason})
	t.queueRoomClose(reason)
	if s.Attempt >= s.Limits.MaxAttempts {
		t.terminate(kyc.StatusFailed, ReasonMaxAttempts, who)
		return
	}
	t.startAttempt(s.Attempt+1, reason, who)
}

func (t *step) endAttempt(status, reason string) {
	a := t.s.CurrentAttempt()
	a.Status, a.EndReason = status, reason
	if a.EndedAt == nil {
		a.EndedAt = timePtr(t.now)
	}
}

// terminate moves the case to a terminal status and closes its room.
func (t *step) terminate(to kyc.Status, reason string, who Actor) {
	if a := t.s.CurrentAttempt(); a.Status == kyc.AttemptActive {
		t.endAttempt(kyc.AttemptAborted, reason)
	}
	t.queueRoomClose(reason)
	t.setStatus(to, reason, who)
}

// queueRoomClose ends the current attempt's session (when it may still
// run) and disables its room, once per attempt.
func (t *step) queueRoomClose(reason string) {
	s := t.s
	if s.Call.RoomClosing {
		return
	}
	s.Call.RoomClosing = true
	op := RoomOp{Attempt: s.Attempt, Reason: reason, End: !s.Call.SessionClosed}
	s.RoomOps = append(s.RoomOps, op)
	t.add(CloseRoom{op})
}

// callOver marks the moment the call stopped mattering (it ended, or the
// agent decided) and closes the room: nobody may rejoin and extend a
// session whose outcome is settled, and ending the room makes 100ms finish
// the recording now instead of 5 minutes after the last peer left.
func (t *step) callOver(reason string) {
	if t.s.Call.OverAt == nil {
		t.s.Call.OverAt = timePtr(t.now)
	}
	t.queueRoomClose(reason)
}

// callEnded handles a call that ended before the agent decided: with every
// required capture the agent gets the decision window, otherwise the
// attempt is void.
func (t *step) callEnded(reason string, who Actor) {
	t.s.Call.EndedAt = timePtr(t.now)
	t.callOver(reason)
	if len(t.s.MissingCaptures()) > 0 {
		t.abortAttempt(ReasonCallEndedIncomplete, who)
		return
	}
	t.setStatus(kyc.StatusAwaitingDecision, reason, who)
}

// startCall begins the call once both participants are in the same
// session. A session whose recording already failed cannot carry it.
func (t *step) startCall(who Actor) {
	s := t.s
	s.Call.StartedAt = timePtr(t.now)
	s.Call.CallSessionID = s.Call.SessionID
	t.setStatus(kyc.StatusInCall, "", who)
	id := s.Call.CallSessionID
	if id != "" && slices.Contains(s.Call.FailedSessions, id) {
		t.recordingFailed(ReasonRecordingFailed, "", who)
		return
	}
	if id != "" && slices.Contains(s.Call.RecordingSessions, id) && s.Recording.Status == kyc.RecordingPending {
		s.Recording.Status = kyc.RecordingStarted
	}
}

// recordingFailed handles a recording that failed, could not be verified or
// never came. Before the audit an approval would lack its evidence, so the
// attempt is void (and a decision already taken with it). A rejection does
// not need the recording, so after one it is only noted.
func (t *step) recordingFailed(reason, errorType string, who Actor) {
	s := t.s
	s.Recording.Status = kyc.RecordingFailed
	t.record(EventRecordingFailed, who, EventData{Attempt: s.Attempt, Reason: reason, ErrorType: errorType})
	switch s.Status {
	case kyc.StatusWaitingForParticipants, kyc.StatusInCall, kyc.StatusAwaitingDecision, kyc.StatusAwaitingRecording:
		t.abortAttempt(reason, who)
	}
}

// decided routes the case after the agent's decision.
func (t *step) decided(d kyc.Verdict, who Actor) {
	s := t.s
	s.Decision = &d
	t.record(EventAgentDecision, who, EventData{Attempt: s.Attempt, Outcome: d.Outcome, Reason: d.Reason})
	t.endAttempt(kyc.AttemptCompleted, "agent_"+d.Outcome)
	t.callOver("agent_" + d.Outcome)
	switch {
	case d.Outcome == kyc.OutcomeReject && !s.AuditRejections:
		t.setStatus(kyc.StatusRejected, d.Reason, who)
	case d.Outcome == kyc.OutcomeReject, s.Recording.Status == kyc.RecordingVerified:
		// A rejection is audited on the decision and the captures; the
		// recording is verified too if it comes, but is not waited for.
		t.setStatus(kyc.StatusAwaitingAudit, "", who)
	default:
		t.setStatus(kyc.StatusAwaitingRecording, "", who)
	}
}

// audited applies the auditor's verdict.
func (t *step) audited(a kyc.Verdict, who Actor) {
	s := t.s
	s.Audit = &a
	t.record(EventAuditDecision, who, EventData{Attempt: s.Attempt, Outcome: a.Outcome, Reason: a.Reason})
	switch a.Outcome {
	case kyc.OutcomeApprove:
		t.setStatus(kyc.StatusApproved, "", who)
	case kyc.OutcomeReject:
		t.setStatus(kyc.StatusRejected, a.Reason, who)
	case kyc.OutcomeRecapture:
		t.abortAttempt(ReasonAuditRecapture, who)
	}
}

func (t *step) recordingVerified(check RecordingCheck) {
	s := t.s
	r := &s.Recording
	r.Status, r.Size, r.SHA256, r.ETag = kyc.RecordingVerified, check.Size, check.SHA256, check.ETag
	r.VerifiedAt = timePtr(t.now)
	t.record(EventRecordingChecked, System, EventData{
		Attempt: s.Attempt, RecordingID: r.ID, Path: r.Path, Size: r.Size, Duration: r.Duration, SHA256: r.SHA256, ETag: r.ETag,
	})
	if s.Status == kyc.StatusAwaitingRecording {
		t.setStatus(kyc.StatusAwaitingAudit, "", System)
	}
}
