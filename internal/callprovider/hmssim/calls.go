package hmssim

import (
	"math"
	"net/http"
	"slices"
	"time"
)

// Peer leave reasons of peer.leave.success.
const (
	ReasonClientRequest     = "client request"
	ReasonPeerKicked        = "peer kicked"
	ReasonWebsocketClosed   = "websocket closed"
	ReasonICEClosed         = "ice connection state closed"
	ReasonServerRemovedPeer = "server removed peer"
)

var leaveReasons = map[string]bool{
	ReasonClientRequest: true, ReasonPeerKicked: true, ReasonWebsocketClosed: true,
	ReasonICEClosed: true, ReasonServerRemovedPeer: true,
}

// abnormal reasons are disconnects 100ms only declares after waiting for a
// reconnect.
func abnormalLeave(reason string) bool {
	return reason == ReasonWebsocketClosed || reason == ReasonICEClosed
}

// defaultRoles are accepted in rooms without a template, or whose template
// has no roles: the vKYC roles.
var defaultRoles = []string{"agent", "customer"}

// Beam stop reasons of beam.stopped.success.
const (
	beamStopClientRequest = "client request"
	beamStopLastPeerLeft  = "last peer left"
	beamStopRoomEnded     = "room ended"
)

func (s *Server) allowedRoles(rm *room) []string {
	if t := s.templates[rm.TemplateID]; t != nil {
		if names := t.roleNames(); len(names) > 0 {
			return names
		}
	}
	return defaultRoles
}

// autoRecords reports whether the first join starts a room composite
// recording: the template's setting, or on for rooms without a template as in
// the vKYC template.
func (s *Server) autoRecords(rm *room) bool {
	if t := s.templates[rm.TemplateID]; t != nil {
		return t.autoStartsRecording()
	}
	return true
}

type joinResult struct {
	PeerID    string `json:"peer_id"`
	SessionID string `json:"session_id"`
	RoomID    string `json:"room_id"`
	Role      string `json:"role"`
}

// join admits a peer as the 100ms SFU does after validating its token.
func (s *Server) join(claims peerClaims, name, metadata string) (joinResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rooms[claims.RoomID]
	if rm == nil {
		return joinResult{}, errorf(http.StatusNotFound, "room not found", "room_id "+claims.RoomID)
	}
	// 100ms's docs can be read as letting peers into the session in progress
	// of a disabled room; we refuse every join to a disabled room, the safe
	// reading for a room the engine disabled to lock a KYC call.
	if !rm.Enabled {
		return joinResult{}, errorf(http.StatusForbidden, "room is disabled", "room_id "+rm.ID)
	}
	if !slices.Contains(s.allowedRoles(rm), claims.Role) {
		data := s.roomData(rm, rm.active)
		data["user_id"], data["user_name"], data["role"] = claims.UserID, name, claims.Role
		data["error_message"] = "role not allowed"
		s.emit(rm, "peer.join.failure", data)
		return joinResult{}, errorf(http.StatusForbidden, "role not allowed", "role "+claims.Role)
	}
	now := s.now()
	ss := rm.active
	if ss == nil {
		s.sessionSeq++
		ss = &session{ID: newObjectID(), RoomID: rm.ID, seq: s.sessionSeq, Active: true, CreatedAt: now, UpdatedAt: now}
		rm.active = ss
		s.sessions[ss.ID] = ss
		s.sessionOrder = append(s.sessionOrder, ss)
		data := s.roomData(rm, ss)
		s.emit(rm, "session.open.success", data)
		if s.autoRecords(rm) {
			s.createRecording(rm, ss, recordingRequest{})
		}
	}
	ss.closeGen++ // a join cancels a pending delayed close
	if name == "" {
		name = claims.UserID
	}
	p := &peer{
		ID: newPeerID(), SessionID: ss.ID, RoomID: rm.ID, Name: name, UserID: claims.UserID,
		Role: claims.Role, Metadata: metadata, JoinedAt: now,
	}
	ss.peers = append(ss.peers, p)
	ss.UpdatedAt = now
	s.peers[p.ID] = p
	s.emit(rm, "peer.join.success", s.peerData(rm, ss, p))
	return joinResult{PeerID: p.ID, SessionID: ss.ID, RoomID: rm.ID, Role: p.Role}, nil
}

