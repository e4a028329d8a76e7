package maintenance

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/workflows"
)

// IDs of the Temporal Schedules, as operators see them in the Web UI. A
// deployment on a task queue other than the default gets its own pair,
// suffixed with the queue, so that two deployments (or test stacks) sharing
// a namespace never steer each other's schedules.
const (
	ReconcileSchedule = "kyc-reconcile"
	PurgeSchedule     = "kyc-purge"
)

// ScheduleID is the id of schedule base for a task queue.
func ScheduleID(base, taskQueue string) string {
	if taskQueue == workflows.TaskQueue {
		return base
	}
	return base + "-" + taskQueue
}

// oneRound runs a schedule's round: its one activity, with opts.
func oneRound[R any](ctx workflow.Context, opts workflow.ActivityOptions, activity any) (R, error) {
	var r R
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), activity).Get(ctx, &r)
	return r, err
}

// Registry is the part of a Temporal worker Register needs.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivity(a any)
}

// Register registers the maintenance workflows and activities.
func Register(r Registry, a *Activities) {
	r.RegisterWorkflowWithOptions(Reconcile, workflow.RegisterOptions{Name: ReconcileWorkflow})
	r.RegisterWorkflowWithOptions(Purge, workflow.RegisterOptions{Name: PurgeWorkflow})
	r.RegisterActivity(a)
}

// Intervals are how often each schedule runs.
type Intervals struct {
	Reconcile, Purge time.Duration
}

// EnsureSchedules creates the schedules, or updates their interval and
// action when they exist, so that every worker may call it at start: the
// last configuration started wins. A round that would overlap a running
// one is skipped.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string, every Intervals) error {
	for _, s := range []struct {
		id, workflow string
		every        time.Duration
	}{
		{ScheduleID(ReconcileSchedule, taskQueue), ReconcileWorkflow, every.Reconcile},
		{ScheduleID(PurgeSchedule, taskQueue), PurgeWorkflow, every.Purge},
	} {
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.every}}}
		action := &client.ScheduleWorkflowAction{
			ID: s.id, Workflow: s.workflow, TaskQueue: taskQueue,
			WorkflowRunTimeout: 30 * time.Minute,
		}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: s.id, Spec: spec, Action: action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			Note: "vKYC engine maintenance; made by the worker at start",
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = c.ScheduleClient().GetHandle(ctx, s.id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					sch := in.Description.Schedule
					sch.Spec, sch.Action = &spec, action
					if sch.Policy != nil {
						sch.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
					}
					return &client.ScheduleUpdate{Schedule: &sch}, nil
				},
			})
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", s.id, err)
		}
	}
	return nil
}
