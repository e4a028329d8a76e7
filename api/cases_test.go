package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

func TestCreateCaseValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	good := func() map[string]any {
		return map[string]any{"customer": map[string]any{"reference": "REF-1"}}
	}
	cust := func(k string, v any) map[string]any {
		b := good()
		b["customer"].(map[string]any)[k] = v
		return b
	}
	with := func(k string, v any) map[string]any {
		b := good()
		b[k] = v
		return b
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string // named in the message
	}{
		{"no customer", map[string]any{}, 422, "invalid_field", "customer"},
		{"no reference", cust("reference", ""), 422, "invalid_field", "customer.reference"},
		{"reference too long", cust("reference", strings.Repeat("a", 129)), 422, "invalid_field", "customer.reference"},
		{"reference with a space", cust("reference", "REF 1"), 422, "invalid_field", "customer.reference"},
		{"reference with a slash", cust("reference", "REF/1"), 422, "invalid_field", "customer.reference"},
		{"reference a number", cust("reference", 12), 422, "invalid_field", "customer.reference"},
		{"name too long", cust("name", strings.Repeat("n", 201)), 422, "invalid_field", "customer.name"},
		{"name with a control character", cust("name", "Asha\u0000Rao"), 422, "invalid_field", "customer.name"},
		{"bad email", cust("email", "asha-at-example"), 422, "invalid_field", "customer.email"},
		{"email with a display name", cust("email", "Asha <asha@example.com>"), 422, "invalid_field", "customer.email"},
		{"bad phone", cust("phone", "call me"), 422, "invalid_field", "customer.phone"},
		{"short phone", cust("phone", "12"), 422, "invalid_field", "customer.phone"},
		{"unknown capture kind", with("required_captures", []string{"face", "selfie"}), 422, "invalid_field", "required_captures[1]"},
		{"duplicate capture kind", with("required_captures", []string{"face", "face"}), 422, "invalid_field", "required_captures[1]"},
		{"empty capture list", with("required_captures", []string{}), 422, "invalid_field", "required_captures"},
		{"captures not a list", with("required_captures", "face"), 422, "invalid_field", "required_captures"},
		{"audit_rejections not a bool", with("audit_rejections", "yes"), 422, "invalid_field", "audit_rejections"},
		{"unknown field", with("audit_rejection", false), 422, "unknown_field", "audit_rejection"},
		{"unknown customer field", cust("dob", "1990-01-01"), 422, "unknown_field", "dob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: tt.body})
			wantError(t, r, tt.status, tt.code)
			if !strings.Contains(string(r.body), tt.field) {
				t.Fatalf("the message does not name %s: %s", tt.field, r.body)
			}
		})
	}

	raw := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
	}{
		{"not JSON", `{"customer":`, "application/json", 400, "malformed_request"},
		{"empty body", ``, "application/json", 400, "malformed_request"},
		{"array", `[1,2]`, "application/json", 400, "malformed_request"},
		{"trailing data", `{"customer":{"reference":"R"}} {}`, "application/json", 400, "malformed_request"},
		{"invalid UTF-8", "{\"customer\":{\"reference\":\"R\",\"name\":\"\xff\xfe\"}}", "application/json", 400, "malformed_request"},
		{"too deep", `{"customer":{"reference":"R","name":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}}`, "application/json", 400, "malformed_request"},
		{"text/plain", `{"customer":{"reference":"R"}}`, "text/plain", 415, "unsupported_media_type"},
		{"no content type", `{"customer":{"reference":"R"}}`, "", 415, "unsupported_media_type"},
		{"latin-1 JSON", `{"customer":{"reference":"R"}}`, "application/json; charset=iso-8859-1", 415, "unsupported_media_type"},
		{"too large", `{"customer":{"reference":"R","name":"` + strings.Repeat("x", 70<<10) + `"}}`, "application/json", 413, "payload_too_large"},
	}
	for _, tt := range raw {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), raw: []byte(tt.body), contentType: tt.contentType})
			wantError(t, r, tt.status, tt.code)
		})
	}
	t.Run("bad Idempotency-Key", func(t *testing.T) {
		r := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: good(),
			headers: map[string]string{"Idempotency-Key": "has space"}})
		wantError(t, r, 422, "invalid_field")
		if !strings.Contains(string(r.body), "Idempotency-Key") {
			t.Fatalf("the answer does not name the header: %s", r.body)
		}
	})
	// Nothing of the refused requests was stored.
	recs, _, err := e.st.ListCases(context.Background(), store.CaseFilter{})
	if err != nil || len(recs) != 0 {
		t.Fatalf("refused creates left %d cases (%v)", len(recs), err)
	}
}

