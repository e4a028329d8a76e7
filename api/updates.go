package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

// maxReasonLen is the workflow's limit too, so that a long reason is refused
// before it travels.
const maxReasonLen = kyc.MaxReasonLen

type decisionRequest struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

type cancelRequest struct {
	Reason string `json:"reason"`
}

func checkOutcome(outcome string, allowed ...string) *apiError {
	for _, a := range allowed {
		if outcome == a {
			return nil
		}
	}
	if outcome == "" {
		return invalidField("outcome", "is required (one of %s)", strings.Join(allowed, ", "))
	}
	return invalidField("outcome", "%q is not one of %s", truncate(outcome, 40), strings.Join(allowed, ", "))
}

func checkReasonField(reason string) *apiError {
	if err := kyc.CheckReason(reason); err != nil {
		return invalidField("reason", "%v", err)
	}
	return nil
}

// decision is the assigned agent's verdict.
func (s *Server) decision(c *gin.Context) {
	s.decide(c, kyc.RoleAgent, workflows.UpdateAgentDecision, func(sub string, req decisionRequest) any {
		return workflows.AgentDecisionRequest{AgentID: sub, Outcome: req.Outcome, Reason: req.Reason}
	}, kyc.OutcomeApprove, kyc.OutcomeReject)
}

// audit is an auditor's verdict; the workflow refuses the agent who decided.
func (s *Server) audit(c *gin.Context) {
	s.decide(c, kyc.RoleAuditor, workflows.UpdateAuditDecision, func(sub string, req decisionRequest) any {
		return workflows.AuditDecisionRequest{AuditorID: sub, Outcome: req.Outcome, Reason: req.Reason}
	}, kyc.OutcomeApprove, kyc.OutcomeReject, kyc.OutcomeRecapture)
}

// decide reads a verdict of role, one of outcomes, and sends it as the
// update kind with the arguments args makes of it for the caller sub.
func (s *Server) decide(c *gin.Context, role kyc.Role, kind string, args func(sub string, req decisionRequest) any, outcomes ...string) {
	req, ok := bodyFor[decisionRequest](s, c, role)
	if !ok {
		return
	}
	if e := checkOutcome(req.Outcome, outcomes...); e != nil {
		s.abort(c, e)
		return
	}
	if e := checkReasonField(req.Reason); e != nil {
		s.abort(c, e)
		return
	}
	s.runUpdate(c, kind, args(caller(c).Sub, req))
}

// cancel stops a case for good, on the bank's request.
func (s *Server) cancel(c *gin.Context) {
	req, ok := bodyFor[cancelRequest](s, c, kyc.RoleService, kyc.RoleAdmin)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		s.abort(c, invalidField("reason", "is required"))
		return
	}
	if e := checkReasonField(req.Reason); e != nil {
		s.abort(c, e)
		return
	}
	p := caller(c)
	s.runUpdate(c, workflows.UpdateCancel, workflows.CancelRequest{By: p.Sub, Role: string(p.Role), Reason: req.Reason})
}

// idempotencyScope names where an Idempotency-Key of a case update lives:
// per caller, case and kind of update, so keys never collide across them.
func idempotencyScope(kind string, p principal, caseID string) string {
	return kind + " " + caseID + " " + string(p.Role) + ":" + p.Sub
}

