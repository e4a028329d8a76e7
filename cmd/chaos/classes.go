package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	tstack "github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// faultClass is one kind of failure the suite injects while a batch of
// cases runs.
type faultClass struct {
	id    int
	key   string // for -classes
	title string
	// continuous classes keep their faults on for the whole batch; the
	// others inject outages with a start and an end.
	continuous bool
	// inject runs beside the cases until they are all done.
	inject func(ctx context.Context, r *classRun) error
	// hooks builds the cases' hooks; optional.
	hooks func(r *classRun) hooks
	// spread multiplies the stagger between the cases' starts, for a
	// class whose faults need a longer batch.
	spread int
	// topology is the stack the class runs on: "" the driver's own dev
	// stack, topologyProd scripts/prod-local.sh.
	topology string
	// replicas: every other case goes through a second API replica, and
	// each webhook event must reach its case's workflow exactly once (one
	// hms-event signal), not merely be applied once.
	replicas bool
}

// topologyProd is the production topology of `make prod-local`.
const topologyProd = "prod"

// settings sizes a run.
type settings struct {
	casesPerClass  int
	stagger        time.Duration // between the starts of a batch's cases: they arrive over time, as in production
	caseDeadline   time.Duration // longest a case may take before it counts as stuck
	pgOutage       time.Duration
	minioOutage    time.Duration
	temporalOutage time.Duration
	bankPhase      time.Duration // each of the bank receiver's three failure phases
	seed           uint64
}

func classes() []*faultClass {
	return []*faultClass{
		// At most 8 kills: a batch slowed by the kills must not draw ever
		// more of them (a worker crash-looping for minutes is an outage, not
		// a crash), while every activity kind still dies in flight.
		{id: 1, key: "worker-kill", title: "worker SIGKILLed at random moments, restarted",
			inject: killRepeatedly(nameWorker, killPlan{max: 8, down: [2]time.Duration{300 * time.Millisecond, 2 * time.Second}, every: [2]time.Duration{time.Second, 4 * time.Second}})},
		// 100ms retries a webhook 1, 4 and 14 s after its first try. An API
		// that is back within 3 s and not killed again for 8 s gets every
		// event within that schedule; a crash-looping API would lose them
		// (the workflow's own lookups then take over, minutes later).
		{id: 2, key: "api-kill", title: "API SIGKILLed with webhooks and uploads in flight, restarted", spread: 2,
			inject: killRepeatedly(nameAPI, killPlan{afterUploads: true, down: [2]time.Duration{300 * time.Millisecond, 1200 * time.Millisecond}, every: [2]time.Duration{8 * time.Second, 12 * time.Second}}),
			hooks:  uploadHooks},
		{id: 3, key: "hms-faults", title: "100ms API: 30% of calls 500/503/429 (Retry-After), +200 ms", continuous: true, inject: hmsFaults},
		{id: 4, key: "webhook-faults", title: "webhooks: all twice, 20% reordered, 10% first delivery dropped", continuous: true, inject: webhookFaults},
		{id: 5, key: "postgres-stop", title: "PostgreSQL stopped mid-run, started again", inject: postgresOutage},
		{id: 6, key: "minio-stop", title: "MinIO stopped mid-upload, started again", inject: minioOutage, hooks: minioHooks},
		{id: 7, key: "temporal-restart", title: "Temporal dev server (database file) stopped and restarted", inject: temporalOutage},
		// An operator in the Web UI: "Request Cancellation" on a quarter of
		// the cases in their call, "Terminate" on another quarter (the
		// reconciler, every 2 s here, ends those); the rest run to their end.
		{id: 8, key: "operator", title: "operators cancel and terminate cases' workflows in Temporal mid-call",
			inject: operatorActions, hooks: operatorHooks},
		// Cases through HAProxy to two API replicas, on the real Temporal
		// server with two workers (cmd/chaos/prod.go).
		{id: 9, key: "prod-topology", title: "production topology (make prod-local): api-1 and worker-2 SIGKILLed, Temporal server restarted, all restarted by its supervisor",
			topology: topologyProd, spread: 2, inject: prodFailover, hooks: uploadHooks},
		{id: 10, key: "two-replicas", title: "two API replicas and two workers on one inbox and task queue, webhooks all twice",
			continuous: true, replicas: true, inject: twoReplicas},
		// The bank's webhook receiver (the driver's) fails in three ways in
		// a row while the batch runs; every class checks the webhooks.
		{id: 11, key: bankClassKey, title: "the bank's webhook receiver down, then answering 500, then timing out", inject: bankOutage},
	}
}

