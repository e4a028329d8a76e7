package workflows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// Validators run before an update is accepted; a rejected update never
// reaches the history. Their messages are written for the person who sent
// the request. Each returns repeat=true for a request that has already been
// applied, so that a client retrying with a new update id gets the view back
// instead of an error or a second change.

const maxCapturesPerAttempt = 50

func invalidRequest(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), RejectInvalidRequest)
}

func forbidden(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), RejectForbidden)
}

func invalidState(format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), RejectInvalidState)
}

func notTerminal(v *kyc.CaseView) error {
	if v.Status.Terminal() {
		return invalidState("case is %s", v.Status)
	}
	return nil
}

func checkReason(reason string, required bool) error {
	switch {
	case required && strings.TrimSpace(reason) == "":
		return invalidRequest("reason is required")
	case len(reason) > kyc.MaxReasonBytes:
		return invalidRequest("reason is longer than %d bytes", kyc.MaxReasonBytes)
	}
	if p := kyc.TextProblem(reason); p != "" {
		return invalidRequest("reason %s", p)
	}
	return nil
}

func (c *kycCase) checkAssign(req AssignAgentRequest) (repeat bool, err error) {
	v := &c.s.View
	switch {
	case strings.TrimSpace(req.AgentID) == "":
		return false, invalidRequest("agent_id is required")
	case v.AgentID == req.AgentID:
		return true, nil
	case v.AgentID != "":
		return false, forbidden("case is assigned to another agent")
	}
	return false, notTerminal(v)
}

// checkAgent verifies that the case has an agent and that it is agentID.
func (c *kycCase) checkAgent(agentID string) error {
	switch v := &c.s.View; {
	case v.AgentID == "":
		return invalidState("no agent is assigned to the case")
	case agentID != v.AgentID:
		return forbidden("case is assigned to another agent")
	}
	return nil
}

// captureOpen reports whether captures may be added: during the call, and
// after it until the agent decides, because an upload started during the call
// may finish a moment after the call ended.
func captureOpen(st kyc.Status) bool {
	return st == kyc.StatusInCall || st == kyc.StatusAwaitingDecision
}

func (c *kycCase) checkCapture(req AddCaptureRequest) (repeat bool, err error) {
	v := &c.s.View
	if err := c.checkAgent(req.AgentID); err != nil {
		return false, err
	}
	if req.CaptureID == "" {
		return false, invalidRequest("capture_id is required")
	}
	if old := c.s.capture(req.CaptureID); old != nil {
		if old.Kind != req.Kind || old.ObjectKey != req.ObjectKey || old.SHA256 != req.SHA256 ||
			old.Size != req.Size || old.Attempt != req.Attempt {
			return false, invalidRequest("capture %s was already recorded with other content", req.CaptureID)
		}
		return true, nil
	}
	if !captureOpen(v.Status) {
		return false, invalidState("case is %s; captures are closed", v.Status)
	}
	if req.Attempt != v.Attempt {
		return false, invalidState("capture was made for attempt %d but the case is on attempt %d", req.Attempt, v.Attempt)
	}
	if err := c.checkCaptureFields(req); err != nil {
		return false, err
	}
	if c.s.capturesInAttempt() >= maxCapturesPerAttempt {
		return false, invalidState("attempt %d already has %d captures", v.Attempt, maxCapturesPerAttempt)
	}
	return false, nil
}

