package config

import (
	"crypto/sha256"
	"encoding/hex"
)

// DefaultConsentText is what the customer agrees to unless CONSENT_TEXT
// says otherwise. Banks replace it with their own wording.
const DefaultConsentText = "I agree to verify my identity on a recorded video call with an agent of the bank. " +
	"The call, images of my face and identity documents taken during it, my location, my IP address and my " +
	"browser's name are stored by the bank as evidence of this verification."

// ConsentVersion names a consent text in the case's event log: the first 16
// hex digits of its SHA-256.
func ConsentVersion(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:8])
}
