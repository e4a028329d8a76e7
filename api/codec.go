package api

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/converter"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// The codec endpoint is Temporal's remote codec protocol (POST
// /codec/encode and /codec/decode with {"payloads": [...]}), served by the
// SDK's handler over the engine's payload keys, so that the Temporal Web UI
// (and `temporal workflow show --codec-endpoint`) show operators the
// payloads the engine seals. Only admins may use it: with an
// Authorization: Bearer header (the CLI; the Web UI's "pass access token"),
// or with the session cookie that /codec/sign-in sets for a browser, which
// the Web UI sends when its codec setting "include cross-origin
// credentials" is on. Browsers may call it only from CODEC_CORS_ORIGINS.
const (
	codecCookie     = "vkyc_codec"
	maxCodecRequest = 16 << 20 // Temporal's payload limit is 2 MiB; a decode request carries a page of them
	codeNoOrigin    = "origin_not_allowed"
)

func (s *Server) codecRoutes(e *gin.Engine) {
	h := converter.NewPayloadCodecHTTPHandler(s.d.Config.Codec.Keys.Codec())
	serve := gin.WrapH(http.MaxBytesHandler(h, maxCodecRequest))
	g := e.Group("/codec", s.codecCORS)
	for _, op := range []string{"/encode", "/decode"} {
		g.OPTIONS(op, func(c *gin.Context) { c.Status(http.StatusNoContent) })
		g.POST(op, s.codecAuth, func(c *gin.Context) {
			if !s.allow(c, kyc.RoleAdmin) {
				return
			}
			c.Header("Cache-Control", "no-store")
			serve(c)
		})
	}
	g.GET("/sign-in", s.codecSignInPage)
	g.POST("/sign-in", s.codecSignIn)
	g.POST("/sign-out", s.codecSignOut)
}

// codecCORS answers browsers: an allowed origin gets the CORS headers
// (with credentials), any other origin is refused outright, so that a page
// elsewhere cannot even make the request with the operator's cookie.
func (s *Server) codecCORS(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" {
		c.Next()
		return
	}
	if !slices.Contains(s.d.Config.Codec.Origins, origin) && origin != s.publicOrigin() {
		s.abort(c, newError(http.StatusForbidden, codeNoOrigin, "origin %s may not call the codec endpoint; add it to CODEC_CORS_ORIGINS", truncate(origin, 100)))
		return
	}
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization, Authorization-Extras")
	h.Set("Access-Control-Max-Age", "600")
	c.Next()
}

func (s *Server) publicOrigin() string {
	u, err := url.Parse(s.d.Config.PublicBaseURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// codecAuth takes the bearer token, else the session cookie.
func (s *Server) codecAuth(c *gin.Context) {
	if c.GetHeader("Authorization") != "" {
		s.authenticate(c)
		return
	}
	tok, err := c.Cookie(codecCookie)
	if err != nil || tok == "" {
		c.Header("WWW-Authenticate", `Bearer realm="vkyc"`)
		s.abort(c, newError(http.StatusUnauthorized, codeUnauthorized,
			"sign in at /codec/sign-in (a browser) or send an Authorization: Bearer <admin token> header"))
		return
	}
	// The cookie holds whichever token signed in: the engine's or the
	// identity provider's, checked as authenticate checks a bearer token.
	p, _, e := s.verifyToken(c, tok)
	if e != nil {
		if e.Status == http.StatusUnauthorized {
			e = newError(http.StatusUnauthorized, codeUnauthorized, "the codec session has expired; sign in again at /codec/sign-in")
		}
		s.abort(c, e)
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

var signInPage = template.Must(template.New("sign-in").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Codec sign-in · vkyc</title></head>
<body>
<main>
<h1>Sign in to the payload codec</h1>
{{if .Signed}}<p role="status">Signed in as {{.Sub}} until {{.Until}}. The Temporal Web UI can now show this engine's payloads:
in its Codec Server settings, use the endpoint <code>{{.Endpoint}}</code> and tick “Include cross-origin credentials”.</p>
<form method="post" action="/codec/sign-out"><button type="submit">Sign out</button></form>
{{else}}{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<p>Paste an admin token: the engine's (<code>go run ./starter token --role admin --sub admin-1</code>)
or an access token of the bank's identity provider for an admin.
It is kept in a cookie for this site only, until the token expires.</p>
<form method="post" action="/codec/sign-in">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>{{end}}
</main>
</body>
</html>
`))

type signInView struct {
	Signed               bool
	Sub, Until, Endpoint string
	Error                string
}

func (s *Server) renderSignIn(c *gin.Context, status int, v signInView) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Status(status)
	if err := signInPage.Execute(c.Writer, v); err != nil {
		s.log.ErrorContext(c.Request.Context(), "codec sign-in page", "error", err)
	}
}

func (s *Server) codecSignInPage(c *gin.Context) {
	s.renderSignIn(c, http.StatusOK, signInView{})
}

// codecSignIn checks an admin token and keeps it in an HttpOnly cookie
// scoped to /codec. Only a form of this site may post it (no login CSRF).
func (s *Server) codecSignIn(c *gin.Context) {
	if o := c.GetHeader("Origin"); o != "" && o != s.publicOrigin() && o != "http://"+c.Request.Host {
		s.abort(c, newError(http.StatusForbidden, codeNoOrigin, "sign in from this site's own form"))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 16<<10)
	tok := strings.TrimSpace(c.PostForm("token"))
	p, exp, e := s.verifyToken(c, tok)
	switch {
	case e != nil && e.Status == http.StatusServiceUnavailable:
		s.renderSignIn(c, e.Status, signInView{Error: "The identity provider is unavailable; try again shortly."})
		return
	case e != nil:
		s.renderSignIn(c, e.Status, signInView{Error: "That token is refused: " + e.Message})
		return
	case p.Role != kyc.RoleAdmin:
		s.renderSignIn(c, http.StatusForbidden, signInView{Error: "Only an admin token may use the codec."})
		return
	}
	secure := strings.HasPrefix(s.d.Config.PublicBaseURL, "https://")
	same := http.SameSiteStrictMode
	if secure {
		// The Web UI is usually another site than the API: its requests
		// carry the cookie only with SameSite=None (which needs Secure);
		// the origin check above and in codecCORS keeps other sites out.
		same = http.SameSiteNoneMode
	}
	// #nosec G124 -- Secure whenever the API is served over https (PUBLIC_BASE_URL); `make dev` is plain http on loopback.
	http.SetCookie(c.Writer, &http.Cookie{Name: codecCookie, Value: tok, Path: "/codec", Expires: exp, HttpOnly: true, Secure: secure, SameSite: same})
	logAttrs(c, "sub", p.Sub)
	s.renderSignIn(c, http.StatusOK, signInView{Signed: true, Sub: p.Sub, Until: exp.UTC().Format(time.RFC1123), Endpoint: s.d.Config.PublicBaseURL + "/codec"})
}

func (s *Server) codecSignOut(c *gin.Context) {
	secure := strings.HasPrefix(s.d.Config.PublicBaseURL, "https://")
	// #nosec G124 -- a deletion; Secure as the cookie it deletes.
	http.SetCookie(c.Writer, &http.Cookie{Name: codecCookie, Value: "", Path: "/codec", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	s.renderSignIn(c, http.StatusOK, signInView{})
}
