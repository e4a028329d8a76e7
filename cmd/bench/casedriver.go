package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// caseDriver runs whole cases through the API and the simulator: the bank's
// backend creates the case and asks for the customer's token, the agent asks
// for its own (which assigns the case), both join the call, the agent takes
// the required captures and approves, both leave, the recording arrives and
// is verified, and an auditor approves.
type caseDriver struct {
	c        *apiClient
	captures []*form
	poll     time.Duration // how often a wait re-reads the case
	timeout  time.Duration // longest wait for one state
	// hooks, when set, is asked when each webhook was answered, to time
	// webhook → visible effect (scenario 3).
	hooks *hookProxy
}

type caseResult struct {
	id       string
	start    time.Time
	duration time.Duration
	captures []time.Duration
	decision time.Duration
	audit    time.Duration
	// effects: webhook 200 → effect visible in GET /v1/cases/{id}, by kind.
	effects map[string]time.Duration
	// unmatched counts effects seen without the proxy having seen their
	// webhook answered (they are left out, and reported).
	unmatched int
	// steps: time spent in each step of the case, to show where it goes.
	steps map[string]time.Duration
	err   error
}

// stepTimer attributes the time since the last mark to a step.
type stepTimer struct {
	r    *caseResult
	last time.Time
}

func (t *stepTimer) mark(step string) {
	now := time.Now()
	t.r.steps[step] += now.Sub(t.last)
	t.last = now
}

// run drives one case; agent and auditor are the subjects acting on it.
func (d *caseDriver) run(ctx context.Context, agent, auditor string) caseResult {
	r := caseResult{start: time.Now(), effects: map[string]time.Duration{}, steps: map[string]time.Duration{}}
	r.err = d.steps(ctx, &r, agent, auditor)
	r.duration = time.Since(r.start)
	return r
}

func (d *caseDriver) steps(ctx context.Context, r *caseResult, agent, auditor string) error {
	c := d.c
	st := &stepTimer{r: r, last: r.start}
	agentTok := c.token(agent, kyc.RoleAgent)
	var view kyc.CaseView
	body := map[string]any{"customer": kyc.Customer{
		Reference: "BENCH-" + randomHex(8), Name: "Bench Customer", Email: "bench.customer@example.com", Phone: "+910000000000",
	}}
	if err := c.call(ctx, http.MethodPost, "/v1/cases", c.service(), body, &view, keyed()); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	r.id = view.ID
	st.mark("1 create")
	agentJoin, err := d.joinToken(ctx, view.ID, kyc.RoleAgent, agentTok)
	if err != nil {
		return err
	}
	st.mark("2 agent join token")
	customerJoin, err := d.joinToken(ctx, view.ID, kyc.RoleCustomer, c.service())
	if err != nil {
		return err
	}
	st.mark("3 customer join token")

	// The watch starts before the joins so that the moment each join
	// becomes visible is seen as it happens.
	var agentSeen, customerSeen time.Time
	inCall := d.watch(ctx, view.ID, func(v *kyc.CaseView, at time.Time) bool {
		if v.Participants.Agent.Joined && agentSeen.IsZero() {
			agentSeen = at
		}
		if v.Participants.Customer.Joined && customerSeen.IsZero() {
			customerSeen = at
		}
		return v.Status == kyc.StatusInCall
	})
	agentPeer, err := d.join(ctx, agentJoin, "Bench Agent")
	if err != nil {
		return err
	}
	customerPeer, err := d.join(ctx, customerJoin, "Bench Customer")
	if err != nil {
		return err
	}
	st.mark("4 both join (simulator)")
	if view, err = wait(inCall, "in_call"); err != nil {
		return err
	}
	st.mark("5 wait for in_call")
	room := view.CurrentAttempt().RoomName
	d.effect(ctx, r, "peer.join.success agent", room, hms.EventPeerJoin, "agent", agentSeen)
	d.effect(ctx, r, "peer.join.success customer", room, hms.EventPeerJoin, "customer", customerSeen)

	for _, f := range d.captures {
		t := time.Now()
		if err := c.upload(ctx, view.ID, agentTok, f); err != nil {
			return fmt.Errorf("capture %s: %w", f.sample.Kind, err)
		}
		r.captures = append(r.captures, time.Since(t))
	}
	st.mark("6 three captures")

	var recordingSeen time.Time
	ready := d.watch(ctx, view.ID, func(v *kyc.CaseView, at time.Time) bool {
		if recordingSeen.IsZero() && (v.Recording.Status == kyc.RecordingReported || v.Recording.Status == kyc.RecordingVerified) {
			recordingSeen = at
		}
		return v.Status == kyc.StatusAwaitingAudit && v.Recording.Status == kyc.RecordingVerified
	})
	t := time.Now()
	decision := map[string]string{"outcome": kyc.OutcomeApprove, "reason": "face matches the ID (bench)"}
	if err := c.call(ctx, http.MethodPost, "/v1/cases/"+view.ID+"/decision", agentTok, decision, &view, keyed()); err != nil {
		return fmt.Errorf("decision: %w", err)
	}
	r.decision = time.Since(t)
	st.mark("7 decision")
	for _, peer := range []string{agentPeer, customerPeer} {
		// The engine ends the room after the decision; a leave after that
		// is a no-op at 100ms and here.
		if err := c.simCall(ctx, "/sim/v1/leave", map[string]string{"peer_id": peer, "reason": "client request"}, nil); err != nil {
			return fmt.Errorf("leave: %w", err)
		}
	}
	st.mark("8 both leave (simulator)")
	if _, err := wait(ready, "recording verified"); err != nil {
		return err
	}
	st.mark("9 wait for recording verified")
	d.effect(ctx, r, "beam.recording.success", room, hms.EventBeamRecording, "", recordingSeen)

	t = time.Now()
	audit := map[string]string{"outcome": kyc.OutcomeApprove, "reason": "recording and captures reviewed (bench)"}
	if err := c.call(ctx, http.MethodPost, "/v1/cases/"+view.ID+"/audit", c.token(auditor, kyc.RoleAuditor), audit, &view, keyed()); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r.audit = time.Since(t)
	st.mark("10 audit")
	if view.Status != kyc.StatusApproved {
		return fmt.Errorf("audit: the case is %s, not approved", view.Status)
	}
	return nil
}

