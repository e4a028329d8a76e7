package workflows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// TestCustomerEvidence records consent and location by id and digest, takes
// a repeat as a no-op and refuses what does not fit.
func TestCustomerEvidence(t *testing.T) {
	h := newHarness(t)
	consent := CustomerEvidenceRequest{EvidenceID: "ev-1", Kind: kyc.EvidenceConsent, SHA256: sha(1), ConsentVersion: "v1", Attempt: 1}
	h.update(time.Minute, UpdateCustomerEvidence, "consent", consent)
	h.update(2*time.Minute, UpdateCustomerEvidence, "consent-again", consent)
	changed := consent
	changed.SHA256 = sha(2)
	h.update(3*time.Minute, UpdateCustomerEvidence, "consent-changed", changed)
	h.update(3*time.Minute, UpdateCustomerEvidence, "bad-kind", CustomerEvidenceRequest{EvidenceID: "ev-2", Kind: "selfie", SHA256: sha(3), Attempt: 1})
	h.update(3*time.Minute, UpdateCustomerEvidence, "bad-digest", CustomerEvidenceRequest{EvidenceID: "ev-3", Kind: kyc.EvidenceLocation, SHA256: "ABC", Attempt: 1})
	h.update(3*time.Minute, UpdateCustomerEvidence, "no-version", CustomerEvidenceRequest{EvidenceID: "ev-4", Kind: kyc.EvidenceConsent, SHA256: sha(4), Attempt: 1})
	h.update(3*time.Minute, UpdateCustomerEvidence, "other-attempt", CustomerEvidenceRequest{EvidenceID: "ev-5", Kind: kyc.EvidenceLocation, SHA256: sha(5), Attempt: 2})
	h.update(4*time.Minute, UpdateCustomerEvidence, "refused", CustomerEvidenceRequest{EvidenceID: "ev-6", Kind: kyc.EvidenceLocationRefused, SHA256: sha(6), Attempt: 1})
	h.update(5*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "svc-onboarding", Role: "service", Reason: "test over"})
	final := h.run(input())

	if v := h.mustAccept("consent"); v.Consent == nil || v.Consent.ID != "ev-1" || v.Consent.ConsentVersion != "v1" {
		t.Fatalf("consent in the view: %+v", v.Consent)
	}
	h.mustAccept("consent-again")
	h.mustReject("consent-changed", RejectInvalidRequest, "evidence ev-1 was already recorded with other content")
	h.mustReject("bad-kind", RejectInvalidRequest, `kind "selfie" is not consent, location or location_refused`)
	h.mustReject("bad-digest", RejectInvalidRequest, "sha256 must be 64 lower-case hex digits")
	h.mustReject("no-version", RejectInvalidRequest, "consent_version is required")
	h.mustReject("other-attempt", RejectInvalidState, "the customer answered in attempt 2 but the case is on attempt 1")
	if final.Location == nil || final.Location.Kind != kyc.EvidenceLocationRefused || final.Consent == nil {
		t.Fatalf("final view: consent %+v, location %+v", final.Consent, final.Location)
	}
	if h.count(core.EventConsentGiven) != 1 || h.count(core.EventLocationRefused) != 1 {
		t.Fatalf("events %v: want one consent_given and one location_refused", h.eventTypes())
	}
	for _, e := range h.events() {
		if e.Type != core.EventConsentGiven {
			continue
		}
		var d core.EventData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.EvidenceID != "ev-1" || d.SHA256 != sha(1) || d.ConsentVersion != "v1" || e.ActorRole != kyc.RoleCustomer || e.ActorID != "customer-"+testCase {
			t.Fatalf("consent event %+v with data %s", e, e.Data)
		}
	}
}
