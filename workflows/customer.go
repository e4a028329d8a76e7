package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// UpdateCustomerEvidence records what the customer gave on the join page
// (consent, location or its refusal). The API keeps the details in the
// database; the workflow gets their id and digest only, so personal data
// stays out of Temporal's history while the event log commits to it.
const UpdateCustomerEvidence = "customer-evidence"

// Case events of customer evidence.
const (
	EventConsentGiven    = "consent_given"
	EventLocationShared  = "location_shared"
	EventLocationRefused = "location_refused"
)

// CustomerEvidenceRequest names a stored piece of evidence.
type CustomerEvidenceRequest struct {
	EvidenceID     string `json:"evidence_id"`
	Kind           string `json:"kind"` // kyc.EvidenceConsent, kyc.EvidenceLocation or kyc.EvidenceLocationRefused
	SHA256         string `json:"sha256"`
	ConsentVersion string `json:"consent_version,omitempty"`
	Attempt        int    `json:"attempt"` // the attempt the customer was in
}

var evidenceEvents = map[string]string{
	kyc.EvidenceConsent:         EventConsentGiven,
	kyc.EvidenceLocation:        EventLocationShared,
	kyc.EvidenceLocationRefused: EventLocationRefused,
}

func (c *kycCase) checkEvidence(req CustomerEvidenceRequest) (repeat bool, err error) {
	v := &c.s.View
	for _, ref := range []*kyc.EvidenceRef{v.Consent, v.Location} {
		if ref != nil && ref.ID == req.EvidenceID {
			if ref.SHA256 != req.SHA256 || ref.Kind != req.Kind {
				return false, invalidRequest("evidence %s was already recorded with other content", req.EvidenceID)
			}
			return true, nil
		}
	}
	switch {
	case req.EvidenceID == "":
		return false, invalidRequest("evidence_id is required")
	case evidenceEvents[req.Kind] == "":
		return false, invalidRequest("kind %q is not consent, location or location_refused", req.Kind)
	case !isHexDigest(req.SHA256):
		return false, invalidRequest("sha256 must be 64 lower-case hex digits")
	case req.Kind == kyc.EvidenceConsent && req.ConsentVersion == "":
		return false, invalidRequest("consent_version is required")
	case req.Attempt != v.Attempt:
		return false, invalidState("the customer answered in attempt %d but the case is on attempt %d", req.Attempt, v.Attempt)
	}
	return false, notTerminal(v)
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func (c *kycCase) customerEvidence(ctx workflow.Context, req CustomerEvidenceRequest) (kyc.CaseView, error) {
	repeat, err := c.checkEvidence(req)
	if err != nil || repeat {
		return c.answerRepeat(ctx, err)
	}
	v := &c.s.View
	ref := &kyc.EvidenceRef{
		ID: req.EvidenceID, Kind: req.Kind, Attempt: req.Attempt, SHA256: req.SHA256,
		ConsentVersion: req.ConsentVersion, At: workflow.Now(ctx),
	}
	// A new pointer each time: cloneView copies these shallowly.
	if req.Kind == kyc.EvidenceConsent {
		v.Consent = ref
	} else {
		v.Location = ref
	}
	c.record(ctx, evidenceEvents[req.Kind], actor{customerActorID(v.ID), kyc.RoleCustomer}, eventData{
		Attempt: req.Attempt, EvidenceID: req.EvidenceID, EvidenceKind: req.Kind, SHA256: req.SHA256,
		ConsentVersion: req.ConsentVersion,
	})
	return c.answer(ctx), nil
}

// customerActorID is the customer's 100ms user id ("customer-<case id>", as
// api/join.go hands out), so the consent and the customer's peer events name
// the same person.
func customerActorID(caseID string) string { return "customer-" + caseID }
