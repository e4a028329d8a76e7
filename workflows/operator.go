package workflows

import (
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
