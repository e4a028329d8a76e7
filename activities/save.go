package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/internal/store"
)

// SaveCase appends the events to the case's hash-chained log and stores the
// view. Both steps are idempotent in the store (an identical (case, seq) is a
// no-op; a view not newer than the stored one is ignored), so retries are safe.
func (a *Activities) SaveCase(ctx context.Context, in SaveCaseInput) error {
	run := ""
	if activity.IsActivity(ctx) {
		run = activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	events := make([]store.NewEvent, len(in.Events))
	for i, e := range in.Events {
		events[i] = store.NewEvent{
			CaseID: in.View.ID, Seq: e.Seq, Type: e.Type, ActorID: e.ActorID, ActorRole: string(e.ActorRole),
			At: e.At, Data: e.Data, Hash: e.Hash, RunID: run,
		}
	}
	err := a.Store.AppendEvents(ctx, events)
	if errors.Is(err, store.ErrNotFound) {
		// The API creates the case row before starting the workflow; if it
		// is missing, the projection creates it (without PII) so that the
		// log has a case to hang on.
		if err := a.Store.SaveProjection(ctx, in.View); err != nil {
			return storeError(in, err)
		}
		err = a.Store.AppendEvents(ctx, events)
	}
	if err != nil {
		return storeError(in, err)
	}
	if err := a.Store.SaveProjection(ctx, in.View); err != nil {
		return storeError(in, err)
	}
	return nil
}

func storeError(in SaveCaseInput, err error) error {
	msg := fmt.Sprintf("save case %s v%d (%d events): %v", in.View.ID, in.View.Version, len(in.Events), err)
	switch {
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrSequenceGap):
		return temporal.NewNonRetryableApplicationError(msg, ErrCaseEventConflict, err)
	case errors.Is(err, store.ErrInvalid):
		return temporal.NewNonRetryableApplicationError(msg, ErrCaseInvalid, err)
	}
	return temporal.NewApplicationErrorWithCause(msg, ErrStoreTransient, err)
}
