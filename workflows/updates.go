package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/kyc"
)

// registerMessages installs the query, the update handlers and their
// validators. Handlers change state synchronously; side effects (100ms
// calls, verification, saves) belong to the workers. A handler then waits
// only for the save of its change (awaitSaved), so that an answered update
// is in the event log and the projection the API reads.
func (c *kycCase) registerMessages(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryCase, func() (kyc.CaseView, error) {
		return cloneView(c.s.View), nil
	}); err != nil {
		return err
	}
	updates := []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdateAssignAgent, c.assignAgent, func(_ workflow.Context, r AssignAgentRequest) error {
			_, err := c.checkAssign(r)
			return err
		}},
		{UpdateAddCapture, c.addCapture, func(_ workflow.Context, r AddCaptureRequest) error {
			_, err := c.checkCapture(r)
			return err
		}},
		{UpdateAgentDecision, c.agentDecision, func(_ workflow.Context, r AgentDecisionRequest) error {
			_, err := c.checkDecision(r)
			return err
		}},
		{UpdateAuditDecision, c.auditDecision, func(ctx workflow.Context, r AuditDecisionRequest) error {
			_, err := c.checkAudit(ctx, r)
			return err
		}},
		{UpdateCancel, c.cancel, func(_ workflow.Context, r CancelRequest) error {
			_, err := c.checkCancel(r)
			return err
		}},
		{UpdateCustomerEvidence, c.customerEvidence, func(_ workflow.Context, r CustomerEvidenceRequest) error {
			_, err := c.checkEvidence(r)
			return err
		}},
	}
	for _, u := range updates {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler,
			workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return err
		}
	}
	return nil
}

// Handlers check again: validators do not run when history is replayed, and
// the check keeps a handler correct on its own.

func (c *kycCase) assignAgent(ctx workflow.Context, req AssignAgentRequest) (kyc.CaseView, error) {
	repeat, err := c.checkAssign(req)
	if err != nil || repeat {
		return c.answerRepeat(ctx, err)
	}
	v := &c.s.View
	v.AgentID = req.AgentID
	v.Participants.Agent.ID = req.AgentID
	c.record(ctx, EventAgentAssigned, actor{req.AgentID, kyc.RoleAgent}, eventData{AgentID: req.AgentID})
	return c.answer(ctx), nil
}

func (c *kycCase) addCapture(ctx workflow.Context, req AddCaptureRequest) (kyc.CaseView, error) {
	repeat, err := c.checkCapture(req)
	if err != nil || repeat {
		return c.answerRepeat(ctx, err)
	}
	v := &c.s.View
	v.Captures = append(v.Captures, kyc.Capture{
		ID: req.CaptureID, Kind: req.Kind, ObjectKey: req.ObjectKey, Size: req.Size, SHA256: req.SHA256,
		ContentType: req.ContentType, Attempt: req.Attempt, CreatedBy: req.AgentID, CreatedAt: workflow.Now(ctx),
	})
	c.record(ctx, EventCaptureAdded, actor{req.AgentID, kyc.RoleAgent}, eventData{
		Attempt: req.Attempt, CaptureID: req.CaptureID, Kind: req.Kind, ObjectKey: req.ObjectKey,
		Size: req.Size, SHA256: req.SHA256, ContentType: req.ContentType,
	})
	return c.answer(ctx), nil
}

func (c *kycCase) agentDecision(ctx workflow.Context, req AgentDecisionRequest) (kyc.CaseView, error) {
	repeat, err := c.checkDecision(req)
	if err != nil || repeat {
		return c.answerRepeat(ctx, err)
	}
	c.decided(ctx, kyc.Verdict{By: req.AgentID, Outcome: req.Outcome, Reason: req.Reason, At: workflow.Now(ctx)},
		actor{req.AgentID, kyc.RoleAgent})
	return c.answer(ctx), nil
}

func (c *kycCase) auditDecision(ctx workflow.Context, req AuditDecisionRequest) (kyc.CaseView, error) {
	repeat, err := c.checkAudit(ctx, req)
	if err != nil || repeat {
		return c.answerRepeat(ctx, err)
	}
	c.audited(ctx, kyc.Verdict{By: req.AuditorID, Outcome: req.Outcome, Reason: req.Reason, At: workflow.Now(ctx)},
		actor{req.AuditorID, kyc.RoleAuditor})
	return c.answer(ctx), nil
}

func (c *kycCase) cancel(ctx workflow.Context, req CancelRequest) (kyc.CaseView, error) {
	repeat, err := c.checkCancel(req)
	if err != nil || repeat {
		return c.answerRepeat(ctx, err)
	}
	who := actor{req.By, kyc.Role(req.Role)}
	if who.Role == "" {
		who.Role = kyc.RoleService
	}
	c.record(ctx, EventCaseCancelled, who, eventData{Attempt: c.s.View.Attempt, Reason: req.Reason})
	c.terminate(ctx, kyc.StatusCancelled, req.Reason, who)
	return c.answer(ctx), nil
}

// answer publishes a change and returns the view the caller sees, once
// that view is saved.
func (c *kycCase) answer(ctx workflow.Context) kyc.CaseView {
	c.afterChange(ctx)
	v := cloneView(c.s.View)
	c.awaitSaved(ctx, v.Version)
	return v
}

// answerRepeat answers a refused or repeated request: a repeat waits, as its
// first answer did, until the case as it stands is saved.
func (c *kycCase) answerRepeat(ctx workflow.Context, err error) (kyc.CaseView, error) {
	v := cloneView(c.s.View)
	if err == nil {
		c.awaitSaved(ctx, v.Version)
	}
	return v, err
}

// awaitSaved blocks until every event up to version is saved. The API
// reads cases from the projection, so a client that reads after an answer
// sees what it was told, and an answer means the change is in the case's
// event log in PostgreSQL, not only in the workflow.
func (c *kycCase) awaitSaved(ctx workflow.Context, version int64) {
	if !c.answerAfterSave {
		return
	}
	// Await fails only when the workflow is cancelled; the answer stands.
	_ = workflow.Await(ctx, func() bool { return c.savedThrough() >= version })
}

// savedThrough is the version up to which every event is saved.
func (c *kycCase) savedThrough() int64 {
	if len(c.s.Unsaved) == 0 {
		return c.s.View.Version
	}
	return c.s.Unsaved[0].Seq - 1
}

// answerAfterSaveChange is the workflow.GetVersion change id of
// awaitSaved; runs started before it answer updates at once.
const answerAfterSaveChange = "answer-after-save"
