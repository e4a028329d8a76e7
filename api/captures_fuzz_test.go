package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// fuzzCaptureLimit is small so that the fuzzer reaches the size checks.
const fuzzCaptureLimit = 16 << 10

const fuzzBoundary = "vkyc-fuzz-boundary"

// readCaptureForm is the part of uploadCapture that reads the request
// before anything is stored, in the handler's order: the media type, the
// form, the kind field, the file field, the first bytes (sniffed) and then
// the whole file through SHA-256, as storeCapture streams it. The handler
// reaches this only for a case in a call, which needs the database and
// Temporal; this lets the fuzzer drive the parsing alone.
func readCaptureForm(c *gin.Context, limit int64) (kind kyc.CaptureKind, contentType, sum string, size int64, e *apiError) {
	if e := requireMediaType(c, "multipart/form-data"); e != nil {
		return "", "", "", 0, e
	}
	if c.Request.ContentLength > limit+multipartOverhead {
		return "", "", "", 0, tooLarge(limit)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+multipartOverhead)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return "", "", "", 0, malformed("the body is not a multipart form: %v", err)
	}
	if kind, e = readKind(mr, limit); e != nil {
		return "", "", "", 0, e
	}
	file, e := nextFile(mr, limit)
	if e != nil {
		return "", "", "", 0, e
	}
	head := make([]byte, min(headerWindow, limit+1))
	n, err := io.ReadFull(file, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", "", "", 0, readFailure(err, limit)
	}
	head = head[:n]
	if n == 0 {
		return "", "", "", 0, newError(http.StatusUnprocessableEntity, codeEmptyFile, "file: is empty")
	}
	contentType = sniff(head[:min(n, sniffLen)])
	if _, ok := imageTypes[contentType]; !ok {
		return "", "", "", 0, newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "file: is %s", contentType)
	}
	if err := checkImage(contentType, head, n < len(head)); err != nil {
		return "", "", "", 0, newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "file: %v", err)
	}
	sum, size, e = hashStream(io.MultiReader(bytes.NewReader(head), file), limit)
	return kind, contentType, sum, size, e
}

func captureSeed(f *testing.F, parts ...[3]string) []byte {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(fuzzBoundary); err != nil {
		f.Fatal(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p[0], p[1]))
		if p[1] == "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p[0]))
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			f.Fatal(err)
		}
		_, _ = pw.Write([]byte(p[2]))
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzCaptureForm: any body and Content-Type given to the capture upload
// either is refused with a 4xx in the error shape, or yields a known kind, a
// sniffed image type and the SHA-256 and size of exactly the bytes of the
// file part, within the limit.
func FuzzCaptureForm(f *testing.F) {
	samples, err := apiclient.Samples()
	if err != nil {
		f.Fatal(err)
	}
	ct := "multipart/form-data; boundary=" + fuzzBoundary
	for _, s := range samples {
		f.Add(ct, captureSeed(f, [3]string{"kind", "", string(s.Kind)}, [3]string{"file", s.FileName, string(s.Data)}))
	}
	png := string(samples[2].Data)
	for _, seed := range [][][3]string{
		{{"kind", "", "face"}, {"file", "x.jpg", "\xff\xd8\xff\xe0 a JPEG header on a text file"}},
		{{"kind", "", "face"}, {"file", "x.png", "%PDF-1.7"}},
		{{"kind", "", "face"}, {"file", "x.png", ""}},
		{{"kind", "", "face"}, {"file", "x.png", "RIFF\x10\x00\x00\x00WEBPVP8 "}},
		{{"file", "x.png", png}, {"kind", "", "face"}},
		{{"kind", "", "selfie"}, {"file", "x.png", png}},
		{{"kind", "", " face\r\n"}, {"file", "../../etc/passwd", png}},
		{{"kind", "", "face"}},
		{{"note", "", "x"}},
		{{"kind", "", "face"}, {"file", "x.png", png}, {"file", "y.png", png}},
		{{"kind", "", "face"}, {"file", "big.png", png + string(make([]byte, fuzzCaptureLimit))}},
	} {
		f.Add(ct, captureSeed(f, seed...))
	}
	f.Add("multipart/form-data", captureSeed(f, [3]string{"kind", "", "face"}))
	f.Add("multipart/form-data; boundary=\"\"", []byte("--\r\n"))
	f.Add("multipart/mixed; boundary="+fuzzBoundary, captureSeed(f, [3]string{"kind", "", "face"}))
	f.Add("application/json", []byte(`{"kind":"face"}`))
	f.Add(ct, []byte("--"+fuzzBoundary+"\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nface\r\n--"+fuzzBoundary+"\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\x89PNG\r\n\x1a\n"))

	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest(http.MethodPost, "/v1/cases/x/captures", bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", contentType)
		kind, sniffed, sum, size, e := readCaptureForm(c, fuzzCaptureLimit)
		if e != nil {
			if !slices.Contains(bodyErrors, e.Status) || e.Message == "" || len(e.Message) > maxErrorMessage {
				t.Fatalf("refused with %d %s %q", e.Status, e.Code, e.Message)
			}
			return
		}
		if !kind.Valid() || imageTypes[sniffed] == "" || size < 1 || size > fuzzCaptureLimit {
			t.Fatalf("accepted kind %q, type %q, %d bytes", kind, sniffed, size)
		}
		// An independent reading of the same form must find the same file.
		data := fileOf(t, contentType, body)
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != sum || int64(len(data)) != size {
			t.Fatalf("hashed %d bytes (%s), the form's file part has %d (%x)", size, sum, len(data), got)
		}
	})
}

// fileOf returns the content of the second part of a form that the capture
// reader accepted, read with the plain standard library.
func fileOf(t *testing.T, contentType string, body []byte) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	mr, err := req.MultipartReader()
	if err != nil {
		t.Fatalf("the accepted form does not parse: %v", err)
	}
	for i := 0; i < 2; i++ {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("the accepted form has no part %d: %v", i+1, err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if i == 1 {
			return b
		}
	}
	return nil
}
