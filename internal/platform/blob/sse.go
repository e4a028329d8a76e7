package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// SSE modes accepted in Config.SSE.
const (
	SSEAuto = "auto"
	SSEOn   = "on"
	SSEOff  = "off"
)

func parseSSEMode(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", SSEAuto:
		return SSEAuto, nil
	case SSEOn:
		return SSEOn, nil
	case SSEOff:
		return SSEOff, nil
	}
	return "", fmt.Errorf("blob: unknown SSE mode %q (want auto, on or off)", v)
}

// probeKeyPrefix holds the probe object written once per start; it is removed
// right after, so the bucket never keeps it.
const probeKeyPrefix = ".vkyc-probe/sse-"

// settleSSE decides once whether objects are written with SSE-S3. Asking the
// server with a real write is the only reliable test: MinIO without a KMS
// advertises nothing and refuses SSE requests per object.
func (s *Store) settleSSE(ctx context.Context, mode string) error {
	if mode == SSEOff {
		s.log.Info("server-side encryption disabled by configuration")
		return nil
	}
	sse := encrypt.NewSSE()
	key := probeKeyPrefix + randomHex(8)
	_, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader([]byte("probe")), 5, "", "",
		minio.PutObjectOptions{ServerSideEncryption: sse, ContentType: "text/plain"})
	if err == nil {
		if rmErr := s.core.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); rmErr != nil {
			s.log.Warn("could not remove the SSE probe object", "key", key, "error", rmErr)
		}
		s.sse = sse
		s.log.Info("server-side encryption enabled", "sse", "SSE-S3")
		return nil
	}
	if !sseUnsupported(err) {
		return fmt.Errorf("blob: probe SSE-S3 support in bucket %q: %w", s.bucket, err)
	}
	if mode == SSEOn {
		return fmt.Errorf("blob: SSE=on but bucket %q refused SSE-S3 (%v): %w", s.bucket, err, ErrSSEUnavailable)
	}
	s.log.Warn("server does not support SSE-S3; objects are stored unencrypted by the service (SSE=auto)", "reason", err.Error())
	return nil
}

// sseUnsupported recognises a server that cannot do SSE-S3, as opposed to a
// failure (credentials, network) that must stop the start.
func sseUnsupported(err error) bool {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	if resp.Code == "NotImplemented" || resp.Code == "KMSNotConfigured" {
		return true
	}
	return strings.Contains(resp.Message, "KMS is not configured")
}
