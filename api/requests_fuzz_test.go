package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// The fuzz targets of this file send arbitrary JSON request bodies (and
// Content-Types) through the real handlers. The handlers run up to the point
// where they would look up the case: the id in the path is not a case id, so
// a body that passes every check is answered 404 case_not_found, and one that
// does not gets its 4xx. Nothing here needs a service, so the targets run
// thousands of inputs a second.

// bodyErrors are the answers a refused body may get; anything else (a 5xx,
// a panic) is a bug.
var bodyErrors = []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity}

// maxErrorMessage bounds how much of a request an error answer may echo.
const maxErrorMessage = 600

const notACase = "not-a-case"

func fuzzServer() *Server {
	return &Server{log: slog.New(slog.DiscardHandler)}
}

// serveAs runs handler h for one request with the principal p already
// authenticated, as the /v1 group's middleware leaves it.
func serveAs(p principal, route, path, contentType string, body []byte, h gin.HandlerFunc) *httptest.ResponseRecorder {
	e := gin.New()
	e.POST(route, func(c *gin.Context) { c.Set(ctxPrincipal, p); c.Next() }, h)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// checkAnswer requires the error shape and returns the code. A 404 must be
// case_not_found: the body passed.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) (int, string) {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("status %d with a body not in the error shape: %q", rec.Code, rec.Body.String())
	}
	if len(eb.Error.Message) > maxErrorMessage {
		t.Fatalf("error message of %d bytes echoes too much: %.200q", len(eb.Error.Message), eb.Error.Message)
	}
	switch {
	case rec.Code == http.StatusNotFound && eb.Error.Code == codeCaseNotFound:
	case rec.Code == http.StatusForbidden && eb.Error.Code == codeForbidden:
	case slices.Contains(bodyErrors, rec.Code):
	default:
		t.Fatalf("status %d %s for a bad body: %s", rec.Code, eb.Error.Code, rec.Body.String())
	}
	return rec.Code, eb.Error.Code
}

// strictJSON decodes body into dst the way a well-formed body must decode:
// one object, known fields only, valid UTF-8, shallow.
func strictJSON(t *testing.T, body []byte, dst any) {
	t.Helper()
	if !utf8.Valid(body) || depth(body) > maxJSONDepth || len(body) > maxJSONBody {
		t.Fatalf("accepted a body that is not valid UTF-8, too deep or too large: %.200q", body)
	}
	if e := unmarshalStrict(body, dst); e != nil {
		t.Fatalf("accepted a body the strict decoder refuses (%v): %.200q", e, body)
	}
}

var jsonTypes = []string{"application/json", "application/json; charset=utf-8", "APPLICATION/JSON; Charset=UTF-8"}

func addJSONSeeds(f *testing.F, bodies ...string) {
	for i, b := range bodies {
		f.Add(jsonTypes[i%len(jsonTypes)], []byte(b))
	}
	for _, s := range []struct{ ct, body string }{
		{"", `{}`},
		{"text/plain", `{}`},
		{"application/json; charset=latin1", `{}`},
		{"application/json; boundary=\"", `{}`},
		{"multipart/form-data; boundary=x", `{}`},
		{"application/json", ``},
		{"application/json", `   `},
		{"application/json", `null`},
		{"application/json", `[]`},
		{"application/json", `"x"`},
		{"application/json", `{"a":1}{"b":2}`},
		{"application/json", `{"reason":"\xff\xfe"}`},
		{"application/json", strings.Repeat("[", 9) + strings.Repeat("]", 9)},
		{"application/json", `{"x":` + strings.Repeat(`{"y":`, 8) + `1` + strings.Repeat(`}`, 9)},
		{"application/json", `{"reason":"` + strings.Repeat("a", maxJSONBody) + `"}`},
	} {
		f.Add(s.ct, []byte(s.body))
	}
}

