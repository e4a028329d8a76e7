package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// KYCCase is one case, registered as WorkflowName. The case's rules are
// the state machine of package core; this is how Temporal drives it:
//
//  1. open the case (or resume it after continue-as-new, or end it for the
//     reconciler after its last run was closed from outside);
//  2. listen: requests arrive as updates (checked by the core before they
//     are accepted, answered once their change is saved), 100ms webhooks as
//     signals, questions as queries; each becomes an input of the core;
//  3. run the effects the core calls for: the saves of the log and the
//     projection in a loop of their own, the rooms' work (create, close)
//     and the recording's (verify, ask 100ms) each in a coroutine started
//     for it; their outcomes are inputs again;
//  4. wait for the next deadline or change, until the case is over and
//     saved, and return its view.
//
// A cancel request from Temporal (Request Cancellation) ends the case as the
// bank's cancel does; the effects run on a context the request does not
// cancel, so that the room is still closed and the log saved.
func KYCCase(ctx workflow.Context, in CaseInput) (kyc.CaseView, error) {
	c, err := openCase(ctx, in)
	if err != nil {
		return kyc.CaseView{}, err
	}
	if err := c.listen(ctx); err != nil {
		return kyc.CaseView{}, err
	}
	work, _ := workflow.NewDisconnectedContext(ctx)
	if c.in.Revision < 1 {
		workflow.Go(work, c.runRooms)
		workflow.Go(work, c.runRecording)
	}
	workflow.Go(work, c.runSaves)
	workflow.Go(work, c.runWebhooks)
	return c.run(ctx, work)
}

// kycCase is one run of the workflow: the case's state plus what a run
// needs to drive it. Only the state crosses continue-as-new.
type kycCase struct {
	in      CaseInput
	s       *core.State
	signals workflow.ReceiveChannel // SignalHMSEvent, one event
	batches workflow.ReceiveChannel // SignalHMSEvents, the dispatcher's
	logger  log.Logger

	// tick changes whenever anything happens; the main loop sleeps until it
	// changes or the next deadline.
	tick                             int
	roomsBusy, recordingBusy, saving bool
	// locals counts the local calls the saves wait for, so that a change
	// and the outcome of the call it asked for are saved together: the
	// room's creation and the recording's check, which no request waits on
	// (closing a room is not waited for: the agent's decision and a cancel
	// must not wait on 100ms).
	locals    int
	published published
	// timer fires at timerAt. A later deadline keeps it: it wakes the loop
	// early, which then arms the next one. Timers are never cancelled, so
	// that a case's many changes add no timer events to its history.
	timer   workflow.Future
	timerAt time.Time
}

// openCase makes the run's case: a new one, opened; or the state a
// previous run carried over, ended at once if the reconciler says its last
// run was closed from outside.
func openCase(ctx workflow.Context, in CaseInput) (*kycCase, error) {
	c := &kycCase{
		signals: workflow.GetSignalChannel(ctx, SignalHMSEvent),
		batches: workflow.GetSignalChannel(ctx, SignalHMSEvents),
		logger:  log.With(workflow.GetLogger(ctx), "case_id", in.CaseID),
	}
	if in.Revision >= 1 {
		c.published.search = searchValuesAtStart(ctx)
	}
	if in.Resume != nil {
		c.s, c.in = in.Resume, in
		c.in.Resume, c.in.Close = nil, nil
		if in.Close != nil {
			c.apply(ctx, core.ClosedOutside{Order: *in.Close})
		}
		c.publish(ctx)
		return c, nil
	}
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidCaseInput", err)
	}
	c.in = in.normalized()
	created := c.in.CreatedAt
	if created.IsZero() {
		created = workflow.Now(ctx)
	}
	c.s = core.New(c.in.CaseID, c.in.CustomerRef, c.in.RequiredCaptures, c.in.AuditRejections, c.in.Timeouts.Limits(),
		core.RecordingLocation(c.in.Recordings), created)
	by := core.Actor{ID: c.in.CreatedBy, Role: kyc.RoleService}
	if by.ID == "" {
		by.ID = "api"
	}
	c.apply(ctx, core.Open{By: by})
	return c, nil
}

// apply feeds one input to the case and publishes the result.
func (c *kycCase) apply(ctx workflow.Context, in core.Input) {
	for _, fx := range core.Apply(c.s, workflow.Now(ctx), in) {
		if bug, ok := fx.(core.Bug); ok {
			c.logger.Error("the case refused a change of its own", "input", inputName(in), "bug", bug.What)
		}
	}
	c.tick++
}

