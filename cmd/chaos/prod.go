package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	tstack "github.com/vkyc-engine/vkyc/internal/testkit/stack"
	"github.com/vkyc-engine/vkyc/workflows"
)

// The production topology: class 9 runs on scripts/prod-local.sh itself
// (`make prod-local`), started on ports of its own in the work folder: the
// real Temporal server on PostgreSQL, two workers and two API replicas
// behind HAProxy, the simulator delivering webhooks through the proxy. The
// script's supervisors restart what the class kills, as compose's restart
// policy would; the driver only kills and watches the parts come back.

// Parts of prod-local the class kills, as the script names them.
const (
	partAPI1     = "api-1"
	partWorker2  = "worker-2"
	partTemporal = "temporal"
)

// prodLocal is one run of scripts/prod-local.sh.
type prodLocal struct {
	dir   string // its PROD_DIR
	cmd   *exec.Cmd
	done  chan struct{}
	ready map[string]string // run/ready: the addresses
	log   *slog.Logger

	mu     sync.Mutex
	faults []prodFault
}

// prodFault is one part taken down: the process, and when it was back.
type prodFault struct {
	part      string
	pid       int
	down, end time.Time
}

// newProdStack starts scripts/prod-local.sh in dir and returns the stack
// the cases and the checks use: the proxy as the API, the script's
// simulator, MinIO, Temporal and the engine's database.
func newProdStack(ctx context.Context, root, dir string, log *slog.Logger) (*stack, error) {
	pl := &prodLocal{dir: dir, log: log, done: make(chan struct{})}
	if os.Geteuid() == 0 {
		// PostgreSQL runs as the postgres user, which must get through to
		// its data folder in dir (as in setupPostgres).
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil { // #nosec G302 -- a folder of throwaway test data
			return nil, err
		}
	}
	names := []string{"PROD_HTTP_PORT", "PROD_API_1_PORT", "PROD_API_2_PORT", "PROD_SIM_PORT", "PROD_TEMPORAL_UI_PORT",
		"PROD_MINIO_PORT", "PROD_MINIO_CONSOLE_PORT", "PROD_PG_PORT", "FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT",
		"FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT", "HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT",
		"MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"}
	ports, err := tstack.LowPorts(len(names))
	if err != nil {
		return nil, err
	}
	// The bank's webhook receiver, as on the dev stack: the outbox's
	// deliveries are checked across both API replicas too.
	b, err := newBank()
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			b.close()
		}
	}()
	env := []string{"PROD_DIR=" + dir, "API_JWT_SECRET=" + authSecret,
		// Short media delays, as on the dev stack.
		"HMSSIM_RECORDING_START_DELAY=300ms", "HMSSIM_RECORDING_READY_DELAY=1s"}
	for k, v := range bankEnv(b.url()) {
		env = append(env, k+"="+v)
	}
	for i, n := range names {
		env = append(env, n+"="+strconv.Itoa(ports[i]))
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		// The caller's configuration stays out, as in programEnv.
		if !strings.HasPrefix(name, "TEMPORAL_") && !strings.HasPrefix(name, "HMS") && !strings.HasPrefix(name, "S3_") &&
			!strings.HasPrefix(name, "CASE_") && !strings.HasPrefix(name, "CAPTURE_") && !strings.HasPrefix(name, "PROD_") &&
			!strings.HasPrefix(name, "BANK_") && name != "DATABASE_URL" && name != "API_JWT_SECRET" && name != "LOG_LEVEL" && name != "VKYC_ENV" {
			env = append(env, kv)
		}
	}
	// The MinIO credentials the checks use
	// and the payload codec key the history checks open signals with; the
	// rest generated as the script does.
	codecKeys := "k1:" + base64.StdEncoding.EncodeToString(randomBytes(32))
	keys, err := codec.ParseKeys(codecKeys)
	if err != nil {
		return nil, err
	}
	secrets := fmt.Sprintf("POSTGRES_PASSWORD=%s\nVKYC_DB_PASSWORD=%s\nTEMPORAL_DB_PASSWORD=%s\nMINIO_ROOT_USER=%s\nMINIO_ROOT_PASSWORD=%s\n"+
		"HMS_ACCESS_KEY=%s\nHMS_APP_SECRET=%s\nHMS_WEBHOOK_SECRET=%s\nPAYLOAD_CODEC_KEYS=%s\n",
		randomHex(16), randomHex(16), randomHex(16), s3AccessKey, s3SecretKey, hmsAccessKey, hmsAppSecret, webhookSecret, codecKeys)
	if err := os.WriteFile(filepath.Join(dir, "secrets.env"), []byte(secrets), 0o600); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "prod-local.log")) // #nosec G304 -- the driver's work folder
	if err != nil {
		return nil, err
	}
	pl.cmd = exec.Command(filepath.Join(root, "scripts", "prod-local.sh")) // #nosec G204 -- the repository's own script
	pl.cmd.Dir, pl.cmd.Env, pl.cmd.Stdout, pl.cmd.Stderr = root, env, out, out
	// Its own process group, so that a last resort can end every part; if
	// the driver dies, the script gets SIGTERM and stops them in order.
	pl.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	start := time.Now()
	if err := pl.cmd.Start(); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("start scripts/prod-local.sh: %w", err)
	}
	go func() {
		_ = pl.cmd.Wait()
		_ = out.Close()
		close(pl.done)
	}()
	s := &stack{root: root, dir: dir, log: log, external: pl, codec: keys, bank: b}
	// The first run on a machine builds the Temporal server (minutes).
	if err := pl.waitReady(ctx, 25*time.Minute); err != nil {
		pl.stop()
		return nil, err
	}
	log.Info("ready", "part", "scripts/prod-local.sh", "took", time.Since(start).Round(time.Second).String())
	pgPort, _ := strconv.Atoi(pl.ready["PG_PORT"])
	s.apiBase, s.simBase = pl.ready["API_URL"], pl.ready["SIM_URL"]
	s.s3Endpoint, s.temporalAddr = pl.ready["S3_ENDPOINT"], pl.ready["TEMPORAL_ADDRESS"]
	s.dsn = fmt.Sprintf("postgres://vkyc:%s@127.0.0.1:%d/vkyc?sslmode=disable", secretOf(secrets, "VKYC_DB_PASSWORD"), pgPort)
	if s.db, err = sql.Open("pgx", s.dsn); err != nil {
		pl.stop()
		return nil, err
	}
	started = true
	return s, nil
}