// leave takes a peer out. Abrupt disconnects are announced after
// AbnormalLeaveDelay, during which the peer still counts as in the room. A
// peer that already left, or is being disconnected, is left as it is: the
// SDK's leave is idempotent.
func (s *Server) leave(peerID, reason string) error {
	if !leaveReasons[reason] {
		return errorf(http.StatusBadRequest, "invalid reason", "reason must be one of: client request, peer kicked, websocket closed, ice connection state closed, server removed peer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[peerID]
	if p == nil {
		return errorf(http.StatusNotFound, "peer not found", "peer_id "+peerID)
	}
	if !p.present() || p.disconnecting {
		return nil
	}
	if abnormalLeave(reason) && s.cfg.AbnormalLeaveDelay > 0 {
		p.disconnecting = true
		s.after(s.cfg.AbnormalLeaveDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			// A browser whose signalling reconnected meanwhile stays.
			if p.disconnecting {
				s.finishLeave(p, reason, "")
			}
		})
		return nil
	}
	s.finishLeave(p, reason, "")
	return nil
}

// finishLeave announces a peer's departure and, for the last peer, closes
// the session (after SessionCloseDelay). Called with s.mu held.
func (s *Server) finishLeave(p *peer, reason, message string) {
	if !p.present() {
		return
	}
	ss, rm := s.sessions[p.SessionID], s.rooms[p.RoomID]
	s.announceLeave(rm, ss, p, reason, message)
	if !ss.Active || presentPeers(ss) > 0 {
		return
	}
	if s.cfg.SessionCloseDelay <= 0 {
		s.closeSession(rm, ss, beamStopLastPeerLeft)
		return
	}
	ss.closeGen++
	gen := ss.closeGen
	s.after(s.cfg.SessionCloseDelay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ss.closeGen == gen && presentPeers(ss) == 0 {
			s.closeSession(rm, ss, beamStopLastPeerLeft)
		}
	})
}

func presentPeers(ss *session) int {
	n := 0
	for _, p := range ss.peers {
		if p.present() {
			n++
		}
	}
	return n
}

// closeSession ends a session: its recordings stop with beamReason, then
// session.close.success. Called with s.mu held.
func (s *Server) closeSession(rm *room, ss *session, beamReason string) {
	if !ss.Active {
		return
	}
	now := s.now()
	ss.Active, ss.StoppedAt, ss.UpdatedAt = false, now, now
	if rm.active == ss {
		rm.active = nil
	}
	data := s.roomData(rm, ss)
	data["session_stopped_at"] = utc(now)
	data["session_duration"] = seconds(now.Sub(ss.CreatedAt))
	s.emit(rm, "session.close.success", data)
	for _, rec := range ss.recordings {
		if rec.active() {
			s.stopRecording(rm, rec, beamReason, "")
		}
	}
}

// endRoom removes every peer (reason "server removed peer"), announces
// room.end.success, closes the session and, with lock, disables the room.
func (s *Server) endRoom(r *http.Request) (any, error) {
	var req struct {
		Reason string `json:"reason"`
		Lock   bool   `json:"lock"`
	}
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return s.inActiveSession(r, func(rm *room, ss *session) (any, error) {
		for _, p := range ss.peers {
			if p.present() {
				s.removePeer(rm, ss, p, req.Reason)
			}
		}
		if req.Lock {
			rm.Enabled = false
			rm.UpdatedAt = s.now()
		}
		data := s.roomData(rm, ss)
		data["reason"] = req.Reason
		data["lock_room"] = req.Lock
		data["source"] = "api"
		s.emit(rm, "room.end.success", data)
		s.closeSession(rm, ss, beamStopRoomEnded)
		return map[string]string{"message": "session is ending"}, nil
	})
}

// removePeer is finishLeave without the last-peer close, which the caller
// does itself with its own reason.
func (s *Server) removePeer(rm *room, ss *session, p *peer, message string) {
	s.announceLeave(rm, ss, p, ReasonServerRemovedPeer, message)
}