// joinToken asks for a 100ms token; 503 (room not ready) is retried.
func (d *caseDriver) joinToken(ctx context.Context, caseID string, role kyc.Role, token string) (string, error) {
	deadline := time.Now().Add(d.timeout)
	for {
		var jt struct {
			Token string `json:"token"`
		}
		err := d.c.call(ctx, http.MethodPost, "/v1/cases/"+caseID+"/join-tokens", token, map[string]string{"role": string(role)}, &jt, nil)
		if err == nil {
			return jt.Token, nil
		}
		if apiclient.StatusOf(err) != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return "", fmt.Errorf("%s join token: %w", role, err)
		}
		if err := sleepCtx(ctx, d.poll); err != nil {
			return "", err
		}
	}
}

func (d *caseDriver) join(ctx context.Context, token, name string) (string, error) {
	var res struct {
		PeerID string `json:"peer_id"`
	}
	if err := d.c.simCall(ctx, "/sim/v1/join", map[string]string{"token": token, "name": name}, &res); err != nil {
		return "", fmt.Errorf("join as %s: %w", name, err)
	}
	return res.PeerID, nil
}

type watched struct {
	view kyc.CaseView
	err  error
}

// watch polls the case every d.poll in its own goroutine until done says
// so, and calls done with each view and the time it was answered.
func (d *caseDriver) watch(ctx context.Context, id string, done func(*kyc.CaseView, time.Time) bool) <-chan watched {
	out := make(chan watched, 1)
	go func() {
		deadline := time.Now().Add(d.timeout)
		for {
			v, err := d.c.getCase(ctx, id)
			at := time.Now()
			switch {
			case err != nil:
				out <- watched{err: err}
				return
			case done(&v, at):
				out <- watched{view: v}
				return
			case v.Status.Terminal():
				out <- watched{view: v, err: fmt.Errorf("the case ended %s (%s)", v.Status, v.StatusReason)}
				return
			case at.After(deadline):
				out <- watched{view: v, err: fmt.Errorf("still %s (recording %s) after %s", v.Status, v.Recording.Status, d.timeout)}
				return
			}
			if err := sleepCtx(ctx, d.poll); err != nil {
				out <- watched{err: err}
				return
			}
		}
	}()
	return out
}

func wait(ch <-chan watched, what string) (kyc.CaseView, error) {
	w := <-ch
	if w.err != nil {
		return w.view, fmt.Errorf("wait for %s: %w", what, w.err)
	}
	return w.view, nil
}

// effect records how long after the webhook's 200 its effect was first
// seen. The dispatcher is woken before the API answers, so the effect can
// show before the proxy has the answer: that counts as zero.
func (d *caseDriver) effect(ctx context.Context, r *caseResult, name, room, typ, role string, seen time.Time) {
	if d.hooks == nil || seen.IsZero() {
		return
	}
	answered, ok := d.hooks.answeredAt(ctx, room, typ, role, 5*time.Second)
	if !ok {
		r.unmatched++
		return
	}
	r.effects[name] = max(seen.Sub(answered), 0)
}
