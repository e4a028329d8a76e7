package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/case/maintenance"
	"github.com/vkyc-engine/vkyc/internal/platform/store"

	"github.com/vkyc-engine/vkyc/workflows/core"
)

// reconcile runs one reconciler round as its schedule does and returns
// what it did.
func (e *env) reconcile() maintenance.ReconcileReport {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "reconcile-" + uuid.NewString(), TaskQueue: e.queue},
		maintenance.ReconcileWorkflow)
	if err != nil {
		e.t.Fatal(err)
	}
	var r maintenance.ReconcileReport
	if err := run.Get(ctx, &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

// TestReconcilerClosesTerminatedCase: an operator presses Terminate in the
// Temporal Web UI during a call. The case must not stay in_call (listed in
// the agents' queue) with its room open: the reconciler ends it as
// terminated, names the operator, closes the room, and the log verifies.
func TestReconcilerClosesTerminatedCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-7")
	room := v.Attempts[0].RoomID
	ctx := context.Background()
	ops, err := client.NewClientFromExisting(e.tc, client.Options{Identity: "ops-3@bank.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	if err := ops.TerminateWorkflow(ctx, kyc.WorkflowID(v.ID), "", "stuck after a deploy"); err != nil {
		t.Fatal(err)
	}
	if got := e.view(v.ID); got.Status != kyc.StatusInCall {
		t.Fatalf("before the reconciler: %s", got.Status)
	}

	if r := e.reconcile(); r.Closed != 1 || len(r.Problems) != 0 {
		t.Fatalf("report %+v", r)
	}
	final := e.waitFor(v.ID, "terminated", func(v kyc.CaseView) bool { return v.Status == kyc.StatusTerminated })
	if final.StatusReason != "workflow_terminated" || final.Attempts[0].Status != kyc.AttemptAborted {
		t.Fatalf("final %s (%s), attempt %+v", final.Status, final.StatusReason, final.Attempts[0])
	}
	// The closing run shows the status before it has ended the room; once
	// the run is over, the room is.
	if err := e.tc.GetWorkflow(ctx, kyc.WorkflowID(v.ID), "").Get(ctx, nil); err != nil {
		t.Fatalf("the closing run: %v", err)
	}
	if r, err := e.hc.GetRoom(ctx, room); err != nil || r.Enabled {
		t.Fatalf("room after the reconciler: %+v, %v", r, err)
	}
	e.eventsOfType(v.ID, core.EventWorkflowClosed, 1)
	evs, err := e.st.Events(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	var closed store.Event
	for _, ev := range evs {
		if ev.Type == core.EventWorkflowClosed {
			closed = ev
		}
	}
	if ev := closed; ev.ActorID != "ops-3@bank.example" || ev.ActorRole != string(kyc.RoleOperator) ||
		!strings.Contains(string(ev.Data), "stuck after a deploy") || !strings.Contains(string(ev.Data), "Terminated") {
		t.Fatalf("workflow_closed event %+v %s", ev, ev.Data)
	}
	var log struct {
		Verified bool `json:"verified"`
	}
	r := e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.service()})
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &log)
	if !log.Verified {
		t.Fatalf("the closed case's log does not verify: %s", r.body)
	}
	// A second round finds nothing to do.
	if r := e.reconcile(); r.Closed != 0 || r.Started != 0 {
		t.Fatalf("second round %+v", r)
	}
}

// TestReconcilerStartsCaseWithoutWorkflow: a create that stored its row and
// then failed before starting the workflow leaves a case nobody drives; the
// reconciler starts it.
func TestReconcilerStartsCaseWithoutWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	id := uuid.NewString()
	if _, _, err := e.st.CreateCase(context.Background(), store.NewCase{
		ID: id, Customer: kyc.Customer{Reference: "HALF-1", Name: "Half Made"}, RequiredCaptures: kyc.DefaultRequiredCaptures,
		AuditRejections: true, CreatedBy: "bank-backend", CreatedAt: time.Now().Add(-time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	if r := e.reconcile(); r.Started != 1 {
		t.Fatalf("report %+v", r)
	}
	e.waitFor(id, "room", func(v kyc.CaseView) bool { return len(v.Attempts) == 1 && v.Attempts[0].RoomID != "" })
}

// TestReconcilerEndsStrayRoom: a room 100ms still reports active for a case
// that is over (its close failed) is ended and locked.
func TestReconcilerEndsStrayRoom(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-7")
	room := v.Attempts[0].RoomID
	ctx := context.Background()
	// The case's workflow is gone and its record says it ended, but the
	// room's session goes on.
	if err := e.tc.TerminateWorkflow(ctx, kyc.WorkflowID(v.ID), "", "test"); err != nil {
		t.Fatal(err)
	}
	db := e.rawDB()
	if _, err := e.hc.GetActiveRoom(ctx, room); err != nil {
		t.Fatalf("the room is not active before the round: %v", err)
	}
	// A save the worker had in flight when the workflow was terminated can
	// still land after the UPDATE and write the in-call status back: set the
	// record again until a round sees it ended (or, once visibility shows
	// the workflow closed, closes the reverted case and its room itself).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := db.ExecContext(ctx, `UPDATE cases SET status = 'failed' WHERE id = $1`, v.ID); err != nil {
			t.Fatal(err)
		}
		r := e.reconcile()
		if r.RoomsEnded == 1 || r.Closed == 1 {
			break
		}
		if r.RoomsEnded > 1 || time.Now().After(deadline) {
			t.Fatalf("report %+v", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		if _, err := e.hc.GetActiveRoom(ctx, room); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stray room is still active")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r, err := e.hc.GetRoom(ctx, room); err != nil || r.Enabled {
		t.Fatalf("room %+v, %v", r, err)
	}
}

// TestMaintenanceSchedules: the worker's start makes both schedules, and a
// second start with other intervals updates them.
func TestMaintenanceSchedules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	ctx := context.Background()
	for _, every := range []time.Duration{time.Minute, 90 * time.Second} {
		if err := maintenance.EnsureSchedules(ctx, e.tc, e.queue, maintenance.Intervals{Reconcile: every, Purge: 2 * every}); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]time.Duration{
		maintenance.ScheduleID(maintenance.ReconcileSchedule, e.queue): 90 * time.Second,
		maintenance.ScheduleID(maintenance.PurgeSchedule, e.queue):     3 * time.Minute,
	} {
		h := e.tc.ScheduleClient().GetHandle(ctx, id)
		t.Cleanup(func() { _ = h.Delete(context.Background()) })
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if iv := d.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != want {
			t.Fatalf("schedule %s intervals %+v, want every %s", id, iv, want)
		}
		if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.TaskQueue != e.queue {
			t.Fatalf("schedule %s action %+v", id, d.Schedule.Action)
		}
	}
}
