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

// maxPutSize is the largest object Put accepts: objects bigger than one part
// get their metadata through a single server-side copy, which S3 limits to
// 5 GiB. Captures are far smaller.
const maxPutSize = 5 << 30

// metaSHA256 is the user-metadata name of the content's SHA-256
// (x-amz-meta-sha256 on the wire).
const metaSHA256 = "sha256"

var partBuffers = sync.Pool{New: func() any { b := make([]byte, partSize); return &b }}

// Put streams r into key and returns its size and SHA-256, which are also
// stored as the object's x-amz-meta-sha256. Reading more than maxSize bytes
// aborts the upload with an error wrapping ErrTooLarge and leaves nothing
// behind.
//
// An object that fits one part (5 MiB, which covers almost every image) goes
// up in a single PUT carrying its metadata and a signed payload hash. A
// larger one is uploaded part by part to a staging key next to the final one
// (the SHA-256 is only known at the end, and S3 metadata is fixed when an
// upload starts), then copied server-side to key with its metadata, so key
// only ever appears complete and with its checksum. The staging key shares
// key's prefix so that prefix-scoped bucket permissions cover it.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, maxSize int64, contentType string) (Object, error) {
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
		return s.putSingle(ctx, key, buf[:n], whole, contentType)
	case err != nil:
		return Object{}, readError(key, err)
	}
	return s.putMultipart(ctx, key, src, buf, whole, contentType)
}

func (s *Store) putSingle(ctx context.Context, key string, body []byte, whole hash.Hash, contentType string) (Object, error) {
	whole.Write(body)
	return s.putSingleSum(ctx, key, body, hex.EncodeToString(whole.Sum(nil)), contentType)
}

// putSingleSum stores body, whose hex SHA-256 is sum, in one PUT.
func (s *Store) putSingleSum(ctx context.Context, key string, body []byte, sum, contentType string) (Object, error) {
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

func (s *Store) putMultipart(ctx context.Context, key string, src io.Reader, buf []byte, whole hash.Hash, contentType string) (obj Object, err error) {
	staging := key + ".upload-" + randomHex(8)
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, staging, minio.PutObjectOptions{
		ContentType:          contentType,
		ServerSideEncryption: s.sse,
	})
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: start upload: %w", key, err)
	}
	completed := false
	defer func() {
		// A fresh context: cleanup must run even when ctx is what failed.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if !completed {
			if aerr := s.core.AbortMultipartUpload(cctx, s.bucket, staging, uploadID); aerr != nil {
				s.log.Warn("could not abort a failed upload", "key", staging, "error", aerr)
			}
		}
		if rerr := s.core.RemoveObject(cctx, s.bucket, staging, minio.RemoveObjectOptions{}); rerr != nil {
			s.log.Warn("could not remove a staging object", "key", staging, "error", rerr)
		}
	}()

	parts, size, err := s.uploadParts(ctx, key, staging, uploadID, src, buf, whole)
	if err != nil {
		return Object{}, err
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, staging, uploadID, parts, minio.PutObjectOptions{}); err != nil {
		return Object{}, fmt.Errorf("blob: put %q: complete upload: %w", key, err)
	}
	completed = true

	sum := hex.EncodeToString(whole.Sum(nil))
	info, err := s.core.Client.CopyObject(ctx,
		minio.CopyDestOptions{
			Bucket:          s.bucket,
			Object:          key,
			Encryption:      s.sse,
			ReplaceMetadata: true,
			UserMetadata:    map[string]string{metaSHA256: sum},
			ContentType:     contentType,
		},
		minio.CopySrcOptions{Bucket: s.bucket, Object: staging})
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: copy from staging: %w", key, err)
	}
	return Object{Key: key, Size: size, SHA256: sum, ETag: info.ETag, ContentType: contentType}, nil
}

// uploadParts sends the upload's parts to object: buf holds the first
// part (full), the rest is read from src into buf one part at a time, and
// every byte goes through whole. key names the upload in errors.
func (s *Store) uploadParts(ctx context.Context, key, object, uploadID string, src io.Reader, buf []byte, whole hash.Hash) ([]minio.CompletePart, int64, error) {
	var parts []minio.CompletePart
	var size int64
	n := len(buf)
	for {
		chunk := buf[:n]
		whole.Write(chunk)
		partSum := sha256.Sum256(chunk)
		part, perr := s.core.PutObjectPart(ctx, s.bucket, object, uploadID, len(parts)+1,
			bytes.NewReader(chunk), int64(n), minio.PutObjectPartOptions{
				Sha256Hex:            hex.EncodeToString(partSum[:]),
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
