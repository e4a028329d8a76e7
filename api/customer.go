package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

// The customer's side of the API, under /v1/invite, authenticated by the
// invite (authenticateInvite). Answers carry no personal data: the page
// shows the customer only where their case stands.

const (
	codeConsentRequired  = "consent_required"
	codeLocationRequired = "location_required"
	codeConsentOutdated  = "consent_version_outdated"
	maxUserAgentLen      = 512
	maxGeoErrorLen       = 64
)

// Customer-facing stages of a case.
const (
	stageWaiting   = "waiting"   // the call has not started (or a new attempt waits)
	stageInCall    = "in_call"   // both are in the call
	stageCompleted = "completed" // the call is over and led to a decision
	stageClosed    = "closed"    // the case ended without a completed call
)

type customerStatus struct {
	CaseID      string `json:"case_id"`
	Stage       string `json:"stage"`
	Attempt     int    `json:"attempt"`
	AgentJoined bool   `json:"agent_joined"`
	// PreviousAttemptInterrupted is true when the attempt before this one
	// was aborted (a dropped call): the page tells the customer so.
	PreviousAttemptInterrupted bool            `json:"previous_attempt_interrupted"`
	Consent                    consentStatus   `json:"consent"`
	Location                   *locationStatus `json:"location,omitempty"`
}

type consentStatus struct {
	Text    string `json:"text"`
	Version string `json:"version"`
	Given   bool   `json:"given"`
}

type locationStatus struct {
	Kind    string `json:"kind"` // location or location_refused
	Attempt int    `json:"attempt"`
}

func customerStage(v *kyc.CaseView) string {
	switch v.Status {
	case kyc.StatusWaitingForParticipants:
		return stageWaiting
	case kyc.StatusInCall:
		return stageInCall
	case kyc.StatusAwaitingDecision, kyc.StatusAwaitingRecording, kyc.StatusAwaitingAudit,
		kyc.StatusApproved, kyc.StatusRejected:
		if v.Decision != nil || v.Status == kyc.StatusAwaitingDecision {
			return stageCompleted
		}
	}
	return stageClosed
}

func (s *Server) customerStatusOf(v *kyc.CaseView) customerStatus {
	out := customerStatus{
		CaseID: v.ID, Stage: customerStage(v), Attempt: v.Attempt, AgentJoined: v.Participants.Agent.Joined,
		Consent: consentStatus{Text: s.d.Config.ConsentText, Version: s.d.Config.ConsentVersion},
	}
	if n := len(v.Attempts); n >= 2 && v.Attempts[n-2].Status == kyc.AttemptAborted {
		out.PreviousAttemptInterrupted = true
	}
	out.Consent.Given = v.Consent != nil && v.Consent.ConsentVersion == s.d.Config.ConsentVersion
	if l := v.Location; l != nil && l.Attempt == v.Attempt {
		out.Location = &locationStatus{Kind: l.Kind, Attempt: l.Attempt}
	}
	return out
}

// inviteStatus is what the waiting room and the end screen poll.
func (s *Server) inviteStatus(c *gin.Context) {
	_, view, ok := s.inviteCase(c)
	if !ok {
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s.customerStatusOf(&view))
}

type consentRequest struct {
	Version string `json:"version"`
	Agree   bool   `json:"agree"`
}

// consentDetails is the stored evidence of a consent; its JSON (field order
// fixed by the struct) is what the event log's digest covers.
type consentDetails struct {
	Kind        string    `json:"kind"`
	TextVersion string    `json:"text_version"`
	Text        string    `json:"text"`
	AcceptedAt  time.Time `json:"accepted_at"`
	IPAddress   string    `json:"ip_address"`
	UserAgent   string    `json:"user_agent"`
}

type locationRequest struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Accuracy  *float64 `json:"accuracy"` // metres, as the browser reports it
	Refused   bool     `json:"refused"`
	Error     string   `json:"error"` // the browser's reason when refused
}

