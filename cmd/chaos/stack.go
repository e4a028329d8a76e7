package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the checks
	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/internal/platform/codec"
)

// Secrets of the chaos stack. They are throwaway values for processes bound
// to 127.0.0.1; the log check of internal/testkit/e2e proves the programs never log
// such values.
const (
	authSecret    = "chaos-api-jwt-secret-0123456789abcdef" // #nosec G101 -- throwaway value of a loopback test stack
	hmsAccessKey  = "chaos-access-key"
	hmsAppSecret  = "chaos-app-secret-0123456789abcdef" // #nosec G101 -- throwaway value of a loopback test stack
	webhookHeader = "X-Vkyc-Webhook-Secret"
	webhookSecret = "chaos-webhook-secret-0123456789" // #nosec G101 -- throwaway value of a loopback test stack
	s3AccessKey   = "chaosminio"
	s3SecretKey   = "chaosminio-secret" // #nosec G101 -- throwaway value of a loopback test stack
	bucket        = "vkyc"
	taskQueue     = "kyc-cases"
)

// Program and service names.
const (
	nameAPI       = "api"
	nameWorker    = "worker"
	nameAPI2      = "api-2"    // the second replica of the two-replica class
	nameWorker2   = "worker-2" // likewise
	nameSimulator = "simulator"
	namePostgres  = "postgres"
	nameMinIO     = "minio"
	nameTemporal  = "temporal"
)

// stack is everything a fault suite runs against, each a child process of
// the driver on loopback ports of its own: PostgreSQL, MinIO, the Temporal
// dev server (on a database file, so that it keeps its workflows across a
// restart) and the engine's three programs built from this repository. It
// never touches the services of `make services` or of other tests.
type stack struct {
	root, dir string
	log       *slog.Logger
	procs     map[string]*proc

	pgPort, minioPort, temporalPort, apiPort, api2Port, simPort int
	dsn                                                         string
	apiBase, api2Base, simBase, s3Endpoint, temporalAddr        string
	db                                                          *sql.DB
	hooks                                                       *hookProxy
	// external is set when the stack is scripts/prod-local.sh (class 9),
	// whose own supervisors run and restart the parts; procs is empty then.
	external *prodLocal
	bank     *bank // the bank's webhook receiver
	// codec opens the payloads the stack's programs seal.
	codec *codec.Keyring
}

func newStack(ctx context.Context, root, dir string, log *slog.Logger) (*stack, error) {
	// The programs seal payloads with the development key.
	s := &stack{root: root, dir: dir, log: log, procs: map[string]*proc{}, codec: codec.DevKeyring()}
	for _, p := range []*int{&s.pgPort, &s.minioPort, &s.temporalPort, &s.apiPort, &s.api2Port, &s.simPort} {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		*p = port
	}
	s.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.pgPort)
	s.apiBase = fmt.Sprintf("http://127.0.0.1:%d", s.apiPort)
	s.api2Base = fmt.Sprintf("http://127.0.0.1:%d", s.api2Port)
	s.simBase = fmt.Sprintf("http://127.0.0.1:%d", s.simPort)
	s.s3Endpoint = fmt.Sprintf("127.0.0.1:%d", s.minioPort)
	s.temporalAddr = fmt.Sprintf("127.0.0.1:%d", s.temporalPort)
	var err error
	if s.hooks, err = newHookProxy(s.apiBase); err != nil {
		return nil, err
	}
	for _, d := range []string{"logs", "bin", "minio"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, err
		}
	}
	steps := []struct {
		what string
		fn   func(context.Context) error
	}{
		{"build the programs", s.build},
		{"the bank's webhook receiver", s.setupBank},
		{"PostgreSQL", s.setupPostgres},
		{"MinIO", s.setupMinIO},
		{"Temporal dev server", s.setupTemporal},
		{"the engine", s.setupPrograms},
	}
	for _, st := range steps {
		start := time.Now()
		if err := st.fn(ctx); err != nil {
			s.close()
			return nil, fmt.Errorf("%s: %w", st.what, err)
		}
		log.Info("ready", "part", st.what, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return s, nil
}

func (s *stack) setupBank(context.Context) error {
	b, err := newBank()
	s.bank = b
	return err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *stack) logPath(name string) string { return filepath.Join(s.dir, "logs", name+".log") }

func (s *stack) build(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(s.dir, "bin")+"/", "./api/server", "./worker", "./cmd/simulator") // #nosec G204 -- fixed packages into the driver's own folder
	cmd.Dir = s.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// tool returns a pinned tool built by scripts/tools.sh, building it first
// if needed (minutes, once per machine).
func (s *stack) tool(ctx context.Context, name string) (string, error) {
	path := filepath.Join(s.root, ".cache", "bin", name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	s.log.Info("building the pinned tools (first time only)", "tool", name)
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "scripts", "tools.sh"), name) // #nosec G204 -- the repository's own script
	cmd.Dir = s.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/tools.sh %s: %w\n%s", name, err, out)
	}
	return path, nil
}

