package core

import (
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Deadline is a moment at which something happens unless the case changes
// first. Deadlines are derived from the state every time, never stored, so
// a change of status simply makes the old ones disappear.
type Deadline struct {
	At   time.Time
	What string
	fire func(*step)
}

// Deadlines lists the case's deadlines.
func (s *State) Deadlines() []Deadline {
	call, l := &s.Call, s.Limits
	var ds []Deadline
	if beforeDecision(s.Status) {
		ds = append(ds, Deadline{s.CreatedAt.Add(l.CaseTTL), "case TTL", (*step).ttlElapsed})
	}
	switch s.Status {
	case kyc.StatusWaitingForParticipants:
		ds = append(ds, Deadline{s.CurrentAttempt().StartedAt.Add(l.JoinTimeout), "join timeout", (*step).joinTimedOut})
	case kyc.StatusInCall:
		ds = append(ds, Deadline{call.StartedAt.Add(l.MaxCallLength), "maximum call length", (*step).callTooLong})
	case kyc.StatusAwaitingDecision:
		ds = append(ds, Deadline{call.EndedAt.Add(l.DecisionWindow), "decision window", (*step).decisionWindowElapsed})
	case kyc.StatusAwaitingRecording:
		if call.OverAt != nil {
			ds = append(ds, Deadline{call.OverAt.Add(l.RecordingDeadline), "recording deadline", (*step).recordingUnverified})
		}
	case kyc.StatusAwaitingAudit:
		if !s.Overdue && s.AuditAt != nil {
			ds = append(ds, Deadline{s.AuditAt.Add(l.AuditSLA), "audit SLA", (*step).auditOverdue})
		}
	}
	if s.recordingMayBeLate() {
		ds = append(ds, Deadline{call.OverAt.Add(l.RecordingGrace), "recording webhook grace", (*step).recordingLate})
	}
	return ds
}

// recordingMayBeLate reports whether the case waits for a recording
// webhook that has not come: only until the decision is made on an
// approval.
func (s *State) recordingMayBeLate() bool {
	waiting := s.Status == kyc.StatusAwaitingDecision || s.Status == kyc.StatusAwaitingRecording
	return waiting && s.recordingPending() && s.Call.OverAt != nil && !s.Call.PollDue && !s.Call.Polled
}

// NextDeadline returns the earliest deadline, if any.
func (s *State) NextDeadline() (Deadline, bool) {
	var next Deadline
	found := false
	for _, d := range s.Deadlines() {
		if !found || d.At.Before(next.At) {
			next, found = d, true
		}
	}
	return next, found
}

// fireDue fires every deadline that has passed, earliest first; each
// firing changes the state, which removes its deadline.
func (t *step) fireDue() {
	for {
		d, ok := t.s.NextDeadline()
		if !ok || t.now.Before(d.At) {
			return
		}
		d.fire(t)
	}
}

func (t *step) timeout(reason string, d EventData) {
	d.Attempt, d.Reason = t.s.Attempt, reason
	t.record(EventTimeout, System, d)
}

// ttlElapsed: a case the agent has not decided within its TTL expires.
// Once the agent has decided, the case waits for its recording and its
// auditor however long that takes (the audit SLA flags slow audits), since
// expiring a decided case would throw away a completed call.
func (t *step) ttlElapsed() {
	t.timeout(ReasonCaseTTL, EventData{})
	t.terminate(kyc.StatusExpired, ReasonCaseTTL, System)
}

func (t *step) joinTimedOut() {
	var missing []string
	for _, role := range []kyc.Role{kyc.RoleAgent, kyc.RoleCustomer} {
		if !t.s.present(string(role)) {
			missing = append(missing, string(role))
		}
	}
	t.timeout(ReasonJoinTimeout, EventData{Role: strings.Join(missing, ",")})
	t.terminate(kyc.StatusExpired, ReasonJoinTimeout, System)
}

func (t *step) callTooLong() {
	t.timeout(ReasonMaxCallLength, EventData{})
	t.abortAttempt(ReasonMaxCallLength, System)
}

func (t *step) decisionWindowElapsed() {
	t.timeout(ReasonDecisionWindow, EventData{})
	t.abortAttempt(ReasonDecisionWindow, System)
}

// recordingUnverified: an approval waits for its recording only so long; a
// recording that could not be found or verified by then (a bucket that
// refuses access, storage down for most of an hour) voids the attempt.
func (t *step) recordingUnverified() {
	t.timeout(ReasonRecordingUnverified, EventData{})
	t.recordingFailed(ReasonRecordingUnverified, "", System)
}

func (t *step) auditOverdue() {
	t.s.Overdue = true
	t.record(EventAuditOverdue, System, EventData{Attempt: t.s.Attempt})
}

// recordingLate asks 100ms once about the recording.
func (t *step) recordingLate() {
	s := t.s
	s.Call.PollDue = true
	t.record(EventRecordingLate, System, EventData{Attempt: s.Attempt})
	t.add(PollRecording{Attempt: s.Attempt, RoomID: s.CurrentAttempt().RoomID, SessionID: s.Call.CallSessionID})
}