// FuzzCreateCaseBody: POST /v1/cases. The handler stores the case right
// after validating, so the target runs its two steps (decodeJSON and
// validate) and checks what an accepted body becomes: a normalised case
// whose fields meet the documented limits, and whose normal form validates
// to itself (the Idempotency-Key check compares these hashes).
func FuzzCreateCaseBody(f *testing.F) {
	addJSONSeeds(f,
		`{"customer":{"reference":"CUST-1","name":"Asha Rao","email":"asha@example.com","phone":"+91 98765 43210"}}`,
		`{"customer":{"reference":"C:1.a_b-c"},"required_captures":["id_back","face","face"]}`,
		`{"customer":{"reference":"C"},"required_captures":[],"audit_rejections":false}`,
		`{"customer":{"reference":"C","name":"x\u0000y"}}`,
		`{"customer":{"reference":"../../etc/passwd"}}`,
		`{"customer":{"reference":"1' OR '1'='1"}}`,
		`{"customer":{"reference":"C","email":"Asha <asha@example.com>"}}`,
		`{"customer":{"reference":"C","phone":"++1"}}`,
		`{"customer":{"reference":"C"},"required_captures":["selfie"]}`,
		`{"customer":{"reference":"C"},"audit_rejections":"yes"}`,
		`{"customer":{"reference":"C"},"audit_rejection":true}`,
		`{"customer":null}`,
		`{"customer":{"reference":"`+strings.Repeat("R", 129)+`"}}`,
		`{"customer":{"reference":"C","name":"`+strings.Repeat("é", 201)+`"}}`,
	)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		ctx, _ := gin.CreateTestContext(httptest.NewRecorder())
		ctx.Request = httptest.NewRequest(http.MethodPost, "/v1/cases", bytes.NewReader(body))
		if contentType != "" {
			ctx.Request.Header.Set("Content-Type", contentType)
		}
		var req createCaseRequest
		if e := decodeJSON(ctx, &req); e != nil {
			if !slices.Contains(bodyErrors, e.Status) || e.Message == "" || len(e.Message) > maxErrorMessage {
				t.Fatalf("decode refused with %d %q", e.Status, e.Message)
			}
			return
		}
		strictJSON(t, body, &createCaseRequest{})
		n, e := req.validate()
		if e != nil {
			if e.Status != http.StatusUnprocessableEntity || e.Code != codeInvalidField || len(e.Message) > maxErrorMessage {
				t.Fatalf("validate refused with %d %s %q", e.Status, e.Code, e.Message)
			}
			return
		}
		checkNormalizedCase(t, n)
		again, err := json.Marshal(createCaseRequest{
			Customer: &customerInput{
				Reference: n.Customer.Reference, Name: n.Customer.Name, Email: n.Customer.Email, Phone: n.Customer.Phone,
			},
			RequiredCaptures: n.RequiredCaptures, AuditRejections: &n.AuditRejections,
		})
		if err != nil {
			t.Fatal(err)
		}
		var req2 createCaseRequest
		if e := unmarshalStrict(again, &req2); e != nil {
			t.Fatalf("the normal form %s does not decode: %v", again, e)
		}
		n2, e := req2.validate()
		if e != nil || n2.hash() != n.hash() {
			t.Fatalf("the normal form %s validates to %+v (%v), not to itself %+v", again, n2, e, n)
		}
	})
}

func checkNormalizedCase(t *testing.T, n normalizedCase) {
	t.Helper()
	c := n.Customer
	if c.Reference == "" || len(c.Reference) > maxReferenceLen || strings.ContainsFunc(c.Reference, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:-", r)))
	}) {
		t.Fatalf("accepted reference %q", c.Reference)
	}
	if utf8.RuneCountInString(c.Name) > maxNameLen || strings.ContainsFunc(c.Name, unicode.IsControl) || c.Name != strings.TrimSpace(c.Name) {
		t.Fatalf("accepted name %q", c.Name)
	}
	if len(c.Email) > maxEmailLen || strings.ContainsFunc(c.Email, unicode.IsControl) || (c.Email != "" && !strings.Contains(c.Email, "@")) {
		t.Fatalf("accepted email %q", c.Email)
	}
	if len(c.Phone) > maxPhoneLen || strings.ContainsFunc(c.Phone, func(r rune) bool { return !strings.ContainsRune("0123456789+ -.()", r) }) {
		t.Fatalf("accepted phone %q", c.Phone)
	}
	if len(n.RequiredCaptures) == 0 {
		t.Fatal("accepted a case that requires no capture")
	}
	last := -1
	for _, k := range n.RequiredCaptures {
		i := slices.Index(kyc.AllCaptureKinds, k)
		if i <= last {
			t.Fatalf("required captures %v are not known kinds in canonical order without repeats", n.RequiredCaptures)
		}
		last = i
	}
}

