package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Refusal kinds, for the API to map to HTTP statuses: InvalidRequest → 422,
// Forbidden → 403, InvalidState → 409.
const (
	RefuseInvalidRequest = "InvalidRequest"
	RefuseForbidden      = "Forbidden"
	RefuseInvalidState   = "InvalidState"
)

// Refusal is why a request is not accepted, written for the person who
// sent it.
type Refusal struct {
	Kind string
	Msg  string
}

func (r *Refusal) Error() string { return r.Msg }

func invalidRequest(format string, args ...any) *Refusal {
	return &Refusal{RefuseInvalidRequest, fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *Refusal {
	return &Refusal{RefuseForbidden, fmt.Sprintf(format, args...)}
}

func invalidState(format string, args ...any) *Refusal {
	return &Refusal{RefuseInvalidState, fmt.Sprintf(format, args...)}
}

// MaxCapturesPerAttempt bounds an attempt's captures.
const MaxCapturesPerAttempt = 50

// CapturesOpen reports whether captures may be added in st: during the
// call, and after it until the agent decides, because an upload started
// during the call may finish a moment after the call ended.
func CapturesOpen(st kyc.Status) bool {
	return st == kyc.StatusInCall || st == kyc.StatusAwaitingDecision
}

// Check says whether a request may be applied now: repeat is true for a
// request already applied (answered with the case as it is, never applied
// twice), and a refusal says why it may not. Temporal runs it as the
// update's validator, so a refused request never reaches the history;
// Apply runs it again, since validators do not run on replay.
func Check(s *State, now time.Time, in Input) (repeat bool, err *Refusal) {
	switch in := in.(type) {
	case AssignAgent:
		return s.checkAssign(in)
	case Join:
		return s.checkJoin(in)
	case AddCapture:
		return s.checkCapture(in)
	case Decide:
		return s.checkDecision(in)
	case AuditCase:
		return s.checkAudit(now, in)
	case Cancel:
		return s.checkCancel(in)
	case GiveEvidence:
		return s.checkEvidence(in)
	}
	return false, invalidRequest("%T is not a request", in)
}

func notTerminal(s *State) *Refusal {
	if s.Status.Terminal() {
		return invalidState("case is %s", s.Status)
	}
	return nil
}

// CheckReason checks a reason (kyc.CheckReason: storable, at most
// kyc.MaxReasonLen bytes, no control characters but line breaks and tabs);
// required reasons must not be blank.
func CheckReason(reason string, required bool) *Refusal {
	if required && strings.TrimSpace(reason) == "" {
		return invalidRequest("reason is required")
	}
	if err := kyc.CheckReason(reason); err != nil {
		return invalidRequest("reason %v", err)
	}
	return nil
}

// checkID checks an actor's or a capture's id (kyc.CheckSubject).
func checkID(field, id string) *Refusal {
	if strings.TrimSpace(id) == "" {
		return invalidRequest("%s is required", field)
	}
	if err := kyc.CheckSubject(id); err != nil {
		return invalidRequest("%s %v", field, err)
	}
	return nil
}

func (s *State) checkAssign(in AssignAgent) (bool, *Refusal) {
	if err := checkID("agent_id", in.AgentID); err != nil {
		return false, err
	}
	switch {
	case s.AgentID == in.AgentID:
		return true, nil
	case s.AgentID != "":
		return false, forbidden("case is assigned to another agent")
	}
	return false, notTerminal(s)
}

func (s *State) checkJoin(in Join) (bool, *Refusal) {
	if s.Status.Terminal() {
		return false, invalidState("case is %s; nobody joins it any more", s.Status)
	}
	switch in.Role {
	case string(kyc.RoleAgent):
		return s.checkAssign(AssignAgent{AgentID: in.UserID})
	case string(kyc.RoleCustomer):
		if in.UserID != kyc.CustomerUserID(s.CaseID) {
			return false, invalidRequest("the customer of case %s joins as %s", s.CaseID, kyc.CustomerUserID(s.CaseID))
		}
		return true, nil // nothing changes: the customer only needs the room
	}
	return false, invalidRequest("role must be %q or %q", kyc.RoleAgent, kyc.RoleCustomer)
}

// checkAgent verifies that the case has an agent and that it is agentID.
func (s *State) checkAgent(agentID string) *Refusal {
	switch {
	case s.AgentID == "":
		return invalidState("no agent is assigned to the case")
	case agentID != s.AgentID:
		return forbidden("case is assigned to another agent")
	}
	return nil
}

func (s *State) checkCapture(in AddCapture) (bool, *Refusal) {
	if err := s.checkAgent(in.AgentID); err != nil {
		return false, err
	}
	if err := checkID("capture_id", in.CaptureID); err != nil {
		return false, err
	}
	if old := s.capture(in.CaptureID); old != nil {
		if old.Kind != in.Kind || old.ObjectKey != in.ObjectKey || old.SHA256 != in.SHA256 ||
			old.Size != in.Size || old.Attempt != in.Attempt {
			return false, invalidRequest("capture %s was already recorded with other content", in.CaptureID)
		}
		return true, nil
	}
	if !CapturesOpen(s.Status) {
		return false, invalidState("case is %s; captures are closed", s.Status)
	}
	if in.Attempt != s.Attempt {
		return false, invalidState("capture was made for attempt %d but the case is on attempt %d", in.Attempt, s.Attempt)
	}
	prefix := "cases/" + s.CaseID + "/attempt-" + strconv.Itoa(in.Attempt) + "/"
	switch {
	case !in.Kind.Valid():
		return false, invalidRequest("kind %q is not a capture kind", in.Kind)
	case !strings.HasPrefix(in.ObjectKey, prefix) || strings.Contains(in.ObjectKey, ".."):
		return false, invalidRequest("object key must be under %s", prefix)
	case in.Size <= 0:
		return false, invalidRequest("size must be positive")
	case !kyc.IsSHA256Hex(in.SHA256):
		return false, invalidRequest("sha256 must be 64 lower-case hex characters")
	case !strings.HasPrefix(in.ContentType, "image/"):
		return false, invalidRequest("content type %q is not an image", in.ContentType)
	case s.capturesInAttempt() >= MaxCapturesPerAttempt:
		return false, invalidState("attempt %d already has %d captures", s.Attempt, MaxCapturesPerAttempt)
	}
	return false, nil
}

func (s *State) checkDecision(in Decide) (bool, *Refusal) {
	if err := s.checkAgent(in.AgentID); err != nil {
		return false, err
	}
	if d := s.Decision; d != nil && d.By == in.AgentID && d.Outcome == in.Outcome && d.Reason == in.Reason {
		return true, nil
	}
	if s.Status != kyc.StatusInCall && s.Status != kyc.StatusAwaitingDecision {
		return false, invalidState("case is %s; the agent's decision is taken during or right after the call", s.Status)
	}
	switch in.Outcome {
	case kyc.OutcomeApprove:
		if err := CheckReason(in.Reason, false); err != nil {
			return false, err
		}
		if !s.Participants.Agent.Joined || !s.Participants.Customer.Joined {
			return false, invalidState("both participants must have joined the call")
		}
		if missing := s.MissingCaptures(); len(missing) > 0 {
			return false, invalidState("required captures missing: %s", JoinKinds(missing))
		}
	case kyc.OutcomeReject:
		return false, CheckReason(in.Reason, true)
	default:
		return false, invalidRequest("outcome must be %q or %q", kyc.OutcomeApprove, kyc.OutcomeReject)
	}
	return false, nil
}

// JoinKinds lists capture kinds for a message.
func JoinKinds(kinds []kyc.CaptureKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (s *State) checkAudit(now time.Time, in AuditCase) (bool, *Refusal) {
	if err := checkID("auditor_id", in.AuditorID); err != nil {
		return false, err
	}
	if a := s.Audit; a != nil && a.By == in.AuditorID && a.Outcome == in.Outcome && a.Reason == in.Reason {
		return true, nil
	}
	if s.Status != kyc.StatusAwaitingAudit {
		return false, invalidState("case is %s; it is not awaiting audit", s.Status)
	}
	if s.Decision != nil && in.AuditorID == s.Decision.By {
		return false, forbidden("auditor must differ from the deciding agent")
	}
	switch in.Outcome {
	case kyc.OutcomeApprove:
		if s.Decision == nil || s.Decision.Outcome != kyc.OutcomeApprove {
			return false, invalidRequest("the agent rejected the case; the auditor may only reject or recapture")
		}
		return false, CheckReason(in.Reason, false)
	case kyc.OutcomeReject:
		return false, CheckReason(in.Reason, true)
	case kyc.OutcomeRecapture:
		if err := CheckReason(in.Reason, true); err != nil {
			return false, err
		}
		return false, s.checkRecapture(now)
	}
	return false, invalidRequest("outcome must be %q, %q or %q", kyc.OutcomeApprove, kyc.OutcomeReject, kyc.OutcomeRecapture)
}

// checkRecapture refuses a recapture that could only end the case: with no
// attempt left it would fail at once, and past the case TTL it would
// expire at once. The auditor must then approve or reject.
func (s *State) checkRecapture(now time.Time) *Refusal {
	if s.Attempt >= s.Limits.MaxAttempts {
		return invalidState("no attempts left (%d of %d used); approve or reject", s.Attempt, s.Limits.MaxAttempts)
	}
	if ttl := s.CreatedAt.Add(s.Limits.CaseTTL); !now.Before(ttl) {
		return invalidState("the case TTL passed at %s; approve or reject", ttl.UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *State) checkCancel(in Cancel) (bool, *Refusal) {
	if err := checkID("by", in.By); err != nil {
		return false, err
	}
	if s.Status == kyc.StatusCancelled {
		return true, nil
	}
	if err := CheckReason(in.Reason, true); err != nil {
		return false, err
	}
	if s.Status.Terminal() {
		return false, invalidState("case is %s; it can no longer be cancelled", s.Status)
	}
	return false, nil
}

var evidenceEvents = map[string]string{
	kyc.EvidenceConsent:         EventConsentGiven,
	kyc.EvidenceLocation:        EventLocationShared,
	kyc.EvidenceLocationRefused: EventLocationRefused,
}

func (s *State) checkEvidence(in GiveEvidence) (bool, *Refusal) {
	for _, ref := range []*kyc.EvidenceRef{s.Consent, s.Location} {
		if ref != nil && ref.ID == in.EvidenceID {
			if ref.SHA256 != in.SHA256 || ref.Kind != in.Kind {
				return false, invalidRequest("evidence %s was already recorded with other content", in.EvidenceID)
			}
			return true, nil
		}
	}
	switch {
	case in.EvidenceID == "":
		return false, invalidRequest("evidence_id is required")
	case evidenceEvents[in.Kind] == "":
		return false, invalidRequest("kind %q is not consent, location or location_refused", in.Kind)
	case !kyc.IsSHA256Hex(in.SHA256):
		return false, invalidRequest("sha256 must be 64 lower-case hex digits")
	case in.Kind == kyc.EvidenceConsent && in.ConsentVersion == "":
		return false, invalidRequest("consent_version is required")
	case in.Attempt != s.Attempt:
		return false, invalidState("the customer answered in attempt %d but the case is on attempt %d", in.Attempt, s.Attempt)
	}
	if err := checkID("evidence_id", in.EvidenceID); err != nil {
		return false, err
	}
	return false, notTerminal(s)
}
