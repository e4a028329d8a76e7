package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	awscreds "github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	v4 "github.com/aws/smithy-go/aws-http-auth/v4"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

func TestDevStorePersistsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := testContext(t)
	open := func() (*devProcess, *Store) {
		p, err := startDevStore(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
		// "preexisting" is created by DevStore.Start itself, so the store
		// must find it without creating it.
		s, err := New(ctx, Config{Endpoint: p.addr, AccessKey: devAccessKey, SecretKey: devSecretKey,
			Bucket: "preexisting", Region: "us-east-1"})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return p, s
	}
	first, s := open()
	type stored struct {
		obj  Object
		size int64
	}
	var objects []stored
	for i, size := range []int64{100, partSize + 3} {
		key := CaptureKey("case-persist", 1, "face", string(rune('a'+i)), "jpg")
		obj, err := s.Put(ctx, key, newPattern(size, uint64(i+9)), 10<<20, "image/jpeg")
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		objects = append(objects, stored{obj, size})
	}
	first.stop()

	_, s = open()
	for _, o := range objects {
		info, err := s.Stat(ctx, o.obj.Key)
		if err != nil {
			t.Fatalf("Stat after restart: %v", err)
		}
		if info.Size != o.size || info.SHA256 != o.obj.SHA256 || info.ContentType != "image/jpeg" {
			t.Fatalf("after restart Stat = %+v, want size %d sha256 %s", info, o.size, o.obj.SHA256)
		}
		sum, n, err := s.Checksum(ctx, o.obj.Key)
		if err != nil || sum != o.obj.SHA256 || n != o.size {
			t.Fatalf("after restart Checksum = %s, %d, %v", sum, n, err)
		}
	}
}

// devBucket makes a fresh bucket on the shared development store, removed
// when the test ends, and returns the store's endpoint and the bucket.
func devBucket(t *testing.T, prefix string) (endpoint, bucket string) {
	t.Helper()
	endpoint = devEndpoint(t)
	bucket = testenv.RandomName(prefix)
	if err := client(t, endpoint, devAccessKey, devSecretKey, nil).MakeBucket(testContext(t), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket: %v", err)
	}
	t.Cleanup(func() {
		dropBucket(t, Config{Endpoint: endpoint, AccessKey: devAccessKey, SecretKey: devSecretKey, Bucket: bucket, Region: "us-east-1"})
	})
	return endpoint, bucket
}

func client(t *testing.T, endpoint, access, secret string, rt http.RoundTripper) *minio.Client {
	t.Helper()
	if rt == nil {
		rt = http.DefaultTransport
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(access, secret, ""),
		Region:    "us-east-1",
		Transport: rt,
	})
	if err != nil {
		t.Fatalf("minio client: %v", err)
	}
	return c
}

// mutating changes requests after they were signed, as an attacker or a
// broken proxy would.
type mutating func(*http.Request)

func (m mutating) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	m(r)
	return http.DefaultTransport.RoundTrip(r)
}

