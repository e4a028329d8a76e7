package workflows

import (
	"encoding/json"

	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// Case event types. 100ms webhook events are logged as "hms." + their type.
const (
	EventCaseCreated      = "case_created"
	EventStatusChanged    = "status_changed"
	EventAttemptStarted   = "attempt_started"
	EventAttemptAborted   = "attempt_aborted"
	EventRoomCreated      = "room_created"
	EventRoomCreateFailed = "room_create_failed"
	EventRoomClosed       = "room_closed"
	EventRoomCloseFailed  = "room_close_failed"
	EventAgentAssigned    = "agent_assigned"
	EventCaptureAdded     = "capture_added"
	EventAgentDecision    = "agent_decision"
	EventAuditDecision    = "audit_decision"
	EventAuditOverdue     = "audit_overdue"
	EventCaseCancelled    = "case_cancelled"
	EventRecordingLate    = "recording_late"
	EventRecordingFound   = "recording_found"
	EventRecordingChecked = "recording_verified"
	EventRecordingFailed  = "recording_failed"
	EventTimeout          = "timeout"
	hmsEventPrefix        = "hms."
)

// actor is who caused an event.
type actor struct {
	ID   string
	Role kyc.Role
}

var (
	systemActor = actor{ID: "system", Role: kyc.RoleSystem}
	hmsActor    = actor{ID: "100ms", Role: kyc.RoleHMS}
)

// eventData is the JSON of every case event: one flat struct with omitempty
// fields keeps the log small and free of PII (no names, no tokens, no URLs
// but object keys and s3 paths of our own bucket), and marshals
// deterministically.
type eventData struct {
	Attempt     int               `json:"attempt,omitempty"`
	From        kyc.Status        `json:"from,omitempty"`
	To          kyc.Status        `json:"to,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	EventID     string            `json:"event_id,omitempty"`
	RoomID      string            `json:"room_id,omitempty"`
	RoomName    string            `json:"room_name,omitempty"`
	SessionID   string            `json:"session_id,omitempty"`
	PeerID      string            `json:"peer_id,omitempty"`
	Role        string            `json:"role,omitempty"`
	ErrorType   string            `json:"error_type,omitempty"`
	AgentID     string            `json:"agent_id,omitempty"`
	CustomerRef string            `json:"customer_ref,omitempty"`
	CaptureID   string            `json:"capture_id,omitempty"`
	Kind        kyc.CaptureKind   `json:"kind,omitempty"`
	ObjectKey   string            `json:"object_key,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Outcome     string            `json:"outcome,omitempty"`
	RecordingID string            `json:"recording_id,omitempty"`
	Path        string            `json:"path,omitempty"`
	Size        int64             `json:"size,omitempty"`
	Duration    int64             `json:"duration,omitempty"`
	SHA256      string            `json:"sha256,omitempty"`
	ETag        string            `json:"etag,omitempty"`
	Missing     []kyc.CaptureKind `json:"missing,omitempty"`
	Required    []kyc.CaptureKind `json:"required,omitempty"`
	Error       string            `json:"error,omitempty"`
	// Customer evidence (workflows/customer.go): the stored details' id,
	// kind and consent text version; SHA256 above is their digest.
	EvidenceID     string `json:"evidence_id,omitempty"`
	EvidenceKind   string `json:"evidence_kind,omitempty"`
	ConsentVersion string `json:"consent_version,omitempty"`
}

// record appends an event to the log. Every change of the view goes through
// here: the view's Version is the Seq of its last event, so a projection and
// the event log can always be lined up.
func (c *kycCase) record(ctx workflow.Context, typ string, who actor, d eventData) {
	// encoding/json sorts nothing here (a struct, no maps); workflowcheck only
	// objects to reflect's internals deep below.
	data, err := json.Marshal(d) //workflowcheck:ignore
	if err != nil {
		// A flat struct of strings and numbers cannot fail to marshal; keep
		// the event rather than lose it.
		data = []byte(`{}`)
	}
	now := workflow.Now(ctx)
	v := &c.s.View
	v.Version++
	v.UpdatedAt = now
	c.s.Unsaved = append(c.s.Unsaved, activities.CaseEvent{
		Seq: v.Version, Type: typ, ActorID: who.ID, ActorRole: who.Role, At: now, Data: data,
	})
	c.tick++
}
