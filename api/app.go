package api

import (
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/web"
)

// The pages under /app/: static files embedded in the binary (package web),
// each answered with a Content-Security-Policy that allows scripts and
// styles from this origin only and connections to this API, the object
// store (presigned captures and recordings) and the call provider.

const (
	providerHMS       = "100ms"
	providerSimulator = "simulator"

	codeSignInNotConfigured = "sign_in_not_configured"
	devSignInTTL            = 8 * time.Hour
	maxSignInID             = 64
)

// appPages maps page routes to their HTML file.
var appPages = map[string]string{
	"/app/":             "index.html",
	"/app/join/:invite": "join.html",
	"/app/agent":        "agent.html",
	"/app/audit":        "audit.html",
}

type callProvider struct {
	Name         string
	SimulatorURL string // scheme://host[:port] of the simulator
	// Origins the page's call layer connects to (CSP connect-src).
	Origins []string
}

// callProvider tells the pages what the engine talks to: 100ms itself when
// HMS_BASE_URL is on 100ms.live, the simulator at that address otherwise.
func (s *Server) callProvider() callProvider {
	u, err := url.Parse(s.d.Config.HMS.BaseURL)
	if err != nil || u.Host == "" {
		return callProvider{Name: providerHMS, Origins: hmsOrigins}
	}
	host := u.Hostname()
	if host == "100ms.live" || strings.HasSuffix(host, ".100ms.live") {
		return callProvider{Name: providerHMS, Origins: hmsOrigins}
	}
	origin := u.Scheme + "://" + u.Host
	ws := "ws://" + u.Host
	if u.Scheme == "https" {
		ws = "wss://" + u.Host
	}
	return callProvider{Name: providerSimulator, SimulatorURL: origin, Origins: []string{origin, ws}}
}

// hmsOrigins are where 100ms's web SDK connects: its API, its signalling
// websocket and its event and analytics endpoints.
var hmsOrigins = []string{"https://*.100ms.live", "wss://*.100ms.live"}

// contentSecurityPolicy is built once per server: nothing in it depends on
// the request.
func (s *Server) contentSecurityPolicy() string {
	storage := "http://" + s.d.Config.S3.Endpoint
	if s.d.Config.S3.Secure {
		storage = "https://" + s.d.Config.S3.Endpoint
	}
	connect := append([]string{"'self'", storage}, s.callProvider().Origins...)
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' blob: data: " + storage,
		"media-src 'self' blob: " + storage,
		"connect-src " + strings.Join(connect, " "),
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

func (s *Server) appRoutes(e *gin.Engine) {
	files := web.Dist()
	csp := s.contentSecurityPolicy()
	secure := func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The join page's URL holds the invite: no Referer may carry it.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(self)")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
	serve := func(name string) gin.HandlerFunc {
		return func(c *gin.Context) {
			b, err := fs.ReadFile(files, name)
			if err != nil {
				s.abort(c, newError(http.StatusNotFound, codeNotFound, "no such page"))
				return
			}
			secure(c)
			c.Header("Cache-Control", "no-cache")
			ct := mime.TypeByExtension(path.Ext(name))
			if ct == "" {
				ct = "application/octet-stream"
			}
			c.Data(http.StatusOK, ct, b)
		}
	}
	for route, file := range appPages {
		e.GET(route, serve(file))
	}
	e.GET("/app", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/app/") })
	e.GET("/app/assets/*file", func(c *gin.Context) {
		name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
		if name == "" || strings.HasPrefix(name, ".") {
			s.abort(c, newError(http.StatusNotFound, codeNotFound, "no such asset"))
			return
		}
		serve("assets/" + name)(c)
	})
}

type signInMethods struct {
	Methods []string `json:"methods"`
	// Environment lets the page say why sign-in is missing.
	Environment string `json:"environment"`
}

// signInMethods tells the pages how people sign in: "oidc" (single sign-on,
// api/sso.go) when OIDC_ISSUER is set, and "development" (pick a role and an
// id) in development only.
func (s *Server) signInMethods(c *gin.Context) {
	out := signInMethods{Methods: []string{}, Environment: "development"}
	if s.sso != nil {
		out.Methods = append(out.Methods, "oidc")
	}
	if s.d.Config.Production {
		out.Environment = "production"
	} else {
		out.Methods = append(out.Methods, "development")
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

type devSignInRequest struct {
	Role string `json:"role"`
	ID   string `json:"id"`
}

type signInResponse struct {
	Token     string    `json:"token"`
	Sub       string    `json:"sub"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

// devSignIn mints a token for any agent, auditor or admin id, so that a
// developer can try the pages. It exists only in development: in production
// it answers 404 sign_in_not_configured.
func (s *Server) devSignIn(c *gin.Context) {
	if s.d.Config.Production {
		s.abort(c, newError(http.StatusNotFound, codeSignInNotConfigured, "sign-in is not configured: development sign-in is off in production"))
		return
	}
	var req devSignInRequest
	if !s.bind(c, &req) {
		return
	}
	role := kyc.Role(req.Role)
	switch role {
	case kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin:
	default:
		s.abort(c, invalidField("role", "must be agent, auditor or admin"))
		return
	}
	if !validSignInID(req.ID) {
		s.abort(c, invalidField("id", "must be 1 to %d letters, digits, '.', '_' or '-'", maxSignInID))
		return
	}
	now := s.now()
	token, err := auth.Mint(s.secret, req.ID, role, devSignInTTL, now)
	if err != nil {
		s.abort(c, internalError(err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, signInResponse{Token: token, Sub: req.ID, Role: string(role), ExpiresAt: now.Add(devSignInTTL).UTC()})
}

func validSignInID(id string) bool {
	return id != "" && len(id) <= maxSignInID && safeRequestID(id)
}
