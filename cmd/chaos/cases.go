package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
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
// customer (through the simulator) and the auditor (apiclient.Driver),
// retrying every request the way a careful client does: with the same
// Idempotency-Key, while the answer is no answer, 429 or 5xx.
type caseRun struct {
	n        int
	script   script
	client   *apiclient.Client
	hooks    hooks
	deadline time.Time
	tokens   apiclient.Tokens

	mu       sync.Mutex
	id       string
	started  time.Time
	ended    time.Time
	progress []time.Time // when each step completed
	err      error
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

func newCaseRun(n int, sc script, client *apiclient.Client, h hooks, deadline time.Time) (*caseRun, error) {
	c := &caseRun{n: n, script: sc, client: client, hooks: h, deadline: deadline, uploads: map[kyc.CaptureKind]*upload{}}
	var err error
	c.tokens, err = apiclient.NewMinter([]byte(authSecret), 2*time.Hour).Tokens("bank-backend", fmt.Sprintf("agent-%d", n), fmt.Sprintf("auditor-%d", n))
	if err != nil {
		return nil, err
	}
	return c, nil
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
	outcome := kyc.OutcomeApprove
	if c.script == scriptReject {
		outcome = kyc.OutcomeReject
	}
	noAudit := false
	d := &apiclient.Driver{Client: c.client, Tokens: c.tokens, Poll: 250 * time.Millisecond, Deadline: c.deadline,
		Script: apiclient.Script{
			Customer: kyc.Customer{Reference: fmt.Sprintf("CHAOS-%d-%s", c.n, randomHex(4)), Name: "Chaos Customer",
				Email: "chaos.customer@example.com", Phone: "+910000000001"},
			RequiredCaptures: kyc.DefaultRequiredCaptures, AuditRejections: &noAudit,
			Cancel: c.script == scriptCancel, Outcome: outcome,
			DecisionReason: "chaos " + outcome, AuditReason: "chaos audit", CancelReason: "customer withdrew (chaos)",
			AgentName: "Chaos Agent", CustomerName: "Chaos Customer",
		},
		Hooks: apiclient.Hooks{Retry: apiclient.Retryable, Step: c.step, Upload: c.uploaded,
			BeforeCaptures: func(ctx context.Context, _ string) kyc.Status {
				if c.hooks.beforeCaptures != nil {
					c.hooks.beforeCaptures(ctx, c)
				}
				if want := c.want(); want != c.script.want() {
					// An operator ended the case from Temporal: nothing else
					// is done with it, it must reach that end by itself.
					return want
				}
				return ""
			}},
	}
	_, err := d.Run(ctx)
	c.mu.Lock()
	c.err, c.ended = err, time.Now()
	c.mu.Unlock()
}

// step marks progress: every request answered and every state reached;
// the two joins and the two leaves count once each.
func (c *caseRun) step(s apiclient.Step) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.Name == apiclient.StepCreated {
		c.id = s.View.ID
	}
	if s.Name != apiclient.StepAgentJoined && s.Name != apiclient.StepAgentLeft {
		c.progress = append(c.progress, s.At)
	}
}

// uploaded records one upload try.
func (c *caseRun) uploaded(f *apiclient.CaptureUpload, key string, status int, got *kyc.Capture) {
	c.mu.Lock()
	u := c.uploads[f.Sample.Kind]
	if u == nil {
		u = &upload{key: key, sha256: f.Sample.SHA256(), size: len(f.Sample.Data)}
		c.uploads[f.Sample.Kind] = u
	}
	u.tries++
	u.statuses = append(u.statuses, status)
	if got != nil {
		u.capture = *got
	}
	c.mu.Unlock()
	if c.hooks.uploadAnswered != nil {
		c.hooks.uploadAnswered(c, f.Sample.Kind, status)
	}
}

// view reads the case as the bank's backend.
func (c *caseRun) view(ctx context.Context) (kyc.CaseView, error) {
	return c.client.Case(ctx, c.tokens.Service, c.caseID())
}

func sleep(ctx context.Context, d time.Duration) error { return apiclient.Sleep(ctx, d) }

func randomHex(n int) string { return apiclient.RandomHex(n) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}
