package blob

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
)

// spoolBodies reads every upload body to a temporary file before the store
// sees it. gofakes3's file backend writes objects in place, so a body that
// fails midway (a chunk signature or payload hash that does not match, a
// client that disconnects) would otherwise leave a truncated object behind.
// Spooling makes a write all-or-nothing and lets us answer verification
// failures with the proper S3 error instead of a generic 500.
func spoolBodies(dir string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodPut && r.Method != http.MethodPost) || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, n, e := spool(dir, r.Body)
		if e != nil {
			e.write(w, r)
			return
		}
		defer body.Close()
		r.Body = body
		r.ContentLength = n
		r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
		next.ServeHTTP(w, r)
	})
}

func spool(dir string, body io.ReadCloser) (io.ReadCloser, int64, *s3Error) {
	defer body.Close()
	f, err := os.CreateTemp(dir, "upload-")
	if err != nil {
		return nil, 0, internalError(err)
	}
	sf := &spooledFile{f: f}
	n, err := io.Copy(f, body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
		if err != nil {
			err = internalError(err)
		}
	}
	if err != nil {
		_ = sf.Close() // only removes the spool file; the upload error is what matters
		return nil, 0, uploadError(err)
	}
	return sf, n, nil
}

func uploadError(err error) *s3Error {
	var e *s3Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, errChunkSignature):
		return &s3Error{status: http.StatusForbidden, code: "SignatureDoesNotMatch", message: err.Error()}
	case errors.Is(err, errPayloadMismatch):
		return &s3Error{status: http.StatusBadRequest, code: "XAmzContentSHA256Mismatch", message: err.Error()}
	}
	return &s3Error{status: http.StatusBadRequest, code: "IncompleteBody", message: err.Error()}
}

func internalError(err error) *s3Error {
	return &s3Error{status: http.StatusInternalServerError, code: "InternalError", message: fmt.Sprintf("spool upload: %v", err)}
}

// spooledFile deletes its file when closed.
type spooledFile struct {
	f    *os.File
	once sync.Once
}

func (s *spooledFile) Read(p []byte) (int, error) { return s.f.Read(p) }

func (s *spooledFile) Close() error {
	s.once.Do(func() {
		// A spool file is scratch space in the temporary directory: a failed
		// close or remove leaves garbage, never wrong data.
		_ = s.f.Close()
		_ = os.Remove(s.f.Name())
	})
	return nil
}