// updateID derives the Temporal update id: the Idempotency-Key (under the
// caller's hash, so two callers' keys never collide), so that a retry with
// the key is the same update; without a key, the request's id
// (X-Request-ID), so that a client retrying with the same request id is
// deduplicated by Temporal. Either way the workflow recognises a request it
// has already applied (the same agent's same decision, say) and changes
// nothing the second time.
func updateID(kind string, p principal, key, request string) string {
	if key != "" {
		return kind + "-" + key + "-" + shortHash(string(p.Role)+":"+p.Sub)
	}
	return kind + "-r-" + request + "-" + shortHash(string(p.Role)+":"+p.Sub)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

func requestHash(kind string, args any) string {
	b, _ := json.Marshal(args)
	sum := sha256.Sum256(append([]byte(kind+"\x00"), b...))
	return hex.EncodeToString(sum[:])
}

// runUpdate sends a case update and answers with the case view. With an
// Idempotency-Key the first definitive answer is saved and replayed to
// retries (even after the case has finished), and the same key with another
// body is refused.
func (s *Server) runUpdate(c *gin.Context, kind string, args any) {
	p := caller(c)
	key, e := idempotencyKey(c)
	if e != nil {
		s.abort(c, e)
		return
	}
	rec, ok := s.pathRecord(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	scope, hash := idempotencyScope(kind, p, rec.ID), requestHash(kind, args)
	if key != "" && s.replay(c, scope, key, hash, rec) {
		return
	}
	view, e := s.update(ctx, rec, kind, updateID(kind, p, key, requestID(c)), args)
	if e != nil {
		s.abort(c, e)
		return
	}
	if key != "" {
		body, _ := json.Marshal(view) // the workflow's view: no PII to keep twice
		if !s.saveResponse(c, scope, key, hash, http.StatusOK, body) {
			return
		}
	}
	c.JSON(http.StatusOK, withCustomer(p, view, rec.Customer))
}

// savedResponse is the answer saved for an Idempotency-Key.
type savedResponse struct {
	hash   string
	status int
	body   []byte
}

// savedResponse returns the answer saved under (scope, key), nil if none.
func (s *Server) savedResponse(ctx context.Context, scope, key string) (*savedResponse, *apiError) {
	hash, code, body, found, err := s.d.Store.IdempotentResponse(ctx, scope, key)
	switch {
	case err != nil:
		return nil, unavailable("the database", err)
	case !found:
		return nil, nil
	}
	return &savedResponse{hash: hash, status: code, body: body}, nil
}

// replay answers a retried request from the saved response and reports
// whether it did.
func (s *Server) replay(c *gin.Context, scope, key, hash string, rec *store.CaseRecord) bool {
	saved, e := s.savedResponse(c.Request.Context(), scope, key)
	switch {
	case e != nil:
		s.abort(c, e)
		return true
	case saved == nil:
		return false
	case saved.hash != hash:
		s.abort(c, newError(http.StatusConflict, codeIdempotencyReused, "this Idempotency-Key was used for a different request; use a new key for a new request"))
		return true
	}
	var view kyc.CaseView
	if err := json.Unmarshal(saved.body, &view); err != nil {
		s.abort(c, internalError(err))
		return true
	}
	c.JSON(saved.status, withCustomer(caller(c), view, rec.Customer))
	return true
}

func (s *Server) saveResponse(c *gin.Context, scope, key, hash string, code int, body []byte) bool {
	err := s.d.Store.SaveIdempotentResponse(c.Request.Context(), scope, key, hash, code, body)
	switch {
	case errors.Is(err, store.ErrIdempotencyConflict):
		// A concurrent request with the same key and another body won.
		s.abort(c, newError(http.StatusConflict, codeIdempotencyReused, "this Idempotency-Key was used for a different request; use a new key for a new request"))
		return false
	case err != nil:
		// The update is done; a retry with the key will find the update
		// by its id in the workflow, so failing here loses nothing.
		s.abort(c, unavailable("the database", err))
		return false
	}
	return true
}

// update sends one update to the case's workflow and answers with the case
// as the projection shows it once the update is done: the workflow answers
// after the change is saved, with the version it made.
func (s *Server) update(ctx context.Context, rec *store.CaseRecord, kind, id string, args any) (kyc.CaseView, *apiError) {
	a, e := s.send(ctx, rec, kind, id, args)
	if e != nil {
		return kyc.CaseView{}, e
	}
	return s.viewAt(ctx, rec, a.Version)
}

// send sends one update to the case's workflow and waits for its answer.
func (s *Server) send(ctx context.Context, rec *store.CaseRecord, kind, id string, args any) (workflows.Answer, *apiError) {
	ctx, cancel := context.WithTimeout(ctx, s.d.UpdateTimeout)
	defer cancel()
	for wait := 25 * time.Millisecond; ; wait *= 2 {
		h, err := s.d.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   kyc.WorkflowID(rec.ID),
			UpdateName:   kind,
			UpdateID:     id,
			Args:         []any{args},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		var a workflows.Answer
		if err == nil {
			err = h.Get(ctx, &a)
		}
		if err == nil {
			return a, nil
		}
		// The workflow task that took the update failed (a worker died, or
		// the server refused its completion because a webhook came in
		// meanwhile): the update was not applied, and Temporal asks for a
		// retry, which the same update id makes safe.
		var notReady *serviceerror.WorkflowNotReady
		if !errors.As(err, &notReady) || ctx.Err() != nil {
			return workflows.Answer{}, s.updateError(ctx, rec, kind, err)
		}
		select {
		case <-ctx.Done():
			return workflows.Answer{}, s.updateError(ctx, rec, kind, err)
		case <-time.After(wait):
		}
	}
}

// viewAt reads the case from the projection, which holds version (the
// update's answer) or a later one. Should it not, the workflow is asked:
// the answer must show the change it confirms.
func (s *Server) viewAt(ctx context.Context, rec *store.CaseRecord, version int64) (kyc.CaseView, *apiError) {
	fresh, err := s.d.Store.GetCase(ctx, rec.ID)
	if err != nil {
		return kyc.CaseView{}, unavailable("the database", err)
	}
	if fresh.Version >= version {
		return fresh.View, nil
	}
	v, err := queryCase[kyc.CaseView](ctx, s, rec.ID, workflows.QueryCase)
	if err != nil {
		return kyc.CaseView{}, unavailable("the workflow service", err)
	}
	s.log.WarnContext(ctx, "the projection was behind an update's answer", "case_id", rec.ID,
		"version", version, "projection_version", fresh.Version)
	return v, nil
}

func (s *Server) updateError(ctx context.Context, rec *store.CaseRecord, kind string, err error) *apiError {
	switch classifyTemporal(err) {
	case temporalRejected:
		e := rejection(err)
		if e.Status == http.StatusConflict {
			e.Message = s.withStatus(ctx, rec, e.Message)
		}
		return e
	case temporalNotFound:
		// The workflow has finished (the projection then shows the final
		// status) or was never started (a create that failed half-way; the
		// client's retry of the create starts it).
		fresh, gerr := s.d.Store.GetCase(context.WithoutCancel(ctx), rec.ID)
		if gerr == nil {
			rec = fresh
		}
		if rec.Status.Terminal() {
			return newError(http.StatusConflict, codeInvalidState, "case is %s; it no longer changes", rec.Status)
		}
		return newError(http.StatusServiceUnavailable, codeWorkflowNotRunning, "the case's workflow is not running; if the create request failed, retry it with the same Idempotency-Key").withCause(err)
	case temporalUnavailable:
		return unavailable("the workflow service", err)
	}
	s.log.ErrorContext(ctx, "update failed", "case_id", rec.ID, "update", kind, "error", err)
	return internalError(err)
}

// withStatus makes sure a 409 names the case's status, as clients are
// promised; the workflow's messages do already ("case is in_call; ..."),
// and otherwise the projection's status is added.
func (s *Server) withStatus(_ context.Context, rec *store.CaseRecord, msg string) string {
	if rec.Status == "" || strings.Contains(msg, string(rec.Status)) || strings.Contains(msg, "case is ") {
		return msg
	}
	return msg + " (case status: " + string(rec.Status) + ")"
}
