package core

import (
	"slices"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// webhook applies a 100ms event. 100ms delivers at least once and in no
// guaranteed order, so events of other rooms (older attempts) and repeated
// ids are dropped, and every handler tolerates its event coming early or
// late relative to the others.
func (t *step) webhook(ev HMSEvent) {
	s := t.s
	ev = ev.clean()
	if s.Status.Terminal() || !t.forCurrentRoom(ev) || s.seen(ev.ID) {
		return
	}
	s.markSeen(ev.ID)
	handle, known := webhookHandlers[ev.Type]
	if !known {
		return
	}
	t.record(HMSEventPrefix+ev.Type, HMS, EventData{
		Attempt: s.Attempt, EventID: ev.ID, RoomID: ev.RoomID, SessionID: ev.SessionID, PeerID: ev.PeerID,
		UserID: ev.UserID, Role: ev.Role, Reason: ev.Reason, ErrorType: ev.ErrorType, RecordingID: ev.RecordingID,
		Path: ev.RecordingPath, Size: ev.Size, Duration: ev.Duration,
	})
	handle(t, ev)
}

var webhookHandlers = map[string]func(*step, HMSEvent){
	HMSSessionOpen:   (*step).onSessionOpen,
	HMSSessionClose:  (*step).onSessionEnd,
	HMSRoomEnd:       (*step).onSessionEnd,
	HMSPeerJoin:      (*step).onPeerJoin,
	HMSPeerLeave:     (*step).onPeerLeave,
	HMSPeerJoinFail:  func(*step, HMSEvent) {}, // logged only
	HMSBeamStarted:   (*step).onBeamStarted,
	HMSBeamStopped:   func(*step, HMSEvent) {}, // logged only; the recording event follows
	HMSBeamRecording: (*step).onBeamRecording,
	HMSBeamFailure:   (*step).onBeamFailure,
}

// maxEventText bounds each text field of a webhook event in the log.
const maxEventText = 512

// clean makes the event's text storable: the webhook intake refuses text
// PostgreSQL cannot hold, but a signal can also come from an operator's
// hand in the Web UI, and one unsavable event must never wedge the case.
func (ev HMSEvent) clean() HMSEvent {
	for _, f := range []*string{&ev.ID, &ev.Type, &ev.RoomID, &ev.RoomName, &ev.SessionID, &ev.PeerID, &ev.UserID,
		&ev.Role, &ev.Reason, &ev.ErrorType, &ev.RecordingID, &ev.RecordingPath} {
		*f = kyc.CleanText(*f, maxEventText)
	}
	return ev
}

func (t *step) forCurrentRoom(ev HMSEvent) bool {
	a := t.s.CurrentAttempt()
	if ev.RoomName != "" {
		return ev.RoomName == a.RoomName
	}
	return ev.RoomID != "" && ev.RoomID == a.RoomID
}

// ofCallSession reports whether ev belongs to the session that matters: the
// call's session once the call began, the latest session before.
func (t *step) ofCallSession(ev HMSEvent) bool {
	want := t.s.Call.SessionID
	if t.s.callStarted() {
		want = t.s.Call.CallSessionID
	}
	return ev.SessionID == "" || want == "" || ev.SessionID == want
}

func (t *step) onSessionOpen(ev HMSEvent) {
	c := &t.s.Call
	if t.s.callStarted() || ev.SessionID == "" {
		return
	}
	if ev.SessionID != c.SessionID {
		c.SessionID, c.SessionClosed = ev.SessionID, false
	}
}

// onSessionEnd handles session.close and room.end: everyone has left.
func (t *step) onSessionEnd(ev HMSEvent) {
	s := t.s
	if !t.ofCallSession(ev) {
		return // a stale close of an earlier session of this room
	}
	s.Call.SessionClosed = true
	for i := range s.Call.Peers {
		s.Call.Peers[i].Left = true
	}
	t.updateLeftAt(ev)
	if s.Status == kyc.StatusInCall {
		t.callEnded(ev.Type, HMS)
	}
}

// participantOf returns the case participant ev's peer is, or nil. A peer
// counts only with the user id its join token carried: the assigned agent's
// id for the agent, kyc.CustomerUserID for the customer. The recorder bot,
// another agent holding a token of the room, or any peer of another role is
// never a participant.
func (t *step) participantOf(ev HMSEvent) *kyc.Participant {
	s := t.s
	switch {
	case ev.Role == string(kyc.RoleAgent) && s.AgentID != "" && ev.UserID == s.AgentID,
		ev.Role == string(kyc.RoleCustomer) && ev.UserID == kyc.CustomerUserID(s.CaseID):
		return s.participant(ev.Role)
	}
	return nil
}

func (t *step) onPeerJoin(ev HMSEvent) {
	s := t.s
	part := t.participantOf(ev)
	if part == nil {
		return
	}
	if !s.callStarted() && ev.SessionID != "" && ev.SessionID != s.Call.SessionID {
		s.Call.SessionID, s.Call.SessionClosed = ev.SessionID, false
	}
	p := s.peer(ev.PeerID)
	p.Role, p.Joined = ev.Role, true
	if p.SessionID == "" {
		p.SessionID = ev.SessionID
	}
	if !part.Joined {
		part.Joined, part.JoinedAt = true, timePtr(t.eventTime(ev))
	}
	if s.present(ev.Role) {
		part.LeftAt = nil
	}
	if s.Status == kyc.StatusWaitingForParticipants &&
		s.present(string(kyc.RoleAgent)) && s.present(string(kyc.RoleCustomer)) {
		t.startCall(HMS)
	}
}

// NetworkLeave reports whether a peer left because its connection broke.
func NetworkLeave(reason string) bool {
	return reason == "websocket closed" || reason == "ice connection state closed"
}

func (t *step) onPeerLeave(ev HMSEvent) {
	s := t.s
	if t.participantOf(ev) == nil {
		return
	}
	p := s.peer(ev.PeerID)
	wasPresent := p.Joined && !p.Left && t.ofCallSession(ev)
	p.Role, p.Left = ev.Role, true
	if p.SessionID == "" {
		p.SessionID = ev.SessionID
	}
	t.updateLeftAt(ev)
	if s.Status != kyc.StatusInCall || !wasPresent {
		// Before the call a participant may drop and come back; after it
		// the session no longer matters. A peer that was not in the call
		// (an old connection whose leave arrives late) changes nothing.
		return
	}
	switch {
	case NetworkLeave(ev.Reason):
		t.abortAttempt(ReasonNetworkDrop, HMS)
	case !s.anyonePresent():
		t.callEnded("all_peers_left", HMS)
	}
}

// updateLeftAt stamps LeftAt on a participant of whom no peer is present.
func (t *step) updateLeftAt(ev HMSEvent) {
	for _, role := range []string{string(kyc.RoleAgent), string(kyc.RoleCustomer)} {
		part := t.s.participant(role)
		if part.Joined && part.LeftAt == nil && !t.s.present(role) {
			part.LeftAt = timePtr(t.eventTime(ev))
		}
	}
}

func (t *step) eventTime(ev HMSEvent) time.Time {
	if ev.At.IsZero() {
		return t.now
	}
	return ev.At
}

// Recording events count only for the call's session. Before the call a
// participant alone in the room may open sessions whose recordings are not
// the call's; only their failures are remembered, in case the call goes on
// in the same, already broken, session.

func (t *step) onBeamStarted(ev HMSEvent) {
	s := t.s
	if !s.callStarted() {
		// It counts only if the call happens in this session (startCall).
		s.Call.RecordingSessions = addSession(s.Call.RecordingSessions, ev.SessionID)
		return
	}
	if t.ofCallSession(ev) && s.Recording.Status == kyc.RecordingPending {
		s.Recording.Status = kyc.RecordingStarted
	}
}

// addSession adds id to a bounded list of session ids, once.
func addSession(ids []string, id string) []string {
	if id == "" || slices.Contains(ids, id) || len(ids) >= maxSessions {
		return ids
	}
	return append(ids, id)
}

// onBeamRecording takes the first recording of the call's session, which
// is then verified in our bucket. A path outside the recordings of the
// attempt's room (another case's recording, a capture) is never taken,
// whoever announced it.
func (t *step) onBeamRecording(ev HMSEvent) {
	s := t.s
	if !s.callStarted() || !t.ofCallSession(ev) || !s.recordingPending() {
		return
	}
	if !s.Recordings.OfRoom(ev.RecordingPath, s.CurrentAttempt().RoomID) {
		t.record(EventRecordingIgnored, System, EventData{
			Attempt: s.Attempt, EventID: ev.ID, Path: ev.RecordingPath, Reason: ReasonRecordingElsewhere,
		})
		return
	}
	s.Recording = kyc.Recording{
		Status: kyc.RecordingReported, ID: ev.RecordingID, Path: ev.RecordingPath, Size: ev.Size, Duration: ev.Duration,
	}
	t.add(VerifyRecording{Attempt: s.Attempt, Path: ev.RecordingPath})
}

func (t *step) onBeamFailure(ev HMSEvent) {
	s := t.s
	if !s.callStarted() {
		s.Call.FailedSessions = addSession(s.Call.FailedSessions, ev.SessionID)
		return
	}
	r := &s.Recording
	if !t.ofCallSession(ev) || r.Status == kyc.RecordingVerified || r.Status == kyc.RecordingFailed {
		return
	}
	t.recordingFailed(ReasonRecordingFailed, ev.ErrorType, HMS)
}
