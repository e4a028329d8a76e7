package core

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// State is everything the workflow knows of a case. It holds the bank's
// customer reference and ids, never personal data (no type in it has a
// field for a name, an e-mail or a phone number). It is plain data, carried
// across continue-as-new; the JSON names are that contract. The API's view
// of a case is rendered from it by View.
type State struct {
	CaseID          string            `json:"case_id"`
	CustomerRef     string            `json:"customer_ref"`
	Required        []kyc.CaptureKind `json:"required"`
	AuditRejections bool              `json:"audit_rejections"`
	Limits          Limits            `json:"limits"`
	Recordings      RecordingLocation `json:"recordings"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`

	Status       kyc.Status       `json:"status"`
	StatusReason string           `json:"status_reason,omitempty"`
	AgentID      string           `json:"agent_id,omitempty"`
	Attempt      int              `json:"attempt"`
	Attempts     []kyc.Attempt    `json:"attempts"`
	Participants kyc.Participants `json:"participants"`
	Captures     []kyc.Capture    `json:"captures"`
	Recording    kyc.Recording    `json:"recording"`
	Decision     *kyc.Verdict     `json:"decision,omitempty"`
	Audit        *kyc.Verdict     `json:"audit,omitempty"`
	Overdue      bool             `json:"overdue,omitempty"`
	AuditAt      *time.Time       `json:"audit_at,omitempty"` // when the case entered awaiting_audit
	Consent      *kyc.EvidenceRef `json:"consent,omitempty"`
	Location     *kyc.EvidenceRef `json:"location,omitempty"`

	Call Call `json:"call"`
	// Seen and PrevSeen hold the webhook event ids of the current and the
	// previous attempt, so redelivered events are ignored. Events of older
	// attempts are ignored by room anyway, which keeps the set bounded.
	Seen     []string `json:"seen,omitempty"`
	PrevSeen []string `json:"prev_seen,omitempty"`
	RoomOps  []RoomOp `json:"room_ops,omitempty"` // rooms to end and disable, oldest first

	Log Log `json:"log"`
}

// RecordingLocation is the bucket and key prefix of room-composite
// recordings: 100ms writes them to s3://<bucket>/<prefix>/beam/<room id>/...
type RecordingLocation struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix,omitempty"`
}

// OfRoom reports whether path is a recording of room roomID here.
func (l RecordingLocation) OfRoom(path, roomID string) bool {
	if roomID == "" || strings.Contains(path, "..") {
		return false
	}
	want := "s3://" + l.Bucket + "/"
	if p := strings.Trim(l.Prefix, "/"); p != "" {
		want += p + "/"
	}
	return l.Bucket != "" && strings.HasPrefix(path, want+"beam/"+roomID+"/")
}

// Call is what the case tracks about the current attempt's 100ms session.
type Call struct {
	Peers []Peer `json:"peers,omitempty"`
	// SessionID is the latest session seen in the room before the call
	// began; CallSessionID is the session in which both participants were.
	SessionID     string     `json:"session_id,omitempty"`
	CallSessionID string     `json:"call_session_id,omitempty"`
	SessionClosed bool       `json:"session_closed,omitempty"`
	StartedAt     *time.Time `json:"started_at,omitempty"` // both participants present
	EndedAt       *time.Time `json:"ended_at,omitempty"`   // the call ended by itself (not by a decision)
	OverAt        *time.Time `json:"over_at,omitempty"`    // the call is over for whatever reason
	RoomClosing   bool       `json:"room_closing,omitempty"`
	PollDue       bool       `json:"poll_due,omitempty"` // the recording webhook is late: ask 100ms
	Polled        bool       `json:"polled,omitempty"`
	// FailedSessions are sessions whose recording failed before the call;
	// RecordingSessions are sessions whose recording started before it
	// (100ms starts it about 2 s after the first join).
	FailedSessions    []string `json:"failed_sessions,omitempty"`
	RecordingSessions []string `json:"recording_sessions,omitempty"`
}

// Peer is one 100ms peer of the current attempt. A peer who rejoins gets a
// new peer id, so presence is tracked per peer, not per role.
type Peer struct {
	ID        string `json:"id"`
	Role      string `json:"role"`
	SessionID string `json:"session_id,omitempty"`
	Joined    bool   `json:"joined,omitempty"`
	Left      bool   `json:"left,omitempty"` // may arrive before the join
}

// RoomOp ends (if End) and disables the room of an attempt.
type RoomOp struct {
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
	End     bool   `json:"end"`
}

// Entry is one event of the case's log as the case made it: its sequence
// number, chosen here, makes a retried save idempotent, and its hash links
// it into the chain the store keeps.
type Entry struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	ActorID   string          `json:"actor_id"`
	ActorRole kyc.Role        `json:"actor_role"`
	At        time.Time       `json:"at"`
	Data      json.RawMessage `json:"data,omitempty"`
	Hash      string          `json:"hash,omitempty"`
}

// Log is the case's side of its event log: the events not yet saved, and
// the chain's head over every event made (Head) and over those saved
// (Saved). The case computes the chain itself, so the workflow's history is
// a witness of the stored log that a database writer cannot rewrite.
type Log struct {
	Version int64      `json:"version"` // the last event's seq
	Unsaved []Entry    `json:"unsaved,omitempty"`
	Head    chain.Head `json:"head"`
	Saved   chain.Head `json:"saved"`
}