func TestCreateCaseDefaultsAndPIIStaysInTheDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	r := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: map[string]any{
		"customer": map[string]string{"reference": "CUST:42.a_b-c", "name": "Meera Iyer", "email": "meera@example.com", "phone": "+91-98200-00000"},
	}})
	wantStatus(t, r, http.StatusCreated)
	var v kyc.CaseView
	r.decode(t, &v)
	if _, err := uuid.Parse(v.ID); err != nil {
		t.Fatalf("case id %q", v.ID)
	}
	if r.header.Get("Location") != "/v1/cases/"+v.ID {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	if v.Status != kyc.StatusWaitingForParticipants || !v.AuditRejections ||
		strings.Join(kindStrings(v.RequiredCaptures), ",") != "face,id_front,id_back" {
		t.Fatalf("defaults: %+v", v)
	}
	if v.Customer.Name != "Meera Iyer" || v.Customer.Email != "meera@example.com" || v.Customer.Phone != "+91-98200-00000" {
		t.Fatalf("the service's view lacks the customer: %+v", v.Customer)
	}
	// The workflow runs (its room gets created) and its history, input and
	// search attributes hold the reference but none of the PII.
	e.waitFor(v.ID, "room", func(v kyc.CaseView) bool { return len(v.Attempts) == 1 && v.Attempts[0].RoomID != "" })
	ctx := context.Background()
	desc, err := e.tc.DescribeWorkflow(ctx, kyc.WorkflowID(v.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if desc.RawResponse.WorkflowExecutionInfo.GetTaskQueue() != e.queue {
		t.Fatalf("task queue %q", desc.RawResponse.WorkflowExecutionInfo.GetTaskQueue())
	}
	var history strings.Builder
	it := e.tc.GetWorkflowHistory(ctx, kyc.WorkflowID(v.ID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		history.WriteString(ev.String())
	}
	history.WriteString(desc.RawResponse.String())
	h := history.String()
	if !strings.Contains(h, "CUST:42.a_b-c") {
		t.Fatal("the reference is not in the workflow (the check would prove nothing)")
	}
	for _, pii := range []string{"Meera", "meera@example.com", "98200"} {
		if strings.Contains(h, pii) {
			t.Fatalf("PII %q reached Temporal", pii)
		}
	}
	if strings.Contains(e.logs.String(), "Meera") || strings.Contains(e.logs.String(), "meera@") {
		t.Fatal("PII reached the log")
	}
}

func kindStrings(k []kyc.CaptureKind) []string {
	s := make([]string, len(k))
	for i, v := range k {
		s[i] = string(v)
	}
	return s
}

func TestCreateCaseIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	body := map[string]any{"customer": map[string]string{"reference": "IDEM-1", "name": "A"}, "required_captures": []string{"pan", "face"}}
	same := map[string]any{"required_captures": []string{"face", "pan"}, "audit_rejections": true, "customer": map[string]string{"name": "A", "reference": "IDEM-1"}}
	key := map[string]string{"Idempotency-Key": "create-" + uuid.NewString()}

	first := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: body, headers: key})
	wantStatus(t, first, http.StatusCreated)
	var v1 kyc.CaseView
	first.decode(t, &v1)

	// The same request (other field order, defaults spelled out) is a replay.
	again := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: same, headers: key})
	wantStatus(t, again, http.StatusOK)
	var v2 kyc.CaseView
	again.decode(t, &v2)
	if v2.ID != v1.ID {
		t.Fatalf("replay made case %s, first was %s", v2.ID, v1.ID)
	}

	// The same key with another body is refused.
	other := map[string]any{"customer": map[string]string{"reference": "IDEM-2"}}
	wantError(t, e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: other, headers: key}), http.StatusConflict, "idempotency_key_reused")

	// Keys belong to their caller: another service's identical key is another case.
	r := e.call(req{method: "POST", path: "/v1/cases", token: e.token(kyc.RoleService, "other-bank-system"), json: body, headers: key})
	wantStatus(t, r, http.StatusCreated)
	var v3 kyc.CaseView
	r.decode(t, &v3)
	if v3.ID == v1.ID {
		t.Fatal("another caller's key replayed the first caller's case")
	}

	// Without a key, two identical requests are two cases.
	a := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: body})
	b := e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: body})
	wantStatus(t, a, http.StatusCreated)
	wantStatus(t, b, http.StatusCreated)

	recs, _, err := e.st.ListCases(context.Background(), store.CaseFilter{CustomerReference: "IDEM-1"})
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d cases for IDEM-1 (%v), want 4", len(recs), err)
	}
}

