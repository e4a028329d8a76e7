package hms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const roomJSON = `{"id":"64f0c5e2a1b2c3d4e5f60718","name":"kyc-3f1e-a1","enabled":true,"customer_id":"627cdddff2e4e30487862ad1","app_id":"62510797903d857ab8ec3ba5","template_id":"63188115d11d6db790c73c60","region":"in","recording_info":{"enabled":false},"created_at":"2025-03-14T09:26:53.082Z","updated_at":"2025-03-14T09:26:53.074Z"}`

// rejectingFirstToken is a fake 100ms that answers roomJSON and refuses
// the first token it sees (as after a secret rotation or a revocation),
// accepting a freshly signed one.
func rejectingFirstToken(t *testing.T) *fakeHMS {
	var firstToken string
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, roomJSON)
	})
	f.reject = func(tok string) bool {
		if firstToken == "" {
			firstToken = tok
		}
		return tok == firstToken
	}
	return f
}

func TestRejectedTokenIsResignedOnceAndRetried(t *testing.T) {
	f := rejectingFirstToken(t)
	c := f.client(t)
	room, err := c.GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718")
	if err != nil {
		t.Fatalf("GetRoom: %v", err)
	}
	if room.Name != "kyc-3f1e-a1" {
		t.Errorf("room = %+v", room)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (rejected, retried)", len(reqs))
	}
	if reqs[0].Token == reqs[1].Token {
		t.Error("the retry reused the rejected token")
	}
	if reqs[1].Method != http.MethodGet || reqs[1].Path != "/v2/rooms/64f0c5e2a1b2c3d4e5f60718" {
		t.Errorf("retry = %s %s", reqs[1].Method, reqs[1].Path)
	}
	// The new token is cached: the next call needs no re-sign.
	if _, err := c.GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718"); err != nil {
		t.Fatal(err)
	}
	reqs = f.requests()
	if len(reqs) != 3 || reqs[2].Token != reqs[1].Token {
		t.Errorf("after re-sign: %d requests, cached token reused = %v", len(reqs), len(reqs) == 3 && reqs[2].Token == reqs[1].Token)
	}
}

func TestRetriedRequestKeepsItsBody(t *testing.T) {
	f := rejectingFirstToken(t)
	if _, err := f.client(t).CreateRoom(context.Background(), CreateRoomRequest{Name: "kyc-3f1e-a1"}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		assertJSON(t, r.Body, `{"name":"kyc-3f1e-a1"}`)
	}
}

