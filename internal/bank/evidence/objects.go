package evidence

import (
	"context"
	"io"
	"time"

	"github.com/vkyc-engine/vkyc/internal/platform/blob"
)

// BucketObjects reads captures and recordings from the engine's bucket.
func BucketObjects(b *blob.Store) Objects { return bucket{b} }

type bucket struct{ b *blob.Store }

func (b bucket) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	return b.b.Open(ctx, key)
}

func (b bucket) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := b.b.PresignGet(ctx, key, ttl)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}
