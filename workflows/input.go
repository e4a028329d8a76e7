package workflows

import (
	"fmt"
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// CaseInput starts a case. Resume is set only by the workflow itself when it
// continues as new.
type CaseInput struct {
	CaseID           string            `json:"case_id"`
	CustomerRef      string            `json:"customer_ref"`
	RequiredCaptures []kyc.CaptureKind `json:"required_captures"`
	// AuditRejections sends an agent's rejection to an auditor. The product
	// default is true (DefaultAuditRejections); a bool cannot tell "unset"
	// from false, so the API must pass the default itself.
	AuditRejections bool      `json:"audit_rejections"`
	Timeouts        Timeouts  `json:"timeouts"`
	CreatedBy       string    `json:"created_by"`
	CreatedAt       time.Time `json:"created_at"`
	Resume          *State    `json:"resume,omitempty"`
}

// DefaultAuditRejections is the product default of CaseInput.AuditRejections.
const DefaultAuditRejections = true

// Timeouts of a case; zero fields take DefaultTimeouts' values.
type Timeouts struct {
	JoinTimeout    time.Duration `json:"join_timeout"`    // from the start of an attempt until both joined
	MaxCallLength  time.Duration `json:"max_call_length"` // from both joined
	DecisionWindow time.Duration `json:"decision_window"` // from a normal end of the call
	RecordingGrace time.Duration `json:"recording_grace"` // from the end of the call until 100ms is asked
	AuditSLA       time.Duration `json:"audit_sla"`       // from entering awaiting_audit until overdue
	CaseTTL        time.Duration `json:"case_ttl"`        // from creation until the agent's decision
	MaxAttempts    int           `json:"max_attempts"`
}

// DefaultTimeouts are the product defaults.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		JoinTimeout:    30 * time.Minute,
		MaxCallLength:  30 * time.Minute,
		DecisionWindow: 15 * time.Minute,
		RecordingGrace: 10 * time.Minute,
		AuditSLA:       24 * time.Hour,
		CaseTTL:        72 * time.Hour,
		MaxAttempts:    3,
	}
}

// WithDefaults fills zero fields from DefaultTimeouts.
func (t Timeouts) WithDefaults() Timeouts {
	d := DefaultTimeouts()
	fill := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&t.JoinTimeout, d.JoinTimeout)
	fill(&t.MaxCallLength, d.MaxCallLength)
	fill(&t.DecisionWindow, d.DecisionWindow)
	fill(&t.RecordingGrace, d.RecordingGrace)
	fill(&t.AuditSLA, d.AuditSLA)
	fill(&t.CaseTTL, d.CaseTTL)
	if t.MaxAttempts == 0 {
		t.MaxAttempts = d.MaxAttempts
	}
	return t
}

// MaxAttemptsLimit bounds MaxAttempts: every attempt is a call the customer
// has to make, and the workflow's state grows with each.
const MaxAttemptsLimit = 10

// Validate reports what is wrong with a case input; the API calls it before
// starting the workflow, and the workflow refuses to start without it.
func (in CaseInput) Validate() error {
	if in.CaseID == "" || !roomNameSafe(in.CaseID) {
		return fmt.Errorf("case id %q: want 1 to 100 letters, digits, '-' or '_'", in.CaseID)
	}
	if in.CustomerRef == "" {
		return fmt.Errorf("customer reference is required")
	}
	for _, k := range in.RequiredCaptures {
		if !k.Valid() {
			return fmt.Errorf("required capture %q is not a capture kind", k)
		}
	}
	return in.Timeouts.Validate()
}

// Validate reports a timeout or limit the workflow does not accept (zero
// fields take the defaults). internal/config checks the configured values
// with it at start, so that a limit the workflow refuses stops the programs
// instead of failing every create.
func (t Timeouts) Validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"join_timeout", t.JoinTimeout}, {"max_call_length", t.MaxCallLength}, {"decision_window", t.DecisionWindow},
		{"recording_grace", t.RecordingGrace}, {"audit_sla", t.AuditSLA}, {"case_ttl", t.CaseTTL},
	}
	for _, f := range durations {
		if f.d < 0 {
			return fmt.Errorf("%s must not be negative", f.name)
		}
	}
	if t.MaxAttempts < 0 || t.MaxAttempts > MaxAttemptsLimit {
		return fmt.Errorf("max_attempts must be between 1 and %d", MaxAttemptsLimit)
	}
	return nil
}

// normalized returns the input with defaults applied and the required
// captures deduplicated in canonical order, so that views and details are
// stable whatever order the creator used.
func (in CaseInput) normalized() CaseInput {
	in.Timeouts = in.Timeouts.WithDefaults()
	req := in.RequiredCaptures
	if len(req) == 0 {
		req = kyc.DefaultRequiredCaptures
	}
	var kinds []kyc.CaptureKind
	for _, k := range kyc.AllCaptureKinds {
		if slices.Contains(req, k) {
			kinds = append(kinds, k)
		}
	}
	in.RequiredCaptures = kinds
	return in
}

// roomNameSafe reports whether id can appear unchanged in a 100ms room name
// (a-zA-Z0-9.-:_) and in a capture object key (blob.CaptureKey percent-encodes
// anything but a-zA-Z0-9-_), so that both can be checked by prefix.
func roomNameSafe(id string) bool {
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return len(id) <= 100
}
