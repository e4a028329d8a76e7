package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/callprovider/inbox"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
	"github.com/vkyc-engine/vkyc/workflows"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// Histories the end-to-end tests record and TestReplayRecordedHistories
// replays. To record them again, with the services running:
//
//	source .run/services.env
//	VKYC_RECORD_HISTORY=1 go test -count=1 -run 'TestEndToEnd' ./workflows/
const (
	historyApproved    = "kyc-case-approved.json"
	historyDroppedCall = "kyc-case-dropped-call.json"
)

// TestEndToEnd runs a case on the Temporal dev server with the real
// activities against the 100ms simulator, PostgreSQL and MinIO. The
// simulator's webhooks, delivered twice each, are turned into signals the way
// the API's dispatcher does. It checks what no mock can: payloads survive
// serialization, the search attributes exist on the server, the local
// activity resolves, and the database ends with a valid chain.
func TestEndToEnd(t *testing.T) {
	ctx, e := newE2E(t, "e2e0")
	run, u, _ := e.startCall(ctx)
	e.captureAll(ctx, u, 1)
	time.Sleep(1100 * time.Millisecond) // a recording of at least a second
	e.decideApprove(ctx, u)
	e.auditApprove(ctx, u)

	final := e.finishApproved(ctx, run)
	if len(final.Attempts) != 1 || final.Attempts[0].Status != kyc.AttemptCompleted {
		t.Fatalf("attempts %+v", final.Attempts)
	}
	e.recordHistory(ctx, run, historyApproved)
}

// TestEndToEndDroppedCall is the call that breaks: the customer's connection
// drops mid-call, 100ms reports the leave with a network reason, and the case
// must give up that attempt (its room ended and disabled) and complete on a
// new attempt in a new room. The first room's late webhooks (session close,
// recording) reach the workflow after the second attempt began, so the
// recorded history also covers events of a room that is no longer current.
func TestEndToEndDroppedCall(t *testing.T) {
	ctx, e := newE2E(t, "e2e1")
	run, u, first := e.startCall(ctx)
	// A capture taken before the drop stays on record but must not count
	// towards the second attempt.
	e.capture(ctx, u, 1, kyc.CaptureFace)
	e.leave(first.customer, hmssim.ReasonWebsocketClosed)

	v := u.waitFor(ctx, "room of attempt 2", func(v kyc.CaseView) bool {
		return v.Attempt == 2 && len(v.Attempts) == 2 && v.Attempts[1].RoomID != ""
	})
	if a := v.Attempts[0]; a.Status != kyc.AttemptAborted || a.EndReason != core.ReasonNetworkDrop {
		t.Fatalf("attempt 1 after the drop: %+v", a)
	}
	second := v.Attempts[1]
	if second.RoomID == first.RoomID || second.RoomName != kyc.RoomName(e.caseID, 2) {
		t.Fatalf("attempt 2 room %s (%s), attempt 1 room %s", second.RoomID, second.RoomName, first.RoomID)
	}
	if v.Status != kyc.StatusWaitingForParticipants {
		t.Fatalf("status after the drop: %s", v.Status)
	}

	agent := e.join(second.RoomID, "agent")
	customer := e.join(second.RoomID, "customer")
	u.waitFor(ctx, "in call again", func(v kyc.CaseView) bool { return v.Attempt == 2 && v.Status == kyc.StatusInCall })
	e.captureAll(ctx, u, 2)
	time.Sleep(1100 * time.Millisecond) // a recording of at least a second
	e.decideApprove(ctx, u)
	// The participants hang up themselves; the workflow ends the room at the
	// decision too, and whichever comes second is a no-op.
	e.leave(agent, hmssim.ReasonClientRequest)
	e.leave(customer, hmssim.ReasonClientRequest)
	e.auditApprove(ctx, u)

	final := e.finishApproved(ctx, run)
	if final.Attempt != 2 || len(final.Attempts) != 2 {
		t.Fatalf("attempts %+v", final.Attempts)
	}
	if a := final.Attempts[0]; a.Status != kyc.AttemptAborted || a.EndReason != core.ReasonNetworkDrop {
		t.Fatalf("attempt 1: %+v", a)
	}
	if a := final.Attempts[1]; a.Status != kyc.AttemptCompleted || a.RoomID != second.RoomID {
		t.Fatalf("attempt 2: %+v", a)
	}
	// The approval rests on the second room's recording, not the first's.
	if !strings.Contains(final.Recording.Path, second.RoomID) {
		t.Fatalf("recording %s is not of room %s", final.Recording.Path, second.RoomID)
	}
	e.checkDropLogged(ctx, first.RoomID)
	e.recordHistory(ctx, run, historyDroppedCall)
}

