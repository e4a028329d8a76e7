package workflows

import (
	"strings"
	"unicode"

	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// ReasonOperatorCancel is the status reason of a case cancelled through
// Temporal when the request gave none.
const ReasonOperatorCancel = "cancelled_in_temporal"

// cancelRequested ends the case as the bank's cancel does (status cancelled,
// the room ended and disabled, the events saved) when an operator asked
// Temporal to cancel the workflow. The operator is the identity Temporal
// recorded with the request, so the log says who it was.
func (c *kycCase) cancelRequested(ctx workflow.Context) {
	if c.s.View.Status.Terminal() {
		return // already ending; the run finishes its saves and completes
	}
	var req activities.CancelRequestInfo
	actx := workflow.WithActivityOptions(ctx, activities.TemporalOptions())
	if err := workflow.ExecuteActivity(actx, acts.CancelRequest).Get(ctx, &req); err != nil {
		// The request is certain, only its author is not: the case is
		// cancelled all the same.
		c.logger.Error("reading the cancel request failed", "error", err)
	}
	who := actor{ID: req.Identity, Role: kyc.RoleOperator}
	if who.ID == "" {
		who.ID = "temporal"
	}
	reason := req.Reason
	if reason == "" {
		reason = ReasonOperatorCancel
	}
	c.logger.Info("cancel requested in Temporal", "by", who.ID)
	c.record(ctx, EventCaseCancelled, who, eventData{Attempt: c.s.View.Attempt, Reason: reason})
	c.terminate(ctx, kyc.StatusCancelled, reason, who)
	c.afterChange(ctx)
}

// closedOutside ends a case whose previous run was closed from outside the
// engine (an operator's Terminate, a run timeout, a failure): the log says
// how and by whom, the case becomes terminated, and its room is ended and
// disabled. The reconciler starts this run with the stored state.
func (c *kycCase) closedOutside(ctx workflow.Context, o CloseOrder) {
	who := actor{ID: o.Identity, Role: kyc.RoleOperator}
	if who.ID == "" {
		who.ID = "temporal"
	}
	c.record(ctx, EventWorkflowClosed, who, eventData{
		Attempt: c.s.View.Attempt, Reason: o.Reason, ErrorType: o.CloseStatus, RunIDs: []string{o.RunID}, Error: o.LogProblem,
	})
	if !c.s.View.Status.Terminal() {
		c.terminate(ctx, kyc.StatusTerminated, ReasonClosedOutside(o.CloseStatus), who)
	}
}

// ReasonClosedOutside is the status reason of a case whose run was closed
// from outside: workflow_terminated, workflow_timed_out, ...
func ReasonClosedOutside(closeStatus string) string {
	var b strings.Builder
	b.WriteString("workflow_")
	for i, r := range closeStatus {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
