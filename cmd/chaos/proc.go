package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is one child process that the driver can kill and start again with
// the same command line. Its output is appended to one log file across
// restarts. Children get SIGKILL if the driver itself dies, so a crashed
// run leaves nothing behind.
type proc struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string
	cred    *syscall.Credential // run as another user (PostgreSQL refuses root)

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !exited(p.done) {
		return fmt.Errorf("%s is already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.name, err)
	}
	if p.cred != nil {
		// The file was created by us; the child writes it as its own user.
		_ = logf.Chown(int(p.cred.Uid), int(p.cred.Gid))
	}
	cmd := exec.Command(p.path, p.args...) // #nosec G204 -- programs the driver built or the pinned tools, with its own arguments
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: p.cred}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
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

// running reports whether the process is up.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !exited(p.done)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.signalAndWait(syscall.SIGKILL, 0)
}

// stop asks the process to end with sig and kills it if it is still there
// after grace.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	p.signalAndWait(sig, grace)
}

func (p *proc) signalAndWait(sig syscall.Signal, grace time.Duration) {
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
