package stack

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/vkyc-engine/vkyc/internal/testkit/stack/pprofhook"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// Secrets are the throwaway values an engine runs with. The end-to-end log
// check searches the programs' output for them.
type Secrets struct {
	Auth, HMSAccessKey, HMSAppSecret, WebhookHeader, WebhookSecret string
}

// Config says what an engine runs against and how.
type Config struct {
	Root string // the repository (RepoRoot)
	Dir  string // data and logs (logs/<name>.log)
	// Services are PostgreSQL, MinIO and Temporal: those of
	// scripts/services.sh (testenv) or of StartServices.
	Services testenv.Services
	// DatabaseURL is the engine's database (default Services.DatabaseURL).
	DatabaseURL       string
	Bucket, TaskQueue string
	Secrets           Secrets
	// WebhookURL is where the simulator sends its webhooks (default the
	// API's intake): the fault suite and the benchmark put a proxy between.
	WebhookURL string
	// Env is added to every program's environment, over the defaults.
	Env map[string]string
	// OIDC adds the development OpenID Connect provider (users agent-7,
	// agent-9, auditor-3, admin-1 with OIDCPassword) and points the API's
	// single sign-on at it.
	OIDC         bool
	OIDCPassword string
	Build        Build
	// APIReady is the path that says the API is ready (default /readyz;
	// the fault suite, which restarts it while a service is down, uses
	// /healthz).
	APIReady string
	// WorkerPolls waits for a started worker's first poll of the task queue
	// instead of its start line in the log.
	WorkerPolls bool
}

// OIDCVariables are the API's single sign-on settings.
var OIDCVariables = []string{"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_ROLE_MAP", "OIDC_SCOPES"}

// Engine is the engine's programs (API, worker, simulator, and replicas
// added with Add) as processes of this one, with the environment each is
// started with: like `make dev` with every part pointed at Config's
// services.
type Engine struct {
	APIBase, SimBase, OIDCBase string

	cfg      Config
	bin      string
	env      map[string]string
	mu       sync.Mutex
	procs    map[string]*Process
	programs map[string]string            // process name → program
	own      map[string]map[string]string // process name → its own variables
	vars     map[string]map[string]string // process name → its variables at its last start
	bases    map[string]string
	order    []string
	clients  map[string]client.Client // by Temporal address, for WorkerPolls
}

