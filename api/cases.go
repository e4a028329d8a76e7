package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

type customerInput struct {
	Reference string `json:"reference"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

type createCaseRequest struct {
	Customer         *customerInput    `json:"customer"`
	RequiredCaptures []kyc.CaptureKind `json:"required_captures"`
	AuditRejections  *bool             `json:"audit_rejections"`
}

// Limits of the customer fields: internal/case/kyc's, which the workflow checks too.
const (
	maxReferenceLen = kyc.MaxReferenceLen
	maxNameLen      = kyc.MaxNameRunes
	maxEmailLen     = kyc.MaxEmailLen
	maxPhoneLen     = kyc.MaxPhoneLen
)

// normalizedCase is a validated create request: the hash of its JSON tells a
// retry from a different request under the same Idempotency-Key, whatever
// the field order or the defaults the client spelled out.
type normalizedCase struct {
	Customer         kyc.Customer      `json:"customer"`
	RequiredCaptures []kyc.CaptureKind `json:"required_captures"`
	AuditRejections  bool              `json:"audit_rejections"`
}

func (r createCaseRequest) validate() (normalizedCase, *apiError) {
	var n normalizedCase
	if r.Customer == nil {
		return n, invalidField("customer", "is required")
	}
	c := r.Customer
	if e := checkReference(c.Reference); e != nil {
		return n, e
	}
	name := strings.TrimSpace(c.Name)
	if err := kyc.CheckName(name); err != nil {
		return n, invalidField("customer.name", "%v", err)
	}
	email := strings.TrimSpace(c.Email)
	if email != "" {
		if err := kyc.CheckStorable(email); err != nil {
			return n, invalidField("customer.email", "%v", err)
		}
		if len(email) > maxEmailLen {
			return n, invalidField("customer.email", "longer than %d bytes", maxEmailLen)
		}
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
			return n, invalidField("customer.email", "is not an email address like name@example.com")
		}
	}
	phone := strings.TrimSpace(c.Phone)
	if phone != "" && !validPhone(phone) {
		return n, invalidField("customer.phone", "must be a phone number of 4 to 15 digits, optionally starting with + (spaces, dashes, dots and parentheses allowed), at most %d characters", maxPhoneLen)
	}
	n.Customer = kyc.Customer{Reference: c.Reference, Name: name, Email: email, Phone: phone}

	switch {
	case r.RequiredCaptures == nil:
		n.RequiredCaptures = append([]kyc.CaptureKind(nil), kyc.DefaultRequiredCaptures...)
	case len(r.RequiredCaptures) == 0:
		return n, invalidField("required_captures", "must list at least one capture kind, or be left out for the default (%s)", kindList(kyc.DefaultRequiredCaptures))
	default:
		seen := map[kyc.CaptureKind]bool{}
		for i, k := range r.RequiredCaptures {
			field := "required_captures[" + strconv.Itoa(i) + "]"
			if !k.Valid() {
				return n, invalidField(field, "%q is not a capture kind (one of %s)", k, kindList(kyc.AllCaptureKinds))
			}
			if seen[k] {
				return n, invalidField(field, "%q is listed twice", k)
			}
			seen[k] = true
		}
		// Canonical order, so that the same set hashes the same.
		for _, k := range kyc.AllCaptureKinds {
			if seen[k] {
				n.RequiredCaptures = append(n.RequiredCaptures, k)
			}
		}
	}
	n.AuditRejections = workflows.DefaultAuditRejections
	if r.AuditRejections != nil {
		n.AuditRejections = *r.AuditRejections
	}
	return n, nil
}

func (n normalizedCase) hash() string {
	b, _ := json.Marshal(n) // plain strings, bools and slices: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func checkReference(ref string) *apiError {
	if err := kyc.CheckReference(ref); err != nil {
		return invalidField("customer.reference", "%v", err)
	}
	return nil
}

func validPhone(p string) bool {
	if len(p) > maxPhoneLen {
		return false
	}
	digits := 0
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 4 && digits <= 15
}

func kindList(kinds []kyc.CaptureKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// idempotencyKey returns the Idempotency-Key header, "" when absent. Keys are
// opaque to us but are stored, logged and become part of update ids, so
// they are limited to visible ASCII (kyc.CheckIdempotencyKey).
func idempotencyKey(c *gin.Context) (string, *apiError) {
	vals := c.Request.Header.Values("Idempotency-Key")
	if len(vals) == 0 {
		return "", nil
	}
	if len(vals) > 1 {
		return "", invalidField("Idempotency-Key", "must be given once")
	}
	if err := kyc.CheckIdempotencyKey(vals[0]); err != nil {
		return "", invalidField("Idempotency-Key", "%v", err)
	}
	return vals[0], nil
}

// createCase records the case (with the customer's PII, which stays in the
// database) and starts its workflow. The workflow is started on every call,
// replays included: its id is the case's and its conflict policy is
// use-existing, so a client retrying after a crash between the insert and
// the start repairs the case instead of getting a case without a workflow.
func (s *Server) createCase(c *gin.Context) {
	if !s.allow(c, kyc.RoleService, kyc.RoleAdmin) {
		return
	}
	key, e := idempotencyKey(c)
	if e != nil {
		s.abort(c, e)
		return
	}
	var req createCaseRequest
	if !s.bind(c, &req) {
		return
	}
	n, e := req.validate()
	if e != nil {
		s.abort(c, e)
		return
	}
	p := caller(c)
	ctx := c.Request.Context()
	rec, created, err := s.d.Store.CreateCase(ctx, store.NewCase{
		ID:               uuid.NewString(),
		Customer:         n.Customer,
		RequiredCaptures: n.RequiredCaptures,
		AuditRejections:  n.AuditRejections,
		CreatedBy:        p.Sub,
		IdempotencyKey:   key,
		RequestHash:      n.hash(),
		CreatedAt:        s.now(),
	})
	switch {
	case errors.Is(err, store.ErrIdempotencyConflict):
		s.abort(c, newError(http.StatusConflict, codeIdempotencyReused, "this Idempotency-Key was used for a different case; use a new key for a new request"))
		return
	case err != nil:
		s.abort(c, unavailable("the database", err))
		return
	}
	if e := s.startCase(ctx, rec, p.Sub); e != nil {
		s.abort(c, e)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		s.log.InfoContext(ctx, "case created", "case_id", rec.ID, "request_id", requestID(c), "sub", p.Sub)
	}
	c.Header("Location", "/v1/cases/"+rec.ID)
	c.JSON(code, withCustomer(p, rec.View, rec.Customer))
}

// startCase starts the case's workflow, or finds it running or finished.
// Only the customer's reference enters it: name and contacts stay in the
// database.
func (s *Server) startCase(ctx context.Context, rec *store.CaseRecord, createdBy string) *apiError {
	in := s.d.Config.CaseDefaults().Input(rec.ID, rec.Customer.Reference, rec.View.RequiredCaptures,
		rec.View.AuditRejections, createdBy, rec.CreatedAt)
	if err := in.Validate(); err != nil {
		return internalError(err)
	}
	opts := workflows.StartOptions(in)
	opts.TaskQueue = s.taskQueue
	ctx, cancel := context.WithTimeout(ctx, s.d.UpdateTimeout)
	defer cancel()
	_, err := s.d.Temporal.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil, errors.As(err, &started):
		// Already started and finished (the reuse policy forbids a second
		// run): the case exists, which is all a replay needs.
		return nil
	case classifyTemporal(err) == temporalUnavailable:
		return unavailable("the workflow service", err)
	}
	return internalError(err)
}

// loadCase reads the case and checks that p may see it; the view carries
// the customer fields p may see.
//
// The view is the projection in PostgreSQL, which trails the workflow by one
// save (tens of milliseconds; answers to updates carry the workflow's own
// view). Reads are what clients poll, and a workflow query for each was
// most of the Temporal server's extra work per case in the case-throughput
// benchmark. The workflow is asked only before refusing: an agent just
// assigned, or a case just handed to audit, may not be in the projection yet.
func (s *Server) loadCase(c *gin.Context, p principal) (*store.CaseRecord, kyc.CaseView, bool) {
	rec, ok := s.pathRecord(c)
	if !ok {
		return nil, kyc.CaseView{}, false
	}
	view := rec.View
	if !mayView(p, &view) {
		view = s.freshView(c.Request.Context(), rec)
	}
	if !mayView(p, &view) {
		s.abort(c, forbidden("case %s is not yours to see", c.Param("id")))
		return nil, kyc.CaseView{}, false
	}
	return rec, withCustomer(p, view, rec.Customer), true
}

// loadWorkedCase is loadCase for what only the case's own agent, of all
// agents, may see.
func (s *Server) loadWorkedCase(c *gin.Context, p principal) (*store.CaseRecord, kyc.CaseView, bool) {
	rec, view, ok := s.loadCase(c, p)
	if ok && p.Role == kyc.RoleAgent && view.AgentID != p.Sub {
		s.abort(c, forbidden("case %s is not assigned to you", view.ID))
		return nil, kyc.CaseView{}, false
	}
	return rec, view, ok
}

// recordFor is pathRecord for callers in roles only.
func (s *Server) recordFor(c *gin.Context, roles ...kyc.Role) (*store.CaseRecord, bool) {
	if !s.allow(c, roles...) {
		return nil, false
	}
	return s.pathRecord(c)
}

// pathRecord is the case the request's path names; when there is none, or
// the database does not answer, it has answered and returns false.
func (s *Server) pathRecord(c *gin.Context) (*store.CaseRecord, bool) {
	rec, e := s.record(c.Request.Context(), c.Param("id"))
	if e != nil {
		s.abort(c, e)
		return nil, false
	}
	return rec, true
}

func (s *Server) record(ctx context.Context, id string) (*store.CaseRecord, *apiError) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		// Case ids are UUIDs we made; anything else cannot exist.
		return nil, newError(http.StatusNotFound, codeCaseNotFound, "no case %q", truncate(id, 64))
	}
	rec, err := s.d.Store.GetCase(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, newError(http.StatusNotFound, codeCaseNotFound, "no case %s", id)
	case err != nil:
		return nil, unavailable("the database", err)
	}
	return rec, nil
}

// freshView is the workflow's current view while the case runs (the
// projection in the database trails it by a save), else the projection. A
// workflow that does not answer in time (no worker, Temporal down) leaves
// the projection, which is never more than one change behind.
func (s *Server) freshView(ctx context.Context, rec *store.CaseRecord) kyc.CaseView {
	v, _ := s.queriedView(ctx, rec)
	return v
}

// queriedView is freshView that also reports whether the view is the
// workflow's (or final) rather than a fallback to the projection.
func (s *Server) queriedView(ctx context.Context, rec *store.CaseRecord) (kyc.CaseView, bool) {
	if rec.Status.Terminal() {
		return rec.View, true
	}
	v, err := queryCase[kyc.CaseView](ctx, s, rec.ID, workflows.QueryCase)
	if err != nil {
		s.log.DebugContext(ctx, "case query failed; using the projection", "case_id", rec.ID, "error", err)
		return rec.View, false
	}
	if v.Version < rec.Version {
		return rec.View, true
	}
	return v, true
}

// queryCase asks the case's workflow query, waiting no longer than the
// query timeout, and decodes the answer.
func queryCase[T any](ctx context.Context, s *Server, caseID, query string) (T, error) {
	var v T
	ctx, cancel := context.WithTimeout(ctx, s.d.QueryTimeout)
	defer cancel()
	resp, err := s.d.Temporal.QueryWorkflow(ctx, kyc.WorkflowID(caseID), "", query)
	if err != nil {
		return v, err
	}
	if err := resp.Get(&v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func (s *Server) getCase(c *gin.Context) {
	_, view, ok := s.loadCase(c, caller(c))
	if !ok {
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, view)
}

type listResponse struct {
	Cases      []kyc.CaseView `json:"cases"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// listCases pages through the projections in the database. Agents and
// auditors get only the cases they may see, filtered in the query, so pages
// are full and next_cursor names only a case the caller sees.
func (s *Server) listCases(c *gin.Context) {
	p := caller(c)
	q := c.Request.URL.Query()
	f := store.CaseFilter{
		Status:            kyc.Status(q.Get("status")),
		CustomerReference: q.Get("customer_reference"),
		AgentID:           q.Get("agent_id"),
		Cursor:            q.Get("cursor"),
		Limit:             store.DefaultListLimit,
	}
	if v := p.viewer(); !p.is(kyc.RoleService, kyc.RoleAdmin) {
		f.Viewer = &v // in the query, so the cursor is built from a case the caller sees
	}
	if f.Status != "" && !f.Status.Valid() {
		s.abort(c, invalidField("status", "%q is not a case status", truncate(string(f.Status), 40)))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxListLimit {
			s.abort(c, invalidField("limit", "must be a whole number from 1 to %d", store.MaxListLimit))
			return
		}
		f.Limit = n
	}
	if e := checkListFilters(f); e != nil {
		s.abort(c, e)
		return
	}
	recs, next, err := s.d.Store.ListCases(c.Request.Context(), f)
	switch {
	case errors.Is(err, store.ErrBadCursor):
		s.abort(c, invalidField("cursor", "is not a cursor this API returned; start again without it"))
		return
	case err != nil:
		s.abort(c, unavailable("the database", err))
		return
	}
	out := listResponse{Cases: make([]kyc.CaseView, 0, len(recs)), NextCursor: next}
	for i := range recs {
		out.Cases = append(out.Cases, withCustomer(p, recs[i].View, recs[i].Customer))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// checkListFilters refuses filters PostgreSQL would refuse to compare (NUL,
// bytes that are not UTF-8) and filters longer than any stored value,
// naming the parameter. Other values are looked up as they are: they match
// nothing.
func checkListFilters(f store.CaseFilter) *apiError {
	for _, p := range []struct {
		name, v string
		max     int
	}{
		{"customer_reference", f.CustomerReference, kyc.MaxReferenceLen},
		{"agent_id", f.AgentID, kyc.MaxSubjectLen},
		{"cursor", f.Cursor, 1024},
	} {
		if err := kyc.CheckStorable(p.v); err != nil {
			return invalidField(p.name, "%v", err)
		}
		if len(p.v) > p.max {
			return invalidField(p.name, "longer than %d bytes", p.max)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
