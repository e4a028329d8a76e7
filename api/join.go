package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/hms"
	"github.com/vkyc-engine/vkyc/internal/kyc"
	"github.com/vkyc-engine/vkyc/internal/store"
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

// roomPoll is how often join-tokens looks for the room while the workflow
// creates it.
const roomPoll = 200 * time.Millisecond

// joinToken hands out a 100ms auth token for the current attempt's room: the
// customer's to the bank's backend (which passes it to the customer's app),
// the agent's to the agent, who is assigned to the case by asking.
func (s *Server) joinToken(c *gin.Context) {
	if !s.allow(c, kyc.RoleService, kyc.RoleAgent) {
		return
	}
	var req joinRequest
	if e := decodeJSON(c, &req); e != nil {
		s.abort(c, e)
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
	ctx := c.Request.Context()
	rec, e := s.record(ctx, c.Param("id"))
	if e != nil {
		s.abort(c, e)
		return
	}
	var view kyc.CaseView
	userID := kyc.CustomerUserID(rec.ID)
	if p.Role == kyc.RoleAgent {
		userID = p.Sub
		if rec.View.AgentID == p.Sub {
			// Already this agent's case. The assign update's id is per agent
			// and case, so sending it again (a new attempt after a dropped
			// call) would get the first answer's view, and its room, back
			// from Temporal: take the case as it is now instead.
			var confirmed bool
			if view, confirmed = s.queriedView(ctx, rec); !confirmed {
				e = unavailable("the workflow service", errors.New("the case's workflow did not answer"))
			}
		} else {
			view, e = s.assign(ctx, rec, p)
		}
	} else {
		view = s.freshView(ctx, rec)
		if view.Status.Terminal() {
			e = newError(http.StatusConflict, codeInvalidState, "case is %s; nobody joins it any more", view.Status)
		}
	}
	if e != nil {
		s.abort(c, e)
		return
	}
	s.respondJoinToken(c, rec.ID, view, req.Role, userID)
}

// respondJoinToken answers with a token for the current attempt's room.
func (s *Server) respondJoinToken(c *gin.Context, caseID string, view kyc.CaseView, role, userID string) {
	roomID, e := s.waitForRoom(c.Request.Context(), caseID, view)
	if e != nil {
		s.abort(c, e)
		return
	}
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

// assign makes p the case's agent; an agent already assigned gets the view
// back, another agent is refused with 409.
func (s *Server) assign(ctx context.Context, rec *store.CaseRecord, p principal) (kyc.CaseView, *apiError) {
	args := workflows.AssignAgentRequest{AgentID: p.Sub}
	// One id per agent and case: asking again is the same request.
	view, e := s.update(ctx, rec, workflows.UpdateAssignAgent, workflows.UpdateAssignAgent+"-"+shortHash(p.Sub), args)
	if e != nil && e.Status == http.StatusForbidden {
		return view, newError(http.StatusConflict, codeAgentConflict, "case is assigned to another agent")
	}
	return view, e
}

// waitForRoom returns the current attempt's room id. The workflow creates
// the room right after the case starts (and after each new attempt), so a
// token asked for at once may have to wait a moment; past RoomWait the
// caller is told to retry.
func (s *Server) waitForRoom(ctx context.Context, caseID string, view kyc.CaseView) (string, *apiError) {
	deadline := time.Now().Add(s.d.RoomWait)
	for {
		if view.Status.Terminal() {
			return "", newError(http.StatusConflict, codeInvalidState, "case is %s; nobody joins it any more", view.Status)
		}
		if a := view.CurrentAttempt(); a != nil && a.RoomID != "" {
			return a.RoomID, nil
		}
		if !time.Now().Before(deadline) {
			return "", newError(http.StatusServiceUnavailable, codeRoomNotReady, "room not ready, retry")
		}
		select {
		case <-ctx.Done():
			return "", newError(http.StatusServiceUnavailable, codeRoomNotReady, "room not ready, retry")
		case <-time.After(roomPoll):
		}
		if v, err := s.queryView(ctx, caseID); err == nil {
			view = v
		}
	}
}
