package activities

import (
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// The payloads below travel through Temporal histories, so their JSON names are
// part of the replay contract: rename a Go field freely, never a tag.

// CreateRoomInput names the attempt whose room is wanted.
type CreateRoomInput struct {
	CaseID  string `json:"case_id"`
	Attempt int    `json:"attempt"`
}

// RoomInfo is the 100ms room of an attempt.
type RoomInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// EndRoomInput ends the active session of a room, if there is one.
type EndRoomInput struct {
	RoomID string `json:"room_id"`
	Reason string `json:"reason"`
	Lock   bool   `json:"lock"`
}

// VerifyRecordingInput points at the recording 100ms announced for an attempt.
type VerifyRecordingInput struct {
	CaseID  string `json:"case_id"`
	Attempt int    `json:"attempt"`
	Path    string `json:"path"` // s3://bucket/key
}

// RecordingCheck is what our bucket actually holds for a recording.
type RecordingCheck struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	ETag   string `json:"etag"`
}

// FindRecordingInput asks 100ms for the recording of a room's session.
type FindRecordingInput struct {
	RoomID    string `json:"room_id"`
	SessionID string `json:"session_id,omitempty"`
}

// FoundRecording is the completed room-composite recording 100ms knows of.
type FoundRecording struct {
	Found    bool   `json:"found"`
	ID       string `json:"id,omitempty"`
	Status   string `json:"status,omitempty"`
	Path     string `json:"path,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Duration int64  `json:"duration,omitempty"` // seconds
}

// CaseEvent is one entry of a case's event log as the workflow chose it
// (core.Entry, the one type of it): the workflow owns Seq, so a retried save
// can never renumber or fork the log, and Hash is the event's chain hash as
// the workflow computed it from its own events: the store refuses to extend
// a log whose chain disagrees.
type CaseEvent = core.Entry

// SaveCaseInput is a batch of new events (contiguous Seq, oldest first) and the
// view after the last of them. Witnessed is the chain's head as of the last
// save the workflow's history confirmed.
type SaveCaseInput struct {
	View      kyc.CaseView `json:"view"`
	Events    []CaseEvent  `json:"events"`
	Witnessed chain.Head   `json:"witnessed"`
}

// SaveCaseResult is the log's head after the save (Saved). It lands in the
// workflow's history as the local activity's result, which is how a run's
// saves can be checked later against Temporal (ResolveFork). Unconfirmed
// is set instead when the save found, in the way, events this run saved in
// a workflow task that did not complete.
type SaveCaseResult struct {
	Saved       chain.Head   `json:"saved"`
	Unconfirmed *Unconfirmed `json:"unconfirmed,omitempty"`
}

// Unconfirmed are the stored events from From to Head that the workflow's
// history does not know.
type Unconfirmed struct {
	From int64      `json:"from"`
	Head chain.Head `json:"head"`
}