// The S3 wire constants the tests below look for.
const (
	amzDateLayout    = "20060102T150405Z"
	streamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func TestDevStoreRequiresValidSignatures(t *testing.T) {
	endpoint, bucket := devBucket(t, "auth-")
	ctx := testContext(t)
	good := client(t, endpoint, devAccessKey, devSecretKey, nil)
	if _, err := good.PutObject(ctx, bucket, "doc.jpg", strings.NewReader("secret document"), 15, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("signed PutObject: %v", err)
	}

	cases := []struct {
		name     string
		c        *minio.Client
		wantCode string
	}{
		{"wrong secret", client(t, endpoint, devAccessKey, "not-the-secret", nil), "SignatureDoesNotMatch"},
		{"unknown access key", client(t, endpoint, "someone", devSecretKey, nil), "InvalidAccessKeyId"},
		{"path changed after signing", client(t, endpoint, devAccessKey, devSecretKey, mutating(func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "doc.jpg", "other.jpg", 1)
		})), "SignatureDoesNotMatch"},
		{"signed header changed", client(t, endpoint, devAccessKey, devSecretKey, mutating(func(r *http.Request) {
			r.Header.Set("X-Amz-Date", time.Now().UTC().Add(time.Minute).Format(amzDateLayout))
		})), "SignatureDoesNotMatch"},
		{"unsigned", client(t, endpoint, devAccessKey, devSecretKey, mutating(func(r *http.Request) {
			r.Header.Del("Authorization")
		})), "AccessDenied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.StatObject(ctx, bucket, "doc.jpg", minio.StatObjectOptions{})
			if err == nil {
				t.Fatal("StatObject succeeded")
			}
			obj, err := tc.c.GetObject(ctx, bucket, "doc.jpg", minio.GetObjectOptions{})
			if err == nil {
				_, err = io.ReadAll(obj)
			}
			if code := minio.ToErrorResponse(err).Code; code != tc.wantCode {
				t.Fatalf("GetObject error = %v (code %q), want %s", err, code, tc.wantCode)
			}
			_, err = tc.c.PutObject(ctx, bucket, "doc.jpg", strings.NewReader("overwritten"), 11, minio.PutObjectOptions{})
			if err == nil {
				t.Fatal("PutObject succeeded")
			}
		})
	}
	// Nothing above changed the object.
	obj, err := good.GetObject(ctx, bucket, "doc.jpg", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(obj); err != nil || string(b) != "secret document" {
		t.Fatalf("object now %q, %v", b, err)
	}

	t.Run("presigned URL tampering", func(t *testing.T) {
		u, err := good.PresignedGetObject(ctx, bucket, "doc.jpg", time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := httpGet(t, u.String()); status != http.StatusOK {
			t.Fatalf("untouched presigned GET = %d", status)
		}
		tamper := []struct {
			f    func(u *url.URL)
			want int
		}{
			{func(u *url.URL) { u.Path = "/" + bucket + "/other.jpg" }, http.StatusForbidden},
			{func(u *url.URL) { q := u.Query(); q.Set("X-Amz-Expires", "604800"); u.RawQuery = q.Encode() }, http.StatusForbidden},
			// A presigned query without its signature is malformed, not
			// forbidden: S3 and MinIO answer 400 AuthorizationQueryParametersError.
			{func(u *url.URL) { q := u.Query(); q.Del("X-Amz-Signature"); u.RawQuery = q.Encode() }, http.StatusBadRequest},
			{func(u *url.URL) { q := u.Query(); q.Set("response-content-type", "text/html"); u.RawQuery = q.Encode() }, http.StatusForbidden},
		}
		for i, tc := range tamper {
			v := *u
			tc.f(&v)
			if status, body := httpGet(t, v.String()); status != tc.want || bytes.Contains(body, []byte("secret document")) {
				t.Fatalf("tampered presigned URL #%d answered %d %q, want %d", i, status, body, tc.want)
			}
		}
	})
}

func TestDevStoreRejectsSkewedClocks(t *testing.T) {
	endpoint := devEndpoint(t)
	head := func(at time.Time) int {
		req, err := http.NewRequestWithContext(testContext(t), http.MethodHead, "http://"+endpoint+"/preexisting", nil)
		if err != nil {
			t.Fatal(err)
		}
		empty := sha256.Sum256(nil)
		err = sigv4.New(func(o *v4.SignerOptions) { o.AddPayloadHashHeader = true }).SignRequest(&sigv4.SignRequestInput{
			Request: req, PayloadHash: empty[:], Service: "s3", Region: "us-east-1", Time: at,
			Credentials: awscreds.Credentials{AccessKeyID: devAccessKey, SecretAccessKey: devSecretKey},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The same request signed now passes, so the refusal below is the clock's.
	if status := head(time.Now()); status != http.StatusOK {
		t.Fatalf("request signed now = %d, want 200", status)
	}
	if status := head(time.Now().Add(-time.Hour)); status != http.StatusForbidden {
		t.Fatalf("request signed an hour in the past = %d, want 403", status)
	}
}

// corrupting flips one byte of an upload body after it was signed.
func corrupting(offset int) mutating {
	return func(r *http.Request) {
		if r.Method != http.MethodPut || r.Body == nil {
			return
		}
		r.Body = &flipReader{rc: r.Body, at: offset}
	}
}

type flipReader struct {
	rc  io.ReadCloser
	at  int
	pos int
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	if f.at >= f.pos && f.at < f.pos+n {
		p[f.at-f.pos] ^= 0x01
	}
	f.pos += n
	return n, err
}

func (f *flipReader) Close() error { return f.rc.Close() }

func TestDevStoreUploadIntegrity(t *testing.T) {
	endpoint, bucket := devBucket(t, "integrity-")
	ctx := testContext(t)
	good := client(t, endpoint, devAccessKey, devSecretKey, nil)
	content := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16) // several 64 KiB chunks

	t.Run("streaming signature", func(t *testing.T) {
		// minio-go's default over plain HTTP: aws-chunked with per-chunk signatures.
		var modes []string
		streaming := client(t, endpoint, devAccessKey, devSecretKey, mutating(func(r *http.Request) {
			if r.Method == http.MethodPut {
				modes = append(modes, r.Header.Get("X-Amz-Content-Sha256"))
			}
		}))
		for _, body := range [][]byte{content, {}} {
			key := "streamed-" + string(rune('a'+len(body)%26))
			if _, err := streaming.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{ContentType: "video/mp4"}); err != nil {
				t.Fatalf("PutObject of %d bytes: %v", len(body), err)
			}
			obj, err := good.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read back %d bytes, %v; want the %d bytes uploaded", len(got), err, len(body))
			}
			info, _ := obj.Stat()
			if ce := info.Metadata.Get("Content-Encoding"); ce != "" {
				t.Fatalf("stored object has Content-Encoding %q", ce)
			}
		}
		if len(modes) != 2 || modes[0] != streamingPayload || modes[1] != streamingPayload {
			t.Fatalf("uploads were signed with %q, want the streaming mode", modes)
		}
	})

	cases := []struct {
		name     string
		put      func(c *minio.Client, key string) error
		wantCode string
	}{
		{"tampered chunk", func(c *minio.Client, key string) error {
			_, err := c.PutObject(ctx, bucket, key, bytes.NewReader(content), int64(len(content)), minio.PutObjectOptions{})
			return err
		}, "SignatureDoesNotMatch"},
		{"tampered body with a signed hash", func(c *minio.Client, key string) error {
			_, err := (minio.Core{Client: c}).PutObject(ctx, bucket, key, bytes.NewReader(content), int64(len(content)), "",
				sha256Hex(content), minio.PutObjectOptions{DisableContentSha256: true})
			return err
		}, "XAmzContentSHA256Mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "tampered-" + strings.ReplaceAll(tc.name, " ", "-")
			err := tc.put(client(t, endpoint, devAccessKey, devSecretKey, corrupting(150<<10)), key)
			if code := minio.ToErrorResponse(err).Code; code != tc.wantCode {
				t.Fatalf("upload of a corrupted body = %v (code %q), want %s", err, code, tc.wantCode)
			}
			if _, err := good.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
				t.Fatalf("a refused upload left an object behind (stat: %v)", err)
			}
		})
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestDevStore(t *testing.T) {
	start := func(ctx context.Context, addr, dir string, buckets ...string) (func(), error) {
		return DevStore{Binary: testenv.MinIOBinary(t), Addr: addr, Dir: dir, AccessKey: devAccessKey, SecretKey: devSecretKey,
			Buckets: buckets}.Start(ctx)
	}
	t.Run("stops when its context ends", func(t *testing.T) {
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stop, err := start(ctx, addr, t.TempDir(), "vkyc", "vkyc")
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		defer stop()
		c := client(t, addr, devAccessKey, devSecretKey, nil)
		if ok, err := c.BucketExists(testContext(t), "vkyc"); err != nil || !ok {
			t.Fatalf("bucket vkyc: %v, %v", ok, err)
		}
		cancel()
		deadline := time.Now().Add(15 * time.Second)
		for {
			conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatal("still listening after its context ended")
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop() // idempotent
	})
	t.Run("refuses a bad bucket name", func(t *testing.T) {
		if _, err := start(context.Background(), "127.0.0.1:0", t.TempDir(), "Not_A_Bucket"); err == nil {
			t.Fatal("Start accepted an invalid bucket name")
		}
	})
	t.Run("refuses a busy address", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		if _, err := start(context.Background(), ln.Addr().String(), t.TempDir()); err == nil {
			t.Fatal("Start listened on a busy address")
		}
	})
	t.Run("needs a directory", func(t *testing.T) {
		if _, err := start(context.Background(), "127.0.0.1:0", ""); err == nil {
			t.Fatal("Start accepted an empty directory")
		}
	})
}
