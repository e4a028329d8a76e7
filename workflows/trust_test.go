package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// Webhooks are trusted no further than they must be: a peer counts as a
// participant only with its token's user id, and a recording counts only
// from the attempt's room under the configured location.

func TestOnlyTokenHoldersAreParticipants(t *testing.T) {
	h := newHarness(t)
	h.assign()
	impostor := func(role, userID string) HMSEvent {
		ev := h.join(1, role)
		ev.PeerID, ev.UserID = "peer-"+userID, userID
		return ev
	}
	h.signal(time.Minute,
		impostor("agent", "agent-9"),                  // another agent with a token of the room
		impostor("customer", "customer-someone-else"), // a customer token of another case
		impostor("__internal_recorder", "beam-bot-1")) // 100ms's recorder
	h.snapshot(2*time.Minute, "impostors")
	h.signal(3*time.Minute, h.join(1, "customer"), h.join(1, "agent"))
	h.snapshot(4*time.Minute, "call")
	// The other agent's connection drops: not our call's participant.
	drop := impostor("agent", "agent-9")
	drop.Type, drop.Reason = core.HMSPeerLeave, "websocket closed"
	h.signal(5*time.Minute, drop)
	h.snapshot(6*time.Minute, "after impostor drop")
	h.update(7*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	if v := h.view("impostors"); v.Status != kyc.StatusWaitingForParticipants || v.Participants.Agent.Joined || v.Participants.Customer.Joined {
		t.Fatalf("impostors made the call: %s %+v", v.Status, v.Participants)
	}
	if v := h.view("call"); v.Status != kyc.StatusInCall {
		t.Fatalf("the real participants did not start the call: %s", v.Status)
	}
	if v := h.view("after impostor drop"); v.Status != kyc.StatusInCall || v.Attempt != 1 {
		t.Fatalf("an impostor's drop changed the call: %s attempt %d", v.Status, v.Attempt)
	}
}

func TestRecordingOutsideTheRoomIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.assign()
	end := h.callWithCaptures(time.Minute, 1)
	h.update(end, UpdateAgentDecision, "decide", approve(""))
	forged := []string{
		fmt.Sprintf("s3://%s/recordings/beam/%s/20260302/Rec.mp4", testBucket, "66a0c0ffee00000000000b99"), // another room
		fmt.Sprintf("s3://%s/cases/%s/attempt-1/face-cap.jpg", testBucket, testCase),                       // a capture
		fmt.Sprintf("s3://other-bucket/recordings/beam/%s/Rec.mp4", roomID(1)),                             // another bucket
		fmt.Sprintf("s3://%s/elsewhere/beam/%s/Rec.mp4", testBucket, roomID(1)),                            // another prefix
		fmt.Sprintf("s3://%s/recordings/beam/%s/../../x.mp4", testBucket, roomID(1)),                       // a way out
	}
	for i, path := range forged {
		ev := h.recorded(1)
		ev.RecordingPath = path
		h.signal(end+time.Duration(i+1)*time.Second, ev)
	}
	h.snapshot(end+time.Minute, "forged")
	h.signal(end+2*time.Minute, h.recorded(1))
	h.snapshot(end+3*time.Minute, "genuine")
	h.update(end+4*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

	h.run(input())

	if v := h.view("forged"); v.Status != kyc.StatusAwaitingRecording || v.Recording.Status != kyc.RecordingPending {
		t.Fatalf("after forged recordings: %s, recording %+v", v.Status, v.Recording)
	}
	if n := h.count(core.EventRecordingIgnored); n != len(forged) {
		t.Fatalf("%d recording_ignored events, want %d", n, len(forged))
	}
	if v := h.view("genuine"); v.Status != kyc.StatusAwaitingAudit || v.Recording.Path != h.recordedPath(1) {
		t.Fatalf("after the genuine recording: %s, recording %+v", v.Status, v.Recording)
	}
	if len(h.verified) != 1 {
		t.Fatalf("verified %d recordings, want only the genuine one", len(h.verified))
	}
}

// TestRecordingWaitIsBounded: a recording our storage cannot serve (down, or
// refusing access) ends the attempt instead of holding the case forever.
func TestRecordingWaitIsBounded(t *testing.T) {
	tests := []struct {
		name       string
		verifyErr  error
		wantReason string
		wantAfter  time.Duration // from the decision
	}{
		// The unit-test environment gives up retrying after 10 tries (about
		// 5 minutes here), so the case's bound is set below that.
		{"storage down", temporal.NewApplicationError("connection refused", activities.ErrStorageTransient), core.ReasonRecordingUnverified, 3 * time.Minute},
		{"access denied", temporal.NewNonRetryableApplicationError("AccessDenied", activities.ErrRecordingAccessDenied, nil), core.ReasonRecordingInvalid, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.verify = func(activities.VerifyRecordingInput) (activities.RecordingCheck, error) {
				return activities.RecordingCheck{}, tc.verifyErr
			}
			h.assign()
			end := h.callWithCaptures(time.Minute, 1)
			h.approveAndRecord(end, "decide", 1)
			h.snapshot(end+tc.wantAfter-time.Second, "before")
			h.snapshot(end+tc.wantAfter+time.Second, "after")
			h.update(end+tc.wantAfter+time.Minute, UpdateCancel, "cancel", CancelRequest{By: "ops", Role: "admin", Reason: "test over"})

			in := input()
			in.Timeouts.RecordingGrace, in.Timeouts.RecordingDeadline = 2*time.Minute, 3*time.Minute
			h.run(in)

			if b := h.view("before"); b.Attempt != 1 || b.Status != kyc.StatusAwaitingRecording {
				t.Fatalf("before the bound: attempt %d %s", b.Attempt, b.Status)
			}
			a := h.view("after")
			if a.Attempt != 2 || a.Attempts[0].EndReason != tc.wantReason {
				t.Fatalf("after the bound: attempt %d %+v", a.Attempt, a.Attempts[0])
			}
			var app *temporal.ApplicationError
			if errors.As(tc.verifyErr, &app) && !app.NonRetryable() {
				return
			}
			h.mustHaveRecordingFailed(activities.ErrRecordingAccessDenied)
		})
	}
}

