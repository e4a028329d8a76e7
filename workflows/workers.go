package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/chain"
	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// acts names the activities; the nil receiver is never called (the worker
// resolves each method by name to its registered *activities.Activities).
var acts *activities.Activities

// The workers are coroutines that own the side effects, one queue each, so
// that a slow 100ms or database never delays the state machine, the updates
// or the timers. Each waits on the state, does one thing, applies the result
// and wakes the main loop.
func (c *kycCase) startWorkers(ctx workflow.Context) {
	workflow.Go(ctx, c.signalWorker)
	workflow.Go(ctx, c.roomWorker)
	workflow.Go(ctx, c.recordingWorker)
	workflow.Go(ctx, c.saveWorker)
}

func (c *kycCase) signalWorker(ctx workflow.Context) {
	for {
		var ev HMSEvent
		c.signals.Receive(ctx, &ev)
		c.onHMSEvent(ctx, ev)
	}
}

// drainSignals applies signals already delivered but not yet received, so
// that none is lost when the run continues as new.
func (c *kycCase) drainSignals(ctx workflow.Context) {
	var ev HMSEvent
	for c.signals.ReceiveAsync(&ev) {
		c.onHMSEvent(ctx, ev)
		ev = HMSEvent{}
	}
}

// roomWorker closes rooms (oldest first, so a disabled room never lingers
// behind a new one) and creates the current attempt's room.
func (c *kycCase) roomWorker(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, activities.HMSOptions())
	for {
		_ = workflow.Await(ctx, func() bool { return len(c.s.RoomOps) > 0 || c.needsRoom() })
		c.roomsBusy = true
		if len(c.s.RoomOps) > 0 {
			c.closeRoom(ctx, c.s.RoomOps[0])
			c.s.RoomOps = c.s.RoomOps[1:]
		} else {
			c.createRoom(ctx)
		}
		c.roomsBusy = false
		c.afterChange(ctx)
	}
}

func (c *kycCase) needsRoom() bool {
	return !c.s.View.Status.Terminal() && c.s.attempt().RoomID == ""
}

func (c *kycCase) createRoom(ctx workflow.Context) {
	n := c.s.View.Attempt
	var room activities.RoomInfo
	err := workflow.ExecuteActivity(ctx, acts.CreateRoom, activities.CreateRoomInput{CaseID: c.s.View.ID, Attempt: n}).
		Get(ctx, &room)
	if err != nil {
		c.logger.Error("create room failed", "attempt", n, "error", err)
		if n == c.s.View.Attempt && !c.s.View.Status.Terminal() {
			c.record(ctx, EventRoomCreateFailed, systemActor, eventData{Attempt: n, Error: errorText(err)})
			c.terminate(ctx, kyc.StatusFailed, ReasonRoomCreationFailed, systemActor)
		}
		return
	}
	// Kept even if the attempt ended meanwhile: closing its room needs the id.
	c.s.attemptByNumber(n).RoomID = room.ID
	c.record(ctx, EventRoomCreated, systemActor, eventData{Attempt: n, RoomID: room.ID, RoomName: room.Name})
}

func (c *kycCase) closeRoom(ctx workflow.Context, op RoomOp) {
	a := c.s.attemptByNumber(op.Attempt)
	if a == nil || a.RoomID == "" {
		return // the room was never created, so nobody can be in it
	}
	reason := "kyc attempt closed: " + op.Reason
	err := error(nil)
	if op.End {
		err = workflow.ExecuteActivity(ctx, acts.EndRoom,
			activities.EndRoomInput{RoomID: a.RoomID, Reason: reason, Lock: true}).Get(ctx, nil)
	}
	if err == nil {
		err = workflow.ExecuteActivity(ctx, acts.DisableRoom, a.RoomID).Get(ctx, nil)
	}
	d := eventData{Attempt: op.Attempt, RoomID: a.RoomID, Reason: op.Reason}
	if err != nil {
		// The case must not hang on a room 100ms will not close; operators
		// find the room in the log and the details.
		c.logger.Error("close room failed", "attempt", op.Attempt, "room_id", a.RoomID, "error", err)
		d.Error = errorText(err)
		c.record(ctx, EventRoomCloseFailed, systemActor, d)
		return
	}
	c.record(ctx, EventRoomClosed, systemActor, d)
}

// recordingWorker verifies announced recordings and asks 100ms for late ones.
func (c *kycCase) recordingWorker(ctx workflow.Context) {
	for {
		_ = workflow.Await(ctx, func() bool { return c.needsVerify() || c.needsPoll() })
		c.recordingBusy = true
		if c.needsVerify() {
			c.verifyRecording(ctx)
		} else {
			c.pollRecording(ctx)
		}
		c.recordingBusy = false
		c.afterChange(ctx)
	}
}

