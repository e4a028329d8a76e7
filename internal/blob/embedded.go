package blob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
)

// The embedded store accepts exactly these credentials. It is a developer
// tool bound to loopback and refused in production (see internal/config), so
// fixed, public credentials are enough; what matters is that requests must be
// signed, so the service behaves as it does against MinIO: no anonymous
// reads, presigned URLs that expire.
//
// #nosec G101 -- public by design: the development store only, refused in production.
const (
	EmbeddedAccessKey = "vkyc-dev"
	EmbeddedSecretKey = "vkyc-dev-secret-key"
)

// NewEmbeddedServer returns an S3-compatible handler that keeps buckets and
// objects in files under dir (objects in dir/buckets, metadata in
// dir/metadata), so they survive restarts. Every request must carry an AWS
// Signature V4 made with EmbeddedAccessKey/EmbeddedSecretKey, in headers or
// as a presigned URL. Server-side encryption is refused (NotImplemented), as
// MinIO without a KMS does.
//
// Upload bodies are verified and spooled to dir/spool before they are
// stored, so a failed upload never leaves a truncated object. A limit that is
// fine for development: multipart parts are held in memory until the upload
// completes.
func NewEmbeddedServer(dir string) (http.Handler, error) {
	h, _, err := newEmbedded(dir)
	return h, err
}

func newEmbedded(dir string) (http.Handler, gofakes3.Backend, error) {
	if dir == "" {
		return nil, nil, errors.New("blob: embedded store needs a directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("blob: embedded store directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, nil, fmt.Errorf("blob: embedded store directory %q: %w", abs, err)
	}
	fs, err := s3afero.FsPath(abs, s3afero.FsPathCreateAll)
	if err != nil {
		return nil, nil, fmt.Errorf("blob: embedded store directory %q: %w", abs, err)
	}
	backend, err := s3afero.MultiBucket(fs)
	if err != nil {
		return nil, nil, fmt.Errorf("blob: embedded store in %q: %w", abs, err)
	}
	// Leftovers of a crash are partial uploads: never objects, safe to drop.
	// (One directory serves one embedded store at a time.)
	spoolDir := filepath.Join(abs, "spool")
	if err := os.RemoveAll(spoolDir); err != nil {
		return nil, nil, fmt.Errorf("blob: embedded store spool %q: %w", spoolDir, err)
	}
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("blob: embedded store spool %q: %w", spoolDir, err)
	}
	fake := gofakes3.New(backend,
		gofakes3.WithIntegrityCheck(true),
		gofakes3.WithLogger(slogAdapter{slog.Default().With("component", "blob-embedded")}),
	)
	v := &sigV4Verifier{accessKey: EmbeddedAccessKey, secretKey: EmbeddedSecretKey, now: time.Now}
	return v.middleware(spoolBodies(spoolDir, fake.Server())), backend, nil
}

// ServeEmbedded runs the embedded store on addr until stop is called or ctx
// ends, after creating the given buckets if they are missing. It returns once
// the listener is open, so clients may connect as soon as it returns.
func ServeEmbedded(ctx context.Context, addr, dir string, buckets ...string) (stop func(), err error) {
	handler, backend, err := newEmbedded(dir)
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		if err := validBucketName(b); err != nil {
			return nil, fmt.Errorf("blob: embedded store: %w", err)
		}
		exists, err := backend.BucketExists(b)
		if err != nil {
			return nil, fmt.Errorf("blob: embedded store: check bucket %q: %w", b, err)
		}
		if !exists {
			if err := backend.CreateBucket(b); err != nil {
				return nil, fmt.Errorf("blob: embedded store: create bucket %q: %w", b, err)
			}
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("blob: embedded store: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log := slog.Default().With("component", "blob-embedded")
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("embedded object store stopped", "error", err)
		}
	}()
	log.Info("embedded object store listening", "addr", ln.Addr().String(), "dir", dir)

	var once sync.Once
	stop = func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close()
			}
			<-served
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-served:
		}
	}()
	return stop, nil
}

// slogAdapter sends gofakes3's messages to slog; its per-request INFO lines
// are debug detail for us.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Print(level gofakes3.LogLevel, v ...any) {
	msg := strings.TrimSuffix(fmt.Sprintln(v...), "\n")
	switch level {
	case gofakes3.LogErr:
		a.log.Error(msg)
	case gofakes3.LogWarn:
		a.log.Warn(msg)
	default:
		a.log.Debug(msg)
	}
}
