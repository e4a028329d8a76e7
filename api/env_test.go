package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of rawDB
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/api"
	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/bank/devoidc"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/callprovider/inbox"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/case/maintenance"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
	"github.com/vkyc-engine/vkyc/workflows"
)

const (
	testSecret        = "api-test-jwt-secret-0123456789abcdef"
	testHMSKey        = "api-test-hms-access-key"
	testHMSSecret     = "api-test-hms-app-secret-0123456789"
	webhookHeader     = "X-Vkyc-Webhook-Secret"
	webhookSecret     = "api-test-webhook-secret"
	testCaptureLimit  = 64 << 10
	testCaptureLimitS = "64KiB"
)

// env is the whole stack of one test: a fresh PostgreSQL database, a MinIO
// bucket, the Temporal dev server with a worker of the real workflow on a
// queue of its own, the 100ms simulator (recording into the bucket and
// delivering webhooks to the API), the API and the inbox dispatcher.
type env struct {
	t       *testing.T
	cfg     config.Config
	st      *store.Store
	bs      *blob.Store
	bucket  string
	s3      *minio.Client
	tc      client.Client
	queue   string
	sim     *hmssim.Server
	simURL  string
	hc      *hms.Client
	api     *api.Server
	url     string
	disp    *inbox.Dispatcher
	stopW   func()
	stopD   func()
	logs    *logBuffer
	log     *slog.Logger
	dsn     string
	workerM sync.Mutex
	idp     *devoidc.Provider // with envOptions.oidc
}

type envOptions struct {
	noWorker     bool          // start no Temporal worker
	noDispatcher bool          // run no inbox dispatcher
	temporal     client.Client // the API's and dispatcher's client (default: a working one)
	roomWait     time.Duration
	webhookURLs  []string // the bank's webhook endpoints: the store writes the outbox
	oidc         bool     // single sign-on with a development provider (e.idp)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, logs: &logBuffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	dsn := testenv.Postgres(t)
	e.dsn = dsn
	s3 := testenv.MinIO(t)
	temporalAddr := testenv.Temporal(t)

	st, err := store.Open(ctx, dsn, store.WithLogger(log), store.WithWebhookEndpoints(o.webhookURLs))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.st = st

	e.bucket = testenv.RandomName("api-")
	e.bs, err = blob.New(ctx, blob.Config{
		Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: e.bucket, Region: "us-east-1", CreateBucket: true, SSE: "off",
	})
	if err != nil {
		t.Fatalf("blob.New: %v", err)
	}
	e.s3, err = minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatalf("minio.New: %v", err)
	}
	t.Cleanup(func() { e.emptyBucket() })

	// The API's address must be known before the simulator, which posts
	// its webhooks there, and the simulator's before the API's 100ms client;
	// with single sign-on, before the provider, which redirects to its pages.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + ln.Addr().String()
	vars := map[string]string{}
	if o.oidc {
		e.idp = startIdP(t, e.url, "RS256")
		vars = map[string]string{
			config.EnvPublicBaseURL: e.url,
			config.EnvOIDCIssuer:    e.idp.Issuer(),
			config.EnvOIDCClientID:  idpClient,
			config.EnvOIDCRoleMap:   devoidc.RoleMap,
			config.EnvOIDCScopes:    "openid profile",
			config.EnvOIDCClockSkew: "30s",
		}
	}

	e.queue = testenv.RandomName("api-test-")
	e.cfg, err = config.LoadFrom(func(name string) string {
		if v, ok := vars[name]; ok {
			return v
		}
		return map[string]string{
			config.EnvAuthSecret:         testSecret,
			config.EnvTemporalAddress:    temporalAddr,
			config.EnvTemporalTaskQueue:  e.queue,
			config.EnvCaptureMaxBytes:    testCaptureLimitS,
			config.EnvCaptureURLTTL:      "2m",
			config.EnvJoinTokenTTL:       "30m",
			config.EnvHMSWebhookHeader:   webhookHeader,
			config.EnvHMSWebhookSecret:   webhookSecret,
			config.EnvCaseRecordingGrace: "30s",
			config.EnvS3Bucket:           e.bucket,
		}[name]
	})
	if err != nil {
		t.Fatalf("config: %v", err)
	}

	recStore, err := hmssim.NewMinIOStore(s3.Endpoint, s3.AccessKey, s3.SecretKey, false)
	if err != nil {
		t.Fatal(err)
	}
	e.sim, err = hmssim.New(hmssim.Config{
		AccessKey: testHMSKey, AppSecret: testHMSSecret,
		WebhookURL:          e.url + "/v1/webhooks/100ms",
		WebhookHeaders:      map[string]string{webhookHeader: webhookSecret},
		RecordingStartDelay: 20 * time.Millisecond,
		RecordingReadyDelay: 50 * time.Millisecond,
		RetrySchedule:       []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond},
		Storage:             recStore,
		Bucket:              e.bucket,
		Prefix:              "recordings",
	})
	if err != nil {
		t.Fatalf("hmssim.New: %v", err)
	}
	simSrv := httptest.NewServer(e.sim.Handler())
	e.simURL = simSrv.URL
	t.Cleanup(func() {
		simSrv.Close()
		e.sim.Close()
	})
	e.hc, err = hms.New(hms.Config{BaseURL: simSrv.URL + "/v2", AccessKey: testHMSKey, AppSecret: testHMSSecret, Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	e.tc = dialTemporal(t, temporalAddr)
	t.Cleanup(func() { terminateQueue(e.tc, e.queue) })
	if !o.noWorker {
		e.startWorker()
	}
	tc := o.temporal
	if tc == nil {
		tc = e.tc
	}
	e.log = log
	e.disp = e.newDispatcher(tc)
	if !o.noDispatcher {
		e.stopD = e.runDispatcher(e.disp)
	}
	e.api, err = api.New(api.Deps{
		Config: e.cfg, Store: st, Blob: e.bs, Temporal: tc, HMS: e.hc,
		Verifier:  hms.Verifier{Headers: map[string]string{webhookHeader: webhookSecret}},
		Logger:    log,
		WakeInbox: e.disp.Wake,
		RoomWait:  o.roomWait,
		// Short: a test without a worker must not wait long for queries.
		QueryTimeout:  time.Second,
		UpdateTimeout: 10 * time.Second,
		CheckTimeout:  time.Second,
	})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	// Every /v1 answer is checked against api/openapi.yaml.
	hs := &httptest.Server{Listener: ln, Config: &http.Server{Handler: newOpenAPICheck(t, e.url).wrap(e.api.Handler())}}
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", e.logs.String())
		}
	})
	return e
}