// devClassIDs are the classes that run on the driver's own stack.
func devClassIDs() []int {
	var out []int
	for _, c := range classes() {
		if c.topology == "" {
			out = append(out, c.id)
		}
	}
	return out
}

// operatorHooks cancel or terminate a quarter of the cases each, from
// Temporal as an operator would, once the call has started.
func operatorHooks(r *classRun) hooks {
	return hooks{beforeCaptures: func(ctx context.Context, c *caseRun) {
		r.mu.Lock()
		k := r.operatorActs["calls"]
		r.operatorActs["calls"]++
		r.mu.Unlock()
		// In call order: cancel, terminate, two left alone, and again; a
		// batch of two cases gets one of each.
		var act string
		switch k % 4 {
		case 0:
			act = "cancel"
		case 1:
			act = "terminate"
		default:
			return
		}
		tc, err := client.Dial(client.Options{HostPort: r.st.temporalAddr, Identity: "chaos-operator@bank", Logger: tstack.QuietTemporal()})
		if err != nil {
			r.note("operator could not reach Temporal for case %d: %v", c.n, err)
			return
		}
		defer tc.Close()
		id := kyc.WorkflowID(c.caseID())
		if act == "cancel" {
			err = tc.CancelWorkflow(ctx, id, "")
			c.stoppedBy(kyc.StatusCancelled)
		} else {
			err = tc.TerminateWorkflow(ctx, id, "", "chaos: operator terminates")
			c.stoppedBy(kyc.StatusTerminated)
		}
		if err != nil {
			r.note("operator %s of case %d failed: %v", act, c.n, err)
			return
		}
		r.mu.Lock()
		r.operatorActs[act]++
		r.mu.Unlock()
	}}
}

// operatorActions reports what the hooks did once the cases are done.
func operatorActions(ctx context.Context, r *classRun) error {
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.injected = append(r.injected, fmt.Sprintf("operators cancelled %d and terminated %d cases' workflows in their call",
		r.operatorActs["cancel"], r.operatorActs["terminate"]))
	return nil
}

// classRun is one class's batch of cases and what was injected.
type classRun struct {
	cls   *faultClass
	st    *stack
	set   settings
	rng   *rand.Rand
	cases []*caseRun
	done  chan struct{} // closed when every case has ended

	mu             sync.Mutex
	episodes       []episode
	injected       []string
	ready          chan struct{} // a continuous class's faults are on
	uploadsStarted chan struct{}
	callsStarted   int
	capturesGate   chan struct{} // the MinIO class holds uploads here
	outage         bool
	upload503      int // uploads answered 503 during an outage
	registered503  int // of those, registered anyway (must be 0)
	operatorActs   map[string]int
}

// episode is one outage: from the fault until the component was back.
type episode struct{ start, end time.Time }

func (r *classRun) note(format string, args ...any) {
	r.mu.Lock()
	r.injected = append(r.injected, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *classRun) addEpisode(start, end time.Time) {
	r.mu.Lock()
	r.episodes = append(r.episodes, episode{start, end})
	r.mu.Unlock()
}

func (r *classRun) signal(ch *chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-*ch:
	default:
		close(*ch)
	}
}

// pause waits d unless the cases finish first; it reports whether they did.
func (r *classRun) pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-r.done:
		return true
	case <-ctx.Done():
		return true
	case <-time.After(d):
		return false
	}
}

func (r *classRun) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)+1))
}

// uploadHooks tell the class when the first case's uploads start.
func uploadHooks(r *classRun) hooks {
	return hooks{beforeCaptures: func(context.Context, *caseRun) { r.signal(&r.uploadsStarted) }}
}

