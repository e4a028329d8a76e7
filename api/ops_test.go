package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vkyc-engine/vkyc/api"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	wantStatus(t, e.call(req{method: "GET", path: "/healthz"}), http.StatusOK)
	r := e.call(req{method: "GET", path: "/readyz"})
	wantStatus(t, r, http.StatusOK)
	for _, dep := range []string{`"postgres":"ok"`, `"temporal":"ok"`, `"object_storage":"ok"`} {
		if !strings.Contains(string(r.body), dep) {
			t.Fatalf("readyz %s lacks %s", r.body, dep)
		}
	}

	down := e.otherAPI(deadTemporal(t), e.st)
	wantStatus(t, e.call(req{base: down, method: "GET", path: "/healthz"}), http.StatusOK)
	r = e.call(req{base: down, method: "GET", path: "/readyz"})
	wantError(t, r, http.StatusServiceUnavailable, "not_ready")
	if !strings.Contains(string(r.body), `"temporal":"down"`) || !strings.Contains(string(r.body), `"postgres":"ok"`) ||
		!strings.Contains(string(r.body), "temporal") {
		t.Fatalf("readyz does not say Temporal is down: %s", r.body)
	}

	e.createCase()
	e.createCase()
	r = e.call(req{method: "GET", path: "/metrics"})
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`vkyc_cases{status="waiting_for_participants"} 2`,
		`vkyc_cases{status="approved"} 0`,
		`vkyc_webhook_inbox_rows{state="pending"} 0`,
		`vkyc_store_metrics_up 1`,
		`vkyc_http_request_duration_seconds_bucket{method="POST",route="/v1/cases",status="201",le=`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	// Route templates, never raw paths with ids, label the metrics.
	if strings.Contains(string(r.body), "/v1/cases/") && !strings.Contains(string(r.body), "/v1/cases/:id") {
		t.Fatal("a raw path labels a metric")
	}
}

// TestMetricsCountEveryCase: the case gauges count with SQL, so they are
// exact past any page limit (they paged through at most 5,000 whole rows,
// personal data included, before).
func TestMetricsCountEveryCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	db := e.rawDB()
	if _, err := db.Exec(`INSERT INTO cases (id, customer_reference, customer_name, status, created_at, updated_at)
		SELECT gen_random_uuid()::text, 'REF-' || g, 'Asha', 'failed', now(), now() FROM generate_series(1, 5100) g`); err != nil {
		t.Fatal(err)
	}
	r := e.call(req{method: "GET", path: "/metrics"})
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{`vkyc_cases{status="failed"} 5100`, `vkyc_cases{status="approved"} 0`, `vkyc_store_metrics_up 1`} {
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}

// TestObjectStorageDown: the bucket is gone. Readiness names object
// storage, an upload answers 503 and registers nothing.
func TestObjectStorageDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	s3 := testenv.MinIO(t)
	gone := testenv.RandomName("api-gone-")
	bs, err := blob.New(context.Background(), blob.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: gone, Region: "us-east-1", CreateBucket: true, SSE: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s3.RemoveBucket(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	down := e.otherAPIWith(func(d *api.Deps) { d.Blob = bs })
	r := e.call(req{base: down, method: "GET", path: "/readyz"})
	wantError(t, r, http.StatusServiceUnavailable, "not_ready")
	if !strings.Contains(string(r.body), `"object_storage":"down"`) {
		t.Fatalf("readyz: %s", r.body)
	}
	body, ct := captureForm(t, kyc.CaptureFace, pngImage(t, 2, 2))
	r = e.call(req{base: down, method: "POST", path: casePath(v.ID, "/captures"), token: e.agent("agent-1"), raw: body, contentType: ct})
	wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	if n := len(e.view(v.ID).Captures); n != 0 {
		t.Fatalf("%d captures registered without storage", n)
	}
}

func TestEventLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.createCase()
	e.waitFor(v.ID, "room", func(v kyc.CaseView) bool { return len(v.Attempts) == 1 && v.Attempts[0].RoomID != "" })
	var log struct {
		CaseID     string           `json:"case_id"`
		Events     []map[string]any `json:"events"`
		Count      int              `json:"count"`
		ChainValid bool             `json:"chain_valid"`
		BrokenAt   int64            `json:"broken_at"`
	}
	e.eventsOfType(v.ID, "room_created", 1)
	r := e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.admin()})
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &log)
	if log.CaseID != v.ID || !log.ChainValid || log.Count < 3 || log.Count != len(log.Events) {
		t.Fatalf("log %+v", log)
	}
	first := log.Events[0]
	for _, f := range []string{"seq", "type", "actor_id", "actor_role", "at", "data", "prev_hash", "hash"} {
		if _, ok := first[f]; !ok {
			t.Fatalf("event lacks %s: %v", f, first)
		}
	}
	// An auditor sees the log of cases awaiting audit only.
	wantError(t, e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.auditor("aud-1")}), http.StatusForbidden, "forbidden")

	// Someone edits a stored event in the database: the chain says so.
	db := e.rawDB()
	if _, err := db.ExecContext(context.Background(),
		`UPDATE case_events SET data = '{"customer_ref":"someone-else"}' WHERE case_id = $1 AND seq = 1`, v.ID); err != nil {
		t.Fatal(err)
	}
	log.ChainValid, log.BrokenAt = true, 0
	r = e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.service()})
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &log)
	if log.ChainValid || log.BrokenAt != 1 {
		t.Fatalf("tampered log reported valid=%v broken_at=%d", log.ChainValid, log.BrokenAt)
	}
}

// TestNoSecretsInLogs runs requests carrying every kind of secret and checks
// the service log holds none of them.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	tok := e.agent("agent-1")
	img := pngImage(t, 2, 2)
	r := e.upload(v.ID, tok, kyc.CaptureFace, img, nil)
	wantStatus(t, r, http.StatusCreated)
	var c kyc.Capture
	r.decode(t, &c)
	wantStatus(t, e.call(req{method: "GET", path: casePath(v.ID, "/captures/", c.ID), token: tok}), http.StatusFound)
	j := e.joinToken(v.ID, e.service(), "customer")
	e.webhook(hmsEvent("log-1", "peer.join.success", "other-room"), map[string]string{webhookHeader: "wrong-secret-value"})

	logs := e.logs.String()
	for name, secret := range map[string]string{
		"bearer token": tok, "100ms token": j.Token, "webhook secret": webhookSecret, "wrong webhook secret": "wrong-secret-value",
		"presigned signature": "X-Amz-Signature", "customer name": "Asha Rao", "customer email": "asha@example.com",
		"JWT secret": testSecret,
	} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the %s reached the log", name)
		}
	}
	if !strings.Contains(logs, `"route":"/v1/cases/:id/captures/:capture_id"`) || !strings.Contains(logs, `"status":302`) {
		t.Fatal("the access log lacks the capture download")
	}
}
