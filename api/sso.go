package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/bank/sso"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Two kinds of bearer token reach the API: the engine's own HS256 tokens
// (the bank's backend, development, `starter token`) and, with OIDC_ISSUER
// set, access tokens of the bank's OpenID Connect provider (RS256 or
// ES256). The header's alg picks the checker; each accepts only its own
// algorithms, so neither can be tricked into checking the other's.

// verifyToken checks a bearer token of either kind.
func (s *Server) verifyToken(c *gin.Context, raw string) (principal, time.Time, *apiError) {
	switch tokenAlg(raw) {
	case "HS256":
		claims, err := auth.Parse(s.secret, raw, s.now())
		if err != nil {
			return principal{}, time.Time{}, invalidToken("the bearer token is invalid or expired; get a new one")
		}
		return principal{Sub: claims.Subject, Role: claims.Role}, claims.ExpiresAt, nil
	case "RS256", "ES256":
		if s.sso == nil {
			return principal{}, time.Time{}, invalidToken("the bearer token is signed by an identity provider, but single sign-on is not configured (OIDC_ISSUER)")
		}
		id, err := s.sso.Verify(c.Request.Context(), raw)
		if err != nil {
			return principal{}, time.Time{}, ssoError(err)
		}
		return principal{Sub: id.Subject, Role: id.Role}, id.ExpiresAt, nil
	default:
		return principal{}, time.Time{}, invalidToken("the bearer token is not a JWT signed with HS256, RS256 or ES256")
	}
}

func invalidToken(msg string) *apiError {
	return newError(http.StatusUnauthorized, codeUnauthorized, "%s", msg)
}

// ssoError turns a refusal of internal/bank/sso into an answer.
func ssoError(err error) *apiError {
	msg := err.Error()
	switch {
	case errors.Is(err, sso.ErrUnavailable):
		return unavailable("the identity provider", err)
	case errors.Is(err, sso.ErrNoRole):
		return forbidden("%s", strings.TrimPrefix(msg, sso.ErrNoRole.Error()+": "))
	default:
		return invalidToken("the bearer token is invalid: " + strings.TrimPrefix(msg, sso.ErrInvalid.Error()+": "))
	}
}

// tokenAlg reads the alg of a JWT's header without checking anything.
func tokenAlg(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok || len(head) > 1024 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}

// The pages' single sign-on: the authorization-code flow with PKCE, with
// the page as the redirect URI. The page asks the API to start (state and
// verifier made here, kept by the page in sessionStorage, never in a URL),
// sends the person to the provider, and on their return hands the code and
// verifier to the API, which exchanges them at the provider's token
// endpoint (with the client secret, if the provider wants one) and answers
// the provider's access token. The page removes the code from its address
// at once.

// ssoPages are the pages that sign in, each its own redirect URI.
var ssoPages = map[string]kyc.Role{"agent": kyc.RoleAgent, "audit": kyc.RoleAuditor}

type ssoStartRequest struct {
	Page string `json:"page"`
}

type ssoStartResponse struct {
	AuthorizationURL string `json:"authorization_url"`
	State            string `json:"state"`
	CodeVerifier     string `json:"code_verifier"`
	RedirectURI      string `json:"redirect_uri"`
}

type ssoFinishRequest struct {
	Page         string `json:"page"`
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
}

const maxSSOParam = 2048

func (s *Server) ssoConfigured(c *gin.Context) bool {
	if s.sso == nil {
		s.abort(c, newError(http.StatusNotFound, codeSignInNotConfigured, "sign-in is not configured: single sign-on is off (OIDC_ISSUER)"))
		return false
	}
	return true
}

// ssoRequest reads a sign-in step's body into req, whose field page names
// the page, and gives the page's redirect URI; when sign-in is off or the
// body is wrong it has answered and returns false.
func (s *Server) ssoRequest(c *gin.Context, req any, page *string) (string, bool) {
	if !s.ssoConfigured(c) || !s.bind(c, req) {
		return "", false
	}
	if _, ok := ssoPages[*page]; !ok {
		s.abort(c, invalidField("page", "must be agent or audit"))
		return "", false
	}
	return s.d.Config.PublicBaseURL + "/app/" + *page, true
}

// ssoStart begins a sign-in for a page.
func (s *Server) ssoStart(c *gin.Context) {
	var req ssoStartRequest
	redirect, ok := s.ssoRequest(c, &req, &req.Page)
	if !ok {
		return
	}
	start, err := s.sso.AuthCodeURL(c.Request.Context(), redirect)
	if err != nil {
		s.abort(c, ssoError(err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, ssoStartResponse{AuthorizationURL: start.URL, State: start.State, CodeVerifier: start.Verifier, RedirectURI: redirect})
}

// ssoFinish exchanges the code the provider sent the page back with.
func (s *Server) ssoFinish(c *gin.Context) {
	var req ssoFinishRequest
	redirect, ok := s.ssoRequest(c, &req, &req.Page)
	if !ok {
		return
	}
	for _, f := range []struct{ name, v string }{{"code", req.Code}, {"code_verifier", req.CodeVerifier}} {
		if f.v == "" || len(f.v) > maxSSOParam || !printableASCII(f.v) {
			s.abort(c, invalidField(f.name, "must be 1 to %d printable ASCII characters", maxSSOParam))
			return
		}
	}
	token, id, err := s.sso.Exchange(c.Request.Context(), req.Code, req.CodeVerifier, redirect)
	if err != nil {
		e := ssoError(err)
		if e.Status == http.StatusUnauthorized {
			e = invalidToken("sign-in failed: " + strings.TrimPrefix(err.Error(), sso.ErrInvalid.Error()+": "))
		}
		s.abort(c, e)
		return
	}
	logAttrs(c, "sub", id.Subject, "role", string(id.Role))
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, signInResponse{Token: token, Sub: id.Subject, Role: string(id.Role), ExpiresAt: id.ExpiresAt.UTC()})
}

func printableASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return false
		}
	}
	return true
}
