package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sync"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// script is what a case goes through and where it must end.
type script string

const (
	scriptApprove script = "approve" // call, captures, agent approves, recording verified, auditor approves
	scriptReject  script = "reject"  // call, captures, agent rejects (no audit of rejections)
	scriptCancel  script = "cancel"  // the bank cancels the case before the call
)

func (s script) want() kyc.Status {
	switch s {
	case scriptReject:
		return kyc.StatusRejected
	case scriptCancel:
		return kyc.StatusCancelled
	}
	return kyc.StatusApproved
}

// scriptFor spreads the scripts over a class's cases: mostly approvals,
// which go through every part of the engine.
func scriptFor(i int) script {
	switch i % 5 {
	case 2:
		return scriptReject
	case 4:
		return scriptCancel
	}
	return scriptApprove
}

// hooks let a fault class act at the moments that matter to it.
type hooks struct {
	// beforeCaptures runs once a case's call has started, before its
	// uploads (the MinIO class stops storage here; the operator class
	// cancels or terminates the case's workflow here).
	beforeCaptures func(ctx context.Context, c *caseRun)
	// uploadAnswered is told the status of every upload try (0: no answer).
	uploadAnswered func(c *caseRun, kind kyc.CaptureKind, status int)
}

// caseRun drives one case over HTTP as the bank's backend, the agent, the
// customer (through the simulator) and the auditor, retrying every request
// the way a careful client does: with the same Idempotency-Key, while the
// answer is no answer, 429 or 5xx.
type caseRun struct {
	n        int
	script   script
	sim      *simClient
	api      string
	hc       *http.Client
	hooks    hooks
	deadline time.Time

	service, agent, auditor string // tokens
	agentID                 string

	mu       sync.Mutex
	id       string
	started  time.Time
	ended    time.Time
	progress []time.Time // when each step completed
	err      error
	final    kyc.CaseView
	uploads  map[kyc.CaptureKind]*upload
	// operator is the status an operator's action in Temporal (cancel,
	// terminate) sends the case to, instead of its script's end.
	operator kyc.Status
}

// want is the status the case must end in.
func (c *caseRun) want() kyc.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.operator != "" {
		return c.operator
	}
	return c.script.want()
}

// stoppedBy records that an operator ended the case from Temporal.
func (c *caseRun) stoppedBy(status kyc.Status) {
	c.mu.Lock()
	c.operator = status
	c.mu.Unlock()
}

// upload is what the driver knows of one capture it sent.
type upload struct {
	key      string
	sha256   string
	size     int
	tries    int
	statuses []int // every answer, 0 for none
	capture  kyc.Capture
}

func newCaseRun(n int, sc script, apiBase string, sim *simClient, h hooks, deadline time.Time) (*caseRun, error) {
	c := &caseRun{
		n: n, script: sc, sim: sim, api: apiBase, hooks: h, deadline: deadline,
		hc:      &http.Client{Timeout: 20 * time.Second},
		agentID: fmt.Sprintf("agent-%d", n),
		uploads: map[kyc.CaptureKind]*upload{},
	}
	now := time.Now()
	for _, m := range []struct {
		dst  *string
		sub  string
		role kyc.Role
	}{
		{&c.service, "bank-backend", kyc.RoleService},
		{&c.agent, c.agentID, kyc.RoleAgent},
		{&c.auditor, fmt.Sprintf("auditor-%d", n), kyc.RoleAuditor},
	} {
		tok, err := auth.Mint([]byte(authSecret), m.sub, m.role, 2*time.Hour, now)
		if err != nil {
			return nil, err
		}
		*m.dst = tok
	}
	return c, nil
}

func (c *caseRun) mark() {
	c.mu.Lock()
	c.progress = append(c.progress, time.Now())
	c.mu.Unlock()
}

func (c *caseRun) caseID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// run drives the case to the end of its script; the error says which step
// did not get there.
func (c *caseRun) run(ctx context.Context) {
	c.mu.Lock()
	c.started = time.Now()
	c.progress = append(c.progress, c.started)
	c.mu.Unlock()
	err := c.steps(ctx)
	c.mu.Lock()
	c.err, c.ended = err, time.Now()
	c.mu.Unlock()
}

