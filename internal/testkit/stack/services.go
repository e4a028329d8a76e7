package stack

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the readiness check
	"go.temporal.io/sdk/client"
	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// OwnServices are PostgreSQL, MinIO and the Temporal dev server (on a
// database file, so that it keeps its workflows across a restart) as child
// processes on ports of their own, for the fault suite, which stops and
// starts each of them: the services of scripts/services.sh are shared by
// every test of `make test` and must never go down. They run as
// scripts/services.sh runs them, from the same pinned tools and search
// attributes file.
type OwnServices struct {
	Services testenv.Services
	parts    map[string]*ownPart
}

// The services' names, as Part, Start and Stop take them.
const (
	Postgres = "postgres"
	MinIO    = "minio"
	Temporal = "temporal"
)

// ownPart is one service: its process, how it is stopped and when it is
// ready.
type ownPart struct {
	p     *Process
	stop  syscall.Signal
	grace time.Duration
	limit time.Duration
	ready func(context.Context) error
}

// The MinIO credentials of OwnServices, throwaway values on loopback.
const (
	OwnS3AccessKey = "stackminio"
	OwnS3SecretKey = "stackminio-secret" // #nosec G101 -- throwaway value of a loopback test stack
)

// StartServices starts PostgreSQL, MinIO and Temporal in dir (data and
// logs) and waits until each serves.
func StartServices(ctx context.Context, root, dir string, log *slog.Logger) (*OwnServices, error) {
	ports, err := LowPorts(4)
	if err != nil {
		return nil, err
	}
	pgPort, minioPort, consolePort, temporalPort := ports[0], ports[1], ports[2], ports[3]
	o := &OwnServices{parts: map[string]*ownPart{}, Services: testenv.Services{
		DatabaseURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pgPort),
		S3:          testenv.S3{Endpoint: fmt.Sprintf("127.0.0.1:%d", minioPort), AccessKey: OwnS3AccessKey, SecretKey: OwnS3SecretKey},
		Temporal:    fmt.Sprintf("127.0.0.1:%d", temporalPort),
	}}
	steps := []struct {
		what string
		fn   func() error
	}{
		{"PostgreSQL", func() error { return o.setupPostgres(ctx, dir, pgPort) }},
		{"MinIO", func() error { return o.setupMinIO(ctx, root, dir, consolePort) }},
		{"Temporal dev server", func() error { return o.setupTemporal(ctx, root, dir) }},
	}
	for _, st := range steps {
		start := time.Now()
		if err := st.fn(); err != nil {
			o.Close()
			return nil, fmt.Errorf("%s: %w", st.what, err)
		}
		log.Info("ready", "part", st.what, "took", time.Since(start).Round(time.Millisecond).String())
	}
	return o, nil
}

// Tool returns a pinned tool built by scripts/tools.sh, building it first
// if needed (minutes, once per machine).
func Tool(ctx context.Context, root, name string) (string, error) {
	path := filepath.Join(root, ".cache", "bin", name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "tools.sh"), name) // #nosec G204 -- the repository's own script
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/tools.sh %s: %w\n%s", name, err, out)
	}
	return path, nil
}

