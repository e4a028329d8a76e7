package core

import "github.com/vkyc-engine/vkyc/internal/case/kyc"

// EventData is the JSON of every case event: one flat struct with omitempty
// fields keeps the log small and free of personal data (no names, no
// tokens, no URLs but object keys and s3 paths of our own bucket), and
// marshals deterministically.
type EventData struct {
	Attempt        int               `json:"attempt,omitempty"`
	From           kyc.Status        `json:"from,omitempty"`
	To             kyc.Status        `json:"to,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	EventID        string            `json:"event_id,omitempty"`
	RoomID         string            `json:"room_id,omitempty"`
	RoomName       string            `json:"room_name,omitempty"`
	SessionID      string            `json:"session_id,omitempty"`
	PeerID         string            `json:"peer_id,omitempty"`
	UserID         string            `json:"user_id,omitempty"`
	Role           string            `json:"role,omitempty"`
	ErrorType      string            `json:"error_type,omitempty"`
	AgentID        string            `json:"agent_id,omitempty"`
	CustomerRef    string            `json:"customer_ref,omitempty"`
	CaptureID      string            `json:"capture_id,omitempty"`
	Kind           kyc.CaptureKind   `json:"kind,omitempty"`
	ObjectKey      string            `json:"object_key,omitempty"`
	ContentType    string            `json:"content_type,omitempty"`
	Outcome        string            `json:"outcome,omitempty"`
	RecordingID    string            `json:"recording_id,omitempty"`
	Path           string            `json:"path,omitempty"`
	Size           int64             `json:"size,omitempty"`
	Duration       int64             `json:"duration,omitempty"`
	SHA256         string            `json:"sha256,omitempty"`
	ETag           string            `json:"etag,omitempty"`
	Missing        []kyc.CaptureKind `json:"missing,omitempty"`
	Required       []kyc.CaptureKind `json:"required,omitempty"`
	Error          string            `json:"error,omitempty"`
	FromSeq        int64             `json:"from_seq,omitempty"`
	ToSeq          int64             `json:"to_seq,omitempty"`
	RunIDs         []string          `json:"run_ids,omitempty"`
	EvidenceID     string            `json:"evidence_id,omitempty"`
	EvidenceKind   string            `json:"evidence_kind,omitempty"`
	ConsentVersion string            `json:"consent_version,omitempty"`
}

// Effect is a side effect a change calls for; the workflow runs it and
// feeds its outcome back as an input.
type Effect interface{ effect() }

// CreateRoom creates the room of an attempt (RoomCreated or RoomNotCreated
// follow).
type CreateRoom struct{ Attempt int }

// CloseRoom ends (when End) and disables the room of an attempt (RoomClosed
// follows).
type CloseRoom struct{ RoomOp }

// VerifyRecording checks the announced recording in our bucket
// (RecordingVerified or RecordingNotVerified follow).
type VerifyRecording struct {
	Attempt int
	Path    string
}

// PollRecording asks 100ms for a recording whose webhook is late
// (RecordingPolled follows).
type PollRecording struct {
	Attempt           int
	RoomID, SessionID string
}

// Save persists the unsaved events and the view (Saved follows).
type Save struct{}

// Bug reports a change the state machine refused: a programming error.
type Bug struct{ What string }

func (CreateRoom) effect()      {}
func (CloseRoom) effect()       {}
func (VerifyRecording) effect() {}
func (PollRecording) effect()   {}
func (Save) effect()            {}
func (Bug) effect()             {}

// NextRoomWork is the room work due, oldest first: rooms to close (so that
// a disabled room never lingers behind a new one), then the current
// attempt's room to create.
func (s *State) NextRoomWork() (Effect, bool) {
	if len(s.RoomOps) > 0 {
		return CloseRoom{s.RoomOps[0]}, true
	}
	if !s.Status.Terminal() && s.CurrentAttempt().RoomID == "" && s.Attempt > 0 {
		return CreateRoom{Attempt: s.Attempt}, true
	}
	return nil, false
}

// NextRecordingWork is the recording work due: a reported recording to
// verify, or a late one to ask 100ms about.
func (s *State) NextRecordingWork() (Effect, bool) {
	switch {
	case s.needsVerify():
		return VerifyRecording{Attempt: s.Attempt, Path: s.Recording.Path}, true
	case s.needsPoll():
		return PollRecording{Attempt: s.Attempt, RoomID: s.CurrentAttempt().RoomID, SessionID: s.Call.CallSessionID}, true
	}
	return nil, false
}

// StillWanted reports whether a verification started for attempt n and
// path still matters: once the attempt is gone, its result is ignored.
func (s *State) StillWanted(v VerifyRecording) bool {
	return s.needsVerify() && s.Attempt == v.Attempt && s.Recording.Path == v.Path
}

func (s *State) needsVerify() bool {
	return !s.Status.Terminal() && s.Recording.Status == kyc.RecordingReported
}

func (s *State) needsPoll() bool {
	return !s.Status.Terminal() && s.recordingPending() && s.Call.PollDue && !s.Call.Polled
}

func (s *State) recordingPending() bool {
	return s.Recording.Status == kyc.RecordingPending || s.Recording.Status == kyc.RecordingStarted
}

// Finished reports whether the case is over and nothing is left to do but
// the last save.
func (s *State) Finished() bool {
	return s.Status.Terminal() && len(s.RoomOps) == 0
}
