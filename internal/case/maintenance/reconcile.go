// Package maintenance holds what the worker runs on Temporal Schedules: the
// reconciler, which brings cases back in line with their workflows after
// operators act on them from outside the engine, and the purge of data kept
// only for a while.
package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// Names registered with Temporal: the workflows the schedules start.
const (
	ReconcileWorkflow = "KYCReconcile"
	PurgeWorkflow     = "KYCPurge"
)

// Activities do the maintenance work; register them with the worker.
type Activities struct {
	Store     *store.Store
	HMS       *hms.Client
	Temporal  client.Client
	TaskQueue string
	// Cases are the settings a case the reconciler starts gets.
	Cases workflows.CaseDefaults
	// Grace is how old a case must be before the reconciler looks at it, so
	// that a create still between its insert and its workflow start is left
	// alone. Zero means DefaultGrace.
	Grace     time.Duration
	Retention Retention
	Logger    *slog.Logger
}

// DefaultGrace is Activities.Grace's default: far longer than a create
// takes between its insert and its workflow start. (Starting a case twice
// is harmless anyway: the start finds the running workflow.)
const DefaultGrace = 30 * time.Second

// reconcileBatch bounds one round; the next round takes the rest.
const reconcileBatch = 200

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger.With("component", "reconciler")
	}
	return slog.Default().With("component", "reconciler")
}

// ReconcileReport is what one round did.
type ReconcileReport struct {
	Checked          int      `json:"checked"`
	Started          int      `json:"started"`           // cases whose workflow had never started
	Closed           int      `json:"closed"`            // cases whose workflow was closed from outside
	ProjectionsFixed int      `json:"projections_fixed"` // cases whose completed workflow's end was not in the projection
	RoomsEnded       int      `json:"rooms_ended"`       // active rooms of closed cases or finished attempts
	Problems         []string `json:"problems,omitempty"`
}

// Reconcile is the workflow the reconcile schedule starts: one round.
func Reconcile(ctx workflow.Context) (ReconcileReport, error) {
	return oneRound[ReconcileReport](ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		// The next scheduled round retries anything left.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumAttempts: 3},
	}, (*Activities).ReconcileCases)
}

// ReconcileCases brings cases whose workflow ended outside the engine, or
// never started, back in line, and ends rooms nobody should be in:
//   - a closed run of a case workflow that was not completed (Terminate in
//     the Web UI or CLI, a run timeout, a failure; found through Temporal's
//     visibility, closed within Lookback) while the case's projection is
//     not terminal: a new run of the case's workflow ends the case as
//     terminated, logs how and by whom, and closes its room;
//   - a case row that no workflow ever saved (a create that failed between
//     its insert and its start) and that has no workflow: it is started, as
//     the create would have;
//   - a room still active for a terminal case, or for an attempt that is
//     over, is ended and locked.
//
// The candidates come from a visibility query and an indexed database
// query, so a round costs little however many cases are open.
func (a *Activities) ReconcileCases(ctx context.Context) (ReconcileReport, error) {
	var r ReconcileReport
	ids, err := a.closedOutside(ctx)
	if err != nil {
		return r, err
	}
	grace := a.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	unstarted, err := a.Store.UnsavedCasesCreatedBefore(ctx, time.Now().Add(-grace), reconcileBatch)
	if err != nil {
		return r, err
	}
	for _, rec := range unstarted {
		if !slices.Contains(ids, rec.ID) {
			ids = append(ids, rec.ID)
		}
	}
	for i, id := range ids {
		activity.RecordHeartbeat(ctx, i)
		rec, err := a.Store.GetCase(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // a case of another deployment sharing the namespace
		}
		if err != nil {
			return r, err
		}
		if rec.Status.Terminal() {
			continue
		}
		r.Checked++
		if err := a.reconcileCase(ctx, rec, &r); err != nil {
			if isTemporalDown(err) {
				return r, err // retried by the policy, then by the next round
			}
			r.Problems = append(r.Problems, fmt.Sprintf("case %s: %v", id, err))
		}
	}
	if err := a.endStrayRooms(ctx, &r); err != nil {
		r.Problems = append(r.Problems, "active rooms: "+err.Error())
	}
	if r.Started+r.Closed+r.ProjectionsFixed+r.RoomsEnded+len(r.Problems) > 0 {
		a.log().InfoContext(ctx, "reconciled", "checked", r.Checked, "started", r.Started, "closed", r.Closed,
			"projections_fixed", r.ProjectionsFixed, "rooms_ended", r.RoomsEnded, "problems", len(r.Problems))
	}
	for _, p := range r.Problems {
		a.log().WarnContext(ctx, "reconcile problem", "problem", p)
	}
	return r, nil
}

