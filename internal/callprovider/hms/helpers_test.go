package hms

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testAccessKey = "6149f56e2a7b1c0012345678"
	testSecret    = "s3cr3t-app-secret-for-tests-only"
)

// testClock is a settable clock for token expiry tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// seenRequest is what the fake 100ms received.
type seenRequest struct {
	Method string
	Path   string
	Query  url.Values
	Body   []byte
	Token  string
	Header http.Header
}

// fakeHMS is an httptest server that, like 100ms, rejects requests whose
// bearer token is not a valid management token signed with testSecret, and
// records everything it accepted or rejected.
type fakeHMS struct {
	t      *testing.T
	srv    *httptest.Server
	clock  *testClock
	mu     sync.Mutex
	seen   []seenRequest
	reject func(token string) bool // extra rejection, for 401 tests
	handle func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newFakeHMS(t *testing.T, clock *testClock, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeHMS {
	t.Helper()
	f := &fakeHMS{t: t, clock: clock, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeHMS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Token: token, Header: r.Header.Clone(),
	})
	reject := f.reject
	f.mu.Unlock()
	if err := checkManagementToken(token, f.clock.Now()); err != nil || (reject != nil && reject(token)) {
		writeJSON(w, http.StatusUnauthorized, `{"code":401,"message":"Token validation error","details":["invalid token"]}`)
		return
	}
	f.handle(w, r, body)
}

func (f *fakeHMS) base() string { return f.srv.URL + "/v2" }

func (f *fakeHMS) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeHMS) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: f.base(), AccessKey: testAccessKey, AppSecret: testSecret, Now: f.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// verifyToken checks the signature with the app secret and the time claims
// at now, as 100ms does.
func verifyToken(token string, now time.Time) (*jwt.Token, jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	tok, err := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	).ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil })
	return tok, claims, err
}

// checkManagementToken validates a token the way 100ms does.
func checkManagementToken(token string, now time.Time) error {
	_, claims, err := verifyToken(token, now)
	if err != nil {
		return err
	}
	if claims["type"] != "management" || claims["access_key"] != testAccessKey {
		return jwt.ErrTokenInvalidClaims
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// assertJSON compares two JSON documents structurally.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON body\n got: %s\nwant: %s", got, want)
	}
}
