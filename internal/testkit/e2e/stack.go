// Package e2e runs the engine as its users do: the API, the worker and the
// 100ms simulator as separate processes built from this repository, against
// the real PostgreSQL, MinIO and Temporal dev server of internal/testkit/testenv.
// Tests drive cases over HTTP only.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// Programs built once per test binary.
const (
	ProgramAPI       = "api"
	ProgramWorker    = "worker"
	ProgramSimulator = "simulator"
	// ProgramOIDC is the development OpenID Connect provider, started
	// with Options.OIDC.
	ProgramOIDC = "devoidc"
)

var packages = map[string]string{
	ProgramAPI:       "./api/server",
	ProgramWorker:    "./worker",
	ProgramSimulator: "./cmd/simulator",
	ProgramOIDC:      "./cmd/devoidc",
}

// Secrets the stack runs with. They are test values, and the log checks
// search the processes' output for them.
//
// #nosec G101 -- throwaway values of the test stack, never used elsewhere.
const (
	AuthSecret    = "e2e-api-jwt-secret-0123456789abcdef"
	HMSAccessKey  = "e2e-access-key"
	HMSAppSecret  = "e2e-app-secret-0123456789abcdef"
	WebhookHeader = "X-Vkyc-Webhook-Secret"
	WebhookSecret = "e2e-webhook-secret-0123456789"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// build compiles the three programs into a folder shared by every test of
// the process.
func build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		binDir, err = os.MkdirTemp("", "vkyc-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		for name, pkg := range packages {
			if name == ProgramOIDC {
				continue // built when a stack asks for it (buildOIDC)
			}
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg) // #nosec G204 -- fixed package list, temporary output folder
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// Options adjust a stack.
type Options struct {
	// Env is added to every program's environment (e.g. case timeouts).
	Env map[string]string
	// SimEnv is added to the simulator's environment (delays, faults).
	SimEnv map[string]string
	// OIDC starts the development OpenID Connect provider (users
	// agent-7, agent-9, auditor-3, admin-1 with OIDCPassword) and points
	// the API's single sign-on at it (OIDCBase).
	OIDC bool
}

// OIDCPassword is the password of the stack's identity provider's users.
//
// #nosec G101 -- a throwaway value of the test stack.
const OIDCPassword = "e2e-idp-password"

// OIDCVariables are the API's single sign-on settings, for a test that
// restarts the API without them.
var OIDCVariables = []string{"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_ROLE_MAP", "OIDC_SCOPES"}

// Stack is one running engine with its own database, bucket and task queue.
type Stack struct {
	APIBase, SimBase string
	// OIDCBase is the identity provider's issuer URL (Options.OIDC).
	OIDCBase        string
	Bucket          string
	TaskQueue       string
	TemporalAddress string
	S3              testenv.S3
	// DatabaseURL is the stack's own PostgreSQL database, for tests that
	// check or arrange rows directly.
	DatabaseURL string

	t     testing.TB
	bin   string
	env   []string
	procs map[string]*Process
	dir   string
}

// Process is one running program; its output goes to Log.
type Process struct {
	Name string
	Log  *SyncBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

// SyncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start builds the programs if needed and starts worker, API and simulator.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	s := &Stack{
		t:               t,
		bin:             build(t),
		procs:           map[string]*Process{},
		dir:             t.TempDir(),
		Bucket:          testenv.RandomName("e2e-"),
		TaskQueue:       testenv.RandomName("e2e-q-"),
		TemporalAddress: testenv.Temporal(t),
		S3:              testenv.MinIO(t),
		DatabaseURL:     testenv.Postgres(t),
	}
	apiAddr, simAddr := freeAddr(t), freeAddr(t)
	s.APIBase, s.SimBase = "http://"+apiAddr, "http://"+simAddr
	env := map[string]string{
		"VKYC_ENV":                     "development",
		"LOG_LEVEL":                    "debug",
		"VKYC_DATA_DIR":                s.dir,
		"HTTP_ADDR":                    apiAddr,
		"WORKER_HTTP_ADDR":             "127.0.0.1:0", // tests run in parallel: any free port
		"PUBLIC_BASE_URL":              s.APIBase,
		"API_JWT_SECRET":               AuthSecret,
		"DATABASE_URL":                 s.DatabaseURL,
		"S3_ENDPOINT":                  s.S3.Endpoint,
		"S3_ACCESS_KEY":                s.S3.AccessKey,
		"S3_SECRET_KEY":                s.S3.SecretKey,
		"S3_BUCKET":                    s.Bucket,
		"TEMPORAL_ADDRESS":             s.TemporalAddress,
		"TEMPORAL_NAMESPACE":           "default",
		"TEMPORAL_TASK_QUEUE":          s.TaskQueue,
		"HMS_BASE_URL":                 s.SimBase + "/v2",
		"HMS_ACCESS_KEY":               HMSAccessKey,
		"HMS_APP_SECRET":               HMSAppSecret,
		"HMS_WEBHOOK_HEADER":           WebhookHeader,
		"HMS_WEBHOOK_SECRET":           WebhookSecret,
		"HMSSIM_ADDR":                  simAddr,
		"HMSSIM_WEBHOOK_URL":           s.APIBase + "/v1/webhooks/100ms",
		"HMSSIM_RECORDING_START_DELAY": "300ms",
		"HMSSIM_RECORDING_READY_DELAY": "1s",
	}
	if o.OIDC {
		oidcAddr := freeAddr(t)
		s.OIDCBase = "http://" + oidcAddr
		env["OIDC_ISSUER"] = s.OIDCBase
		env["OIDC_CLIENT_ID"] = "vkyc-pages"
		env["OIDC_ROLE_MAP"] = "vkyc-agents=agent,vkyc-auditors=auditor,vkyc-admins=admin"
		env["OIDC_SCOPES"] = "openid profile"
	}
	for k, v := range o.Env {
		env[k] = v
	}
	s.env = os.Environ()
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	if o.OIDC {
		s.startOIDC()
	}
	// The worker creates the bucket (development mode) and runs the
	// migrations before the API and the simulator need either.
	s.StartProgram(ProgramWorker, nil)
	s.StartProgram(ProgramAPI, nil)
	s.waitReady(s.APIBase + "/readyz")
	s.StartProgram(ProgramSimulator, o.SimEnv)
	s.waitListening(simAddr)
	t.Cleanup(s.stopAll)
	return s
}

