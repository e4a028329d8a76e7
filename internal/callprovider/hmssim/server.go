// Package hmssim is a 100ms simulator: an HTTP server with the 100ms REST API
// (rooms, templates, active rooms, recordings, sessions) under /v2, a
// participant API under /sim/v1 standing in for the client SDKs, the webhook
// events of a call delivered with 100ms's at-least-once semantics, room
// composite recordings really written to object storage, and deterministic
// fault injection. It is written from the API reference, independently of
// our client, so that the client's mistakes show up in contract tests.
//
// The /sim/v1 endpoints are unauthenticated: the simulator is a development
// and test tool and must never be exposed beyond the machine running it.
package hmssim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server is a simulated 100ms workspace. It is safe for concurrent use.
type Server struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
	mux *http.ServeMux

	ctx    context.Context
	cancel context.CancelFunc
	lifeMu sync.Mutex
	closed bool
	wg     sync.WaitGroup

	faultsMu      sync.Mutex
	faults        Faults
	endpointCalls map[string]uint64

	mu              sync.Mutex
	rooms           map[string]*room
	roomOrder       []*room
	roomsByName     map[string]*room // lower-cased name
	templates       map[string]*template
	templateOrder   []*template
	templatesByName map[string]*template
	sessions        map[string]*session
	sessionOrder    []*session
	peers           map[string]*peer
	recordings      map[string]*recording
	recordingOrder  []*recording
	assets          map[string]*recording // asset id → its recording
	eventSeq        uint64
	sessionSeq      uint64

	hooks   *webhooks
	signals *signalHub
}

// New builds a simulator; call Close when done with it.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, now: time.Now, log: cfg.Logger, mux: http.NewServeMux(),
		ctx: ctx, cancel: cancel,
		faults: cfg.Faults.clone(), endpointCalls: map[string]uint64{},
		rooms: map[string]*room{}, roomsByName: map[string]*room{},
		templates: map[string]*template{}, templatesByName: map[string]*template{},
		sessions: map[string]*session{}, peers: map[string]*peer{},
		recordings: map[string]*recording{}, assets: map[string]*recording{},
	}
	s.hooks = newWebhooks(s)
	s.signals = newSignalHub()
	s.routes()
	return s, nil
}

// Handler serves the /v2 API and the /sim/v1 participant and control API.
func (s *Server) Handler() http.Handler { return s.mux }

// SetFaults replaces the injected faults; request counters restart so a
// given seed gives the same pattern from this point on.
func (s *Server) SetFaults(f Faults) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.faults = f.clone()
	s.endpointCalls = map[string]uint64{}
}

func (s *Server) currentFaults() Faults {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	return s.faults.clone()
}

// Close stops timers and webhook deliveries and waits for their goroutines.
// Events not yet delivered are dropped.
func (s *Server) Close() {
	s.lifeMu.Lock()
	if s.closed {
		s.lifeMu.Unlock()
		return
	}
	s.closed = true
	s.lifeMu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.hooks.client.CloseIdleConnections()
}

// spawn runs fn in a goroutine that Close waits for; false once closed.
func (s *Server) spawn(fn func()) bool {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// after runs fn once d has passed, unless the server closes first.
func (s *Server) after(d time.Duration, fn func()) bool {
	return s.spawn(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fn()
		case <-s.ctx.Done():
		}
	})
}

