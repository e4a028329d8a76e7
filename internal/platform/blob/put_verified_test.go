package blob

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPutVerifiedStoresOnlyTheAnnouncedContent(t *testing.T) {
	cases := []struct {
		name        string
		size, limit int64
		wrongSum    bool
	}{
		{"small image", 1234, 10 << 20, false},
		{"exactly one part", partSize, 10 << 20, false},
		{"one byte over a part", partSize + 1, 10 << 20, false},
		{"three parts", 2*partSize + 17, 3 * partSize, false},
		{"small image, other content", 1234, 10 << 20, true},
		{"two parts, other content", partSize + 99, 10 << 20, true},
	}
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		var want []string
		for i, tc := range cases {
			key := faceKey(tc.name, ".jpg")
			announced := announcedSum(t, tc.size, i, tc.wrongSum)
			src := newPattern(tc.size, uint64(i+1))
			obj, err := s.PutVerified(ctx, key, src, tc.limit, "image/jpeg", announced)
			var wantErr error
			if tc.wrongSum {
				wantErr = ErrChecksumMismatch
			}
			if !checkPut(t, s, tc.name, key, obj, err, wantErr, src, announced) {
				continue
			}
			want = append(want, key)
		}
		// No unfinished upload, staging object or refused object remains.
		assertBucketHolds(t, cfg, want)
	})
}

func TestPutVerifiedOverLimitLeavesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		for i, size := range []int64{101, 3 * partSize} {
			key := fmt.Sprintf("cases/c1/attempt-1/face-over-%d.jpg", i)
			src := newPattern(size, 3)
			_, err := s.PutVerified(ctx, key, src, size-1, "image/jpeg", emptySHA256)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("size %d: error = %v, want ErrTooLarge", size, err)
			}
		}
		assertBucketHolds(t, cfg, nil) // refused uploads leave nothing
	})
}

func TestPutVerifiedRefusesABadDigest(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, _ Config) {
		for _, sum := range []string{"", "abc", strings.ToUpper(emptySHA256), emptySHA256[:62] + "zz"} {
			if _, err := s.PutVerified(ctx, "cases/c1/attempt-1/face-x.jpg", strings.NewReader("x"), 10, "image/jpeg", sum); err == nil || errors.Is(err, ErrChecksumMismatch) {
				t.Fatalf("digest %q: error = %v, want an argument error", sum, err)
			}
		}
	})
}

// checkPut checks what a put of src under key returned and left behind: a
// refusal (wantErr) leaves no object, and a mismatch names both digests; a
// stored object is src's bytes with its size, digest and type, which it
// reports (true).
func checkPut(t *testing.T, s *Store, name, key string, obj Object, err, wantErr error, src *patternReader, announced string) bool {
	t.Helper()
	ctx := testContext(t)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s: error = %v, want %v", name, err, wantErr)
		}
		var mm *ChecksumMismatchError
		if errors.As(err, &mm) && (mm.Got != src.sum() || mm.Want != announced) {
			t.Fatalf("%s: the mismatch names %s/%s, want %s/%s", name, mm.Want, mm.Got, announced, src.sum())
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: Stat after a refusal = %v, want ErrNotFound", name, err)
		}
		return false
	}
	if err != nil {
		t.Fatalf("%s: put: %v", name, err)
	}
	if obj.Key != key || obj.Size != src.size || obj.SHA256 != src.sum() || obj.ETag == "" || obj.ContentType != "image/jpeg" {
		t.Fatalf("%s: put returned %+v, want size %d sha256 %s", name, obj, src.size, src.sum())
	}
	info, err := s.Stat(ctx, key)
	if err != nil || info.Size != src.size || info.SHA256 != src.sum() || info.ContentType != "image/jpeg" {
		t.Fatalf("%s: Stat = %+v, %v", name, info, err)
	}
	sum, n, err := s.Checksum(ctx, key)
	if err != nil || sum != src.sum() || n != src.size {
		t.Fatalf("%s: Checksum = %s/%d, %v", name, sum, n, err)
	}
	return true
}
