package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

type joinRequest struct {
	Role string `json:"role"`
}

type joinResponse struct {
	RoomID    string    `json:"room_id"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// Provider says what the engine talks to, so that one page picks its
	// call layer: "100ms", or "simulator" with the simulator's base URL.
	Provider     string `json:"provider"`
	SimulatorURL string `json:"simulator_url,omitempty"`
}

// joinToken hands out a 100ms auth token for the current attempt's room: the
// customer's to the bank's backend (which passes it to the customer's app),
// the agent's to the agent, who is assigned to the case by asking.
func (s *Server) joinToken(c *gin.Context) {
	req, ok := bodyFor[joinRequest](s, c, kyc.RoleService, kyc.RoleAgent)
	if !ok {
		return
	}
	p := caller(c)
	switch {
	case req.Role != string(kyc.RoleCustomer) && req.Role != string(kyc.RoleAgent):
		s.abort(c, invalidField("role", "must be %q or %q", kyc.RoleCustomer, kyc.RoleAgent))
		return
	case p.Role == kyc.RoleService && req.Role != string(kyc.RoleCustomer):
		s.abort(c, forbidden("the service gets customer tokens only; agents ask for their own"))
		return
	case p.Role == kyc.RoleAgent && req.Role != string(kyc.RoleAgent):
		s.abort(c, forbidden("an agent gets agent tokens only; the bank's backend asks for the customer's"))
		return
	}
	rec, ok := s.pathRecord(c)
	if !ok {
		return
	}
	userID := kyc.CustomerUserID(rec.ID)
	if p.Role == kyc.RoleAgent {
		userID = p.Sub
	}
	s.respondJoinToken(c, rec, req.Role, userID)
}

// respondJoinToken answers with a token for the current attempt's room. The
// case's workflow says which room that is (the join update assigns an agent
// on the way and answers once the room exists), so a token never names the
// room of an attempt that is over.
func (s *Server) respondJoinToken(c *gin.Context, rec *store.CaseRecord, role, userID string) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.d.RoomWait)
	defer cancel()
	a, e := s.send(ctx, rec, workflows.UpdateJoin, workflows.UpdateJoin+"-"+requestID(c),
		workflows.JoinRequest{Role: role, UserID: userID})
	switch {
	case e != nil && e.Status == http.StatusForbidden:
		e = newError(http.StatusConflict, codeAgentConflict, "case is assigned to another agent")
	case e != nil && roomWaitOver(ctx) && c.Request.Context().Err() == nil:
		e = newError(http.StatusServiceUnavailable, codeRoomNotReady, "room not ready, retry")
	}
	if e != nil {
		s.abort(c, e)
		return
	}
	roomID := a.RoomID
	token, exp, err := s.d.HMS.AuthToken(hms.AuthTokenParams{
		RoomID: roomID, Role: role, UserID: userID, TTL: s.d.Config.JoinTokenTTL,
	})
	if err != nil {
		s.abort(c, internalError(err))
		return
	}
	p := s.callProvider()
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, joinResponse{RoomID: roomID, Role: role, Token: token, ExpiresAt: exp, Provider: p.Name, SimulatorURL: p.SimulatorURL})
}

// roomWaitOver reports whether the room wait's deadline has passed. gRPC
// ends the update's call on that deadline by its own timer, which can come
// back before ctx's timer marks ctx done.
func roomWaitOver(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && !time.Now().Before(deadline))
}
