package workflows

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// kycCase is one run of the workflow: the state plus what a run needs to
// drive it. Only s crosses continue-as-new.
type kycCase struct {
	in      CaseInput
	s       *State
	signals workflow.ReceiveChannel
	logger  log.Logger

	// tick changes whenever anything happens; the main loop sleeps until it
	// changes or the next deadline.
	tick                             int
	roomsBusy, recordingBusy, saving bool
	// answerAfterSave makes update handlers answer only once their change
	// is saved (see awaitSaved); runs started before it keep answering at
	// once.
	answerAfterSave bool
	published       publishedState

	timer       workflow.Future // fires at timerAt, the next deadline
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
}

// KYCCase is the case workflow, registered as WorkflowName. It returns the
// final view once the case is terminal, its rooms are closed and every event
// is saved.
func KYCCase(ctx workflow.Context, in CaseInput) (kyc.CaseView, error) {
	answerAfterSave := workflow.GetVersion(ctx, answerAfterSaveChange, workflow.DefaultVersion, 1) == 1
	c, err := newCase(ctx, in)
	if err != nil {
		return kyc.CaseView{}, err
	}
	c.answerAfterSave = answerAfterSave
	if err := c.registerMessages(ctx); err != nil {
		return kyc.CaseView{}, err
	}
	// A cancel request (the Web UI's "Request Cancellation", `temporal
	// workflow cancel`) cancels ctx. The case then still has to close its
	// room and save its log, so the side effects run on a context that the
	// request does not cancel; they end with the workflow.
	work, _ := workflow.NewDisconnectedContext(ctx)
	c.startWorkers(work)
	return c.run(ctx, work)
}

func newCase(ctx workflow.Context, in CaseInput) (*kycCase, error) {
	c := &kycCase{
		signals: workflow.GetSignalChannel(ctx, SignalHMSEvent),
		logger:  log.With(workflow.GetLogger(ctx), "case_id", in.CaseID),
	}
	if in.Resume != nil {
		c.in, c.s = in.normalized(), in.Resume
		c.in.Resume, c.in.Close = nil, nil
		if in.Close != nil {
			c.closedOutside(ctx, *in.Close)
		}
		c.afterChange(ctx)
		return c, nil
	}
	if err := in.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidCaseInput", err)
	}
	c.in = in.normalized()
	c.s = &State{}
	c.open(ctx)
	return c, nil
}

// open creates the case and its first attempt.
func (c *kycCase) open(ctx workflow.Context) {
	in := c.in
	created := in.CreatedAt
	if created.IsZero() {
		created = workflow.Now(ctx)
	}
	c.s.View = kyc.CaseView{
		ID:               in.CaseID,
		Status:           kyc.StatusWaitingForParticipants,
		Customer:         kyc.Customer{Reference: in.CustomerRef},
		RequiredCaptures: in.RequiredCaptures,
		AuditRejections:  in.AuditRejections,
		Attempts:         []kyc.Attempt{},
		Captures:         []kyc.Capture{},
		CreatedAt:        created,
	}
	by := actor{ID: in.CreatedBy, Role: kyc.RoleService}
	if by.ID == "" {
		by.ID = "api"
	}
	c.record(ctx, EventCaseCreated, by, eventData{CustomerRef: in.CustomerRef, Required: in.RequiredCaptures})
	c.startAttempt(ctx, 1, "", by)
	c.afterChange(ctx)
}

// run is the main loop: it fires deadlines, and finishes or continues as new
// when it may. Everything else happens in handlers and workers. A cancel
// request ends the case as the bank's cancel does; from then on the loop runs
// on work, which the request does not cancel, until the room is closed and
// the log saved.
func (c *kycCase) run(ctx, work workflow.Context) (kyc.CaseView, error) {
	for {
		if ctx != work && ctx.Err() != nil {
			c.cancelRequested(work)
			ctx = work
		}
		c.fireDue(ctx)
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
		// A cancel request wakes the sleep with a canceled error; the top of
		// the loop handles it.
		if err := c.sleep(ctx); err != nil && (ctx == work || !temporal.IsCanceledError(err)) {
			return kyc.CaseView{}, err
		}
	}
	// The projection must show the final status before the workflow reports
	// it; a failing database keeps the case open, not its log incomplete.
	// Updates waiting for that save are answered before the run ends.
	if err := workflow.Await(work, func() bool {
		return len(c.s.Unsaved) == 0 && !c.saving && workflow.AllHandlersFinished(work)
	}); err != nil {
		return kyc.CaseView{}, err
	}
	return cloneView(c.s.View), nil
}

// sleep waits until something changes or the next deadline passes. The
// timer is kept while the deadline stays the same, so that the many signals
// of a call do not each add a timer start and cancel to the history.
func (c *kycCase) sleep(ctx workflow.Context) error {
	tick := c.tick
	d, ok := c.nextDeadline()
	if !ok {
		c.stopTimer()
		return workflow.Await(ctx, func() bool { return c.tick != tick })
	}
	if c.timer == nil || c.timer.IsReady() || !c.timerAt.Equal(d.at) {
		c.stopTimer()
		wait := d.at.Sub(workflow.Now(ctx))
		if wait <= 0 {
			return nil
		}
		tctx, cancel := workflow.WithCancel(ctx)
		c.timer = workflow.NewTimerWithOptions(tctx, wait, workflow.TimerOptions{Summary: d.what})
		c.timerAt, c.cancelTimer = d.at, cancel
	}
	timer := c.timer
	return workflow.Await(ctx, func() bool { return c.tick != tick || timer.IsReady() })
}

func (c *kycCase) stopTimer() {
	if c.cancelTimer != nil {
		c.cancelTimer()
	}
	c.timer, c.cancelTimer = nil, nil
}

// finished reports whether the case is over and nothing is left to do but
// the last save.
func (c *kycCase) finished() bool {
	return c.s.View.Status.Terminal() && len(c.s.RoomOps) == 0 && !c.roomsBusy && !c.recordingBusy
}

// continueAsNew keeps the history bounded on long cases. Handlers never
// block, but the SDK's rule is to let them finish; then signals already
// delivered are applied so that none is lost. Unsaved events and pending
// room operations travel in the state.
func (c *kycCase) continueAsNew(ctx workflow.Context) error {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	c.drainSignals(ctx)
	next := c.in
	next.Resume = c.s
	c.logger.Info("continuing as new", "version", c.s.View.Version)
	return workflow.NewContinueAsNewError(ctx, WorkflowName, next)
}