// PostgresBinDir finds the PostgreSQL server programs (the Debian layout
// first).
func PostgresBinDir() (string, error) {
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

func (o *OwnServices) setupPostgres(ctx context.Context, dir string, port int) error {
	bin, err := PostgresBinDir()
	if err != nil {
		return err
	}
	cred, err := postgresCred()
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "pg")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(data, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		// The data folder's parents must let the postgres user through.
		if err := os.Chmod(dir, 0o755); err != nil { // #nosec G302 -- a folder of throwaway test data
			return err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync") // #nosec G204 -- the system's initdb
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// Durability settings off as in scripts/services.sh: a throwaway
	// database, and the CPU is the limit. A stop (SIGINT, fast shutdown)
	// still checkpoints, so a stop and start loses nothing committed.
	o.Services.PGData = data
	// SIGINT is a fast shutdown; SIGTERM would wait for the clients.
	return o.add(ctx, &ownPart{stop: syscall.SIGINT, grace: 30 * time.Second, limit: time.Minute, p: &Process{
		Name: Postgres, Path: filepath.Join(bin, "postgres"), LogPath: filepath.Join(dir, "logs", "postgres.log"), Cred: cred,
		Args: []string{"-D", data, "-p", strconv.Itoa(port), "-k", data, "-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
		Env: BaseEnv(),
	}, ready: func(ctx context.Context) error {
		db, err := sql.Open("pgx", o.Services.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	}})
}

// add starts a part and keeps it.
func (o *OwnServices) add(ctx context.Context, pt *ownPart) error {
	o.parts[pt.p.Name] = pt
	return o.Start(ctx, pt.p.Name)
}

// Part is the process of a service (nil for another name).
func (o *OwnServices) Part(name string) *Process {
	if pt := o.parts[name]; pt != nil {
		return pt.p
	}
	return nil
}

// Start starts a service (again, on its data) and waits until it serves.
func (o *OwnServices) Start(ctx context.Context, name string) error {
	pt := o.parts[name]
	if err := pt.p.Start(); err != nil {
		return err
	}
	return WaitFor(ctx, pt.limit, name, pt.p, func() error { return pt.ready(ctx) })
}

// Stop stops a service as its operator would.
func (o *OwnServices) Stop(name string) {
	if pt := o.parts[name]; pt != nil {
		pt.p.Stop(pt.stop, pt.grace)
	}
}

func (o *OwnServices) setupMinIO(ctx context.Context, root, dir string, console int) error {
	path, err := Tool(ctx, root, "minio")
	if err != nil {
		return err
	}
	data := filepath.Join(dir, "minio")
	if err := os.MkdirAll(data, 0o750); err != nil {
		return err
	}
	o.Services.MinIOData = data
	return o.add(ctx, &ownPart{stop: syscall.SIGTERM, grace: 20 * time.Second, limit: time.Minute, p: &Process{
		Name: MinIO, Path: path, LogPath: filepath.Join(dir, "logs", "minio.log"),
		Env: append(BaseEnv(), "MINIO_ROOT_USER="+o.Services.S3.AccessKey, "MINIO_ROOT_PASSWORD="+o.Services.S3.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1"),
		Args: []string{"server", "--quiet", "--address", o.Services.S3.Endpoint, "--console-address", "127.0.0.1:" + strconv.Itoa(console), data},
	}, ready: func(ctx context.Context) error {
		return HTTPOK(ctx, "http://"+o.Services.S3.Endpoint+"/minio/health/ready")
	}})
}

func (o *OwnServices) setupTemporal(ctx context.Context, root, dir string) error {
	path, err := Tool(ctx, root, "temporal")
	if err != nil {
		return err
	}
	_, port, _ := strings.Cut(o.Services.Temporal, ":")
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", port, "--headless",
		"--namespace", "default", "--db-filename", filepath.Join(dir, "temporal.db"),
		"--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=NORMAL",
		"--dynamic-config-value", "system.enableActivityEagerExecution=true", "--log-level", "warn"}
	attrs, err := searchAttributes(filepath.Join(root, "scripts", "search-attributes.txt"))
	if err != nil {
		return err
	}
	for _, a := range attrs {
		args = append(args, "--search-attribute", a)
	}
	return o.add(ctx, &ownPart{stop: syscall.SIGTERM, grace: 30 * time.Second, limit: 2 * time.Minute,
		p:     &Process{Name: Temporal, Path: path, Args: args, LogPath: filepath.Join(dir, "logs", "temporal.log"), Env: BaseEnv()},
		ready: func(ctx context.Context) error { return TemporalServes(ctx, o.Services.Temporal) }})
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

// Close stops the three services.
func (o *OwnServices) Close() {
	for _, n := range []string{Temporal, MinIO, Postgres} {
		o.Stop(n)
	}
}

// TemporalServes is nil when the frontend at addr answers for the default
// namespace.
func TemporalServes(ctx context.Context, addr string) error {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr, Logger: QuietTemporal()})
	if err != nil {
		return err
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = nc.Describe(cctx, "default")
	return err
}

// QuietTemporal keeps the Temporal SDK's routine messages out of the
// callers' output.
func QuietTemporal() temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}
