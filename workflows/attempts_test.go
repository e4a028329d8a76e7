package workflows

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// finishApproved schedules, from d, the decision, the recording and the
// audit of an attempt whose call is complete.
func (h *harness) finishApproved(d time.Duration, attempt int) {
	h.approveAndRecord(d, "decide-"+itoa(attempt), attempt)
	h.update(d+2*time.Minute, UpdateAuditDecision, "audit-"+itoa(attempt), audit(kyc.OutcomeApprove, ""))
}

func itoa(n int) string { return string(rune('0' + n)) }

func (h *harness) assign() {
	h.update(time.Second, UpdateAssignAgent, "assign", AssignAgentRequest{AgentID: testAgent})
}

func TestCallDropStartsNewAttempt(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.signal(end, h.leave(1, "customer", "websocket closed"))
	h.snapshot(end+time.Second, "attempt 2")
	// The old attempt's capture and late events no longer count.
	h.update(end+time.Minute, UpdateAddCapture, "stale-cap", capture(1, kyc.CapturePAN))
	h.signal(end+time.Minute, h.sessionClose(1), h.recorded(1))
	end2 := h.callWithCaptures(end+2*time.Minute, 2)
	// Both are in the call of attempt 2 but its captures are not taken yet.
	h.update(end+2*time.Minute+90*time.Second, UpdateAgentDecision, "early-approve", approve(""))
	h.update(end2, UpdateAddCapture, "stale-cap-2", capture(1, kyc.CapturePAN))
	h.finishApproved(end2+time.Minute, 2)

	v := h.run(input())

	if v.Status != kyc.StatusApproved || v.Attempt != 2 || len(v.Attempts) != 2 {
		t.Fatalf("status %s attempt %d", v.Status, v.Attempt)
	}
	a1, a2 := v.Attempts[0], v.Attempts[1]
	if a1.Status != kyc.AttemptAborted || a1.EndReason != core.ReasonNetworkDrop || a1.EndedAt == nil {
		t.Fatalf("attempt 1: %+v", a1)
	}
	if a2.RoomName != kyc.RoomName(testCase, 2) || a2.RoomID != roomID(2) || a2.Status != kyc.AttemptCompleted {
		t.Fatalf("attempt 2: %+v", a2)
	}
	if got := h.roomsCreated(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("rooms created for attempts %v", got)
	}
	if !slices.Contains(h.disabled, roomID(1)) || h.ended[0].RoomID != roomID(1) || !h.ended[0].Lock {
		t.Fatalf("attempt 1 room not closed: ended %+v disabled %v", h.ended, h.disabled)
	}
	w := h.view("attempt 2")
	if w.Status != kyc.StatusWaitingForParticipants || w.StatusReason != core.ReasonNetworkDrop ||
		w.Participants.Customer.Joined || w.Participants.Agent.Joined || w.Participants.Agent.ID != testAgent {
		t.Fatalf("attempt 2 start: %s (%s) %+v", w.Status, w.StatusReason, w.Participants)
	}
	if w.Recording.Status != kyc.RecordingPending || w.Decision != nil {
		t.Fatalf("attempt 2 start: recording %s decision %v", w.Recording.Status, w.Decision)
	}
	h.mustReject("stale-cap", RejectInvalidState, "case is waiting_for_participants; captures are closed")
	h.mustReject("early-approve", RejectInvalidState, "required captures missing: face, id_front, id_back")
	h.mustReject("stale-cap-2", RejectInvalidState, "capture was made for attempt 1 but the case is on attempt 2")
	if len(h.verified) != 1 || h.verified[0].Attempt != 2 {
		t.Fatalf("verified %+v: the first attempt's recording must be ignored", h.verified)
	}
	h.mustHaveEvents(core.EventAttemptAborted, core.EventAttemptStarted, core.EventStatusChanged, core.EventRoomClosed, core.EventRoomCreated)
}

