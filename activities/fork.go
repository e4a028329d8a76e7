package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// ResolveForkInput names the first event the calling run could not save
// because the log holds other events there, and the hash of the event
// before it in the run's own chain.
type ResolveForkInput struct {
	CaseID   string `json:"case_id"`
	FromSeq  int64  `json:"from_seq"`
	PrevHash string `json:"prev_hash"`
}

// ForkResolution says whether the stored events from FromSeq on were saved
// by an earlier run that an operator's Reset discarded. Only then may the
// calling run continue the log after them (Head); otherwise Problem says
// what the stored log is, for the person who has to look.
type ForkResolution struct {
	Reset    bool       `json:"reset"`
	Head     chain.Head `json:"head"`
	RunIDs   []string   `json:"run_ids,omitempty"`  // the runs whose events were discarded
	Operator string     `json:"operator,omitempty"` // who reset, as Temporal recorded it
	Reason   string     `json:"reason,omitempty"`   // the reset's reason
	Problem  string     `json:"problem,omitempty"`
}

// ResolveFork checks a conflicting log against Temporal. A Reset replays a
// case's workflow to an earlier point and goes on from there, so the new
// run makes other events at sequence numbers the discarded run has already
// saved. The stored events count as the discarded run's only if the calling
// run's history carries Temporal's reset marker, they continue the calling
// run's own chain, they chain correctly, and every one of them is in a
// SaveCase input of the run that saved it. Anything else is a log changed
// outside the engine.
func (a *Activities) ResolveFork(ctx context.Context, in ResolveForkInput) (ForkResolution, error) {
	if a.Temporal == nil {
		return ForkResolution{}, temporal.NewNonRetryableApplicationError("resolve fork: the worker has no Temporal client", ErrTemporal, nil)
	}
	self := activity.GetInfo(ctx).WorkflowExecution
	operator, reason, reset, err := a.resetMarker(ctx, self.ID, self.RunID)
	if err != nil {
		return ForkResolution{}, err
	}
	if !reset {
		return ForkResolution{Problem: "this run was not made by a Reset, yet the log holds other events from seq " +
			fmt.Sprint(in.FromSeq)}, nil
	}
	evs, err := a.Store.EventsFrom(ctx, in.CaseID, in.FromSeq)
	if err != nil {
		return ForkResolution{}, storeError(SaveCaseInput{View: kyc.CaseView{ID: in.CaseID}}, err)
	}
	if problem := forkChainProblem(evs, in, self.RunID); problem != "" {
		return ForkResolution{Problem: problem}, nil
	}
	var runs []string
	for _, e := range evs {
		if !slices.Contains(runs, e.RunID) {
			runs = append(runs, e.RunID)
		}
	}
	// The chain links every stored event to the next, so the last one's hash,
	// if its run's history recorded it as a saved head, vouches for all of
	// them back to PrevHash, which is this run's own.
	last := evs[len(evs)-1]
	heads, err := a.savedHeads(ctx, self.ID, last.RunID)
	if err != nil {
		return ForkResolution{Problem: fmt.Sprintf("the history of run %s cannot be read: %v", last.RunID, err)}, nil
	}
	if heads[last.Seq] != last.Hash {
		return ForkResolution{Problem: fmt.Sprintf("event %d is not a head run %s saved", last.Seq, last.RunID)}, nil
	}
	return ForkResolution{
		Reset: true, Head: chain.Head{Seq: last.Seq, Hash: last.Hash}, RunIDs: runs,
		Operator: kyc.CleanText(operator, kyc.MaxSubjectLen), Reason: kyc.CleanText(reason, kyc.MaxReasonLen),
	}, nil
}

// forkChainProblem checks that the stored events continue the calling
// run's chain at FromSeq, chain among themselves, and were saved by other
// runs.
func forkChainProblem(evs []store.Event, in ResolveForkInput, self string) string {
	if len(evs) == 0 {
		return fmt.Sprintf("the log has no events from seq %d: it differs from the workflow's before them", in.FromSeq)
	}
	prev := in.PrevHash
	for i, e := range evs {
		switch {
		case e.Seq != in.FromSeq+int64(i):
			return fmt.Sprintf("event %d is missing", in.FromSeq+int64(i))
		case e.PrevHash != prev || chain.Next(prev, e.Chain()) != e.Hash:
			return fmt.Sprintf("event %d does not chain to the event before it", e.Seq)
		case e.RunID == "" || e.RunID == self:
			return fmt.Sprintf("event %d was not saved by an earlier run", e.Seq)
		}
		prev = e.Hash
	}
	return ""
}

// resetMarker finds Temporal's reset marker in a run's history: the failed
// workflow task whose cause is a Reset, with the operator's identity and
// reason.
func (a *Activities) resetMarker(ctx context.Context, workflowID, runID string) (operator, reason string, found bool, err error) {
	it := a.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", "", false, temporal.NewApplicationErrorWithCause(
				fmt.Sprintf("resolve fork of %s: read history: %v", workflowID, err), ErrTemporal, err)
		}
		at := ev.GetWorkflowTaskFailedEventAttributes()
		if at != nil && at.GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
			operator, reason, found = at.GetIdentity(), at.GetFailure().GetMessage(), true
			if strings.HasPrefix(operator, "history-") {
				// The server's own identity: Temporal (1.29) does not
				// record who asked for the reset, only the reason.
				operator = ""
			}
		}
	}
	return operator, reason, found, nil
}

// savedHeads lists the log heads (seq → hash) a run's saves reported:
// SaveCase runs as a local activity, whose result, not its input, is in the
// history.
func (a *Activities) savedHeads(ctx context.Context, workflowID, runID string) (map[int64]string, error) {
	dc := a.Payloads
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	heads := map[int64]string{}
	it := a.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		at := ev.GetMarkerRecordedEventAttributes()
		if at == nil || at.GetMarkerName() != "LocalActivity" || at.GetFailure() != nil {
			continue
		}
		var meta struct{ ActivityType string }
		if err := dc.FromPayloads(at.GetDetails()["data"], &meta); err != nil || meta.ActivityType != "SaveCase" {
			continue
		}
		var res SaveCaseResult
		if err := dc.FromPayloads(at.GetDetails()["result"], &res); err != nil {
			return nil, fmt.Errorf("decode a SaveCase result: %w", err)
		}
		if res.Saved.Seq > 0 {
			heads[res.Saved.Seq] = res.Saved.Hash
		}
	}
	return heads, nil
}
