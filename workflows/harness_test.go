package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

const (
	testCase    = "0f8e2b8a-5c1d-4d53-9a55-3c1f0e6d7a21"
	testAgent   = "agent-7"
	testAuditor = "auditor-3"
	testBucket  = "vkyc-recordings"
)

// harness runs one case workflow in the SDK's test environment with the
// activities mocked (env.OnActivity), and records what the workflow asked of
// them, the search attributes it upserted and the answers to its updates.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	created  []activities.CreateRoomInput
	ended    []activities.EndRoomInput
	disabled []string
	verified []activities.VerifyRecordingInput
	finds    []activities.FindRecordingInput
	saves    []activities.SaveCaseInput
	search   map[string]any
	updates  map[string]updateOutcome
	queries  map[string]kyc.CaseView
	details  map[string]string
	eventSeq int

	createErr   error
	createFails int                  // the first this many CreateRoom calls fail as 100ms outages do
	saveErr     func(call int) error // nil: every save succeeds
	saveCalls   int
	verify      func(activities.VerifyRecordingInput) (activities.RecordingCheck, error)
	find        func(activities.FindRecordingInput) (activities.FoundRecording, error)
	// fork answers ResolveFork; by default the log is not a reset's.
	fork func(activities.ResolveForkInput) activities.ForkResolution
}

type updateOutcome struct {
	accepted bool
	rejected error
	view     kyc.CaseView
	err      error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	h := &harness{t: t, env: env, search: map[string]any{}, updates: map[string]updateOutcome{}, queries: map[string]kyc.CaseView{}, details: map[string]string{}}
	h.verify = func(in activities.VerifyRecordingInput) (activities.RecordingCheck, error) {
		return activities.RecordingCheck{Bucket: testBucket, Key: "rec.mp4", Size: 7 << 20, SHA256: sha(9), ETag: "etag"}, nil
	}
	h.fork = func(activities.ResolveForkInput) activities.ForkResolution {
		return activities.ForkResolution{Problem: "not a reset"}
	}
	h.find = func(activities.FindRecordingInput) (activities.FoundRecording, error) {
		return activities.FoundRecording{}, nil
	}
	env.RegisterWorkflowWithOptions(KYCCase, workflow.RegisterOptions{Name: WorkflowName})
	env.RegisterActivity(&activities.Activities{})
	h.mockActivities()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		h.mu.Lock()
		defer h.mu.Unlock()
		for k, v := range sa.GetUntypedValues() {
			h.search[k.GetName()] = v
		}
	}).Return()
	return h
}

func (h *harness) mockActivities() {
	h.env.OnActivity(acts.CreateRoom, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateRoomInput) (activities.RoomInfo, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.created = append(h.created, in)
			if h.createErr != nil {
				return activities.RoomInfo{}, h.createErr
			}
			if len(h.created) <= h.createFails {
				return activities.RoomInfo{}, temporal.NewApplicationError("100ms answered 503", activities.ErrHMSTransient)
			}
			return activities.RoomInfo{ID: roomID(in.Attempt), Name: kyc.RoomName(in.CaseID, in.Attempt)}, nil
		})
	h.env.OnActivity(acts.CloseRoom, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloseRoomInput) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			if in.End {
				h.ended = append(h.ended, activities.EndRoomInput{RoomID: in.RoomID, Reason: in.Reason, Lock: true})
			}
			h.disabled = append(h.disabled, in.RoomID)
			return nil
		})
	h.env.OnActivity(acts.VerifyRecording, mock.Anything, mock.Anything).Return(recordCall(h, &h.verified, &h.verify))
	h.env.OnActivity(acts.FindRecording, mock.Anything, mock.Anything).Return(recordCall(h, &h.finds, &h.find))
	h.env.OnActivity(acts.CancelRequest, mock.Anything).Return(
		func(context.Context) (activities.CancelRequestInfo, error) {
			return activities.CancelRequestInfo{Identity: "ops-7@bank (temporal-ui)", Reason: "opened twice by mistake"}, nil
		})
	h.env.OnActivity(acts.ResolveFork, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveForkInput) (activities.ForkResolution, error) {
			return h.fork(in), nil
		})
	h.env.OnActivity(acts.SaveCase, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SaveCaseInput) (activities.SaveCaseResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.saveCalls++
			if h.saveErr != nil {
				if err := h.saveErr(h.saveCalls); err != nil {
					return activities.SaveCaseResult{}, err
				}
			}
			h.saves = append(h.saves, in)
			return activities.SaveCaseResult{}, nil
		})
}

