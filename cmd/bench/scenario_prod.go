package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// Scenario 7: the same cases on the real Temporal server (the release of
// deploy/versions.env on PostgreSQL, as docker-compose.yml and `make
// prod-local` run it, started through scripts/temporal-server.sh) next to
// the Temporal dev server every other scenario uses: throughput and the
// CPU seconds each case costs the whole stack.

type prodLegRaw struct {
	Server string `json:"server"`
	caseRun
	StepMeanMS map[string]float64 `json:"step_mean_ms"`
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	CPUPerCase float64            `json:"cpu_seconds_per_case"`
	Errors     map[string]int     `json:"errors,omitempty"`
}

// realServer is the Temporal server of scenario 7 and the engine it serves.
type realServer struct {
	address       string
	dbs           []string // databases made for it on the services' PostgreSQL
	server        *stack.Process
	api, worker   *stack.Process
	apiURL, queue string
	tc            client.Client
	client        *apiClient
	engineDB      string
}

func (b *bench) scenarioProd(ctx context.Context) error {
	sz := b.o.sz
	d, err := b.newCaseDriver(sz.Poll, nil)
	if err != nil {
		return err
	}
	devTemporal := func() []int { return nonZero(b.svc.TemporalPID) }
	logf("7: dev server: %d cases at concurrency %d", sz.ProdCases, sz.ProdConcurrency)
	dev := b.prodLeg(ctx, d, b.client, "dev server (temporal server start-dev, SQLite)", devTemporal,
		func() int { return b.api.PID() }, func() int { return b.worker.PID() })

	rs, err := b.startRealServer(ctx)
	if rs != nil {
		defer b.stopRealServer(rs)
	}
	if err != nil {
		return err
	}
	// The simulator's webhooks go to the engine of the leg.
	b.proxy.setTarget(rs.apiURL + "/v1/webhooks/100ms")
	defer b.proxy.setTarget(b.apiURL + "/v1/webhooks/100ms")
	d.c = rs.client
	logf("7: real server: %d cases at concurrency %d", sz.ProdCases, sz.ProdConcurrency)
	real := b.prodLeg(ctx, d, rs.client, "Temporal server "+b.realServerVersion()+" on PostgreSQL (scripts/temporal-server.sh)",
		func() []int { return []int{rs.server.PID()} }, func() int { return rs.api.PID() }, func() int { return rs.worker.PID() })

	b.report.Raw["7_dev_server"] = dev
	b.report.Raw["7_real_server"] = real
	if real.Completed == 0 {
		return fmt.Errorf("no case completed on the real server: %v", real.Errors)
	}
	b.report.add(row{
		Scenario: "7", Figure: fmt.Sprintf("Case throughput on the real Temporal server, %d cases at concurrency %d", sz.ProdCases, sz.ProdConcurrency),
		Value:    fmt.Sprintf("%.2f cases/s (%d failed); p50 / p99 %s / %s", real.CasesPerSecond, real.Failed, secs(real.Duration.P50), secs(real.Duration.P99)),
		Baseline: fmt.Sprintf("dev server: %.2f cases/s (%d failed); p50 / p99 %s / %s", dev.CasesPerSecond, dev.Failed, secs(dev.Duration.P50), secs(dev.Duration.P99)),
		ratio:    ratioOf(real.CasesPerSecond, dev.CasesPerSecond), higherBetter: true, Target: "—",
		TemporalStore: "PostgreSQL (real server)",
	})
	b.report.add(row{
		Scenario: "7", Figure: "CPU seconds per case, whole stack (API, worker, simulator, Temporal, PostgreSQL, MinIO)",
		Value: fmt.Sprintf("%.3f (Temporal %.3f, PostgreSQL %.3f)", real.CPUPerCase,
			perCase(real.CPUSeconds["temporal"], real.Completed), perCase(real.CPUSeconds["postgres"], real.Completed)),
		Baseline: fmt.Sprintf("dev server: %.3f (Temporal %.3f, PostgreSQL %.3f)", dev.CPUPerCase,
			perCase(dev.CPUSeconds["temporal"], dev.Completed), perCase(dev.CPUSeconds["postgres"], dev.Completed)),
		ratio: ratioOf(real.CPUPerCase, dev.CPUPerCase), Target: "—",
		TemporalStore: "PostgreSQL (real server)",
	})
	return nil
}

