package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

type eventsResponse struct {
	CaseID     string        `json:"case_id"`
	Events     []store.Event `json:"events"`
	Count      int           `json:"count"`
	ChainValid bool          `json:"chain_valid"`
	// BrokenAt and Reason say where and why the chain fails to verify.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Witness compares the log with the chain the case's workflow computed
	// from its own events (its Temporal history is the independent copy).
	Witness witnessReport `json:"witness"`
	// Projection compares the case record clients read with the log.
	Projection projectionReport `json:"projection"`
	// Verified: the chain links, the witness agrees, the projection agrees.
	Verified bool `json:"verified"`
}

type witnessReport struct {
	Source    string `json:"source"`
	Available bool   `json:"available"`
	Seq       int64  `json:"seq,omitempty"`
	Hash      string `json:"hash,omitempty"`
	Matches   bool   `json:"matches"`
	Problem   string `json:"problem,omitempty"`
}

type projectionReport struct {
	Version int64      `json:"version"`
	Status  kyc.Status `json:"status"`
	Matches bool       `json:"matches"`
	Problem string     `json:"problem,omitempty"`
}

// events returns the case's event log with three verdicts: the hash chain
// recomputed from the stored rows, the log against the workflow's own
// chain (which catches a log rewritten or truncated with its hashes
// recomputed, by someone who can write the database), and the projection
// against the log.
func (s *Server) events(c *gin.Context) {
	if !s.allow(c, kyc.RoleService, kyc.RoleAdmin, kyc.RoleAuditor) {
		return
	}
	rec, _, ok := s.loadCase(c, caller(c))
	if !ok {
		return
	}
	ctx := c.Request.Context()
	l, ok := s.verifyLog(c, rec)
	if !ok {
		return
	}
	evs := l.events
	if evs == nil {
		evs = []store.Event{}
	}
	resp := eventsResponse{
		CaseID: rec.ID, Events: evs, Count: len(evs), ChainValid: l.chain.Valid,
		BrokenAt: l.chain.BrokenAt, Reason: l.chain.Reason,
		Witness: l.witness, Projection: l.projection,
	}
	resp.Verified = l.verified()
	if !resp.Verified {
		s.log.WarnContext(ctx, "case log does not verify", "case_id", rec.ID, "chain_valid", resp.ChainValid,
			"broken_at", resp.BrokenAt, "witness_problem", resp.Witness.Problem, "projection_problem", resp.Projection.Problem)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, resp)
}

// caseLog is a case's event log with its three verdicts.
type caseLog struct {
	events     []store.Event
	chain      store.ChainReport
	witness    witnessReport
	projection projectionReport
}

func (l caseLog) verified() bool { return l.chain.Valid && l.witness.Matches && l.projection.Matches }

// verifyLog reads rec's event log and checks it three ways; when the
// database does not answer it has answered and returns false.
func (s *Server) verifyLog(c *gin.Context, rec *store.CaseRecord) (caseLog, bool) {
	ctx := c.Request.Context()
	// Order matters: the witness before the log, so that a save landing in
	// between adds events the witness lists as pending, never the reverse;
	// the chain before the list, so that appended events are listed but not
	// yet covered by the verdict.
	witness, werr := queryCase[workflows.Witness](ctx, s, rec.ID, workflows.QueryWitness)
	report, err := s.d.Store.VerifyChain(ctx, rec.ID)
	if err != nil {
		s.abort(c, unavailable("the database", err))
		return caseLog{}, false
	}
	evs, err := s.d.Store.Events(ctx, rec.ID)
	if err != nil {
		s.abort(c, unavailable("the database", err))
		return caseLog{}, false
	}
	return caseLog{events: evs, chain: report, witness: checkWitness(evs, witness, werr), projection: checkProjection(evs, rec)}, true
}

func checkWitness(evs []store.Event, w workflows.Witness, err error) witnessReport {
	r := witnessReport{Source: "temporal workflow history"}
	if err != nil {
		// Temporal down, or the history gone past the namespace's
		// retention: the log cannot be checked against it, so it is not
		// called verified.
		r.Problem = "the workflow could not be asked: " + err.Error()
		return r
	}
	r.Available, r.Seq, r.Hash = true, w.Saved.Seq, w.Saved.Hash
	if w.Saved.Seq > 0 && w.Saved.Hash == "" {
		r.Problem = "the workflow keeps no chain for this case (it predates the witness)"
		return r
	}
	log := make([]chain.Linked, len(evs))
	for i, e := range evs {
		log[i] = chain.Linked{Seq: e.Seq, Hash: e.Hash}
	}
	r.Problem = chain.CheckWitness(log, w.Saved, w.Unsaved)
	r.Matches = r.Problem == ""
	return r
}

// checkProjection checks the case record against the log: its version must
// be an event of the log, and its status the one the log's status changes
// give at that event. A projection one save behind the log is consistent;
// one that shows what the log never said is not.
func checkProjection(evs []store.Event, rec *store.CaseRecord) projectionReport {
	r := projectionReport{Version: rec.Version, Status: rec.Status}
	if rec.Version > int64(len(evs)) {
		r.Problem = fmt.Sprintf("the case record is at event %d but the log has %d", rec.Version, len(evs))
		return r
	}
	status := kyc.StatusWaitingForParticipants
	for _, e := range evs[:rec.Version] {
		if e.Type != core.EventStatusChanged {
			continue
		}
		var d struct {
			To kyc.Status `json:"to"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.To != "" {
			status = d.To
		}
	}
	if status != rec.Status {
		r.Problem = fmt.Sprintf("the case record says %s but the log says %s at event %d", rec.Status, status, rec.Version)
		return r
	}
	r.Matches = true
	return r
}
