// Package workflows holds the KYC case workflow: one workflow per case, the
// source of truth for its status, attempts, participants, captures,
// recording, decision and audit. The case's rules are the state machine of
// workflows/core; this package is how Temporal drives it. The API talks to
// it through the message names and payload types of this file; the
// database holds a projection the workflow writes through
// activities.SaveCase.
package workflows

import (
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// Names registered with Temporal. They are part of the replay contract: a
// rename strands every running case.
const (
	WorkflowName = "KYCCase"
	TaskQueue    = "kyc-cases"

	// SignalHMSEvents carries a case's 100ms events in the order the
	// inbox received them ([]HMSEvent): the inbox dispatcher sends a burst
	// as one. SignalHMSEvent carries one (an operator can send it from the
	// Web UI).
	SignalHMSEvents = "hms-events"
	SignalHMSEvent  = "hms-event"

	UpdateAssignAgent   = "assign-agent"
	UpdateJoin          = "join"
	UpdateAddCapture    = "add-capture"
	UpdateAgentDecision = "agent-decision"
	UpdateAuditDecision = "audit-decision"
	UpdateCancel        = "cancel"

	QueryCase    = "case"
	QueryWitness = "chain-witness"
)

// Error types of refused updates (temporal.ApplicationError.Type()), for
// the API to map to HTTP statuses: InvalidRequest → 422, Forbidden → 403,
// InvalidState → 409.
const (
	RejectInvalidRequest = core.RefuseInvalidRequest
	RejectForbidden      = core.RefuseForbidden
	RejectInvalidState   = core.RefuseInvalidState
)

// The payloads of the signal and the updates: inputs of the case's state
// machine.
type (
	// HMSEvent is a 100ms webhook event reduced to what the workflow needs
	// (internal/callprovider/inbox.Convert makes it).
	HMSEvent = core.HMSEvent
	// AssignAgentRequest assigns the case to an agent. The first agent wins.
	AssignAgentRequest = core.AssignAgent
	// JoinRequest asks for the current attempt's room (the answer names
	// it) once it exists; an agent is assigned on the way.
	JoinRequest = core.Join
	// AddCaptureRequest records an image the agent uploaded for an attempt.
	AddCaptureRequest = core.AddCapture
	// AgentDecisionRequest is the agent's verdict.
	AgentDecisionRequest = core.Decide
	// AuditDecisionRequest is the auditor's verdict.
	AuditDecisionRequest = core.AuditCase
	// CancelRequest stops a case for good.
	CancelRequest = core.Cancel
)

// Answer is what an accepted update answers once its change is saved: the
// case's version after it (the projection then shows that version or a
// later one) and, for a join, the current attempt's room.
type Answer struct {
	Version int64  `json:"version"`
	RoomID  string `json:"room_id,omitempty"`
}

// Witness is what the workflow knows of its case's event log, for checking
// the stored log against it: the chain head as of the last confirmed save,
// and the heads of the events recorded since (a save in flight may already
// have stored some of them).
type Witness struct {
	Saved   chain.Head   `json:"saved"`
	Unsaved []chain.Head `json:"unsaved,omitempty"`
}
