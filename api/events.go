package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/kyc"
	"github.com/vkyc-engine/vkyc/internal/store"
)

type eventsResponse struct {
	CaseID     string        `json:"case_id"`
	Events     []store.Event `json:"events"`
	Count      int           `json:"count"`
	ChainValid bool          `json:"chain_valid"`
	// BrokenAt and Reason say where and why the chain fails to verify.
	BrokenAt int64  `json:"broken_at,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// events returns the case's event log and the verdict on its hash chain,
// recomputed from the stored rows on every call.
func (s *Server) events(c *gin.Context) {
	if !s.allow(c, kyc.RoleService, kyc.RoleAdmin, kyc.RoleAuditor) {
		return
	}
	rec, _, ok := s.loadCase(c, caller(c))
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// The chain is verified first: events appended in between are then
	// listed but not yet covered by the verdict, never the other way round.
	report, err := s.d.Store.VerifyChain(ctx, rec.ID)
	if err != nil {
		s.abort(c, unavailable("the database", err))
		return
	}
	evs, err := s.d.Store.Events(ctx, rec.ID)
	if err != nil {
		s.abort(c, unavailable("the database", err))
		return
	}
	if evs == nil {
		evs = []store.Event{}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, eventsResponse{
		CaseID: rec.ID, Events: evs, Count: len(evs), ChainValid: report.Valid,
		BrokenAt: report.BrokenAt, Reason: report.Reason,
	})
}