// listen installs the queries, the update handlers with their validators,
// and the webhook signal.
func (c *kycCase) listen(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryCase, func() (kyc.CaseView, error) {
		return c.s.View(), nil
	}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, QueryWitness, func() (Witness, error) {
		w := Witness{Saved: c.s.Log.Saved}
		for _, e := range c.s.Log.Unsaved {
			w.Unsaved = append(w.Unsaved, chain.Head{Seq: e.Seq, Hash: e.Hash})
		}
		return w, nil
	}); err != nil {
		return err
	}
	return errors.Join(
		handle[AssignAgentRequest](ctx, c, UpdateAssignAgent),
		workflow.SetUpdateHandlerWithOptions(ctx, UpdateJoin, c.join, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, req JoinRequest) error {
				_, err := c.check(ctx, req)
				return err
			}}),
		handle[AddCaptureRequest](ctx, c, UpdateAddCapture),
		handle[AgentDecisionRequest](ctx, c, UpdateAgentDecision),
		handle[AuditDecisionRequest](ctx, c, UpdateAuditDecision),
		handle[CancelRequest](ctx, c, UpdateCancel),
		handle[CustomerEvidenceRequest](ctx, c, UpdateCustomerEvidence),
	)
}

// handle registers an update whose request is an input of the core: the
// core's check is its validator (a refused request never reaches the
// history) and its handler (validators do not run on replay).
func handle[R core.Input](ctx workflow.Context, c *kycCase, name string) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, name,
		func(ctx workflow.Context, req R) (Answer, error) { return c.request(ctx, req) },
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req R) error {
			_, err := c.check(ctx, req)
			return err
		}})
}

func (c *kycCase) check(ctx workflow.Context, in core.Input) (repeat bool, err error) {
	repeat, refusal := core.Check(c.s, workflow.Now(ctx), in)
	if refusal != nil {
		return false, temporal.NewApplicationError(refusal.Msg, refusal.Kind)
	}
	return repeat, nil
}

// request applies a request and answers once the change is saved: the API
// reads the case from the projection, which then shows the change, and a
// 200 means the change is in the case's event log. A repeated request
// waits, as its first answer did, until the case as it stands is saved.
// The answer is the version only, not the view: every answer is kept in
// the history.
func (c *kycCase) request(ctx workflow.Context, in core.Input) (Answer, error) {
	repeat, err := c.check(ctx, in)
	if err != nil {
		return Answer{}, err
	}
	if !repeat {
		c.apply(ctx, in)
	}
	version := c.s.Log.Version
	// Await fails only when the workflow is cancelled; the answer stands.
	_ = workflow.Await(ctx, func() bool { return c.s.Log.Saved.Seq >= version || len(c.s.Log.Unsaved) == 0 })
	return Answer{Version: version}, nil
}

// join answers once the current attempt has its room: the workflow
// creates it right after the case starts and after each new attempt, and a
// join token is for that room. It answers an error if the case ends first.
func (c *kycCase) join(ctx workflow.Context, req JoinRequest) (Answer, error) {
	a, err := c.request(ctx, req)
	if err != nil {
		return a, err
	}
	_ = workflow.Await(ctx, func() bool { return c.s.CurrentAttempt().RoomID != "" || c.s.Status.Terminal() })
	if c.s.Status.Terminal() {
		return Answer{}, temporal.NewApplicationError(
			fmt.Sprintf("case is %s; nobody joins it any more", c.s.Status), RejectInvalidState)
	}
	a.RoomID = c.s.CurrentAttempt().RoomID
	return a, nil
}

// runWebhooks applies 100ms's events as the inbox dispatcher (or an
// operator) signals them.
func (c *kycCase) runWebhooks(ctx workflow.Context) {
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(c.signals, func(ch workflow.ReceiveChannel, _ bool) {
		var ev HMSEvent
		ch.Receive(ctx, &ev)
		c.apply(ctx, core.Webhook{Event: ev})
	})
	sel.AddReceive(c.batches, func(ch workflow.ReceiveChannel, _ bool) {
		var evs []HMSEvent
		ch.Receive(ctx, &evs)
		for _, ev := range evs {
			c.apply(ctx, core.Webhook{Event: ev})
		}
	})
	for {
		sel.Select(ctx)
	}
}

