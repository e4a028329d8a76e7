package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/bank/devoidc"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// EnvHostileReport names a file that TestHostileRequests writes its table to
// (tab-separated), for docs/RELIABILITY.md; `make chaos` sets it.
const EnvHostileReport = "VKYC_HOSTILE_REPORT"

// hostile is one hostile request with the answer it must get. After it, the
// database, the bucket and both cases' workflow views must be exactly as
// before: refused means nothing stored and nothing changed.
type hostile struct {
	name   string
	req    func() req
	status int
	code   string                         // the error code; "" for a 2xx
	check  func(t *testing.T, r response) // more checks of the answer, optional
}

// TestHostileRequests sends a table of hostile requests to the running API
// (with the real PostgreSQL, MinIO, Temporal, worker and simulator behind
// it) and checks each one's status and that nothing was stored or changed.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{oidc: true})

	// Case A is in a call with agent-1, its recording running. Case B was
	// approved by agent-2 and waits for its audit.
	a := e.inCall("agent-1", kyc.CaptureFace)
	e.waitFor(a.ID, "recording started", func(v kyc.CaseView) bool { return v.Recording.Status == kyc.RecordingStarted })
	b := e.inCall("agent-2", kyc.CaptureFace)
	img := pngImage(t, 6, 6)
	wantStatus(t, e.upload(b.ID, e.agent("agent-2"), kyc.CaptureFace, img, nil), http.StatusCreated)
	e.waitFor(b.ID, "recording started", func(v kyc.CaseView) bool { return v.Recording.Status == kyc.RecordingStarted })
	wantStatus(t, e.post(b.ID, "/decision", e.agent("agent-2"), map[string]string{"outcome": "approve", "reason": "ok"}, nil), http.StatusOK)
	e.waitFor(b.ID, "awaiting_audit", func(v kyc.CaseView) bool {
		return v.Status == kyc.StatusAwaitingAudit && v.Recording.Status == kyc.RecordingVerified
	})
	// An event the replay below reuses the id of.
	replayID := uuid.NewString()
	replayBody := hmsEvent(replayID, "peer.join.success", "someone-elses-room")
	wantStatus(t, e.webhook(replayBody, nil), http.StatusOK)
	captureA := uploadedCapture(t, e, a.ID)

	fp := newFingerprint(t, e)
	fp.quiet(a.ID, b.ID)

	now := time.Now()
	claims := func(sub, role string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "role": role, "exp": exp.Unix()}
	}
	forged := signed(t, jwt.SigningMethodHS256, []byte("not-the-secret-0123456789abcdef"), claims("bank-backend", "service", now.Add(time.Hour)))
	none := signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("bank-backend", "admin", now.Add(time.Hour)))
	expired := signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims("bank-backend", "service", now.Add(-time.Minute)))
	customerRole := signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims("customer-1", "customer", now.Add(time.Hour)))
	promoted := promote(t, e.auditor("auditor-9"))
	idp := idpTokens(t, e)

	createBody := func(ref, name string) map[string]any {
		return map[string]any{"customer": map[string]string{"reference": ref, "name": name}}
	}
	raw := func(method, path, token, contentType string, body []byte) func() req {
		return func() req { return req{method: method, path: path, token: token, raw: body, contentType: contentType} }
	}
	asJSON := func(method, path, token string, body any) func() req {
		return func() req { return req{method: method, path: path, token: token, json: body} }
	}
	form := func(id, token string, fields ...formField) func() req {
		return func() req {
			body, ct := multipartBody(t, fields...)
			return req{method: "POST", path: casePath(id, "/captures"), token: token, raw: body, contentType: ct}
		}
	}
	file := func(name string, data []byte) formField {
		return formField{name: "file", filename: name, contentType: "image/jpeg", data: data}
	}
	kind := formField{name: "kind", data: []byte("face")}
	nested := []byte(`{"customer":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 41))
	webhook := func(headers map[string]string, body []byte) func() req {
		return func() req {
			return req{method: "POST", path: "/v1/webhooks/100ms", raw: body, contentType: "application/json", headers: headers}
		}
	}
	secret := map[string]string{webhookHeader: webhookSecret}
	fresh := func() []byte { return hmsEvent(uuid.NewString(), "peer.leave.success", kyc.RoomName(a.ID, 1)) }
	agent1, agent9 := e.agent("agent-1"), e.agent("agent-9")
	nulSub := signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims("agent-1\x00", "agent", now.Add(time.Hour)))
	longSub := signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims(strings.Repeat("a", 10<<10), "service", now.Add(time.Hour)))
	nulCursor := base64.RawURLEncoding.EncodeToString([]byte(now.UTC().Format(time.RFC3339Nano) + "|\x00"))
	replayed := func() []byte {
		var m map[string]any
		_ = json.Unmarshal(replayBody, &m)
		m["is_replay"] = true
		b, _ := json.Marshal(m)
		return b
	}
	keyed := func(method, path, token, key string, body any) func() req {
		return func() req {
			return req{method: method, path: path, token: token, json: body, headers: map[string]string{"Idempotency-Key": key}}
		}
	}
	noCases := func(t *testing.T, r response) {
		var page struct {
			Cases []json.RawMessage `json:"cases"`
		}
		r.decode(t, &page)
		if len(page.Cases) != 0 {
			t.Fatalf("an SQL fragment in a filter matched %d cases", len(page.Cases))
		}
	}

	tests := []hostile{
		// Sizes past the limits.
		{name: "case body past 64 KiB", req: asJSON("POST", "/v1/cases", e.service(), createBody("REF-BIG", strings.Repeat("a", 70<<10))),
			status: 413, code: "payload_too_large"},
		{name: "capture past the size limit", req: form(a.ID, agent1, kind, file("big.png", pngImage(t, 200, 200))),
			status: 413, code: "payload_too_large"},
		{name: "webhook past 1 MiB", req: webhook(secret, append(fresh()[:1], bytes.Repeat([]byte(" "), 1<<20)...)),
			status: 413, code: "payload_too_large"},
		{name: "deeply nested JSON", req: raw("POST", "/v1/cases", e.service(), "application/json", nested), status: 400, code: "malformed_request"},
		{name: "invalid UTF-8 in JSON", req: raw("POST", "/v1/cases", e.service(), "application/json",
			[]byte("{\"customer\":{\"reference\":\"REF-1\",\"name\":\"\xff\xfe\"}}")), status: 400, code: "malformed_request"},
		{name: "unknown JSON field", req: asJSON("POST", "/v1/cases", e.service(), map[string]any{"customer": map[string]string{"reference": "R"}, "audit_rejection": false}),
			status: 422, code: "unknown_field"},

		// Ids with path traversal and SQL fragments.
		{name: "case id ../../etc/passwd (encoded slashes)", req: asJSON("GET", "/v1/cases/..%2F..%2Fetc%2Fpasswd", e.service(), nil), status: 404, code: "not_found"},
		{name: "case id ..\\..\\windows", req: asJSON("GET", "/v1/cases/..%5C..%5Cwindows", e.service(), nil), status: 404, code: "case_not_found"},
		{name: "case id .. on a decision", req: asJSON("POST", "/v1/cases/%2E%2E/decision", agent1, map[string]string{"outcome": "approve"}), status: 404, code: "case_not_found"},
		{name: "capture id ../ traversal", req: asJSON("GET", casePath(a.ID, "/captures/..%5C..%5C"+captureA), agent1, nil), status: 404, code: "capture_not_found"},
		{name: "case id with SQL", req: asJSON("GET", "/v1/cases/"+url.PathEscape("1' OR '1'='1"), e.service(), nil), status: 404, code: "case_not_found"},
		{name: "case id with SQL on cancel", req: asJSON("POST", "/v1/cases/"+url.PathEscape("x'; DROP TABLE cases;--")+"/cancel", e.service(), map[string]string{"reason": "x"}),
			status: 404, code: "case_not_found"},
		{name: "SQL in customer_reference filter", req: asJSON("GET", "/v1/cases?customer_reference="+url.QueryEscape("' OR 1=1 --"), e.service(), nil),
			status: 200, check: noCases},
		{name: "SQL in agent_id filter", req: asJSON("GET", "/v1/cases?agent_id="+url.QueryEscape("x' OR ''='"), e.service(), nil), status: 200, check: noCases},
		{name: "SQL in status filter", req: asJSON("GET", "/v1/cases?status="+url.QueryEscape("approved' OR 1=1"), e.service(), nil), status: 422, code: "invalid_field"},
		{name: "SQL in cursor", req: asJSON("GET", "/v1/cases?cursor="+url.QueryEscape("' UNION SELECT * FROM cases --"), e.service(), nil), status: 422, code: "invalid_field"},
		{name: "SQL in customer reference", req: asJSON("POST", "/v1/cases", e.service(), createBody("R'; DROP TABLE cases;--", "x")), status: 422, code: "invalid_field"},

		// Wrong and missing content types.
		{name: "case as text/plain", req: raw("POST", "/v1/cases", e.service(), "text/plain", []byte(`{"customer":{"reference":"R"}}`)), status: 415, code: "unsupported_media_type"},
		{name: "case without Content-Type", req: raw("POST", "/v1/cases", e.service(), "", []byte(`{"customer":{"reference":"R"}}`)), status: 415, code: "unsupported_media_type"},
		{name: "case JSON in Latin-1", req: raw("POST", "/v1/cases", e.service(), "application/json; charset=iso-8859-1", []byte(`{"customer":{"reference":"R"}}`)),
			status: 415, code: "unsupported_media_type"},
		{name: "decision as a form", req: raw("POST", casePath(a.ID, "/decision"), agent1, "application/x-www-form-urlencoded", []byte("outcome=approve")),
			status: 415, code: "unsupported_media_type"},
		{name: "capture as JSON", req: raw("POST", casePath(a.ID, "/captures"), agent1, "application/json", []byte(`{"kind":"face"}`)), status: 415, code: "unsupported_media_type"},
		{name: "capture without Content-Type", req: raw("POST", casePath(a.ID, "/captures"), agent1, "", img), status: 415, code: "unsupported_media_type"},

		// Files that are not what they claim.
		{name: "JPEG header on a text file", req: form(a.ID, agent1, kind, file("face.jpg", []byte("\xff\xd8\xff\xe0 this is not an image, only its first bytes"))),
			status: 415, code: "unsupported_media_type"},
		{name: "PNG signature on a script", req: form(a.ID, agent1, kind, file("face.png", []byte("\x89PNG\r\n\x1a\n<script>alert(1)</script>"))),
			status: 415, code: "unsupported_media_type"},
		{name: "HTML declared image/jpeg", req: form(a.ID, agent1, kind, file("face.jpg", []byte("<html><body>x</body></html>"))),
			status: 415, code: "unsupported_media_type"},
		{name: "zero-byte file", req: form(a.ID, agent1, kind, file("face.jpg", nil)), status: 422, code: "empty_file"},

		// Tokens.
		{name: "forged JWT (another secret)", req: asJSON("POST", "/v1/cases", forged, createBody("REF-F", "x")), status: 401, code: "unauthorized"},
		{name: "alg none", req: asJSON("POST", "/v1/cases", none, createBody("REF-N", "x")), status: 401, code: "unauthorized"},
		{name: "expired token", req: asJSON("POST", "/v1/cases", expired, createBody("REF-E", "x")), status: 401, code: "unauthorized"},
		{name: "role changed in a signed token", req: asJSON("POST", "/v1/cases", promoted, createBody("REF-P", "x")), status: 401, code: "unauthorized"},
		{name: "customer role token", req: asJSON("POST", "/v1/cases", customerRole, createBody("REF-C", "x")), status: 401, code: "unauthorized"},
		{name: "auditor creating a case", req: asJSON("POST", "/v1/cases", e.auditor("auditor-9"), createBody("REF-A", "x")), status: 403, code: "forbidden"},
		{name: "agent cancelling a case", req: asJSON("POST", casePath(a.ID, "/cancel"), agent1, map[string]string{"reason": "mine"}), status: 403, code: "forbidden"},
		{name: "service deciding", req: asJSON("POST", casePath(a.ID, "/decision"), e.service(), map[string]string{"outcome": "approve"}), status: 403, code: "forbidden"},

		// Access tokens of the identity provider (single sign-on).
		{name: "IdP token of another issuer", req: asJSON("GET", "/v1/cases", idp.otherIssuer, nil), status: 401, code: "unauthorized"},
		{name: "IdP token for another audience", req: asJSON("GET", "/v1/cases", idp.otherAudience, nil), status: 401, code: "unauthorized"},
		{name: "IdP token with an unknown key id", req: asJSON("GET", "/v1/cases", idp.unknownKey, nil), status: 401, code: "unauthorized"},
		{name: "IdP token expired", req: asJSON("GET", "/v1/cases", idp.expired, nil), status: 401, code: "unauthorized"},
		{name: "IdP token not yet valid", req: asJSON("GET", "/v1/cases", idp.notYetValid, nil), status: 401, code: "unauthorized"},
		{name: "IdP token whose groups map to no role", req: asJSON("GET", "/v1/cases", idp.noRole, nil), status: 403, code: "forbidden"},
		{name: "IdP token mapping to agent and auditor", req: asJSON("GET", "/v1/cases", idp.twoRoles, nil), status: 403, code: "forbidden"},
		{name: "HS256 token signed with the IdP's public key", req: asJSON("POST", "/v1/cases", idp.algConfusion, createBody("REF-K", "x")), status: 401, code: "unauthorized"},
		{name: "IdP token taking a case as another agent's id", req: asJSON("POST", casePath(a.ID, "/join-tokens"), idp.agent9, map[string]string{"role": "agent"}),
			status: 409, code: "agent_conflict"},

		// Agents and auditors out of their lane.
		{name: "agent reading another agent's case", req: asJSON("GET", casePath(a.ID), agent9, nil), status: 403, code: "forbidden"},
		{name: "agent taking another agent's case", req: asJSON("POST", casePath(a.ID, "/join-tokens"), agent9, map[string]string{"role": "agent"}),
			status: 409, code: "agent_conflict"},
		{name: "agent uploading to another agent's case", req: form(a.ID, agent9, kind, formField{name: "file", filename: "f.png", data: img}),
			status: 403, code: "forbidden"},
		{name: "agent deciding another agent's case", req: asJSON("POST", casePath(a.ID, "/decision"), agent9, map[string]string{"outcome": "reject", "reason": "x"}),
			status: 403, code: "forbidden"},
		{name: "agent fetching another agent's capture", req: asJSON("GET", casePath(a.ID, "/captures/"+captureA), agent9, nil), status: 403, code: "forbidden"},
		{name: "deciding agent auditing (auditor token)", req: asJSON("POST", casePath(b.ID, "/audit"), e.auditor("agent-2"), map[string]string{"outcome": "approve"}),
			status: 403, code: "forbidden"},
		{name: "deciding agent auditing (agent token)", req: asJSON("POST", casePath(b.ID, "/audit"), e.agent("agent-2"), map[string]string{"outcome": "approve"}),
			status: 403, code: "forbidden"},

		// Webhooks.
		{name: "webhook without the secret", req: webhook(nil, fresh()), status: 401, code: "unauthorized"},
		{name: "webhook with a wrong secret", req: webhook(map[string]string{webhookHeader: "guess"}, fresh()), status: 401, code: "unauthorized"},
		{name: "webhook secret as a bearer token", req: webhook(map[string]string{"Authorization": "Bearer " + webhookSecret}, fresh()), status: 401, code: "unauthorized"},
		{name: "webhook that is not an event", req: webhook(secret, []byte(`{"hello":"world"}`)), status: 400, code: "malformed_request"},
		{name: "replayed webhook id, other body", req: webhook(secret, hmsEvent(replayID, "peer.leave.success", kyc.RoomName(a.ID, 1))),
			status: 409, code: "webhook_replay_conflict"},

		// Text PostgreSQL cannot store, and over-long actor ids.
		{name: "cancel reason with NUL", req: asJSON("POST", casePath(a.ID, "/cancel"), e.service(), map[string]string{"reason": "dup\x00x"}),
			status: 422, code: "invalid_field"},
		{name: "decision reason with NUL", req: asJSON("POST", casePath(a.ID, "/decision"), agent1, map[string]string{"outcome": "reject", "reason": "no\x00"}),
			status: 422, code: "invalid_field"},
		{name: "audit reason with NUL", req: asJSON("POST", casePath(b.ID, "/audit"), e.auditor("auditor-9"), map[string]string{"outcome": "reject", "reason": "\x00"}),
			status: 422, code: "invalid_field"},
		{name: "customer name with NUL", req: asJSON("POST", "/v1/cases", e.service(), createBody("REF-NUL", "Asha\x00")), status: 422, code: "invalid_field"},
		{name: "customer email with NUL", req: asJSON("POST", "/v1/cases", e.service(),
			map[string]any{"customer": map[string]string{"reference": "REF-NUL2", "email": "a\x00@example.com"}}), status: 422, code: "invalid_field"},
		{name: "Idempotency-Key not ASCII", req: keyed("POST", casePath(a.ID, "/cancel"), e.service(), "ключ", map[string]string{"reason": "x"}),
			status: 422, code: "invalid_field"},
		{name: "token sub with NUL", req: asJSON("GET", casePath(a.ID), nulSub, nil), status: 401, code: "unauthorized"},
		{name: "token sub of 10 KB", req: asJSON("POST", "/v1/cases", longSub, createBody("REF-LONG", "x")), status: 401, code: "unauthorized"},
		{name: "NUL in agent_id filter", req: asJSON("GET", "/v1/cases?agent_id=agent%00", e.service(), nil), status: 422, code: "invalid_field"},
		{name: "invalid UTF-8 in customer_reference filter", req: asJSON("GET", "/v1/cases?customer_reference=%FF", e.service(), nil),
			status: 422, code: "invalid_field"},
		{name: "cursor with a NUL id", req: asJSON("GET", "/v1/cases?cursor="+nulCursor, e.service(), nil), status: 422, code: "invalid_field"},
		{name: "webhook with NUL in a reason", req: webhook(secret, []byte(`{"id":"`+uuid.NewString()+`","type":"peer.leave.success","data":{"room_name":"`+
			kyc.RoomName(a.ID, 1)+`","reason":"dup\u0000x"}}`)), status: 400, code: "malformed_request"},
		{name: "webhook in invalid UTF-8", req: webhook(secret, []byte("{\"id\":\""+uuid.NewString()+"\",\"type\":\"peer.join.success\",\"data\":{\"room_name\":\""+
			kyc.RoomName(a.ID, 1)+"\",\"user_id\":\"\xff\"}}")), status: 400, code: "malformed_request"},
		{name: "webhook without the secret, 2 MiB body", req: webhook(nil, append(fresh()[:1], bytes.Repeat([]byte(" "), 2<<20)...)),
			status: 401, code: "unauthorized"},
		{name: "100ms replay (is_replay) of a known event", req: webhook(secret, replayed()), status: 200},

		// Methods.
		{name: "DELETE a case", req: asJSON("DELETE", casePath(a.ID), e.admin(), nil), status: 405, code: "method_not_allowed"},
	}

	var rows []string
	for _, tt := range tests {
		ok := t.Run(tt.name, func(t *testing.T) {
			before := fp.take(a.ID, b.ID)
			r := e.call(tt.req())
			got := fmt.Sprintf("%d", r.status)
			if tt.code != "" {
				wantError(t, r, tt.status, tt.code)
				got += " " + tt.code
			} else {
				wantStatus(t, r, tt.status)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			for _, s := range []string{testSecret, webhookSecret, testHMSSecret} {
				if strings.Contains(string(r.body), s) {
					t.Fatal("the answer carries a secret")
				}
			}
			if diff := before.diff(fp.take(a.ID, b.ID)); diff != "" {
				t.Fatalf("state changed: %s", diff)
			}
		})
		result := "pass"
		if !ok {
			result = "FAIL"
		}
		rows = append(rows, strings.Join([]string{tt.name, fmt.Sprintf("%d %s", tt.status, tt.code), result}, "\t"))
	}
	if path := os.Getenv(EnvHostileReport); path != "" {
		out := "request\texpected\tanswered as expected, nothing stored or changed\n" + strings.Join(rows, "\n") + "\n"
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Errorf("write %s: %v", path, err)
		}
	}
}

