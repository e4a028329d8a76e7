package activities

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// CancelRequestInfo is who asked Temporal to cancel a case's workflow, and
// why: the identity and reason Temporal recorded with the request.
type CancelRequestInfo struct {
	Identity string `json:"identity,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// CancelRequest reads the calling workflow run's cancel request from its
// history. The workflow sees only that it was cancelled, not by whom, and the
// case's log must name the operator.
func (a *Activities) CancelRequest(ctx context.Context) (CancelRequestInfo, error) {
	if a.Temporal == nil {
		return CancelRequestInfo{}, temporal.NewNonRetryableApplicationError("cancel request: the worker has no Temporal client", ErrTemporal, nil)
	}
	run := activity.GetInfo(ctx).WorkflowExecution
	it := a.Temporal.GetWorkflowHistory(ctx, run.ID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var info CancelRequestInfo
	found := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return CancelRequestInfo{}, temporal.NewApplicationErrorWithCause(
				fmt.Sprintf("cancel request of %s: read history: %v", run.ID, err), ErrTemporal, err)
		}
		if at := ev.GetWorkflowExecutionCancelRequestedEventAttributes(); at != nil {
			// The latest request counts; an operator may press twice.
			info = CancelRequestInfo{
				Identity: kyc.CleanText(at.GetIdentity(), kyc.MaxSubjectLen),
				Reason:   kyc.CleanText(at.GetCause(), kyc.MaxReasonLen),
			}
			found = true
		}
	}
	if !found {
		return CancelRequestInfo{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("cancel request of %s: none in the history", run.ID), ErrTemporal, nil)
	}
	return info, nil
}