func (c *kycCase) needsVerify() bool {
	return !c.s.View.Status.Terminal() && c.s.View.Recording.Status == kyc.RecordingReported
}

func (c *kycCase) needsPoll() bool {
	v := &c.s.View
	pending := v.Recording.Status == kyc.RecordingPending || v.Recording.Status == kyc.RecordingStarted
	return !v.Status.Terminal() && pending && c.s.Call.PollDue && !c.s.Call.Polled
}

func (c *kycCase) verifyRecording(ctx workflow.Context) {
	n, path := c.s.View.Attempt, c.s.View.Recording.Path
	stillWanted := func() bool {
		return c.needsVerify() && c.s.View.Attempt == n && c.s.View.Recording.Path == path
	}
	actx, cancel := workflow.WithCancel(workflow.WithActivityOptions(ctx, activities.StorageOptions()))
	defer cancel()
	f := workflow.ExecuteActivity(actx, acts.VerifyRecording,
		activities.VerifyRecordingInput{CaseID: c.s.View.ID, Attempt: n, Path: path})
	// Storage outages are retried without limit, so stop waiting as soon as
	// the attempt is gone (aborted, cancelled, expired).
	_ = workflow.Await(ctx, func() bool { return f.IsReady() || !stillWanted() })
	if !f.IsReady() || !stillWanted() {
		return
	}
	var check activities.RecordingCheck
	if err := f.Get(ctx, &check); err != nil {
		c.logger.Warn("recording not verified", "attempt", n, "error", err)
		c.recordingFailed(ctx, ReasonRecordingInvalid, errorType(err), systemActor)
		return
	}
	c.recordingVerified(ctx, check)
}

func (c *kycCase) recordingVerified(ctx workflow.Context, check activities.RecordingCheck) {
	v := &c.s.View
	r := &v.Recording
	r.Status, r.Size, r.SHA256, r.ETag = kyc.RecordingVerified, check.Size, check.SHA256, check.ETag
	r.VerifiedAt = timePtr(workflow.Now(ctx))
	c.record(ctx, EventRecordingChecked, systemActor, eventData{
		Attempt: v.Attempt, RecordingID: r.ID, Path: r.Path, Size: r.Size, Duration: r.Duration, SHA256: r.SHA256, ETag: r.ETag,
	})
	if v.Status == kyc.StatusAwaitingRecording {
		c.setStatus(ctx, kyc.StatusAwaitingAudit, "", systemActor)
	}
}

// pollRecording asks 100ms once for a recording whose webhook is late.
func (c *kycCase) pollRecording(ctx workflow.Context) {
	n := c.s.View.Attempt
	c.s.Call.Polled = true
	in := activities.FindRecordingInput{RoomID: c.s.attempt().RoomID, SessionID: c.s.Call.CallSessionID}
	var found activities.FoundRecording
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.HMSOptions()), acts.FindRecording, in).
		Get(ctx, &found)
	if c.s.View.Attempt != n || !c.needsPollResult() {
		return // the webhook came meanwhile, or the attempt is gone
	}
	if err != nil || !found.Found {
		// After 30 minutes of retries an unreachable 100ms counts as "no
		// recording": the attempt cannot be approved without one.
		c.recordingFailed(ctx, ReasonRecordingMissing, errorType(err), systemActor)
		return
	}
	c.s.View.Recording = kyc.Recording{
		Status: kyc.RecordingReported, ID: found.ID, Path: found.Path, Size: found.Size, Duration: found.Duration,
	}
	c.record(ctx, EventRecordingFound, systemActor, eventData{
		Attempt: n, RecordingID: found.ID, Path: found.Path, Size: found.Size, Duration: found.Duration,
	})
}

func (c *kycCase) needsPollResult() bool {
	v := &c.s.View
	return !v.Status.Terminal() && (v.Recording.Status == kyc.RecordingPending || v.Recording.Status == kyc.RecordingStarted)
}

