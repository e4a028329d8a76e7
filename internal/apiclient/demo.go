// Package demo drives one video-KYC case from creation to approval through
// the engine's HTTP API and the 100ms simulator's participant API, the way a
// bank's backend, an agent, a customer and an auditor would. `starter demo`
// prints it step by step; the end-to-end test runs the same code.
package apiclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Tokens are API bearer tokens. Any left empty is minted from Options.Secret.
type Tokens struct {
	Service string // creates the case and the customer's join token
	Agent   string // joins, captures and decides
	Auditor string // audits; must belong to someone other than the agent
}

// Options say where the stack is and who acts.
type Options struct {
	APIBase string // e.g. http://127.0.0.1:8080
	SimBase string // the simulator, e.g. http://127.0.0.1:8090

	// Secret is the API's JWT secret (API_JWT_SECRET); it mints the tokens
	// not given in Tokens, for the subjects ServiceID, AgentID and AuditorID.
	Secret                        []byte
	Tokens                        Tokens
	ServiceID, AgentID, AuditorID string // defaults demo-backend, demo-agent, demo-auditor

	// TemporalUI and Namespace make the closing link to the case's workflow
	// in the Temporal Web UI; no link without TemporalUI.
	TemporalUI, Namespace string

	Out          io.Writer     // step-by-step report; nil discards it
	HTTPClient   *http.Client  // default: 30 s timeout
	WaitTimeout  time.Duration // longest wait for any one state (default 2 min)
	PollInterval time.Duration // how often a wait re-reads the case (default 200 ms)
}

// Runner is one run of the demo.
type Runner struct {
	o      Options
	http   *http.Client
	out    io.Writer
	tokens Tokens
	start  time.Time
	last   time.Time
	step   int
	caseID string
}

// Run drives one case to approved and returns its final view. The error
// names the step that failed; the report in Options.Out shows how far it got,
// and the returned view is the last one seen (its ID is set once the case
// exists).
func Run(ctx context.Context, o Options) (kyc.CaseView, error) {
	r, err := newRunner(o)
	if err != nil {
		return kyc.CaseView{}, err
	}
	return r.run(ctx)
}

func newRunner(o Options) (*Runner, error) {
	if o.APIBase == "" || o.SimBase == "" {
		return nil, errors.New("the API and simulator base URLs are required")
	}
	for _, base := range []string{o.APIBase, o.SimBase} {
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http(s) base URL", base)
		}
	}
	o.ServiceID = orDefault(o.ServiceID, "demo-backend")
	o.AgentID = orDefault(o.AgentID, "demo-agent")
	o.AuditorID = orDefault(o.AuditorID, "demo-auditor")
	o.Namespace = orDefault(o.Namespace, "default")
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 2 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	r := &Runner{o: o, http: o.HTTPClient, out: o.Out}
	if r.http == nil {
		r.http = &http.Client{Timeout: 30 * time.Second}
	}
	if r.out == nil {
		r.out = io.Discard
	}
	var err error
	if r.tokens, err = mintMissing(o); err != nil {
		return nil, err
	}
	return r, nil
}

// tokenTTL covers one demo with room to spare and no more.
const tokenTTL = time.Hour

func mintMissing(o Options) (Tokens, error) {
	t := o.Tokens
	now := time.Now()
	for _, m := range []struct {
		dst  *string
		sub  string
		role kyc.Role
	}{
		{&t.Service, o.ServiceID, kyc.RoleService},
		{&t.Agent, o.AgentID, kyc.RoleAgent},
		{&t.Auditor, o.AuditorID, kyc.RoleAuditor},
	} {
		if *m.dst != "" {
			continue
		}
		if len(o.Secret) == 0 {
			return Tokens{}, fmt.Errorf("no %s token and no secret to mint one", m.role)
		}
		tok, err := auth.Mint(o.Secret, m.sub, m.role, tokenTTL, now)
		if err != nil {
			return Tokens{}, fmt.Errorf("mint %s token: %w", m.role, err)
		}
		*m.dst = tok
	}
	return t, nil
}