// otherAPI serves a second API on the env's parts but with the given
// Temporal client and store, for outages; it returns its URL.
func (e *env) otherAPI(tc client.Client, st *store.Store) string {
	e.t.Helper()
	return e.otherAPIWith(func(d *api.Deps) { d.Temporal, d.Store = tc, st })
}

// otherAPIWith serves a second API whose dependencies change applies to.
func (e *env) otherAPIWith(change func(*api.Deps)) string {
	e.t.Helper()
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	d := api.Deps{
		Config: e.cfg, Store: e.st, Blob: e.bs, Temporal: e.tc, HMS: e.hc,
		Verifier: hms.Verifier{Headers: map[string]string{webhookHeader: webhookSecret}},
		Logger:   log, QueryTimeout: 300 * time.Millisecond, UpdateTimeout: 2 * time.Second,
		CheckTimeout: 500 * time.Millisecond, RoomWait: 300 * time.Millisecond,
	}
	change(&d)
	srv, err := api.New(d)
	if err != nil {
		e.t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	hs.Config.Handler = newOpenAPICheck(e.t, "http://"+hs.Listener.Addr().String()).wrap(srv.Handler())
	hs.Start()
	e.t.Cleanup(hs.Close)
	return hs.URL
}

// deadTemporal is a client of a Temporal that is down: nothing listens on
// its port.
func deadTemporal(t *testing.T) client.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tc, err := client.NewLazyClient(client.Options{HostPort: addr, Logger: quietTemporal()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// terminateQueue ends the test's workflows still running on the shared dev
// server (their cases wait hours for timers otherwise).
func terminateQueue(tc client.Client, queue string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = %q AND ExecutionStatus = 'Running'", queue),
	})
	if err != nil {
		return
	}
	for _, ex := range resp.Executions {
		_ = tc.TerminateWorkflow(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, "test finished")
	}
}

func dialTemporal(t *testing.T, addr string) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tc, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: quietTemporal()})
	if err != nil {
		t.Fatalf("dial Temporal: %v", err)
	}
	t.Cleanup(tc.Close)
	return tc
}

