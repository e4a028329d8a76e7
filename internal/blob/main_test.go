package blob

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// The embedded store runs in a child process (this test binary re-executed)
// so that its own allocations, such as gofakes3 holding multipart parts in
// memory, never count in the client-side memory measurements, and so that
// ServeEmbedded is exercised exactly as `make dev` uses it.
const (
	envChildAddr = "VKYC_BLOB_TEST_EMBEDDED_ADDR"
	envChildDir  = "VKYC_BLOB_TEST_EMBEDDED_DIR"
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(envChildAddr); addr != "" {
		os.Exit(runEmbeddedChild(addr, os.Getenv(envChildDir)))
	}
	code := m.Run()
	sharedEmbedded.stop()
	os.Exit(code)
}

// runEmbeddedChild serves until its stdin closes, which also happens when the
// parent test process dies, so no server outlives the tests.
func runEmbeddedChild(addr, dir string) int {
	stop, err := ServeEmbedded(context.Background(), addr, dir, "preexisting")
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded child:", err)
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	return 0
}

// embeddedProcess is a running child embedded store.
type embeddedProcess struct {
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startEmbeddedProcess(dir string) (*embeddedProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildAddr+"="+addr, envChildDir+"="+dir)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start embedded child: %w", err)
	}
	p := &embeddedProcess{addr: addr, cmd: cmd, stdin: stdin}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("embedded child did not listen on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *embeddedProcess) stop() {
	if p == nil {
		return
	}
	p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// sharedEmbedded is one child store for the whole package run; every test
// still gets its own bucket.
type sharedChild struct {
	once sync.Once
	dir  string
	proc *embeddedProcess
	err  error
}

var sharedEmbedded sharedChild

func (s *sharedChild) stop() {
	s.proc.stop()
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func embeddedEndpoint(t testing.TB) string {
	t.Helper()
	sharedEmbedded.once.Do(func() {
		sharedEmbedded.dir, sharedEmbedded.err = os.MkdirTemp("", "vkyc-blob-embedded-")
		if sharedEmbedded.err != nil {
			return
		}
		sharedEmbedded.proc, sharedEmbedded.err = startEmbeddedProcess(sharedEmbedded.dir)
	})
	if sharedEmbedded.err != nil {
		t.Fatalf("embedded store: %v", sharedEmbedded.err)
	}
	return sharedEmbedded.proc.addr
}
