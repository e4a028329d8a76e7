package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// deadline is a moment at which something happens unless the state changes
// first. Deadlines are derived from the state every time, never stored, so a
// change of status simply makes the old ones disappear.
type deadline struct {
	at   time.Time
	what string
	fire func(workflow.Context)
}

func (c *kycCase) deadlines() []deadline {
	v, call, t := &c.s.View, &c.s.Call, c.in.Timeouts
	var ds []deadline
	if beforeDecision(v.Status) {
		ds = append(ds, deadline{v.CreatedAt.Add(t.CaseTTL), "case TTL", c.ttlElapsed})
	}
	switch v.Status {
	case kyc.StatusWaitingForParticipants:
		ds = append(ds, deadline{c.s.attempt().StartedAt.Add(t.JoinTimeout), "join timeout", c.joinTimedOut})
	case kyc.StatusInCall:
		ds = append(ds, deadline{call.StartedAt.Add(t.MaxCallLength), "maximum call length", c.callTooLong})
	case kyc.StatusAwaitingDecision:
		ds = append(ds, deadline{call.EndedAt.Add(t.DecisionWindow), "decision window", c.decisionWindowElapsed})
	case kyc.StatusAwaitingRecording:
		if call.OverAt != nil {
			ds = append(ds, deadline{call.OverAt.Add(t.RecordingDeadline), "recording deadline", c.recordingUnverified})
		}
	case kyc.StatusAwaitingAudit:
		if !v.Overdue && c.s.AuditAt != nil {
			ds = append(ds, deadline{c.s.AuditAt.Add(t.AuditSLA), "audit SLA", c.auditOverdue})
		}
	}
	if c.recordingMayBeLate() {
		ds = append(ds, deadline{call.OverAt.Add(t.RecordingGrace), "recording webhook grace", c.recordingLate})
	}
	return ds
}

// recordingMayBeLate reports whether the case waits for a recording webhook
// that has not come: only until the decision is made on an approval.
func (c *kycCase) recordingMayBeLate() bool {
	v, call := &c.s.View, &c.s.Call
	waiting := v.Status == kyc.StatusAwaitingDecision || v.Status == kyc.StatusAwaitingRecording
	pending := v.Recording.Status == kyc.RecordingPending || v.Recording.Status == kyc.RecordingStarted
	return waiting && pending && call.OverAt != nil && !call.PollDue && !call.Polled
}

// nextDeadline returns the earliest deadline, if any.
func (c *kycCase) nextDeadline() (deadline, bool) {
	var next deadline
	found := false
	for _, d := range c.deadlines() {
		if !found || d.at.Before(next.at) {
			next, found = d, true
		}
	}
	return next, found
}

// fireDue fires every deadline that has passed, earliest first; each firing
// changes the state, which removes its deadline.
func (c *kycCase) fireDue(ctx workflow.Context) {
	for {
		d, ok := c.nextDeadline()
		if !ok || workflow.Now(ctx).Before(d.at) {
			return
		}
		d.fire(ctx)
		c.afterChange(ctx)
	}
}

func (c *kycCase) timeout(ctx workflow.Context, reason string, d eventData) {
	d.Attempt, d.Reason = c.s.View.Attempt, reason
	c.record(ctx, EventTimeout, systemActor, d)
}

// ttlElapsed: a case the agent has not decided within its TTL expires. Once
// the agent has decided, the case waits for its recording and its auditor
// however long that takes (the audit SLA flags slow audits instead), since
// expiring a decided case would throw away a completed call.
func (c *kycCase) ttlElapsed(ctx workflow.Context) {
	c.timeout(ctx, ReasonCaseTTL, eventData{})
	c.terminate(ctx, kyc.StatusExpired, ReasonCaseTTL, systemActor)
}

func (c *kycCase) joinTimedOut(ctx workflow.Context) {
	var missing []string
	for _, role := range []kyc.Role{kyc.RoleAgent, kyc.RoleCustomer} {
		if !c.s.present(string(role)) {
			missing = append(missing, string(role))
		}
	}
	c.timeout(ctx, ReasonJoinTimeout, eventData{Role: strings.Join(missing, ",")})
	c.terminate(ctx, kyc.StatusExpired, ReasonJoinTimeout, systemActor)
}

func (c *kycCase) callTooLong(ctx workflow.Context) {
	c.timeout(ctx, ReasonMaxCallLength, eventData{})
	c.abortAttempt(ctx, ReasonMaxCallLength, systemActor)
}

func (c *kycCase) decisionWindowElapsed(ctx workflow.Context) {
	c.timeout(ctx, ReasonDecisionWindow, eventData{})
	c.abortAttempt(ctx, ReasonDecisionWindow, systemActor)
}

func (c *kycCase) auditOverdue(ctx workflow.Context) {
	c.s.View.Overdue = true
	c.record(ctx, EventAuditOverdue, systemActor, eventData{Attempt: c.s.View.Attempt})
}

// recordingUnverified: an approval waits for its recording only so long;
// a recording that could not be found or verified by then (a bucket that
// refuses access, storage down for most of an hour) voids the attempt.
func (c *kycCase) recordingUnverified(ctx workflow.Context) {
	c.timeout(ctx, ReasonRecordingUnverified, eventData{})
	c.recordingFailed(ctx, ReasonRecordingUnverified, "", systemActor)
}

// recordingLate hands over to the recording worker, which asks 100ms once.
func (c *kycCase) recordingLate(ctx workflow.Context) {
	c.s.Call.PollDue = true
	c.record(ctx, EventRecordingLate, systemActor, eventData{Attempt: c.s.View.Attempt})
}