// drainSignals applies signals already delivered but not yet received, so
// that none is lost when the run continues as new.
func (c *kycCase) drainSignals(ctx workflow.Context) {
	for {
		var ev HMSEvent
		var evs []HMSEvent
		switch {
		case c.signals.ReceiveAsync(&ev):
			evs = []HMSEvent{ev}
		case c.batches.ReceiveAsync(&evs):
		default:
			return
		}
		for _, ev := range evs {
			c.apply(ctx, core.Webhook{Event: ev})
		}
	}
}

// run is the main loop: it fires deadlines, handles a cancel request, and
// finishes or continues as new when it may.
func (c *kycCase) run(ctx, work workflow.Context) (kyc.CaseView, error) {
	for {
		if ctx != work && ctx.Err() != nil {
			c.cancelRequested(work)
			ctx = work
		}
		c.apply(ctx, core.Tick{})
		// Once per wake, not per input: each change of the search
		// attributes is an event in the history.
		c.publish(ctx)
		if c.in.Revision >= 1 {
			c.startWork(work)
		}
		if c.finished() {
			break
		}
		// Updates waiting for their save must be answered first; waiting
		// for them inside continueAsNew would hold deadlines and let room
		// or recording work start that the new run would not see.
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && !c.roomsBusy && !c.recordingBusy &&
			workflow.AllHandlersFinished(ctx) {
			return kyc.CaseView{}, c.continueAsNew(ctx)
		}
		// A cancel request wakes the sleep with a canceled error; the top
		// of the loop handles it.
		if err := c.sleep(ctx); err != nil && (ctx == work || !temporal.IsCanceledError(err)) {
			return kyc.CaseView{}, err
		}
	}
	// The projection must show the final status before the workflow reports
	// it; a failing database keeps the case open, not its log incomplete.
	// Updates waiting for that save are answered before the run ends.
	if err := workflow.Await(work, func() bool {
		return len(c.s.Log.Unsaved) == 0 && !c.saving && workflow.AllHandlersFinished(work)
	}); err != nil {
		return kyc.CaseView{}, err
	}
	return c.s.View(), nil
}

// finished reports whether the case is over and nothing is left to do but
// the last save.
func (c *kycCase) finished() bool {
	return c.s.Finished() && !c.roomsBusy && !c.recordingBusy
}

// sleep waits until something changes or the next deadline passes.
func (c *kycCase) sleep(ctx workflow.Context) error {
	tick := c.tick
	if c.timer != nil && c.timer.IsReady() {
		c.timer = nil // it woke the loop once; the deadlines are re-read below
	}
	if d, ok := c.s.NextDeadline(); ok && (c.timer == nil || d.At.Before(c.timerAt)) {
		wait := d.At.Sub(workflow.Now(ctx))
		if wait <= 0 {
			return nil
		}
		c.timer = workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: d.What})
		c.timerAt = d.At
	}
	timer := c.timer
	return workflow.Await(ctx, func() bool { return c.tick != tick || (timer != nil && timer.IsReady()) })
}

// continueAsNew keeps the history bounded on long cases: signals already
// delivered are applied so that none is lost, and the state (unsaved events
// and pending room work included) travels in the input.
func (c *kycCase) continueAsNew(ctx workflow.Context) error {
	c.drainSignals(ctx)
	next := c.in
	next.Resume = c.s
	c.logger.Info("continuing as new", "version", c.s.Log.Version)
	return workflow.NewContinueAsNewError(ctx, WorkflowName, next)
}

// cancelRequested ends the case as the bank's cancel does when an operator
// asked Temporal to cancel the workflow, in the name of the identity
// Temporal recorded with the request (read from the history: the workflow
// only learns that it was cancelled).
func (c *kycCase) cancelRequested(ctx workflow.Context) {
	if c.s.Status.Terminal() {
		return // already ending; the run finishes its saves and completes
	}
	var req activities.CancelRequestInfo
	actx := workflow.WithActivityOptions(ctx, activities.TemporalOptions())
	if err := workflow.ExecuteActivity(actx, acts.CancelRequest).Get(ctx, &req); err != nil {
		// The request is certain, only its author is not.
		c.logger.Error("reading the cancel request failed", "error", err)
	}
	c.logger.Info("cancel requested in Temporal", "by", req.Identity)
	c.apply(ctx, core.CancelRequested{By: core.Actor{ID: req.Identity, Role: kyc.RoleOperator}, Reason: req.Reason})
}

