package blob

import (
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// Open returns a reader of the object's content and its size. The content
// streams from the bucket as it is read (minio-go fetches it in ranges), so
// reading a recording of any size costs a copy buffer, not its size. The
// caller closes it. A missing object gives an error wrapping ErrNotFound.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := validKey(key); err != nil {
		return nil, 0, fmt.Errorf("blob: open %q: %w", key, err)
	}
	obj, err := s.core.Client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, s.wrap("open", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		_ = obj.Close() // the error worth returning is Stat's
		return nil, 0, s.wrap("open", key, err)
	}
	return obj, info.Size, nil
}