// recordCall mocks an activity that keeps its input in calls and answers
// with answer as it is at the call, so that a test may set it after
// newHarness.
func recordCall[In, Out any](h *harness, calls *[]In, answer *func(In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(_ context.Context, in In) (Out, error) {
		h.mu.Lock()
		*calls = append(*calls, in)
		h.mu.Unlock()
		return (*answer)(in)
	}
}

func roomID(attempt int) string { return fmt.Sprintf("66a0c0ffee00000000000a%02d", attempt) }

func sha(n int) string {
	s := strconv.Itoa(n)
	out := ""
	for len(out) < 64 {
		out += s
	}
	return out[:64]
}

func input() CaseInput {
	return CaseInput{
		CaseID:          testCase,
		CustomerRef:     "CUST-0042",
		AuditRejections: true,
		CreatedBy:       "svc-onboarding",
		CreatedAt:       time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Recordings:      RecordingLocation{Bucket: testBucket, Prefix: "recordings"},
		Revision:        Revision,
	}
}

// at runs fn when the workflow clock reaches start+d.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// signal delivers events at start+d as the inbox dispatcher does: one
// hms-events signal.
func (h *harness) signal(d time.Duration, events ...HMSEvent) {
	h.at(d, func() { h.env.SignalWorkflow(SignalHMSEvents, events) })
}

// update sends an update with the given id at start+d and keeps its outcome.
func (h *harness) update(d time.Duration, name, id string, arg any) {
	h.at(d, func() { h.sendUpdate(name, id, arg) })
}

func (h *harness) sendUpdate(name, id string, arg any) {
	h.env.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
		OnAccept: func() { h.setOutcome(id, func(o *updateOutcome) { o.accepted = true }) },
		OnReject: func(err error) { h.setOutcome(id, func(o *updateOutcome) { o.rejected = err }) },
		OnComplete: func(result any, err error) {
			v := h.viewAfter(result, err)
			h.setOutcome(id, func(o *updateOutcome) { o.view, o.err = v, err })
		},
	}, arg)
}

func (h *harness) setOutcome(id string, f func(*updateOutcome)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.updates[id]
	f(&o)
	h.updates[id] = o
}

// viewAfter is the case as the API answers an update with it: the view
// once the answer came, which shows the answer's version.
func (h *harness) viewAfter(result any, err error) kyc.CaseView {
	if err != nil {
		return kyc.CaseView{}
	}
	var a Answer
	switch r := result.(type) {
	case Answer:
		a = r
	case converter.EncodedValue:
		if err := r.Get(&a); err != nil {
			h.t.Errorf("decode update answer: %v", err)
		}
	default:
		h.t.Errorf("update answer of type %T", result)
	}
	enc, qerr := h.env.QueryWorkflow(QueryCase)
	if qerr != nil {
		h.t.Errorf("query the case after an update: %v", qerr)
		return kyc.CaseView{}
	}
	var v kyc.CaseView
	if err := enc.Get(&v); err != nil {
		h.t.Errorf("decode the case after an update: %v", err)
	}
	if v.Version < a.Version {
		h.t.Errorf("the case after an update is at version %d, the answer at %d", v.Version, a.Version)
	}
	return v
}

// snapshot queries the case at start+d under a label.
func (h *harness) snapshot(d time.Duration, label string) {
	queryAt(h, d, QueryCase, label, func(v kyc.CaseView) { h.queries[label] = v })
}

// currentDetails reads, at start+d, the markdown the Web UI shows.
func (h *harness) currentDetails(d time.Duration, label string) {
	queryAt(h, d, "__temporal_workflow_metadata", label, func(md *sdkpb.WorkflowMetadata) {
		h.details[label] = md.GetCurrentDetails()
	})
}

// queryAt runs query at start+d and hands its answer to keep, under the
// harness's lock.
func queryAt[T any](h *harness, d time.Duration, query, label string, keep func(T)) {
	h.at(d, func() {
		enc, err := h.env.QueryWorkflow(query)
		if err != nil {
			h.t.Errorf("query %s (%s): %v", query, label, err)
			return
		}
		var v T
		if err := enc.Get(&v); err != nil {
			h.t.Errorf("decode query %s (%s): %v", query, label, err)
		}
		h.mu.Lock()
		keep(v)
		h.mu.Unlock()
	})
}