// TestCreateRetryRepairsAMissingWorkflow is the crash between the insert and
// the start: with Temporal down the case row is written but its workflow is
// not started, and the API answers 503. The client's retry with the same key,
// once Temporal answers, starts the workflow of that same case.
func TestCreateRetryRepairsAMissingWorkflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	down := e.otherAPI(deadTemporal(t), e.st)
	body := map[string]any{"customer": map[string]string{"reference": "CRASH-1"}}
	key := map[string]string{"Idempotency-Key": "crash-" + uuid.NewString()}

	r := e.call(req{base: down, method: "POST", path: "/v1/cases", token: e.service(), json: body, headers: key})
	wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	recs, _, err := e.st.ListCases(context.Background(), store.CaseFilter{CustomerReference: "CRASH-1"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("%d rows after the failed start (%v)", len(recs), err)
	}
	id := recs[0].ID
	if _, err := e.tc.DescribeWorkflow(context.Background(), kyc.WorkflowID(id), ""); err == nil {
		t.Fatal("the workflow exists before the retry")
	}

	r = e.call(req{method: "POST", path: "/v1/cases", token: e.service(), json: body, headers: key})
	wantStatus(t, r, http.StatusOK)
	if got := decodeID(t, r); got != id {
		t.Fatalf("retry answered case %s, want %s", got, id)
	}
	e.waitFor(id, "room of the repaired case", func(v kyc.CaseView) bool { return len(v.Attempts) == 1 && v.Attempts[0].RoomID != "" })
}

func decodeID(t *testing.T, r response) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	r.decode(t, &v)
	return v.ID
}

