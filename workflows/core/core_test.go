package core

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

const (
	caseID = "c0ffee00-0000-4000-8000-000000000001"
	agent  = "agent-7"
	bucket = "vkyc"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// driver applies inputs to one case at a moving clock and keeps every
// effect and status it went through.
type driver struct {
	t        *testing.T
	s        *State
	now      time.Time
	fx       []Effect
	statuses []kyc.Status
	events   int
}

func newDriver(t *testing.T, limits Limits) *driver {
	d := &driver{t: t, now: t0}
	if limits == (Limits{}) {
		limits = Limits{JoinTimeout: 30 * time.Minute, MaxCallLength: 30 * time.Minute, DecisionWindow: 15 * time.Minute,
			RecordingGrace: 10 * time.Minute, RecordingDeadline: time.Hour, AuditSLA: 24 * time.Hour, CaseTTL: 72 * time.Hour, MaxAttempts: 3}
	}
	d.s = New(caseID, "CUST-1", kyc.DefaultRequiredCaptures, true, limits, RecordingLocation{Bucket: bucket, Prefix: "rec"}, t0)
	d.apply(Open{By: Actor{"bank", kyc.RoleService}})
	return d
}

func (d *driver) apply(in Input) {
	d.t.Helper()
	fx := Apply(d.s, d.now, in)
	for _, e := range fx {
		if b, ok := e.(Bug); ok {
			d.t.Fatalf("%T: %s", in, b.What)
		}
	}
	d.fx = append(d.fx, fx...)
	for _, e := range d.s.Log.Unsaved[max(0, len(d.s.Log.Unsaved)-(int(d.s.Log.Version)-d.events)):] {
		if e.Type == EventStatusChanged {
			var data EventData
			if err := json.Unmarshal(e.Data, &data); err != nil {
				d.t.Fatal(err)
			}
			if !Allowed(data.From, data.To) {
				d.t.Fatalf("status %s → %s is not in the table", data.From, data.To)
			}
			d.statuses = append(d.statuses, data.To)
		}
	}
	d.events = int(d.s.Log.Version)
}

func (d *driver) at(dt time.Duration) *driver {
	d.now = t0.Add(dt)
	d.apply(Tick{})
	return d
}

func room(n int) string { return fmt.Sprintf("66a0c0ffee00000000000a%02d", n) }

func (d *driver) roomCreated() {
	d.apply(RoomCreated{Attempt: d.s.Attempt, RoomID: room(d.s.Attempt), Name: kyc.RoomName(caseID, d.s.Attempt)})
}

var seq int

func (d *driver) hook(typ string, f func(*HMSEvent)) {
	seq++
	ev := HMSEvent{ID: fmt.Sprintf("evt-%d", seq), Type: typ, RoomName: kyc.RoomName(caseID, d.s.Attempt),
		RoomID: room(d.s.Attempt), SessionID: fmt.Sprintf("sess-%d", d.s.Attempt), At: d.now}
	if f != nil {
		f(&ev)
	}
	d.apply(Webhook{ev})
}

func (d *driver) join(role string) {
	user := agent
	if role == "customer" {
		user = kyc.CustomerUserID(caseID)
	}
	d.hook(HMSPeerJoin, func(e *HMSEvent) { e.Role, e.UserID, e.PeerID = role, user, role+"-peer" })
}

func (d *driver) leave(role, reason string) {
	user := agent
	if role == "customer" {
		user = kyc.CustomerUserID(caseID)
	}
	d.hook(HMSPeerLeave, func(e *HMSEvent) { e.Role, e.UserID, e.PeerID, e.Reason = role, user, role+"-peer", reason })
}

func (d *driver) call() {
	d.apply(AssignAgent{AgentID: agent})
	d.roomCreated()
	d.join("agent")
	d.join("customer")
	for i, k := range kyc.DefaultRequiredCaptures {
		id := fmt.Sprintf("cap-%d-%d", d.s.Attempt, i)
		d.apply(AddCapture{CaptureID: id, Kind: k, Size: 10, SHA256: strings.Repeat("a", 64), ContentType: "image/jpeg",
			Attempt: d.s.Attempt, AgentID: agent, ObjectKey: fmt.Sprintf("cases/%s/attempt-%d/%s.jpg", caseID, d.s.Attempt, id)})
	}
}

func (d *driver) recording() {
	path := fmt.Sprintf("s3://%s/rec/beam/%s/x.mp4", bucket, room(d.s.Attempt))
	d.hook(HMSBeamRecording, func(e *HMSEvent) { e.RecordingPath, e.RecordingID = path, "rec-1" })
	d.apply(RecordingVerified{For: VerifyRecording{Attempt: d.s.Attempt, Path: path}, Check: RecordingCheck{Size: 9, SHA256: strings.Repeat("b", 64)}})
}

// TestScenarios runs whole cases through Apply alone: every status they
// pass through must be in the transition table, and they must end where
// the product says.
func TestScenarios(t *testing.T) {
	tests := []struct {
		name    string
		limits  Limits
		run     func(d *driver)
		final   kyc.Status
		reason  string
		through []kyc.Status
	}{
		{"approved", Limits{}, func(d *driver) {
			d.call()
			d.apply(Decide{AgentID: agent, Outcome: kyc.OutcomeApprove})
			d.recording()
			d.apply(AuditCase{AuditorID: "auditor-3", Outcome: kyc.OutcomeApprove})
		}, kyc.StatusApproved, "", []kyc.Status{kyc.StatusInCall, kyc.StatusAwaitingRecording, kyc.StatusAwaitingAudit}},
		{"rejected and audited", Limits{}, func(d *driver) {
			d.call()
			d.apply(Decide{AgentID: agent, Outcome: kyc.OutcomeReject, Reason: "photo does not match"})
			d.apply(AuditCase{AuditorID: "auditor-3", Outcome: kyc.OutcomeReject, Reason: "agreed"})
		}, kyc.StatusRejected, "agreed", []kyc.Status{kyc.StatusAwaitingAudit}},
		{"call dropped, then approved in attempt 2", Limits{}, func(d *driver) {
			d.call()
			d.leave("customer", "websocket closed")
			d.call()
			d.apply(Decide{AgentID: agent, Outcome: kyc.OutcomeApprove})
			d.recording()
			d.apply(AuditCase{AuditorID: "auditor-3", Outcome: kyc.OutcomeApprove})
		}, kyc.StatusApproved, "", []kyc.Status{kyc.StatusInCall, kyc.StatusWaitingForParticipants, kyc.StatusInCall}},
		{"calls ended without captures until no attempt is left", Limits{JoinTimeout: time.Hour, MaxCallLength: time.Hour,
			DecisionWindow: time.Hour, RecordingGrace: time.Hour, RecordingDeadline: 2 * time.Hour, AuditSLA: time.Hour, CaseTTL: 9 * time.Hour, MaxAttempts: 2},
			func(d *driver) {
				for range 2 {
					d.apply(AssignAgent{AgentID: agent})
					d.roomCreated()
					d.join("agent")
					d.join("customer")
					d.hook(HMSSessionClose, nil)
				}
			}, kyc.StatusFailed, ReasonMaxAttempts, nil},
		{"nobody joins", Limits{}, func(d *driver) {
			d.roomCreated()
			d.at(31 * time.Minute)
		}, kyc.StatusExpired, ReasonJoinTimeout, nil},
		{"decision window passes", Limits{}, func(d *driver) {
			d.call()
			d.hook(HMSSessionClose, nil)
			d.at(16 * time.Minute)
		}, kyc.StatusWaitingForParticipants, ReasonDecisionWindow, []kyc.Status{kyc.StatusAwaitingDecision}},
		{"recording never verified", Limits{}, func(d *driver) {
			d.call()
			d.apply(Decide{AgentID: agent, Outcome: kyc.OutcomeApprove})
			d.at(11 * time.Minute) // late: ask 100ms
			d.apply(RecordingPolled{Attempt: 1})
		}, kyc.StatusWaitingForParticipants, ReasonRecordingMissing, []kyc.Status{kyc.StatusAwaitingRecording}},
		{"room cannot be created", Limits{}, func(d *driver) {
			d.apply(RoomNotCreated{Attempt: 1, Error: "400"})
		}, kyc.StatusFailed, ReasonRoomCreationFailed, nil},
		{"operator cancels in Temporal", Limits{}, func(d *driver) {
			d.call()
			d.apply(CancelRequested{By: Actor{"ops@bank", kyc.RoleOperator}})
		}, kyc.StatusCancelled, ReasonOperatorCancel, nil},
		{"terminated from outside", Limits{}, func(d *driver) {
			d.call()
			d.apply(ClosedOutside{CloseOrder{RunID: "r1", CloseStatus: "TimedOut"}})
		}, kyc.StatusTerminated, "workflow_timed_out", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t, tc.limits)
			tc.run(d)
			if d.s.Status != tc.final || d.s.StatusReason != tc.reason {
				t.Fatalf("ended %s (%s), want %s (%s); went through %v", d.s.Status, d.s.StatusReason, tc.final, tc.reason, d.statuses)
			}
			if !containsInOrder(d.statuses, tc.through) {
				t.Fatalf("went through %v, want %v in order", d.statuses, tc.through)
			}
		})
	}
}