func TestAuthFailureAfterResignIsRetryable(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var hits int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits++
				writeJSON(w, status, `{"code":`+strconv.Itoa(status)+`,"message":"Token validation error","details":["not found"]}`)
			}))
			defer srv.Close()
			c, err := New(Config{BaseURL: srv.URL + "/v2", AccessKey: testAccessKey, AppSecret: testSecret,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718")
			var api *APIError
			if !errors.As(err, &api) || api.Status != status {
				t.Fatalf("err = %v, want APIError %d", err, status)
			}
			if hits != 2 {
				t.Errorf("%d requests, want exactly 2 (one re-sign)", hits)
			}
			if !IsRetryable(err) {
				t.Error("auth failure after the re-sign is not retryable")
			}
			if api.Message != "Token validation error" || len(api.Details) != 1 || api.Details[0] != "not found" {
				t.Errorf("decoded body = %+v", api)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	clock := newTestClock()
	httpDate := clock.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name        string
		status      int
		body        string
		retryAfter  string
		wantRetry   bool
		wantAfter   time.Duration
		wantFound   bool // IsNotFound
		wantCode    int
		wantMessage string
	}{
		{name: "400 template not found", status: 400, body: `{"code":400,"message":"Error: template not found"}`, wantCode: 400, wantMessage: "Error: template not found"},
		{name: "403 forbidden after re-sign", status: 403, body: `{"code":403,"message":"Forbidden"}`, wantRetry: true, wantCode: 403, wantMessage: "Forbidden"},
		{name: "404", status: 404, body: `{"code":404,"message":"room not found"}`, wantFound: true, wantCode: 404, wantMessage: "room not found"},
		{name: "422", status: 422, body: `{"code":422,"message":"unprocessable","details":["max_duration_seconds"]}`, wantCode: 422, wantMessage: "unprocessable"},
		{name: "408", status: 408, body: ``, wantRetry: true, wantCode: 408, wantMessage: "Request Timeout"},
		{name: "429 retry-after seconds", status: 429, body: `{"code":429,"message":"rate limited"}`, retryAfter: "7", wantRetry: true, wantAfter: 7 * time.Second, wantCode: 429, wantMessage: "rate limited"},
		{name: "429 retry-after http date", status: 429, body: `{"code":429,"message":"rate limited"}`, retryAfter: httpDate, wantRetry: true, wantAfter: 2 * time.Minute, wantCode: 429, wantMessage: "rate limited"},
		{name: "429 retry-after in the past", status: 429, body: `{}`, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", wantRetry: true, wantCode: 429, wantMessage: "Too Many Requests"},
		{name: "500", status: 500, body: `{"code":500,"message":"internal error"}`, wantRetry: true, wantCode: 500, wantMessage: "internal error"},
		{name: "502 html from a proxy", status: 502, body: "<html><body><h1>502 Bad Gateway</h1>\n</body></html>", wantRetry: true, wantCode: 502, wantMessage: "<html><body><h1>502 Bad Gateway</h1> </body></html>"},
		{name: "503 with retry-after", status: 503, body: `{"code":503,"message":"unavailable"}`, retryAfter: "30", wantRetry: true, wantAfter: 30 * time.Second, wantCode: 503, wantMessage: "unavailable"},
		{name: "code as string", status: 400, body: `{"code":"400","message":"bad","details":"one detail"}`, wantCode: 400, wantMessage: "bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeHMS(t, clock, func(w http.ResponseWriter, r *http.Request, body []byte) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				writeJSON(w, tc.status, tc.body)
			})
			_, err := f.client(t).GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718")
			var api *APIError
			if !errors.As(err, &api) {
				t.Fatalf("err = %#v, want *APIError", err)
			}
			if api.Status != tc.status || api.Code != tc.wantCode || api.Message != tc.wantMessage {
				t.Errorf("APIError = %+v", api)
			}
			if api.Method != http.MethodGet || api.Path != "/v2/rooms/64f0c5e2a1b2c3d4e5f60718" {
				t.Errorf("APIError request = %s %s", api.Method, api.Path)
			}
			if got := IsRetryable(err); got != tc.wantRetry {
				t.Errorf("IsRetryable = %v, want %v", got, tc.wantRetry)
			}
			if got := RetryAfterOf(err); got != tc.wantAfter {
				t.Errorf("RetryAfterOf = %v, want %v", got, tc.wantAfter)
			}
			if got := IsNotFound(err); got != tc.wantFound {
				t.Errorf("IsNotFound = %v, want %v", got, tc.wantFound)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tc.status)) {
				t.Errorf("Error() = %q lacks the status", err.Error())
			}
		})
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/v2"
	srv.Close() // nothing listens there any more
	c, err := New(Config{BaseURL: base, AccessKey: testAccessKey, AppSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718")
	var nerr *NetworkError
	if !errors.As(err, &nerr) {
		t.Fatalf("err = %#v, want *NetworkError", err)
	}
	if !IsRetryable(err) || RetryAfterOf(err) != 0 || IsNotFound(err) {
		t.Errorf("classification: retryable=%v after=%v notfound=%v", IsRetryable(err), RetryAfterOf(err), IsNotFound(err))
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(Config{BaseURL: srv.URL + "/v2", AccessKey: testAccessKey, AppSecret: testSecret,
		HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718")
	if err == nil || !IsRetryable(err) {
		t.Fatalf("err = %v, retryable = %v; want a retryable timeout", err, IsRetryable(err))
	}
}

func TestCancelledRequestIsNotRetryable(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, roomJSON)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t).GetRoom(ctx, "64f0c5e2a1b2c3d4e5f60718")
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Fatalf("err = %v, retryable = %v", err, IsRetryable(err))
	}
}

func TestMalformedSuccessBodyIsNotRetryable(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, `{"id": 12`)
	})
	_, err := f.client(t).GetRoom(context.Background(), "64f0c5e2a1b2c3d4e5f60718")
	if err == nil || IsRetryable(err) {
		t.Fatalf("err = %v, retryable = %v", err, IsRetryable(err))
	}
}

func TestInvalidIDsNeverReachTheServer(t *testing.T) {
	f := newFakeHMS(t, newTestClock(), func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusOK, `{}`)
	})
	c := f.client(t)
	ctx := context.Background()
	for _, id := range []string{"", ".", "..", "a/b", "64f0c5e2?x=1", "room id", strings.Repeat("a", 129)} {
		calls := map[string]error{
			"GetRoom":         func() error { _, err := c.GetRoom(ctx, id); return err }(),
			"DisableRoom":     func() error { _, err := c.DisableRoom(ctx, id); return err }(),
			"GetActiveRoom":   func() error { _, err := c.GetActiveRoom(ctx, id); return err }(),
			"ListActivePeers": func() error { _, err := c.ListActivePeers(ctx, id); return err }(),
			"EndRoom":         c.EndRoom(ctx, id, "done", true),
			"StartRecording":  func() error { _, err := c.StartRecording(ctx, id, StartRecordingRequest{}); return err }(),
			"StopRecording":   func() error { _, err := c.StopRecording(ctx, id); return err }(),
			"GetRecording":    func() error { _, err := c.GetRecording(ctx, id); return err }(),
			"GetSession":      func() error { _, err := c.GetSession(ctx, id); return err }(),
			"GetTemplate":     func() error { _, err := c.GetTemplate(ctx, id); return err }(),
		}
		for name, err := range calls {
			if !errors.Is(err, ErrInvalidArgument) || IsRetryable(err) {
				t.Errorf("%s(%q): err = %v, want ErrInvalidArgument", name, id, err)
			}
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 14, 9, 26, 53, 300_000_000, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                               0,
		"0":                              0,
		"-5":                             0,
		" 12 ":                           12 * time.Second,
		"99999999999999999":              24 * time.Hour,
		"soon":                           0,
		"Fri, 14 Mar 2025 09:27:53 GMT":  time.Minute,
		"Friday, 14-Mar-25 09:28:53 GMT": 2 * time.Minute,
		"Fri Mar 14 09:26:58 2025":       5 * time.Second,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