func perCase(cpu float64, n int) float64 {
	if n == 0 {
		return 0
	}
	// Four places: a ratio of two of these must not be a ratio of roundings
	// (0.083 against 0.044 printed as 0.08 against 0.04 reads as 2.00).
	return round(cpu/float64(n), 4)
}

// prodLeg runs warm-up cases, then the measured batch, metering the CPU of
// every process of the stack the leg uses.
func (b *bench) prodLeg(ctx context.Context, d *caseDriver, c *apiClient, server string, temporal func() []int, api, worker func() int) prodLegRaw {
	sz := b.o.sz
	d.c = c
	if sz.Warmup > 0 {
		b.runCases(ctx, d, sz.Warmup, min(sz.Warmup, sz.ProdConcurrency))
	}
	b.settle(ctx)
	meter := newCPUMeter(map[string]func() []int{
		"api":       func() []int { return []int{api()} },
		"worker":    func() []int { return []int{worker()} },
		"simulator": func() []int { return []int{b.sim.PID()} },
		"temporal":  temporal,
		"postgres":  func() []int { return postgresPIDs(b.svc.PGData) },
		"minio":     func() []int { return nonZero(pidWithArg(b.svc.MinIOData)) },
	})
	meter.begin()
	run := b.runCases(ctx, d, sz.ProdCases, sz.ProdConcurrency)
	cpu := meter.since()
	raw := run.raw(sz.ProdCases, sz.ProdConcurrency)
	total := 0.0
	for _, v := range cpu {
		total += v
	}
	out := prodLegRaw{
		Server: server, caseRun: raw.caseRun, StepMeanMS: raw.StepMeanMS,
		CPUSeconds: cpu, CPUPerCase: perCase(total, raw.Completed), Errors: raw.Errors,
	}
	logf("7: %s: %.2f cases/s, %.3f CPU s per case, %d failed", server, out.CasesPerSecond, out.CPUPerCase, out.Failed)
	b.settle(ctx)
	return out
}

func (b *bench) realServerVersion() string {
	raw, err := os.ReadFile(filepath.Join(b.o.root, "deploy", "versions.env"))
	if err != nil {
		return "(unknown version)"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "TEMPORAL_SERVER_VERSION="); ok {
			return strings.TrimSpace(v)
		}
	}
	return "(unknown version)"
}

