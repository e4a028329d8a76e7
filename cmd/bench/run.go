package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
	"github.com/vkyc-engine/vkyc/internal/testkit/stack/pprofhook"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// Credentials of the simulated 100ms workspace and of the API, made per run.
const (
	simAccessKey     = "bench-access-key"
	webhookHeader    = "X-Vkyc-Webhook-Secret"
	namespace        = "default"
	simStartDelay    = "1ms" // zero means "the default of 2 s" to the simulator
	simReadyDelay    = "1ms" // likewise (default 9 s)
	recordingsPrefix = "recordings"
)

// bench is one run: the stack under test, the baselines' clients, and the
// results so far.
type bench struct {
	o   options
	svc testenv.Services
	dir string

	dbURL, bucket                string
	taskQueue, bareQueue         string
	simSecret, webhookSecret     string
	apiSecret                    []byte
	eng                          *stack.Engine
	api, worker, sim, bareWorker *stack.Process
	apiURL, simURL               string
	proxy                        *hookProxy
	proxySrv                     *http.Server
	client                       *apiClient
	tc                           client.Client
	pg                           *pgxpool.Pool
	s3                           *minio.Client
	meter                        *cpuMeter
	report                       *report
	openCases                    []string // scenario 5's cases, read by 6
	throughput                   float64  // scenario 1's cases/s, which sets 3's rate
	bareScript                   string
	templateID                   string // the 100ms template applied to the simulator
}

func run(ctx context.Context, o options) error {
	svc, err := testenv.FromEnv()
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	b := &bench{
		o: o, svc: svc, dir: filepath.Join(o.root, ".run", "bench", stamp),
		taskQueue: "kyc-bench-" + stamp, bareQueue: "bench-bare-" + stamp,
		bucket:    "vkyc-bench-" + strings.ToLower(randomHex(4)),
		simSecret: randomHex(24), webhookSecret: randomHex(24), apiSecret: []byte(randomHex(32)),
	}
	b.report = newReport(o)
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return err
	}
	logf("work directory %s", b.dir)
	defer b.teardown()
	if err := b.setup(ctx, stamp); err != nil {
		return err
	}
	b.report.setup(b)

	scenarios := []struct {
		id  string
		run func(context.Context) error
	}{
		{"1", b.scenarioCases},
		{"3", b.scenarioSteady},
		{"2", b.scenarioWebhooks},
		{"4", b.scenarioUploads},
		// Before 5, whose thousands of open cases stay on the dev server.
		{"7", b.scenarioProd},
		{"5", b.scenarioOpen},
		{"6", b.scenarioRead},
	}
	// The profile runs before scenario 5 unless 5 or 6 is asked for: the
	// ratio targets are all in 1 to 4, and the thousands of open cases of
	// 5 keep the worker and Temporal busy long after it ends.
	profiled := false
	profileNow := func() {
		if !profiled {
			profiled = true
			b.profileAfter(ctx)
		}
	}
	for _, s := range scenarios {
		if !o.runs(s.id) {
			continue
		}
		if s.id == "5" && o.profile != "5" && o.profile != "6" {
			profileNow()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		logf("scenario %s", s.id)
		if err := s.run(ctx); err != nil {
			b.report.failed(s.id, err)
			logf("scenario %s failed: %v", s.id, err)
		}
		b.settleWithin(ctx, time.Minute)
	}
	profileNow()
	b.report.finish()
	return b.report.write(o)
}

