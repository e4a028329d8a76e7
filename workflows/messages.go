// Package workflows holds the KYC case workflow: one workflow per case, the
// source of truth for its status, attempts, participants, captures, recording,
// decision and audit. The API talks to it through the message names and
// payload types of this file; the database holds a projection the workflow
// writes through activities.SaveCase.
package workflows

import (
	"time"

	"github.com/vkyc-engine/vkyc/internal/chain"
	"github.com/vkyc-engine/vkyc/internal/hms"
	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// Names registered with Temporal. They are part of the replay contract: a
// rename strands every running case.
const (
	WorkflowName = "KYCCase"
	TaskQueue    = "kyc-cases"

	SignalHMSEvent = "hms-event"

	UpdateAssignAgent   = "assign-agent"
	UpdateAddCapture    = "add-capture"
	UpdateAgentDecision = "agent-decision"
	UpdateAuditDecision = "audit-decision"
	UpdateCancel        = "cancel"

	QueryCase    = "case"
	QueryWitness = "chain-witness"
)

// Witness is what the workflow knows of its case's event log, for checking
// the stored log against it: the chain head as of the last confirmed save,
// and the heads of the events recorded since (a save in flight may already
// have stored some of them).
type Witness struct {
	Saved   chain.Head   `json:"saved"`
	Unsaved []chain.Head `json:"unsaved,omitempty"`
}

// Error types of rejected updates (temporal.ApplicationError.Type()), for the
// API to map to HTTP statuses: InvalidRequest → 422, Forbidden → 403,
// InvalidState → 409.
const (
	RejectInvalidRequest = "InvalidRequest"
	RejectForbidden      = "Forbidden"
	RejectInvalidState   = "InvalidState"
)

// HMSEvent is a 100ms webhook event reduced to what the workflow needs. It is
// PII-free by construction: user_name and user_data never enter it.
type HMSEvent struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	RoomID        string    `json:"room_id,omitempty"`
	RoomName      string    `json:"room_name,omitempty"`
	SessionID     string    `json:"session_id,omitempty"`
	PeerID        string    `json:"peer_id,omitempty"`
	UserID        string    `json:"user_id,omitempty"`
	Role          string    `json:"role,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	ErrorType     string    `json:"error_type,omitempty"`
	RecordingID   string    `json:"recording_id,omitempty"`
	RecordingPath string    `json:"recording_path,omitempty"`
	Size          int64     `json:"size,omitempty"`
	Duration      int64     `json:"duration,omitempty"` // seconds
	At            time.Time `json:"at"`
}

// AssignAgentRequest assigns the case to an agent. The first agent wins.
type AssignAgentRequest struct {
	AgentID string `json:"agent_id"`
}

// AddCaptureRequest records an image the agent uploaded for an attempt.
type AddCaptureRequest struct {
	CaptureID   string          `json:"capture_id"`
	Kind        kyc.CaptureKind `json:"kind"`
	ObjectKey   string          `json:"object_key"`
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256"`
	ContentType string          `json:"content_type"`
	Attempt     int             `json:"attempt"` // the attempt the upload was made for
	AgentID     string          `json:"agent_id"`
}

// AgentDecisionRequest is the agent's verdict: kyc.OutcomeApprove or kyc.OutcomeReject.
type AgentDecisionRequest struct {
	AgentID string `json:"agent_id"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// AuditDecisionRequest is the auditor's verdict: approve, reject or recapture.
type AuditDecisionRequest struct {
	AuditorID string `json:"auditor_id"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason,omitempty"`
}

// CancelRequest stops a case for good.
type CancelRequest struct {
	By     string `json:"by"`
	Role   string `json:"role"` // a kyc.Role value
	Reason string `json:"reason"`
}

// EventFromHMS reduces a decoded 100ms webhook to the signal payload, for
// the webhook dispatcher. The time is the peer's join or leave time when the
// event has one (data timestamps are precise; the envelope's has seconds).
func EventFromHMS(ev *hms.Event) HMSEvent {
	d := ev.Data
	at := ev.Timestamp
	switch {
	case ev.Type == hmsPeerJoin && !d.JoinedAt.IsZero():
		at = d.JoinedAt
	case ev.Type == hmsPeerLeave && !d.LeftAt.IsZero():
		at = d.LeftAt
	}
	return HMSEvent{
		ID: ev.ID, Type: ev.Type, RoomID: d.RoomID, RoomName: d.RoomName, SessionID: d.SessionID,
		PeerID: d.PeerID, UserID: d.UserID, Role: d.Role, Reason: d.Reason, ErrorType: d.ErrorType,
		RecordingID: d.RecordingID, RecordingPath: d.RecordingPath, Size: d.Size, Duration: d.Duration, At: at,
	}
}