// uploadedCapture stores one capture in case id (agent-1's) and returns its id.
func uploadedCapture(t *testing.T, e *env, id string) string {
	t.Helper()
	r := e.upload(id, e.agent("agent-1"), kyc.CaptureFace, pngImage(t, 5, 5), nil)
	wantStatus(t, r, http.StatusCreated)
	var c kyc.Capture
	r.decode(t, &c)
	return c.ID
}

// promote rewrites the role in a valid token's payload to admin and keeps
// the signature: the signature no longer matches.
func promote(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.Replace(payload, []byte(`"auditor"`), []byte(`"admin"`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// fingerprint records the state a refused request must not change: every
// row of every table of the env's database, every object of its bucket
// (key, size and ETag) and the workflow views of the given cases.
type fingerprint struct {
	t  *testing.T
	e  *env
	db *sql.DB
}

type snapshot struct {
	tables  map[string]string
	objects []string
	views   map[string]string
}

func newFingerprint(t *testing.T, e *env) *fingerprint {
	t.Helper()
	return &fingerprint{t: t, e: e, db: e.rawDB()}
}

func (f *fingerprint) take(caseIDs ...string) snapshot {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := snapshot{tables: map[string]string{}, views: map[string]string{}}
	rows, err := f.db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		f.t.Fatalf("list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			f.t.Fatal(err)
		}
		tables = append(tables, name)
	}
	_ = rows.Close()
	if len(tables) == 0 {
		f.t.Fatal("the database has no tables")
	}
	for _, name := range tables {
		var n int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM %q t`, name)
		if err := f.db.QueryRowContext(ctx, q).Scan(&n, &sum); err != nil {
			f.t.Fatalf("fingerprint %s: %v", name, err)
		}
		s.tables[name] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	for obj := range f.e.s3.ListObjects(ctx, f.e.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			f.t.Fatalf("list objects: %v", obj.Err)
		}
		s.objects = append(s.objects, fmt.Sprintf("%s %d %s", obj.Key, obj.Size, obj.ETag))
	}
	sort.Strings(s.objects)
	for _, id := range caseIDs {
		v := f.e.view(id)
		s.views[id] = fmt.Sprintf("%s v%d attempt %d, %d captures", v.Status, v.Version, v.Attempt, len(v.Captures))
	}
	return s
}

func (s snapshot) diff(o snapshot) string {
	var d []string
	for name, v := range s.tables {
		if o.tables[name] != v {
			d = append(d, fmt.Sprintf("table %s: %s → %s", name, v, o.tables[name]))
		}
	}
	if strings.Join(s.objects, "\n") != strings.Join(o.objects, "\n") {
		d = append(d, fmt.Sprintf("bucket: %d objects → %d", len(s.objects), len(o.objects)))
	}
	for id, v := range s.views {
		if o.views[id] != v {
			d = append(d, fmt.Sprintf("case %s: %s → %s", id, v, o.views[id]))
		}
	}
	return strings.Join(d, "; ")
}

// quiet waits until the simulator's webhooks are delivered and applied and
// nothing changes any more, so that a change seen later is the request's.
func (f *fingerprint) quiet(caseIDs ...string) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	prev := f.take(caseIDs...)
	for {
		time.Sleep(500 * time.Millisecond)
		stats, err := f.e.st.InboxStats(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		cur := f.take(caseIDs...)
		if stats[store.InboxPending] == 0 && prev.diff(cur) == "" {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the stack did not settle: %s", prev.diff(cur))
		}
		prev = cur
	}
}

// idpHostile are tokens of (or made to look like) the env's identity
// provider that the API must refuse.
type idpHostile struct {
	otherIssuer, otherAudience, unknownKey, expired, notYetValid string
	noRole, twoRoles, algConfusion, agent9                       string
}

func idpTokens(t *testing.T, e *env) idpHostile {
	t.Helper()
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": e.idp.Issuer(), "aud": idpClient, "sub": "agent-9", "groups": []string{devoidc.GroupAgents},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(p *devoidc.Provider, edit func(map[string]any)) string {
		tok, err := p.Sign(claims(edit))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	other := startIdP(t, e.url, "ES256")
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims(claims(nil)), func(tk *jwt.Token) { tk.Header["kid"] = "not-published" }).SignedString(stranger)
	if err != nil {
		t.Fatal(err)
	}
	return idpHostile{
		otherIssuer:   sign(other, func(c map[string]any) { c["iss"] = other.Issuer() }),
		otherAudience: sign(e.idp, func(c map[string]any) { c["aud"] = "payments-app" }),
		unknownKey:    unknown,
		expired:       sign(e.idp, func(c map[string]any) { c["exp"] = now.Add(-5 * time.Minute).Unix() }),
		notYetValid:   sign(e.idp, func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() }),
		noRole:        sign(e.idp, func(c map[string]any) { c["groups"] = []string{"marketing"} }),
		twoRoles:      sign(e.idp, func(c map[string]any) { c["groups"] = []string{devoidc.GroupAgents, devoidc.GroupAuditors} }),
		algConfusion:  signed(t, jwt.SigningMethodHS256, idpPublicKeyPEM(t, e), claims(func(c map[string]any) { c["role"] = "service" })),
		agent9:        sign(e.idp, nil),
	}
}

// idpPublicKeyPEM is the provider's signing key as PEM, the secret of the
// classic algorithm confusion attack.
func idpPublicKeyPEM(t *testing.T, e *env) []byte {
	t.Helper()
	resp, err := http.Get(e.idp.Issuer() + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("the provider's keys: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(set.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
