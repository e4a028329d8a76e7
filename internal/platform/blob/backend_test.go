package blob

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// backend is an S3 server the tests run against: the MinIO of
// internal/testkit/testenv, and the development store as `make dev` runs it.
type backend struct {
	name   string
	server func(t testing.TB) testenv.S3
}

var backends = []backend{
	{name: "minio", server: testenv.MinIO},
	{name: "dev", server: func(t testing.TB) testenv.S3 {
		return testenv.S3{Endpoint: devEndpoint(t), AccessKey: devAccessKey, SecretKey: devSecretKey}
	}},
}

// eachBackend runs fn as a parallel subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// bucketConfig names a fresh bucket on b; the bucket and everything in it is
// removed when the test ends.
func bucketConfig(t *testing.T, b backend) Config {
	t.Helper()
	srv := b.server(t)
	cfg := Config{
		Endpoint:     srv.Endpoint,
		AccessKey:    srv.AccessKey,
		SecretKey:    srv.SecretKey,
		Bucket:       testenv.RandomName("blob-test-"),
		Region:       "us-east-1",
		CreateBucket: true,
		SSE:          SSEAuto,
	}
	t.Cleanup(func() { dropBucket(t, cfg) })
	return cfg
}

// newTestStore opens a Store on a fresh bucket of b.
func newTestStore(t *testing.T, b backend) (*Store, Config) {
	t.Helper()
	cfg := bucketConfig(t, b)
	s, err := New(testContext(t), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, cfg
}

// eachStore runs fn, on each backend, with a Store on a fresh bucket, the
// bucket's Config and the test's context.
func eachStore(t *testing.T, fn func(t *testing.T, ctx context.Context, s *Store, cfg Config)) {
	t.Helper()
	eachBackend(t, func(t *testing.T, b backend) {
		s, cfg := newTestStore(t, b)
		fn(t, testContext(t), s, cfg)
	})
}

// rawClient is a plain minio client on cfg's server, used by tests to look at
// the bucket independently of Store.
func rawClient(t *testing.T, cfg Config) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Region: cfg.Region,
	})
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	return c
}

// assertBucketHolds fails unless the bucket holds as many objects as want
// and no unfinished multipart upload.
func assertBucketHolds(t *testing.T, cfg Config, want []string) {
	t.Helper()
	keys, uploads := bucketContents(t, cfg)
	if len(keys) != len(want) || len(uploads) != 0 {
		t.Fatalf("bucket holds %v (uploads %v), want exactly %v", keys, uploads, want)
	}
}

// bucketContents lists every object key and every unfinished multipart
// upload in the bucket.
func bucketContents(t *testing.T, cfg Config) (keys, uploads []string) {
	t.Helper()
	ctx := testContext(t)
	c := rawClient(t, cfg)
	for o := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", cfg.Bucket, o.Err)
		}
		keys = append(keys, o.Key)
	}
	for u := range c.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list uploads of %s: %v", cfg.Bucket, u.Err)
		}
		uploads = append(uploads, u.Key)
	}
	return keys, uploads
}

func dropBucket(t *testing.T, cfg Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := rawClient(t, cfg)
	if ok, err := c.BucketExists(ctx, cfg.Bucket); err != nil || !ok {
		return
	}
	for o := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil {
			_ = c.RemoveObject(ctx, cfg.Bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	if err := c.RemoveBucket(ctx, cfg.Bucket); err != nil {
		t.Logf("remove test bucket %s: %v", cfg.Bucket, err)
	}
}
