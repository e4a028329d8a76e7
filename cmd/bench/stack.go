package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	temporallog "go.temporal.io/sdk/log"

	"github.com/vkyc-engine/vkyc/internal/testkit/stack/pprofhook"
)

// services are the real services scripts/services.sh started, found through
// the same variables the integration tests read.
type services struct {
	DatabaseURL string
	S3Endpoint  string
	S3Access    string
	S3Secret    string
	Temporal    string
	TemporalPID int    // 0 when unknown
	PGData      string // "" when unknown
	MinIOData   string
}

func servicesFromEnv() (services, error) {
	s := services{
		DatabaseURL: os.Getenv("VKYC_TEST_DATABASE_URL"),
		S3Endpoint:  os.Getenv("VKYC_TEST_S3_ENDPOINT"),
		S3Access:    os.Getenv("VKYC_TEST_S3_ACCESS_KEY"),
		S3Secret:    os.Getenv("VKYC_TEST_S3_SECRET_KEY"),
		Temporal:    os.Getenv("VKYC_TEST_TEMPORAL_ADDRESS"),
		PGData:      os.Getenv("VKYC_TEST_PG_DATA"),
		MinIOData:   os.Getenv("VKYC_TEST_MINIO_DATA"),
	}
	if pid, err := strconv.Atoi(os.Getenv("VKYC_TEST_TEMPORAL_PID")); err == nil {
		s.TemporalPID = pid // for CPU accounting only; 0 when unknown
	}
	var missing []string
	for name, v := range map[string]string{
		"VKYC_TEST_DATABASE_URL": s.DatabaseURL, "VKYC_TEST_S3_ENDPOINT": s.S3Endpoint,
		"VKYC_TEST_S3_ACCESS_KEY": s.S3Access, "VKYC_TEST_S3_SECRET_KEY": s.S3Secret,
		"VKYC_TEST_TEMPORAL_ADDRESS": s.Temporal,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("%s not set: run through `make bench` (scripts/services.sh run -- ...)", strings.Join(missing, ", "))
	}
	return s, nil
}

// binaries are the engine's programs, built once per run from this
// checkout.
type binaries struct{ API, Worker, Simulator string }

// overlayImport is the one file added to each program's main package at
// build time (see internal/testkit/stack/pprofhook).
const overlayImport = "package main\n\nimport _ \"github.com/vkyc-engine/vkyc/internal/testkit/stack/pprofhook\"\n"

// buildPrograms builds api/server, worker and simulator with `go build`, each
// with the pprof hook added through an overlay so that the programs measured
// are exactly the ones that can be profiled.
//
// extra, when set, is a `go build -overlay` file whose replacements are added:
// a way to measure a change to code one does not own without editing it.
func buildPrograms(ctx context.Context, root, dir, extra string) (binaries, error) {
	hook := filepath.Join(dir, "pprof_hook.go")
	if err := os.WriteFile(hook, []byte(overlayImport), 0o600); err != nil {
		return binaries{}, fmt.Errorf("write the pprof hook: %w", err)
	}
	replace := map[string]string{}
	for _, pkg := range []string{"api/server", "worker", "cmd/simulator"} {
		replace[filepath.Join(root, pkg, "zz_bench_pprof.go")] = hook
	}
	if extra != "" {
		raw, err := os.ReadFile(extra) // #nosec G304 -- a file named on our command line
		if err != nil {
			return binaries{}, fmt.Errorf("-overlay: %w", err)
		}
		var more struct{ Replace map[string]string }
		if err := json.Unmarshal(raw, &more); err != nil {
			return binaries{}, fmt.Errorf("-overlay %s: %w", extra, err)
		}
		for k, v := range more.Replace {
			replace[k] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"Replace": replace})
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, b, 0o600); err != nil {
		return binaries{}, fmt.Errorf("write the build overlay: %w", err)
	}
	out := filepath.Join(dir, "bin") + string(filepath.Separator)
	cmd := exec.CommandContext(ctx, "go", "build", "-overlay", overlay, "-o", out, "./api/server", "./worker", "./cmd/simulator") // #nosec G204 -- the go tool on paths of our own work directory
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return binaries{}, fmt.Errorf("go build: %w", err)
	}
	return binaries{API: out + "server", Worker: out + "worker", Simulator: out + "simulator"}, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// proc is one child process of the benchmark.
type proc struct {
	name      string
	cmd       *exec.Cmd
	pprofAddr string
	logPath   string
	exited    chan struct{}
	waitErr   error
}

// startProc starts bin with exactly env (plus PATH and HOME): nothing of the
// caller's shell leaks into the measured programs' configuration. Output
// goes to <logDir>/<name>.log.
func startProc(name, bin string, args, env []string, logDir string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, pprofAddr: loopback(port), logPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...) // #nosec G204 -- programs this run built, or this binary itself
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		pprofhook.EnvAddr + "=" + p.pprofAddr}, env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close() // the start error is the one to report
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		_ = logFile.Close() // the child has exited; nothing more is written
		close(p.exited)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the programs' own drain (the worker allows
// running activities 30 s), then SIGKILL. Only this child is signalled.
func (p *proc) stop() {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(45 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitHTTP polls url until it answers 200, the process dies or the time is up.
func waitHTTP(ctx context.Context, p *proc, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close() // a readiness probe: only the status matters
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.alive() {
			return fmt.Errorf("%s exited during start-up (log: %s)", p.name, p.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %s within %s (log: %s)", p.name, url, within, p.logPath)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// profileCPU fetches a CPU profile of d from p's pprof hook into path.
func profileCPU(ctx context.Context, p *proc, d time.Duration, path string) error {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprofAddr, secs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Timeout: d + time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("profile %s: %w", p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: HTTP %d", p.name, resp.StatusCode)
	}
	f, err := os.Create(path) // #nosec G304 -- a path in our own work directory
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("profile %s: %w", p.name, err)
	}
	return nil
}

// quietTemporalLogger keeps the SDK's routine messages out of the figures'
// output; warnings still show.
func quietTemporalLogger() temporallog.Logger {
	return temporallog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
