package hmssim

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// RecordingStore is where the simulated beam uploads finished recordings:
// the customer's own bucket, as configured on a 100ms template.
type RecordingStore interface {
	PutObject(ctx context.Context, bucket, key string, body []byte, contentType string) error
}

// presigner is implemented by stores that can hand out download URLs; the
// presigned-url endpoint falls back to the s3:// path for stores that cannot.
type presigner interface {
	PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error)
}

// MinIOStore writes recordings to an S3-compatible server.
type MinIOStore struct {
	client *minio.Client
}

// NewMinIOStore connects to an S3-compatible endpoint (host:port, no scheme).
func NewMinIOStore(endpoint, accessKey, secretKey string, secure bool) (RecordingStore, error) {
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure: secure,
		// A fixed region keeps presigning local: without it minio-go asks the
		// server for the bucket's location, a network call.
		Region: "us-east-1",
	})
	if err != nil {
		return nil, fmt.Errorf("hmssim: minio client for %s: %w", endpoint, err)
	}
	return &MinIOStore{client: c}, nil
}

// PutObject uploads body in one request.
func (m *MinIOStore) PutObject(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	_, err := m.client.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// PresignGet returns a time-limited download URL.
func (m *MinIOStore) PresignGet(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	u, err := m.client.PresignedGetObject(ctx, bucket, key, ttl, url.Values{})
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", bucket, key, err)
	}
	return u.String(), nil
}
