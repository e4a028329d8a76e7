// Package core is the KYC case as a state machine, apart from Temporal: one
// deterministic function, Apply, takes the case and something that happened
// (a webhook, a request, an activity's result, a deadline) and returns the
// case after it and the side effects it calls for (create or close a room,
// verify or look for a recording, save the log). It imports no SDK, reads
// no clock and does no I/O, so its table-driven tests need no Temporal test
// environment; the workflow in package workflows feeds it messages and runs
// its effects.
package core

import (
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Actor is who caused a change.
type Actor struct {
	ID   string   `json:"id"`
	Role kyc.Role `json:"role"`
}

// Actors of the engine itself.
var (
	System = Actor{ID: "system", Role: kyc.RoleSystem}
	HMS    = Actor{ID: "100ms", Role: kyc.RoleHMS}
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
	EventRecordingIgnored = "recording_ignored"
	EventTimeout          = "timeout"
	EventLogRebased       = "log_rebased"
	EventWorkflowClosed   = "workflow_closed"
	EventConsentGiven     = "consent_given"
	EventLocationShared   = "location_shared"
	EventLocationRefused  = "location_refused"
	HMSEventPrefix        = "hms."
)

// Reasons the case gives for aborted attempts and terminal statuses.
const (
	ReasonNetworkDrop         = "network_drop"
	ReasonCallEndedIncomplete = "call_ended_without_captures"
	ReasonMaxCallLength       = "max_call_length"
	ReasonDecisionWindow      = "decision_window_elapsed"
	ReasonRecordingFailed     = "recording_failed"
	ReasonRecordingMissing    = "recording_missing"
	ReasonRecordingInvalid    = "recording_invalid"
	ReasonRecordingElsewhere  = "recording_outside_room"
	ReasonRecordingUnverified = "recording_unverified"
	ReasonAuditRecapture      = "audit_recapture"
	ReasonJoinTimeout         = "join_timeout"
	ReasonCaseTTL             = "case_ttl"
	ReasonMaxAttempts         = "max_attempts_reached"
	ReasonRoomCreationFailed  = "room_creation_failed"
	ReasonOperatorCancel      = "cancelled_in_temporal"
)

// 100ms webhook event types the case acts on.
const (
	HMSSessionOpen   = "session.open.success"
	HMSSessionClose  = "session.close.success"
	HMSPeerJoin      = "peer.join.success"
	HMSPeerLeave     = "peer.leave.success"
	HMSPeerJoinFail  = "peer.join.failure"
	HMSRoomEnd       = "room.end.success"
	HMSBeamStarted   = "beam.started.success"
	HMSBeamStopped   = "beam.stopped.success"
	HMSBeamRecording = "beam.recording.success"
	HMSBeamFailure   = "beam.failure"
)

// Limits are a case's timeouts and attempt budget.
type Limits struct {
	JoinTimeout       time.Duration // from the start of an attempt until both joined
	MaxCallLength     time.Duration // from both joined
	DecisionWindow    time.Duration // from a normal end of the call
	RecordingGrace    time.Duration // from the end of the call until 100ms is asked
	RecordingDeadline time.Duration // from the end of the call until the attempt fails without a verified recording
	AuditSLA          time.Duration // from entering awaiting_audit until overdue
	CaseTTL           time.Duration // from creation until the agent's decision
	MaxAttempts       int
}