// pgBinDir finds the PostgreSQL server programs (the Debian layout first).
func pgBinDir() (string, error) {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return filepath.Dir(m[len(m)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL is not installed (no initdb); `make services` installs it")
}

// postgresCred is the postgres user when we are root: PostgreSQL refuses
// to run as root.
func postgresCred() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil // #nosec G115 -- ids of a system user
}

func (s *stack) setupPostgres(ctx context.Context) error {
	bin, err := pgBinDir()
	if err != nil {
		return err
	}
	cred, err := postgresCred()
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "pg")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(data, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		// The data folder's parents must let the postgres user through.
		if err := os.Chmod(s.dir, 0o755); err != nil { // #nosec G302 -- a folder of throwaway test data
			return err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync") // #nosec G204 -- the system's initdb
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Durability settings off as in scripts/services.sh: a throwaway
	// database, and the CPU is the limit on this machine. A stop (SIGINT,
	// fast shutdown) still checkpoints, so the stop-and-start fault loses
	// nothing that was committed.
	s.procs[namePostgres] = &proc{
		name: namePostgres, path: filepath.Join(bin, "postgres"), logPath: s.logPath(namePostgres), cred: cred,
		args: []string{"-D", data, "-p", strconv.Itoa(s.pgPort), "-k", data, "-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
		env: os.Environ(),
	}
	if err := s.startPostgres(ctx); err != nil {
		return err
	}
	s.db, err = sql.Open("pgx", s.dsn)
	return err
}

func (s *stack) startPostgres(ctx context.Context) error {
	if err := s.procs[namePostgres].start(); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "PostgreSQL", func() error {
		db, err := sql.Open("pgx", s.dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	})
}

func (s *stack) stopPostgres() { s.procs[namePostgres].stop(syscall.SIGINT, 30*time.Second) }

func (s *stack) setupMinIO(ctx context.Context) error {
	path, err := s.tool(ctx, "minio")
	if err != nil {
		return err
	}
	console, err := freePort()
	if err != nil {
		return err
	}
	env := append(os.Environ(), "MINIO_ROOT_USER="+s3AccessKey, "MINIO_ROOT_PASSWORD="+s3SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	s.procs[nameMinIO] = &proc{
		name: nameMinIO, path: path, logPath: s.logPath(nameMinIO), env: env,
		args: []string{"server", "--quiet", "--address", s.s3Endpoint, "--console-address", "127.0.0.1:" + strconv.Itoa(console),
			filepath.Join(s.dir, "minio")},
	}
	return s.startMinIO(ctx)
}

func (s *stack) startMinIO(ctx context.Context) error {
	if err := s.procs[nameMinIO].start(); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "MinIO", func() error {
		return httpOK(ctx, "http://"+s.s3Endpoint+"/minio/health/ready")
	})
}

func (s *stack) stopMinIO() { s.procs[nameMinIO].stop(syscall.SIGTERM, 20*time.Second) }

func (s *stack) setupTemporal(ctx context.Context) error {
	path, err := s.tool(ctx, "temporal")
	if err != nil {
		return err
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(s.temporalPort), "--headless",
		"--namespace", "default", "--db-filename", filepath.Join(s.dir, "temporal.db"),
		"--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL",
		"--dynamic-config-value", "system.enableActivityEagerExecution=true", "--log-level", "warn"}
	attrs, err := searchAttributes(filepath.Join(s.root, "scripts", "search-attributes.txt"))
	if err != nil {
		return err
	}
	for _, a := range attrs {
		args = append(args, "--search-attribute", a)
	}
	s.procs[nameTemporal] = &proc{name: nameTemporal, path: path, args: args, logPath: s.logPath(nameTemporal), env: os.Environ()}
	return s.startTemporal(ctx)
}

// searchAttributes reads the NAME=TYPE lines that scripts/services.sh
// registers too.
func searchAttributes(path string) ([]string, error) {
	f, err := os.Open(path) // #nosec G304 -- a file of the repository
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

func (s *stack) startTemporal(ctx context.Context) error {
	if err := s.procs[nameTemporal].start(); err != nil {
		return err
	}
	return waitFor(ctx, 120*time.Second, "Temporal", func() error { return s.temporalServes(ctx) })
}

// temporalServes: the frontend answers for the namespace.
func (s *stack) temporalServes(ctx context.Context) error {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: s.temporalAddr, Logger: quietTemporal()})
	if err != nil {
		return err
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = nc.Describe(cctx, "default")
	return err
}

func (s *stack) stopTemporal() { s.procs[nameTemporal].stop(syscall.SIGTERM, 30*time.Second) }

func quietTemporal() temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}

// programEnv is the environment of the engine's programs: like `make dev`
// with every part pointed at this stack.
func (s *stack) programEnv() []string {
	env := map[string]string{
		"VKYC_ENV": "development", "LOG_LEVEL": "info", "VKYC_DATA_DIR": s.dir,
		"HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", s.apiPort), "PUBLIC_BASE_URL": s.apiBase,
		"WORKER_HTTP_ADDR": "127.0.0.1:0", // two workers in the two-replica class
		"API_JWT_SECRET":   authSecret, "DATABASE_URL": s.dsn,
		"S3_ENDPOINT": s.s3Endpoint, "S3_ACCESS_KEY": s3AccessKey, "S3_SECRET_KEY": s3SecretKey, "S3_BUCKET": bucket,
		"TEMPORAL_ADDRESS": s.temporalAddr, "TEMPORAL_NAMESPACE": "default", "TEMPORAL_TASK_QUEUE": taskQueue,
		"HMS_BASE_URL": s.simBase + "/v2", "HMS_ACCESS_KEY": hmsAccessKey, "HMS_APP_SECRET": hmsAppSecret,
		"HMS_WEBHOOK_HEADER": webhookHeader, "HMS_WEBHOOK_SECRET": webhookSecret,
		"HMSSIM_ADDR": fmt.Sprintf("127.0.0.1:%d", s.simPort), "HMSSIM_WEBHOOK_URL": s.hooks.base + "/v1/webhooks/100ms",
		// Short media delays, as in internal/testkit/e2e: the faults, not the
		// waiting, are what this measures. The webhook retry schedule is
		// 100ms's own (1 s, 3 s, 10 s).
		"HMSSIM_RECORDING_START_DELAY": "300ms", "HMSSIM_RECORDING_READY_DELAY": "1s",
		// The reconciler ends cases an operator terminated; at its 1-minute
		// default the batch would mostly wait for it.
		"RECONCILE_INTERVAL": "2s",
	}
	for k, v := range bankEnv(s.bank.url()) {
		env[k] = v
	}
	out := []string{}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		// Nothing of the caller's configuration leaks in.
		if _, ours := env[name]; !ours && !strings.HasPrefix(name, "TEMPORAL_") && !strings.HasPrefix(name, "HMS") &&
			!strings.HasPrefix(name, "S3_") && !strings.HasPrefix(name, "CASE_") && !strings.HasPrefix(name, "CAPTURE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (s *stack) setupPrograms(ctx context.Context) error {
	env := s.programEnv()
	for _, name := range []string{nameWorker, nameAPI, nameSimulator} {
		bin := name
		if name == nameAPI {
			bin = "server"
		}
		s.procs[name] = &proc{name: name, path: filepath.Join(s.dir, "bin", bin), env: env, logPath: s.logPath(name)}
	}
	// The second replicas are started by the two-replica class only.
	env2 := slices.Clone(env)
	for i, kv := range env2 {
		if strings.HasPrefix(kv, "HTTP_ADDR=") {
			env2[i] = fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", s.api2Port)
		}
	}
	s.procs[nameAPI2] = &proc{name: nameAPI2, path: filepath.Join(s.dir, "bin", "server"), env: env2, logPath: s.logPath(nameAPI2)}
	s.procs[nameWorker2] = &proc{name: nameWorker2, path: filepath.Join(s.dir, "bin", "worker"), env: env, logPath: s.logPath(nameWorker2)}
	// The worker runs the migrations and creates the bucket that the API
	// and the simulator need.
	for _, name := range []string{nameWorker, nameAPI, nameSimulator} {
		if err := s.startProgram(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// startProgram starts one of the engine's programs and waits until it
// answers: the API's /readyz, the simulator's fault endpoint, the worker's
// first poll (approximated by the log line it writes when it starts).
func (s *stack) startProgram(ctx context.Context, name string) error {
	p := s.procs[name]
	if err := p.start(); err != nil {
		return err
	}
	switch name {
	case nameAPI:
		return waitFor(ctx, 90*time.Second, "the API", func() error { return httpOK(ctx, s.apiBase+"/healthz") })
	case nameAPI2:
		return waitFor(ctx, 90*time.Second, "the second API", func() error { return httpOK(ctx, s.api2Base+"/healthz") })
	case nameSimulator:
		return waitFor(ctx, 30*time.Second, "the simulator", func() error { return httpOK(ctx, s.simBase+"/sim/v1/faults") })
	default:
		return waitFor(ctx, 90*time.Second, "the worker", func() error {
			b, err := os.ReadFile(p.logPath)
			if err != nil {
				return err
			}
			if strings.Count(string(b), `"worker starting"`) < p.starts {
				return fmt.Errorf("not started yet")
			}
			return nil
		})
	}
}

func (s *stack) close() {
	if s.bank != nil {
		s.bank.close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
	if s.external != nil {
		s.external.stop()
	}
	if s.hooks != nil {
		s.hooks.close()
	}
	for _, name := range []string{nameSimulator, nameAPI2, nameAPI, nameWorker2, nameWorker, nameTemporal, nameMinIO} {
		if p := s.procs[name]; p != nil {
			p.stop(syscall.SIGTERM, 20*time.Second)
		}
	}
	if p := s.procs[namePostgres]; p != nil {
		p.stop(syscall.SIGINT, 20*time.Second) // fast shutdown; SIGTERM would wait for clients
	}
}

func httpOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}

// waitFor polls check until it succeeds, the context ends or limit passes.
func waitFor(ctx context.Context, limit time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", what, limit, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
