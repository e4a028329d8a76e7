package kyc

import "time"

// Kinds of customer evidence: what the customer gave on the join page.
const (
	EvidenceConsent         = "consent"
	EvidenceLocation        = "location"
	EvidenceLocationRefused = "location_refused"
)

// EvidenceRef points at a piece of customer evidence kept in the database:
// its details (IP address, user agent, coordinates) never enter the
// workflow; SHA256 is the digest of the stored details, so the case's event
// log commits to them.
type EvidenceRef struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Attempt        int       `json:"attempt"`
	SHA256         string    `json:"sha256"`
	ConsentVersion string    `json:"consent_version,omitempty"`
	At             time.Time `json:"at"`
}
