package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// The steps of a case, as Step.Name says them.
const (
	StepCreated       = "case created"
	StepAgentToken    = "agent join token"
	StepCustomerToken = "customer join token"
	StepAgentJoined   = "agent joined"
	StepCustomerJoin  = "customer joined"
	StepCancelled     = "bank cancelled"
	StepInCall        = "call started"
	StepCapture       = "capture " // + the kind
	StepRecording     = "recording started"
	StepDecided       = "agent decided"
	StepAgentLeft     = "agent left"
	StepCustomerLeft  = "customer left"
	StepAwaitingAudit = "recording verified"
	StepAudited       = "auditor decided"
	StepEnded         = "case ended"
)

// Script is what a case goes through.
type Script struct {
	Customer         kyc.Customer
	RequiredCaptures []kyc.CaptureKind // empty: the default
	AuditRejections  *bool             // nil: the default
	// Cancel: the bank cancels the case after asking for the customer's
	// join token, before the call.
	Cancel bool
	// Outcome is the agent's decision (default kyc.OutcomeApprove); a
	// rejection is audited only when the case audits rejections.
	Outcome                                   string
	DecisionReason, AuditReason, CancelReason string
	AgentName, CustomerName                   string
	// DecideAtOnce: the agent decides right after the captures instead of
	// once the recording runs (an attempt without a recording is void; the
	// benchmark's simulator starts recordings after 1 ms).
	DecideAtOnce bool
	// StopInCall leaves the case in its call, agent assigned (the
	// benchmark's upload scenario then uploads to it).
	StopInCall bool
}

// Tokens are API bearer tokens.
type Tokens struct {
	Service string // creates the case and the customer's join token
	Agent   string // joins, captures and decides
	Auditor string // audits; must belong to someone other than the agent
}

// Step is one step a case has done.
type Step struct {
	Name   string
	Detail string
	// View is the case as the step left it, when the step read it.
	View *kyc.CaseView
	At   time.Time
	// Took is how long the step's request or wait took.
	Took time.Duration
}

// Hooks are where the demo, the benchmark, the fault suite and the tests
// plug in; each may be nil.
type Hooks struct {
	// Step is told of each step done.
	Step func(Step)
	// View is told of every read of the case and when its answer came.
	View func(v *kyc.CaseView, at time.Time)
	// Retry says whether a failed request is tried again (with the same
	// Idempotency-Key) and a failed read of the case read again, until the
	// deadline. A join token is always asked again while the room is not
	// ready (503).
	Retry func(error) bool
	// BeforeCaptures runs once the call has started. A status it returns
	// means an operator ended the case: the driver then only waits for it.
	BeforeCaptures func(ctx context.Context, caseID string) kyc.Status
	// Upload is told of every upload try: its Idempotency-Key, the answer's
	// status (0 for none) and, on success, the stored capture.
	Upload func(f *CaptureUpload, key string, status int, c *kyc.Capture)
}

// Driver drives cases over HTTP as the bank's backend, the agent, the
// customer (through the simulator) and the auditor: create → join →
// capture → decide → audit, with the variations of Script and Hooks.
type Driver struct {
	Client  *Client
	Tokens  Tokens
	Script  Script
	Hooks   Hooks
	Uploads []*CaptureUpload // the captures (default the bundled samples)
	Poll    time.Duration    // how often a wait reads the case (default 200 ms)
	Wait    time.Duration    // longest wait for one state or retried request (default 2 min)
	// Deadline, when set, bounds every wait and retry instead of Wait.
	Deadline time.Time
}