func (h *harness) view(label string) kyc.CaseView {
	h.t.Helper()
	v, ok := h.queries[label]
	if !ok {
		h.t.Fatalf("no snapshot %q", label)
	}
	return v
}

func (h *harness) outcome(id string) updateOutcome {
	h.t.Helper()
	o, ok := h.updates[id]
	if !ok {
		h.t.Fatalf("update %s never answered", id)
	}
	return o
}

func (h *harness) mustAccept(id string) kyc.CaseView {
	h.t.Helper()
	o := h.outcome(id)
	if !o.accepted || o.rejected != nil || o.err != nil {
		h.t.Fatalf("update %s: accepted=%v rejected=%v err=%v", id, o.accepted, o.rejected, o.err)
	}
	return o.view
}

// mustReject checks that the validator refused the update (so it never
// reached the history) with the given type and message.
func (h *harness) mustReject(id, errType, msg string) {
	h.t.Helper()
	o := h.outcome(id)
	if o.accepted || o.rejected == nil {
		h.t.Fatalf("update %s: want rejected, got accepted=%v err=%v", id, o.accepted, o.err)
	}
	var app *temporal.ApplicationError
	if !errors.As(o.rejected, &app) || app.Type() != errType || app.Message() != msg {
		h.t.Fatalf("update %s rejected with %v, want %s %q", id, o.rejected, errType, msg)
	}
}

