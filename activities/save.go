package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// SaveCase appends the events to the case's hash-chained log and stores the
// view, in one transaction. Both are idempotent in the store (an identical
// (case, seq) is a no-op; a view not newer than the stored one is ignored),
// so retries are safe.
//
// The workflow runs it as a local activity, inside the workflow task that
// made the events, so that an update is answered in the task that applied
// it. A local activity writes before its task completes: when the task then
// fails (a killed worker), the events it saved are in the log but not in
// the workflow's history, and the task's retry makes others at the same
// sequence numbers. Those unconfirmed events are recognised here (they
// follow the last save the history confirmed, Witnessed, and this run saved
// them) and reported instead of refused, so that the workflow keeps them,
// says so in the log, and continues after them.
func (a *Activities) SaveCase(ctx context.Context, in SaveCaseInput) (SaveCaseResult, error) {
	run := ""
	if activity.IsActivity(ctx) {
		run = activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	events := make([]store.NewEvent, len(in.Events))
	for i, e := range in.Events {
		events[i] = store.NewEvent{Event: chain.Event{
			CaseID: in.View.ID, Seq: e.Seq, Type: e.Type, ActorID: e.ActorID, ActorRole: string(e.ActorRole),
			At: e.At, Data: e.Data,
		}, Hash: e.Hash, RunID: run}
	}
	err := a.Store.SaveCase(ctx, events, in.View)
	if errors.Is(err, store.ErrConflict) && run != "" && len(in.Events) > 0 {
		if tail, ok := a.unconfirmedTail(ctx, in, run); ok {
			return SaveCaseResult{Unconfirmed: &tail}, nil
		}
	}
	if err != nil {
		return SaveCaseResult{}, storeError(in, err)
	}
	res := SaveCaseResult{Saved: in.Witnessed}
	if n := len(in.Events); n > 0 {
		res.Saved = chain.Head{Seq: in.Events[n-1].Seq, Hash: in.Events[n-1].Hash}
	}
	return res, nil
}

// unconfirmedTail reports the events this run saved after the last save
// its history confirmed, when that is what the log holds in the way: they
// must chain from the confirmed head and be this run's.
func (a *Activities) unconfirmedTail(ctx context.Context, in SaveCaseInput, run string) (Unconfirmed, bool) {
	from := in.Witnessed.Seq + 1
	if in.Events[0].Seq != from || in.Witnessed.Hash == "" && from != 1 {
		return Unconfirmed{}, false
	}
	evs, err := a.Store.EventsFrom(ctx, in.View.ID, from)
	if err != nil || len(evs) == 0 {
		return Unconfirmed{}, false
	}
	prev := in.Witnessed.Hash
	if from == 1 {
		prev = chain.Genesis
	}
	for i, e := range evs {
		if e.Seq != from+int64(i) || e.RunID != run || e.PrevHash != prev || chain.Next(prev, e.Chain()) != e.Hash {
			return Unconfirmed{}, false
		}
		prev = e.Hash
	}
	last := evs[len(evs)-1]
	a.log().WarnContext(ctx, "events saved by a workflow task that did not complete are kept; the case continues after them",
		"case_id", in.View.ID, "from_seq", from, "to_seq", last.Seq)
	return Unconfirmed{From: from, Head: chain.Head{Seq: last.Seq, Hash: last.Hash}}, true
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