// uploadsRunning waits until the first case's uploads have started (and a
// moment more, so that they are in flight); ended reports that the cases
// finished first.
func (r *classRun) uploadsRunning(ctx context.Context) (ended bool, err error) {
	select {
	case <-r.uploadsStarted:
		time.Sleep(150 * time.Millisecond)
		return false, nil
	case <-r.done:
		return true, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// killPlan says when a program is killed: the first time once uploads
// started (or soon after the batch starts), then every[0]..every[1] after
// it is back, up to max times; it stays down down[0]..down[1] before its
// restart.
type killPlan struct {
	afterUploads bool
	down, every  [2]time.Duration
	max          int // kills per batch; 0: no limit
}

// killRepeatedly SIGKILLs a program at random moments while cases run and
// starts it again after a short while, as a supervisor would.
func killRepeatedly(name string, plan killPlan) func(ctx context.Context, r *classRun) error {
	return func(ctx context.Context, r *classRun) error {
		if plan.afterUploads {
			if ended, err := r.uploadsRunning(ctx); ended || err != nil {
				return err
			}
		} else if r.pause(ctx, r.between(500*time.Millisecond, 1500*time.Millisecond)) {
			return nil
		}
		kills := 0
		var longest time.Duration
		for {
			start := time.Now()
			r.st.part(name).Kill()
			time.Sleep(r.between(plan.down[0], plan.down[1]))
			if err := r.st.startPart(ctx, name); err != nil {
				return fmt.Errorf("restart %s: %w", name, err)
			}
			r.addEpisode(start, time.Now())
			longest = max(longest, time.Since(start))
			kills++
			if plan.max > 0 && kills >= plan.max {
				break
			}
			if r.pause(ctx, r.between(plan.every[0], plan.every[1])) {
				break
			}
		}
		r.note("%s SIGKILLed %s, each time back (restarted and answering) within %s",
			name, times(kills), longest.Round(100*time.Millisecond))
		return nil
	}
}

func hmsFaults(ctx context.Context, r *classRun) error {
	fault := func(status int) map[string]any {
		f := map[string]any{"error_rate": 0.3, "status": status, "latency": "200ms"}
		if status != http.StatusInternalServerError {
			f["retry_after"] = "1s"
		}
		return f
	}
	faults := map[string]any{
		"seed": r.set.seed,
		"endpoints": map[string]any{
			"POST /v2/rooms":                           fault(http.StatusInternalServerError),
			"POST /v2/rooms/{room_id}":                 fault(http.StatusTooManyRequests),
			"POST /v2/active-rooms/{room_id}/end-room": fault(http.StatusServiceUnavailable),
			"GET /v2/recordings":                       fault(http.StatusTooManyRequests),
			"*":                                        fault(http.StatusServiceUnavailable),
		},
	}
	return withSimFaults(ctx, r, faults, "100ms API faults on for the whole batch (seed %d)")
}

func webhookFaults(ctx context.Context, r *classRun) error {
	faults := map[string]any{"seed": r.set.seed, "webhook_duplicate": true, "webhook_reorder": 0.2, "webhook_drop_first": 0.1}
	return withSimFaults(ctx, r, faults, "webhook faults on for the whole batch (seed %d)")
}

// withSimFaults sets the simulator's faults before the cases start (the
// runner calls inject first and waits for the first signal) and clears them
// once the cases are done.
func withSimFaults(ctx context.Context, r *classRun, faults map[string]any, what string) error {
	if err := r.st.sim().SetFaults(ctx, faults); err != nil {
		return fmt.Errorf("set simulator faults: %w", err)
	}
	r.note(what, r.set.seed)
	r.signal(&r.ready)
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	return r.st.sim().SetFaults(context.WithoutCancel(ctx), map[string]any{})
}

// postgresOutage stops PostgreSQL once half the calls have started.
func postgresOutage(ctx context.Context, r *classRun) error {
	if !r.waitCalls(ctx, 60*time.Second) {
		return nil
	}
	start := time.Now()
	r.st.svc.Stop(namePostgres)
	time.Sleep(r.set.pgOutage)
	if err := r.st.svc.Start(ctx, namePostgres); err != nil {
		return err
	}
	r.addEpisode(start, time.Now())
	r.note("PostgreSQL stopped (fast shutdown) for %s, then started", r.set.pgOutage)
	return nil
}

// temporalOutage stops the Temporal dev server once half the calls have
// started and starts it again on the same database file.
func temporalOutage(ctx context.Context, r *classRun) error {
	if !r.waitCalls(ctx, 60*time.Second) {
		return nil
	}
	start := time.Now()
	r.st.svc.Stop(nameTemporal)
	stopped := time.Now()
	time.Sleep(r.set.temporalOutage)
	if err := r.st.svc.Start(ctx, nameTemporal); err != nil {
		return err
	}
	r.addEpisode(start, time.Now())
	r.note("Temporal stopped (SIGTERM, %s to stop) for %s, restarted on its database file in %s",
		stopped.Sub(start).Round(100*time.Millisecond), r.set.temporalOutage, time.Since(stopped.Add(r.set.temporalOutage)).Round(100*time.Millisecond))
	return nil
}

// waitCalls waits until half the cases that have a call are in it.
func (r *classRun) waitCalls(ctx context.Context, limit time.Duration) bool {
	want := 0
	for _, c := range r.cases {
		if c.script != scriptCancel {
			want++
		}
	}
	want = max(1, (want+1)/2)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := r.callsStarted
		r.mu.Unlock()
		if n >= want {
			return true
		}
		if r.pause(ctx, 100*time.Millisecond) {
			return false
		}
	}
	return true
}

// minioHooks hold every case's uploads until MinIO is down, and check each
// upload answered 503 during the outage: the case must not show it.
func minioHooks(r *classRun) hooks {
	return hooks{
		beforeCaptures: func(ctx context.Context, _ *caseRun) {
			select {
			case <-r.capturesGate:
			case <-ctx.Done():
			}
		},
		uploadAnswered: func(c *caseRun, kind kyc.CaptureKind, status int) {
			r.mu.Lock()
			outage := r.outage
			r.mu.Unlock()
			if status != http.StatusServiceUnavailable || !outage {
				return
			}
			v, err := c.view(context.Background())
			registered := false
			if err == nil {
				for _, cp := range v.Captures {
					registered = registered || cp.Kind == kind
				}
			}
			r.mu.Lock()
			r.upload503++
			if registered {
				r.registered503++
			}
			r.mu.Unlock()
		},
	}
}

// minioOutage waits until every case with a call holds its uploads, stops
// MinIO, lets the uploads go (they fail with 503 and are retried) and
// starts MinIO again after the outage.
func minioOutage(ctx context.Context, r *classRun) error {
	want := 0
	for _, c := range r.cases {
		if c.script != scriptCancel {
			want++
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		r.mu.Lock()
		n := r.callsStarted
		r.mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		if r.pause(ctx, 100*time.Millisecond) {
			break
		}
	}
	start := time.Now()
	r.st.svc.Stop(nameMinIO)
	r.mu.Lock()
	r.outage = true
	r.mu.Unlock()
	r.signal(&r.capturesGate)
	time.Sleep(r.set.minioOutage)
	if err := r.st.svc.Start(ctx, nameMinIO); err != nil {
		return err
	}
	r.mu.Lock()
	r.outage = false
	n503, bad := r.upload503, r.registered503
	r.mu.Unlock()
	r.addEpisode(start, time.Now())
	r.note("MinIO stopped for %s while uploads ran: %d upload tries answered 503, %d of them registered anyway", r.set.minioOutage, n503, bad)
	return nil
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// twoReplicas runs a second API (its own inbox dispatcher) and a second
// worker beside the first for the whole batch, with every webhook delivered
// twice and the webhook proxy (the load balancer) passing them to the two
// APIs in turn; half the cases are driven through the second API. Once the cases
// are done they are read through the first API again and the second pair is
// stopped (SIGTERM), so the classes after this one run as before.
func twoReplicas(ctx context.Context, r *classRun) error {
	for _, name := range []string{nameWorker2, nameAPI2} {
		if err := r.st.startPart(ctx, name); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	if err := r.st.hooks.setTargets(r.st.apiBase, r.st.api2Base); err != nil {
		return err
	}
	faults := map[string]any{"seed": r.set.seed, "webhook_duplicate": true}
	if err := r.st.sim().SetFaults(ctx, faults); err != nil {
		return fmt.Errorf("set simulator faults: %w", err)
	}
	r.note("a second API (its own inbox dispatcher) and a second worker ran beside the first; webhooks, each delivered twice, went to the two APIs in turn; every other case went through the second API")
	r.signal(&r.ready)
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	for _, c := range r.cases {
		c.client = r.st.client(r.st.apiBase)
	}
	if err := r.st.hooks.setTargets(r.st.apiBase); err != nil {
		return err
	}
	for _, name := range []string{nameAPI2, nameWorker2} {
		r.st.part(name).Stop(syscall.SIGTERM, 30*time.Second)
	}
	return r.st.sim().SetFaults(context.WithoutCancel(ctx), map[string]any{})
}
