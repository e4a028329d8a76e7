package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// patternReader generates size pseudo-random bytes without holding them,
// hashing what it hands out so tests know the expected SHA-256 independently
// of the code under test.
type patternReader struct {
	size  int64 // in all
	left  int64
	state uint64
	read  int64
	h     hash.Hash
}

func newPattern(size int64, seed uint64) *patternReader {
	return &patternReader{size: size, left: size, state: seed | 1, h: sha256.New()}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		p.state ^= p.state << 13
		p.state ^= p.state >> 7
		p.state ^= p.state << 17
		b[i] = byte(p.state)
	}
	p.h.Write(b)
	p.left -= int64(len(b))
	p.read += int64(len(b))
	return len(b), nil
}

func (p *patternReader) sum() string { return hex.EncodeToString(p.h.Sum(nil)) }

func drainedSum(t *testing.T, p *patternReader) string {
	t.Helper()
	if _, err := io.Copy(io.Discard, p); err != nil {
		t.Fatal(err)
	}
	return p.sum()
}

// announcedSum is the digest announced for the pattern of test case i,
// computed from an independent read of the same pattern (or, with other, of
// another one).
func announcedSum(t *testing.T, size int64, i int, other bool) string {
	t.Helper()
	seed := uint64(i + 1)
	if other {
		seed = uint64(i + 100)
	}
	return drainedSum(t, newPattern(size, seed))
}

// faceKey is the key of a face capture named after a test case.
func faceKey(name, ext string) string {
	return "cases/c1/attempt-1/face-" + strings.ReplaceAll(name, " ", "-") + ext
}

func TestPutStatChecksumRoundTrip(t *testing.T) {
	cases := []struct {
		name        string
		size, limit int64
		contentType string
	}{
		{"small image", 1234, 10 << 20, "image/jpeg"},
		{"exactly the limit", 4096, 4096, "image/png"},
		{"exactly one part", partSize, 10 << 20, "image/jpeg"},
		{"one byte over a part", partSize + 1, 10 << 20, "image/jpeg"},
		{"three parts", 2*partSize + 17, 3 * partSize, "video/mp4"},
		{"no content type", 10, 100, ""},
	}
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		var want []string
		for i, tc := range cases {
			key := faceKey(tc.name, ".bin")
			src := newPattern(tc.size, uint64(i+1))
			obj, err := s.Put(ctx, key, src, tc.limit, tc.contentType)
			if err != nil {
				t.Fatalf("%s: Put: %v", tc.name, err)
			}
			wantType := tc.contentType
			if wantType == "" {
				wantType = "application/octet-stream"
			}
			if obj.Key != key || obj.Size != tc.size || obj.SHA256 != src.sum() || obj.ContentType != wantType || obj.ETag == "" {
				t.Fatalf("%s: Put returned %+v, want size %d sha256 %s type %s", tc.name, obj, tc.size, src.sum(), wantType)
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("%s: Stat: %v", tc.name, err)
			}
			if info.Size != tc.size || info.SHA256 != src.sum() || info.ContentType != wantType || info.ETag == "" || info.LastModified.IsZero() {
				t.Fatalf("%s: Stat = %+v, want size %d sha256 %s type %s", tc.name, info, tc.size, src.sum(), wantType)
			}
			sum, n, err := s.Checksum(ctx, key)
			if err != nil {
				t.Fatalf("%s: Checksum: %v", tc.name, err)
			}
			if sum != src.sum() || n != tc.size {
				t.Fatalf("%s: Checksum = %s/%d, want %s/%d", tc.name, sum, n, src.sum(), tc.size)
			}
			want = append(want, key)
		}
		// No staging object or unfinished upload may survive a Put.
		assertBucketHolds(t, cfg, want)
	})
}

func TestPutOverLimitLeavesNothing(t *testing.T) {
	cases := []struct {
		name        string
		size, limit int64
	}{
		{"one byte over, single part", 101, 100},
		{"over within the first part", partSize - 1, 1 << 20},
		{"over after several parts", 3 * partSize, partSize + 10},
		{"a huge stream is not read to its end", 1 << 40, 1 << 10},
	}
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		for i, tc := range cases {
			key := "cases/c1/attempt-1/face-over-" + string(rune('a'+i)) + ".jpg"
			src := newPattern(tc.size, 7)
			_, err := s.Put(ctx, key, src, tc.limit, "image/jpeg")
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%s: Put error = %v, want ErrTooLarge", tc.name, err)
			}
			if src.read > tc.limit+1 {
				t.Fatalf("%s: read %d bytes for a limit of %d", tc.name, src.read, tc.limit)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: Stat after refused Put = %v, want ErrNotFound", tc.name, err)
			}
		}
		assertBucketHolds(t, cfg, nil) // refused uploads leave nothing
	})
}

