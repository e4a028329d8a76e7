// Package blob stores KYC captures and verifies recordings in S3-compatible
// object storage (the bank's S3 or MinIO in production; MinIO in the tests
// and in `make dev`, where DevStore runs it). Objects are never public: they
// are read through presigned URLs with a short lifetime.
package blob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

var (
	// ErrTooLarge means an upload had more bytes than its limit allowed.
	ErrTooLarge = errors.New("object exceeds the size limit")
	// ErrNotFound means the object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrAccessDenied means the storage refused our credentials for the
	// object or bucket: a retry will not help, a person must fix the policy.
	ErrAccessDenied = errors.New("access denied by the object storage")
	// ErrSSEUnavailable means SSE=on was asked for but the server cannot
	// encrypt with SSE-S3 (for MinIO: no KMS configured).
	ErrSSEUnavailable = errors.New("server-side encryption (SSE-S3) is not available on this server")
	// ErrPublicBucket means the bucket has a policy granting anonymous access.
	ErrPublicBucket = errors.New("bucket policy grants public access")
)

// Config says where the bucket is. Endpoint is host:port without a scheme.
type Config struct {
	Endpoint     string
	AccessKey    string
	SecretKey    string
	Bucket       string
	Region       string
	Secure       bool
	CreateBucket bool
	// SSE is "auto" (the default when empty: SSE-S3 when the server supports
	// it), "on" (refuse to start without it) or "off".
	SSE string
	// PublicEndpoint (host:port) is where browsers reach the bucket, when
	// that is not Endpoint (the compose stack's minio:9000 is reachable only
	// inside its network): presigned URLs are signed for it, with
	// PublicSecure choosing https. "" means Endpoint.
	PublicEndpoint string
	PublicSecure   bool
}

// Store is a bucket. It is safe for concurrent use.
type Store struct {
	core minio.Core
	// presigner signs download URLs for the public endpoint; it makes no
	// requests of its own (its region is given).
	presigner *minio.Client
	bucket    string
	sse       encrypt.ServerSide // nil when objects are stored unencrypted
	log       *slog.Logger
}

// New connects to the bucket and checks it is usable before the service
// starts taking captures: the bucket exists (or is created), SSE support is
// settled once, and the bucket is not publicly readable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	mode, err := parseSSEMode(cfg.SSE)
	if err != nil {
		return nil, err
	}
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("blob: endpoint and bucket are required")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.Secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: client for %s: %w", cfg.Endpoint, err)
	}
	s := &Store{
		core:      minio.Core{Client: client},
		presigner: client,
		bucket:    cfg.Bucket,
		log:       slog.Default().With("component", "blob", "bucket", cfg.Bucket),
	}
	if cfg.PublicEndpoint != "" && (cfg.PublicEndpoint != cfg.Endpoint || cfg.PublicSecure != cfg.Secure) {
		region := cfg.Region
		if region == "" {
			region = "us-east-1" // without a region minio-go would ask the public endpoint for it
		}
		s.presigner, err = minio.New(cfg.PublicEndpoint, &minio.Options{
			Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure: cfg.PublicSecure,
			Region: region,
		})
		if err != nil {
			return nil, fmt.Errorf("blob: client for the public endpoint %s: %w", cfg.PublicEndpoint, err)
		}
	}
	if err := s.ensureBucket(ctx, cfg.CreateBucket, cfg.Region); err != nil {
		return nil, err
	}
	if err := s.settleSSE(ctx, mode); err != nil {
		return nil, err
	}
	if err := s.refusePublicPolicy(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// SSEEnabled reports whether objects are written with SSE-S3.
func (s *Store) SSEEnabled() bool { return s.sse != nil }

// Ping checks the bucket still exists and the credentials still work, for
// readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: check bucket %q: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("blob: bucket %q does not exist", s.bucket)
	}
	return nil
}

func (s *Store) ensureBucket(ctx context.Context, create bool, region string) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: check bucket %q: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if !create {
		return fmt.Errorf("blob: bucket %q does not exist (create it, or enable bucket creation)", s.bucket)
	}
	err = s.core.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil && s3Code(err) != "BucketAlreadyOwnedByYou" {
		return fmt.Errorf("blob: create bucket %q: %w", s.bucket, err)
	}
	s.log.Info("bucket created")
	return nil
}

// s3Code is the S3 error code carried by err, or "".
func s3Code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

func isAccessDenied(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	switch resp.Code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "AccountProblem":
		return true
	}
	return resp.StatusCode == http.StatusForbidden
}

func isNotFound(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	return resp.Code == "NoSuchKey" || (resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket")
}