type locationDetails struct {
	Kind       string    `json:"kind"`
	Latitude   *float64  `json:"latitude,omitempty"`
	Longitude  *float64  `json:"longitude,omitempty"`
	Accuracy   *float64  `json:"accuracy,omitempty"`
	Error      string    `json:"error,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
	IPAddress  string    `json:"ip_address"`
	UserAgent  string    `json:"user_agent"`
}

// inviteConsent records the customer's "I agree" to the current text.
func (s *Server) inviteConsent(c *gin.Context) {
	var req consentRequest
	if !s.bind(c, &req) {
		return
	}
	switch {
	case !req.Agree:
		s.abort(c, invalidField("agree", "must be true: only an agreement is recorded"))
		return
	case req.Version != s.d.Config.ConsentVersion:
		s.abort(c, newError(http.StatusConflict, codeConsentOutdated, "the consent text changed (version %s is current); read it again and agree to it", s.d.Config.ConsentVersion))
		return
	}
	rec, view, ok := s.inviteCase(c)
	if !ok {
		return
	}
	if view.Consent != nil && view.Consent.ConsentVersion == req.Version {
		s.answerCustomer(c, &view)
		return
	}
	d := consentDetails{
		Kind: kyc.EvidenceConsent, TextVersion: s.d.Config.ConsentVersion, Text: s.d.Config.ConsentText,
		AcceptedAt: s.now().UTC(), IPAddress: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), maxUserAgentLen),
	}
	s.recordEvidence(c, rec, view, kyc.EvidenceConsent, d, d.TextVersion)
}

// inviteLocation records the browser's position, or that the customer
// refused (or the browser could not) share it.
func (s *Server) inviteLocation(c *gin.Context) {
	var req locationRequest
	if !s.bind(c, &req) {
		return
	}
	d := locationDetails{RecordedAt: s.now().UTC(), IPAddress: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), maxUserAgentLen)}
	if req.Refused {
		if req.Latitude != nil || req.Longitude != nil || req.Accuracy != nil {
			s.abort(c, invalidField("refused", "a refusal carries no coordinates"))
			return
		}
		if len(req.Error) > maxGeoErrorLen || strings.ContainsRune(req.Error, 0) {
			s.abort(c, invalidField("error", "longer than %d bytes or not text", maxGeoErrorLen))
			return
		}
		d.Kind, d.Error = kyc.EvidenceLocationRefused, req.Error
	} else {
		if e := checkCoordinates(req); e != nil {
			s.abort(c, e)
			return
		}
		d.Kind, d.Latitude, d.Longitude, d.Accuracy = kyc.EvidenceLocation, req.Latitude, req.Longitude, req.Accuracy
	}
	rec, view, ok := s.inviteCase(c)
	if !ok {
		return
	}
	if l := view.Location; l != nil && l.Attempt == view.Attempt {
		// One answer per attempt: the first one stands.
		s.answerCustomer(c, &view)
		return
	}
	s.recordEvidence(c, rec, view, d.Kind, d, "")
}

func checkCoordinates(req locationRequest) *apiError {
	finite := func(p *float64) bool { return p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) }
	switch {
	case !finite(req.Latitude) || *req.Latitude < -90 || *req.Latitude > 90:
		return invalidField("latitude", "is required: degrees from -90 to 90 (or send refused: true)")
	case !finite(req.Longitude) || *req.Longitude < -180 || *req.Longitude > 180:
		return invalidField("longitude", "is required: degrees from -180 to 180 (or send refused: true)")
	case !finite(req.Accuracy) || *req.Accuracy < 0 || *req.Accuracy > 1e7:
		return invalidField("accuracy", "is required: metres from 0 to 10000000")
	case req.Error != "":
		return invalidField("error", "is only sent with refused: true")
	}
	return nil
}

// recordEvidence stores the details in the database, then records their id
// and digest in the case's event log through the workflow. A failure after
// the store leaves an unreferenced row (never shown as given); the page's
// retry stores a new one.
func (s *Server) recordEvidence(c *gin.Context, rec *store.CaseRecord, view kyc.CaseView, kind string, details any, consentVersion string) {
	ctx := c.Request.Context()
	if view.Status.Terminal() {
		s.abort(c, newError(http.StatusConflict, codeInvalidState, "case is %s; nothing more is recorded", view.Status))
		return
	}
	data, err := json.Marshal(details)
	if err != nil {
		s.abort(c, internalError(err))
		return
	}
	sum := sha256.Sum256(data)
	ev := store.Evidence{
		ID: uuid.NewString(), CaseID: rec.ID, Kind: kind, Attempt: view.Attempt, Data: data,
		SHA256: hex.EncodeToString(sum[:]), CreatedAt: s.now(),
	}
	if err := s.d.Store.AddEvidence(ctx, ev); err != nil {
		s.abort(c, unavailable("the database", err))
		return
	}
	req := workflows.CustomerEvidenceRequest{
		EvidenceID: ev.ID, Kind: kind, SHA256: ev.SHA256, ConsentVersion: consentVersion, Attempt: ev.Attempt,
	}
	updated, e := s.update(ctx, rec, workflows.UpdateCustomerEvidence, workflows.UpdateCustomerEvidence+"-"+ev.ID, req)
	if e != nil {
		s.abort(c, e)
		return
	}
	logAttrs(c, "evidence_id", ev.ID, "evidence_kind", kind)
	s.answerCustomer(c, &updated)
}

func (s *Server) answerCustomer(c *gin.Context, v *kyc.CaseView) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, s.customerStatusOf(v))
}

// inviteJoinToken gives the customer a token for the current attempt's
// room, once they have agreed to the current consent text and answered the
// location request of this attempt.
func (s *Server) inviteJoinToken(c *gin.Context) {
	rec, view, ok := s.inviteCase(c)
	if !ok {
		return
	}
	st := s.customerStatusOf(&view)
	switch {
	case view.Status.Terminal():
		s.abort(c, newError(http.StatusConflict, codeInvalidState, "case is %s; nobody joins it any more", view.Status))
		return
	case !st.Consent.Given:
		s.abort(c, newError(http.StatusConflict, codeConsentRequired, "agree to the consent text (version %s) first", s.d.Config.ConsentVersion))
		return
	case st.Location == nil:
		s.abort(c, newError(http.StatusConflict, codeLocationRequired, "share your location, or say that you do not, first"))
		return
	}
	s.respondJoinToken(c, rec, string(kyc.RoleCustomer), kyc.CustomerUserID(rec.ID))
}

type evidenceItem struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Attempt   int             `json:"attempt"`
	SHA256    string          `json:"sha256"`
	Details   json.RawMessage `json:"details"`
	CreatedAt time.Time       `json:"created_at"`
	// InEventLog is true when the case's event log names this evidence;
	// rows whose recording failed half-way are listed as false.
	InEventLog bool `json:"in_event_log"`
}

// caseEvidence lists what the customer gave (consent with IP address and
// user agent, locations) for the people who judge the case.
func (s *Server) caseEvidence(c *gin.Context) {
	if !s.allow(c, kyc.RoleService, kyc.RoleAdmin, kyc.RoleAgent, kyc.RoleAuditor) {
		return
	}
	p := caller(c)
	_, view, ok := s.loadWorkedCase(c, p)
	if !ok {
		return
	}
	items, err := s.d.Store.CaseEvidence(c.Request.Context(), view.ID)
	if err != nil {
		s.abort(c, unavailable("the database", err))
		return
	}
	logged, e := s.loggedEvidence(c.Request.Context(), view.ID)
	if e != nil {
		s.abort(c, e)
		return
	}
	out := make([]evidenceItem, 0, len(items))
	for _, it := range items {
		out = append(out, evidenceItem{
			ID: it.ID, Kind: it.Kind, Attempt: it.Attempt, SHA256: it.SHA256, Details: it.Data,
			CreatedAt: it.CreatedAt.UTC(), InEventLog: logged[it.ID] == it.SHA256,
		})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"evidence": out})
}

// loggedEvidence maps evidence ids named by the case's event log to the
// digest the log holds.
func (s *Server) loggedEvidence(ctx context.Context, caseID string) (map[string]string, *apiError) {
	events, err := s.d.Store.Events(ctx, caseID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, unavailable("the database", err)
	}
	out := map[string]string{}
	for _, ev := range events {
		var d struct {
			EvidenceID string `json:"evidence_id"`
			SHA256     string `json:"sha256"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.EvidenceID != "" {
			out[d.EvidenceID] = d.SHA256
		}
	}
	return out, nil
}