func (r *Runner) run(ctx context.Context) (kyc.CaseView, error) {
	samples, err := Samples()
	if err != nil {
		return kyc.CaseView{}, err
	}
	r.start = time.Now()
	r.last = r.start
	fmt.Fprintf(r.out, "vKYC demo: API %s, 100ms simulator %s\n\n", r.o.APIBase, r.o.SimBase)

	view, err := r.createCase(ctx)
	if err != nil {
		return view, err
	}
	agentJoin, err := r.joinToken(ctx, kyc.RoleAgent, r.tokens.Agent)
	if err != nil {
		return view, err
	}
	customerJoin, err := r.joinToken(ctx, kyc.RoleCustomer, r.tokens.Service)
	if err != nil {
		return view, err
	}
	agentPeer, err := r.joinCall(ctx, "agent", "Demo Agent", agentJoin.Token)
	if err != nil {
		return view, err
	}
	customerPeer, err := r.joinCall(ctx, "customer", "Demo Customer", customerJoin.Token)
	if err != nil {
		return view, err
	}
	view, err = r.waitFor(ctx, "call started (both joined)", func(v *kyc.CaseView) bool {
		return v.Status == kyc.StatusInCall && v.Participants.Agent.Joined && v.Participants.Customer.Joined
	})
	if err != nil {
		return view, err
	}
	for _, s := range samples {
		if err := r.capture(ctx, s); err != nil {
			return view, err
		}
	}
	// A real call lasts minutes; this one would end before the recording
	// starts (about 2 s after the first join at 100ms), and an attempt
	// without a recording is void. So the agent decides once it runs.
	view, err = r.waitFor(ctx, "recording started", func(v *kyc.CaseView) bool {
		return v.Recording.Status != kyc.RecordingPending
	})
	if err != nil {
		return view, err
	}
	if view.Recording.Status == kyc.RecordingFailed {
		return view, errors.New("the recording failed to start")
	}
	if view, err = r.decide(ctx); err != nil {
		return view, err
	}
	for _, p := range []struct{ who, peer string }{{"agent", agentPeer}, {"customer", customerPeer}} {
		if err := r.leaveCall(ctx, p.who, p.peer); err != nil {
			return view, err
		}
	}
	view, err = r.waitFor(ctx, "recording verified", func(v *kyc.CaseView) bool {
		return v.Status == kyc.StatusAwaitingAudit && v.Recording.Status == kyc.RecordingVerified
	})
	if err != nil {
		return view, err
	}
	if err := r.audit(ctx); err != nil {
		return view, err
	}
	view, err = r.waitFor(ctx, "case approved", func(v *kyc.CaseView) bool { return v.Status == kyc.StatusApproved })
	if err != nil {
		return view, err
	}
	if err := r.checkEvents(ctx); err != nil {
		return view, err
	}
	return view, r.finish(view)
}

