package core

import (
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Input is something that happened to a case: a request, a webhook, the
// outcome of an effect, the clock.
type Input interface{ input() }

// Open creates the case and its first attempt.
type Open struct{ By Actor }

// AssignAgent assigns the case to an agent. The first agent wins.
type AssignAgent struct {
	AgentID string `json:"agent_id"`
}

// Join asks for the current attempt's room for a participant: the agent,
// who is assigned on the way (the first agent wins), or the customer.
type Join struct {
	Role   string `json:"role"`    // agent or customer
	UserID string `json:"user_id"` // the agent's id; the customer's is kyc.CustomerUserID
}

// AddCapture records an image the agent uploaded for an attempt.
type AddCapture struct {
	CaptureID   string          `json:"capture_id"`
	Kind        kyc.CaptureKind `json:"kind"`
	ObjectKey   string          `json:"object_key"`
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256"`
	ContentType string          `json:"content_type"`
	Attempt     int             `json:"attempt"` // the attempt the upload was made for
	AgentID     string          `json:"agent_id"`
}

// Decide is the agent's verdict: kyc.OutcomeApprove or kyc.OutcomeReject.
type Decide struct {
	AgentID string `json:"agent_id"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// AuditCase is the auditor's verdict: approve, reject or recapture.
type AuditCase struct {
	AuditorID string `json:"auditor_id"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason,omitempty"`
}

// Cancel stops a case for good (the bank's or an admin's request).
type Cancel struct {
	By     string `json:"by"`
	Role   string `json:"role"` // a kyc.Role value
	Reason string `json:"reason"`
}

// GiveEvidence names what the customer gave on the join page (consent,
// location or its refusal), stored by the API in the database: the case
// gets its id and digest only, so personal data stays out of the history
// while the log commits to it.
type GiveEvidence struct {
	EvidenceID     string `json:"evidence_id"`
	Kind           string `json:"kind"` // kyc.EvidenceConsent, kyc.EvidenceLocation or kyc.EvidenceLocationRefused
	SHA256         string `json:"sha256"`
	ConsentVersion string `json:"consent_version,omitempty"`
	Attempt        int    `json:"attempt"` // the attempt the customer was in
}

// CancelRequested is a cancel request sent to the workflow through
// Temporal (the Web UI, the CLI), by the identity Temporal recorded.
type CancelRequested struct {
	By     Actor
	Reason string
}

// ClosedOutside ends a case whose previous run was closed from outside.
type ClosedOutside struct{ Order CloseOrder }

// CloseOrder says how a case's previous run was closed from outside.
type CloseOrder struct {
	RunID       string `json:"run_id"`
	CloseStatus string `json:"close_status"`       // Temporal's: Terminated, TimedOut, Failed, Canceled
	Reason      string `json:"reason,omitempty"`   // as Temporal recorded it (an operator's terminate reason)
	Identity    string `json:"identity,omitempty"` // who closed it, as Temporal recorded it
	// LogProblem is set when the stored log did not agree with the closed
	// run's witness; the closing run continues the stored log and says so.
	LogProblem string `json:"log_problem,omitempty"`
}

// Webhook is a 100ms webhook event.
type Webhook struct{ Event HMSEvent }

// HMSEvent is a 100ms webhook event reduced to what the case needs. It is
// free of personal data by construction: user_name and user_data never
// enter it.
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

// RoomCreated: CreateRoom made (or found) the room.
type RoomCreated struct {
	Attempt      int
	RoomID, Name string
}

// RoomNotCreated: CreateRoom gave up.
type RoomNotCreated struct {
	Attempt int
	Error   string
}

// RoomClosed: CloseRoom ended and disabled the room, or gave up (Error).
type RoomClosed struct {
	Op     RoomOp
	RoomID string
	Error  string
}

// RecordingCheck is what our bucket holds for a recording.
type RecordingCheck struct {
	Size   int64
	SHA256 string
	ETag   string
}

// RecordingVerified: VerifyRecording found the recording in our bucket.
type RecordingVerified struct {
	For   VerifyRecording
	Check RecordingCheck
}

// RecordingNotVerified: VerifyRecording refused the recording.
type RecordingNotVerified struct {
	For       VerifyRecording
	ErrorType string
}

// FoundRecording is a completed recording 100ms knows of.
type FoundRecording struct {
	ID, Path       string
	Size, Duration int64
}

// RecordingPolled: PollRecording's answer; Found is nil when 100ms had none
// (or could not be asked: ErrorType).
type RecordingPolled struct {
	Attempt   int
	Found     *FoundRecording
	ErrorType string
}

// Saved: the log up to Through is stored.
type Saved struct{ Through int64 }

// Forked: the store holds other events from From to Head that this case's
// history does not know: those of a run an operator's Reset discarded
// (confirmed against Temporal by ResolveFork), or those a workflow task
// saved before it failed (Reason ReasonUnconfirmedSave). The case keeps
// them and continues the log after them.
type Forked struct {
	From   int64
	Head   chain.Head
	RunIDs []string
	By     Actor
	Reason string
}

// ReasonUnconfirmedSave is the reason of a log_rebased event after events
// a failed workflow task saved.
const ReasonUnconfirmedSave = "unconfirmed_save"

// Tick fires every deadline that has passed.
type Tick struct{}

func (Open) input()                 {}
func (AssignAgent) input()          {}
func (Join) input()                 {}
func (AddCapture) input()           {}
func (Decide) input()               {}
func (AuditCase) input()            {}
func (Cancel) input()               {}
func (GiveEvidence) input()         {}
func (CancelRequested) input()      {}
func (ClosedOutside) input()        {}
func (Webhook) input()              {}
func (RoomCreated) input()          {}
func (RoomNotCreated) input()       {}
func (RoomClosed) input()           {}
func (RecordingVerified) input()    {}
func (RecordingNotVerified) input() {}
func (RecordingPolled) input()      {}
func (Saved) input()                {}
func (Forked) input()               {}
func (Tick) input()                 {}

// Apply changes the case by one input at time now and returns the effects
// the change calls for. Requests are checked again (Check): a refused or
// repeated request changes nothing. Inputs that no longer concern the case
// (an old attempt's room, a verification overtaken by events) are ignored.
func Apply(s *State, now time.Time, in Input) []Effect {
	t := &step{s: s, now: now}
	switch in := in.(type) {
	case Open:
		t.open(in.By)
	case Webhook:
		t.webhook(in.Event)
	case Tick:
		t.fireDue()
	case Saved:
		s.Log.saved(in.Through)
	case Forked:
		t.rebase(in)
	case RoomCreated:
		t.roomCreated(in)
	case RoomNotCreated:
		if in.Attempt == s.Attempt && !s.Status.Terminal() {
			t.record(EventRoomCreateFailed, System, EventData{Attempt: in.Attempt, Error: in.Error})
			t.terminate(kyc.StatusFailed, ReasonRoomCreationFailed, System)
		}
	case RoomClosed:
		t.roomClosed(in)
	case RecordingVerified:
		if s.StillWanted(in.For) {
			t.recordingVerified(in.Check)
		}
	case RecordingNotVerified:
		if s.StillWanted(in.For) {
			t.recordingFailed(ReasonRecordingInvalid, in.ErrorType, System)
		}
	case RecordingPolled:
		t.recordingPolled(in)
	case CancelRequested:
		t.cancelRequested(in)
	case ClosedOutside:
		t.closedOutside(in.Order)
	default:
		if repeat, err := Check(s, now, in); err == nil && !repeat {
			t.request(in)
		}
	}
	return t.fx
}

// request applies a checked request.
func (t *step) request(in Input) {
	s := t.s
	switch in := in.(type) {
	case AssignAgent:
		t.assign(in.AgentID)
	case Join: // only an agent not yet assigned changes the case
		t.assign(in.UserID)
	case AddCapture:
		s.Captures = append(s.Captures, kyc.Capture{
			ID: in.CaptureID, Kind: in.Kind, ObjectKey: in.ObjectKey, Size: in.Size, SHA256: in.SHA256,
			ContentType: in.ContentType, Attempt: in.Attempt, CreatedBy: in.AgentID, CreatedAt: t.now,
		})
		t.record(EventCaptureAdded, Actor{in.AgentID, kyc.RoleAgent}, EventData{
			Attempt: in.Attempt, CaptureID: in.CaptureID, Kind: in.Kind, ObjectKey: in.ObjectKey,
			Size: in.Size, SHA256: in.SHA256, ContentType: in.ContentType,
		})
	case Decide:
		t.decided(kyc.Verdict{By: in.AgentID, Outcome: in.Outcome, Reason: in.Reason, At: t.now}, Actor{in.AgentID, kyc.RoleAgent})
	case AuditCase:
		t.audited(kyc.Verdict{By: in.AuditorID, Outcome: in.Outcome, Reason: in.Reason, At: t.now}, Actor{in.AuditorID, kyc.RoleAuditor})
	case GiveEvidence:
		ref := &kyc.EvidenceRef{
			ID: in.EvidenceID, Kind: in.Kind, Attempt: in.Attempt, SHA256: in.SHA256,
			ConsentVersion: in.ConsentVersion, At: t.now,
		}
		if in.Kind == kyc.EvidenceConsent {
			s.Consent = ref
		} else {
			s.Location = ref
		}
		// The customer's 100ms user id names the customer in the log, as
		// in the customer's peer events.
		t.record(evidenceEvents[in.Kind], Actor{kyc.CustomerUserID(s.CaseID), kyc.RoleCustomer}, EventData{
			Attempt: in.Attempt, EvidenceID: in.EvidenceID, EvidenceKind: in.Kind, SHA256: in.SHA256,
			ConsentVersion: in.ConsentVersion,
		})
	case Cancel:
		who := Actor{in.By, kyc.Role(in.Role)}
		if who.Role == "" {
			who.Role = kyc.RoleService
		}
		t.record(EventCaseCancelled, who, EventData{Attempt: s.Attempt, Reason: in.Reason})
		t.terminate(kyc.StatusCancelled, in.Reason, who)
	}
}

func (t *step) assign(agentID string) {
	s := t.s
	s.AgentID, s.Participants.Agent.ID = agentID, agentID
	t.record(EventAgentAssigned, Actor{agentID, kyc.RoleAgent}, EventData{AgentID: agentID})
}

func (t *step) roomCreated(in RoomCreated) {
	a := t.s.attemptByNumber(in.Attempt)
	if a == nil {
		return
	}
	// Kept even if the attempt ended meanwhile: closing its room needs the id.
	a.RoomID = in.RoomID
	t.record(EventRoomCreated, System, EventData{Attempt: in.Attempt, RoomID: in.RoomID, RoomName: in.Name})
}

func (t *step) roomClosed(in RoomClosed) {
	s := t.s
	if len(s.RoomOps) > 0 && s.RoomOps[0] == in.Op {
		s.RoomOps = s.RoomOps[1:]
	}
	if in.RoomID == "" {
		return // the room was never created, so nobody can be in it
	}
	d := EventData{Attempt: in.Op.Attempt, RoomID: in.RoomID, Reason: in.Op.Reason}
	if in.Error != "" {
		// The case must not hang on a room 100ms will not close; operators
		// find the room in the log, and the reconciler ends it.
		d.Error = in.Error
		t.record(EventRoomCloseFailed, System, d)
		return
	}
	t.record(EventRoomClosed, System, d)
}

// recordingPolled takes 100ms's answer about a late recording.
func (t *step) recordingPolled(in RecordingPolled) {
	s := t.s
	s.Call.Polled = true
	if s.Attempt != in.Attempt || s.Status.Terminal() || !s.recordingPending() {
		return // the webhook came meanwhile, or the attempt is gone
	}
	if in.Found == nil {
		// After 30 minutes of retries an unreachable 100ms counts as "no
		// recording": the attempt cannot be approved without one.
		t.recordingFailed(ReasonRecordingMissing, in.ErrorType, System)
		return
	}
	f := in.Found
	s.Recording = kyc.Recording{Status: kyc.RecordingReported, ID: f.ID, Path: f.Path, Size: f.Size, Duration: f.Duration}
	t.record(EventRecordingFound, System, EventData{
		Attempt: s.Attempt, RecordingID: f.ID, Path: f.Path, Size: f.Size, Duration: f.Duration,
	})
}

// cancelRequested ends the case as the bank's cancel does when an operator
// asked Temporal to cancel its workflow.
func (t *step) cancelRequested(in CancelRequested) {
	if t.s.Status.Terminal() {
		return // already ending
	}
	if in.By.ID == "" {
		in.By.ID = "temporal"
	}
	if in.Reason == "" {
		in.Reason = ReasonOperatorCancel
	}
	t.record(EventCaseCancelled, in.By, EventData{Attempt: t.s.Attempt, Reason: in.Reason})
	t.terminate(kyc.StatusCancelled, in.Reason, in.By)
}

// closedOutside ends a case whose previous run was closed from outside the
// engine: the log says how and by whom, the case becomes terminated, and
// its room is ended and disabled.
func (t *step) closedOutside(o CloseOrder) {
	who := Actor{ID: o.Identity, Role: kyc.RoleOperator}
	if who.ID == "" {
		who.ID = "temporal"
	}
	t.record(EventWorkflowClosed, who, EventData{
		Attempt: t.s.Attempt, Reason: o.Reason, ErrorType: o.CloseStatus, RunIDs: []string{o.RunID}, Error: o.LogProblem,
	})
	if !t.s.Status.Terminal() {
		t.terminate(kyc.StatusTerminated, ReasonClosedOutside(o.CloseStatus), who)
	}
}

// ReasonClosedOutside is the status reason of a case whose run was closed
// from outside: workflow_terminated, workflow_timed_out, ...
func ReasonClosedOutside(closeStatus string) string {
	b := []byte("workflow_")
	for i, r := range closeStatus {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b = append(b, '_')
			}
			r += 'a' - 'A'
		}
		b = append(b, string(r)...)
	}
	return string(b)
}

// saved drops the events a save confirmed.
func (l *Log) saved(through int64) {
	n := 0
	for n < len(l.Unsaved) && l.Unsaved[n].Seq <= through {
		n++
	}
	if n > 0 {
		last := l.Unsaved[n-1]
		l.Saved = chain.Head{Seq: last.Seq, Hash: last.Hash}
		l.Unsaved = l.Unsaved[n:]
	}
}

// rebase continues the log after events another run saved (see Forked):
// they stay, a log_rebased event names them and who reset, and the unsaved
// events follow, renumbered and chained from the stored head.
func (t *step) rebase(f Forked) {
	s := t.s
	pending := s.Log.Unsaved
	s.Log.Unsaved = nil
	s.Log.Version, s.Log.Head, s.Log.Saved = f.Head.Seq, f.Head, f.Head
	t.record(EventLogRebased, f.By, EventData{Attempt: s.Attempt, FromSeq: f.From, ToSeq: f.Head.Seq, RunIDs: f.RunIDs, Reason: f.Reason})
	for _, e := range pending {
		s.Log.Version++
		e.Seq, e.Hash = s.Log.Version, ""
		s.Log.append(s.CaseID, e)
	}
}