func secretOf(env, name string) string {
	for _, line := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return v
		}
	}
	return ""
}

// waitReady waits for the script's run/ready file, which it writes once
// every part answers.
func (p *prodLocal) waitReady(ctx context.Context, limit time.Duration) error {
	path := filepath.Join(p.dir, "run", "ready")
	deadline := time.After(limit)
	for {
		if b, err := os.ReadFile(path); err == nil { // #nosec G304 -- the script's state file in our work folder
			p.ready = map[string]string{}
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok {
					p.ready[k] = v
				}
			}
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("scripts/prod-local.sh exited during start-up:\n%s", p.tail(30))
		case <-deadline:
			return fmt.Errorf("scripts/prod-local.sh not ready after %s:\n%s", limit, p.tail(30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// waitUp waits until both API replicas and the Temporal server serve.
func (p *prodLocal) waitUp(ctx context.Context, s *stack) error {
	return tstack.WaitFor(ctx, 3*time.Minute, "the production topology", nil, func() error {
		for _, n := range []string{"1", "2"} {
			if err := tstack.HTTPOK(ctx, p.ready["API_"+n+"_URL"]+"/healthz"); err != nil {
				return err
			}
		}
		return tstack.TemporalServes(ctx, s.temporalAddr)
	})
}

// tail returns the last n lines of the script's output.
func (p *prodLocal) tail(n int) string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "prod-local.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// stop ends the script as Ctrl-C would (it stops the parts in order) and
// ends the process group if it has not finished in two minutes.
func (p *prodLocal) stop() {
	if p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *prodLocal) pid(part string) (int, error) {
	b, err := os.ReadFile(filepath.Join(p.dir, "run", part+".pid")) // #nosec G304 -- the script's pid file in our work folder
	if err != nil {
		return 0, fmt.Errorf("pid of %s: %w", part, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// takeDown sends sig to a part and waits until the script's supervisor has
// started it again and it serves; it returns how long the part was away.
func (p *prodLocal) takeDown(ctx context.Context, st *stack, part string, sig syscall.Signal) (time.Duration, error) {
	old, err := p.pid(part)
	if err != nil {
		return 0, err
	}
	starts := p.count(part, `"worker starting"`)
	down := time.Now()
	if err := syscall.Kill(old, sig); err != nil {
		return 0, fmt.Errorf("signal %s (pid %d): %w", part, old, err)
	}
	err = tstack.WaitFor(ctx, 3*time.Minute, part+" back", nil, func() error {
		pid, err := p.pid(part)
		if err != nil || pid == old {
			return fmt.Errorf("not restarted yet")
		}
		switch {
		case strings.HasPrefix(part, "api-"):
			return tstack.HTTPOK(ctx, p.ready["API_"+strings.TrimPrefix(part, "api-")+"_URL"]+"/healthz")
		case strings.HasPrefix(part, "worker-"):
			if p.count(part, `"worker starting"`) <= starts {
				return fmt.Errorf("not started yet")
			}
			return nil
		default:
			return tstack.TemporalServes(ctx, st.temporalAddr)
		}
	})
	end := time.Now()
	p.mu.Lock()
	p.faults = append(p.faults, prodFault{part: part, pid: old, down: down, end: end})
	p.mu.Unlock()
	return end.Sub(down), err
}

// count is how often a part's log has s.
func (p *prodLocal) count(part, s string) int {
	b, _ := os.ReadFile(filepath.Join(p.dir, "logs", part+".log")) // #nosec G304 -- the script's log in our work folder
	return strings.Count(string(b), s)
}

// prodFailover kills one API replica once uploads run, then one worker,
// then restarts the Temporal server, each after the last is back.
func prodFailover(ctx context.Context, r *classRun) error {
	pl := r.st.external
	if ended, err := r.uploadsRunning(ctx); ended || err != nil {
		return err
	}
	steps := []struct {
		part string
		sig  syscall.Signal
		what string
	}{
		{partAPI1, syscall.SIGKILL, "api-1 SIGKILLed with uploads and webhooks in flight"},
		{partWorker2, syscall.SIGKILL, "worker-2 SIGKILLed"},
		{partTemporal, syscall.SIGTERM, "Temporal server stopped (SIGTERM)"},
	}
	for i, step := range steps {
		if i > 0 && r.pause(ctx, r.between(2*time.Second, 4*time.Second)) {
			// A class that did not inject all it claims must not pass.
			return fmt.Errorf("the cases ended before %s was taken down: run class 9 with more cases (-cases, CHAOS_CASES; 24 by default)", step.part)
		}
		start := time.Now()
		away, err := pl.takeDown(ctx, r.st, step.part, step.sig)
		if err != nil {
			return err
		}
		r.addEpisode(start, time.Now())
		r.note("%s, restarted by prod-local's supervisor and serving again after %s", step.what, away.Round(100*time.Millisecond))
	}
	return nil
}

// signalSend is one hms-event signal in a case's history.
type signalSend struct {
	at  time.Time
	pid int // of the sender, from its client identity <pid>@<host>@
}

// checkSignals proves the webhook inbox was drained once across both API
// replicas: each event must reach its workflow as one hms-event signal. An
// event signalled twice is excused only when a fault lies between the two
// signals (its first sender was killed, or the Temporal server was
// restarting, so the first signal's outcome was unknown): delivery is at
// least once by design. Two signals from healthy replicas mean both
// dispatched the same inbox row.
func (v *verifier) checkSignals(ctx context.Context) (string, error) {
	pl := v.r.st.external
	pl.mu.Lock()
	faults := append([]prodFault(nil), pl.faults...)
	pl.mu.Unlock()
	if v.tc == nil {
		tc, err := client.Dial(client.Options{HostPort: v.r.st.temporalAddr, Logger: tstack.QuietTemporal()})
		if err != nil {
			return "", fmt.Errorf("connect to Temporal: %w", err)
		}
		v.tc = tc
	}
	events, once, excused, twice := 0, 0, 0, 0
	senders := map[int]bool{}
	for _, c := range v.r.cases {
		id := c.caseID()
		if id == "" {
			continue
		}
		sends, err := v.hmsSignals(ctx, kyc.WorkflowID(id))
		if err != nil {
			return "", err
		}
		for ev, ss := range sends {
			events++
			for _, s := range ss {
				senders[s.pid] = true
			}
			if len(ss) == 1 {
				once++
				continue
			}
			if faultBetween(faults, ss[0], ss[len(ss)-1]) {
				excused++
				continue
			}
			twice++
			v.duplicate("webhook %s of case %s was signalled %d times by healthy API replicas (pids %s): two dispatchers delivered the same inbox row",
				ev, id, len(ss), pidList(ss))
		}
	}
	// How many API processes sent signals is reported, not checked: a
	// design where one replica dispatches at a time drains once too.
	return fmt.Sprintf("webhook signals: %d events, %d signalled exactly once, %d again across a fault (at least once by design), %d twice by healthy replicas; %d API processes sent them",
		events, once, excused, twice, len(senders)), nil
}

func pidList(ss []signalSend) string {
	var out []string
	for _, s := range ss {
		out = append(out, strconv.Itoa(s.pid))
	}
	return strings.Join(out, ", ")
}

// faultBetween: the first sender was killed, or the Temporal server was
// down, at some moment between the first and the last signal.
func faultBetween(faults []prodFault, first, last signalSend) bool {
	for _, f := range faults {
		overlaps := !f.end.Before(first.at) && !f.down.After(last.at)
		if overlaps && (f.part == partTemporal || f.pid == first.pid) {
			return true
		}
	}
	return false
}

// hmsSignals reads a workflow's hms-event signals by event id, following
// continue-as-new back to the first run.
func (v *verifier) hmsSignals(ctx context.Context, workflowID string) (map[string][]signalSend, error) {
	out := map[string][]signalSend{}
	dc := codec.DataConverter(v.r.st.codec)
	runID := ""
	for {
		it := v.tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		prev := ""
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("history of %s: %w", workflowID, err)
			}
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				prev = a.GetContinuedExecutionRunId()
			}
			if err := addSignal(out, dc, e); err != nil {
				return nil, fmt.Errorf("history of %s: %w", workflowID, err)
			}
		}
		if prev == "" {
			return out, nil
		}
		runID = prev
	}
}

// signalledEvents are the 100ms events a history event signalled: none
// unless it is an hms-event or hms-events signal.
func signalledEvents(dc converter.DataConverter, e *historypb.HistoryEvent) ([]workflows.HMSEvent, error) {
	a := e.GetWorkflowExecutionSignaledEventAttributes()
	var evs []workflows.HMSEvent
	var err error
	switch a.GetSignalName() {
	case workflows.SignalHMSEvent:
		var ev workflows.HMSEvent
		err = dc.FromPayloads(a.GetInput(), &ev)
		evs = append(evs, ev)
	case workflows.SignalHMSEvents:
		err = dc.FromPayloads(a.GetInput(), &evs)
	}
	if err != nil {
		return nil, fmt.Errorf("decode an %s signal: %w", a.GetSignalName(), err)
	}
	return evs, nil
}

func addSignal(out map[string][]signalSend, dc converter.DataConverter, e *historypb.HistoryEvent) error {
	evs, err := signalledEvents(dc, e)
	if err != nil {
		return err
	}
	a := e.GetWorkflowExecutionSignaledEventAttributes()
	pidText, _, _ := strings.Cut(a.GetIdentity(), "@")
	pid, _ := strconv.Atoi(pidText)
	for _, ev := range evs {
		out[ev.ID] = append(out[ev.ID], signalSend{at: e.GetEventTime().AsTime(), pid: pid})
	}
	return nil
}
