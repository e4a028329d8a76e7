package workflows

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// CaseInput starts a case. Resume is set only by the workflow itself when
// it continues as new, and with Close by the reconciler.
type CaseInput struct {
	CaseID           string            `json:"case_id"`
	CustomerRef      string            `json:"customer_ref"`
	RequiredCaptures []kyc.CaptureKind `json:"required_captures"`
	// AuditRejections sends an agent's rejection to an auditor. The product
	// default is true (DefaultAuditRejections); a bool cannot tell "unset"
	// from false, so the API must pass the default itself.
	AuditRejections bool     `json:"audit_rejections"`
	Timeouts        Timeouts `json:"timeouts"`
	// Recordings is where the bank's template uploads recordings; a
	// recording announced anywhere else is not this case's.
	Recordings RecordingLocation `json:"recordings"`
	CreatedBy  string            `json:"created_by"`
	CreatedAt  time.Time         `json:"created_at"`
	// Revision is the revision of the workflow's commands the case runs
	// (see Revision); histories of cases started at an earlier one replay
	// with the commands they were recorded with.
	Revision int         `json:"revision,omitempty"`
	Resume   *core.State `json:"resume,omitempty"`
	// Close is set by the reconciler only, with Resume: the case's previous
	// run was closed from outside (Terminate, a timeout) before the case
	// ended, and this run ends it in that run's name.
	Close *CloseOrder `json:"close,omitempty"`
}

// RecordingLocation is where recordings of the bank's rooms are uploaded.
type RecordingLocation = core.RecordingLocation

// CloseOrder says how a case's previous run was closed from outside.
type CloseOrder = core.CloseOrder

// State is a case's state as it crosses continue-as-new.
type State = core.State

// Revision is the revision of the workflow's commands new cases start at.
// A change to the commands the workflow issues (activities, local
// activities, timers, search attribute upserts, their order) makes a new
// revision, taken by cases started after it; running cases keep theirs.
// The input carries it, so the choice is in the history without a marker.
//
//   - 0: the first.
//   - 1: 100ms rooms are created and closed by local activities; the
//     search attributes the case starts with are not upserted again.
const Revision = 1

// DefaultAuditRejections is the product default of CaseInput.AuditRejections.
const DefaultAuditRejections = true

// Timeouts of a case; zero fields take DefaultTimeouts' values. They read
// as durations ("30m0s") in the input, which operators see in the Web UI.
type Timeouts struct {
	JoinTimeout    time.Duration // from the start of an attempt until both joined
	MaxCallLength  time.Duration // from both joined
	DecisionWindow time.Duration // from a normal end of the call
	RecordingGrace time.Duration // from the end of the call until 100ms is asked
	AuditSLA       time.Duration // from entering awaiting_audit until overdue
	CaseTTL        time.Duration // from creation until the agent's decision
	// RecordingDeadline bounds the wait for a verified recording, from the
	// end of the call: a recording that cannot be verified by then (a
	// bucket that refuses access, a storage outage) fails the attempt.
	RecordingDeadline time.Duration
	MaxAttempts       int
}

type timeoutsJSON struct {
	JoinTimeout       string `json:"join_timeout,omitempty"`
	MaxCallLength     string `json:"max_call_length,omitempty"`
	DecisionWindow    string `json:"decision_window,omitempty"`
	RecordingGrace    string `json:"recording_grace,omitempty"`
	AuditSLA          string `json:"audit_sla,omitempty"`
	CaseTTL           string `json:"case_ttl,omitempty"`
	RecordingDeadline string `json:"recording_deadline,omitempty"`
	MaxAttempts       int    `json:"max_attempts,omitempty"`
}