// NewEngine builds the programs, picks their ports and writes their
// environment; nothing is started yet (StartAll, Start).
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = cfg.Services.DatabaseURL
	}
	if cfg.APIReady == "" {
		cfg.APIReady = "/readyz"
	}
	// In the order they start: Close stops them the other way round.
	names := []string{Worker, API, Simulator}
	if cfg.OIDC {
		names = append(names, OIDC)
	}
	bin, err := binaries(ctx, cfg.Root, cfg.Build, names...)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, bin: bin, procs: map[string]*Process{}, programs: map[string]string{},
		own: map[string]map[string]string{}, vars: map[string]map[string]string{}, bases: map[string]string{},
		clients: map[string]client.Client{}}
	addrs := map[string]string{}
	for _, n := range names {
		if addrs[n], err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	e.APIBase, e.SimBase = "http://"+addrs[API], "http://"+addrs[Simulator]
	webhooks := cfg.WebhookURL
	if webhooks == "" {
		webhooks = e.APIBase + "/v1/webhooks/100ms"
	}
	sv, sec := cfg.Services, cfg.Secrets
	e.env = map[string]string{
		"VKYC_ENV": "development", "LOG_LEVEL": "debug", "VKYC_DATA_DIR": cfg.Dir,
		"HTTP_ADDR": addrs[API], "PUBLIC_BASE_URL": e.APIBase,
		"WORKER_HTTP_ADDR": "127.0.0.1:0", // replicas and parallel stacks: any free port
		"API_JWT_SECRET":   sec.Auth, "DATABASE_URL": cfg.DatabaseURL,
		"S3_ENDPOINT": sv.S3.Endpoint, "S3_ACCESS_KEY": sv.S3.AccessKey, "S3_SECRET_KEY": sv.S3.SecretKey, "S3_BUCKET": cfg.Bucket,
		"TEMPORAL_ADDRESS": sv.Temporal, "TEMPORAL_NAMESPACE": "default", "TEMPORAL_TASK_QUEUE": cfg.TaskQueue,
		"HMS_BASE_URL": e.SimBase + "/v2", "HMS_ACCESS_KEY": sec.HMSAccessKey, "HMS_APP_SECRET": sec.HMSAppSecret,
		"HMS_WEBHOOK_HEADER": sec.WebhookHeader, "HMS_WEBHOOK_SECRET": sec.WebhookSecret,
		"HMSSIM_ADDR": addrs[Simulator], "HMSSIM_WEBHOOK_URL": webhooks,
		// Short media delays: the tests' cases, not the waiting, are what
		// is measured.
		"HMSSIM_RECORDING_START_DELAY": "300ms", "HMSSIM_RECORDING_READY_DELAY": "1s",
	}
	if cfg.OIDC {
		e.OIDCBase = "http://" + addrs[OIDC]
		maps.Copy(e.env, map[string]string{"OIDC_ISSUER": e.OIDCBase, "OIDC_CLIENT_ID": "vkyc-pages",
			"OIDC_ROLE_MAP": "vkyc-agents=agent,vkyc-auditors=auditor,vkyc-admins=admin", "OIDC_SCOPES": "openid profile"})
	}
	maps.Copy(e.env, cfg.Env)
	for _, n := range names {
		e.define(n, n, nil)
	}
	e.bases[API], e.bases[Simulator], e.bases[OIDC] = e.APIBase, e.SimBase, e.OIDCBase
	if cfg.OIDC {
		e.procs[OIDC].Args = []string{"-addr", addrs[OIDC], "-password", cfg.OIDCPassword,
			"-redirect", e.APIBase + "/app/agent," + e.APIBase + "/app/audit"}
	}
	return e, nil
}

func (e *Engine) define(name, program string, own map[string]string) *Process {
	p := &Process{Name: name, Path: binPath(e.bin, program), LogPath: filepath.Join(e.cfg.Dir, "logs", name+".log")}
	e.procs[name], e.programs[name], e.own[name] = p, program, own
	e.order = append(e.order, name)
	return p
}

// Add defines one more process of program (a replica, or one pointed at
// other services through own variables), with its own listen address when
// it is an API; it returns the replica's base URL ("" for a worker).
func (e *Engine) Add(name, program string, own map[string]string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	own = maps.Clone(own)
	if own == nil {
		own = map[string]string{}
	}
	if program == API {
		addr, err := FreeAddr()
		if err != nil {
			return "", err
		}
		own["HTTP_ADDR"] = addr
		e.bases[name] = "http://" + addr
	}
	e.define(name, program, own)
	return e.bases[name], nil
}

// Env is the environment every program starts with (a copy).
func (e *Engine) Env() map[string]string { return maps.Clone(e.env) }

// SetEnv changes a variable for the programs started from now on.
func (e *Engine) SetEnv(name, value string) { e.env[name] = value }

// Process is the named process (nil if there is none).
func (e *Engine) Process(name string) *Process { return e.procs[name] }

// Bin is the path of a built program, for a caller that runs it apart
// from the engine (the benchmark's real Temporal server scenario).
func (e *Engine) Bin(program string) string { return binPath(e.bin, program) }

// StartAll starts the identity provider (if any), the worker (which
// creates the bucket in development mode and runs the migrations that the
// others need), the API and the simulator, each once ready.
func (e *Engine) StartAll(ctx context.Context) error {
	names := []string{Worker, API, Simulator}
	if e.cfg.OIDC {
		names = append([]string{OIDC}, names...)
	}
	for _, n := range names {
		if err := e.Start(ctx, n, nil); err != nil {
			return err
		}
	}
	return nil
}

