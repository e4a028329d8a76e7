package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

const codeRecordingNotVerified = "recording_not_verified"

type presignedResponse struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// getRecording redirects auditors and admins to a short-lived presigned URL
// of the case's verified recording (the current attempt's). A recording
// that is not verified is not served: nobody reviews what the engine did
// not check.
func (s *Server) getRecording(c *gin.Context) {
	if !s.allow(c, kyc.RoleAuditor, kyc.RoleAdmin) {
		return
	}
	_, view, ok := s.loadCase(c, caller(c))
	if !ok {
		return
	}
	r := view.Recording
	if r.Status != kyc.RecordingVerified {
		s.abort(c, newError(http.StatusConflict, codeRecordingNotVerified, "case %s has no verified recording (recording status: %s)", view.ID, r.Status))
		return
	}
	key, ok := strings.CutPrefix(r.Path, "s3://"+s.d.Config.S3.Bucket+"/")
	if !ok || key == "" {
		// Verification checks the object in our bucket; a path elsewhere is
		// a bug, and the URL would not be ours to sign.
		s.abort(c, newError(http.StatusConflict, codeRecordingNotVerified, "case %s's recording is not in this engine's bucket", view.ID))
		return
	}
	s.answerPresigned(c, key)
}

// answerPresigned sends a presigned URL of key: a 302 by default, or
// {"url", "expires_at"} when the client asks for application/json (a page's
// fetch cannot read a cross-origin redirect, and an <img> or <video> cannot
// send the bearer token). The URL is a bearer secret, so no cache keeps it.
func (s *Server) answerPresigned(c *gin.Context, key string) {
	ttl := s.d.Config.Capture.URLTTL
	u, err := s.d.Blob.PresignGet(c.Request.Context(), key, ttl)
	if err != nil {
		s.abort(c, unavailable("object storage", err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	if strings.Contains(c.GetHeader("Accept"), "application/json") {
		c.JSON(http.StatusOK, presignedResponse{URL: u.String(), ExpiresAt: s.now().Add(ttl).UTC()})
		return
	}
	c.Redirect(http.StatusFound, u.String())
}
