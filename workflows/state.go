package workflows

import (
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/chain"
	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// State is everything a case workflow knows. It is plain data so that it can
// be carried across continue-as-new in CaseInput.Resume; the JSON names are
// part of that contract.
type State struct {
	View kyc.CaseView `json:"view"`
	Call Call         `json:"call"`
	// Seen and PrevSeen hold the webhook event ids of the current and the
	// previous attempt, so redelivered events are ignored. Events of older
	// attempts are ignored by room anyway, which keeps the set bounded.
	Seen     []string   `json:"seen,omitempty"`
	PrevSeen []string   `json:"prev_seen,omitempty"`
	AuditAt  *time.Time `json:"audit_at,omitempty"` // when the case entered awaiting_audit
	RoomOps  []RoomOp   `json:"room_ops,omitempty"` // rooms to end and disable, oldest first
	// Unsaved are events not yet confirmed by SaveCase, oldest first; a save
	// in flight when the run continues as new is simply sent again.
	Unsaved []activities.CaseEvent `json:"unsaved,omitempty"`
	// Head is the hash chain's head over every event recorded, Saved over
	// those SaveCase confirmed. The workflow computes the chain from its own
	// events, so its history is a witness of the log that someone able to
	// write the database cannot rewrite (see Witness).
	Head  chain.Head `json:"head"`
	Saved chain.Head `json:"saved"`
}

// Call is what the workflow tracks about the current attempt's 100ms session.
type Call struct {
	Peers []Peer `json:"peers,omitempty"`
	// SessionID is the latest session seen in the room before the call began;
	// CallSessionID is the session in which both participants were present.
	SessionID     string     `json:"session_id,omitempty"`
	CallSessionID string     `json:"call_session_id,omitempty"`
	SessionClosed bool       `json:"session_closed,omitempty"`
	StartedAt     *time.Time `json:"started_at,omitempty"` // both participants present
	EndedAt       *time.Time `json:"ended_at,omitempty"`   // the call ended by itself (not by a decision)
	OverAt        *time.Time `json:"over_at,omitempty"`    // the call is over for whatever reason
	RoomClosing   bool       `json:"room_closing,omitempty"`
	PollDue       bool       `json:"poll_due,omitempty"` // the recording webhook is late: ask 100ms
	Polled        bool       `json:"polled,omitempty"`
	// FailedSessions are sessions whose recording failed before the call.
	FailedSessions []string `json:"failed_sessions,omitempty"`
	// RecordingSessions are sessions whose recording started before the
	// call: 100ms starts it about 2 s after the first join, usually before
	// the second participant is in.
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

// maxFailedSessions bounds Call.FailedSessions and Call.RecordingSessions; each entry is a session a
// participant opened alone, so a handful is already unusual.
const maxFailedSessions = 20

// maxSeen bounds the per-attempt event id set; a flapping connection can
// produce many joins and leaves, but not thousands within one attempt.
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

func (s *State) attempt() *kyc.Attempt { return s.View.CurrentAttempt() }

func (s *State) attemptByNumber(n int) *kyc.Attempt {
	if n < 1 || n > len(s.View.Attempts) {
		return nil
	}
	return &s.View.Attempts[n-1]
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
		return &s.View.Participants.Agent
	case string(kyc.RoleCustomer):
		return &s.View.Participants.Customer
	}
	return nil
}

// missingCaptures lists the required kinds the current attempt lacks, in
// canonical order.
func (s *State) missingCaptures() []kyc.CaptureKind {
	var missing []kyc.CaptureKind
	for _, k := range s.View.RequiredCaptures {
		if !slices.ContainsFunc(s.View.Captures, func(c kyc.Capture) bool {
			return c.Kind == k && c.Attempt == s.View.Attempt
		}) {
			missing = append(missing, k)
		}
	}
	return missing
}

func (s *State) capturesInAttempt() int {
	n := 0
	for _, c := range s.View.Captures {
		if c.Attempt == s.View.Attempt {
			n++
		}
	}
	return n
}

func (s *State) capture(id string) *kyc.Capture {
	for i := range s.View.Captures {
		if s.View.Captures[i].ID == id {
			return &s.View.Captures[i]
		}
	}
	return nil
}

// beforeDecision reports whether the case is in a status where the agent has
// not decided yet; the case TTL applies only there.
func beforeDecision(st kyc.Status) bool {
	return st == kyc.StatusWaitingForParticipants || st == kyc.StatusInCall || st == kyc.StatusAwaitingDecision
}

func timePtr(t time.Time) *time.Time { return &t }