func (b *bench) setup(ctx context.Context, stamp string) error {
	var err error
	if b.dbURL, err = testenv.CreateDatabase(ctx, b.svc.DatabaseURL, "vkyc_bench_"+strings.ReplaceAll(stamp, "-", "_")); err != nil {
		return err
	}
	if b.pg, err = pgxpool.New(ctx, b.dbURL+"&pool_max_conns=64"); err != nil {
		return fmt.Errorf("connect to the benchmark database: %w", err)
	}
	b.s3, err = minio.New(b.svc.S3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(b.svc.S3.AccessKey, b.svc.S3.SecretKey, "")})
	if err != nil {
		return fmt.Errorf("MinIO client: %w", err)
	}
	if err := b.s3.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("create bucket %s: %w", b.bucket, err)
	}
	logf("building api, worker and simulator")
	// Each program is built with the pprof hook, so that the programs
	// measured are exactly the ones that can be profiled.
	if b.eng, err = stack.NewEngine(ctx, stack.Config{
		Root: b.o.root, Dir: b.dir, Services: b.svc, DatabaseURL: b.dbURL, Bucket: b.bucket, TaskQueue: b.taskQueue,
		Secrets: stack.Secrets{Auth: string(b.apiSecret), HMSAccessKey: simAccessKey, HMSAppSecret: b.simSecret,
			WebhookHeader: webhookHeader, WebhookSecret: b.webhookSecret},
		Env: map[string]string{
			"HMSSIM_RECORDING_START_DELAY": simStartDelay, "HMSSIM_RECORDING_READY_DELAY": simReadyDelay,
			// Every webhook comes from this one address, at thousands a second.
			"HMS_WEBHOOK_RATE_LIMIT": "0",
			// The production default: every request and webhook is logged.
			"LOG_LEVEL": "info",
		},
		Build: stack.Build{Profile: true, Overlay: b.o.overlay}, WorkerPolls: true,
	}); err != nil {
		return err
	}
	b.api, b.worker, b.sim = b.eng.Process(stack.API), b.eng.Process(stack.Worker), b.eng.Process(stack.Simulator)
	if b.tc, err = client.DialContext(ctx, client.Options{HostPort: b.svc.Temporal, Namespace: namespace,
		Logger: quietTemporalLogger(), ConnectionOptions: engineConnection()}); err != nil {
		return fmt.Errorf("connect to Temporal: %w", err)
	}
	b.apiURL, b.simURL = b.eng.APIBase, b.eng.SimBase
	if err := b.startProxy(); err != nil {
		return err
	}
	b.eng.SetEnv("HMSSIM_WEBHOOK_URL", "http://"+b.proxy.addr+"/")
	if err := b.eng.Start(ctx, stack.Simulator, nil); err != nil {
		return err
	}
	if b.templateID, err = b.applyTemplate(ctx); err != nil {
		return err
	}
	b.eng.SetEnv("HMS_TEMPLATE_ID", b.templateID)
	for _, name := range []string{stack.Worker, stack.API} {
		if err := b.eng.Start(ctx, name, nil); err != nil {
			return err
		}
	}
	if err := b.startBareWorker(ctx); err != nil {
		return err
	}
	b.client = newAPIClient(b.apiURL, b.simURL, b.apiSecret)
	b.meter = newCPUMeter(map[string]func() []int{
		"api":         func() []int { return []int{b.api.PID()} },
		"worker":      func() []int { return []int{b.worker.PID()} },
		"simulator":   func() []int { return []int{b.sim.PID()} },
		"bare-worker": func() []int { return []int{b.bareWorker.PID()} },
		"bench":       func() []int { return []int{os.Getpid()} },
		"temporal":    func() []int { return nonZero(b.svc.TemporalPID) },
		"postgres":    func() []int { return postgresPIDs(b.svc.PGData) },
		"minio":       func() []int { return nonZero(pidWithArg(b.svc.MinIOData)) },
	})
	return nil
}

func nonZero(pid int) []int {
	if pid == 0 {
		return nil
	}
	return []int{pid}
}

func (b *bench) startProxy() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b.proxy = newHookProxy(b.apiURL + "/v1/webhooks/100ms")
	b.proxySrv = &http.Server{Handler: b.proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.proxySrv.Serve(ln) }()
	b.proxy.addr = ln.Addr().String()
	return nil
}

// applyTemplate gives the simulator the production template, so rooms
// record into the run's bucket as they would at 100ms.
func (b *bench) applyTemplate(ctx context.Context) (string, error) {
	hc, err := hms.New(hms.Config{BaseURL: b.simURL + "/v2", AccessKey: simAccessKey, AppSecret: b.simSecret})
	if err != nil {
		return "", err
	}
	t, err := hc.ApplyTemplate(ctx, hms.VKYCTemplate("vkyc", hms.RecordingStorage{
		Type: "s3", Bucket: b.bucket, Prefix: recordingsPrefix, Region: "us-east-1",
	}))
	if err != nil {
		return "", fmt.Errorf("apply the template to the simulator: %w", err)
	}
	return t.ID, nil
}

