package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// 100ms webhook event types the workflow acts on.
const (
	hmsSessionOpen   = "session.open.success"
	hmsSessionClose  = "session.close.success"
	hmsPeerJoin      = "peer.join.success"
	hmsPeerLeave     = "peer.leave.success"
	hmsPeerJoinFail  = "peer.join.failure"
	hmsRoomEnd       = "room.end.success"
	hmsBeamStarted   = "beam.started.success"
	hmsBeamStopped   = "beam.stopped.success"
	hmsBeamRecording = "beam.recording.success"
	hmsBeamFailure   = "beam.failure"
)

var hmsHandlers = map[string]func(*kycCase, workflow.Context, HMSEvent){
	hmsSessionOpen:   (*kycCase).onSessionOpen,
	hmsSessionClose:  (*kycCase).onSessionEnd,
	hmsRoomEnd:       (*kycCase).onSessionEnd,
	hmsPeerJoin:      (*kycCase).onPeerJoin,
	hmsPeerLeave:     (*kycCase).onPeerLeave,
	hmsPeerJoinFail:  func(*kycCase, workflow.Context, HMSEvent) {}, // logged only
	hmsBeamStarted:   (*kycCase).onBeamStarted,
	hmsBeamStopped:   func(*kycCase, workflow.Context, HMSEvent) {}, // logged only; the recording event follows
	hmsBeamRecording: (*kycCase).onBeamRecording,
	hmsBeamFailure:   (*kycCase).onBeamFailure,
}

// onHMSEvent applies a webhook event. 100ms delivers at least once and in no
// guaranteed order, so events of other rooms (older attempts) and repeated
// ids are dropped, and every handler tolerates its event coming early or
// late relative to the others.
func (c *kycCase) onHMSEvent(ctx workflow.Context, ev HMSEvent) {
	ev = ev.clean()
	if c.s.View.Status.Terminal() || !c.forCurrentRoom(ev) || c.s.seen(ev.ID) {
		return
	}
	c.s.markSeen(ev.ID)
	handle, known := hmsHandlers[ev.Type]
	if !known {
		return
	}
	c.record(ctx, hmsEventPrefix+ev.Type, hmsActor, eventData{
		Attempt: c.s.View.Attempt, EventID: ev.ID, RoomID: ev.RoomID, SessionID: ev.SessionID, PeerID: ev.PeerID,
		UserID: ev.UserID, Role: ev.Role, Reason: ev.Reason, ErrorType: ev.ErrorType, RecordingID: ev.RecordingID,
		Path: ev.RecordingPath, Size: ev.Size, Duration: ev.Duration,
	})
	handle(c, ctx, ev)
	c.afterChange(ctx)
}

func (c *kycCase) forCurrentRoom(ev HMSEvent) bool {
	a := c.s.attempt()
	if ev.RoomName != "" {
		return ev.RoomName == a.RoomName
	}
	return ev.RoomID != "" && ev.RoomID == a.RoomID
}

// callStarted reports whether both participants have been in the call.
func (c *kycCase) callStarted() bool { return c.s.Call.StartedAt != nil }

// ofCallSession reports whether ev belongs to the session that matters: the
// call's session once the call began, the latest session before.
func (c *kycCase) ofCallSession(ev HMSEvent) bool {
	want := c.s.Call.SessionID
	if c.callStarted() {
		want = c.s.Call.CallSessionID
	}
	return ev.SessionID == "" || want == "" || ev.SessionID == want
}

func (c *kycCase) onSessionOpen(_ workflow.Context, ev HMSEvent) {
	if c.callStarted() || ev.SessionID == "" {
		return
	}
	if ev.SessionID != c.s.Call.SessionID {
		c.s.Call.SessionID, c.s.Call.SessionClosed = ev.SessionID, false
	}
}

// onSessionEnd handles session.close and room.end: everyone has left.
func (c *kycCase) onSessionEnd(ctx workflow.Context, ev HMSEvent) {
	if !c.ofCallSession(ev) {
		return // a stale close of an earlier session of this room
	}
	c.s.Call.SessionClosed = true
	for i := range c.s.Call.Peers {
		c.s.Call.Peers[i].Left = true
	}
	c.updateLeftAt(ctx, ev)
	if c.s.View.Status == kyc.StatusInCall {
		c.callEnded(ctx, ev.Type, hmsActor)
	}
}

// participantOf returns the case participant ev's peer is, or nil. A peer
// counts only with the user id its join token carried: the assigned agent's
// id for the agent, kyc.CustomerUserID for the customer. The recorder bot,
// another agent holding a token of the room, or any peer of another role is
// never a participant.
func (c *kycCase) participantOf(ev HMSEvent) *kyc.Participant {
	v := &c.s.View
	switch {
	case ev.Role == string(kyc.RoleAgent) && v.AgentID != "" && ev.UserID == v.AgentID,
		ev.Role == string(kyc.RoleCustomer) && ev.UserID == kyc.CustomerUserID(v.ID):
		return c.s.participant(ev.Role)
	}
	return nil
}

