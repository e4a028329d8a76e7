// Package api is the case engine's HTTP service: the bank's backend, agents
// and auditors drive KYC cases through it, and 100ms delivers its webhooks to
// it. Cases live in Temporal workflows; the API starts them, sends them
// updates and reads their view, and reads lists, PII and the event log from
// the database.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/bank/sso"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

// Deps are what the service runs on. Config supplies the JWT secret, the
// capture limits, the token and URL lifetimes, the case timeouts and the
// task queue.
type Deps struct {
	Config   config.Config
	Store    *store.Store
	Blob     *blob.Store
	Temporal client.Client
	HMS      *hms.Client
	Verifier hms.Verifier
	Logger   *slog.Logger
	Now      func() time.Time

	// WakeInbox is called after a webhook event is stored, so that the
	// dispatcher delivers it at once instead of at its next poll. Optional.
	WakeInbox func()
	// WakeOutbound is called after a redeliver, so that the bank's webhook
	// deliverer sends it at once. Optional.
	WakeOutbound func()
	// Registry receives the service's Prometheus metrics and is what
	// /metrics serves; nil means a new registry with the Go and process
	// collectors.
	Registry *prometheus.Registry

	// Timeouts; zero values take the defaults below. Tests shorten them.
	QueryTimeout  time.Duration // a workflow query for the freshest view
	UpdateTimeout time.Duration // a workflow update, until completed
	RoomWait      time.Duration // how long join-tokens waits for the room
	CheckTimeout  time.Duration // one readiness check
}

// Default timeouts.
const (
	defaultQueryTimeout  = 3 * time.Second
	defaultUpdateTimeout = 15 * time.Second
	defaultRoomWait      = 10 * time.Second
	defaultCheckTimeout  = 2 * time.Second
)

// Server serves the API. Create it with New.
type Server struct {
	d         Deps
	log       *slog.Logger
	now       func() time.Time
	secret    []byte
	taskQueue string
	wake      func()
	metrics   *metrics
	engine    *gin.Engine
	// webhookLimit is HMS_WEBHOOK_RATE_LIMIT per source address; nil: off.
	webhookLimit *sourceLimiter
	// sso checks the bank's identity provider's tokens; nil: OIDC is off.
	sso *sso.Provider
	// openAPI is /v1/openapi.json.
	openAPI []byte
}

func init() {
	// Release mode: no debug route dump, no colour codes in logs. Set once,
	// because gin keeps the mode in a global.
	gin.SetMode(gin.ReleaseMode)
}

// New checks d and builds the routes.
func New(d Deps) (*Server, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("api: a store is required")
	case d.Blob == nil:
		return nil, errors.New("api: an object store is required")
	case d.Temporal == nil:
		return nil, errors.New("api: a Temporal client is required")
	case d.HMS == nil:
		return nil, errors.New("api: a 100ms client is required")
	case len(d.Config.AuthSecret) < 16:
		return nil, errors.New("api: the auth secret must be at least 16 bytes")
	case d.Config.Capture.MaxBytes <= 0:
		return nil, errors.New("api: the capture size limit must be positive")
	}
	s := &Server{
		d:         d,
		log:       d.Logger,
		now:       d.Now,
		secret:    []byte(d.Config.AuthSecret),
		taskQueue: d.Config.Temporal.TaskQueue,
		wake:      d.WakeInbox,

		webhookLimit: newSourceLimiter(d.Config.HMS.WebhookRateLimit),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "api")
	if s.now == nil {
		s.now = time.Now
	}
	if s.taskQueue == "" {
		s.taskQueue = workflows.TaskQueue
	}
	if s.wake == nil {
		s.wake = func() {}
	}
	if s.d.QueryTimeout <= 0 {
		s.d.QueryTimeout = defaultQueryTimeout
	}
	if s.d.UpdateTimeout <= 0 {
		s.d.UpdateTimeout = defaultUpdateTimeout
	}
	if s.d.RoomWait <= 0 {
		s.d.RoomWait = defaultRoomWait
	}
	if s.d.CheckTimeout <= 0 {
		s.d.CheckTimeout = defaultCheckTimeout
	}
	if s.d.Config.Capture.URLTTL <= 0 {
		s.d.Config.Capture.URLTTL = 5 * time.Minute
	}
	if s.d.Config.JoinTokenTTL <= 0 {
		s.d.Config.JoinTokenTTL = 2 * time.Hour
	}
	m, err := newMetrics(d.Registry, s.d.Store, s.log)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	if d.Config.OIDC.Enabled() {
		s.sso = sso.New(d.Config.OIDC, nil, s.now)
	}
	if s.openAPI, err = s.openAPIJSON(); err != nil {
		return nil, err
	}
	s.engine = s.routes()
	return s, nil
}

// Handler is the whole service, ready for an http.Server.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) routes() *gin.Engine {
	e := gin.New()
	// No proxy is trusted: the client address in logs is the peer's, and no
	// X-Forwarded-For header can forge it.
	_ = e.SetTrustedProxies(nil)
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.requestIDMiddleware, s.accessLog, s.recovery)
	e.NoRoute(func(c *gin.Context) {
		s.abort(c, newError(http.StatusNotFound, codeNotFound, "no such route: %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		s.abort(c, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "method %s is not allowed here", c.Request.Method))
	})

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(s.metrics.handler()))
	e.POST("/v1/webhooks/100ms", s.webhook)
	if s.d.Config.Codec.Keys != nil {
		s.codecRoutes(e)
	}

	v1 := e.Group("/v1", s.authenticate)
	v1.POST("/cases", s.createCase)
	v1.GET("/cases", s.listCases)
	v1.GET("/cases/:id", s.getCase)
	v1.POST("/cases/:id/join-tokens", s.joinToken)
	v1.POST("/cases/:id/captures", s.uploadCapture)
	v1.GET("/cases/:id/captures/:capture_id", s.getCapture)
	v1.POST("/cases/:id/decision", s.decision)
	v1.POST("/cases/:id/audit", s.audit)
	v1.POST("/cases/:id/cancel", s.cancel)
	v1.GET("/cases/:id/events", s.events)
	v1.GET("/cases/:id/customer-evidence", s.caseEvidence)
	v1.GET("/cases/:id/evidence", s.evidencePack)
	v1.GET("/webhook-deliveries", s.listDeliveries)
	v1.POST("/webhook-deliveries/:delivery_id/redeliver", s.redeliver)
	v1.GET("/cases/:id/recording", s.getRecording)
	v1.POST("/cases/:id/invites", s.createInvite)
	v1.DELETE("/cases/:id/invites/:invite_id", s.revokeInvite)

	// The customer's join page authenticates with its invite, not a token.
	inv := e.Group("/v1/invite", s.authenticateInvite)
	inv.GET("", s.inviteStatus)
	inv.POST("/consent", s.inviteConsent)
	inv.POST("/location", s.inviteLocation)
	inv.POST("/join-token", s.inviteJoinToken)

	e.GET("/v1/openapi.json", s.serveOpenAPI(s.openAPI))
	e.GET("/v1/sign-in", s.signInMethods)
	e.POST("/v1/sign-in/development", s.devSignIn)
	e.POST("/v1/sign-in/oidc/start", s.ssoStart)
	e.POST("/v1/sign-in/oidc", s.ssoFinish)
	s.appRoutes(e)
	return e
}
