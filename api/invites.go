package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// Customer invites: the bank's backend asks for a link, sends it to the
// customer, and the join page trades it for everything the customer needs.
// The token is 32 random bytes (256 bits) in base64url; only its SHA-256 is
// stored. The page sends it in a header, never in an API path, so it does
// not reach access logs or Referer headers.

const (
	headerInvite      = "X-Invite-Token"
	inviteTokenBytes  = 32
	inviteTokenLength = 43 // base64url of 32 bytes, unpadded
	ctxInvite         = "vkyc.invite"
	joinPagePath      = "/app/join/"

	codeInviteInvalid  = "invite_invalid"
	codeInviteExpired  = "invite_expired"
	codeInviteRevoked  = "invite_revoked"
	codeInviteNotFound = "invite_not_found"
)

type inviteResponse struct {
	InviteID  string     `json:"invite_id"`
	CaseID    string     `json:"case_id"`
	URL       string     `json:"url,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func newInviteToken() (string, error) {
	b := make([]byte, inviteTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func inviteTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// createInvite makes a customer's link to a case that nobody has closed.
// Each call makes a new link; older ones stay valid until they expire or
// are revoked.
func (s *Server) createInvite(c *gin.Context) {
	rec, ok := s.recordFor(c, kyc.RoleService, kyc.RoleAdmin)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if rec.Status.Terminal() {
		s.abort(c, newError(http.StatusConflict, codeInvalidState, "case is %s; nobody joins it any more", rec.Status))
		return
	}
	token, err := newInviteToken()
	if err != nil {
		s.abort(c, internalError(err))
		return
	}
	now := s.now()
	inv := store.Invite{
		ID: uuid.NewString(), CaseID: rec.ID, TokenHash: inviteTokenHash(token), CreatedBy: caller(c).Sub,
		CreatedAt: now, ExpiresAt: now.Add(s.d.Config.InviteTTL),
	}
	if err := s.d.Store.CreateInvite(ctx, inv); err != nil {
		s.abort(c, unavailable("the database", err))
		return
	}
	logAttrs(c, "invite_id", inv.ID)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, inviteResponse{
		InviteID: inv.ID, CaseID: rec.ID, URL: s.d.Config.PublicBaseURL + joinPagePath + token, ExpiresAt: inv.ExpiresAt.UTC(),
	})
}

// revokeInvite stops a link from working at once; revoking twice is fine.
func (s *Server) revokeInvite(c *gin.Context) {
	rec, ok := s.recordFor(c, kyc.RoleService, kyc.RoleAdmin)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	id := c.Param("invite_id")
	if _, err := uuid.Parse(id); err != nil {
		s.abort(c, newError(http.StatusNotFound, codeInviteNotFound, "case %s has no invite %q", rec.ID, truncate(id, 64)))
		return
	}
	inv, err := s.d.Store.RevokeInvite(ctx, rec.ID, id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.abort(c, newError(http.StatusNotFound, codeInviteNotFound, "case %s has no invite %s", rec.ID, id))
		return
	case err != nil:
		s.abort(c, unavailable("the database", err))
		return
	}
	logAttrs(c, "invite_id", inv.ID)
	c.JSON(http.StatusOK, inviteResponse{InviteID: inv.ID, CaseID: inv.CaseID, ExpiresAt: inv.ExpiresAt.UTC(), RevokedAt: inv.RevokedAt})
}

// authenticateInvite admits a request carrying a live invite in
// X-Invite-Token: 401 for none or an unknown one, 410 for an expired or
// revoked one (the customer needs a new link, retrying cannot help).
func (s *Server) authenticateInvite(c *gin.Context) {
	token := c.GetHeader(headerInvite)
	if len(token) != inviteTokenLength {
		s.abort(c, newError(http.StatusUnauthorized, codeInviteInvalid, "send the invite from your link in the %s header; this one is missing or malformed", headerInvite))
		return
	}
	inv, err := s.d.Store.InviteByTokenHash(c.Request.Context(), inviteTokenHash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.abort(c, newError(http.StatusUnauthorized, codeInviteInvalid, "this invite link is not valid; ask the bank for a new one"))
		return
	case err != nil:
		s.abort(c, unavailable("the database", err))
		return
	}
	// The lookup is by hash; comparing again in constant time costs nothing
	// and keeps the check independent of how the database compares text.
	if subtle.ConstantTimeCompare([]byte(inv.TokenHash), []byte(inviteTokenHash(token))) != 1 {
		s.abort(c, newError(http.StatusUnauthorized, codeInviteInvalid, "this invite link is not valid; ask the bank for a new one"))
		return
	}
	switch {
	case inv.RevokedAt != nil:
		s.abort(c, newError(http.StatusGone, codeInviteRevoked, "this invite link was withdrawn by the bank; ask the bank for a new one"))
		return
	case !s.now().Before(inv.ExpiresAt):
		s.abort(c, newError(http.StatusGone, codeInviteExpired, "this invite link expired on %s; ask the bank for a new one", inv.ExpiresAt.UTC().Format(time.RFC1123)))
		return
	}
	c.Set(ctxInvite, inv)
	c.Set(ctxPrincipal, principal{Sub: kyc.CustomerUserID(inv.CaseID), Role: kyc.RoleCustomer})
	logAttrs(c, "invite_id", inv.ID, "case_id", inv.CaseID)
	c.Next()
}

func inviteOf(c *gin.Context) *store.Invite {
	v, _ := c.Get(ctxInvite)
	inv, _ := v.(*store.Invite)
	return inv
}

// inviteCase loads the invite's case and its freshest view, or answers
// with the error.
func (s *Server) inviteCase(c *gin.Context) (*store.CaseRecord, kyc.CaseView, bool) {
	inv := inviteOf(c)
	if inv == nil {
		s.abort(c, newError(http.StatusUnauthorized, codeInviteInvalid, "no invite"))
		return nil, kyc.CaseView{}, false
	}
	rec, e := s.record(c.Request.Context(), inv.CaseID)
	if e != nil {
		s.abort(c, e)
		return nil, kyc.CaseView{}, false
	}
	return rec, s.freshView(c.Request.Context(), rec), true
}