// TestEndToEndOperatorCancel is "Request Cancellation" pressed in the
// Temporal Web UI during a call: on the dev server, the case must end
// cancelled in the name of the requesting identity, its room must be ended
// and disabled at 100ms, its log saved and verified, and the workflow must
// complete instead of failing its tasks.
func TestEndToEndOperatorCancel(t *testing.T) {
	ctx, e := newE2E(t, "e2e2")
	run, _, call := e.startCall(ctx)
	roomID := call.RoomID

	const operator = "ops-7@bank.example"
	ops, err := client.NewClientFromExisting(e.tc, client.Options{Identity: operator})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	if err := ops.CancelWorkflow(ctx, run.GetID(), ""); err != nil {
		t.Fatal(err)
	}
	var final kyc.CaseView
	if err := run.Get(ctx, &final); err != nil {
		t.Fatalf("the cancelled case's workflow did not complete: %v", err)
	}
	if final.Status != kyc.StatusCancelled || final.StatusReason != core.ReasonOperatorCancel {
		t.Fatalf("final %s (%s)", final.Status, final.StatusReason)
	}
	desc, err := e.tc.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil || desc.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("workflow status %v, %v", desc, err)
	}
	room, err := e.hc.GetRoom(ctx, roomID)
	if err != nil || room.Enabled {
		t.Fatalf("room after the cancel: %+v, %v", room, err)
	}
	rec, err := e.st.GetCase(ctx, e.caseID)
	if err != nil || rec.Status != kyc.StatusCancelled || rec.Version != final.Version {
		t.Fatalf("projection %+v, %v", rec, err)
	}
	report, err := e.st.VerifyChain(ctx, e.caseID)
	if err != nil || !report.Valid || int64(report.Count) != final.Version {
		t.Fatalf("chain %+v, %v", report, err)
	}
	events, err := e.st.Events(ctx, e.caseID)
	if err != nil {
		t.Fatal(err)
	}
	cancels := 0
	for _, ev := range events {
		if ev.Type == core.EventCaseCancelled {
			cancels++
			if ev.ActorID != operator || ev.ActorRole != string(kyc.RoleOperator) {
				t.Fatalf("cancel event by %s/%s, want %s/operator", ev.ActorID, ev.ActorRole, operator)
			}
		}
	}
	if cancels != 1 {
		t.Fatalf("%d cancel events", cancels)
	}
}

