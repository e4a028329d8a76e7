package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// ObjectInfo describes a stored object. SHA256 is what Put recorded on it
// (metadata, or the tag of an object that went up in parts); it is empty for
// objects written by others (recordings), whose checksum Checksum computes.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	ContentType  string
	SHA256       string
	LastModified time.Time
}

// Stat returns an object's metadata; a missing object gives an error wrapping
// ErrNotFound.
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := validKey(key); err != nil {
		return ObjectInfo{}, fmt.Errorf("blob: stat %q: %w", key, err)
	}
	info, err := s.core.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, s.wrap("stat", key, err)
	}
	sum := userMeta(info.UserMetadata, metaSHA256)
	if sum == "" && info.UserTagCount > 0 {
		t, err := s.core.Client.GetObjectTagging(ctx, s.bucket, key, minio.GetObjectTaggingOptions{})
		if err != nil {
			return ObjectInfo{}, s.wrap("stat", key, err)
		}
		sum = t.ToMap()[metaSHA256]
	}
	return ObjectInfo{
		Key:          key,
		Size:         info.Size,
		ETag:         info.ETag,
		ContentType:  info.ContentType,
		SHA256:       sum,
		LastModified: info.LastModified,
	}, nil
}

// List returns the objects whose keys start with prefix (Stat of each, so
// SHA256 is filled for objects Put wrote), at most limit of them.
func (s *Store) List(ctx context.Context, prefix string, limit int) ([]ObjectInfo, error) {
	var out []ObjectInfo
	for obj := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("blob: list %q: %w", prefix, obj.Err)
		}
		info, err := s.Stat(ctx, obj.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// userMeta reads user metadata case-insensitively: servers differ in how
// they case x-amz-meta-* names.
func userMeta(m map[string]string, name string) string {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Checksum reads the whole object through SHA-256, so a recording is
// verified by what is actually stored, not by what its writer claimed.
func (s *Store) Checksum(ctx context.Context, key string) (sha256hex string, size int64, err error) {
	if err := validKey(key); err != nil {
		return "", 0, fmt.Errorf("blob: checksum %q: %w", key, err)
	}
	obj, err := s.core.Client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", 0, s.wrap("checksum", key, err)
	}
	defer obj.Close()
	h := sha256.New()
	n, err := io.Copy(h, obj)
	if err != nil {
		return "", 0, s.wrap("checksum", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Presigned URL lifetimes: S3 refuses more than 7 days, and a second is the
// signature's resolution.
// MaxPresignTTL caps the lifetime of a presigned URL: it is a bearer
// secret that ends up in browsers' histories and logs, and every reader of
// the engine asks for a new one when it needs it (internal/platform/config keeps the
// configured lifetimes within it).
const MaxPresignTTL = time.Hour

const (
	minPresignTTL = time.Second
	maxPresignTTL = MaxPresignTTL
)

// PresignGet returns a URL that downloads the object without credentials
// until ttl passes. The URL is a bearer secret: never log it.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (*url.URL, error) {
	if err := validKey(key); err != nil {
		return nil, fmt.Errorf("blob: presign %q: %w", key, err)
	}
	if ttl < minPresignTTL || ttl > maxPresignTTL {
		return nil, fmt.Errorf("blob: presign %q: ttl %s out of range (%s to %s)", key, ttl, minPresignTTL, maxPresignTTL)
	}
	u, err := s.presigner.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return nil, fmt.Errorf("blob: presign %q: %w", key, err)
	}
	return u, nil
}

// Delete removes the object; deleting a missing object succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	err := s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	return nil
}

func (s *Store) wrap(op, key string, err error) error {
	switch {
	case isNotFound(err):
		return fmt.Errorf("blob: %s %q: %w", op, key, ErrNotFound)
	case isAccessDenied(err):
		return fmt.Errorf("blob: %s %q: %w: %w", op, key, ErrAccessDenied, err)
	}
	return fmt.Errorf("blob: %s %q: %w", op, key, err)
}