// Run drives one case to the end of its script. The view is the last seen
// (its ID set once the case exists); the error names the step that did
// not get there.
func (d *Driver) Run(ctx context.Context) (kyc.CaseView, error) {
	// Ends the waits a failed step leaves behind.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{d: d}
	err := r.steps(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.view, err
}

// run is one Run.
type run struct {
	d    *Driver
	id   string
	mu   sync.Mutex
	view kyc.CaseView
}

func (r *run) step(name, detail string, v *kyc.CaseView, since time.Time) {
	now := time.Now()
	if v != nil {
		r.mu.Lock()
		r.view = *v
		r.mu.Unlock()
	}
	if r.d.Hooks.Step != nil {
		r.d.Hooks.Step(Step{Name: name, Detail: detail, View: v, At: now, Took: now.Sub(since)})
	}
}

func (r *run) steps(ctx context.Context) error {
	d, s, t := r.d, r.d.Script, r.d.Tokens
	uploads := d.Uploads
	if len(uploads) == 0 {
		var err error
		if uploads, err = SampleUploads(); err != nil {
			return err
		}
	}
	start := time.Now()
	var v kyc.CaseView
	err := r.retry(ctx, "create case", nil, func(key string) (err error) {
		v, err = d.Client.CreateCase(ctx, t.Service, key, NewCase{Customer: s.Customer,
			RequiredCaptures: s.RequiredCaptures, AuditRejections: s.AuditRejections})
		return err
	})
	if err != nil {
		return err
	}
	if v.ID == "" {
		return errors.New("create case: the answer has no case id")
	}
	r.id = v.ID
	r.step(StepCreated, fmt.Sprintf("id=%s ref=%s status=%s", v.ID, s.Customer.Reference, v.Status), &v, start)

	var agentTok JoinToken
	if !s.Cancel {
		if agentTok, err = r.joinToken(ctx, kyc.RoleAgent, t.Agent, StepAgentToken); err != nil {
			return err
		}
	}
	customerTok, err := r.joinToken(ctx, kyc.RoleCustomer, t.Service, StepCustomerToken)
	if err != nil {
		return err
	}
	if s.Cancel {
		start = time.Now()
		if err := r.retry(ctx, "cancel", nil, func(key string) error {
			return d.Client.Cancel(ctx, t.Service, r.id, key, s.CancelReason)
		}); err != nil {
			return err
		}
		r.step(StepCancelled, "", nil, start)
		return r.end(ctx, kyc.StatusCancelled, nil)
	}

	// Each wait starts before the action whose effect it awaits, so that
	// the moment the effect shows is seen as it happens.
	inCall := r.watch(ctx, StepInCall, func(v *kyc.CaseView) bool {
		return v.Status == kyc.StatusInCall && v.Participants.Agent.Joined && v.Participants.Customer.Joined
	})
	agentPeer, err := r.join(ctx, "agent", orDefault(s.AgentName, "Agent"), agentTok.Token, StepAgentJoined)
	if err != nil {
		return err
	}
	customerPeer, err := r.join(ctx, "customer", orDefault(s.CustomerName, "Customer"), customerTok.Token, StepCustomerJoin)
	if err != nil {
		return err
	}
	if _, err := r.await(inCall); err != nil || s.StopInCall {
		return err
	}
	if d.Hooks.BeforeCaptures != nil {
		if status := d.Hooks.BeforeCaptures(ctx, r.id); status != "" {
			return r.end(ctx, status, nil)
		}
	}
	for _, f := range uploads {
		if err := r.capture(ctx, f); err != nil {
			return err
		}
	}
	if !s.DecideAtOnce {
		v, err := r.await(r.watch(ctx, StepRecording, func(v *kyc.CaseView) bool { return v.Recording.Status != kyc.RecordingPending }))
		if err != nil {
			return err
		}
		if v.Recording.Status == kyc.RecordingFailed {
			return errors.New("the recording failed to start")
		}
	}
	outcome := orDefault(s.Outcome, kyc.OutcomeApprove)
	audited := outcome == kyc.OutcomeApprove || s.AuditRejections != nil && *s.AuditRejections
	var ready <-chan watched
	if audited {
		ready = r.watch(ctx, StepAwaitingAudit, func(v *kyc.CaseView) bool {
			return v.Status == kyc.StatusAwaitingAudit && v.Recording.Status == kyc.RecordingVerified
		})
	}
	start = time.Now()
	err = r.retry(ctx, "agent decision", nil, func(key string) (err error) {
		v, err = d.Client.Decide(ctx, t.Agent, r.id, key, Decision{Outcome: outcome, Reason: s.DecisionReason})
		return err
	})
	if err != nil {
		return err
	}
	r.step(StepDecided, outcome+" status="+string(v.Status), &v, start)
	for _, p := range []struct{ who, peer, step string }{{"agent", agentPeer, StepAgentLeft}, {"customer", customerPeer, StepCustomerLeft}} {
		start = time.Now()
		// The engine ends the room after the decision; a leave after that
		// is a no-op at 100ms and in the simulator. The people's side of
		// the call is the simulator's, not the engine's: never retried.
		if err := d.Client.Leave(ctx, p.peer, "client request"); err != nil {
			return fmt.Errorf("%s leaves the call: %w", p.who, err)
		}
		r.step(p.step, "peer="+p.peer, nil, start)
	}
	if !audited {
		return r.end(ctx, kyc.StatusRejected, nil)
	}
	if _, err := r.await(ready); err != nil {
		return err
	}
	start = time.Now()
	err = r.retry(ctx, "audit", nil, func(key string) (err error) {
		v, err = d.Client.Audit(ctx, t.Auditor, r.id, key, Decision{Outcome: kyc.OutcomeApprove, Reason: s.AuditReason})
		return err
	})
	if err != nil {
		return err
	}
	r.step(StepAudited, "approve status="+string(v.Status), &v, start)
	return r.end(ctx, kyc.StatusApproved, &v)
}

// end waits until the case is in want; known is the case as an answer
// just showed it, when it did.
func (r *run) end(ctx context.Context, want kyc.Status, known *kyc.CaseView) error {
	if known != nil && known.Status == want {
		r.step(StepEnded, "status="+string(want), known, time.Now())
		return nil
	}
	_, err := r.await(r.watch(ctx, StepEnded, func(v *kyc.CaseView) bool { return v.Status == want }))
	return err
}

func (r *run) joinToken(ctx context.Context, role kyc.Role, token, step string) (JoinToken, error) {
	start := time.Now()
	var jt JoinToken
	// The workflow creates the room just after the case starts; until then
	// the API answers 503.
	notReady := func(err error) bool { return StatusOf(err) == http.StatusServiceUnavailable }
	err := r.retry(ctx, string(role)+" join token", notReady, func(string) (err error) {
		jt, err = r.d.Client.JoinToken(ctx, token, r.id, role)
		return err
	})
	if err != nil {
		return jt, err
	}
	if jt.Token == "" {
		return jt, fmt.Errorf("%s join token: the answer has no token", role)
	}
	r.step(step, fmt.Sprintf("room=%s expires=%s", jt.RoomID, jt.ExpiresAt.UTC().Format(time.RFC3339)), nil, start)
	return jt, nil
}

func (r *run) join(ctx context.Context, who, name, token, step string) (string, error) {
	start := time.Now()
	p, err := r.d.Client.Join(ctx, token, name)
	if err != nil {
		return "", fmt.Errorf("%s joins the call: %w", who, err)
	}
	r.step(step, fmt.Sprintf("peer=%s session=%s", p.PeerID, p.SessionID), nil, start)
	return p.PeerID, nil
}

func (r *run) capture(ctx context.Context, f *CaptureUpload) error {
	start := time.Now()
	var c kyc.Capture
	err := r.retry(ctx, "capture "+string(f.Sample.Kind), nil, func(key string) error {
		got, status, err := r.d.Client.Upload(ctx, r.d.Tokens.Agent, r.id, key, f)
		if r.d.Hooks.Upload != nil {
			var stored *kyc.Capture
			if err == nil {
				stored = &got
			}
			r.d.Hooks.Upload(f, key, status, stored)
		}
		c = got
		return err
	})
	if err != nil {
		return err
	}
	r.step(StepCapture+string(f.Sample.Kind), fmt.Sprintf("id=%s %s %d bytes sha256=%.12s…", c.ID, c.ContentType, c.Size, c.SHA256), nil, start)
	return nil
}

// deadline is when a wait or retry that starts now gives up.
func (d *Driver) deadline() time.Time {
	if !d.Deadline.IsZero() {
		return d.Deadline
	}
	return time.Now().Add(orDuration(d.Wait, 2*time.Minute))
}

// retry calls try with one Idempotency-Key until it succeeds or fails for
// good: an error that also (or Hooks.Retry) does not retry, or the
// deadline.
func (r *run) retry(ctx context.Context, what string, also func(error) bool, try func(key string) error) error {
	key, deadline := NewKey(), r.d.deadline()
	pause := orDuration(r.d.Poll, 200*time.Millisecond)
	if r.d.Hooks.Retry != nil {
		pause = 200 * time.Millisecond // then backing off, as a careful client does
	}
	for {
		err := try(key)
		if err == nil {
			return nil
		}
		again := also != nil && also(err) || r.d.Hooks.Retry != nil && r.d.Hooks.Retry(err)
		if !again {
			return fmt.Errorf("%s: %w", what, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still failing at the deadline: %w", what, err)
		}
		if err := Sleep(ctx, pause); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if r.d.Hooks.Retry != nil {
			pause = min(pause*3/2, 2*time.Second)
		}
	}
}

type watched struct {
	what, detail string
	start        time.Time
	view         kyc.CaseView
	err          error
}

// watch reads the case every Poll in a goroutine of its own until ok
// holds, it ends elsewhere or the deadline passes; await has the outcome
// (and tells Hooks.Step, from the driver's goroutine).
func (r *run) watch(ctx context.Context, what string, ok func(*kyc.CaseView) bool) <-chan watched {
	out := make(chan watched, 1)
	d := r.d
	w := watched{what: what, start: time.Now()}
	deadline, poll := d.deadline(), orDuration(d.Poll, 200*time.Millisecond)
	go func() {
		var seen []string
		for {
			v, err := d.Client.Case(ctx, d.Tokens.Service, r.id)
			at := time.Now()
			if err == nil {
				w.view = v
				if d.Hooks.View != nil {
					d.Hooks.View(&v, at)
				}
				if s := string(v.Status); len(seen) == 0 || seen[len(seen)-1] != s {
					seen = append(seen, s)
				}
			}
			switch {
			case err == nil && ok(&v):
				w.detail = "status=" + strings.Join(seen, " → ") + recordingNote(&v)
			case err == nil && v.Status.Terminal():
				w.err = fmt.Errorf("wait for %s: the case ended %s (%s)", what, v.Status, v.StatusReason)
			case err != nil && (d.Hooks.Retry == nil || !d.Hooks.Retry(err)):
				w.err = fmt.Errorf("wait for %s: %w", what, err)
			case at.After(deadline):
				w.err = fmt.Errorf("wait for %s: still %s (recording %s) at the deadline (last error: %v)",
					what, w.view.Status, w.view.Recording.Status, err)
			default:
				if err := Sleep(ctx, poll); err == nil {
					continue
				} else {
					w.err = fmt.Errorf("wait for %s: %w", what, err)
				}
			}
			out <- w
			return
		}
	}()
	return out
}

func (r *run) await(ch <-chan watched) (kyc.CaseView, error) {
	w := <-ch
	if w.err != nil {
		if w.view.ID != "" {
			r.mu.Lock()
			r.view = w.view
			r.mu.Unlock()
		}
		return w.view, w.err
	}
	r.step(w.what, w.detail, &w.view, w.start)
	return w.view, nil
}

func recordingNote(v *kyc.CaseView) string {
	switch rec := v.Recording; rec.Status {
	case kyc.RecordingPending:
		return ""
	case kyc.RecordingVerified:
		return fmt.Sprintf(" recording=%s (%d bytes, %ds)", rec.Path, rec.Size, rec.Duration)
	default:
		return " recording=" + rec.Status
	}
}

// Retryable is the careful client's rule: a request is tried again when
// it got no answer, 429 or a 5xx (which the API answers for an outage
// behind it).
func Retryable(err error) bool {
	st := StatusOf(err)
	return st == 0 && !errors.Is(err, errStoredDiffers) || st == http.StatusTooManyRequests || st >= 500
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