// maxSessions bounds Call.FailedSessions and Call.RecordingSessions; each
// entry is a session a participant opened alone.
const maxSessions = 20

// maxSeen bounds the per-attempt event id set.
const maxSeen = 2000

func (s *State) seen(id string) bool {
	return id != "" && (slices.Contains(s.Seen, id) || slices.Contains(s.PrevSeen, id))
}

func (s *State) markSeen(id string) {
	if id == "" {
		return
	}
	if len(s.Seen) >= maxSeen {
		s.Seen = slices.Delete(s.Seen, 0, len(s.Seen)-maxSeen+1)
	}
	s.Seen = append(s.Seen, id)
}

// CurrentAttempt is the attempt in progress.
func (s *State) CurrentAttempt() *kyc.Attempt {
	if len(s.Attempts) == 0 {
		return &kyc.Attempt{}
	}
	return &s.Attempts[len(s.Attempts)-1]
}

// AttemptNumber is attempt n, or nil.
func (s *State) AttemptNumber(n int) *kyc.Attempt { return s.attemptByNumber(n) }

func (s *State) attemptByNumber(n int) *kyc.Attempt {
	if n < 1 || n > len(s.Attempts) {
		return nil
	}
	return &s.Attempts[n-1]
}

func (s *State) peer(id string) *Peer {
	for i := range s.Call.Peers {
		if s.Call.Peers[i].ID == id {
			return &s.Call.Peers[i]
		}
	}
	s.Call.Peers = append(s.Call.Peers, Peer{ID: id})
	return &s.Call.Peers[len(s.Call.Peers)-1]
}

// present reports whether a peer of role is in the room's current session.
func (s *State) present(role string) bool {
	session := s.Call.SessionID
	if s.Call.CallSessionID != "" {
		session = s.Call.CallSessionID
	}
	for _, p := range s.Call.Peers {
		if p.Role != role || !p.Joined || p.Left {
			continue
		}
		if p.SessionID == "" || session == "" || p.SessionID == session {
			return true
		}
	}
	return false
}

func (s *State) anyonePresent() bool {
	return s.present(string(kyc.RoleAgent)) || s.present(string(kyc.RoleCustomer))
}

func (s *State) participant(role string) *kyc.Participant {
	switch role {
	case string(kyc.RoleAgent):
		return &s.Participants.Agent
	case string(kyc.RoleCustomer):
		return &s.Participants.Customer
	}
	return nil
}

// MissingCaptures lists the required kinds the current attempt lacks, in
// canonical order: the rule an approval needs, for the API's messages too.
func (s *State) MissingCaptures() []kyc.CaptureKind {
	var missing []kyc.CaptureKind
	for _, k := range s.Required {
		if !slices.ContainsFunc(s.Captures, func(c kyc.Capture) bool { return c.Kind == k && c.Attempt == s.Attempt }) {
			missing = append(missing, k)
		}
	}
	return missing
}

func (s *State) capturesInAttempt() int {
	n := 0
	for _, c := range s.Captures {
		if c.Attempt == s.Attempt {
			n++
		}
	}
	return n
}

func (s *State) capture(id string) *kyc.Capture {
	for i := range s.Captures {
		if s.Captures[i].ID == id {
			return &s.Captures[i]
		}
	}
	return nil
}

func (s *State) callStarted() bool { return s.Call.StartedAt != nil }

// beforeDecision reports whether the agent has not decided yet; the case
// TTL applies only there.
func beforeDecision(st kyc.Status) bool {
	return st == kyc.StatusWaitingForParticipants || st == kyc.StatusInCall || st == kyc.StatusAwaitingDecision
}

func timePtr(t time.Time) *time.Time { return &t }

// New is a case about to be opened (Apply Open next).
func New(caseID, customerRef string, required []kyc.CaptureKind, auditRejections bool, limits Limits,
	recordings RecordingLocation, createdAt time.Time) *State {
	return &State{
		CaseID: caseID, CustomerRef: customerRef, Required: required, AuditRejections: auditRejections,
		Limits: limits, Recordings: recordings, CreatedAt: createdAt, UpdatedAt: createdAt,
		Status: kyc.StatusWaitingForParticipants, Attempts: []kyc.Attempt{}, Captures: []kyc.Capture{},
	}
}

// FromView rebuilds a case from its projection, for a run that ends a case
// whose last run was closed from outside: its log continues from head (the
// stored log's), since the projection may be a save behind the log.
func FromView(v kyc.CaseView, limits Limits, recordings RecordingLocation, head chain.Head) *State {
	s := New(v.ID, v.Customer.Reference, v.RequiredCaptures, v.AuditRejections, limits, recordings, v.CreatedAt)
	s.UpdatedAt, s.Status, s.StatusReason, s.AgentID = v.UpdatedAt, v.Status, v.StatusReason, v.AgentID
	s.Attempt, s.Attempts, s.Participants, s.Captures = v.Attempt, v.Attempts, v.Participants, v.Captures
	s.Recording, s.Decision, s.Audit, s.Overdue = v.Recording, v.Decision, v.Audit, v.Overdue
	s.Consent, s.Location = v.Consent, v.Location
	s.Log = Log{Version: head.Seq, Head: head, Saved: head}
	return s
}
