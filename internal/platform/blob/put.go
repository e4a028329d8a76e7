package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// Object is what Put stored.
type Object struct {
	Key         string
	Size        int64
	SHA256      string // hex
	ETag        string
	ContentType string
}

// partSize is the S3 minimum multipart part size. Put holds exactly one such
// buffer per upload in flight, whatever the object's size.
const partSize = 5 << 20

// maxPutSize is the largest object Put accepts (S3's limit of a single PUT;
// captures are far smaller).
const maxPutSize = 5 << 30

// metaSHA256 is the name of the content's SHA-256 on an object: its user
// metadata (x-amz-meta-sha256 on the wire), or a tag when the digest was
// known only after the bytes went up.
const metaSHA256 = "sha256"

var partBuffers = sync.Pool{New: func() any { b := make([]byte, partSize); return &b }}

// Put streams r into key and returns its size and SHA-256, computed as the
// bytes pass through and recorded on the object. Reading more than maxSize
// bytes aborts the upload with an error wrapping ErrTooLarge and leaves
// nothing behind.
//
// The bytes are written once, straight to key, which only ever appears
// complete: an object that fits one part (5 MiB, which covers almost every
// image) goes up in a single PUT carrying its SHA-256 as metadata and as the
// signed payload hash; a larger one streams to key as a multipart upload,
// part by part as it arrives (S3 takes no single PUT of unknown length, and
// a multipart form does not announce its file's length), and gets its
// SHA-256 as the tag "sha256" once complete (S3 fixes metadata when an
// upload starts; a tag is a metadata write, not a second copy of the bytes).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, maxSize int64, contentType string) (Object, error) {
	return s.put(ctx, key, r, maxSize, contentType, "")
}

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
// storing nothing, otherwise. Knowing the digest up front, a large object
// carries it as metadata from the start of its upload, and the upload is
// completed only if the bytes match.
func (s *Store) PutVerified(ctx context.Context, key string, r io.Reader, maxSize int64, contentType, sha256Hex string) (Object, error) {
	if !kyc.IsSHA256Hex(sha256Hex) {
		return Object{}, fmt.Errorf("blob: put %q: %q is not a lower-case hex SHA-256", key, sha256Hex)
	}
	return s.put(ctx, key, r, maxSize, contentType, sha256Hex)
}

// put is Put, and PutVerified when want is not "".
func (s *Store) put(ctx context.Context, key string, r io.Reader, maxSize int64, contentType, want string) (Object, error) {
	if err := validKey(key); err != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if maxSize <= 0 || maxSize > maxPutSize {
		return Object{}, fmt.Errorf("blob: put %q: size limit %d out of range (1 to %d bytes)", key, maxSize, int64(maxPutSize))
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
		whole.Write(buf[:n])
		sum := hex.EncodeToString(whole.Sum(nil))
		if want != "" && sum != want {
			return Object{}, fmt.Errorf("blob: put %q: %w", key, &ChecksumMismatchError{Want: want, Got: sum})
		}
		return s.putSingle(ctx, key, buf[:n], sum, contentType)
	case err != nil:
		return Object{}, readError(key, err)
	}
	return s.putParts(ctx, key, src, buf, whole, contentType, want)
}

// putSingle stores body, whose hex SHA-256 is sum, in one PUT.
func (s *Store) putSingle(ctx context.Context, key string, body []byte, sum, contentType string) (Object, error) {
	info, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader(body), int64(len(body)), "", sum,
		minio.PutObjectOptions{
			ContentType:          contentType,
			UserMetadata:         map[string]string{metaSHA256: sum},
			ServerSideEncryption: s.sse,
			// Sign the real payload hash instead of chunk signatures: the
			// server then rejects any byte changed in transit, with or
			// without TLS.
			DisableContentSha256: true,
		})
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	return Object{Key: key, Size: int64(len(body)), SHA256: sum, ETag: info.ETag, ContentType: contentType}, nil
}