// run executes the workflow to completion and returns its result.
func (h *harness) run(in CaseInput) kyc.CaseView {
	h.t.Helper()
	h.env.ExecuteWorkflow(WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var v kyc.CaseView
	if err := h.env.GetWorkflowResult(&v); err != nil {
		h.t.Fatalf("workflow result: %v", err)
	}
	h.checkLog(v)
	return v
}

// events returns every saved event in save order.
func (h *harness) events() []activities.CaseEvent {
	var out []activities.CaseEvent
	for _, s := range h.saves {
		out = append(out, s.Events...)
	}
	return out
}

// mustHaveRecordingFailed fails the test unless a recording_failed event
// names the error type errType.
func (h *harness) mustHaveRecordingFailed(errType string) {
	h.t.Helper()
	for _, e := range h.events() {
		if e.Type == core.EventRecordingFailed && contains(string(e.Data), errType) {
			return
		}
	}
	h.t.Fatalf("no recording_failed event naming %s", errType)
}

func (h *harness) eventTypes() []string {
	var out []string
	for _, e := range h.events() {
		out = append(out, e.Type)
	}
	return out
}

// checkLog asserts the invariants of every run: events were saved exactly
// once, in order, with contiguous sequence numbers from 1, each save's view
// has the version of its last event, and the last save is the final view.
func (h *harness) checkLog(final kyc.CaseView) {
	h.t.Helper()
	// A log rebased after a reset starts after the discarded run's events.
	var first int64 = 1
	if evs := h.events(); len(evs) > 0 && evs[0].Type == core.EventLogRebased {
		first = evs[0].Seq
	}
	for i, e := range h.events() {
		if e.Seq != first+int64(i) {
			h.t.Fatalf("event %d (%s) has seq %d", i+1, e.Type, e.Seq)
		}
		if e.At.IsZero() || e.ActorRole == "" || e.ActorID == "" {
			h.t.Fatalf("event %d (%s) lacks time or actor: %+v", e.Seq, e.Type, e)
		}
	}
	for _, s := range h.saves {
		if n := len(s.Events); n > 0 && s.View.Version != s.Events[n-1].Seq {
			h.t.Fatalf("save with events up to %d carries view version %d", s.Events[n-1].Seq, s.View.Version)
		}
	}
	last := h.saves[len(h.saves)-1].View
	if last.Version != final.Version || last.Status != final.Status || final.Version != first-1+int64(len(h.events())) {
		h.t.Fatalf("last save v%d %s, result v%d %s, %d events", last.Version, last.Status, final.Version, final.Status, len(h.events()))
	}
}

// containsInOrder reports whether want appears in got as a subsequence.
func containsInOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func (h *harness) mustHaveEvents(want ...string) {
	h.t.Helper()
	if got := h.eventTypes(); !containsInOrder(got, want) {
		h.t.Fatalf("events %v\ndo not contain in order %v", got, want)
	}
}

func (h *harness) count(typ string) int {
	n := 0
	for _, t := range h.eventTypes() {
		if t == typ {
			n++
		}
	}
	return n
}

func (h *harness) roomsCreated() []int {
	var out []int
	for _, c := range h.created {
		out = append(out, c.Attempt)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Webhook events. Each call makes a new event id; reuse a value to send a
// duplicate.

func (h *harness) hms(attempt int, typ string) HMSEvent {
	h.eventSeq++
	return HMSEvent{
		ID: fmt.Sprintf("evt-%04d", h.eventSeq), Type: typ, RoomID: roomID(attempt),
		RoomName: kyc.RoomName(testCase, attempt), SessionID: fmt.Sprintf("sess-a%d", attempt),
		At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	}
}

func (h *harness) join(attempt int, role string) HMSEvent {
	ev := h.hms(attempt, core.HMSPeerJoin)
	ev.Role, ev.PeerID, ev.UserID = role, fmt.Sprintf("peer-%s-%d", role, attempt), userIDOf(role)
	return ev
}

// userIDOf is the user id a join token of role carries: the assigned
// agent's id, the customer's id of the case, anything else for other roles.
func userIDOf(role string) string {
	switch role {
	case string(kyc.RoleAgent):
		return testAgent
	case string(kyc.RoleCustomer):
		return kyc.CustomerUserID(testCase)
	}
	return role + "-user"
}

func (h *harness) leave(attempt int, role, reason string) HMSEvent {
	ev := h.join(attempt, role)
	ev.Type, ev.Reason = core.HMSPeerLeave, reason
	return ev
}

func (h *harness) sessionClose(attempt int) HMSEvent { return h.hms(attempt, core.HMSSessionClose) }

func (h *harness) recorded(attempt int) HMSEvent {
	ev := h.hms(attempt, core.HMSBeamRecording)
	ev.RecordingID = fmt.Sprintf("rec-%d", attempt)
	ev.RecordingPath = h.recordedPath(attempt)
	ev.Size, ev.Duration = 7<<20, 420
	return ev
}

func (h *harness) beamFailure(attempt int) HMSEvent {
	ev := h.hms(attempt, core.HMSBeamFailure)
	ev.ErrorType = "UPLOAD_ERROR"
	return ev
}

func capture(attempt int, kind kyc.CaptureKind) AddCaptureRequest {
	id := fmt.Sprintf("cap-%d-%s", attempt, kind)
	return AddCaptureRequest{
		CaptureID: id, Kind: kind, Attempt: attempt, AgentID: testAgent, Size: 120_000, SHA256: sha(attempt),
		ContentType: "image/jpeg", ObjectKey: fmt.Sprintf("cases/%s/attempt-%d/%s-%s.jpg", testCase, attempt, kind, id),
	}
}

// callWithCaptures schedules, from start+d, a complete call of an attempt:
// both join, the agent captures every default required kind. It returns the
// time after the last step.
func (h *harness) callWithCaptures(d time.Duration, attempt int) time.Duration {
	h.signal(d, h.join(attempt, "customer"))
	h.signal(d+time.Minute, h.join(attempt, "agent"))
	for i, k := range kyc.DefaultRequiredCaptures {
		h.update(d+2*time.Minute+time.Duration(i)*time.Second, UpdateAddCapture,
			fmt.Sprintf("cap-%d-%s", attempt, k), capture(attempt, k))
	}
	return d + 3*time.Minute
}

// approveAndRecord schedules the agent's approval of an attempt at start+d
// (update id) and the attempt's recording a minute later.
func (h *harness) approveAndRecord(d time.Duration, id string, attempt int) {
	h.update(d, UpdateAgentDecision, id, approve(""))
	h.signal(d+time.Minute, h.recorded(attempt))
}

func approve(reason string) AgentDecisionRequest {
	return AgentDecisionRequest{AgentID: testAgent, Outcome: kyc.OutcomeApprove, Reason: reason}
}

func audit(outcome, reason string) AuditDecisionRequest {
	return AuditDecisionRequest{AuditorID: testAuditor, Outcome: outcome, Reason: reason}
}

func (h *harness) recordedPath(attempt int) string {
	return fmt.Sprintf("s3://%s/recordings/beam/%s/20260302/Rec-%s-%d.mp4", testBucket, roomID(attempt), roomID(attempt), attempt)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
