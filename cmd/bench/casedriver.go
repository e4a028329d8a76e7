package main

import (
	"context"
	"strings"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// caseDriver runs whole cases through the API and the simulator
// (apiclient.Driver): the bank's backend creates the case and asks for the
// customer's token, the agent asks for its own (which assigns the case),
// both join the call, the agent takes the required captures and approves,
// both leave, the recording arrives and is verified, and an auditor
// approves. It times each step.
type caseDriver struct {
	c        *apiClient
	captures []*apiclient.CaptureUpload
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

// stepNames are the report's names of the driver's steps; the two joins
// and the two leaves count as one step each, the captures as one.
var stepNames = map[string]string{
	apiclient.StepCreated: "1 create", apiclient.StepAgentToken: "2 agent join token",
	apiclient.StepCustomerToken: "3 customer join token",
	apiclient.StepAgentJoined:   "4 both join (simulator)", apiclient.StepCustomerJoin: "4 both join (simulator)",
	apiclient.StepInCall: "5 wait for in_call", apiclient.StepDecided: "7 decision",
	apiclient.StepAgentLeft: "8 both leave (simulator)", apiclient.StepCustomerLeft: "8 both leave (simulator)",
	apiclient.StepAwaitingAudit: "9 wait for recording verified", apiclient.StepAudited: "10 audit",
	apiclient.StepEnded: "10 audit",
}

// run drives one case; agent and auditor are the subjects acting on it.
func (d *caseDriver) run(ctx context.Context, agent, auditor string) caseResult {
	c := d.c
	r := caseResult{start: time.Now(), effects: map[string]time.Duration{}, steps: map[string]time.Duration{}}
	last := r.start
	// When each join and the recording first showed in a read of the case.
	var agentSeen, customerSeen, recordingSeen time.Time
	var room string
	dr := &apiclient.Driver{Client: c.Client, Uploads: d.captures, Poll: d.poll, Wait: d.timeout,
		Tokens: apiclient.Tokens{Service: c.service(), Agent: c.token(agent, kyc.RoleAgent), Auditor: c.token(auditor, kyc.RoleAuditor)},
		Script: apiclient.Script{
			Customer:       kyc.Customer{Reference: "BENCH-" + randomHex(8), Name: "Bench Customer", Email: "bench.customer@example.com", Phone: "+910000000000"},
			DecisionReason: "face matches the ID (bench)", AuditReason: "recording and captures reviewed (bench)",
			AgentName: "Bench Agent", CustomerName: "Bench Customer", DecideAtOnce: true,
		},
		Hooks: apiclient.Hooks{
			View: func(v *kyc.CaseView, at time.Time) {
				if v.Participants.Agent.Joined && agentSeen.IsZero() {
					agentSeen = at
				}
				if v.Participants.Customer.Joined && customerSeen.IsZero() {
					customerSeen = at
				}
				if recordingSeen.IsZero() && (v.Recording.Status == kyc.RecordingReported || v.Recording.Status == kyc.RecordingVerified) {
					recordingSeen = at
				}
			},
			Step: func(s apiclient.Step) {
				name := stepNames[s.Name]
				switch {
				case s.Name == apiclient.StepCreated:
					r.id = s.View.ID
				case strings.HasPrefix(s.Name, apiclient.StepCapture):
					name = "6 three captures"
					r.captures = append(r.captures, s.Took)
				case s.Name == apiclient.StepDecided:
					r.decision = s.Took
				case s.Name == apiclient.StepAudited:
					r.audit = s.Took
				}
				r.steps[name] += s.At.Sub(last)
				last = s.At
				switch s.Name {
				case apiclient.StepInCall:
					room = s.View.CurrentAttempt().RoomName
					d.effect(ctx, &r, "peer.join.success agent", room, hms.EventPeerJoin, "agent", agentSeen)
					d.effect(ctx, &r, "peer.join.success customer", room, hms.EventPeerJoin, "customer", customerSeen)
				case apiclient.StepAwaitingAudit:
					d.effect(ctx, &r, "beam.recording.success", room, hms.EventBeamRecording, "", recordingSeen)
				}
			},
		},
	}
	_, r.err = dr.Run(ctx)
	r.duration = time.Since(r.start)
	return r
}

// caseInCall creates a case and brings it to in_call with agent assigned.
func (d *caseDriver) caseInCall(ctx context.Context, agent string) (string, error) {
	c := d.c
	dr := &apiclient.Driver{Client: c.Client, Poll: d.poll, Wait: d.timeout,
		Tokens: apiclient.Tokens{Service: c.service(), Agent: c.token(agent, kyc.RoleAgent)},
		Script: apiclient.Script{Customer: kyc.Customer{Reference: "BENCH-UP-" + randomHex(6), Name: "Bench Uploader"},
			AgentName: "Bench Agent", CustomerName: "Bench Customer", StopInCall: true},
	}
	v, err := dr.Run(ctx)
	return v.ID, err
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
