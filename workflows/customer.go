package workflows

import "github.com/vkyc-engine/vkyc/workflows/core"

// UpdateCustomerEvidence records what the customer gave on the join page
// (consent, location or its refusal). The API keeps the details in the
// database; the workflow gets their id and digest only, so personal data
// stays out of Temporal's history while the event log commits to it.
const UpdateCustomerEvidence = "customer-evidence"

// CustomerEvidenceRequest names a stored piece of evidence.
type CustomerEvidenceRequest = core.GiveEvidence
