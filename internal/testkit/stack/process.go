package stack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one child process that can be killed and started again with
// the same command line. Its output is appended to one log file across
// restarts. Children get SIGKILL if the parent dies, so a crashed test,
// suite or benchmark leaves nothing running.
type Process struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // exactly the child's environment (see BaseEnv)
	LogPath string
	// Cred runs the child as another user (PostgreSQL refuses root).
	Cred *syscall.Credential
	// PprofAddr is the loopback address of the pprof listener a profiled
	// build serves (Options.Profile); empty otherwise.
	PprofAddr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
}

// BaseEnv is what every child inherits from the caller: where programs and
// the home and temporary folders are, and nothing of its configuration.
func BaseEnv() []string {
	var out []string
	for _, name := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(name); ok {
			out = append(out, name+"="+v)
		}
	}
	return out
}

// Start starts the process; it fails if it is running.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !exited(p.done) {
		return fmt.Errorf("%s is already running", p.Name)
	}
	if err := os.MkdirAll(filepath.Dir(p.LogPath), 0o750); err != nil {
		return fmt.Errorf("%s log: %w", p.Name, err)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.Name, err)
	}
	if p.Cred != nil {
		// The file was created by us; the child writes it as its own user.
		_ = logf.Chown(int(p.Cred.Uid), int(p.Cred.Gid))
	}
	cmd := exec.Command(p.Path, p.Args...) // #nosec G204 -- programs built from this checkout or the pinned tools, with the stack's own arguments
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: p.Cred}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.starts++
	return nil
}

func exited(done chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Running reports whether the process is up.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !exited(p.done)
}

// PID is the process id of the last start (0 before the first).
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts counts the starts so far.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Kill sends SIGKILL and waits for the process to be gone: no shutdown
// code runs.
func (p *Process) Kill() { p.Stop(syscall.SIGKILL, 0) }

// Stop asks the process to end with sig and kills it if it is still there
// after grace.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || exited(done) {
		return
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = cmd.Process.Kill()
	}
	if sig == syscall.SIGKILL {
		<-done
		return
	}
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Logs returns everything the process has written so far, over all its
// starts.
func (p *Process) Logs() string {
	b, _ := os.ReadFile(p.LogPath) // #nosec G304 -- the stack's own log file
	return string(b)
}

// Tail is the last n bytes of the log.
func (p *Process) Tail(n int) string {
	s := p.Logs()
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// exitedNote says why a process is not there, for a readiness error.
func (p *Process) exitedNote() string {
	if p.Running() {
		return ""
	}
	return fmt.Sprintf("%s exited; the end of its log (%s):\n%s", p.Name, p.LogPath, strings.TrimSpace(p.Tail(3000)))
}