// acts names the activities; the nil receiver is never called (the worker
// resolves each method by name to its registered *activities.Activities).
var acts *activities.Activities

// startWork starts the room and the recording work the case calls for,
// each in a coroutine that ends with it, so that a case at rest holds no
// coroutine of its own for them (revision 0 runs runRooms and runRecording
// throughout). A work whose local call the saves wait for holds them from
// here: its coroutine runs later in this task than the save loop.
func (c *kycCase) startWork(work workflow.Context) {
	if w, ok := c.s.NextRoomWork(); ok {
		_, hold := w.(core.CreateRoom)
		c.goWork(work, &c.roomsBusy, hold, func(ctx workflow.Context) { c.roomWork(ctx, w) })
	}
	if w, ok := c.s.NextRecordingWork(); ok {
		_, hold := w.(core.VerifyRecording)
		c.goWork(work, &c.recordingBusy, hold, func(ctx workflow.Context) { c.recordingWork(ctx, w) })
	}
}

// goWork runs one work in a coroutine of its own unless work of its kind
// is running (busy); hold says whether the saves wait for its local call.
func (c *kycCase) goWork(work workflow.Context, busy *bool, hold bool, run func(workflow.Context)) {
	if *busy {
		return
	}
	*busy = true
	c.holdSaves(hold)
	workflow.Go(work, func(ctx workflow.Context) {
		c.releaseSaves(hold)
		run(ctx)
		*busy = false
		c.tick++
	})
}

func (c *kycCase) holdSaves(hold bool) {
	if hold {
		c.locals++
	}
}

func (c *kycCase) releaseSaves(hold bool) {
	if hold {
		c.locals--
	}
}

// runWork is revision 0's coroutine for one kind of work, alive for the
// whole run: it waits for the work next finds due and does it, one at a
// time, with busy set meanwhile.
func (c *kycCase) runWork(ctx workflow.Context, next func(*core.State) (core.Effect, bool), busy *bool,
	do func(workflow.Context, core.Effect)) {
	for {
		_ = workflow.Await(ctx, func() bool { _, ok := next(c.s); return ok })
		work, _ := next(c.s)
		*busy = true
		do(ctx, work)
		*busy = false
	}
}

// runRooms closes rooms (oldest first) and creates the current attempt's,
// in revision 0.
func (c *kycCase) runRooms(ctx workflow.Context) {
	c.runWork(ctx, (*core.State).NextRoomWork, &c.roomsBusy, c.roomWork)
}

func (c *kycCase) roomWork(ctx workflow.Context, work core.Effect) {
	switch w := work.(type) {
	case core.CreateRoom:
		var room activities.RoomInfo
		err := c.callHMS(ctx, true, acts.CreateRoom, activities.CreateRoomInput{CaseID: c.s.CaseID, Attempt: w.Attempt}, &room)
		if err != nil {
			c.logger.Error("create room failed", "attempt", w.Attempt, "error", err)
			c.apply(ctx, core.RoomNotCreated{Attempt: w.Attempt, Error: errorText(err)})
		} else {
			c.apply(ctx, core.RoomCreated{Attempt: w.Attempt, RoomID: room.ID, Name: room.Name})
		}
	case core.CloseRoom:
		c.apply(ctx, c.closeRoom(ctx, w.RoomOp))
	}
}

// callHMS makes a room's 100ms call. From revision 1 it is first a local
// activity, run in the workflow task that asked for it (no activity task:
// three history events and a task fewer); should 100ms not answer within
// its few tries, the call goes on as a regular activity with the full
// retry policy, so that an outage holds neither the task nor the worker.
// hold says whether the saves wait for the local call.
func (c *kycCase) callHMS(ctx workflow.Context, hold bool, activity, in, out any) error {
	if c.in.Revision >= 1 {
		c.holdSaves(hold)
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, activities.HMSLocalOptions()), activity, in).
			Get(ctx, out)
		c.releaseSaves(hold)
		if err == nil || errorType(err) == activities.ErrHMSPermanent {
			return err
		}
		c.logger.Warn("100ms did not answer the local call; retrying as an activity", "error", err)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.HMSOptions()), activity, in).Get(ctx, out)
}

