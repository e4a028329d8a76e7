package apiclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/workflows/core"
)

// Client is the engine's API and the simulator's participant API, typed:
// what the bank's backend, agents, auditors and the customers' apps call.
type Client struct {
	API, Sim string // base URLs
	HTTP     *http.Client
	// reads counts GET /v1/cases/{id} calls (the benchmark's reads per case).
	reads atomic.Int64
}

// NewClient is a client of the API at api and the simulator at sim; a nil
// hc is a client with a 30 s timeout.
func NewClient(api, sim string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{API: strings.TrimRight(api, "/"), Sim: strings.TrimRight(sim, "/"), HTTP: hc}
}

// Reads is how many times a case has been read so far.
func (c *Client) Reads() int64 { return c.reads.Load() }

// Call sends one request to the API at path; key, when set, is its
// Idempotency-Key (the API derives the workflow update id from it, so a
// retry with the same key is applied once).
func (c *Client) Call(ctx context.Context, method, path, token string, body any, key string, out any) (int, error) {
	q := Request{Method: method, URL: c.API + path, Token: token, JSON: body, Header: map[string]string{}}
	if key != "" {
		q.Header["Idempotency-Key"] = key
	}
	return Do(ctx, c.HTTP, q, out)
}

// CasePath is the API path of a case, plus suffix.
func CasePath(id, suffix string) string { return "/v1/cases/" + url.PathEscape(id) + suffix }

// NewCase is the body of POST /v1/cases.
type NewCase struct {
	Customer         kyc.Customer      `json:"customer"`
	RequiredCaptures []kyc.CaptureKind `json:"required_captures,omitempty"` // empty: the default
	AuditRejections  *bool             `json:"audit_rejections,omitempty"`  // nil: the default
}

// CreateCase opens a case as the bank's backend.
func (c *Client) CreateCase(ctx context.Context, token, key string, nc NewCase) (kyc.CaseView, error) {
	var v kyc.CaseView
	_, err := c.Call(ctx, http.MethodPost, "/v1/cases", token, nc, key, &v)
	return v, err
}

// JoinToken is a 100ms token for one person of the case's current call.
type JoinToken struct {
	RoomID    string    `json:"room_id"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// JoinToken asks for a join token for role; until the workflow has created
// the room the API answers 503.
func (c *Client) JoinToken(ctx context.Context, token, caseID string, role kyc.Role) (JoinToken, error) {
	var jt JoinToken
	_, err := c.Call(ctx, http.MethodPost, CasePath(caseID, "/join-tokens"), token, map[string]string{"role": string(role)}, "", &jt)
	return jt, err
}

// Decision is the body of a decision, an audit or a cancellation.
type Decision struct {
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason"`
}

// Decide is the agent's decision.
func (c *Client) Decide(ctx context.Context, token, caseID, key string, d Decision) (kyc.CaseView, error) {
	var v kyc.CaseView
	_, err := c.Call(ctx, http.MethodPost, CasePath(caseID, "/decision"), token, d, key, &v)
	return v, err
}

// Audit is the auditor's review.
func (c *Client) Audit(ctx context.Context, token, caseID, key string, d Decision) (kyc.CaseView, error) {
	var v kyc.CaseView
	_, err := c.Call(ctx, http.MethodPost, CasePath(caseID, "/audit"), token, d, key, &v)
	return v, err
}

// Cancel is the bank's cancellation of a case.
func (c *Client) Cancel(ctx context.Context, token, caseID, key, reason string) error {
	_, err := c.Call(ctx, http.MethodPost, CasePath(caseID, "/cancel"), token, Decision{Reason: reason}, key, nil)
	return err
}

// Case reads a case.
func (c *Client) Case(ctx context.Context, token, caseID string) (kyc.CaseView, error) {
	c.reads.Add(1)
	var v kyc.CaseView
	_, err := c.Call(ctx, http.MethodGet, CasePath(caseID, ""), token, nil, "", &v)
	return v, err
}

// EventLog is GET /v1/cases/{id}/events: the case's hash-chained event log
// and the API's verdicts on it.
type EventLog struct {
	Events     []Event `json:"events"`
	ChainValid bool    `json:"chain_valid"`
	Reason     string  `json:"reason"`
	// Witness compares the log with the chain the workflow computed;
	// Projection compares the case record with the log.
	Witness    Verdict `json:"witness"`
	Projection Verdict `json:"projection"`
	Verified   bool    `json:"verified"`
}

// Event is one entry of a case's event log.
type Event struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Verdict is one comparison of the event log with another record of it.
type Verdict struct {
	Matches bool   `json:"matches"`
	Problem string `json:"problem"`
}

// LastStatus is the status the log's last status change moved to, or "".
func (l EventLog) LastStatus() kyc.Status {
	for i := len(l.Events) - 1; i >= 0; i-- {
		if l.Events[i].Type != core.EventStatusChanged {
			continue
		}
		var d core.EventData
		if json.Unmarshal(l.Events[i].Data, &d) == nil {
			return d.To
		}
	}
	return ""
}

// Events reads a case's event log.
func (c *Client) Events(ctx context.Context, token, caseID string) (EventLog, error) {
	var l EventLog
	_, err := c.Call(ctx, http.MethodGet, CasePath(caseID, "/events"), token, nil, "", &l)
	return l, err
}

