package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

const (
	headerRequestID = "X-Request-ID"
	ctxRequestID    = "vkyc.request_id"
	ctxPrincipal    = "vkyc.principal"
	ctxLogAttrs     = "vkyc.log_attrs"
)

// logAttrs adds key-value pairs to the request's access log line, so that a
// handler says what it did in the one line per request rather than a second.
func logAttrs(c *gin.Context, kv ...any) {
	prev, _ := c.Get(ctxLogAttrs)
	attrs, _ := prev.([]any)
	c.Set(ctxLogAttrs, append(attrs, kv...))
}

// requestIDMiddleware takes the caller's X-Request-ID when it is a short
// token of safe characters (so that it can be logged as is) and makes one
// otherwise; the answer always carries it.
func (s *Server) requestIDMiddleware(c *gin.Context) {
	id := c.GetHeader(headerRequestID)
	if !safeRequestID(id) {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(ctxRequestID, id)
	c.Header(headerRequestID, id)
	c.Next()
}

func safeRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// accessLog writes one line per request: the route template rather than the
// path with its query (which can hold cursors or, on redirects, signatures),
// and never a header, so tokens and webhook secrets stay out of the logs.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	elapsed := time.Since(start)
	code := c.Writer.Status()
	s.metrics.observeHTTP(c.Request.Method, route, code, elapsed)
	attrs := []any{
		"method", c.Request.Method, "route", route, "status", code,
		"duration_ms", float64(elapsed.Microseconds()) / 1000, "request_id", requestID(c),
		"bytes_out", c.Writer.Size(),
	}
	if p, ok := c.Get(ctxPrincipal); ok {
		pr := p.(principal)
		attrs = append(attrs, "sub", pr.Sub, "role", string(pr.Role))
	}
	if id := c.Param("id"); id != "" {
		attrs = append(attrs, "case_id", truncate(id, 64))
	}
	if extra, ok := c.Get(ctxLogAttrs); ok {
		attrs = append(attrs, extra.([]any)...)
	}
	s.log.InfoContext(c.Request.Context(), "http request", attrs...)
}

// recovery turns a panic into a 500 in the error shape. The log gets the
// panic value and stack but never the request body, which may carry PII.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if rec == http.ErrAbortHandler {
			panic(rec)
		}
		s.log.ErrorContext(c.Request.Context(), "handler panicked",
			"request_id", requestID(c), "route", c.FullPath(), "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			c.Abort()
			return
		}
		s.abort(c, newError(http.StatusInternalServerError, codeInternal, "internal error; retry later or contact support with the request id"))
	}()
	c.Next()
}

// principal is who called, as the bearer token says.
type principal struct {
	Sub  string
	Role kyc.Role
}

func (p principal) is(roles ...kyc.Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// authenticate requires a valid bearer token: the engine's own (HS256, see
// internal/bank/auth) or the identity provider's (api/sso.go).
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="vkyc"`)
		s.abort(c, newError(http.StatusUnauthorized, codeUnauthorized, "send an Authorization: Bearer <token> header"))
		return
	}
	p, _, e := s.verifyToken(c, strings.TrimSpace(token))
	if e != nil {
		if e.Status == http.StatusUnauthorized {
			c.Header("WWW-Authenticate", `Bearer realm="vkyc", error="invalid_token"`)
		}
		s.abort(c, e)
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

func caller(c *gin.Context) principal {
	p, _ := c.Get(ctxPrincipal)
	pr, _ := p.(principal)
	return pr
}

// allow answers 403 unless the caller has one of roles.
func (s *Server) allow(c *gin.Context, roles ...kyc.Role) bool {
	p := caller(c)
	if p.is(roles...) {
		return true
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	s.abort(c, forbidden("role %s may not do this; allowed: %s", p.Role, strings.Join(names, ", ")))
	return false
}