// Lookback is how far back the reconciler looks for runs closed from
// outside; a round every minute finds each within one round, the rest is
// margin for a reconciler that was down.
const Lookback = 7 * 24 * time.Hour

// closedOutside lists the case ids of case workflow runs that closed
// without completing within Lookback.
func (a *Activities) closedOutside(ctx context.Context) ([]string, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND (ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut' "+
		"OR ExecutionStatus = 'Failed' OR ExecutionStatus = 'Canceled') AND CloseTime > '%s'",
		workflows.WorkflowName, time.Now().Add(-Lookback).UTC().Format(time.RFC3339))
	var ids []string
	var token []byte
	for {
		resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: reconcileBatch, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list closed case workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			caseID, ok := kyc.CaseIDOfWorkflow(e.GetExecution().GetWorkflowId())
			if ok && !slices.Contains(ids, caseID) {
				ids = append(ids, caseID)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 || len(ids) >= reconcileBatch {
			return ids, nil
		}
	}
}

func (a *Activities) reconcileCase(ctx context.Context, rec *store.CaseRecord, r *ReconcileReport) error {
	id := kyc.WorkflowID(rec.ID)
	desc, err := a.Temporal.DescribeWorkflow(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		in := a.input(rec)
		opts := workflows.StartOptions(in)
		opts.TaskQueue = a.TaskQueue
		if _, err := a.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in); err != nil {
			return fmt.Errorf("start the workflow it never had: %w", err)
		}
		a.log().InfoContext(ctx, "started a case whose workflow had never started", "case_id", rec.ID)
		r.Started++
		return nil
	case err != nil:
		return err
	}
	info := desc.RawResponse.GetWorkflowExecutionInfo()
	if info.GetType().GetName() != workflows.WorkflowName {
		return fmt.Errorf("workflow %s is a %s", id, info.GetType().GetName())
	}
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return nil
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var v kyc.CaseView
		if err := a.Temporal.GetWorkflow(ctx, id, info.GetExecution().GetRunId()).Get(ctx, &v); err != nil {
			return fmt.Errorf("result of the completed workflow: %w", err)
		}
		if !v.Status.Terminal() || v.ID != rec.ID {
			return fmt.Errorf("the completed workflow's result is %s", v.Status)
		}
		if err := a.Store.SaveProjection(ctx, v); err != nil {
			return err
		}
		r.ProjectionsFixed++
		return nil
	}
	if err := a.closeCase(ctx, rec, info.GetExecution().GetRunId(), info.GetStatus()); err != nil {
		return err
	}
	r.Closed++
	return nil
}

func (a *Activities) input(rec *store.CaseRecord) workflows.CaseInput {
	return a.Cases.Input(rec.ID, rec.Customer.Reference, rec.View.RequiredCaptures, rec.View.AuditRejections,
		"reconciler", rec.CreatedAt)
}

var closeStatusNames = map[enumspb.WorkflowExecutionStatus]string{
	enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: "Terminated",
	enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:  "TimedOut",
	enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:     "Failed",
	enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:   "Canceled",
}