func (c *kycCase) closeRoom(ctx workflow.Context, op core.RoomOp) core.RoomClosed {
	done := core.RoomClosed{Op: op}
	if a := c.s.AttemptNumber(op.Attempt); a != nil {
		done.RoomID = a.RoomID
	}
	if done.RoomID == "" {
		return done // the room was never created, so nobody can be in it
	}
	err := c.callHMS(ctx, false, acts.CloseRoom, activities.CloseRoomInput{
		RoomID: done.RoomID, Reason: "kyc attempt closed: " + op.Reason, End: op.End,
	}, nil)
	if err != nil {
		// The case must not hang on a room 100ms will not close; the
		// reconciler ends it later.
		c.logger.Error("close room failed", "attempt", op.Attempt, "room_id", done.RoomID, "error", err)
		done.Error = errorText(err)
	}
	return done
}

// runRecording verifies announced recordings and asks 100ms for late ones,
// in revision 0.
func (c *kycCase) runRecording(ctx workflow.Context) {
	c.runWork(ctx, (*core.State).NextRecordingWork, &c.recordingBusy, c.recordingWork)
}

func (c *kycCase) recordingWork(ctx workflow.Context, work core.Effect) {
	switch w := work.(type) {
	case core.VerifyRecording:
		c.verifyRecording(ctx, w)
	case core.PollRecording:
		var found activities.FoundRecording
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.HMSOptions()), acts.FindRecording,
			activities.FindRecordingInput{RoomID: w.RoomID, SessionID: w.SessionID}).Get(ctx, &found)
		polled := core.RecordingPolled{Attempt: w.Attempt, ErrorType: errorType(err)}
		if err == nil && found.Found {
			polled.Found = &core.FoundRecording{ID: found.ID, Path: found.Path, Size: found.Size, Duration: found.Duration}
		}
		c.apply(ctx, polled)
	}
}

// verifyRecording checks the recording in the bucket. From revision 1 it
// first does so as a local activity, in the task that learnt of the
// recording; an object not there yet, a recording too long to read within
// the local call's 20 seconds, or storage that fails, is then checked by a
// regular activity, with StorageOptions' heartbeats and retries.
func (c *kycCase) verifyRecording(ctx workflow.Context, w core.VerifyRecording) {
	in := activities.VerifyRecordingInput{CaseID: c.s.CaseID, Attempt: w.Attempt, Path: w.Path}
	var check activities.RecordingCheck
	var err error
	done := false
	if c.in.Revision >= 1 {
		c.locals++
		done, err = c.awaitWanted(ctx, w, func(ctx workflow.Context) workflow.Future {
			return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, activities.StorageLocalOptions()),
				acts.VerifyRecording, in)
		}, &check)
		c.locals--
		if !done {
			return
		}
		if err != nil && !slices.Contains(activities.RecordingVerdicts, errorType(err)) {
			done = false // storage failed, the object is not there yet, or the read took too long
		}
	}
	if !done {
		if done, err = c.awaitWanted(ctx, w, func(ctx workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.StorageOptions()), acts.VerifyRecording, in)
		}, &check); !done {
			return
		}
	}
	if err != nil {
		c.logger.Warn("recording not verified", "attempt", w.Attempt, "error", err)
		c.apply(ctx, core.RecordingNotVerified{For: w, ErrorType: errorType(err)})
		return
	}
	c.apply(ctx, core.RecordingVerified{For: w, Check: core.RecordingCheck{Size: check.Size, SHA256: check.SHA256, ETag: check.ETag}})
}

// awaitWanted runs a verification of w and waits for it while the attempt
// still wants it: storage outages are retried without limit, so it stops
// waiting (and cancels the call) as soon as the attempt is gone (aborted,
// cancelled, expired). done is false when it stopped waiting.
func (c *kycCase) awaitWanted(ctx workflow.Context, w core.VerifyRecording, run func(workflow.Context) workflow.Future,
	out *activities.RecordingCheck) (done bool, err error) {
	actx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	f := run(actx)
	_ = workflow.Await(ctx, func() bool { return f.IsReady() || !c.s.StillWanted(w) })
	if !f.IsReady() {
		return false, nil
	}
	return true, f.Get(ctx, out)
}

