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

// ErrShortBody means the source ended before the length its caller announced.
var ErrShortBody = errors.New("the content ended before its announced length")

// PutSized stores exactly size bytes read from r under key, in one PUT that
// streams them as they arrive: with the length known (a raw upload's
// Content-Length), nothing is buffered and nothing goes up in parts. The
// SHA-256 is computed on the way through.
//
// With want (a lower-case hex SHA-256) announced, the object carries it as
// metadata from the start, the PUT is signed with it (the store verifies the
// whole payload against it) and the last byte is sent only once the bytes
// read are known to match, so a mismatch stores nothing and comes back as a
// *ChecksumMismatchError. Without want, the chunks are signed as they stream
// and the digest is tagged on afterwards, as for a multipart upload.
//
// A source with fewer than size bytes fails with ErrShortBody and one with
// more with ErrTooLarge; neither leaves an object behind.
func (s *Store) PutSized(ctx context.Context, key string, r io.Reader, size int64, contentType, want string) (Object, error) {
	if err := validKey(key); err != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if size <= 0 || size > maxPutSize {
		return Object{}, fmt.Errorf("blob: put %q: size %d out of range (1 to %d bytes)", key, size, int64(maxPutSize))
	}
	if want != "" {
		if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != want {
			return Object{}, fmt.Errorf("blob: put %q: %q is not a lower-case hex SHA-256", key, want)
		}
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	src := &checkedReader{r: r, left: size, h: sha256.New(), want: want}
	opts := minio.PutObjectOptions{ContentType: contentType, ServerSideEncryption: s.sse}
	if want != "" {
		opts.UserMetadata = map[string]string{metaSHA256: want}
		opts.DisableContentSha256 = true
	}
	info, err := s.core.PutObject(ctx, s.bucket, key, src, size, "", want, opts)
	if src.err != nil {
		// The source's failure, not the transport's echo of it.
		return Object{}, fmt.Errorf("blob: put %q: %w", key, src.err)
	}
	if err != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	sum := hex.EncodeToString(src.h.Sum(nil))
	if err := src.drained(); err != nil {
		s.remove(ctx, key, "an upload longer than announced")
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if want == "" {
		if err := s.tagSHA256(ctx, key, sum); err != nil {
			s.remove(ctx, key, "an object whose checksum tag failed")
			return Object{}, fmt.Errorf("blob: put %q: tag its sha256: %w", key, err)
		}
	}
	return Object{Key: key, Size: size, SHA256: sum, ETag: info.ETag, ContentType: contentType}, nil
}

// remove deletes key after a failed put, with a context of its own: cleanup
// must run even when ctx is what failed.
func (s *Store) remove(ctx context.Context, key, what string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.core.RemoveObject(cctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		s.log.Warn("could not remove "+what, "key", key, "error", err)
	}
}

// checkedReader passes exactly left bytes through h. With want set it holds
// back the last byte until the digest of all of them is known, and fails
// instead of sending it when they do not match: the PUT then never completes.
type checkedReader struct {
	r    io.Reader
	left int64
	h    hash.Hash
	want string
	err  error // the first failure of the source or of the check
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	hold := int64(0)
	if c.want != "" {
		hold = 1
	}
	if c.left > hold {
		if int64(len(p)) > c.left-hold {
			p = p[:c.left-hold]
		}
		n, err := c.r.Read(p)
		c.h.Write(p[:n])
		c.left -= int64(n)
		if err == io.EOF {
			err = ErrShortBody
		}
		if err != nil && (c.left > 0 || err != ErrShortBody) {
			c.err = err
			return n, err
		}
		return n, nil
	}
	// The last byte, with a digest to check first.
	if _, err := io.ReadFull(c.r, p[:1]); err != nil {
		if err == io.EOF {
			err = ErrShortBody
		}
		c.err = err
		return 0, err
	}
	c.h.Write(p[:1])
	c.left = 0
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want {
		c.err = &ChecksumMismatchError{Want: c.want, Got: got}
		return 0, c.err
	}
	return 1, nil
}

// drained confirms the source had nothing beyond the announced length.
func (c *checkedReader) drained() error {
	var probe [1]byte
	for {
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return ErrTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