func quietTemporal() temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}

func (e *env) startWorker() {
	e.workerM.Lock()
	defer e.workerM.Unlock()
	if e.stopW != nil {
		return
	}
	w := worker.New(e.tc, e.queue, worker.Options{})
	workflows.RegisterWorker(w, &activities.Activities{HMS: e.hc, Store: e.st, Blob: e.bs, Temporal: e.tc})
	maintenance.Register(w, &maintenance.Activities{Store: e.st, HMS: e.hc, Temporal: e.tc, TaskQueue: e.queue,
		Cases: e.cfg.CaseDefaults(), Grace: time.Nanosecond, Logger: e.log})
	if err := w.Start(); err != nil {
		e.t.Fatalf("worker: %v", err)
	}
	var once sync.Once
	e.stopW = func() { once.Do(w.Stop) }
	e.t.Cleanup(e.stopW)
}

func (e *env) newDispatcher(tc client.Client) *inbox.Dispatcher {
	return inbox.New(e.st, tc, e.log, inbox.Options{PollInterval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, SignalTimeout: 2 * time.Second})
}

func (e *env) runDispatcher(d *inbox.Dispatcher) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	stop := func() {
		cancel()
		<-done
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) emptyBucket() {
	ctx := context.Background()
	for obj := range e.s3.ListObjects(ctx, e.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			_ = e.s3.RemoveObject(ctx, e.bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	}
	_ = e.s3.RemoveBucket(ctx, e.bucket)
}

// rawDB opens the env's database past the store, for tests that write
// behind its back (tampering, stale rows) or read every table.
func (e *env) rawDB() *sql.DB {
	e.t.Helper()
	db, err := sql.Open("pgx", e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = db.Close() })
	return db
}

