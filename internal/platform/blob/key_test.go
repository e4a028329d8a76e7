package blob

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

func TestCaptureKey(t *testing.T) {
	const id = "3f6c1a52-8f0e-4b8e-9a43-0c1d2e3f4a5b"
	cases := []struct {
		name      string
		caseID    string
		attempt   int
		kind      kyc.CaptureKind
		captureID string
		ext       string
		want      string
	}{
		{"usual", id, 1, kyc.CaptureFace, "c-1", "jpg", "cases/" + id + "/attempt-1/face-c-1.jpg"},
		{"extension with dot and capitals", id, 2, kyc.CaptureIDFront, "c2", ".JPEG", "cases/" + id + "/attempt-2/id_front-c2.jpeg"},
		{"no extension", id, 3, kyc.CapturePAN, "c3", "", "cases/" + id + "/attempt-3/pan-c3.bin"},
		{"extension that is only junk", id, 1, kyc.CaptureOther, "c4", "./", "cases/" + id + "/attempt-1/other-c4.bin"},
		{"extension with a path", id, 1, kyc.CaptureFace, "c5", "../../x/png", "cases/" + id + "/attempt-1/face-c5.xpng"},
		{"case id climbing out", "../../etc", 1, kyc.CaptureFace, "c6", "jpg", "cases/%2E%2E%2F%2E%2E%2Fetc/attempt-1/face-c6.jpg"},
		{"capture id with a slash", id, 1, kyc.CaptureFace, "a/b", "jpg", "cases/" + id + "/attempt-1/face-a%2Fb.jpg"},
		{"dot ids", ".", 1, kyc.CaptureKind(".."), "..", "jpg", "cases/%2E/attempt-1/%2E%2E-%2E%2E.jpg"},
		{"control characters and spaces", "a b\n", 1, kyc.CaptureFace, "x\x00", "jpg", "cases/a%20b%0A/attempt-1/face-x%00.jpg"},
		{"percent is escaped too (injective)", "a%2Fb", 1, kyc.CaptureFace, "c", "jpg", "cases/a%252Fb/attempt-1/face-c.jpg"},
		{"long extension is cut", id, 1, kyc.CaptureFace, "c", strings.Repeat("x", 40), "cases/" + id + "/attempt-1/face-c." + strings.Repeat("x", 16)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CaptureKey(tc.caseID, tc.attempt, tc.kind, tc.captureID, tc.ext)
			if got != tc.want {
				t.Fatalf("CaptureKey = %q, want %q", got, tc.want)
			}
			if !strings.HasPrefix(got, "cases/") || strings.Count(got, "/") != 3 {
				t.Fatalf("CaptureKey %q does not have the cases/<case>/attempt-<n>/<file> shape", got)
			}
			if tc.caseID != "" && tc.captureID != "" {
				if err := validKey(got); err != nil {
					t.Fatalf("CaptureKey %q is not a valid key: %v", got, err)
				}
			}
		})
	}
}

