package hmssim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

const (
	testAccessKey = "test-access-key"
	testAppSecret = "test-app-secret-0123456789"
)

// sim is a simulator behind a real HTTP server.
type sim struct {
	*hmssim.Server
	URL string
}

// newSim starts a simulator; cfg's credentials default to the test ones and
// its delays to a few milliseconds.
func newSim(t *testing.T, cfg hmssim.Config) *sim {
	t.Helper()
	if cfg.AccessKey == "" {
		cfg.AccessKey, cfg.AppSecret = testAccessKey, testAppSecret
	}
	if cfg.RecordingStartDelay == 0 {
		cfg.RecordingStartDelay = 20 * time.Millisecond
	}
	if cfg.RecordingReadyDelay == 0 {
		cfg.RecordingReadyDelay = 40 * time.Millisecond
	}
	if cfg.RetrySchedule == nil {
		cfg.RetrySchedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	}
	s, err := hmssim.New(cfg)
	if err != nil {
		t.Fatalf("hmssim.New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return &sim{Server: s, URL: ts.URL}
}

type claims = jwt.MapClaims

// signToken signs claims with HS256 and secret, filling the standard claims a
// correct 100ms token carries unless claims sets them (nil deletes).
func signToken(t *testing.T, secret string, c claims) string {
	t.Helper()
	now := time.Now()
	full := claims{
		"access_key": testAccessKey, "version": 2, "jti": uuid.NewString(),
		"iat": now.Add(-10 * time.Second).Unix(), "nbf": now.Add(-10 * time.Second).Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range c {
		if v == nil {
			delete(full, k)
			continue
		}
		full[k] = v
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, full).SignedString([]byte(secret))
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return tok
}

func mgmtToken(t *testing.T) string {
	return signToken(t, testAppSecret, claims{"type": "management"})
}

func peerToken(t *testing.T, roomID, role, userID string) string {
	return signToken(t, testAppSecret, claims{"type": "app", "room_id": roomID, "role": role, "user_id": userID})
}

// do sends a request and returns the status and body.
func do(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, b
}

// api calls /v2 with a valid management token and decodes a 200 answer.
func (s *sim) api(t *testing.T, method, path string, body, out any) {
	t.Helper()
	status, b := do(t, method, s.URL+path, mgmtToken(t), body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

type roomOut struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Enabled    bool      `json:"enabled"`
	TemplateID string    `json:"template_id"`
	CustomerID string    `json:"customer_id"`
	AppID      string    `json:"app_id"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *sim) createRoom(t *testing.T, body map[string]any) roomOut {
	t.Helper()
	var r roomOut
	s.api(t, http.MethodPost, "/v2/rooms", body, &r)
	return r
}

type joined struct {
	PeerID    string `json:"peer_id"`
	SessionID string `json:"session_id"`
	RoomID    string `json:"room_id"`
	Role      string `json:"role"`
}

// join joins with a valid peer token and fails the test on any error.
func (s *sim) join(t *testing.T, roomID, role, userID string) joined {
	t.Helper()
	status, b := do(t, http.MethodPost, s.URL+"/sim/v1/join", "",
		map[string]string{"token": peerToken(t, roomID, role, userID), "name": userID})
	if status != http.StatusOK {
		t.Fatalf("join %s as %s: status %d: %s", roomID, role, status, b)
	}
	var j joined
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("decode join: %v", err)
	}
	return j
}

func (s *sim) leave(t *testing.T, peerID, reason string) {
	t.Helper()
	status, b := do(t, http.MethodPost, s.URL+"/sim/v1/leave", "", map[string]string{"peer_id": peerID, "reason": reason})
	if status != http.StatusOK {
		t.Fatalf("leave %s: status %d: %s", peerID, status, b)
	}
}

// hook is a received webhook event.
type hook struct {
	At     time.Time
	Header http.Header
	Body   []byte
	Status int // what the receiver answered

	Version   string         `json:"version"`
	ID        string         `json:"id"`
	AppID     string         `json:"app_id"`
	AccountID string         `json:"account_id"`
	Timestamp string         `json:"timestamp"`
	Type      string         `json:"type"`
	Data      map[string]any `json:"data"`
}

func (h hook) str(key string) string  { s, _ := h.Data[key].(string); return s }
func (h hook) num(key string) float64 { n, _ := h.Data[key].(float64); return n }

// receiver is a webhook endpoint; answer picks the status of each request
// given how many times this event id was received before.
type receiver struct {
	srv    *httptest.Server
	answer func(h hook, seen int) int

	mu   sync.Mutex
	all  []hook
	seen map[string]int
	cond chan struct{}
}

func newReceiver(t *testing.T, answer func(h hook, seen int) int) *receiver {
	t.Helper()
	if answer == nil {
		answer = func(hook, int) int { return http.StatusOK }
	}
	r := &receiver{answer: answer, seen: map[string]int{}, cond: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := hook{At: time.Now(), Header: req.Header.Clone(), Body: body}
		if err := json.Unmarshal(body, &h); err != nil {
			t.Errorf("webhook body is not JSON: %v: %s", err, body)
		}
		r.mu.Lock()
		h.Status = r.answer(h, r.seen[h.ID])
		r.seen[h.ID]++
		r.all = append(r.all, h)
		close(r.cond)
		r.cond = make(chan struct{})
		r.mu.Unlock()
		w.WriteHeader(h.Status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL }

// requests returns every request received so far.
func (r *receiver) requests() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// accepted returns the events answered 200, in arrival order.
func (r *receiver) accepted() []hook {
	var out []hook
	for _, h := range r.requests() {
		if h.Status == http.StatusOK {
			out = append(out, h)
		}
	}
	return out
}

// waitFor waits until cond holds for the received requests.
func (r *receiver) waitFor(t *testing.T, what string, timeout time.Duration, cond func([]hook) bool) []hook {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		all, ch := slices.Clone(r.all), r.cond
		r.mu.Unlock()
		if cond(all) {
			return all
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s; received %v", timeout, what, types(all))
			return nil
		}
	}
}

// waitType waits for an accepted event of type typ and returns it.
func (r *receiver) waitType(t *testing.T, typ string, timeout time.Duration) hook {
	t.Helper()
	var found hook
	r.waitFor(t, typ, timeout, func(all []hook) bool {
		for _, h := range all {
			if h.Type == typ && h.Status == http.StatusOK {
				found = h
				return true
			}
		}
		return false
	})
	return found
}

func types(hs []hook) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Type
	}
	return out
}

// bucket creates a uniquely named bucket on the test MinIO and removes it
// with its objects when the test ends.
func bucket(t *testing.T) (testenv.S3, *minio.Client, string) {
	t.Helper()
	s3 := testenv.MinIO(t)
	mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	name := testenv.RandomName("hmssim-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mc.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for obj := range mc.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = mc.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = mc.RemoveBucket(ctx, name)
	})
	return s3, mc, name
}

// recordingSim is a simulator that delivers its webhooks to rx and stores
// recordings in MinIO, with a fresh bucket (mc's bucketName), which is also
// the simulator's default bucket unless cfg names another.
func recordingSim(t *testing.T, cfg hmssim.Config) (s *sim, rx *receiver, mc *minio.Client, bucketName string) {
	t.Helper()
	s3, mc, bucketName := bucket(t)
	rx = newReceiver(t, nil)
	cfg.WebhookURL, cfg.Storage = rx.URL(), minioStore(t, s3)
	if cfg.Bucket == "" {
		cfg.Bucket = bucketName
	}
	return newSim(t, cfg), rx, mc, bucketName
}

func minioStore(t *testing.T, s3 testenv.S3) hmssim.RecordingStore {
	t.Helper()
	store, err := hmssim.NewMinIOStore(s3.Endpoint, s3.AccessKey, s3.SecretKey, false)
	if err != nil {
		t.Fatalf("NewMinIOStore: %v", err)
	}
	return store
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