// MarshalJSON writes the durations as Go duration strings.
func (t Timeouts) MarshalJSON() ([]byte, error) {
	str := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return json.Marshal(timeoutsJSON{
		JoinTimeout: str(t.JoinTimeout), MaxCallLength: str(t.MaxCallLength), DecisionWindow: str(t.DecisionWindow),
		RecordingGrace: str(t.RecordingGrace), AuditSLA: str(t.AuditSLA), CaseTTL: str(t.CaseTTL),
		RecordingDeadline: str(t.RecordingDeadline), MaxAttempts: t.MaxAttempts,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Timeouts) UnmarshalJSON(b []byte) error {
	var j timeoutsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var errs []error
	dur := func(name, s string) time.Duration {
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return d
	}
	*t = Timeouts{
		JoinTimeout: dur("join_timeout", j.JoinTimeout), MaxCallLength: dur("max_call_length", j.MaxCallLength),
		DecisionWindow: dur("decision_window", j.DecisionWindow), RecordingGrace: dur("recording_grace", j.RecordingGrace),
		AuditSLA: dur("audit_sla", j.AuditSLA), CaseTTL: dur("case_ttl", j.CaseTTL),
		RecordingDeadline: dur("recording_deadline", j.RecordingDeadline), MaxAttempts: j.MaxAttempts,
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
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
		// An hour covers 100ms's recording (p50 9 s), its 10-minute grace
		// and retries through a storage outage of most of an hour.
		RecordingDeadline: time.Hour,
		MaxAttempts:       3,
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
	fill(&t.RecordingDeadline, d.RecordingDeadline)
	if t.MaxAttempts == 0 {
		t.MaxAttempts = d.MaxAttempts
	}
	return t
}

// Limits are the timeouts as the case's state machine takes them.
func (t Timeouts) Limits() core.Limits {
	return core.Limits{
		JoinTimeout: t.JoinTimeout, MaxCallLength: t.MaxCallLength, DecisionWindow: t.DecisionWindow,
		RecordingGrace: t.RecordingGrace, RecordingDeadline: t.RecordingDeadline, AuditSLA: t.AuditSLA,
		CaseTTL: t.CaseTTL, MaxAttempts: t.MaxAttempts,
	}
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
	if in.Recordings.Bucket == "" {
		return fmt.Errorf("the recordings' bucket is required")
	}
	if in.Revision < 0 || in.Revision > Revision {
		return fmt.Errorf("revision %d is unknown to this worker (it runs 0 to %d): deploy the workers before the API", in.Revision, Revision)
	}
	for _, k := range in.RequiredCaptures {
		if !k.Valid() {
			return fmt.Errorf("required capture %q is not a capture kind", k)
		}
	}
	return in.Timeouts.Validate()
}

// Validate reports a timeout or limit the workflow does not accept (zero
// fields take the defaults). internal/platform/config checks the configured values
// with it at start, so that a limit the workflow refuses stops the programs
// instead of failing every create.
func (t Timeouts) Validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"join_timeout", t.JoinTimeout}, {"max_call_length", t.MaxCallLength}, {"decision_window", t.DecisionWindow},
		{"recording_grace", t.RecordingGrace}, {"audit_sla", t.AuditSLA}, {"case_ttl", t.CaseTTL},
		{"recording_deadline", t.RecordingDeadline},
	}
	for _, f := range durations {
		if f.d < 0 {
			return fmt.Errorf("%s must not be negative", f.name)
		}
	}
	if w := t.WithDefaults(); w.RecordingDeadline <= w.RecordingGrace {
		return fmt.Errorf("recording_deadline (%s) must be longer than recording_grace (%s)", w.RecordingDeadline, w.RecordingGrace)
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

// CaseDefaults are the deployment's settings every case starts with, from
// the configuration (config.Config.CaseDefaults).
type CaseDefaults struct {
	Timeouts   Timeouts
	Recordings RecordingLocation
}

// Input is the workflow input of a new case.
func (d CaseDefaults) Input(caseID, customerRef string, required []kyc.CaptureKind, auditRejections bool,
	createdBy string, createdAt time.Time) CaseInput {
	return CaseInput{
		CaseID: caseID, CustomerRef: customerRef, RequiredCaptures: required, AuditRejections: auditRejections,
		Timeouts: d.Timeouts, Recordings: d.Recordings, CreatedBy: createdBy, CreatedAt: createdAt,
		Revision: Revision,
	}
}