// TestEndToEndOperatorReset is "Reset" pressed in the Temporal Web UI in
// the middle of a call, back to the first workflow task: the new run makes
// other events at sequence numbers the discarded run already saved. The log
// must keep the discarded events, say so with a log_rebased event naming
// the operator, go on in the new run's numbering, verify as a chain and
// against the new run's witness, and the projection must follow the new
// run to the end of the case.
func TestEndToEndOperatorReset(t *testing.T) {
	ctx, e := newE2E(t, "e2e3")
	run, u, _ := e.startCall(ctx)
	e.capture(ctx, u, 1, kyc.CaptureFace)
	before, err := e.st.Events(ctx, e.caseID)
	if err != nil {
		t.Fatal(err)
	}

	var firstTask int64
	it := e.tc.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() && firstTask == 0 {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			firstTask = ev.GetEventId()
		}
	}
	const operator = "ops-9@bank.example"
	ops, err := client.NewClientFromExisting(e.tc, client.Options{Identity: operator})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	reset, err := ops.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
		Reason:                    "replay after a bad deploy",
		WorkflowTaskFinishEventId: firstTask,
		RequestId:                 testenv.RandomName("reset-"),
		Identity:                  operator, // as the Web UI and the CLI send it
	})
	if err != nil {
		t.Fatal(err)
	}

	// The new run saves after the discarded events, which stay.
	var rebased store.Event
	deadline := time.Now().Add(30 * time.Second)
	for rebased.Seq == 0 {
		evs, err := e.st.Events(ctx, e.caseID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Type == core.EventLogRebased {
				rebased = ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event after the reset; log has %d events", core.EventLogRebased, len(evs))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Temporal 1.29 records no identity for a reset (its marker says
	// "history-service"), so the event names Temporal and keeps the reason.
	if rebased.Seq != int64(len(before))+1 || rebased.ActorID != "temporal" || rebased.ActorRole != string(kyc.RoleOperator) ||
		rebased.RunID != reset.GetRunId() {
		t.Fatalf("log_rebased %+v after %d events (new run %s)", rebased, len(before), reset.GetRunId())
	}
	for _, want := range []string{`"to_seq":` + fmt.Sprint(len(before)), run.GetRunID(), "replay after a bad deploy"} {
		if !strings.Contains(string(rebased.Data), want) {
			t.Fatalf("log_rebased data %s lacks %s", rebased.Data, want)
		}
	}

	// The case goes on in the new run, to its end.
	u.do(ctx, workflows.UpdateCancel, "cancel-after-reset", workflows.CancelRequest{By: "ops", Role: "admin", Reason: "test over"})
	final := workflowResult(ctx, t, e.tc, run.GetID())
	rec, err := e.st.GetCase(ctx, e.caseID)
	if err != nil || rec.Status != kyc.StatusCancelled || rec.Version != final.Version {
		t.Fatalf("projection %+v (final v%d), %v", rec, final.Version, err)
	}
	report, err := e.st.VerifyChain(ctx, e.caseID)
	if err != nil || !report.Valid || int64(report.Count) != final.Version {
		t.Fatalf("chain %+v (final v%d), %v", report, final.Version, err)
	}
	evs, err := e.st.Events(ctx, e.caseID)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range before {
		if evs[i].Hash != ev.Hash {
			t.Fatalf("discarded event %d changed", ev.Seq)
		}
	}
	enc, err := e.tc.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryWitness)
	if err != nil {
		t.Fatal(err)
	}
	var w workflows.Witness
	if err := enc.Get(&w); err != nil {
		t.Fatal(err)
	}
	log := make([]chain.Linked, len(evs))
	for i, ev := range evs {
		log[i] = chain.Linked{Seq: ev.Seq, Hash: ev.Hash}
	}
	if p := chain.CheckWitness(log, w.Saved, w.Unsaved); p != "" || w.Saved.Seq != final.Version {
		t.Fatalf("witness %+v: %s", w, p)
	}
}

// workflowResult waits for the current run of a workflow and returns its view.
func workflowResult(ctx context.Context, t *testing.T, tc client.Client, id string) kyc.CaseView {
	t.Helper()
	var v kyc.CaseView
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkDropLogged checks the case log: the customer's leave with 100ms's
// reason, then the abort with ours, then the new attempt.
func (e *e2e) checkDropLogged(ctx context.Context, firstRoom string) {
	e.t.Helper()
	events, err := e.st.Events(ctx, e.caseID)
	if err != nil {
		e.t.Fatal(err)
	}
	want := []struct{ typ, reason string }{
		{"hms.peer.leave.success", hmssim.ReasonWebsocketClosed},
		{core.EventAttemptAborted, core.ReasonNetworkDrop},
		{core.EventAttemptStarted, core.ReasonNetworkDrop},
	}
	i := 0
	for _, ev := range events {
		if i == len(want) {
			break
		}
		var d struct {
			Reason string `json:"reason"`
			RoomID string `json:"room_id"`
			Role   string `json:"role"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			e.t.Fatalf("event %d: %v", ev.Seq, err)
		}
		ofDrop := i > 0 || (d.RoomID == firstRoom && d.Role == string(kyc.RoleCustomer))
		if ev.Type == want[i].typ && d.Reason == want[i].reason && ofDrop {
			i++
		}
	}
	if i != len(want) {
		e.t.Fatalf("the log lacks %s (%s) in order after the drop", want[i].typ, want[i].reason)
	}
}

// e2e is one case's world: a worker on its own task queue, its own simulator
// (whose webhooks go to the case's workflow), database and bucket.
type e2e struct {
	t      *testing.T
	tc     client.Client
	st     *store.Store
	hc     *hms.Client
	simURL string
	hook   *dispatcher
	caseID string
	bucket string
	queue  string
}

// newE2E sets up the services, and gives the test two minutes in all (the
// context it returns); tag makes the case id recognisable in the Temporal
// UI and must be four hex digits.
func newE2E(t *testing.T, tag string) (context.Context, *e2e) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	// Payloads sealed as in production (the development key), so recorded
	// histories hold sealed payloads and the Reset test resolves its fork
	// through the codec.
	dc := replayDataConverter()
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), DataConverter: dc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	st, err := store.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s3 := testenv.MinIO(t)
	bucket := testenv.RandomName("vkyc-e2e-")
	bs, err := blob.New(ctx, blob.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: bucket, CreateBucket: true, SSE: "off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emptyBucket(s3, bucket) })
	recStore, err := hmssim.NewMinIOStore(s3.Endpoint, s3.AccessKey, s3.SecretKey, false)
	if err != nil {
		t.Fatal(err)
	}

	suffix := testenv.RandomName("")
	caseID := suffix[:8] + "-" + tag + "-4000-8000-" + suffix
	hook := &dispatcher{t: t, tc: tc, workflowID: kyc.WorkflowID(caseID)}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	sim, err := hmssim.New(hmssim.Config{
		AccessKey: "e2e-access", AppSecret: "e2e-secret-0123456789", WebhookURL: hookSrv.URL,
		Storage: recStore, Bucket: bucket, Prefix: "recordings", RetrySchedule: []time.Duration{},
		RecordingStartDelay: 10 * time.Millisecond, RecordingReadyDelay: 10 * time.Millisecond,
		Faults: hmssim.Faults{WebhookDuplicate: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	hc, err := hms.New(hms.Config{BaseURL: simSrv.URL + "/v2", AccessKey: "e2e-access", AppSecret: "e2e-secret-0123456789"})
	if err != nil {
		t.Fatal(err)
	}

	queue := testenv.RandomName("kyc-e2e-")
	w := worker.New(tc, queue, workflows.WorkerOptions())
	workflows.RegisterWorker(w, &activities.Activities{HMS: hc, Store: st, Blob: bs, Temporal: tc, Payloads: dc})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return ctx, &e2e{t: t, tc: tc, st: st, hc: hc, simURL: simSrv.URL, hook: hook, caseID: caseID, bucket: bucket, queue: queue}
}

// start creates the case as the API does, in the database and then on
// Temporal, and checks that a retried create reaches the same run.
func (e *e2e) start(ctx context.Context) (client.WorkflowRun, updater) {
	e.t.Helper()
	in := workflows.CaseInput{CaseID: e.caseID, CustomerRef: "CUST-E2E", AuditRejections: true, CreatedBy: "e2e",
		CreatedAt: time.Now().UTC(), Recordings: workflows.RecordingLocation{Bucket: e.bucket, Prefix: "recordings"},
		Revision: workflows.Revision}
	if _, _, err := e.st.CreateCase(ctx, store.NewCase{ID: e.caseID, Customer: kyc.Customer{Reference: "CUST-E2E", Name: "Test Person"},
		RequiredCaptures: kyc.DefaultRequiredCaptures, AuditRejections: true, CreatedBy: "e2e", CreatedAt: in.CreatedAt}); err != nil {
		e.t.Fatal(err)
	}
	opts := workflows.StartOptions(in)
	opts.TaskQueue = e.queue
	run, err := e.tc.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	if err != nil {
		e.t.Fatal(err)
	}
	again, err := e.tc.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	if err != nil || again.GetRunID() != run.GetRunID() {
		e.t.Fatalf("second start: run %v, err %v", again, err)
	}
	return run, updater{t: e.t, tc: e.tc, id: run.GetID()}
}

// firstCall is the first attempt's room with the peers in it.
type firstCall struct {
	kyc.Attempt
	agent, customer string
}

// startCall starts the case, assigns the agent and has the agent and the
// customer join the first attempt's room; it returns once the case is in
// the call.
func (e *e2e) startCall(ctx context.Context) (client.WorkflowRun, updater, firstCall) {
	e.t.Helper()
	run, u := e.start(ctx)
	u.do(ctx, workflows.UpdateAssignAgent, "assign", workflows.AssignAgentRequest{AgentID: "agent-e2e"})
	v := u.waitFor(ctx, "room of attempt 1", func(v kyc.CaseView) bool { return v.Attempts[0].RoomID != "" })
	call := firstCall{Attempt: v.Attempts[0]}
	call.agent = e.join(call.RoomID, "agent")
	call.customer = e.join(call.RoomID, "customer")
	u.waitFor(ctx, "in call", func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })
	return run, u, call
}

func (e *e2e) capture(ctx context.Context, u updater, attempt int, k kyc.CaptureKind) {
	e.t.Helper()
	id := "cap-a" + string(rune('0'+attempt)) + "-" + string(k)
	u.do(ctx, workflows.UpdateAddCapture, id, workflows.AddCaptureRequest{
		CaptureID: id, Kind: k, Attempt: attempt, AgentID: "agent-e2e", Size: 1000, ContentType: "image/jpeg",
		SHA256: strings.Repeat("ab", 32), ObjectKey: blob.CaptureKey(e.caseID, attempt, k, id, "jpg"),
	})
}

func (e *e2e) captureAll(ctx context.Context, u updater, attempt int) {
	e.t.Helper()
	for _, k := range kyc.DefaultRequiredCaptures {
		e.capture(ctx, u, attempt, k)
	}
}

// decideApprove approves the call; the case then waits for its recording,
// which the workflow verifies in our bucket.
func (e *e2e) decideApprove(ctx context.Context, u updater) {
	e.t.Helper()
	v := u.do(ctx, workflows.UpdateAgentDecision, "decide", workflows.AgentDecisionRequest{AgentID: "agent-e2e", Outcome: kyc.OutcomeApprove})
	// The case as read after the answer: waiting for the recording, or past
	// that already when the simulator's recording was verified meanwhile.
	if v.Decision == nil || v.Decision.Outcome != kyc.OutcomeApprove ||
		v.Status != kyc.StatusAwaitingRecording && v.Status != kyc.StatusAwaitingAudit {
		e.t.Fatalf("after the decision: %s, decision %+v", v.Status, v.Decision)
	}
}

func (e *e2e) auditApprove(ctx context.Context, u updater) {
	e.t.Helper()
	v := u.waitFor(ctx, "recording verified", func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })
	if v.Recording.Status != kyc.RecordingVerified || v.Recording.SHA256 == "" || v.Recording.Size == 0 {
		e.t.Fatalf("recording %+v", v.Recording)
	}
	u.do(ctx, workflows.UpdateAuditDecision, "audit", workflows.AuditDecisionRequest{AuditorID: "auditor-e2e", Outcome: kyc.OutcomeApprove})
}

// finishApproved waits for the workflow's result and checks that the
// database, the event chain and the search attributes agree with it.
func (e *e2e) finishApproved(ctx context.Context, run client.WorkflowRun) kyc.CaseView {
	e.t.Helper()
	var final kyc.CaseView
	if err := run.Get(ctx, &final); err != nil {
		e.t.Fatal(err)
	}
	if final.Status != kyc.StatusApproved {
		e.t.Fatalf("final %s", final.Status)
	}
	rec, err := e.st.GetCase(ctx, e.caseID)
	if err != nil || rec.Status != kyc.StatusApproved || rec.Version != final.Version {
		e.t.Fatalf("projection %+v, %v", rec, err)
	}
	report, err := e.st.VerifyChain(ctx, e.caseID)
	if err != nil || !report.Valid || int64(report.Count) != final.Version {
		e.t.Fatalf("chain %+v (version %d), %v", report, final.Version, err)
	}
	desc, err := e.tc.DescribeWorkflow(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		e.t.Fatal(err)
	}
	var status string
	if p := desc.RawResponse.WorkflowExecutionInfo.GetSearchAttributes().GetIndexedFields()["KycStatus"]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &status)
	}
	if status != string(kyc.StatusApproved) {
		e.t.Fatalf("KycStatus search attribute %q", status)
	}
	if e.hook.signals.Load() == 0 {
		e.t.Fatal("no webhook reached the workflow")
	}
	return final
}

// recordHistory writes the run's history to testdata/name when
// VKYC_RECORD_HISTORY=1, for the replay test that guards the workflow's
// determinism against later changes.
func (e *e2e) recordHistory(ctx context.Context, run client.WorkflowRun, name string) {
	e.t.Helper()
	if os.Getenv("VKYC_RECORD_HISTORY") != "1" {
		return
	}
	var hist historypb.History
	it := e.tc.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("recorded %d history events in testdata/%s", len(hist.Events), name)
}

// join connects a participant through the simulator and returns the peer id.
func (e *e2e) join(roomID, role string) string {
	e.t.Helper()
	user := "agent-e2e" // the assigned agent
	if role == string(kyc.RoleCustomer) {
		user = kyc.CustomerUserID(e.caseID)
	}
	token, _, err := e.hc.AuthToken(hms.AuthTokenParams{RoomID: roomID, Role: role, UserID: user})
	if err != nil {
		e.t.Fatal(err)
	}
	var out struct {
		PeerID string `json:"peer_id"`
	}
	e.simPost("/sim/v1/join", map[string]string{"token": token}, &out)
	if out.PeerID == "" {
		e.t.Fatalf("join %s: no peer id", role)
	}
	return out.PeerID
}

// leave disconnects a peer with one of 100ms's leave reasons.
func (e *e2e) leave(peerID, reason string) {
	e.t.Helper()
	e.simPost("/sim/v1/leave", map[string]string{"peer_id": peerID, "reason": reason}, nil)
}

func (e *e2e) simPost(path string, body, out any) {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.Post(e.simURL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("%s: %s %s", path, resp.Status, msg)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s: %v", path, err)
		}
	}
}

// dispatcher plays the API's webhook dispatcher: decode, reduce, signal.
type dispatcher struct {
	t          *testing.T
	tc         client.Client
	workflowID string
	signals    atomic.Int64
}

func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := hms.DecodeEvent(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := d.tc.SignalWorkflow(r.Context(), d.workflowID, "", workflows.SignalHMSEvents, []workflows.HMSEvent{inbox.Convert(ev)}); err != nil {
		d.t.Logf("signal %s: %v", ev.Type, err) // the case may have finished
	}
	d.signals.Add(1)
	w.WriteHeader(http.StatusOK)
}

type updater struct {
	t  *testing.T
	tc client.Client
	id string
}

func (u updater) do(ctx context.Context, name, updateID string, arg any) kyc.CaseView {
	u.t.Helper()
	h, err := u.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: u.id, UpdateName: name, UpdateID: updateID, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		u.t.Fatalf("update %s: %v", name, err)
	}
	var a workflows.Answer
	if err := h.Get(ctx, &a); err != nil {
		u.t.Fatalf("update %s: %v", name, err)
	}
	return u.waitFor(ctx, fmt.Sprintf("version %d after %s", a.Version, name), func(v kyc.CaseView) bool { return v.Version >= a.Version })
}

func (u updater) waitFor(ctx context.Context, what string, ok func(kyc.CaseView) bool) kyc.CaseView {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		enc, err := u.tc.QueryWorkflow(ctx, u.id, "", workflows.QueryCase)
		if err == nil {
			var v kyc.CaseView
			if err := enc.Get(&v); err == nil && ok(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func emptyBucket(s3 testenv.S3, name string) {
	mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		return
	}
	ctx := context.Background()
	for obj := range mc.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
		_ = mc.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
	}
	_ = mc.RemoveBucket(ctx, name)
}

// TestEndToEndCaseAtRest: a case waiting for its participants, its room
// made, holds only its main loop, its save loop and its webhook loop (the
// room's work ran in a coroutine that ended with it), as its stack trace
// in the Web UI shows. A worker keeps thousands of such cases cached.
func TestEndToEndCaseAtRest(t *testing.T) {
	ctx, e := newE2E(t, "e2e5")
	run, u := e.start(ctx)
	u.waitFor(ctx, "room of attempt 1", func(v kyc.CaseView) bool { return v.Attempts[0].RoomID != "" })
	var trace string
	enc, err := e.tc.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), "__stack_trace")
	if err == nil {
		err = enc.Get(&trace)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace, "runSaves") || !strings.Contains(trace, "runWebhooks") {
		t.Fatalf("the stack trace lacks the loops a case keeps:\n%s", trace)
	}
	for _, gone := range []string{"roomWork", "recordingWork", "runRooms", "runRecording"} {
		if strings.Contains(trace, gone) {
			t.Errorf("a case at rest still holds %s:\n%s", gone, trace)
		}
	}
	if n := strings.Count(trace, "coroutine "); n != 3 {
		t.Errorf("%d coroutines at rest, want 3:\n%s", n, trace)
	}
}