func TestReadAndList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	waiting := e.createCase()
	mine := e.inCall("agent-a")
	theirs := e.inCall("agent-b")

	type who struct {
		name    string
		token   string
		see     map[string]bool
		contact bool // sees email and phone
	}
	people := []who{
		{"service", e.service(), map[string]bool{waiting.ID: true, mine.ID: true, theirs.ID: true}, true},
		{"admin", e.admin(), map[string]bool{waiting.ID: true, mine.ID: true, theirs.ID: true}, true},
		{"agent a", e.agent("agent-a"), map[string]bool{waiting.ID: true, mine.ID: true}, false},
		{"agent c", e.agent("agent-c"), map[string]bool{waiting.ID: true}, false},
		{"auditor", e.auditor("aud-1"), map[string]bool{}, false},
	}
	for _, p := range people {
		t.Run(p.name, func(t *testing.T) {
			for _, id := range []string{waiting.ID, mine.ID, theirs.ID} {
				r := e.call(req{method: "GET", path: casePath(id), token: p.token})
				if !p.see[id] {
					wantError(t, r, http.StatusForbidden, "forbidden")
					continue
				}
				wantStatus(t, r, http.StatusOK)
				var v kyc.CaseView
				r.decode(t, &v)
				if v.ID != id || v.Customer.Reference == "" || v.Customer.Name != "Asha Rao" {
					t.Fatalf("view %+v", v)
				}
				if got := v.Customer.Email != "" && v.Customer.Phone != ""; got != p.contact {
					t.Fatalf("contacts visible=%v, want %v: %+v", got, p.contact, v.Customer)
				}
			}
			r := e.call(req{method: "GET", path: "/v1/cases?limit=100", token: p.token})
			wantStatus(t, r, http.StatusOK)
			var l struct {
				Cases []kyc.CaseView `json:"cases"`
			}
			r.decode(t, &l)
			got := map[string]bool{}
			for _, v := range l.Cases {
				got[v.ID] = true
				if !p.contact && (v.Customer.Email != "" || v.Customer.Phone != "") {
					t.Fatalf("list leaks contacts to %s", p.name)
				}
			}
			if len(got) != len(p.see) {
				t.Fatalf("list shows %v, want %v", got, p.see)
			}
			for id := range p.see {
				if !got[id] {
					t.Fatalf("list lacks %s", id)
				}
			}
		})
	}

	t.Run("pages and cursors hold only visible cases", func(t *testing.T) {
		// One case a page: the cursor is built from the page's last case,
		// which must be one the caller may see (it carries its id).
		for _, p := range people {
			var listed []string
			cursor := ""
			for range 10 {
				path := "/v1/cases?limit=1"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				r := e.call(req{method: "GET", path: path, token: p.token})
				wantStatus(t, r, http.StatusOK)
				var l struct {
					Cases      []kyc.CaseView `json:"cases"`
					NextCursor string         `json:"next_cursor"`
				}
				r.decode(t, &l)
				for _, v := range l.Cases {
					listed = append(listed, v.ID)
				}
				if l.NextCursor == "" {
					break
				}
				raw, err := base64.RawURLEncoding.DecodeString(l.NextCursor)
				if err != nil {
					t.Fatal(err)
				}
				if _, id, _ := strings.Cut(string(raw), "|"); !p.see[id] {
					t.Fatalf("%s: a cursor names case %s, which %s may not see", p.name, id, p.name)
				}
				if len(l.Cases) == 0 {
					t.Fatalf("%s: an empty page with a next cursor", p.name)
				}
				cursor = l.NextCursor
			}
			if len(listed) != len(p.see) {
				t.Fatalf("%s: paged through %v, want %v", p.name, listed, p.see)
			}
		}
	})

	t.Run("freshest view while running", func(t *testing.T) {
		// The workflow answers the query; the projection may trail it, but
		// the view is never older than the projection.
		v := e.view(mine.ID)
		rec, err := e.st.GetCase(context.Background(), mine.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Version < rec.Version || v.Status != kyc.StatusInCall {
			t.Fatalf("view v%d %s, projection v%d", v.Version, v.Status, rec.Version)
		}
	})

	t.Run("filters and paging", func(t *testing.T) {
		r := e.call(req{method: "GET", path: "/v1/cases?status=in_call", token: e.service()})
		wantStatus(t, r, http.StatusOK)
		var l struct {
			Cases      []kyc.CaseView `json:"cases"`
			NextCursor string         `json:"next_cursor"`
		}
		r.decode(t, &l)
		// The projections catch up with the workflows within moments.
		deadline := time.Now().Add(10 * time.Second)
		for len(l.Cases) != 2 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			l.Cases = nil
			e.call(req{method: "GET", path: "/v1/cases?status=in_call", token: e.service()}).decode(t, &l)
		}
		if len(l.Cases) != 2 {
			t.Fatalf("in_call: %d cases", len(l.Cases))
		}
		l.Cases = nil
		e.call(req{method: "GET", path: "/v1/cases?agent_id=agent-b", token: e.service()}).decode(t, &l)
		if len(l.Cases) != 1 || l.Cases[0].ID != theirs.ID {
			t.Fatalf("agent_id filter: %+v", l.Cases)
		}
		l.Cases = nil
		e.call(req{method: "GET", path: "/v1/cases?customer_reference=" + waiting.Customer.Reference, token: e.service()}).decode(t, &l)
		if len(l.Cases) != 1 || l.Cases[0].ID != waiting.ID {
			t.Fatalf("reference filter: %+v", l.Cases)
		}
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; pages < 5; pages++ {
			var page struct {
				Cases      []kyc.CaseView `json:"cases"`
				NextCursor string         `json:"next_cursor"`
			}
			path := "/v1/cases?limit=1"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := e.call(req{method: "GET", path: path, token: e.service()})
			wantStatus(t, r, http.StatusOK)
			r.decode(t, &page)
			for _, v := range page.Cases {
				if seen[v.ID] {
					t.Fatalf("case %s on two pages", v.ID)
				}
				seen[v.ID] = true
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if len(seen) != 3 {
			t.Fatalf("paging saw %d cases, want 3", len(seen))
		}
	})

	t.Run("bad list parameters", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=101", "limit=ten", "status=done", "cursor=%21%21"} {
			wantError(t, e.call(req{method: "GET", path: "/v1/cases?" + q, token: e.service()}), http.StatusUnprocessableEntity, "invalid_field")
		}
	})
}