// closeCase starts the run that ends a case whose last run was closed from
// outside. That run continues the stored log (checked against the closed
// run's witness first) from its head, so the log stays one chain and the
// new run becomes the witness of the events it adds.
func (a *Activities) closeCase(ctx context.Context, rec *store.CaseRecord, runID string, status enumspb.WorkflowExecutionStatus) error {
	id := kyc.WorkflowID(rec.ID)
	order := workflows.CloseOrder{RunID: runID, CloseStatus: closeStatusNames[status]}
	if order.CloseStatus == "" {
		order.CloseStatus = status.String()
	}
	order.Identity, order.Reason = a.closeDetails(ctx, id, runID)
	evs, err := a.Store.EventsFrom(ctx, rec.ID, 1)
	if err != nil {
		return err
	}
	log := make([]chain.Linked, len(evs))
	for i, e := range evs {
		log[i] = chain.Linked{Seq: e.Seq, Hash: e.Hash}
	}
	head := chain.Head{}
	if n := len(evs); n > 0 {
		head = chain.Head{Seq: evs[n-1].Seq, Hash: evs[n-1].Hash}
	}
	if w, err := a.witness(ctx, id, runID); err != nil {
		order.LogProblem = "the closed run could not be asked for its witness: " + err.Error()
	} else {
		order.LogProblem = chain.CheckWitness(log, w.Saved, w.Unsaved)
	}
	if order.LogProblem != "" {
		a.log().ErrorContext(ctx, "alert: a closed case's log differs from its workflow's witness", "case_id", rec.ID,
			"problem", order.LogProblem)
	}
	in := a.input(rec)
	in.Resume = core.FromView(rec.View, in.Timeouts.WithDefaults().Limits(), in.Recordings, head)
	in.Close = &order
	opts := workflows.StartOptions(in)
	opts.TaskQueue = a.TaskQueue
	// The closed run failed in Temporal's terms, so a new run may start;
	// a completed case never gets one.
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	if _, err := a.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in); err != nil {
		return fmt.Errorf("start the closing run: %w", err)
	}
	a.log().InfoContext(ctx, "closing a case whose workflow was closed from outside", "case_id", rec.ID,
		"close_status", order.CloseStatus, "by", order.Identity)
	return nil
}

// closeDetails reads who closed a run and why from its close event.
func (a *Activities) closeDetails(ctx context.Context, id, runID string) (identity, reason string) {
	it := a.Temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", ""
		}
		switch {
		case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
			at := ev.GetWorkflowExecutionTerminatedEventAttributes()
			identity, reason = at.GetIdentity(), at.GetReason()
		case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
			reason = ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
		}
	}
	return kyc.CleanText(identity, kyc.MaxSubjectLen), kyc.CleanText(reason, kyc.MaxReasonLen)
}

func (a *Activities) witness(ctx context.Context, id, runID string) (workflows.Witness, error) {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := a.Temporal.QueryWorkflow(qctx, id, runID, workflows.QueryWitness)
	if err != nil {
		return workflows.Witness{}, err
	}
	var w workflows.Witness
	return w, resp.Get(&w)
}

// endStrayRooms ends the active 100ms sessions of our rooms that nobody
// should be in any more: rooms of terminal cases and of attempts that are
// over. The case workflow closes them itself; this catches a close that
// failed (room_close_failed) and cases whose workflow was cut short.
func (a *Activities) endStrayRooms(ctx context.Context, r *ReconcileReport) error {
	active := true
	sessions, err := a.HMS.ListSessions(ctx, hms.SessionFilter{Active: &active})
	if err != nil {
		return err
	}
	var rooms []string
	for _, s := range sessions {
		rooms = append(rooms, s.RoomID)
	}
	if len(rooms) == 0 {
		return nil
	}
	attempts, err := a.Store.AttemptsOfRooms(ctx, rooms)
	if err != nil {
		return err
	}
	for _, at := range attempts {
		if !at.CaseStatus.Terminal() && at.Attempt == at.CaseAttempt {
			continue
		}
		reason := fmt.Sprintf("kyc case %s attempt %d is over", at.CaseID, at.Attempt)
		if err := a.HMS.EndRoom(ctx, at.RoomID, reason, true); err != nil && !hms.IsNotFound(err) {
			r.Problems = append(r.Problems, fmt.Sprintf("end room %s: %v", at.RoomID, err))
			continue
		}
		if _, err := a.HMS.DisableRoom(ctx, at.RoomID); err != nil && !hms.IsNotFound(err) {
			r.Problems = append(r.Problems, fmt.Sprintf("disable room %s: %v", at.RoomID, err))
			continue
		}
		a.log().InfoContext(ctx, "ended a stray room", "case_id", at.CaseID, "attempt", at.Attempt, "room_id", at.RoomID)
		r.RoomsEnded++
	}
	return nil
}

func isTemporalDown(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded)
}