// announceLeave marks the peer gone and sends peer.leave.success and the
// peer's removal signal. Called with s.mu held.
func (s *Server) announceLeave(rm *room, ss *session, p *peer, reason, message string) {
	now := s.now()
	p.LeftAt, p.LeaveReason, p.disconnecting = now, reason, false
	ss.UpdatedAt = now
	data := s.peerData(rm, ss, p)
	data["left_at"] = utc(now)
	data["duration"] = seconds(now.Sub(p.JoinedAt))
	data["reason"] = reason
	data["message"] = message
	s.emit(rm, "peer.leave.success", data)
	s.signals.removed(p.ID, reason)
}

// removePeers takes out one peer (peer_id) or every peer of a role.
func (s *Server) removePeers(r *http.Request) (any, error) {
	var req struct {
		PeerID string `json:"peer_id"`
		Role   string `json:"role"`
		Reason string `json:"reason"`
	}
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if (req.PeerID == "") == (req.Role == "") {
		return nil, errorf(http.StatusBadRequest, "invalid request", "exactly one of peer_id and role is required")
	}
	return s.inActiveSession(r, func(rm *room, ss *session) (any, error) {
		removed := 0
		for _, p := range ss.peers {
			if p.present() && (p.ID == req.PeerID || p.Role == req.Role) {
				s.removePeer(rm, ss, p, req.Reason)
				removed++
			}
		}
		if removed == 0 {
			return nil, errorf(http.StatusNotFound, "peer not found")
		}
		if presentPeers(ss) == 0 {
			s.closeSession(rm, ss, beamStopLastPeerLeft)
		}
		return map[string]string{"message": "request sent to remove peers"}, nil
	})
}

func (s *Server) getActiveRoom(r *http.Request) (any, error) {
	return s.inActiveSession(r, func(rm *room, ss *session) (any, error) {
		out := activeRoomJSON{ID: rm.ID, Name: rm.Name, CustomerID: s.cfg.CustomerID, AppID: s.cfg.AppID}
		out.Session.ID, out.Session.CreatedAt, out.Session.Peers = ss.ID, utc(ss.CreatedAt), []string{}
		for _, p := range ss.peers {
			if p.present() {
				out.Session.Peers = append(out.Session.Peers, p.ID)
			}
		}
		for _, rec := range ss.recordings {
			out.Session.Recording.Browser.Enabled = out.Session.Recording.Browser.Enabled || rec.active()
		}
		return out, nil
	})
}

func activePeer(p *peer) activePeerJSON {
	return activePeerJSON{ID: p.ID, Name: p.Name, UserID: p.UserID, Metadata: p.Metadata, Role: p.Role, JoinedAt: utc(p.JoinedAt)}
}

func (s *Server) listActivePeers(r *http.Request) (any, error) {
	return s.inActiveSession(r, func(_ *room, ss *session) (any, error) {
		peers := map[string]activePeerJSON{}
		for _, p := range ss.peers {
			if p.present() {
				peers[p.ID] = activePeer(p)
			}
		}
		return map[string]any{"peers": peers}, nil
	})
}

func (s *Server) getActivePeer(r *http.Request) (any, error) {
	return s.inActiveSession(r, func(_ *room, ss *session) (any, error) {
		for _, p := range ss.peers {
			if p.ID == r.PathValue("peer_id") && p.present() {
				return activePeer(p), nil
			}
		}
		return nil, errorf(http.StatusNotFound, "peer not found", "peer_id "+r.PathValue("peer_id"))
	})
}

// Webhook data shared by the session, peer and room events.

func (s *Server) roomData(rm *room, ss *session) map[string]any {
	d := map[string]any{"room_id": rm.ID, "room_name": rm.Name, "template_id": rm.TemplateID}
	if ss != nil {
		d["session_id"] = ss.ID
		d["session_started_at"] = utc(ss.CreatedAt)
	}
	return d
}

func (s *Server) peerData(rm *room, ss *session, p *peer) map[string]any {
	d := s.roomData(rm, ss)
	d["peer_id"] = p.ID
	d["user_id"] = p.UserID
	d["user_name"] = p.Name
	d["user_data"] = p.Metadata
	d["role"] = p.Role
	d["joined_at"] = utc(p.JoinedAt)
	d["type"] = "regular"
	return d
}

// seconds rounds a duration up to whole seconds, the unit 100ms reports:
// a call that happened never lasts 0 seconds.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}