func (b *bench) startBareWorker(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env := []string{"BENCH_TEMPORAL_ADDRESS=" + b.svc.Temporal, "BENCH_TEMPORAL_NAMESPACE=" + namespace,
		"BENCH_TASK_QUEUE=" + b.bareQueue}
	if b.bareWorker, err = b.startProc("bare-worker", self, []string{"-role", "bare-worker"}, env); err != nil {
		return err
	}
	return stack.WaitFor(ctx, time.Minute, "the bare worker", b.bareWorker, func() error {
		return stack.Polling(ctx, b.tc, b.bareWorker, b.bareQueue)
	})
}

// startProc starts a process of the benchmark's own (the bare worker, the
// real Temporal server) with exactly env (plus PATH and HOME) and, for the
// profile, its pprof hook on a port of its own.
func (b *bench) startProc(name, path string, args, env []string) (*stack.Process, error) {
	addr, err := stack.FreeAddr()
	if err != nil {
		return nil, err
	}
	p := &stack.Process{Name: name, Path: path, Args: args, LogPath: filepath.Join(b.dir, "logs", name+".log"), PprofAddr: addr,
		Env: append(append(stack.BaseEnv(), pprofhook.EnvAddr+"="+addr), env...)}
	return p, p.Start()
}

// settle waits, between scenarios, until the inbox is empty and the
// engine's programs are idle, so that no scenario pays for the last one.
func (b *bench) settle(ctx context.Context) { b.settleWithin(ctx, 3*time.Minute) }

func (b *bench) settleWithin(ctx context.Context, within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var pending int64
		_ = b.pg.QueryRow(ctx, "SELECT count(*) FROM webhook_inbox WHERE state = 'pending'").Scan(&pending)
		before := b.busyCPU()
		if sleepCtx(ctx, time.Second) != nil {
			return
		}
		// Under 5% of a core over a second across the engine and Temporal.
		if pending == 0 && b.busyCPU()-before < 0.05 {
			return
		}
	}
	logf("the stack did not settle within %s; going on", within)
}

func (b *bench) busyCPU() float64 {
	var sum float64
	for _, pid := range []int{b.api.PID(), b.worker.PID(), b.bareWorker.PID(), b.svc.TemporalPID} {
		if pid == 0 {
			continue
		}
		if s, err := cpuSeconds(pid); err == nil {
			sum += s
		}
	}
	return sum
}

func (b *bench) teardown() {
	if b.bareWorker != nil {
		b.bareWorker.Stop(syscall.SIGTERM, 45*time.Second)
	}
	if b.eng != nil {
		b.eng.Close()
	}
	if b.proxySrv != nil {
		_ = b.proxySrv.Close()
	}
	if b.tc != nil {
		b.tc.Close()
	}
	if b.pg != nil {
		b.pg.Close()
	}
	if b.o.keep {
		logf("kept database %s and bucket %s", b.dbURL, b.bucket)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b.dbURL != "" {
		if err := testenv.DropDatabase(ctx, b.svc.DatabaseURL, b.dbURL); err != nil {
			logf("drop the benchmark database: %v", err)
		}
	}
	if b.s3 != nil {
		objects := b.s3.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Recursive: true})
		for e := range b.s3.RemoveObjects(ctx, b.bucket, objects, minio.RemoveObjectsOptions{}) {
			logf("remove %s: %v", e.ObjectName, e.Err)
		}
		if err := b.s3.RemoveBucket(ctx, b.bucket); err != nil {
			logf("remove bucket %s: %v", b.bucket, err)
		}
	}
}

var errNoCase = errors.New("no completed case to read a script from")

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func sleepCtx(ctx context.Context, d time.Duration) error { return apiclient.Sleep(ctx, d) }

// quietTemporalLogger keeps the SDK's routine messages out of the figures'
// output; warnings still show.
func quietTemporalLogger() temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
