package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrChecksumMismatch means the bytes read did not have the SHA-256 the
// caller announced; nothing was stored.
var ErrChecksumMismatch = errors.New("content does not match the announced SHA-256")

// ChecksumMismatchError carries the SHA-256 of what was actually read.
type ChecksumMismatchError struct {
	Want, Got string // hex
}

func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("%v: announced %s, received %s", ErrChecksumMismatch, e.Want, e.Got)
}

func (e *ChecksumMismatchError) Unwrap() error { return ErrChecksumMismatch }

// PutVerified is Put for an upload whose SHA-256 is announced beforehand
// (the X-Content-SHA256 of a capture): it stores r under key only if its
// bytes have that digest, and returns an error wrapping ErrChecksumMismatch,
// storing nothing, otherwise. The guarantees are Put's: memory stays at one
// part whatever the size, and key appears only complete and with its
// checksum as metadata.
//
// Knowing the digest up front is what makes a large object cheaper: the
// metadata can be set when the multipart upload starts, so the parts go
// straight to key and are verified before the upload is completed, instead
// of Put's staging object and server-side copy, which write every byte a
// second time (the benchmark's capture-upload profile showed MinIO spending
// several times the CPU of a plain PutObject on that copy). Objects of one
// part take Put's single signed PUT either way.
func (s *Store) PutVerified(ctx context.Context, key string, r io.Reader, maxSize int64, contentType, sha256Hex string) (Object, error) {
	if err := validKey(key); err != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if maxSize <= 0 || maxSize > maxPutSize {
		return Object{}, fmt.Errorf("blob: put %q: size limit %d out of range (1 to %d bytes)", key, maxSize, int64(maxPutSize))
	}
	if b, err := hex.DecodeString(sha256Hex); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != sha256Hex {
		return Object{}, fmt.Errorf("blob: put %q: %q is not a lower-case hex SHA-256", key, sha256Hex)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	bufp := partBuffers.Get().(*[]byte)
	defer partBuffers.Put(bufp)
	buf := *bufp

	src := &cappedReader{r: r, left: maxSize}
	whole := sha256.New()
	n, err := io.ReadFull(src, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		sum := sha256.Sum256(buf[:n])
		if got := hex.EncodeToString(sum[:]); got != sha256Hex {
			return Object{}, fmt.Errorf("blob: put %q: %w", key, &ChecksumMismatchError{Want: sha256Hex, Got: got})
		}
		return s.putSingleSum(ctx, key, buf[:n], sha256Hex, contentType)
	case err != nil:
		return Object{}, readError(key, err)
	}
	return s.putParts(ctx, key, src, buf, whole, contentType, sha256Hex)
}

// putParts uploads the parts straight to key with the announced checksum as
// metadata, and completes the upload only if the bytes match it. An upload
// that is not completed is aborted, so key never shows partial or wrong
// content.
func (s *Store) putParts(ctx context.Context, key string, src io.Reader, buf []byte, whole hash.Hash, contentType, want string) (obj Object, err error) {
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{
		ContentType:          contentType,
		UserMetadata:         map[string]string{metaSHA256: want},
		ServerSideEncryption: s.sse,
	})
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: start upload: %w", key, err)
	}
	completed := false
	defer func() {
		if completed {
			return
		}
		// A fresh context: cleanup must run even when ctx is what failed.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if aerr := s.core.AbortMultipartUpload(cctx, s.bucket, key, uploadID); aerr != nil {
			s.log.Warn("could not abort a failed upload", "key", key, "error", aerr)
		}
	}()

	parts, size, err := s.uploadParts(ctx, key, key, uploadID, src, buf, whole)
	if err != nil {
		return Object{}, err
	}
	got := hex.EncodeToString(whole.Sum(nil))
	if got != want {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, &ChecksumMismatchError{Want: want, Got: got})
	}
	info, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, minio.PutObjectOptions{})
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: complete upload: %w", key, err)
	}
	completed = true
	return Object{Key: key, Size: size, SHA256: got, ETag: info.ETag, ContentType: contentType}, nil
}