func TestPutZeroBytes(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, _ Config) {
		key := "cases/c1/attempt-1/other-empty.bin"
		obj, err := s.Put(ctx, key, strings.NewReader(""), 1024, "application/octet-stream")
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if obj.Size != 0 || obj.SHA256 != emptySHA256 {
			t.Fatalf("Put = %+v, want size 0 and the empty SHA-256", obj)
		}
		info, err := s.Stat(ctx, key)
		if err != nil || info.Size != 0 || info.SHA256 != emptySHA256 {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
		sum, n, err := s.Checksum(ctx, key)
		if err != nil || sum != emptySHA256 || n != 0 {
			t.Fatalf("Checksum = %s, %d, %v", sum, n, err)
		}
	})
}

// TestPutStreamsWithBoundedMemory uploads 20 MiB generated on the fly and
// checks the process allocated far less than that. It runs its backends one
// after the other (not in parallel) so no other test allocates meanwhile; the
// development store is another process, so only the client side is measured.
func TestPutStreamsWithBoundedMemory(t *testing.T) {
	const size, limit, budget = 20 << 20, 32 << 20, 16 << 20
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s, _ := newTestStore(t, b)
			ctx := testContext(t)
			src := newPattern(size, 42)

			// Two collections empty the part-buffer pool (and its victim
			// cache), so the measurement includes the upload's own buffer.
			runtime.GC()
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var peakInuse atomic.Uint64
			peakInuse.Store(before.HeapInuse)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peakInuse.Load() {
							peakInuse.Store(ms.HeapInuse)
						}
					}
				}
			})
			obj, err := s.Put(ctx, "cases/c1/attempt-1/other-big.mp4", src, limit, "video/mp4")
			close(stop)
			wg.Wait()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if obj.Size != size || obj.SHA256 != src.sum() {
				t.Fatalf("Put = %+v, want size %d sha256 %s", obj, size, src.sum())
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			inuseGrowth := int64(peakInuse.Load()) - int64(before.HeapInuse)
			t.Logf("20 MiB upload: allocated %.1f MiB in total, peak heap in use grew by %.1f MiB",
				float64(allocated)/(1<<20), float64(inuseGrowth)/(1<<20))
			if allocated >= budget || inuseGrowth >= budget {
				t.Fatalf("upload used too much memory: allocated %d bytes, heap grew %d bytes (budget %d)", allocated, inuseGrowth, budget)
			}
			sum, n, err := s.Checksum(ctx, obj.Key)
			if err != nil || sum != src.sum() || n != size {
				t.Fatalf("Checksum = %s, %d, %v", sum, n, err)
			}
		})
	}
}

func TestPresignGet(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, _ Config) {
		key := "cases/c1/attempt-1/id_front-x.jpg"
		content := []byte("a picture of an identity document")
		if _, err := s.Put(ctx, key, bytes.NewReader(content), 1024, "image/jpeg"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		u, err := s.PresignGet(ctx, key, 2*time.Second)
		if err != nil {
			t.Fatalf("PresignGet: %v", err)
		}
		status, body := httpGet(t, u.String())
		if status != http.StatusOK || !bytes.Equal(body, content) {
			t.Fatalf("presigned GET = %d %q, want 200 with the object", status, body)
		}
		time.Sleep(3 * time.Second)
		if status, _ := httpGet(t, u.String()); status != http.StatusForbidden {
			t.Fatalf("expired presigned GET = %d, want 403", status)
		}
		for _, ttl := range []time.Duration{0, 500 * time.Millisecond, MaxPresignTTL + time.Second, 8 * 24 * time.Hour} {
			if _, err := s.PresignGet(ctx, key, ttl); err == nil {
				t.Fatalf("PresignGet with ttl %s succeeded, want an error", ttl)
			}
		}
	})
}

