package blob

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// The development store's credentials in these tests; any that MinIO
// accepts will do (internal/platform/config chooses the real ones).
//
// #nosec G101 -- test credentials of a throwaway local server.
const (
	devAccessKey = "vkyc-dev-test"
	devSecretKey = "vkyc-dev-test-secret"
)

func TestMain(m *testing.M) {
	code := m.Run()
	sharedDev.stop()
	os.Exit(code)
}

// devProcess is a running development store (a MinIO process of its own,
// so that its allocations never count in the client-side memory
// measurements).
type devProcess struct {
	addr string
	stop func()
}

// startDevStore runs the development store on a free port with its data in
// dir, as `make dev` runs it (cmd/devs3), with the bucket "preexisting".
func startDevStore(t testing.TB, dir string) (*devProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	stop, err := DevStore{Binary: testenv.MinIOBinary(t), Addr: addr, Dir: dir,
		AccessKey: devAccessKey, SecretKey: devSecretKey, Buckets: []string{"preexisting"}}.Start(context.Background())
	if err != nil {
		return nil, err
	}
	return &devProcess{addr: addr, stop: stop}, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// sharedDev is one development store for the whole package run; every test
// still gets its own bucket.
type sharedStore struct {
	once sync.Once
	dir  string
	proc *devProcess
	err  error
}

var sharedDev sharedStore

func (s *sharedStore) stop() {
	if s.proc != nil {
		s.proc.stop()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func devEndpoint(t testing.TB) string {
	t.Helper()
	sharedDev.once.Do(func() {
		sharedDev.dir, sharedDev.err = os.MkdirTemp("", "vkyc-blob-dev-")
		if sharedDev.err != nil {
			return
		}
		sharedDev.proc, sharedDev.err = startDevStore(t, sharedDev.dir)
	})
	if sharedDev.err != nil {
		t.Fatalf("development store: %v", sharedDev.err)
	}
	return sharedDev.proc.addr
}