// runSaves persists events and the view through SaveCase, one call at a
// time and in order; whatever accumulates during a call goes in the next.
// SaveCase runs as a local activity, inside the workflow task that made
// the change: an update is answered in the task that applied it, with no
// activity task between. A local 100ms or storage call in the same task
// (bounded by its options) is waited for, so that one save holds both. Events a failed task saved come back as
// unconfirmed (see activities.SaveCase) and the case continues after them.
func (c *kycCase) runSaves(ctx workflow.Context) {
	ctx = workflow.WithLocalActivityOptions(ctx, activities.SaveOptions())
	for {
		_ = workflow.Await(ctx, func() bool { return len(c.s.Log.Unsaved) > 0 && c.locals == 0 })
		batch := c.s.Log.Unsaved
		in := activities.SaveCaseInput{View: c.s.View(), Events: slices.Clone(batch), Witnessed: c.s.Log.Saved}
		c.saving = true
		var res activities.SaveCaseResult
		var err error
		if c.s.Status.Terminal() {
			// The last saves run as a regular activity, so that the task
			// which completes the workflow has no side effect of its own:
			// Temporal refuses a completion when a webhook arrived during
			// its task, and a local activity's writes in that task would
			// then be in the log but not in the history.
			err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.SaveActivityOptions()), acts.SaveCase, in).Get(ctx, &res)
		} else {
			err = workflow.ExecuteLocalActivity(ctx, acts.SaveCase, in).Get(ctx, &res)
		}
		c.saving = false
		switch {
		case err == nil && res.Unconfirmed != nil:
			c.apply(ctx, core.Forked{From: res.Unconfirmed.From, Head: res.Unconfirmed.Head, By: core.System,
				RunIDs: []string{workflow.GetInfo(ctx).WorkflowExecution.RunID}, Reason: core.ReasonUnconfirmedSave})
			continue
		case err == nil:
			c.apply(ctx, core.Saved{Through: batch[len(batch)-1].Seq})
			continue
		case errorType(err) == activities.ErrCaseEventConflict && c.resolveFork(ctx, batch[0].Seq):
			continue // rebased after an operator's Reset: save the renumbered events now
		}
		// Never give up on the log: keep the events and try again, soon
		// after an outage outlasted the retries, much later after a refusal
		// (the store holds other events at these sequence numbers, or
		// rejects the data), which needs a person.
		pause := savePauseAfterOutage
		if t := errorType(err); t == activities.ErrCaseEventConflict || t == activities.ErrCaseInvalid {
			pause = savePauseAfterRefusal
			workflow.GetMetricsHandler(ctx).Counter(activities.MetricCaseSaveRefused).Inc(1)
		}
		c.logger.Error("save case failed", "first_seq", batch[0].Seq, "retry_in", pause, "error", err)
		_ = workflow.Sleep(ctx, pause)
	}
}

const (
	savePauseAfterOutage  = time.Minute
	savePauseAfterRefusal = 10 * time.Minute
)

// resolveFork handles a save refused because the log holds other events
// from seq from on. After an operator's Reset that is expected: the
// discarded run saved events this run now makes differently. Once
// ResolveFork has confirmed that against Temporal's own histories, the case
// keeps the discarded events (they happened, and the log is append-only),
// says so with a log_rebased event naming them, and continues after them.
// Anything else is a log changed outside the engine: an alert, and the
// case waits for a person.
func (c *kycCase) resolveFork(ctx workflow.Context, from int64) bool {
	saved := c.s.Log.Saved
	prev := saved.Hash
	if saved.Seq == 0 {
		prev = chain.Genesis
	}
	if prev == "" || saved.Seq != from-1 {
		return false
	}
	var res activities.ForkResolution
	actx := workflow.WithActivityOptions(ctx, activities.TemporalOptions())
	err := workflow.ExecuteActivity(actx, acts.ResolveFork,
		activities.ResolveForkInput{CaseID: c.s.CaseID, FromSeq: from, PrevHash: prev}).Get(ctx, &res)
	if err != nil || !res.Reset {
		c.logger.Error("alert: the case's event log differs from the workflow's", "from_seq", from,
			"problem", res.Problem, "error", err)
		workflow.GetMetricsHandler(ctx).Counter(activities.MetricCaseLogDiverged).Inc(1)
		return false
	}
	who := core.Actor{ID: res.Operator, Role: kyc.RoleOperator}
	if who.ID == "" {
		who.ID = "temporal"
	}
	c.logger.Warn("event log rebased after a reset", "discarded_from", from, "discarded_to", res.Head.Seq)
	c.apply(ctx, core.Forked{From: from, Head: res.Head, RunIDs: res.RunIDs, By: who, Reason: res.Reason})
	return true
}

func errorType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	if err != nil {
		return "error"
	}
	return ""
}

// errorText is an error for the event log, cut short: activity errors carry
// no secrets (the activities make sure) but may be long.
func errorText(err error) string {
	return kyc.CleanText(err.Error(), 300)
}