func (c *caseRun) steps(ctx context.Context) error {
	if err := c.create(ctx); err != nil {
		return err
	}
	if c.script == scriptCancel {
		if _, err := c.joinToken(ctx, kyc.RoleCustomer, c.service); err != nil {
			return err
		}
		if err := c.send(ctx, "cancel", "/cancel", c.service, map[string]string{"reason": "customer withdrew (chaos)"}); err != nil {
			return err
		}
		return c.waitStatus(ctx, kyc.StatusCancelled)
	}
	agentTok, err := c.joinToken(ctx, kyc.RoleAgent, c.agent)
	if err != nil {
		return err
	}
	customerTok, err := c.joinToken(ctx, kyc.RoleCustomer, c.service)
	if err != nil {
		return err
	}
	agentPeer, err := c.sim.join(ctx, agentTok, "Chaos Agent")
	if err != nil {
		return fmt.Errorf("agent joins: %w", err)
	}
	customerPeer, err := c.sim.join(ctx, customerTok, "Chaos Customer")
	if err != nil {
		return fmt.Errorf("customer joins: %w", err)
	}
	c.mark()
	if _, err := c.waitView(ctx, "call started", func(v *kyc.CaseView) bool { return v.Status == kyc.StatusInCall }); err != nil {
		return err
	}
	if c.hooks.beforeCaptures != nil {
		c.hooks.beforeCaptures(ctx, c)
	}
	if want := c.want(); want != c.script.want() {
		// An operator ended the case from Temporal: nothing else is done
		// with it, it must reach that end by itself.
		return c.waitStatus(ctx, want)
	}
	samples, err := apiclient.Samples()
	if err != nil {
		return err
	}
	for _, s := range samples {
		if err := c.capture(ctx, s); err != nil {
			return err
		}
	}
	v, err := c.waitView(ctx, "recording started", func(v *kyc.CaseView) bool { return v.Recording.Status != kyc.RecordingPending })
	if err != nil {
		return err
	}
	if v.Recording.Status == kyc.RecordingFailed {
		return errors.New("the recording failed")
	}
	outcome := kyc.OutcomeApprove
	if c.script == scriptReject {
		outcome = kyc.OutcomeReject
	}
	if err := c.send(ctx, "decision", "/decision", c.agent, map[string]string{"outcome": outcome, "reason": "chaos " + outcome}); err != nil {
		return err
	}
	for _, peer := range []string{agentPeer, customerPeer} {
		if err := c.sim.leave(ctx, peer); err != nil {
			return fmt.Errorf("leave: %w", err)
		}
	}
	c.mark()
	if c.script == scriptReject {
		return c.waitStatus(ctx, kyc.StatusRejected)
	}
	if _, err := c.waitView(ctx, "awaiting audit", func(v *kyc.CaseView) bool {
		return v.Status == kyc.StatusAwaitingAudit && v.Recording.Status == kyc.RecordingVerified
	}); err != nil {
		return err
	}
	if err := c.send(ctx, "audit", "/audit", c.auditor, map[string]string{"outcome": kyc.OutcomeApprove, "reason": "chaos audit"}); err != nil {
		return err
	}
	return c.waitStatus(ctx, kyc.StatusApproved)
}

// retryable says whether a careful client tries again: no answer, 429 or a
// 5xx (which the API answers for an outage behind it).
func retryable(err error) bool {
	st := apiclient.StatusOf(err)
	return st == 0 || st == http.StatusTooManyRequests || st >= 500
}