// StartProgram starts (or restarts) one program with extra environment.
func (s *Stack) StartProgram(name string, extra map[string]string) *Process {
	s.t.Helper()
	if p := s.procs[name]; p != nil && !p.exited() {
		s.t.Fatalf("%s is already running", name)
	}
	p := &Process{Name: name, Log: &SyncBuffer{}, done: make(chan struct{})}
	if old := s.procs[name]; old != nil {
		p.Log = old.Log // one log per program across restarts
	}
	p.cmd = exec.Command(filepath.Join(s.bin, name)) // #nosec G204 -- one of the programs built above
	p.cmd.Env = append([]string{}, s.env...)
	for k, v := range extra {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	s.procs[name] = p
	return p
}

// Kill stops a program with SIGKILL: no shutdown code runs.
func (s *Stack) Kill(name string) {
	s.t.Helper()
	p := s.procs[name]
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop stops a program with SIGTERM and waits for its graceful shutdown.
func (s *Stack) Stop(name string) {
	p := s.procs[name]
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Logs returns everything a program has written so far.
func (s *Stack) Logs(name string) string {
	if p := s.procs[name]; p != nil {
		return p.Log.String()
	}
	return ""
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (s *Stack) stopAll() {
	for _, name := range []string{ProgramSimulator, ProgramAPI, ProgramWorker, ProgramOIDC} {
		s.Stop(name)
	}
	if s.t.Failed() {
		for _, name := range []string{ProgramWorker, ProgramAPI, ProgramSimulator, ProgramOIDC} {
			s.t.Logf("---- %s log (last 6000 bytes) ----\n%s", name, tail(s.Logs(name), 6000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func (s *Stack) waitReady(url string) {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil { // #nosec G107 -- the stack's own loopback address
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		for name, p := range s.procs {
			if p.exited() {
				s.t.Fatalf("%s exited during start:\n%s", name, p.Log.String())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%s not ready after 90s", url)
}

func (s *Stack) waitListening(addr string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close() // only probing
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("nothing listens on %s after 30s", addr)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Secrets lists the values that must never appear in any log.
func Secrets() []string {
	return []string{AuthSecret, HMSAppSecret, WebhookSecret, OIDCPassword}
}

// HasAny reports which of needles occur in haystack.
func HasAny(haystack string, needles ...string) []string {
	var found []string
	for _, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			found = append(found, n)
		}
	}
	return found
}

var (
	oidcOnce     sync.Once
	oidcBuildErr error
)

// buildOIDC builds the identity provider once, for the stacks that start it.
func (s *Stack) buildOIDC() {
	s.t.Helper()
	oidcOnce.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			oidcBuildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(s.bin, ProgramOIDC), packages[ProgramOIDC]) // #nosec G204 -- fixed package, the stack's binary folder
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			oidcBuildErr = fmt.Errorf("go build %s: %w\n%s", packages[ProgramOIDC], err, out)
		}
	})
	if oidcBuildErr != nil {
		s.t.Fatal(oidcBuildErr)
	}
}

// startOIDC starts the identity provider with the pages as its client.
func (s *Stack) startOIDC() {
	s.t.Helper()
	s.buildOIDC()
	p := &Process{Name: ProgramOIDC, Log: &SyncBuffer{}, done: make(chan struct{})}
	addr := strings.TrimPrefix(s.OIDCBase, "http://")
	// #nosec G204 -- the program built above with the stack's own addresses
	p.cmd = exec.Command(filepath.Join(s.bin, ProgramOIDC), "-addr", addr, "-password", OIDCPassword,
		"-redirect", s.APIBase+"/app/agent,"+s.APIBase+"/app/audit")
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", ProgramOIDC, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	s.procs[ProgramOIDC] = p
	s.waitListening(addr)
}
