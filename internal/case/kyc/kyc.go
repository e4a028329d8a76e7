// Package kyc holds the case vocabulary shared by the workflow, the store and
// the API: statuses, capture kinds and the case view. It is plain data with no
// dependencies so that every layer can speak it without import cycles.
package kyc

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is a case status. The string values are part of the product's
// contract: they appear in the API, in search attributes and in the database.
type Status string

const (
	StatusWaitingForParticipants Status = "waiting_for_participants"
	StatusInCall                 Status = "in_call"
	StatusAwaitingDecision       Status = "awaiting_decision"
	StatusAwaitingRecording      Status = "awaiting_recording"
	StatusAwaitingAudit          Status = "awaiting_audit"
	StatusApproved               Status = "approved"
	StatusRejected               Status = "rejected"
	StatusExpired                Status = "expired"
	StatusCancelled              Status = "cancelled"
	StatusFailed                 Status = "failed"
	// StatusTerminated is set by the reconciler for a case whose workflow
	// was closed from outside (an operator's Terminate, a timeout) before
	// the case ended: the case can no longer act, so it says so.
	StatusTerminated Status = "terminated"
)

// AllStatuses lists every status in lifecycle order.
var AllStatuses = []Status{
	StatusWaitingForParticipants, StatusInCall, StatusAwaitingDecision,
	StatusAwaitingRecording, StatusAwaitingAudit, StatusApproved,
	StatusRejected, StatusExpired, StatusCancelled, StatusFailed, StatusTerminated,
}