func (r *Runner) report(what, detail string) {
	now := time.Now()
	r.step++
	fmt.Fprintf(r.out, "%3d. %-28s %8s   total %8s   %s\n", r.step, what,
		seconds(now.Sub(r.last)), seconds(now.Sub(r.start)), detail)
	r.last = now
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func (r *Runner) api(method, path, token string, body any) Request {
	return Request{Method: method, URL: strings.TrimRight(r.o.APIBase, "/") + path, Token: token, JSON: body,
		Header: map[string]string{}}
}

func (r *Runner) sim(path string, body any) Request {
	return Request{Method: http.MethodPost, URL: strings.TrimRight(r.o.SimBase, "/") + path, JSON: body}
}

func (r *Runner) call(ctx context.Context, q Request, out any) error {
	_, err := Do(ctx, r.http, q, out)
	return err
}

// withKey makes a mutating request safe to retry: the API derives the
// workflow update id from the Idempotency-Key.
func withKey(q Request) Request {
	q.Header["Idempotency-Key"] = randomID()
	return q
}

func (r *Runner) casePath(suffix string) string {
	return "/v1/cases/" + url.PathEscape(r.caseID) + suffix
}

func (r *Runner) createCase(ctx context.Context) (kyc.CaseView, error) {
	ref := "DEMO-" + time.Now().UTC().Format("20060102-150405") + "-" + randomID()[:6]
	body := map[string]any{
		"customer": kyc.Customer{
			Reference: ref, Name: "Demo Customer", Email: "demo.customer@example.com", Phone: "+910000000000",
		},
		"required_captures": kyc.DefaultRequiredCaptures,
		"audit_rejections":  true,
	}
	var view kyc.CaseView
	if err := r.call(ctx, withKey(r.api(http.MethodPost, "/v1/cases", r.tokens.Service, body)), &view); err != nil {
		return view, fmt.Errorf("create case: %w", err)
	}
	if view.ID == "" {
		return view, errors.New("create case: the answer has no case id")
	}
	r.caseID = view.ID
	r.report("case created", fmt.Sprintf("id=%s ref=%s status=%s", view.ID, ref, view.Status))
	return view, nil
}

type joinToken struct {
	RoomID    string    `json:"room_id"`
	Role      string    `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// joinToken asks for a 100ms token. The workflow creates the room just after
// the case starts; the API waits for it a while and then answers 503 (room
// not ready), which is retried until WaitTimeout.
func (r *Runner) joinToken(ctx context.Context, role kyc.Role, token string) (joinToken, error) {
	var jt joinToken
	q := r.api(http.MethodPost, r.casePath("/join-tokens"), token, map[string]string{"role": string(role)})
	err := r.retrying(ctx, func() error { return r.call(ctx, q, &jt) },
		func(err error) bool { return StatusOf(err) == http.StatusServiceUnavailable })
	if err != nil {
		return jt, fmt.Errorf("%s join token: %w", role, err)
	}
	if jt.Token == "" || jt.RoomID == "" {
		return jt, fmt.Errorf("%s join token: the answer has no token or room id", role)
	}
	r.report(string(role)+" join token", fmt.Sprintf("room=%s expires=%s", jt.RoomID, jt.ExpiresAt.UTC().Format(time.RFC3339)))
	return jt, nil
}

func (r *Runner) retrying(ctx context.Context, try func() error, retryable func(error) bool) error {
	deadline := time.Now().Add(r.o.WaitTimeout)
	for {
		err := try()
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		if err := sleep(ctx, r.o.PollInterval); err != nil {
			return err
		}
	}
}

func (r *Runner) joinCall(ctx context.Context, who, name, token string) (string, error) {
	var res struct {
		PeerID    string `json:"peer_id"`
		SessionID string `json:"session_id"`
	}
	q := r.sim("/sim/v1/join", map[string]string{"token": token, "name": name})
	if err := r.call(ctx, q, &res); err != nil {
		return "", fmt.Errorf("%s joins the call: %w", who, err)
	}
	r.report(who+" joined (simulator)", fmt.Sprintf("peer=%s session=%s", res.PeerID, res.SessionID))
	return res.PeerID, nil
}

func (r *Runner) leaveCall(ctx context.Context, who, peerID string) error {
	q := r.sim("/sim/v1/leave", map[string]string{"peer_id": peerID, "reason": "client request"})
	if err := r.call(ctx, q, nil); err != nil {
		return fmt.Errorf("%s leaves the call: %w", who, err)
	}
	r.report(who+" left (simulator)", "peer="+peerID)
	return nil
}

func (r *Runner) capture(ctx context.Context, s Sample) error {
	body, contentType, err := multipartCapture(s)
	if err != nil {
		return fmt.Errorf("capture %s: %w", s.Kind, err)
	}
	q := withKey(r.api(http.MethodPost, r.casePath("/captures"), r.tokens.Agent, nil))
	q.Body, q.ContentType = body, contentType
	q.Header["X-Content-SHA256"] = s.SHA256()
	var c kyc.Capture
	if err := r.call(ctx, q, &c); err != nil {
		return fmt.Errorf("capture %s: %w", s.Kind, err)
	}
	if c.Kind != s.Kind || c.SHA256 != s.SHA256() || c.Size != int64(len(s.Data)) {
		return fmt.Errorf("capture %s: stored %s of %d bytes with sha256 %s, sent %d bytes with sha256 %s",
			s.Kind, c.Kind, c.Size, c.SHA256, len(s.Data), s.SHA256())
	}
	r.report("capture "+string(s.Kind), fmt.Sprintf("id=%s %s %d bytes sha256=%s…", c.ID, c.ContentType, c.Size, c.SHA256[:12]))
	return nil
}

func (r *Runner) decide(ctx context.Context) (kyc.CaseView, error) {
	var view kyc.CaseView
	body := map[string]string{"outcome": kyc.OutcomeApprove, "reason": "face matches the ID; documents genuine (demo)"}
	if err := r.call(ctx, withKey(r.api(http.MethodPost, r.casePath("/decision"), r.tokens.Agent, body)), &view); err != nil {
		return view, fmt.Errorf("agent decision: %w", err)
	}
	r.report("agent approved", "status="+string(view.Status))
	return view, nil
}

func (r *Runner) audit(ctx context.Context) error {
	var view kyc.CaseView
	body := map[string]string{"outcome": kyc.OutcomeApprove, "reason": "recording and captures reviewed (demo)"}
	if err := r.call(ctx, withKey(r.api(http.MethodPost, r.casePath("/audit"), r.tokens.Auditor, body)), &view); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r.report("auditor approved", "status="+string(view.Status))
	return nil
}

// waitFor polls the case until ok holds. A case that ends in another
// terminal status fails at once: it can no longer get there.
func (r *Runner) waitFor(ctx context.Context, what string, ok func(*kyc.CaseView) bool) (kyc.CaseView, error) {
	deadline := time.Now().Add(r.o.WaitTimeout)
	var view kyc.CaseView
	seen := []string{}
	for {
		view = kyc.CaseView{}
		if err := r.call(ctx, r.api(http.MethodGet, r.casePath(""), r.tokens.Service, nil), &view); err != nil {
			return view, fmt.Errorf("wait for %s: %w", what, err)
		}
		if s := string(view.Status); len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		if ok(&view) {
			r.report(what, "status="+strings.Join(seen, " → ")+recordingNote(&view))
			return view, nil
		}
		if view.Status.Terminal() {
			return view, fmt.Errorf("wait for %s: the case ended %s (%s)", what, view.Status, view.StatusReason)
		}
		if time.Now().After(deadline) {
			return view, fmt.Errorf("wait for %s: still %s (recording %s) after %s",
				what, view.Status, view.Recording.Status, r.o.WaitTimeout)
		}
		if err := sleep(ctx, r.o.PollInterval); err != nil {
			return view, fmt.Errorf("wait for %s: %w", what, err)
		}
	}
}

func recordingNote(v *kyc.CaseView) string {
	switch r := v.Recording; r.Status {
	case kyc.RecordingPending:
		return ""
	case kyc.RecordingVerified:
		return fmt.Sprintf(" recording=%s (%d bytes, %ds)", r.Path, r.Size, r.Duration)
	default:
		return " recording=" + r.Status
	}
}

// checkEvents reads the case's event log and requires an intact hash chain.
// The log is written by the workflow just after each change, so it is read
// until it shows the approval.
func (r *Runner) checkEvents(ctx context.Context) error {
	var log struct {
		Events     []json.RawMessage `json:"events"`
		ChainValid *bool             `json:"chain_valid"`
	}
	approved := func() bool {
		return slices.ContainsFunc(log.Events, func(e json.RawMessage) bool {
			return strings.Contains(string(e), `"`+string(kyc.StatusApproved)+`"`)
		})
	}
	q := r.api(http.MethodGet, r.casePath("/events"), r.tokens.Service, nil)
	err := r.retrying(ctx, func() error {
		log.Events, log.ChainValid = nil, nil
		if err := r.call(ctx, q, &log); err != nil {
			return err
		}
		if !approved() {
			return errEventsBehind
		}
		return nil
	}, func(err error) bool { return errors.Is(err, errEventsBehind) })
	switch {
	case err != nil:
		return fmt.Errorf("event log: %w", err)
	case log.ChainValid == nil:
		return errors.New("event log: the answer has no chain_valid")
	case !*log.ChainValid:
		return errors.New("event log: the hash chain does not verify")
	}
	r.report("event log verified", fmt.Sprintf("%d events, chain_valid=true", len(log.Events)))
	return nil
}

var errEventsBehind = errors.New("the event log does not show the approval yet")

func (r *Runner) finish(view kyc.CaseView) error {
	b, err := json.MarshalIndent(view, "", "  ")
	if err != nil {
		return fmt.Errorf("print case: %w", err)
	}
	fmt.Fprintf(r.out, "\nCase %s is %s after %s:\n%s\n", view.ID, view.Status, seconds(time.Since(r.start)), b)
	if r.o.TemporalUI != "" {
		fmt.Fprintf(r.out, "\nWorkflow in the Temporal Web UI: %s\n", WorkflowURL(r.o.TemporalUI, r.o.Namespace, view.ID))
	}
	return nil
}

// WorkflowURL is the Temporal Web UI page of a case's workflow.
func WorkflowURL(ui, namespace, caseID string) string {
	return strings.TrimRight(ui, "/") + "/namespaces/" + url.PathEscape(namespace) +
		"/workflows/" + url.PathEscape(kyc.WorkflowID(caseID))
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

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