// FuzzJoinTokenBody: POST /v1/cases/{id}/join-tokens as the bank's backend
// or as an agent. Only {"role":"customer"} from the backend and
// {"role":"agent"} from an agent get past the body.
func FuzzJoinTokenBody(f *testing.F) {
	addJSONSeeds(f, `{"role":"customer"}`, `{"role":"agent"}`, `{"role":"auditor"}`, `{"role":""}`, `{"role":1}`,
		`{"role":"customer","extra":true}`, `{"ROLE":"customer"}`, `{"role":"customer\u0000"}`)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		s := fuzzServer()
		for _, p := range []principal{{Sub: "bank-backend", Role: kyc.RoleService}, {Sub: "agent-1", Role: kyc.RoleAgent}} {
			rec := serveAs(p, "/v1/cases/:id/join-tokens", "/v1/cases/"+notACase+"/join-tokens", contentType, body, s.joinToken)
			code, _ := checkAnswer(t, rec)
			if code == http.StatusForbidden || code == http.StatusNotFound {
				var req joinRequest
				strictJSON(t, body, &req)
				want := string(kyc.RoleCustomer)
				if p.Role == kyc.RoleAgent {
					want = string(kyc.RoleAgent)
				}
				if passed := code == http.StatusNotFound; passed != (req.Role == want) {
					t.Fatalf("%s asking for role %q got %d", p.Role, req.Role, code)
				}
			}
		}
	})
}

// FuzzDecisionBody: the agent's POST /decision and the auditor's POST
// /audit, which share the body {"outcome","reason"}.
func FuzzDecisionBody(f *testing.F) {
	addJSONSeeds(f, `{"outcome":"approve","reason":"face matches"}`, `{"outcome":"reject"}`, `{"outcome":"recapture","reason":""}`,
		`{"outcome":"APPROVE"}`, `{"outcome":"approve","reason":null}`, `{"outcome":["approve"]}`,
		`{"outcome":"approve","reason":"`+strings.Repeat("r", maxReasonLen+1)+`"}`, `{"outcome":"approve","by":"auditor-1"}`)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		s := fuzzServer()
		for _, tc := range []struct {
			p       principal
			route   string
			h       gin.HandlerFunc
			allowed []string
		}{
			{principal{Sub: "agent-1", Role: kyc.RoleAgent}, "decision", s.decision, []string{kyc.OutcomeApprove, kyc.OutcomeReject}},
			{principal{Sub: "auditor-1", Role: kyc.RoleAuditor}, "audit", s.audit, []string{kyc.OutcomeApprove, kyc.OutcomeReject, kyc.OutcomeRecapture}},
		} {
			rec := serveAs(tc.p, "/v1/cases/:id/"+tc.route, "/v1/cases/"+notACase+"/"+tc.route, contentType, body, tc.h)
			if code, _ := checkAnswer(t, rec); code == http.StatusNotFound {
				var req decisionRequest
				strictJSON(t, body, &req)
				if !slices.Contains(tc.allowed, req.Outcome) || len(req.Reason) > maxReasonLen {
					t.Fatalf("%s accepted %+v", tc.route, req)
				}
			}
		}
	})
}

// FuzzCancelBody: POST /cancel by the bank's backend; a reason is required.
func FuzzCancelBody(f *testing.F) {
	addJSONSeeds(f, `{"reason":"customer withdrew"}`, `{"reason":""}`, `{"reason":" \t\n"}`, `{}`, `{"reason":"x","force":true}`,
		`{"reason":"`+strings.Repeat("r", maxReasonLen+1)+`"}`)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		s := fuzzServer()
		rec := serveAs(principal{Sub: "bank-backend", Role: kyc.RoleService}, "/v1/cases/:id/cancel",
			"/v1/cases/"+notACase+"/cancel", contentType, body, s.cancel)
		if code, _ := checkAnswer(t, rec); code == http.StatusNotFound {
			var req cancelRequest
			strictJSON(t, body, &req)
			if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > maxReasonLen {
				t.Fatalf("accepted %+v", req)
			}
		}
	})
}