// retry calls try until it succeeds, fails for good or the case's deadline
// passes, with a capped backoff.
func (c *caseRun) retry(ctx context.Context, what string, try func() error) error {
	wait := 200 * time.Millisecond
	for {
		err := try()
		if err == nil {
			c.mark()
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		if time.Now().After(c.deadline) {
			return fmt.Errorf("%s: still failing at the deadline: %w", what, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		wait = min(wait*3/2, 2*time.Second)
	}
}

func (c *caseRun) request(method, path, token string, body any, key string) apiclient.Request {
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return apiclient.Request{Method: method, URL: c.api + path, Token: token, JSON: body, Header: h}
}

func (c *caseRun) casePath(suffix string) string { return "/v1/cases/" + c.caseID() + suffix }

func (c *caseRun) create(ctx context.Context) error {
	key := randomHex(16)
	body := map[string]any{
		"customer": kyc.Customer{Reference: fmt.Sprintf("CHAOS-%d-%s", c.n, key[:8]), Name: "Chaos Customer",
			Email: "chaos.customer@example.com", Phone: "+910000000001"},
		"required_captures": kyc.DefaultRequiredCaptures,
		"audit_rejections":  false,
	}
	var v kyc.CaseView
	err := c.retry(ctx, "create case", func() error {
		_, err := apiclient.Do(ctx, c.hc, c.request(http.MethodPost, "/v1/cases", c.service, body, key), &v)
		return err
	})
	if err != nil {
		return err
	}
	if v.ID == "" {
		return errors.New("create case: no id in the answer")
	}
	c.mu.Lock()
	c.id = v.ID
	c.mu.Unlock()
	return nil
}

type joinAnswer struct {
	Token string `json:"token"`
}

func (c *caseRun) joinToken(ctx context.Context, role kyc.Role, token string) (string, error) {
	var ja joinAnswer
	err := c.retry(ctx, string(role)+" join token", func() error {
		_, err := apiclient.Do(ctx, c.hc, c.request(http.MethodPost, c.casePath("/join-tokens"), token, map[string]string{"role": string(role)}, ""), &ja)
		return err
	})
	return ja.Token, err
}

// send posts a case update with an Idempotency-Key kept across its retries.
func (c *caseRun) send(ctx context.Context, what, suffix, token string, body any) error {
	key := randomHex(16)
	return c.retry(ctx, what, func() error {
		_, err := apiclient.Do(ctx, c.hc, c.request(http.MethodPost, c.casePath(suffix), token, body, key), nil)
		return err
	})
}

func (c *caseRun) capture(ctx context.Context, s apiclient.Sample) error {
	u := &upload{key: randomHex(16), sha256: s.SHA256(), size: len(s.Data)}
	c.mu.Lock()
	c.uploads[s.Kind] = u
	c.mu.Unlock()
	return c.retry(ctx, "capture "+string(s.Kind), func() error {
		body, ct, err := captureForm(s)
		if err != nil {
			return err
		}
		q := c.request(http.MethodPost, c.casePath("/captures"), c.agent, nil, u.key)
		q.Body, q.ContentType = body, ct
		q.Header["X-Content-SHA256"] = u.sha256
		var got kyc.Capture
		status, err := apiclient.Do(ctx, c.hc, q, &got)
		if err != nil {
			status = apiclient.StatusOf(err)
		}
		c.mu.Lock()
		u.tries++
		u.statuses = append(u.statuses, status)
		if err == nil {
			u.capture = got
		}
		c.mu.Unlock()
		if c.hooks.uploadAnswered != nil {
			c.hooks.uploadAnswered(c, s.Kind, status)
		}
		return err
	})
}

func captureForm(s apiclient.Sample) (io.Reader, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("kind", string(s.Kind)); err != nil {
		return nil, "", err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, s.FileName))
	h.Set("Content-Type", s.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(s.Data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return &buf, w.FormDataContentType(), nil
}

// view reads the case as the bank's backend.
func (c *caseRun) view(ctx context.Context) (kyc.CaseView, error) {
	var v kyc.CaseView
	_, err := apiclient.Do(ctx, c.hc, c.request(http.MethodGet, c.casePath(""), c.service, nil, ""), &v)
	return v, err
}

// waitView polls the case until ok holds; a case that ends elsewhere fails.
func (c *caseRun) waitView(ctx context.Context, what string, ok func(*kyc.CaseView) bool) (kyc.CaseView, error) {
	for {
		v, err := c.view(ctx)
		switch {
		case err == nil && ok(&v):
			c.mark()
			return v, nil
		case err == nil && v.Status.Terminal():
			return v, fmt.Errorf("wait for %s: the case ended %s (%s)", what, v.Status, v.StatusReason)
		case err != nil && !retryable(err):
			return v, fmt.Errorf("wait for %s: %w", what, err)
		}
		if time.Now().After(c.deadline) {
			return v, fmt.Errorf("wait for %s: still %s at the deadline (last error: %v)", what, v.Status, err)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return v, err
		}
	}
}

func (c *caseRun) waitStatus(ctx context.Context, want kyc.Status) error {
	v, err := c.waitView(ctx, string(want), func(v *kyc.CaseView) bool { return v.Status == want })
	c.mu.Lock()
	c.final = v
	c.mu.Unlock()
	return err
}

// simClient is the participants' side of the simulator and its test API.
type simClient struct {
	base string
	hc   *http.Client
}

func (s *simClient) join(ctx context.Context, token, name string) (string, error) {
	var res struct {
		PeerID string `json:"peer_id"`
	}
	_, err := apiclient.Do(ctx, s.hc, apiclient.Request{Method: http.MethodPost, URL: s.base + "/sim/v1/join", JSON: map[string]string{"token": token, "name": name}}, &res)
	return res.PeerID, err
}

func (s *simClient) leave(ctx context.Context, peer string) error {
	_, err := apiclient.Do(ctx, s.hc, apiclient.Request{Method: http.MethodPost, URL: s.base + "/sim/v1/leave", JSON: map[string]string{"peer_id": peer, "reason": "client request"}}, nil)
	return err
}

func (s *simClient) setFaults(ctx context.Context, faults any) error {
	_, err := apiclient.Do(ctx, s.hc, apiclient.Request{Method: http.MethodPost, URL: s.base + "/sim/v1/faults", JSON: faults}, nil)
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}