// Upload posts a capture as the agent's console does (the image itself, its
// kind in the query), with its SHA-256 for the API to check; it returns the
// answer's status (0 for none) and the stored capture, checked against what
// was sent.
func (c *Client) Upload(ctx context.Context, token, caseID, key string, f *CaptureUpload) (kyc.Capture, int, error) {
	// The digest is computed per upload, as a client that has the image
	// only now does (the benchmark times it with the upload).
	sum := f.Sample.SHA256()
	q := Request{Method: http.MethodPost, URL: c.API + CasePath(caseID, "/captures") + "?kind=" + url.QueryEscape(string(f.Sample.Kind)),
		Token: token, Body: bytes.NewReader(f.Sample.Data), ContentType: f.Sample.ContentType,
		Header: map[string]string{"X-Content-SHA256": sum}}
	if key != "" {
		q.Header["Idempotency-Key"] = key
	}
	var got kyc.Capture
	status, err := Do(ctx, c.HTTP, q, &got)
	if err != nil {
		return got, StatusOf(err), err
	}
	if got.Kind != f.Sample.Kind || got.SHA256 != sum || got.Size != int64(len(f.Sample.Data)) {
		return got, status, fmt.Errorf("%w: capture %s stored as %s of %d bytes with sha256 %s, sent %d bytes with sha256 %s",
			errStoredDiffers, f.Sample.Kind, got.Kind, got.Size, got.SHA256, len(f.Sample.Data), sum)
	}
	return got, status, nil
}

// errStoredDiffers: the API stored something else than was sent.
var errStoredDiffers = errors.New("the API stored a different capture")

// CaptureUpload is a capture to upload, checked once: the same bytes go out
// on every upload of it.
type CaptureUpload struct {
	Sample Sample
}

// NewCaptureUpload checks that a sample can be uploaded as it is.
func NewCaptureUpload(s Sample) (*CaptureUpload, error) {
	if !s.Kind.Valid() || len(s.Data) == 0 || s.ContentType == "" {
		return nil, fmt.Errorf("sample %q: needs a capture kind, bytes and a media type", s.FileName)
	}
	return &CaptureUpload{Sample: s}, nil
}

// SampleUploads are the uploads of the bundled samples.
func SampleUploads() ([]*CaptureUpload, error) {
	samples, err := Samples()
	if err != nil {
		return nil, err
	}
	out := make([]*CaptureUpload, 0, len(samples))
	for _, s := range samples {
		f, err := NewCaptureUpload(s)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Peer is a participant the simulator has in a call.
type Peer struct {
	PeerID    string `json:"peer_id"`
	SessionID string `json:"session_id"`
}

// Join joins the call of a join token, as a person's app does.
func (c *Client) Join(ctx context.Context, token, name string) (Peer, error) {
	var p Peer
	err := c.SimPost(ctx, "/sim/v1/join", map[string]string{"token": token, "name": name}, &p)
	return p, err
}

// Leave leaves the call; reason is what the simulator reports (e.g.
// "client request", "websocket closed").
func (c *Client) Leave(ctx context.Context, peer, reason string) error {
	return c.SimPost(ctx, "/sim/v1/leave", map[string]string{"peer_id": peer, "reason": reason}, nil)
}

// SetFaults sets the simulator's fault injection.
func (c *Client) SetFaults(ctx context.Context, faults any) error {
	return c.SimPost(ctx, "/sim/v1/faults", faults, nil)
}

// SimGet reads one of the simulator's test endpoints (state, deliveries).
func (c *Client) SimGet(ctx context.Context, path string, out any) error {
	_, err := Do(ctx, c.HTTP, Request{Method: http.MethodGet, URL: c.Sim + path}, out)
	return err
}

// SimPost posts to one of the simulator's endpoints (join, leave, faults,
// drop).
func (c *Client) SimPost(ctx context.Context, path string, body, out any) error {
	_, err := Do(ctx, c.HTTP, Request{Method: http.MethodPost, URL: c.Sim + path, JSON: body}, out)
	return err
}

// Minter mints API tokens from the API's secret, once per subject and role.
type Minter struct {
	secret []byte
	ttl    time.Duration
	mu     sync.Mutex
	tokens map[string]string
}

// NewMinter mints tokens valid for ttl.
func NewMinter(secret []byte, ttl time.Duration) *Minter {
	return &Minter{secret: secret, ttl: ttl, tokens: map[string]string{}}
}

// Token is sub's token in role.
func (m *Minter) Token(sub string, role kyc.Role) (string, error) {
	key := string(role) + ":" + sub
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[key]; ok {
		return t, nil
	}
	t, err := auth.Mint(m.secret, sub, role, m.ttl, time.Now())
	if err != nil {
		return "", fmt.Errorf("mint a %s token: %w", role, err)
	}
	m.tokens[key] = t
	return t, nil
}

// Tokens are the tokens of the bank's backend, an agent and an auditor.
func (m *Minter) Tokens(service, agent, auditor string) (Tokens, error) {
	var t Tokens
	var err error
	for _, x := range []struct {
		dst  *string
		sub  string
		role kyc.Role
	}{{&t.Service, service, kyc.RoleService}, {&t.Agent, agent, kyc.RoleAgent}, {&t.Auditor, auditor, kyc.RoleAuditor}} {
		if *x.dst, err = m.Token(x.sub, x.role); err != nil {
			return Tokens{}, err
		}
	}
	return t, nil
}

// NewKey is a fresh Idempotency-Key.
func NewKey() string { return RandomHex(16) }

// RandomHex is n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