func (c *kycCase) checkCaptureFields(req AddCaptureRequest) error {
	prefix := "cases/" + c.s.View.ID + "/attempt-" + strconv.Itoa(req.Attempt) + "/"
	switch {
	case !req.Kind.Valid():
		return invalidRequest("kind %q is not a capture kind", req.Kind)
	case !strings.HasPrefix(req.ObjectKey, prefix) || strings.Contains(req.ObjectKey, ".."):
		return invalidRequest("object key must be under %s", prefix)
	case req.Size <= 0:
		return invalidRequest("size must be positive")
	case !isSHA256Hex(req.SHA256):
		return invalidRequest("sha256 must be 64 lower-case hex characters")
	case !strings.HasPrefix(req.ContentType, "image/"):
		return invalidRequest("content type %q is not an image", req.ContentType)
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (c *kycCase) checkDecision(req AgentDecisionRequest) (repeat bool, err error) {
	v := &c.s.View
	if err := c.checkAgent(req.AgentID); err != nil {
		return false, err
	}
	if d := v.Decision; d != nil && d.By == req.AgentID && d.Outcome == req.Outcome && d.Reason == req.Reason {
		return true, nil
	}
	if v.Status != kyc.StatusInCall && v.Status != kyc.StatusAwaitingDecision {
		return false, invalidState("case is %s; the agent's decision is taken during or right after the call", v.Status)
	}
	switch req.Outcome {
	case kyc.OutcomeApprove:
		if err := checkReason(req.Reason, false); err != nil {
			return false, err
		}
		if !v.Participants.Agent.Joined || !v.Participants.Customer.Joined {
			return false, invalidState("both participants must have joined the call")
		}
		if missing := c.s.missingCaptures(); len(missing) > 0 {
			return false, invalidState("required captures missing: %s", joinKinds(missing))
		}
	case kyc.OutcomeReject:
		return false, checkReason(req.Reason, true)
	default:
		return false, invalidRequest("outcome must be %q or %q", kyc.OutcomeApprove, kyc.OutcomeReject)
	}
	return false, nil
}

func joinKinds(kinds []kyc.CaptureKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (c *kycCase) checkAudit(ctx workflow.Context, req AuditDecisionRequest) (repeat bool, err error) {
	v := &c.s.View
	if strings.TrimSpace(req.AuditorID) == "" {
		return false, invalidRequest("auditor_id is required")
	}
	if a := v.Audit; a != nil && a.By == req.AuditorID && a.Outcome == req.Outcome && a.Reason == req.Reason {
		return true, nil
	}
	if v.Status != kyc.StatusAwaitingAudit {
		return false, invalidState("case is %s; it is not awaiting audit", v.Status)
	}
	if v.Decision != nil && req.AuditorID == v.Decision.By {
		return false, forbidden("auditor must differ from the deciding agent")
	}
	switch req.Outcome {
	case kyc.OutcomeApprove:
		if v.Decision == nil || v.Decision.Outcome != kyc.OutcomeApprove {
			return false, invalidRequest("the agent rejected the case; the auditor may only reject or recapture")
		}
		return false, checkReason(req.Reason, false)
	case kyc.OutcomeReject:
		return false, checkReason(req.Reason, true)
	case kyc.OutcomeRecapture:
		if err := checkReason(req.Reason, true); err != nil {
			return false, err
		}
		return false, c.checkRecapture(ctx)
	}
	return false, invalidRequest("outcome must be %q, %q or %q", kyc.OutcomeApprove, kyc.OutcomeReject, kyc.OutcomeRecapture)
}

// checkRecapture refuses a recapture that could only end the case: with no
// attempt left it would fail at once, and past the case TTL it would expire
// at once. The auditor must then approve or reject.
func (c *kycCase) checkRecapture(ctx workflow.Context) error {
	v := &c.s.View
	t := c.in.Timeouts
	if v.Attempt >= t.MaxAttempts {
		return invalidState("no attempts left (%d of %d used); approve or reject", v.Attempt, t.MaxAttempts)
	}
	if ttl := v.CreatedAt.Add(t.CaseTTL); !workflow.Now(ctx).Before(ttl) {
		return invalidState("the case TTL passed at %s; approve or reject", ttl.UTC().Format(time.RFC3339))
	}
	return nil
}

func (c *kycCase) checkCancel(req CancelRequest) (repeat bool, err error) {
	v := &c.s.View
	switch {
	case strings.TrimSpace(req.By) == "":
		return false, invalidRequest("by is required")
	case v.Status == kyc.StatusCancelled:
		return true, nil
	}
	if err := checkReason(req.Reason, true); err != nil {
		return false, err
	}
	if v.Status.Terminal() {
		return false, invalidState("case is %s; it can no longer be cancelled", v.Status)
	}
	return false, nil
}