// putParts uploads the parts straight to key: buf holds the first part
// (full), the rest streams from src. An announced digest (want) goes on as
// metadata when the upload starts and the upload is completed only if the
// bytes match it; otherwise the digest is tagged on once complete. An upload
// that is not completed is aborted, so key never shows partial or wrong
// content.
func (s *Store) putParts(ctx context.Context, key string, src io.Reader, buf []byte, whole hash.Hash, contentType, want string) (Object, error) {
	opts := minio.PutObjectOptions{ContentType: contentType, ServerSideEncryption: s.sse}
	if want != "" {
		opts.UserMetadata = map[string]string{metaSHA256: want}
	}
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, opts)
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

	parts, size, err := s.uploadParts(ctx, key, uploadID, src, buf, whole)
	if err != nil {
		return Object{}, err
	}
	sum := hex.EncodeToString(whole.Sum(nil))
	if want != "" && sum != want {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, &ChecksumMismatchError{Want: want, Got: sum})
	}
	info, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, minio.PutObjectOptions{})
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: complete upload: %w", key, err)
	}
	completed = true
	if want == "" {
		if err := s.tagSHA256(ctx, key, sum); err != nil {
			// An object without its recorded digest is not what Put
			// promises: remove it, and let the caller retry.
			s.remove(ctx, key, "an object whose checksum tag failed")
			return Object{}, fmt.Errorf("blob: put %q: tag its sha256: %w", key, err)
		}
	}
	return Object{Key: key, Size: size, SHA256: sum, ETag: info.ETag, ContentType: contentType}, nil
}

func (s *Store) tagSHA256(ctx context.Context, key, sum string) error {
	t, err := tags.NewTags(map[string]string{metaSHA256: sum}, true)
	if err != nil {
		return err
	}
	return s.core.Client.PutObjectTagging(ctx, s.bucket, key, t, minio.PutObjectTaggingOptions{})
}

// uploadParts sends the upload's parts to key: buf holds the first part
// (full), the rest is read from src into buf one part at a time, and every
// byte goes through whole.
func (s *Store) uploadParts(ctx context.Context, key, uploadID string, src io.Reader, buf []byte, whole hash.Hash) ([]minio.CompletePart, int64, error) {
	var parts []minio.CompletePart
	var size int64
	n := len(buf)
	for {
		chunk := buf[:n]
		whole.Write(chunk)
		var partSum []byte
		if len(parts) == 0 {
			// The first part starts the object: whole has seen exactly its
			// bytes, so its digest is the part's, without a second pass.
			partSum = whole.Sum(nil)
		} else {
			sum := sha256.Sum256(chunk)
			partSum = sum[:]
		}
		part, perr := s.core.PutObjectPart(ctx, s.bucket, key, uploadID, len(parts)+1,
			bytes.NewReader(chunk), int64(n), minio.PutObjectPartOptions{
				Sha256Hex:            hex.EncodeToString(partSum),
				SSE:                  s.sse,
				DisableContentSha256: true,
			})
		if perr != nil {
			return nil, 0, fmt.Errorf("blob: put %q: part %d: %w", key, len(parts)+1, perr)
		}
		parts = append(parts, minio.CompletePart{PartNumber: part.PartNumber, ETag: part.ETag})
		size += int64(n)

		var rerr error
		n, rerr = io.ReadFull(src, buf)
		if rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.ErrUnexpectedEOF {
			return nil, 0, readError(key, rerr)
		}
		if rerr == io.ErrUnexpectedEOF {
			// The last, short part: upload it on the next turn, then stop.
			src = eofReader{}
		}
	}
	return parts, size, nil
}

func readError(key string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("blob: put %q: %w", key, err)
	}
	return fmt.Errorf("blob: put %q: read upload: %w", key, err)
}

// cappedReader passes through at most left bytes and fails with ErrTooLarge
// as soon as the source shows one more, so an oversized upload is refused
// without reading the rest of it.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.left <= 0 {
		var probe [1]byte
		for {
			n, err := c.r.Read(probe[:])
			if n > 0 {
				return 0, ErrTooLarge
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