// TestPresignForThePublicEndpoint: with a public endpoint set, download
// URLs are signed for it (the host browsers reach), and they work there.
func TestPresignForThePublicEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := bucketConfig(t, b)
		host, port, err := net.SplitHostPort(cfg.Endpoint)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("the test server is at %q; this test needs 127.0.0.1", cfg.Endpoint)
		}
		cfg.PublicEndpoint = net.JoinHostPort("localhost", port) // the same server under another name
		s, err := New(testContext(t), cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		ctx := testContext(t)
		key := "cases/c1/attempt-1/face-public.jpg"
		if _, err := s.Put(ctx, key, strings.NewReader("a face"), 1024, "image/jpeg"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		u, err := s.PresignGet(ctx, key, time.Minute)
		if err != nil {
			t.Fatalf("PresignGet: %v", err)
		}
		if u.Host != cfg.PublicEndpoint || u.Scheme != "http" {
			t.Fatalf("presigned for %s://%s, want http://%s", u.Scheme, u.Host, cfg.PublicEndpoint)
		}
		if status, body := httpGet(t, u.String()); status != http.StatusOK || string(body) != "a face" {
			t.Fatalf("presigned GET = %d %q, want 200 with the object", status, body)
		}
	})
}

func TestObjectsAreNotPublic(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		key := "cases/c1/attempt-1/face-y.jpg"
		if _, err := s.Put(ctx, key, strings.NewReader("face"), 1024, "image/jpeg"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		for _, u := range []string{
			"http://" + cfg.Endpoint + "/" + cfg.Bucket + "/" + key,
			"http://" + cfg.Endpoint + "/" + cfg.Bucket + "/",
		} {
			if status, body := httpGet(t, u); status != http.StatusForbidden {
				t.Fatalf("anonymous GET %s = %d %q, want 403", u, status, body)
			}
		}
	})
}

func TestPublicBucketIsRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},` +
			`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + cfg.Bucket + `/*"]}]}`
		err := rawClient(t, cfg).SetBucketPolicy(ctx, cfg.Bucket, policy)
		if err != nil {
			t.Fatalf("SetBucketPolicy: %v", err)
		}
		if _, err := New(ctx, cfg); !errors.Is(err, ErrPublicBucket) {
			t.Fatalf("New on a public bucket = %v, want ErrPublicBucket", err)
		}
		// The store opened before the policy keeps working; readiness still
		// passes: the check is at start.
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func TestDeleteIsIdempotent(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, _ Config) {
		key := "cases/c1/attempt-1/pan-z.jpg"
		if _, err := s.Put(ctx, key, strings.NewReader("pan"), 1024, "image/jpeg"); err != nil {
			t.Fatalf("Put: %v", err)
		}
		for i := range 2 {
			if err := s.Delete(ctx, key); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat after Delete = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, "cases/never/attempt-1/face-none.jpg"); err != nil {
			t.Fatalf("Delete of a missing object: %v", err)
		}
	})
}

func TestMissingObject(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, _ Config) {
		key := "recordings/none.mp4"
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat = %v, want ErrNotFound", err)
		}
		if _, _, err := s.Checksum(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Checksum = %v, want ErrNotFound", err)
		}
	})
}

func TestChecksumOfForeignObject(t *testing.T) {
	// Recordings are written by 100ms, without our sha256 metadata: Stat
	// reports no checksum and Checksum computes it from the content.
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		content := bytes.Repeat([]byte("recording"), 1000)
		key := "recordings/kyc-c1-a1/room.mp4"
		if _, err := rawClient(t, cfg).PutObject(ctx, cfg.Bucket, key, bytes.NewReader(content), int64(len(content)),
			minio.PutObjectOptions{ContentType: "video/mp4"}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		info, err := s.Stat(ctx, key)
		if err != nil || info.SHA256 != "" || info.Size != int64(len(content)) {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
		want := sha256.Sum256(content)
		sum, n, err := s.Checksum(ctx, key)
		if err != nil || sum != hex.EncodeToString(want[:]) || n != int64(len(content)) {
			t.Fatalf("Checksum = %s, %d, %v", sum, n, err)
		}
	})
}

