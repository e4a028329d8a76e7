package activities_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/vkyc-engine/vkyc/internal/callprovider/hms"
	"github.com/vkyc-engine/vkyc/internal/callprovider/hmssim"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

const (
	simAccessKey = "test-access-key"
	simSecret    = "test-app-secret-0123456789"
)

// sim is the 100ms simulator served over HTTP, with a client for it.
type sim struct {
	srv    *hmssim.Server
	url    string
	client *hms.Client
}

func newSim(t *testing.T, cfg hmssim.Config) *sim {
	t.Helper()
	cfg.AccessKey, cfg.AppSecret = simAccessKey, simSecret
	cfg.RetrySchedule = []time.Duration{}
	s, err := hmssim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Close() })
	c, err := hms.New(hms.Config{BaseURL: hs.URL + "/v2", AccessKey: simAccessKey, AppSecret: simSecret})
	if err != nil {
		t.Fatal(err)
	}
	return &sim{srv: s, url: hs.URL, client: c}
}

// join puts a peer in the room the way a client SDK would, with a peer token.
func (s *sim) join(t *testing.T, roomID, role string) string {
	t.Helper()
	token, _, err := s.client.AuthToken(hms.AuthTokenParams{RoomID: roomID, Role: role, UserID: role + "-1"})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		PeerID string `json:"peer_id"`
	}
	s.post(t, "/sim/v1/join", map[string]string{"token": token}, &out)
	return out.PeerID
}

func (s *sim) leave(t *testing.T, peerID string) {
	t.Helper()
	s.post(t, "/sim/v1/leave", map[string]string{"peer_id": peerID}, nil)
}

func (s *sim) post(t *testing.T, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(s.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", path, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// bucket is a fresh bucket on the test MinIO, emptied and removed at the end.
type bucket struct {
	name   string
	blob   *blob.Store
	client *minio.Client
	s3     testenv.S3
}

func newBucket(t *testing.T) *bucket {
	t.Helper()
	s3 := testenv.MinIO(t)
	name := testenv.RandomName("vkyc-act-")
	ctx := context.Background()
	bs, err := blob.New(ctx, blob.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: name, CreateBucket: true, SSE: "off"})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for obj := range mc.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			_ = mc.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
		}
		_ = mc.RemoveBucket(ctx, name)
	})
	return &bucket{name: name, blob: bs, client: mc, s3: s3}
}

func (b *bucket) put(t *testing.T, key string, body []byte) {
	t.Helper()
	_, err := b.client.PutObject(context.Background(), b.name, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
