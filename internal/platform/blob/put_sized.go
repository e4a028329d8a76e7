package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// ErrShortBody means the source ended before the length its caller announced.
var ErrShortBody = errors.New("the content ended before its announced length")

// errPutOver is what a read of a finished PutSized's source gets.
var errPutOver = errors.New("blob: the put is over")

// PutSized stores exactly size bytes read from r under key, in one PUT that
// streams them as they arrive: with the length known (a raw upload's
// Content-Length), nothing is buffered and nothing goes up in parts. The
// SHA-256 is computed on the way through.
//
// The last byte is sent only once the source has shown its end (no byte
// more) and, with want (a lower-case hex SHA-256) announced, once the bytes
// read are known to have that digest; otherwise the PUT fails unfinished and
// stores nothing. With want, the object also carries it as metadata from the
// start and the PUT is signed with it, so the store checks every byte too;
// without it, the chunks are signed as they stream and the digest is tagged
// on afterwards, as for a multipart upload.
//
// The HTTP client may answer a PUT the store refused early while it is still
// reading r: interrupt, if not nil, unblocks a read of r waiting for its
// source (an API sets its connection's read deadline), and PutSized returns
// only once nothing reads r any more.
//
// A source with fewer than size bytes fails with ErrShortBody and one with
// more with ErrTooLarge.
func (s *Store) PutSized(ctx context.Context, key string, r io.Reader, size int64, contentType, want string, interrupt func()) (Object, error) {
	if err := validKey(key); err != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if size <= 0 || size > maxPutSize {
		return Object{}, fmt.Errorf("blob: put %q: size %d out of range (1 to %d bytes)", key, size, int64(maxPutSize))
	}
	if want != "" && !kyc.IsSHA256Hex(want) {
		return Object{}, fmt.Errorf("blob: put %q: %q is not a lower-case hex SHA-256", key, want)
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
	if err != nil {
		// The source's failure, if it came first, not the transport's
		// echo of it; a read failing once interrupted is no news.
		if serr := src.failure(); serr != nil {
			err = serr
		} else if interrupt != nil {
			interrupt()
		}
		_ = src.finish() // err stands: a read failing after the interrupt is its echo
		return Object{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if serr := src.finish(); serr != nil {
		return Object{}, fmt.Errorf("blob: put %q: %w", key, serr)
	}
	sum := src.sum
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

// checkedReader passes exactly left bytes through h. It holds back the last
// byte until the source has shown its end and, with want set, the digest of
// all of them matches, and fails instead of sending it otherwise: the PUT
// then never completes. Its reads are serialised with finish, after which
// every read fails.
type checkedReader struct {
	mu   sync.Mutex // held through each read
	r    io.Reader
	left int64
	h    hash.Hash
	want string
	sum  string // of all the bytes, once the last has passed the checks
	over bool

	errMu sync.Mutex // err is read while a read may be blocked
	err   error      // the first failure of the source or of the checks
}

func (c *checkedReader) fail(err error) error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		c.err = err
	}
	return err
}

// failure is the source's or the checks' failure so far, if any.
func (c *checkedReader) failure() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

func (c *checkedReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.failure(); err != nil {
		return 0, err
	}
	switch {
	case c.over:
		return 0, errPutOver
	case c.left == 0:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	case c.left > 1:
		if int64(len(p)) > c.left-1 {
			p = p[:c.left-1]
		}
		n, err := c.r.Read(p)
		c.h.Write(p[:n])
		c.left -= int64(n)
		if err == io.EOF {
			err = ErrShortBody
		}
		if err != nil {
			return n, c.fail(err)
		}
		return n, nil
	}
	// The last byte: it goes only with the checks passed.
	if _, err := io.ReadFull(c.r, p[:1]); err != nil {
		if err == io.EOF {
			err = ErrShortBody
		}
		return 0, c.fail(err)
	}
	c.h.Write(p[:1])
	if err := atEnd(c.r); err != nil {
		return 0, c.fail(err)
	}
	c.sum = hex.EncodeToString(c.h.Sum(nil))
	if c.want != "" && c.sum != c.want {
		return 0, c.fail(&ChecksumMismatchError{Want: c.want, Got: c.sum})
	}
	c.left = 0
	return 1, nil
}

// finish ends the reads (waiting for one in progress) and returns the
// source's or the checks' failure, if any.
func (c *checkedReader) finish() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.over = true
	return c.failure()
}

// atEnd confirms r has nothing more to give.
func atEnd(r io.Reader) error {
	var probe [1]byte
	for {
		n, err := r.Read(probe[:])
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