// Terminal reports whether no further change can happen to a case in s.
func (s Status) Terminal() bool {
	switch s {
	case StatusApproved, StatusRejected, StatusExpired, StatusCancelled, StatusFailed, StatusTerminated:
		return true
	}
	return false
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { return slices.Contains(AllStatuses, s) }

// CaptureKind is what an image shows.
type CaptureKind string

const (
	CaptureFace    CaptureKind = "face"
	CaptureIDFront CaptureKind = "id_front"
	CaptureIDBack  CaptureKind = "id_back"
	CapturePAN     CaptureKind = "pan"
	CaptureOther   CaptureKind = "other"
)

// AllCaptureKinds lists the accepted capture kinds.
var AllCaptureKinds = []CaptureKind{CaptureFace, CaptureIDFront, CaptureIDBack, CapturePAN, CaptureOther}

// DefaultRequiredCaptures is what a case needs unless its creator says otherwise.
var DefaultRequiredCaptures = []CaptureKind{CaptureFace, CaptureIDFront, CaptureIDBack}

// Valid reports whether k is one of the known capture kinds.
func (k CaptureKind) Valid() bool { return slices.Contains(AllCaptureKinds, k) }

// Role is who acts on a case. The HMS roles "agent" and "customer" share names
// with the participant roles.
type Role string

const (
	RoleService  Role = "service"
	RoleAgent    Role = "agent"
	RoleAuditor  Role = "auditor"
	RoleAdmin    Role = "admin"
	RoleCustomer Role = "customer"
	RoleSystem   Role = "system" // the engine itself (timers, workflow decisions)
	RoleHMS      Role = "100ms"  // events that came from 100ms webhooks
	// RoleOperator acts on a case through Temporal (Web UI or CLI: cancel,
	// terminate, reset); its id is the identity Temporal recorded. It is
	// never a token role.
	RoleOperator Role = "operator"
)

// Decision outcomes.
const (
	OutcomeApprove   = "approve"
	OutcomeReject    = "reject"
	OutcomeRecapture = "recapture"
)

// Attempt statuses.
const (
	AttemptActive    = "active"
	AttemptCompleted = "completed" // the call led to a decision
	AttemptAborted   = "aborted"
)

// Recording statuses.
const (
	RecordingPending  = "pending"  // no recording event yet
	RecordingStarted  = "started"  // beam.started.success seen
	RecordingReported = "reported" // beam.recording.success seen, not yet verified
	RecordingVerified = "verified" // object found in our bucket with a non-zero size
	RecordingFailed   = "failed"
)

// Customer is the person being verified. Only Reference enters the workflow;
// name and contacts live in the database alone.
type Customer struct {
	Reference string `json:"reference"`
	Name      string `json:"name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// Attempt is one video session in its own room.
type Attempt struct {
	Number    int        `json:"number"`
	RoomID    string     `json:"room_id"`
	RoomName  string     `json:"room_name"`
	Status    string     `json:"status"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	EndReason string     `json:"end_reason,omitempty"`
}

// Participant is one side of the call in the current attempt.
type Participant struct {
	ID       string     `json:"id,omitempty"` // agent id for the agent; empty for the customer
	Joined   bool       `json:"joined"`
	JoinedAt *time.Time `json:"joined_at,omitempty"`
	LeftAt   *time.Time `json:"left_at,omitempty"`
}

// Participants are both sides of the call.
type Participants struct {
	Agent    Participant `json:"agent"`
	Customer Participant `json:"customer"`
}

// Capture is an image stored in object storage; the workflow keeps only its metadata.
type Capture struct {
	ID          string      `json:"id"`
	Kind        CaptureKind `json:"kind"`
	ObjectKey   string      `json:"object_key"`
	Size        int64       `json:"size"`
	SHA256      string      `json:"sha256"`
	ContentType string      `json:"content_type"`
	Attempt     int         `json:"attempt"`
	CreatedBy   string      `json:"created_by"`
	CreatedAt   time.Time   `json:"created_at"`
}

// IsSHA256Hex reports whether s is a SHA-256 digest in lower-case hex, as a
// capture's, a recording's and an announced upload's digest must be.
func IsSHA256Hex(s string) bool {
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

// Recording is the room-composite recording of the current attempt.
type Recording struct {
	Status     string     `json:"status"`
	ID         string     `json:"id,omitempty"`
	Path       string     `json:"path,omitempty"`
	Size       int64      `json:"size,omitempty"`
	Duration   int64      `json:"duration,omitempty"` // seconds
	SHA256     string     `json:"sha256,omitempty"`
	ETag       string     `json:"etag,omitempty"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

// Verdict is a decision by the agent or the auditor.
type Verdict struct {
	By      string    `json:"by"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// CaseView is the whole case as the API returns it and the workflow query answers.
type CaseView struct {
	ID               string        `json:"id"`
	Status           Status        `json:"status"`
	StatusReason     string        `json:"status_reason,omitempty"`
	Customer         Customer      `json:"customer"`
	AgentID          string        `json:"agent_id,omitempty"`
	RequiredCaptures []CaptureKind `json:"required_captures"`
	AuditRejections  bool          `json:"audit_rejections"`
	Attempt          int           `json:"attempt"`
	Attempts         []Attempt     `json:"attempts"`
	Participants     Participants  `json:"participants"`
	Captures         []Capture     `json:"captures"`
	Recording        Recording     `json:"recording"`
	Decision         *Verdict      `json:"decision,omitempty"`
	Audit            *Verdict      `json:"audit,omitempty"`
	Overdue          bool          `json:"overdue"`
	// Consent and Location are the customer's latest answers on the join
	// page (replaced, never changed in place).
	Consent   *EvidenceRef `json:"consent,omitempty"`
	Location  *EvidenceRef `json:"location,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	Version   int64        `json:"version"` // increments at every change; orders projections
}

// CurrentAttempt returns the attempt in progress, if any.
func (v *CaseView) CurrentAttempt() *Attempt {
	if len(v.Attempts) == 0 {
		return nil
	}
	return &v.Attempts[len(v.Attempts)-1]
}

// RoomName names the 100ms room of a case attempt. Room creation is an upsert
// by name at 100ms, so this name makes room creation idempotent.
func RoomName(caseID string, attempt int) string {
	return roomPrefix + caseID + attemptSep + strconv.Itoa(attempt)
}

// CustomerUserID is the 100ms user_id in the customer's join tokens; the
// workflow counts a peer as the customer only with this id (an agent's is
// the agent's id), so the recorder or any other peer never counts.
func CustomerUserID(caseID string) string { return "customer-" + caseID }

const (
	roomPrefix = "kyc-"
	attemptSep = "-a"
)

// ParseRoomName is the inverse of RoomName: it lets webhook intake route an
// event to its case without a database lookup.
func ParseRoomName(name string) (caseID string, attempt int, ok bool) {
	rest, found := strings.CutPrefix(name, roomPrefix)
	if !found {
		return "", 0, false
	}
	i := strings.LastIndex(rest, attemptSep)
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[i+len(attemptSep):])
	if err != nil || n <= 0 {
		return "", 0, false
	}
	return rest[:i], n, true
}

// WorkflowID is the Temporal workflow id of a case.
func WorkflowID(caseID string) string { return workflowIDPrefix + caseID }

const workflowIDPrefix = "kyc-case-"

// CaseIDOfWorkflow is the inverse of WorkflowID.
func CaseIDOfWorkflow(workflowID string) (string, bool) {
	id, ok := strings.CutPrefix(workflowID, workflowIDPrefix)
	return id, ok && id != ""
}
