package blob

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPutSizedStreamsOnePut(t *testing.T) {
	cases := []struct {
		name     string
		size     int64 // what the source holds
		announce int64 // the length the caller gives
		digest   string
		err      error
	}{
		{"small, digest announced", 1234, 1234, "same", nil},
		{"over a part, digest announced", partSize + 99, partSize + 99, "same", nil},
		{"small, no digest", 777, 777, "", nil},
		{"over a part, no digest", partSize + 1, partSize + 1, "", nil},
		{"one byte, digest announced", 1, 1, "same", nil},
		{"other content", 4096, 4096, "other", ErrChecksumMismatch},
		{"over a part, other content", partSize + 5, partSize + 5, "other", ErrChecksumMismatch},
		{"shorter than announced", 100, 101, "", ErrShortBody},
		{"shorter than announced, digest announced", 100, 101, "same", ErrShortBody},
		{"longer than announced", 102, 101, "", ErrTooLarge},
		{"longer than announced, digest announced", 102, 101, "same", ErrTooLarge},
	}
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		var stored []string
		for i, tc := range cases {
			key := faceKey(tc.name, ".jpg")
			want := ""
			if tc.digest != "" {
				want = announcedSum(t, tc.size, i, tc.digest == "other")
			}
			src := newPattern(tc.size, uint64(i+1))
			obj, err := s.PutSized(ctx, key, src, tc.announce, "image/jpeg", want, nil)
			if !checkPut(t, s, tc.name, key, obj, err, tc.err, src, want) {
				continue
			}
			if strings.Contains(obj.ETag, "-") {
				t.Fatalf("%s: ETag %s is a multipart upload's; want one PUT", tc.name, obj.ETag)
			}
			stored = append(stored, key)
		}
		// One PUT each: no unfinished multipart upload or refused object remains.
		assertBucketHolds(t, cfg, stored)
	})
}

func TestPutSizedRefusesBadArguments(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, _ Config) {
		for _, tc := range []struct {
			name, sum string
			size      int64
		}{
			{"empty", "", 0},
			{"negative", "", -1},
			{"over the single PUT limit", "", maxPutSize + 1},
			{"digest not hex", "abc", 1},
			{"digest in upper case", strings.ToUpper(emptySHA256), 1},
		} {
			if _, err := s.PutSized(ctx, "cases/c1/attempt-1/face-x.jpg", strings.NewReader("x"), tc.size, "image/jpeg", tc.sum, nil); err == nil || errors.Is(err, ErrChecksumMismatch) {
				t.Fatalf("%s: error = %v, want an argument error", tc.name, err)
			}
		}
	})
}

// TestPutSizedWaitsForItsSource has the store refuse a PUT while its source
// is stalled mid-body (a slow client): PutSized interrupts the source and
// returns the store's refusal only once nothing reads the source any more.
func TestPutSizedWaitsForItsSource(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, s *Store, cfg Config) {
		// The bucket goes: the store refuses the PUT without its body.
		if err := rawClient(t, cfg).RemoveBucket(ctx, cfg.Bucket); err != nil {
			t.Fatal(err)
		}
		src := &stallingReader{first: 1000, unblock: make(chan struct{})}
		var once sync.Once
		interrupted := func() { once.Do(func() { close(src.unblock) }) }
		done := make(chan error, 1)
		go func() {
			_, err := s.PutSized(ctx, "cases/c1/attempt-1/face-x.jpg", src, 1<<20, "image/jpeg", "", interrupted)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || errors.Is(err, errSourceInterrupted) {
				t.Fatalf("PutSized error = %v, want the store's refusal", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("PutSized did not return while its source stalled")
		}
		if n := src.reading.Load(); n != 0 {
			t.Fatalf("%d reads of the source still running after PutSized returned", n)
		}
		select {
		case <-src.unblock:
		default:
			t.Fatal("the source was not interrupted")
		}
	})
}

var errSourceInterrupted = errors.New("interrupted")

// stallingReader gives first bytes, then blocks until unblock is closed.
type stallingReader struct {
	first   int
	unblock chan struct{}
	reading atomic.Int32
}

func (r *stallingReader) Read(p []byte) (int, error) {
	r.reading.Add(1)
	defer r.reading.Add(-1)
	if r.first > 0 {
		n := min(len(p), r.first)
		r.first -= n
		return n, nil
	}
	<-r.unblock
	return 0, errSourceInterrupted
}