// Start starts (or restarts) a process with extra variables over the
// engine's, and waits until it is ready.
func (e *Engine) Start(ctx context.Context, name string, extra map[string]string) error {
	if err := e.Launch(name, extra); err != nil {
		return err
	}
	return e.Ready(ctx, name)
}

// Launch starts (or restarts) a process without waiting for it.
func (e *Engine) Launch(name string, extra map[string]string) error {
	p := e.procs[name]
	if p == nil {
		return fmt.Errorf("no process %s", name)
	}
	env := BaseEnv()
	if e.programs[name] != OIDC {
		vars := maps.Clone(e.env)
		maps.Copy(vars, e.own[name])
		maps.Copy(vars, extra)
		if e.cfg.Build.Profile {
			addr, err := FreeAddr()
			if err != nil {
				return err
			}
			vars[pprofhook.EnvAddr], p.PprofAddr = addr, addr
		}
		e.mu.Lock()
		e.vars[name] = vars
		e.mu.Unlock()
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			env = append(env, k+"="+vars[k])
		}
	}
	p.Env = env
	return p.Start()
}

// Ready waits until a started process serves: the API's readiness path,
// the simulator's fault endpoint, the identity provider's discovery
// document, the worker's start (or first poll, Config.WorkerPolls).
func (e *Engine) Ready(ctx context.Context, name string) error {
	p := e.procs[name]
	switch e.programs[name] {
	case API:
		return WaitFor(ctx, 2*time.Minute, name, p, func() error { return HTTPOK(ctx, e.bases[name]+e.cfg.APIReady) })
	case Simulator:
		return WaitFor(ctx, time.Minute, name, p, func() error { return HTTPOK(ctx, e.SimBase+"/sim/v1/faults") })
	case OIDC:
		return WaitFor(ctx, time.Minute, name, p, func() error {
			return HTTPOK(ctx, e.OIDCBase+"/.well-known/openid-configuration")
		})
	}
	if e.cfg.WorkerPolls {
		e.mu.Lock()
		vars := e.vars[name]
		e.mu.Unlock()
		tc, err := e.temporal(vars["TEMPORAL_ADDRESS"])
		if err != nil {
			return err
		}
		return WaitFor(ctx, 2*time.Minute, name, p, func() error { return Polling(ctx, tc, p, vars["TEMPORAL_TASK_QUEUE"]) })
	}
	return WaitFor(ctx, 2*time.Minute, name, p, func() error {
		if strings.Count(p.Logs(), `"worker starting"`) < p.Starts() {
			return fmt.Errorf("not started yet")
		}
		return nil
	})
}

func (e *Engine) temporal(addr string) (client.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clients[addr] == nil {
		tc, err := client.Dial(client.Options{HostPort: addr, Logger: QuietTemporal()})
		if err != nil {
			return nil, fmt.Errorf("connect to Temporal: %w", err)
		}
		e.clients[addr] = tc
	}
	return e.clients[addr], nil
}

// Kill ends a process with SIGKILL: no shutdown code runs.
func (e *Engine) Kill(name string) {
	if p := e.procs[name]; p != nil {
		p.Kill()
	}
}

// Stop ends a process with SIGTERM and waits for its own shutdown (the
// worker allows running activities 30 s), then kills it.
func (e *Engine) Stop(name string) {
	if p := e.procs[name]; p != nil {
		p.Stop(syscall.SIGTERM, 45*time.Second)
	}
}

// Logs is everything a process has written so far, over its starts.
func (e *Engine) Logs(name string) string {
	if p := e.procs[name]; p != nil {
		return p.Logs()
	}
	return ""
}

// Close stops every process, the last defined first.
func (e *Engine) Close() {
	for _, n := range slices.Backward(e.order) {
		e.Stop(n)
	}
	for _, tc := range e.clients {
		tc.Close()
	}
}

// Tails is the end of every process's log, for a failed test's output.
func (e *Engine) Tails(n int) string {
	var b strings.Builder
	for _, name := range e.order {
		fmt.Fprintf(&b, "---- %s log (last %d bytes) ----\n%s\n", name, n, e.procs[name].Tail(n))
	}
	return b.String()
}
