package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// DevStore is the development object store that `make dev` runs when
// S3_ENDPOINT is unset: the pinned MinIO server that scripts/tools.sh builds
// for the tests too, so development verifies signatures, presigned URLs'
// expiry and upload integrity exactly as the tests' MinIO does, with no S3
// code of ours. MinIO is AGPL: it runs as a separate process and is never
// imported.
type DevStore struct {
	// Binary is the MinIO server (.cache/bin/minio).
	Binary string
	// Addr is host:port to listen on; Dir holds the objects, across
	// restarts.
	Addr, Dir string
	// AccessKey and SecretKey become MinIO's root credentials: the only
	// ones it accepts.
	AccessKey, SecretKey string
	// Buckets are created if missing.
	Buckets []string
	// Log receives MinIO's output; nil discards it.
	Log io.Writer
}

// devStoreReady bounds MinIO's start (about a second here).
const devStoreReady = 60 * time.Second

// Start runs MinIO and returns once it answers and the buckets exist. stop
// ends it (SIGTERM, then SIGKILL after 10 s) and waits; it is idempotent and
// also runs when ctx ends.
func (d DevStore) Start(ctx context.Context) (stop func(), err error) {
	if d.Dir == "" {
		return nil, errors.New("blob: the development store needs a directory")
	}
	for _, b := range d.Buckets {
		if err := ValidBucketName(b); err != nil {
			return nil, fmt.Errorf("blob: development store: %w", err)
		}
	}
	if len(d.AccessKey) < 3 || len(d.SecretKey) < 8 {
		return nil, errors.New("blob: development store: MinIO needs an access key of 3 or more characters and a secret key of 8 or more")
	}
	dir, err := filepath.Abs(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("blob: development store directory %q: %w", d.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: development store directory %q: %w", dir, err)
	}
	// MinIO would say the same, but only in its log.
	ln, err := net.Listen("tcp", d.Addr)
	if err != nil {
		return nil, fmt.Errorf("blob: development store: listen on %s: %w", d.Addr, err)
	}
	_ = ln.Close()

	var out tail
	logTo := io.Writer(&out)
	if d.Log != nil {
		logTo = io.MultiWriter(d.Log, &out)
	}
	// #nosec G204 -- the MinIO binary of this checkout's tools, with arguments we build.
	cmd := exec.Command(d.Binary, "server", "--quiet", "--address", d.Addr, dir)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+d.AccessKey, "MINIO_ROOT_PASSWORD="+d.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	cmd.Stdout, cmd.Stderr = logTo, logTo
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("blob: start the development store (%s): %w", d.Binary, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-exited:
		}
	}()
	if err := d.await(ctx, exited, &out); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// await waits for MinIO to answer, then creates the buckets.
func (d DevStore) await(ctx context.Context, exited <-chan struct{}, out *tail) error {
	ready := "http://" + d.Addr + "/minio/health/ready"
	deadline := time.Now().Add(devStoreReady)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		if err != nil {
			return fmt.Errorf("blob: development store: %w", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("blob: the development store (MinIO) exited while starting: %s", out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("blob: the development store did not answer on %s within %s: %s", d.Addr, devStoreReady, out.String())
		}
	}
	c, err := minio.New(d.Addr, &minio.Options{Creds: credentials.NewStaticV4(d.AccessKey, d.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		return fmt.Errorf("blob: development store client: %w", err)
	}
	for _, b := range d.Buckets {
		err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{})
		if err != nil && s3Code(err) != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("blob: development store: create bucket %q: %w", b, err)
		}
	}
	return nil
}

// tail keeps the last 2 KiB written, to quote a failed start.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2048 {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-2048:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