// objects lists the keys under prefix.
func (e *env) objects(prefix string) []string {
	e.t.Helper()
	var keys []string
	for obj := range e.s3.ListObjects(context.Background(), e.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			e.t.Fatalf("list %s: %v", prefix, obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

func (e *env) token(role kyc.Role, sub string) string {
	e.t.Helper()
	tok, err := auth.Mint([]byte(testSecret), sub, role, time.Hour, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Tokens of the usual actors.
func (e *env) service() string           { return e.token(kyc.RoleService, "bank-backend") }
func (e *env) admin() string             { return e.token(kyc.RoleAdmin, "admin-1") }
func (e *env) agent(sub string) string   { return e.token(kyc.RoleAgent, sub) }
func (e *env) auditor(sub string) string { return e.token(kyc.RoleAuditor, sub) }

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d answer %q: %v", r.status, r.body, err)
	}
}

// req is one request to the API.
type req struct {
	base         string // another API's URL; default the env's
	method, path string
	token        string
	json         any    // marshalled as the body, Content-Type application/json
	raw          []byte // the body as is
	contentType  string
	headers      map[string]string
	chunked      bool // send raw without a Content-Length
}

func (e *env) call(r req) response {
	e.t.Helper()
	var body io.Reader
	ct := r.contentType
	switch {
	case r.raw != nil && r.chunked:
		body = io.MultiReader(bytes.NewReader(r.raw)) // hides the length
	case r.raw != nil:
		body = bytes.NewReader(r.raw)
	case r.json != nil:
		b, err := json.Marshal(r.json)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
		if ct == "" {
			ct = "application/json"
		}
	}
	base := r.base
	if base == "" {
		base = e.url
	}
	hr, err := http.NewRequest(r.method, base+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	hc := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantError checks an answer in the error shape.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("error body %q is not the error shape: %v", r.body, err)
	}
	if code != "" && eb.Error.Code != code {
		t.Fatalf("error code %q, want %q; body %s", eb.Error.Code, code, r.body)
	}
	if eb.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

func casePath(id string, suffix ...string) string {
	return "/v1/cases/" + id + strings.Join(suffix, "")
}

// createCase creates a case needing only the given captures (face when none).
func (e *env) createCase(kinds ...kyc.CaptureKind) kyc.CaseView {
	e.t.Helper()
	if len(kinds) == 0 {
		kinds = []kyc.CaptureKind{kyc.CaptureFace}
	}
	r := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: map[string]any{
		"customer":          map[string]string{"reference": testenv.RandomName("REF-"), "name": "Asha Rao", "email": "asha@example.com", "phone": "+91 98765 43210"},
		"required_captures": kinds,
	}})
	wantStatus(e.t, r, http.StatusCreated)
	var v kyc.CaseView
	r.decode(e.t, &v)
	return v
}

func (e *env) view(id string) kyc.CaseView {
	e.t.Helper()
	r := e.call(req{method: "GET", path: casePath(id), token: e.service()})
	wantStatus(e.t, r, http.StatusOK)
	var v kyc.CaseView
	r.decode(e.t, &v)
	return v
}

// waitFor polls the case until ok holds.
func (e *env) waitFor(id, what string, ok func(kyc.CaseView) bool) kyc.CaseView {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := e.view(id)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("case %s: waited for %s; status %s, view %+v", id, what, v.Status, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type joinAnswer struct {
	RoomID    string    `json:"room_id"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (e *env) joinToken(id, token, role string) joinAnswer {
	e.t.Helper()
	r := e.call(req{method: "POST", path: casePath(id, "/join-tokens"), token: token, json: map[string]string{"role": role}})
	wantStatus(e.t, r, http.StatusOK)
	var j joinAnswer
	r.decode(e.t, &j)
	return j
}

// simJoin joins the simulated room with a 100ms token, as a client SDK would.
func (e *env) simJoin(token string) string {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"token": token, "name": "someone"})
	resp, err := http.Post(e.simURL+"/sim/v1/join", "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		PeerID string `json:"peer_id"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("sim join: %d %s", resp.StatusCode, body)
	}
	_ = json.Unmarshal(body, &out)
	return out.PeerID
}

// joinTokens are the join tokens of the case's agent agentSub (who is
// assigned by asking) and of its customer.
func (e *env) joinTokens(id, agentSub string) (agent, customer joinAnswer) {
	e.t.Helper()
	return e.joinToken(id, e.agent(agentSub), "agent"), e.joinToken(id, e.service(), "customer")
}

// inCall creates a case, gets both tokens through the API, joins both
// participants in the simulator and waits until the workflow sees the call.
func (e *env) inCall(agentSub string, kinds ...kyc.CaptureKind) kyc.CaseView {
	e.t.Helper()
	v := e.createCase(kinds...)
	aj, cj := e.joinTokens(v.ID, agentSub)
	e.simJoin(aj.Token)
	e.simJoin(cj.Token)
	return e.waitFor(v.ID, "in_call", func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })
}

// form builds a capture upload: the fields in order, each a name and content.
type formField struct {
	name, filename, contentType string
	data                        []byte
}

func multipartBody(t *testing.T, fields ...formField) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		h := textproto.MIMEHeader{}
		if f.filename != "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.name, f.filename))
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, f.name))
		}
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		p, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = p.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func captureForm(t *testing.T, kind kyc.CaptureKind, data []byte) ([]byte, string) {
	return multipartBody(t, formField{name: "kind", data: []byte(kind)},
		formField{name: "file", filename: "capture.bin", contentType: "application/octet-stream", data: data})
}

// upload posts a capture form.
func (e *env) upload(id, token string, kind kyc.CaptureKind, data []byte, headers map[string]string) response {
	e.t.Helper()
	body, ct := captureForm(e.t, kind, data)
	return e.call(req{method: "POST", path: casePath(id, "/captures"), token: token, raw: body, contentType: ct, headers: headers})
}

// uploadRaw posts a capture as the image itself, its kind in the query.
func (e *env) uploadRaw(id, token string, kind kyc.CaptureKind, data []byte, headers map[string]string) response {
	e.t.Helper()
	return e.call(req{method: "POST", path: casePath(id, "/captures") + "?kind=" + url.QueryEscape(string(kind)), token: token,
		raw: data, contentType: http.DetectContentType(data), headers: headers})
}

// uploadFunc is one way to upload a capture.
type uploadFunc func(id, token string, kind kyc.CaptureKind, data []byte, headers map[string]string) response

// uploadShapes are the API's two ways of taking a capture.
func uploadShapes(e *env) []struct {
	name string
	up   uploadFunc
} {
	return []struct {
		name string
		up   uploadFunc
	}{{"form", e.upload}, {"raw", e.uploadRaw}}
}

// logBuffer collects the service's log for failed tests and for checks that
// secrets stay out of it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func minioGet() minio.GetObjectOptions { return minio.GetObjectOptions{} }
