package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/api"
)

// openAPICheck validates every /v1 response an env's API gives against
// api/openapi.yaml with kin-openapi: the status must be described for the
// operation, and a JSON body must match the schema. A response of a route
// the description lacks fails too, unless the API itself found no route
// (404, 405). Problems fail the test at its end.
type openAPICheck struct {
	t      *testing.T
	router routers.Router
	doc    *openapi3.T

	mu       sync.Mutex
	problems []string
	checked  int
}

const maxCheckedBody = 1 << 20

func newOpenAPICheck(t *testing.T, serverURL string) *openAPICheck {
	t.Helper()
	doc, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	v := &openAPICheck{t: t, router: r, doc: doc}
	t.Cleanup(func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, p := range v.problems {
			t.Errorf("OpenAPI: %s", p)
		}
	})
	return v
}

func (v *openAPICheck) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := &recordingWriter{ResponseWriter: w}
		route, params, routeErr := v.router.FindRoute(r)
		h.ServeHTTP(rec, r)
		v.check(r, rec, route, params, routeErr)
	})
}

func (v *openAPICheck) fail(r *http.Request, status int, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.problems = append(v.problems, fmt.Sprintf("%s %s → %d: %s", r.Method, r.URL.Path, status, fmt.Sprintf(format, args...)))
}

func (v *openAPICheck) check(r *http.Request, rec *recordingWriter, route *routers.Route, params map[string]string, routeErr error) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	v.mu.Lock()
	v.checked++
	v.mu.Unlock()
	if routeErr != nil {
		// Only the API's own "no such route" and "method not allowed"
		// may answer a request the description has no operation for.
		body := rec.body.String()
		if (status == http.StatusNotFound && strings.Contains(body, `"not_found"`)) || status == http.StatusMethodNotAllowed ||
			// An id the router reads differently (encoded dots, slashes)
			// still reaches a case route in gin: its answer is a 404.
			(status == http.StatusNotFound && strings.Contains(body, `_not_found"`)) {
			return
		}
		v.fail(r, status, "no operation in openapi.yaml (%v)", routeErr)
		return
	}
	ct := rec.Header().Get("Content-Type")
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if !strings.HasPrefix(ct, "application/json") || rec.truncated {
		// Streams (the evidence pack) and redirects: status, headers and
		// media type only.
		opts.ExcludeResponseBody = true
		if resp := route.Operation.Responses.Status(status); resp != nil && resp.Value != nil && len(resp.Value.Content) > 0 && resp.Value.Content.Get(ct) == nil {
			v.fail(r, status, "Content-Type %q is not described", ct)
			return
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 rec.Header(),
		Options:                opts,
	}
	in.SetBodyBytes(rec.body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		v.fail(r, status, "%v\nbody: %.300s", err, rec.body.String())
	}
}

// recordingWriter passes a response through and keeps its status and the
// first MiB of its body.
type recordingWriter struct {
	http.ResponseWriter
	status    int
	body      bytes.Buffer
	truncated bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	room := maxCheckedBody - w.body.Len()
	if len(b) > room {
		w.truncated = true
	}
	if room > 0 {
		w.body.Write(b[:min(len(b), room)])
	}
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestOpenAPIDescribesEveryRoute fails when a /v1 route of the API has no
// operation in openapi.yaml, or the description has one the API lacks, and
// when an error code of the API is missing from the Error schema.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	doc, err := api.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	engine, ok := e.api.Handler().(*gin.Engine)
	if !ok {
		t.Fatalf("the API's handler is a %T, not gin's engine", e.api.Handler())
	}
	param := regexp.MustCompile(`[:*]([a-z_]+)`)
	registered := map[string]bool{}
	for _, r := range engine.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		registered[key] = true
		path := param.ReplaceAllString(r.Path, "{$1}")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s is registered in api/server.go but not described in api/openapi.yaml", key)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("api/openapi.yaml describes %s %s, which the API does not serve", method, path)
			}
		}
	}

	// Every error code the API's code declares is in the schema's enum.
	enum := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`\bcode[A-Z]\w*\s*=\s*"([a-z_]+)"`)
	seen := 0
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range declared.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !slices.Contains(enum, any(m[1])) {
				t.Errorf("error code %q (%s) is not in the Error schema of api/openapi.yaml", m[1], f.Name())
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d error code declarations; the pattern no longer matches the code", seen)
	}

	// The description is served, with this engine's address.
	r := e.call(req{method: "GET", path: "/v1/openapi.json"})
	wantStatus(t, r, http.StatusOK)
	served, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatalf("the served description does not load: %v", err)
	}
	if served.OpenAPI != "3.1.0" || len(served.Servers) != 1 || served.Servers[0].URL != e.cfg.PublicBaseURL {
		t.Fatalf("served: openapi %s, servers %v", served.OpenAPI, served.Servers)
	}
}