// saveWorker persists events and the view through SaveCase, one call at a
// time and in order; whatever accumulates during a call goes in the next.
//
// Version 1 runs SaveCase as a regular activity. A local activity writes to
// the database before its workflow task completes; when that task then fails
// (a killed worker, Temporal unreachable, a completion refused because a
// signal arrived meanwhile), the task runs again and makes the same sequence
// numbers with other times (workflow.Now moved on), which the store rightly
// refuses as a forked chain, and the case never saves again. A regular
// activity is scheduled only by a completed task, so its input is fixed in
// history before anything is written. Version 0 stays for cases started
// before the change.
func (c *kycCase) saveWorker(ctx workflow.Context) {
	regular := workflow.GetVersion(ctx, saveAsActivityChange, workflow.DefaultVersion, 1) == 1
	ctx = workflow.WithLocalActivityOptions(ctx, activities.SaveOptions())
	ctx = workflow.WithActivityOptions(ctx, activities.SaveActivityOptions())
	for {
		_ = workflow.Await(ctx, func() bool { return len(c.s.Unsaved) > 0 })
		batch := append([]activities.CaseEvent(nil), c.s.Unsaved...)
		in := activities.SaveCaseInput{View: cloneView(c.s.View), Events: batch}
		c.saving = true
		var err error
		if regular {
			err = workflow.ExecuteActivity(ctx, acts.SaveCase, in).Get(ctx, nil)
		} else {
			err = workflow.ExecuteLocalActivity(ctx, acts.SaveCase, in).Get(ctx, nil)
		}
		c.saving = false
		if err != nil && errorType(err) == activities.ErrCaseEventConflict && c.resolveFork(ctx, batch[0].Seq) {
			continue // rebased after an operator's Reset: save the renumbered events now
		}
		if err != nil {
			// Never give up on the log: keep the events and try again,
			// soon after an outage outlasted the retries, much later after
			// a refusal (the store holds other events at these sequence
			// numbers, or rejects the data), which needs a person.
			pause := savePauseAfterOutage
			if t := errorType(err); t == activities.ErrCaseEventConflict || t == activities.ErrCaseInvalid {
				pause = savePauseAfterRefusal
			}
			c.logger.Error("save case failed", "first_seq", batch[0].Seq, "retry_in", pause, "error", err)
			if pause == savePauseAfterRefusal {
				workflow.GetMetricsHandler(ctx).Counter(activities.MetricCaseSaveRefused).Inc(1)
			}
			_ = workflow.Sleep(ctx, pause)
			continue
		}
		last := batch[len(batch)-1]
		c.s.Saved = chain.Head{Seq: last.Seq, Hash: last.Hash}
		c.s.Unsaved = c.s.Unsaved[len(batch):]
		c.tick++
	}
}

// resolveFork handles a save refused because the log holds other events
// from seq from on. After an operator's Reset that is expected: the
// discarded run saved events this run now makes differently. Once
// ResolveFork has confirmed that against Temporal's own histories, the run
// keeps the discarded events (they happened, and the log is append-only),
// records a log_rebased event naming them and the operator, and renumbers
// its unsaved events after them, so the log shows the fork instead of
// hiding it and the projection follows this run. Anything else is a log
// changed outside the engine: that is an alert, and the case waits for a
// person.
func (c *kycCase) resolveFork(ctx workflow.Context, from int64) bool {
	prev := c.s.Saved.Hash
	if c.s.Saved.Seq == 0 {
		prev = chain.Genesis
	}
	if prev == "" || c.s.Saved.Seq != from-1 {
		return false // a case without its own chain cannot tell a reset from tampering
	}
	var res activities.ForkResolution
	actx := workflow.WithActivityOptions(ctx, activities.TemporalOptions())
	err := workflow.ExecuteActivity(actx, acts.ResolveFork,
		activities.ResolveForkInput{CaseID: c.s.View.ID, FromSeq: from, PrevHash: prev}).Get(ctx, &res)
	if err != nil || !res.Reset {
		c.logger.Error("alert: the case's event log differs from the workflow's", "from_seq", from,
			"problem", res.Problem, "error", err)
		workflow.GetMetricsHandler(ctx).Counter(activities.MetricCaseLogDiverged).Inc(1)
		return false
	}
	pending := c.s.Unsaved
	c.s.Unsaved = nil
	c.s.View.Version, c.s.Head, c.s.Saved = res.Head.Seq, res.Head, res.Head
	who := actor{ID: res.Operator, Role: kyc.RoleOperator}
	if who.ID == "" {
		who.ID = "temporal"
	}
	c.logger.Warn("event log rebased after a reset", "discarded_from", from, "discarded_to", res.Head.Seq)
	c.record(ctx, EventLogRebased, who, eventData{
		Attempt: c.s.View.Attempt, FromSeq: from, ToSeq: res.Head.Seq, RunIDs: res.RunIDs, Reason: res.Reason,
	})
	for _, e := range pending {
		c.s.View.Version++
		e.Seq, e.Hash = c.s.View.Version, ""
		c.append(e)
	}
	c.afterChange(ctx)
	return true
}

// saveAsActivityChange is the workflow.GetVersion change id of saveWorker.
const saveAsActivityChange = "save-case-as-activity"

const (
	savePauseAfterOutage  = time.Minute
	savePauseAfterRefusal = 10 * time.Minute
)

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
	const limit = 300
	s := err.Error()
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}
