package blob

import (
	"errors"
	"io"
	"strings"
	"testing"
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
	}
	eachBackend(t, func(t *testing.T, b backend) {
		s, cfg := newTestStore(t, b)
		ctx := testContext(t)
		var stored []string
		for i, tc := range cases {
			key := "cases/c1/attempt-1/face-" + strings.ReplaceAll(tc.name, " ", "-") + ".jpg"
			want := ""
			switch tc.digest {
			case "same":
				want = drainedSum(t, newPattern(tc.size, uint64(i+1)))
			case "other":
				want = drainedSum(t, newPattern(tc.size, uint64(i+100)))
			}
			src := newPattern(tc.size, uint64(i+1))
			obj, err := s.PutSized(ctx, key, src, tc.announce, "image/jpeg", want)
			if !checkPut(t, s, tc.name, key, obj, err, tc.err, src, want) {
				continue
			}
			stored = append(stored, key)
		}
		// One PUT each: no unfinished multipart upload or refused object remains.
		assertBucketHolds(t, cfg, stored)
	})
}

func TestPutSizedRefusesBadArguments(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s, _ := newTestStore(t, b)
		ctx := testContext(t)
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
			if _, err := s.PutSized(ctx, "cases/c1/attempt-1/face-x.jpg", strings.NewReader("x"), tc.size, "image/jpeg", tc.sum); err == nil || errors.Is(err, ErrChecksumMismatch) {
				t.Fatalf("%s: error = %v, want an argument error", tc.name, err)
			}
		}
	})
}

func drainedSum(t *testing.T, p *patternReader) string {
	t.Helper()
	if _, err := io.Copy(io.Discard, p); err != nil {
		t.Fatal(err)
	}
	return p.sum()
}
