// Package apiclient is the typed client of the engine's API and of the
// simulator's participant API, and the one script of a case (Driver).
package apiclient

// The demo drives one video-KYC case from creation to approval, the way a
// bank's backend, an agent, a customer and an auditor would. `starter demo`
// prints it step by step; the end-to-end test runs the same code.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

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
	client *Client
	out    io.Writer
	tokens Tokens
	start  time.Time
	last   time.Time
	step   int
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
	r := &Runner{o: o, client: NewClient(o.APIBase, o.SimBase, o.HTTPClient), out: o.Out}
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
	if t.Service != "" && t.Agent != "" && t.Auditor != "" {
		return t, nil
	}
	if len(o.Secret) == 0 {
		return Tokens{}, errors.New("a token is missing and there is no secret to mint it")
	}
	m, err := NewMinter(o.Secret, tokenTTL).Tokens(o.ServiceID, o.AgentID, o.AuditorID)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Service: orDefault(t.Service, m.Service), Agent: orDefault(t.Agent, m.Agent), Auditor: orDefault(t.Auditor, m.Auditor)}, nil
}

func (r *Runner) run(ctx context.Context) (kyc.CaseView, error) {
	r.start = time.Now()
	r.last = r.start
	fmt.Fprintf(r.out, "vKYC demo: API %s, 100ms simulator %s\n\n", r.o.APIBase, r.o.SimBase)
	audit := true
	d := &Driver{Client: r.client, Tokens: r.tokens, Poll: r.o.PollInterval, Wait: r.o.WaitTimeout,
		Script: Script{
			Customer: kyc.Customer{Reference: "DEMO-" + time.Now().UTC().Format("20060102-150405") + "-" + RandomHex(3),
				Name: "Demo Customer", Email: "demo.customer@example.com", Phone: "+910000000000"},
			RequiredCaptures: kyc.DefaultRequiredCaptures, AuditRejections: &audit,
			DecisionReason: "face matches the ID; documents genuine (demo)", AuditReason: "recording and captures reviewed (demo)",
			AgentName: "Demo Agent", CustomerName: "Demo Customer",
		},
		Hooks: Hooks{Step: func(s Step) { r.report(s.Name, s.Detail) }},
	}
	view, err := d.Run(ctx)
	if err != nil {
		return view, err
	}
	if err := r.checkEvents(ctx, view.ID); err != nil {
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

// checkEvents reads the case's event log and requires an intact hash chain.
// The log is written by the workflow just after each change, so it is read
// until it shows the approval.
func (r *Runner) checkEvents(ctx context.Context, caseID string) error {
	var log EventLog
	deadline := time.Now().Add(orDuration(r.o.WaitTimeout, 2*time.Minute))
	var err error
	for {
		if log, err = r.client.Events(ctx, r.tokens.Service, caseID); err != nil || log.LastStatus() == kyc.StatusApproved {
			break
		}
		if time.Now().After(deadline) {
			err = errEventsBehind
			break
		}
		if err = Sleep(ctx, orDuration(r.o.PollInterval, 200*time.Millisecond)); err != nil {
			break
		}
	}
	switch {
	case err != nil:
		return fmt.Errorf("event log: %w", err)
	case !log.ChainValid:
		return fmt.Errorf("event log: the hash chain does not verify (%s)", log.Reason)
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

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