func TestParseS3URL(t *testing.T) {
	cases := []struct {
		in, bucket, key string
		wantErr         bool
	}{
		{in: "s3://vkyc/recordings/kyc-1-a1/room.mp4", bucket: "vkyc", key: "recordings/kyc-1-a1/room.mp4"},
		{in: "S3://vkyc/a.mp4", bucket: "vkyc", key: "a.mp4"},
		{in: "s3://my.bucket-1/key with spaces+plus.mp4", bucket: "my.bucket-1", key: "key with spaces+plus.mp4"},
		{in: "s3://vkyc/trailing/", wantErr: true},
		{in: "s3://vkyc/", wantErr: true},
		{in: "s3://vkyc", wantErr: true},
		{in: "s3:///key", wantErr: true},
		{in: "s3://", wantErr: true},
		{in: "", wantErr: true},
		{in: "https://vkyc/key", wantErr: true},
		{in: "s3:/vkyc/key", wantErr: true},
		{in: "file:///etc/passwd", wantErr: true},
		{in: "s3://vkyc/../secret", wantErr: true},
		{in: "s3://vkyc/a/../../b", wantErr: true},
		{in: "s3://vkyc/a/./b", wantErr: true},
		{in: "s3://vkyc//abs", wantErr: true},
		{in: "s3://vkyc/a//b", wantErr: true},
		{in: "s3://vkyc/a\\..\\b", wantErr: true},
		{in: "s3://vkyc/a\x00b", wantErr: true},
		{in: "s3://vkyc/a\nb", wantErr: true},
		{in: "s3://vkyc/\xff\xfe", wantErr: true},
		{in: "s3://user:pw@vkyc/key", wantErr: true},
		{in: "s3://vkyc:9000/key", wantErr: true},
		{in: "s3://VKYC/key", wantErr: true},
		{in: "s3://ab/key", wantErr: true},
		{in: "s3://-vkyc/key", wantErr: true},
		{in: "s3://vk..yc/key", wantErr: true},
		{in: "s3://192.168.1.1/key", wantErr: true},
		{in: "s3://" + strings.Repeat("b", 64) + "/key", wantErr: true},
		{in: "s3://vkyc/" + strings.Repeat("k", 1025), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			bucket, key, err := ParseS3URL(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseS3URL(%q) = %q, %q; want an error", tc.in, bucket, key)
				}
				return
			}
			if err != nil || bucket != tc.bucket || key != tc.key {
				t.Fatalf("ParseS3URL(%q) = %q, %q, %v; want %q, %q", tc.in, bucket, key, err, tc.bucket, tc.key)
			}
		})
	}
}

func TestPolicyIsPublic(t *testing.T) {
	cases := []struct {
		name    string
		doc     string
		public  bool
		wantErr bool
	}{
		{name: "no policy", doc: ""},
		{name: "private statement", doc: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root"]},"Action":"s3:GetObject"}]}`},
		{name: "bare star", doc: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}`, public: true},
		{name: "AWS star string", doc: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject"}}`, public: true},
		{name: "AWS star in list", doc: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:x","*"]}}]}`, public: true},
		{name: "NotPrincipal allow", doc: `{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":["arn:x"]}}]}`, public: true},
		{name: "deny to everyone", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*"}]}`},
		{name: "lower-case effect", doc: `{"Statement":[{"Effect":"allow","Principal":"*"}]}`, public: true},
		{name: "garbage", doc: `{not json`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			public, err := policyIsPublic(tc.doc)
			if (err != nil) != tc.wantErr || public != tc.public {
				t.Fatalf("policyIsPublic = %v, %v; want %v (error %v)", public, err, tc.public, tc.wantErr)
			}
		})
	}
}

func TestCappedReader(t *testing.T) {
	cases := []struct {
		name    string
		input   string
		limit   int64
		want    string
		tooLong bool
	}{
		{name: "under", input: "abc", limit: 5, want: "abc"},
		{name: "exact", input: "abcde", limit: 5, want: "abcde"},
		{name: "one over", input: "abcdef", limit: 5, want: "abcde", tooLong: true},
		{name: "empty", input: "", limit: 1, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// iotest-style one-byte reads exercise the boundary byte by byte.
			got, err := io.ReadAll(&cappedReader{r: &oneByteReader{s: tc.input}, left: tc.limit})
			if string(got) != tc.want || errors.Is(err, ErrTooLarge) != tc.tooLong || (!tc.tooLong && err != nil) {
				t.Fatalf("read %q, %v; want %q (too large: %v)", got, err, tc.want, tc.tooLong)
			}
		})
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestParseSSEMode(t *testing.T) {
	for in, want := range map[string]string{"": SSEAuto, "auto": SSEAuto, " ON ": SSEOn, "off": SSEOff} {
		got, err := parseSSEMode(in)
		if err != nil || got != want {
			t.Fatalf("parseSSEMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"yes", "true", "aws:kms", "1"} {
		if _, err := parseSSEMode(in); err == nil {
			t.Fatalf("parseSSEMode(%q) succeeded", in)
		}
	}
}
