package hmssim

import (
	"net/http"
	"time"
)

// The /sim/v1 API: participants standing in for the client SDKs, fault
// control, and state for debugging and tests.

type joinRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Metadata string `json:"metadata"`
}

// handleJoin validates the peer auth token as 100ms would: 401 for a bad
// token, 404 for an unknown room, 403 for a disabled room or a role the
// room's template does not have.
func (s *Server) handleJoin(r *http.Request) (any, error) {
	var req joinRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	claims, err := s.checkPeerToken(req.Token)
	if err != nil {
		return nil, err
	}
	return s.join(claims, req.Name, req.Metadata)
}

type leaveRequest struct {
	PeerID string `json:"peer_id"`
	Reason string `json:"reason"`
}

// handleLeave takes a peer out; the reason defaults to "client request".
func (s *Server) handleLeave(r *http.Request) (any, error) {
	var req leaveRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.PeerID == "" {
		return nil, errorf(http.StatusBadRequest, "peer_id is required")
	}
	if req.Reason == "" {
		req.Reason = ReasonClientRequest
	}
	if err := s.leave(req.PeerID, req.Reason); err != nil {
		return nil, err
	}
	return map[string]string{"peer_id": req.PeerID, "reason": req.Reason}, nil
}

func (s *Server) handleGetFaults(*http.Request) (any, error) {
	return s.currentFaults(), nil
}

func (s *Server) handleSetFaults(r *http.Request) (any, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	f, err := ParseFaults(b)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid faults", err.Error())
	}
	s.SetFaults(f)
	s.log.Info("hmssim faults set", "endpoints", len(f.Endpoints), "seed", f.Seed)
	return f, nil
}

func (s *Server) handleDeliveries(*http.Request) (any, error) {
	return map[string]any{"deliveries": s.Deliveries()}, nil
}

// State is a summary of the simulator's contents.
type State struct {
	Rooms      []StateRoom      `json:"rooms"`
	Sessions   []StateSession   `json:"sessions"`
	Recordings []StateRecording `json:"recordings"`
	Templates  []StateTemplate  `json:"templates"`
	Events     uint64           `json:"events"` // webhook events created so far
}

// StateRoom is a room and its open session, if any.
type StateRoom struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Enabled         bool   `json:"enabled"`
	TemplateID      string `json:"template_id"`
	ActiveSessionID string `json:"active_session_id,omitempty"`
}

// StateSession is a session with every peer that was in it.
type StateSession struct {
	ID        string      `json:"id"`
	RoomID    string      `json:"room_id"`
	Active    bool        `json:"active"`
	CreatedAt time.Time   `json:"created_at"`
	StoppedAt *time.Time  `json:"stopped_at,omitempty"`
	Peers     []StatePeer `json:"peers"`
}

// StatePeer is a peer of a session; Disconnecting while an abrupt leave is pending.
type StatePeer struct {
	ID            string     `json:"id"`
	UserID        string     `json:"user_id"`
	Role          string     `json:"role"`
	JoinedAt      time.Time  `json:"joined_at"`
	LeftAt        *time.Time `json:"left_at,omitempty"`
	LeaveReason   string     `json:"leave_reason,omitempty"`
	Disconnecting bool       `json:"disconnecting,omitempty"`
}

// StateRecording is a recording job and, once uploaded, its file.
type StateRecording struct {
	ID         string `json:"id"`
	RoomID     string `json:"room_id"`
	SessionID  string `json:"session_id"`
	Status     string `json:"status"`
	StopReason string `json:"stop_reason,omitempty"`
	ErrorType  string `json:"error_type,omitempty"`
	Path       string `json:"path,omitempty"`
	Size       int64  `json:"size,omitempty"`
}

// StateTemplate is a template and its role names.
type StateTemplate struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// State returns a snapshot of rooms, sessions, peers, recordings and templates.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Events: s.eventSeq}
	for _, rm := range s.roomOrder {
		sr := StateRoom{ID: rm.ID, Name: rm.Name, Enabled: rm.Enabled, TemplateID: rm.TemplateID}
		if rm.active != nil {
			sr.ActiveSessionID = rm.active.ID
		}
		st.Rooms = append(st.Rooms, sr)
	}
	for _, ss := range s.sessionOrder {
		out := StateSession{ID: ss.ID, RoomID: ss.RoomID, Active: ss.Active, CreatedAt: utc(ss.CreatedAt), Peers: []StatePeer{}}
		if !ss.StoppedAt.IsZero() {
			t := utc(ss.StoppedAt)
			out.StoppedAt = &t
		}
		for _, p := range ss.peers {
			sp := StatePeer{ID: p.ID, UserID: p.UserID, Role: p.Role, JoinedAt: utc(p.JoinedAt), LeaveReason: p.LeaveReason, Disconnecting: p.disconnecting}
			if !p.present() {
				t := utc(p.LeftAt)
				sp.LeftAt = &t
			}
			out.Peers = append(out.Peers, sp)
		}
		st.Sessions = append(st.Sessions, out)
	}
	for _, rec := range s.recordingOrder {
		sr := StateRecording{ID: rec.ID, RoomID: rec.RoomID, SessionID: rec.SessionID, Status: rec.Status, StopReason: rec.StopReason, ErrorType: rec.ErrorType}
		if rec.asset != nil {
			sr.Path, sr.Size = rec.asset.path(), rec.asset.Size
		}
		st.Recordings = append(st.Recordings, sr)
	}
	for _, t := range s.templateOrder {
		st.Templates = append(st.Templates, StateTemplate{ID: t.ID, Name: t.Name, Roles: t.roleNames()})
	}
	return st
}

func (s *Server) handleState(*http.Request) (any, error) {
	return s.State(), nil
}