func containsInOrder(got, want []kyc.Status) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestEffects: each change asks for exactly the side effects it needs.
func TestEffects(t *testing.T) {
	d := newDriver(t, Limits{})
	if !slices.Contains(d.fx, Effect(CreateRoom{Attempt: 1})) || !slices.Contains(d.fx, Effect(Save{})) {
		t.Fatalf("opening asked for %v", d.fx)
	}
	d.call()
	d.fx = nil
	d.apply(Decide{AgentID: agent, Outcome: kyc.OutcomeApprove})
	if !slices.Contains(d.fx, Effect(CloseRoom{RoomOp{Attempt: 1, Reason: "agent_approve", End: true}})) {
		t.Fatalf("the decision asked for %v", d.fx)
	}
	if w, ok := d.s.NextRoomWork(); !ok || w != (CloseRoom{RoomOp{Attempt: 1, Reason: "agent_approve", End: true}}) {
		t.Fatalf("room work %v", w)
	}
	d.apply(RoomClosed{Op: d.s.RoomOps[0], RoomID: room(1)})
	if _, ok := d.s.NextRoomWork(); ok {
		t.Fatal("room work left after the close")
	}
	d.fx = nil
	path := fmt.Sprintf("s3://%s/rec/beam/%s/x.mp4", bucket, room(1))
	d.hook(HMSBeamRecording, func(e *HMSEvent) { e.RecordingPath = path })
	if !slices.Contains(d.fx, Effect(VerifyRecording{Attempt: 1, Path: path})) {
		t.Fatalf("the recording asked for %v", d.fx)
	}
}