// TestOperatorSignalsCannotBreakACase: the Web UI's Signal button sends
// whatever an operator types. A payload that is not an event, an event of
// no room of the case, or a signal the case does not know change nothing,
// and the case goes on to its end.
func TestOperatorSignalsCannotBreakACase(t *testing.T) {
	h := newHarness(t)
	h.assign()
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(SignalHMSEvent, "a line typed in the Web UI")
		h.env.SignalWorkflow(SignalHMSEvent, map[string]any{"id": 42, "type": []int{1}})
		h.env.SignalWorkflow(SignalHMSEvent, HMSEvent{})
		h.env.SignalWorkflow(SignalHMSEvent, HMSEvent{ID: "x", Type: core.HMSPeerJoin, RoomName: "kyc-another-case-a1", Role: "agent", UserID: testAgent})
		h.env.SignalWorkflow("approve-please", map[string]string{"outcome": "approve"})
		h.env.SignalWorkflow(SignalHMSEvents, "a line typed in the Web UI")
		h.env.SignalWorkflow(SignalHMSEvents, HMSEvent{ID: "y", Type: core.HMSPeerJoin, Role: "agent", UserID: testAgent})
		h.env.SignalWorkflow(SignalHMSEvents, []any{42, "x", HMSEvent{}})
		// Text PostgreSQL refuses, in an event of the case's own room.
		odd := h.hms(1, core.HMSPeerLeave)
		odd.ID, odd.Role, odd.UserID, odd.Reason = "evt-nul", "agent", "agent\x00-9", "client request\x00\xff"
		h.env.SignalWorkflow(SignalHMSEvent, odd)
	})
	h.snapshot(2*time.Minute, "after signals")
	end := h.callWithCaptures(3*time.Minute, 1)
	h.approveAndRecord(end, "decide", 1)
	h.update(end+2*time.Minute, UpdateAuditDecision, "audit", audit(kyc.OutcomeApprove, ""))

	v := h.run(input())

	if a := h.view("after signals"); a.Status != kyc.StatusWaitingForParticipants || a.Participants.Agent.Joined {
		t.Fatalf("after the operator's signals: %s %+v", a.Status, a.Participants)
	}
	if v.Status != kyc.StatusApproved {
		t.Fatalf("final %s", v.Status)
	}
	for _, e := range h.events() {
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		for k, val := range d {
			if text, ok := val.(string); ok && kyc.CheckReason(text) != nil {
				t.Fatalf("event %d (%s) field %s %v: %q", e.Seq, e.Type, k, kyc.CheckReason(text), text)
			}
		}
	}
}