// startRealServer creates Temporal's databases on the services' PostgreSQL,
// starts the server and registers the namespace and search attributes with
// the scripts prod-local uses, then starts an API and a worker of the
// engine on it, with a database of their own (so that the dev-server
// engine's inbox dispatcher never sees their webhooks).
func (b *bench) startRealServer(ctx context.Context) (*realServer, error) {
	stamp := strings.TrimPrefix(b.taskQueue, "kyc-bench-")
	rs := &realServer{queue: "kyc-bench-real-" + stamp}
	u, err := url.Parse(b.svc.DatabaseURL)
	if err != nil {
		return nil, err
	}
	tdb := "temporal_bench_" + strings.ReplaceAll(stamp, "-", "_")
	rs.dbs = []string{tdb, tdb + "_visibility"}
	pw, _ := u.User.Password()
	if pw == "" {
		pw = "unused" // scripts/services.sh's PostgreSQL trusts loopback
	}
	env := []string{
		"POSTGRES_SEEDS=" + u.Hostname(), "DB_PORT=" + u.Port(), "POSTGRES_USER=" + u.User.Username(), "POSTGRES_PWD=" + pw,
		"DBNAME=" + rs.dbs[0], "VISIBILITY_DBNAME=" + rs.dbs[1],
	}
	// Below 32768: the server keeps its membership ports in a SMALLINT.
	names := []string{"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT",
		"HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"}
	low, err := stack.LowPorts(len(names))
	if err != nil {
		return rs, err
	}
	ports := map[string]int{}
	for i, name := range names {
		ports[name] = low[i]
		env = append(env, fmt.Sprintf("%s=%d", name, low[i]))
	}
	rs.address = loopback(ports["FRONTEND_GRPC_PORT"])
	helper := filepath.Join(b.o.root, "scripts", "temporal-server.sh")
	logf("7: Temporal's schema on PostgreSQL (%s, %s)", rs.dbs[0], rs.dbs[1])
	if err := b.runHelper(ctx, helper, "schema", env); err != nil {
		return rs, err
	}
	if rs.server, err = b.startProc("temporal-server", helper, []string{"start"}, env); err != nil {
		return rs, err
	}
	if err := b.runHelper(ctx, helper, "init", append(env, "TEMPORAL_ADDRESS="+rs.address, "TEMPORAL_NAMESPACE="+namespace)); err != nil {
		return rs, err
	}
	if rs.tc, err = client.DialContext(ctx, client.Options{HostPort: rs.address, Namespace: namespace,
		Logger: quietTemporalLogger(), ConnectionOptions: engineConnection()}); err != nil {
		return rs, fmt.Errorf("connect to the real Temporal server: %w", err)
	}

	if rs.engineDB, err = testenv.CreateDatabase(ctx, b.svc.DatabaseURL, "vkyc_bench_real_"+strings.ReplaceAll(stamp, "-", "_")); err != nil {
		return rs, err
	}
	// The engine's programs again, pointed at the real server.
	if _, err = b.eng.Add("worker-real", stack.Worker, map[string]string{"TEMPORAL_ADDRESS": rs.address,
		"TEMPORAL_TASK_QUEUE": rs.queue, "DATABASE_URL": rs.engineDB}); err != nil {
		return rs, err
	}
	if rs.apiURL, err = b.eng.Add("api-real", stack.API, map[string]string{"TEMPORAL_ADDRESS": rs.address,
		"TEMPORAL_TASK_QUEUE": rs.queue, "DATABASE_URL": rs.engineDB}); err != nil {
		return rs, err
	}
	rs.worker, rs.api = b.eng.Process("worker-real"), b.eng.Process("api-real")
	if err := b.eng.Start(ctx, "worker-real", nil); err != nil {
		return rs, err
	}
	if err := b.eng.Start(ctx, "api-real", map[string]string{"PUBLIC_BASE_URL": rs.apiURL}); err != nil {
		return rs, err
	}
	rs.client = newAPIClient(rs.apiURL, b.simURL, b.apiSecret)
	return rs, nil
}

// runHelper runs a one-shot command of scripts/temporal-server.sh with
// exactly env (plus PATH and HOME), its output in the run's folder.
func (b *bench) runHelper(ctx context.Context, helper, what string, env []string) error {
	logPath := filepath.Join(b.dir, "temporal-"+what+".log")
	f, err := os.Create(logPath) // #nosec G304 -- our work directory
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, helper, what) // #nosec G204 -- the repository's own script
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/temporal-server.sh %s: %w (log: %s)", what, err, logPath)
	}
	return nil
}

func (b *bench) stopRealServer(rs *realServer) {
	for _, p := range []*stack.Process{rs.api, rs.worker, rs.server} {
		if p != nil {
			p.Stop(syscall.SIGTERM, 45*time.Second)
		}
	}
	if rs.tc != nil {
		rs.tc.Close()
	}
	if b.o.keep {
		logf("kept the real server's databases %v and %s", rs.dbs, rs.engineDB)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range rs.dbs {
		if err := testenv.DropDatabase(ctx, b.svc.DatabaseURL, "/"+name); err != nil {
			logf("drop %s: %v", name, err)
		}
	}
	if rs.engineDB != "" {
		if err := testenv.DropDatabase(ctx, b.svc.DatabaseURL, rs.engineDB); err != nil {
			logf("drop %s: %v", rs.engineDB, err)
		}
	}
}