// TestRequestsRefused: refusals say why, change nothing, and repeats are
// recognised.
func TestRequestsRefused(t *testing.T) {
	d := newDriver(t, Limits{})
	d.apply(AssignAgent{AgentID: agent})
	tests := []struct {
		in     Input
		kind   string
		msg    string
		repeat bool
	}{
		{AssignAgent{AgentID: agent}, "", "", true},
		{AssignAgent{AgentID: "agent-9"}, RefuseForbidden, "case is assigned to another agent", false},
		{Join{Role: "agent", UserID: agent}, "", "", true},
		{Join{Role: "agent", UserID: "agent-9"}, RefuseForbidden, "case is assigned to another agent", false},
		{Join{Role: "customer", UserID: kyc.CustomerUserID(caseID)}, "", "", true},
		{Join{Role: "customer", UserID: "customer-x"}, RefuseInvalidRequest, "the customer of case " + caseID + " joins as " + kyc.CustomerUserID(caseID), false},
		{Join{Role: "auditor", UserID: "a"}, RefuseInvalidRequest, `role must be "agent" or "customer"`, false},
		{Decide{AgentID: agent, Outcome: kyc.OutcomeApprove}, RefuseInvalidState, "case is waiting_for_participants; the agent's decision is taken during or right after the call", false},
		{Cancel{By: "bank", Reason: "dup\x00x"}, RefuseInvalidRequest, "reason contains a NUL character", false},
		{Cancel{By: "", Reason: "x"}, RefuseInvalidRequest, "by is required", false},
		{AuditCase{AuditorID: "a", Outcome: kyc.OutcomeApprove}, RefuseInvalidState, "case is waiting_for_participants; it is not awaiting audit", false},
	}
	before := d.s.Log.Version
	for _, tc := range tests {
		repeat, err := Check(d.s, d.now, tc.in)
		if repeat != tc.repeat || (err == nil) != (tc.kind == "") || (err != nil && (err.Kind != tc.kind || err.Msg != tc.msg)) {
			t.Errorf("%+v: repeat %v, %v; want %v, %s %q", tc.in, repeat, err, tc.repeat, tc.kind, tc.msg)
		}
		d.apply(tc.in)
	}
	if d.s.Log.Version != before {
		t.Fatalf("refused or repeated requests recorded %d events", d.s.Log.Version-before)
	}
}

// TestLogChain: the case computes the chain the store keeps; a rebase
// after a reset continues it from the stored head.
func TestLogChain(t *testing.T) {
	d := newDriver(t, Limits{})
	prev := chain.Genesis
	for _, e := range d.s.Log.Unsaved {
		want := chain.Next(prev, chain.Event{CaseID: caseID, Seq: e.Seq, Type: e.Type, ActorID: e.ActorID, ActorRole: string(e.ActorRole), At: e.At, Data: e.Data})
		if e.Hash != want {
			t.Fatalf("event %d hash %s, want %s", e.Seq, e.Hash, want)
		}
		prev = e.Hash
	}
	d.apply(Saved{Through: 1})
	if d.s.Log.Saved.Seq != 1 || len(d.s.Log.Unsaved) != int(d.s.Log.Version)-1 {
		t.Fatalf("after saving 1: %+v", d.s.Log)
	}
	stored := chain.Head{Seq: 9, Hash: strings.Repeat("c", 64)}
	d.apply(Forked{From: 2, Head: stored, RunIDs: []string{"old"}, By: Actor{"temporal", kyc.RoleOperator}})
	first := d.s.Log.Unsaved[0]
	if first.Type != EventLogRebased || first.Seq != 10 || d.s.Log.Unsaved[1].Seq != 11 {
		t.Fatalf("after the rebase: %+v", d.s.Log.Unsaved)
	}
}

// TestDiagramInReadme keeps the README's state diagram the table's.
func TestDiagramInReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "```mermaid\n"+Diagram()+"```") {
		t.Fatalf("README.md's state diagram is not the transition table's; replace it with:\n```mermaid\n%s```", Diagram())
	}
}