func (s *Server) routes() {
	type route struct {
		pattern string
		h       apiHandler
	}
	for _, rt := range []route{
		{"POST /v2/rooms", s.createRoom},
		{"GET /v2/rooms", s.listRooms},
		{"GET /v2/rooms/{room_id}", s.getRoom},
		{"POST /v2/rooms/{room_id}", s.updateRoom},

		{"POST /v2/templates", s.createTemplate},
		{"GET /v2/templates", s.listTemplates},
		{"GET /v2/templates/{template_id}", s.getTemplate},
		{"POST /v2/templates/{template_id}", s.updateTemplate},
		{"GET /v2/templates/{template_id}/roles/{role}", s.getTemplateRole},
		{"POST /v2/templates/{template_id}/roles/{role}", s.putTemplateRole},
		{"DELETE /v2/templates/{template_id}/roles/{role}", s.deleteTemplateRole},
		{"GET /v2/templates/{template_id}/settings", s.templatePartGetter("settings")},
		{"POST /v2/templates/{template_id}/settings", s.templatePartSetter("settings")},
		{"GET /v2/templates/{template_id}/recordings", s.templatePartGetter("recordings")},
		{"POST /v2/templates/{template_id}/recordings", s.templatePartSetter("recordings")},

		{"GET /v2/active-rooms/{room_id}", s.getActiveRoom},
		{"GET /v2/active-rooms/{room_id}/peers", s.listActivePeers},
		{"GET /v2/active-rooms/{room_id}/peers/{peer_id}", s.getActivePeer},
		{"POST /v2/active-rooms/{room_id}/end-room", s.endRoom},
		{"POST /v2/active-rooms/{room_id}/remove-peers", s.removePeers},

		{"POST /v2/recordings/room/{room_id}/start", s.startRecording},
		{"POST /v2/recordings/room/{room_id}/stop", s.stopRoomRecordings},
		{"POST /v2/recordings/{recording_id}/stop", s.stopRecordingByID},
		{"GET /v2/recordings/{recording_id}", s.getRecording},
		{"GET /v2/recordings", s.listRecordings},
		{"GET /v2/recording-assets/{asset_id}", s.getAsset},
		{"GET /v2/recording-assets/{asset_id}/presigned-url", s.presignAsset},

		{"GET /v2/sessions", s.listSessions},
		{"GET /v2/sessions/{session_id}", s.getSession},
	} {
		s.mux.Handle(rt.pattern, s.api(rt.h))
	}
	s.mux.Handle("/v2/", s.api(func(*http.Request) (any, error) {
		return nil, errorf(http.StatusNotFound, "route not found")
	}))

	s.mux.HandleFunc("POST /sim/v1/join", cors(simAPI(s.handleJoin)))
	s.mux.HandleFunc("OPTIONS /sim/v1/join", cors(nil))
	s.mux.HandleFunc("POST /sim/v1/leave", cors(simAPI(s.handleLeave)))
	s.mux.HandleFunc("OPTIONS /sim/v1/leave", cors(nil))
	s.mux.HandleFunc("GET /sim/v1/signal", s.handleSignal)
	s.mux.HandleFunc("POST /sim/v1/drop", simAPI(s.handleDrop))
	s.mux.HandleFunc("GET /sim/v1/faults", simAPI(s.handleGetFaults))
	s.mux.HandleFunc("POST /sim/v1/faults", simAPI(s.handleSetFaults))
	s.mux.HandleFunc("GET /sim/v1/state", simAPI(s.handleState))
	s.mux.HandleFunc("GET /sim/v1/deliveries", simAPI(s.handleDeliveries))
}

// apiHandler answers a /v2 or /sim/v1 call with a 200 body or an *apiError.
type apiHandler func(r *http.Request) (any, error)

// api wraps a /v2 handler: injected faults first (they stand for the load
// balancer and the network, which answer before authentication), then the
// management token, then the handler.
func (s *Server) api(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusOK
		defer func() {
			s.log.Debug("hmssim api", "method", r.Method, "pattern", r.Pattern, "path", r.URL.Path, "status", status)
		}()
		if f, injected := s.injectFault(r); injected {
			status = f.Code
			if ra := f.retryAfter; ra > 0 {
				w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(ra.Seconds())), 10))
			}
			writeJSON(w, f.Code, f.apiError)
			return
		}
		if err := s.checkManagement(r); err != nil {
			status = http.StatusUnauthorized
			writeError(w, err)
			return
		}
		body, err := h(r)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				status = ae.Code
			} else {
				status = http.StatusInternalServerError
				s.log.Error("hmssim api handler failed", "pattern", r.Pattern, "err", err)
			}
		}
		respond(w, body, err)
	})
}

// simAPI answers a /sim/v1 call as api answers a /v2 one, without injected
// faults or the management token: these endpoints are the simulator's own
// (participants authorized by their peer token, and test controls).
func simAPI(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := h(r)
		respond(w, body, err)
	}
}

type injectedFault struct {
	*apiError
	retryAfter time.Duration
}

// injectFault applies the endpoint fault matching r: its latency always, its
// error for the share of calls the seed selects.
func (s *Server) injectFault(r *http.Request) (injectedFault, bool) {
	s.faultsMu.Lock()
	key, ef, ok := s.faults.endpointFault(r.Pattern, r.Method, r.URL.Path)
	var n uint64
	seed := s.faults.Seed
	if ok {
		n = s.endpointCalls[key]
		s.endpointCalls[key] = n + 1
	}
	s.faultsMu.Unlock()
	if !ok {
		return injectedFault{}, false
	}
	if ef.Latency > 0 {
		t := time.NewTimer(ef.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	if !hit(seed, "endpoint "+key, n, ef.ErrorRate) {
		return injectedFault{}, false
	}
	status := ef.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := http.StatusText(status)
	if msg == "" {
		msg = fmt.Sprintf("status %d", status)
	}
	return injectedFault{apiError: errorf(status, msg, "injected fault"), retryAfter: ef.RetryAfter}, true
}