func TestMaxAttemptsFails(t *testing.T) {
	h := newHarness(t)
	h.assign()
	d := time.Minute
	for n := 1; n <= 3; n++ {
		h.signal(d, h.join(n, "customer"), h.join(n, "agent"))
		h.signal(d+time.Minute, h.leave(n, "agent", "ice connection state closed"))
		d += 2 * time.Minute
	}

	v := h.run(input())

	if v.Status != kyc.StatusFailed || v.StatusReason != core.ReasonMaxAttempts || len(v.Attempts) != 3 {
		t.Fatalf("status %s (%s), %d attempts", v.Status, v.StatusReason, len(v.Attempts))
	}
	for _, a := range v.Attempts {
		if a.Status != kyc.AttemptAborted || a.EndReason != core.ReasonNetworkDrop {
			t.Fatalf("attempt %+v", a)
		}
	}
	slices.Sort(h.disabled)
	if !slices.Equal(h.disabled, []string{roomID(1), roomID(2), roomID(3)}) {
		t.Fatalf("disabled %v", h.disabled)
	}
	if h.search["KycStatus"] != "failed" || h.search["KycAttempt"] != int64(3) {
		t.Fatalf("search %v", h.search)
	}
}

func TestMaxCallLengthAbortsAttempt(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.snapshot(31*time.Minute-time.Second, "before")
	h.snapshot(31*time.Minute+time.Second, "after")
	h.update(40*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	if b := h.view("before"); b.Status != kyc.StatusInCall {
		t.Fatalf("before the limit: %s", b.Status)
	}
	a := h.view("after")
	if a.Attempt != 2 || a.Attempts[0].EndReason != core.ReasonMaxCallLength || a.Status != kyc.StatusWaitingForParticipants {
		t.Fatalf("after the limit: attempt %d %+v", a.Attempt, a.Attempts[0])
	}
}

func TestDecisionWindowElapsed(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.signal(end, h.leave(1, "customer", "client request"), h.leave(1, "agent", "client request"), h.recorded(1))
	h.snapshot(end+15*time.Minute-time.Second, "before")
	h.snapshot(end+15*time.Minute+time.Second, "after")
	h.update(end+20*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	b := h.view("before")
	if b.Status != kyc.StatusAwaitingDecision || b.Recording.Status != kyc.RecordingVerified {
		t.Fatalf("before the window: %s, recording %s", b.Status, b.Recording.Status)
	}
	if a := h.view("after"); a.Attempt != 2 || a.Attempts[0].EndReason != core.ReasonDecisionWindow {
		t.Fatalf("after the window: attempt %d %+v", a.Attempt, a.Attempts[0])
	}
	if len(h.finds) != 0 {
		t.Fatalf("100ms was asked for a recording that had arrived: %+v", h.finds)
	}
}

func TestCallEndedWithoutCapturesAbortsAttempt(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.update(2*time.Minute, UpdateAddCapture, "face", capture(1, kyc.CaptureFace))
	h.signal(3*time.Minute, h.hms(1, core.HMSRoomEnd))
	h.snapshot(4*time.Minute, "after")
	h.update(5*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	if a := h.view("after"); a.Attempt != 2 || a.Attempts[0].EndReason != core.ReasonCallEndedIncomplete {
		t.Fatalf("after: attempt %d %+v", a.Attempt, a.Attempts[0])
	}
}

func TestRecordingFailureStartsNewAttempt(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.update(end, UpdateAgentDecision, "decide-1", approve(""))
	h.snapshot(end+time.Second, "decided")
	h.signal(end+time.Minute, h.beamFailure(1))
	h.snapshot(end+2*time.Minute, "after failure")
	end2 := h.callWithCaptures(end+3*time.Minute, 2)
	h.finishApproved(end2, 2)

	v := h.run(input())

	if d := h.view("decided"); d.Status != kyc.StatusAwaitingRecording {
		t.Fatalf("after the decision: %s", d.Status)
	}
	f := h.view("after failure")
	if f.Attempt != 2 || f.Decision != nil || f.Attempts[0].Status != kyc.AttemptAborted ||
		f.Attempts[0].EndReason != core.ReasonRecordingFailed {
		t.Fatalf("after the failure: attempt %d decision %v %+v", f.Attempt, f.Decision, f.Attempts[0])
	}
	if v.Status != kyc.StatusApproved || v.Attempt != 2 {
		t.Fatalf("final %s attempt %d", v.Status, v.Attempt)
	}
	h.mustHaveEvents("hms.beam.failure", core.EventRecordingFailed, core.EventAttemptAborted, core.EventAttemptStarted)
}

func TestLateRecordingFoundByPolling(t *testing.T) {
	h := newHarness(t)
	h.find = func(in activities.FindRecordingInput) (activities.FoundRecording, error) {
		return activities.FoundRecording{Found: true, ID: "rec-polled", Status: "completed",
			Path: h.recordedPath(1), Size: 9 << 20, Duration: 300}, nil
	}
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.update(end, UpdateAgentDecision, "decide", approve(""))
	h.signal(end+time.Minute, h.sessionClose(1))
	h.snapshot(end+10*time.Minute-time.Second, "before grace")
	h.snapshot(end+10*time.Minute+time.Second, "after grace")
	h.update(end+20*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	if b := h.view("before grace"); b.Status != kyc.StatusAwaitingRecording || len(b.Attempts) != 1 {
		t.Fatalf("before grace: %s", b.Status)
	}
	a := h.view("after grace")
	if a.Status != kyc.StatusAwaitingAudit || a.Recording.ID != "rec-polled" || a.Recording.Status != kyc.RecordingVerified {
		t.Fatalf("after grace: %s %+v", a.Status, a.Recording)
	}
	if len(h.finds) != 1 || h.finds[0].RoomID != roomID(1) || h.finds[0].SessionID != "sess-a1" {
		t.Fatalf("finds %+v", h.finds)
	}
	if v.Status != kyc.StatusApproved || v.Recording.Duration != 300 {
		t.Fatalf("final %s %+v", v.Status, v.Recording)
	}
	h.mustHaveEvents(core.EventRecordingLate, core.EventRecordingFound, core.EventRecordingChecked, core.EventStatusChanged)
}

func TestMissingRecordingStartsNewAttempt(t *testing.T) {
	h := newHarness(t) // FindRecording finds nothing
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.update(end, UpdateAgentDecision, "decide", approve(""))
	h.snapshot(end+11*time.Minute, "after grace")
	h.update(end+12*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	a := h.view("after grace")
	if a.Attempt != 2 || a.Attempts[0].EndReason != core.ReasonRecordingMissing || len(h.finds) != 1 {
		t.Fatalf("after grace: attempt %d %+v finds %d", a.Attempt, a.Attempts[0], len(h.finds))
	}
}

func TestUnverifiableRecordingStartsNewAttempt(t *testing.T) {
	h := newHarness(t)
	h.verify = func(activities.VerifyRecordingInput) (activities.RecordingCheck, error) {
		return activities.RecordingCheck{}, temporal.NewNonRetryableApplicationError("elsewhere", activities.ErrRecordingWrongBucket, nil)
	}
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.approveAndRecord(end, "decide", 1)
	h.snapshot(end+2*time.Minute, "after")
	h.update(end+3*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	a := h.view("after")
	if a.Attempt != 2 || a.Attempts[0].EndReason != core.ReasonRecordingInvalid {
		t.Fatalf("after: attempt %d %+v", a.Attempt, a.Attempts[0])
	}
	h.mustHaveRecordingFailed(activities.ErrRecordingWrongBucket)
}

func TestAuditRecaptureStartsNewAttempt(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.approveAndRecord(end, "decide-1", 1)
	h.update(end+time.Hour, UpdateAuditDecision, "recapture-no-reason", audit(kyc.OutcomeRecapture, ""))
	h.update(end+time.Hour+time.Second, UpdateAuditDecision, "recapture", audit(kyc.OutcomeRecapture, "face is blurred"))
	start2 := end + time.Hour + 5*time.Minute
	end2 := h.callWithCaptures(start2, 2)
	h.finishApproved(end2, 2)

	v := h.run(input())

	h.mustReject("recapture-no-reason", RejectInvalidRequest, "reason is required")
	r := h.mustAccept("recapture")
	if r.Status != kyc.StatusWaitingForParticipants || r.Attempt != 2 || r.Audit != nil || r.Decision != nil {
		t.Fatalf("recapture answered %s attempt %d", r.Status, r.Attempt)
	}
	if v.Status != kyc.StatusApproved || v.Attempts[0].EndReason != core.ReasonAuditRecapture {
		t.Fatalf("final %s, attempt 1 %+v", v.Status, v.Attempts[0])
	}
}

func TestRoomCreationFailureFailsCase(t *testing.T) {
	h := newHarness(t)
	h.createErr = temporal.NewNonRetryableApplicationError("template not found", activities.ErrHMSPermanent, nil)

	v := h.run(input())

	if v.Status != kyc.StatusFailed || v.StatusReason != core.ReasonRoomCreationFailed || len(h.disabled) != 0 {
		t.Fatalf("status %s (%s), disabled %v", v.Status, v.StatusReason, h.disabled)
	}
}

// TestRoomCallOutlastsItsLocalTries: 100ms fails every try the local
// activity makes within its 20 seconds; the call then goes on as a regular
// activity, whose later try succeeds, and the case runs on that room.
func TestRoomCallOutlastsItsLocalTries(t *testing.T) {
	h := newHarness(t)
	h.createFails = 12
	h.assign()
	end := h.callWithCaptures(5*time.Minute, 1)
	h.approveAndRecord(end, "decide", 1)
	h.update(end+2*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	if v.Status != kyc.StatusApproved || v.Attempts[0].RoomID != roomID(1) || len(h.created) != h.createFails+1 {
		t.Fatalf("final %s, attempt 1 %+v, %d CreateRoom calls", v.Status, v.Attempts[0], len(h.created))
	}
}

// A participant alone in the room opens sessions of their own; their
// recordings are not the call's and must never stand in for it.
func TestPreCallSessionRecordingIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.assign()
	inSession := func(ev HMSEvent, session string) HMSEvent { ev.SessionID = session; return ev }
	early := inSession(h.join(1, "customer"), "sess-alone")
	early.PeerID = "peer-customer-early"
	left := inSession(h.leave(1, "customer", "client request"), "sess-alone")
	left.PeerID = early.PeerID
	lonelyRecording := inSession(h.recorded(1), "sess-alone")
	lonelyRecording.RecordingPath = "s3://" + testBucket + "/beam/lonely.mp4"
	h.signal(time.Minute, early)
	h.signal(2*time.Minute, left, inSession(h.sessionClose(1), "sess-alone"), lonelyRecording,
		inSession(h.beamFailure(1), "sess-alone"))
	end := h.callWithCaptures(3*time.Minute, 1)
	h.approveAndRecord(end, "decide", 1)
	h.update(end+2*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	if d := h.mustAccept("decide"); d.Status != kyc.StatusAwaitingRecording {
		t.Fatalf("decision answered %s: the lonely recording was taken for the call's", d.Status)
	}
	if v.Status != kyc.StatusApproved || len(v.Attempts) != 1 || len(h.verified) != 1 || h.verified[0].Path != h.recordedPath(1) {
		t.Fatalf("final %s, %d attempts, verified %+v", v.Status, len(v.Attempts), h.verified)
	}
}

func TestRecordingFailedBeforeTheCallAbortsAtCallStart(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.signal(time.Minute, h.join(1, "customer"))
	h.signal(2*time.Minute, h.beamFailure(1))
	h.snapshot(150*time.Second, "still waiting")
	h.signal(3*time.Minute, h.join(1, "agent"))
	h.snapshot(4*time.Minute, "after")
	h.update(5*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	if w := h.view("still waiting"); w.Status != kyc.StatusWaitingForParticipants || w.Attempt != 1 {
		t.Fatalf("before the agent joined: %s attempt %d", w.Status, w.Attempt)
	}
	if a := h.view("after"); a.Attempt != 2 || a.Attempts[0].EndReason != core.ReasonRecordingFailed {
		t.Fatalf("after: attempt %d %+v", a.Attempt, a.Attempts[0])
	}
}
