package workflows

import (
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// TestRecordingStartedBeforeSecondJoin: 100ms starts the room-composite
// recording about 2 s after the first join, usually before the customer is
// in. That start must count once the call begins in the same session, and a
// start in another session must not.
func TestRecordingStartedBeforeSecondJoin(t *testing.T) {
	cases := []struct {
		name    string
		session string
		want    string
	}{
		{"same session", "sess-a1", kyc.RecordingStarted},
		{"earlier lone session", "sess-other", kyc.RecordingPending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.update(time.Minute, UpdateAssignAgent, "assign", AssignAgentRequest{AgentID: testAgent})
			started := h.hms(1, core.HMSBeamStarted)
			started.SessionID = c.session
			h.signal(2*time.Minute, h.join(1, "agent"))
			h.signal(2*time.Minute+2*time.Second, started)
			h.signal(3*time.Minute, h.join(1, "customer"))
			h.snapshot(4*time.Minute, "in call")
			h.update(5*time.Minute, UpdateCancel, "cancel", CancelRequest{By: "svc", Role: string(kyc.RoleService), Reason: "test over"})

			h.run(input())

			v := h.view("in call")
			if v.Status != kyc.StatusInCall || v.Recording.Status != c.want {
				t.Fatalf("status %s recording %s, want in_call and %s", v.Status, v.Recording.Status, c.want)
			}
		})
	}
}