func TestSSEModes(t *testing.T) {
	// Neither the test MinIO nor the development store has a KMS: neither can encrypt.
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := bucketConfig(t, b)
		ctx := testContext(t)
		for _, mode := range []string{"", SSEAuto, SSEOff, "OFF"} {
			cfg.SSE = mode
			s, err := New(ctx, cfg)
			if err != nil {
				t.Fatalf("SSE=%q: New: %v", mode, err)
			}
			if s.SSEEnabled() {
				t.Fatalf("SSE=%q: SSEEnabled() = true on a server without SSE", mode)
			}
		}
		cfg.SSE = SSEOn
		_, err := New(ctx, cfg)
		if !errors.Is(err, ErrSSEUnavailable) || !strings.Contains(err.Error(), "SSE=on") {
			t.Fatalf("SSE=on: New = %v, want a clear ErrSSEUnavailable", err)
		}
		cfg.SSE = "sometimes"
		if _, err := New(ctx, cfg); err == nil || !strings.Contains(err.Error(), "sometimes") {
			t.Fatalf("SSE=sometimes: New = %v, want an error naming the mode", err)
		}
		keys, _ := bucketContents(t, cfg)
		if len(keys) != 0 {
			t.Fatalf("SSE probes left objects: %v", keys)
		}
	})
}

func TestBucketChecks(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := bucketConfig(t, b)
		ctx := testContext(t)
		cfg.CreateBucket = false
		if _, err := New(ctx, cfg); err == nil || !strings.Contains(err.Error(), cfg.Bucket) {
			t.Fatalf("New on a missing bucket without CreateBucket = %v, want an error naming it", err)
		}
		cfg.CreateBucket = true
		s, err := New(ctx, cfg)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if s.Bucket() != cfg.Bucket {
			t.Fatalf("Bucket() = %q, want %q", s.Bucket(), cfg.Bucket)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		// Opening an existing bucket with CreateBucket set is fine too.
		if _, err := New(ctx, cfg); err != nil {
			t.Fatalf("New on an existing bucket: %v", err)
		}
		if err := rawClient(t, cfg).RemoveBucket(ctx, cfg.Bucket); err != nil {
			t.Fatalf("RemoveBucket: %v", err)
		}
		if err := s.Ping(ctx); err == nil {
			t.Fatal("Ping succeeded after the bucket was removed")
		}
		bad := cfg
		bad.SecretKey = "wrong-secret-key"
		if _, err := New(ctx, bad); err == nil {
			t.Fatal("New with a wrong secret key succeeded")
		}
	})
}

func TestPutRefusesBadArguments(t *testing.T) {
	s := &Store{bucket: "unused"} // arguments are checked before any request
	ctx := testContext(t)
	cases := []struct {
		name  string
		key   string
		limit int64
	}{
		{"empty key", "", 10},
		{"dot-dot segment", "cases/../etc/passwd", 10},
		{"leading slash", "/cases/x", 10},
		{"zero limit", "cases/x", 0},
		{"negative limit", "cases/x", -1},
		{"limit beyond a single copy", "cases/x", maxPutSize + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Put(ctx, tc.key, strings.NewReader("x"), tc.limit, "image/jpeg"); err == nil {
				t.Fatal("Put succeeded")
			}
		})
	}
	for _, op := range []func() error{
		func() error { _, err := s.Stat(ctx, "a//b"); return err },
		func() error { _, _, err := s.Checksum(ctx, "a/./b"); return err },
		func() error { _, err := s.PresignGet(ctx, "..", time.Minute); return err },
		func() error { return s.Delete(ctx, "a\\b") },
	} {
		if op() == nil {
			t.Fatal("an operation on an invalid key succeeded")
		}
	}
}

func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, body
}

// TestAccessDeniedIsItsOwnError: a server refusing our credentials is told
// apart from a missing object, so that verification stops retrying and
// alerts instead of waiting for an object that is there.
func TestAccessDeniedIsItsOwnError(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		cfg.SecretKey = "not-the-secret-key-at-all"
		for _, key := range []string{"cases/c1/attempt-1/face-x.jpg", "recordings/beam/r1/missing.mp4"} {
			_, err := rawClient(t, cfg).StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{})
			err = s.wrap("stat", key, err)
			if !errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrNotFound) {
				t.Fatalf("stat with a wrong secret: %v", err)
			}
		}
		_, err := s.Stat(ctx, "cases/c1/attempt-1/none.jpg")
		if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrAccessDenied) {
			t.Fatalf("stat of a missing object with the right secret: %v", err)
		}
	})
}