func (c *kycCase) onPeerJoin(ctx workflow.Context, ev HMSEvent) {
	part := c.participantOf(ev)
	if part == nil {
		return
	}
	if !c.callStarted() && ev.SessionID != "" && ev.SessionID != c.s.Call.SessionID {
		c.s.Call.SessionID, c.s.Call.SessionClosed = ev.SessionID, false
	}
	p := c.s.peer(ev.PeerID)
	p.Role, p.Joined = ev.Role, true
	if p.SessionID == "" {
		p.SessionID = ev.SessionID
	}
	if !part.Joined {
		part.Joined, part.JoinedAt = true, timePtr(c.eventTime(ctx, ev))
	}
	if c.s.present(ev.Role) {
		part.LeftAt = nil
	}
	if c.s.View.Status == kyc.StatusWaitingForParticipants &&
		c.s.present(string(kyc.RoleAgent)) && c.s.present(string(kyc.RoleCustomer)) {
		c.startCall(ctx, hmsActor)
	}
}

// networkLeave reports whether a peer left because its connection broke.
func networkLeave(reason string) bool {
	return reason == "websocket closed" || reason == "ice connection state closed"
}

func (c *kycCase) onPeerLeave(ctx workflow.Context, ev HMSEvent) {
	if c.participantOf(ev) == nil {
		return
	}
	p := c.s.peer(ev.PeerID)
	wasPresent := p.Joined && !p.Left && c.ofCallSession(ev)
	p.Role, p.Left = ev.Role, true
	if p.SessionID == "" {
		p.SessionID = ev.SessionID
	}
	c.updateLeftAt(ctx, ev)
	if c.s.View.Status != kyc.StatusInCall || !wasPresent {
		// Before the call a participant may drop and come back; after it
		// the session no longer matters. A peer that was not in the call
		// (an old connection whose leave arrives late) changes nothing.
		return
	}
	switch {
	case networkLeave(ev.Reason):
		c.abortAttempt(ctx, ReasonNetworkDrop, hmsActor)
	case !c.s.anyonePresent():
		c.callEnded(ctx, "all_peers_left", hmsActor)
	}
}

// updateLeftAt stamps LeftAt on a participant of whom no peer is present.
func (c *kycCase) updateLeftAt(ctx workflow.Context, ev HMSEvent) {
	for _, role := range []string{string(kyc.RoleAgent), string(kyc.RoleCustomer)} {
		part := c.s.participant(role)
		if part.Joined && part.LeftAt == nil && !c.s.present(role) {
			part.LeftAt = timePtr(c.eventTime(ctx, ev))
		}
	}
}

func (c *kycCase) eventTime(ctx workflow.Context, ev HMSEvent) time.Time {
	if ev.At.IsZero() {
		return workflow.Now(ctx)
	}
	return ev.At
}

// Recording events count only for the call's session. Before the call a
// participant alone in the room may open sessions whose recordings are not
// the call's; only their failures are remembered, in case the call goes on
// in the same, already broken, session.

func (c *kycCase) onBeamStarted(_ workflow.Context, ev HMSEvent) {
	if !c.callStarted() {
		// Remembered per session: it counts only if the call happens in
		// the session the recording started in (see startCall).
		c.s.Call.RecordingSessions = addSession(c.s.Call.RecordingSessions, ev.SessionID)
		return
	}
	if c.ofCallSession(ev) && c.s.View.Recording.Status == kyc.RecordingPending {
		c.s.View.Recording.Status = kyc.RecordingStarted
	}
}

// addSession adds id to a bounded list of session ids, once.
func addSession(ids []string, id string) []string {
	if id == "" || slices.Contains(ids, id) || len(ids) >= maxFailedSessions {
		return ids
	}
	return append(ids, id)
}

// onBeamRecording takes the first recording of the call's session; the
// recording worker then verifies it in our bucket. A path outside the
// recordings of the attempt's room (another case's recording, a capture)
// is never taken, whoever announced it.
func (c *kycCase) onBeamRecording(ctx workflow.Context, ev HMSEvent) {
	r := &c.s.View.Recording
	if !c.callStarted() || !c.ofCallSession(ev) || (r.Status != kyc.RecordingPending && r.Status != kyc.RecordingStarted) {
		return
	}
	if !c.in.Recordings.ofRoom(ev.RecordingPath, c.s.attempt().RoomID) {
		c.logger.Warn("recording announced outside the room's recordings ignored", "event_id", ev.ID, "attempt", c.s.View.Attempt)
		c.record(ctx, EventRecordingIgnored, systemActor, eventData{
			Attempt: c.s.View.Attempt, EventID: ev.ID, Path: ev.RecordingPath, Reason: ReasonRecordingElsewhere,
		})
		return
	}
	*r = kyc.Recording{
		Status: kyc.RecordingReported, ID: ev.RecordingID, Path: ev.RecordingPath, Size: ev.Size, Duration: ev.Duration,
	}
}

func (c *kycCase) onBeamFailure(ctx workflow.Context, ev HMSEvent) {
	if !c.callStarted() {
		c.s.Call.FailedSessions = addSession(c.s.Call.FailedSessions, ev.SessionID)
		return
	}
	r := &c.s.View.Recording
	if !c.ofCallSession(ev) || r.Status == kyc.RecordingVerified || r.Status == kyc.RecordingFailed {
		return
	}
	c.recordingFailed(ctx, ReasonRecordingFailed, ev.ErrorType, hmsActor)
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
