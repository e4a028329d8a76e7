package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/workflows"
)

const (
	// multipartOverhead is what the form may add to the file: boundaries,
	// part headers and the kind field.
	multipartOverhead = 64 << 10
	sniffLen          = 512
	headerContentSHA  = "X-Content-SHA256"
)

// captureNamespace turns an Idempotency-Key into a capture id (UUID v5), so
// that a retried upload registers the same capture once.
var captureNamespace = uuid.MustParse("6f1f4f7e-3c55-4a4e-9d0b-2f8c6a1e5b90")

// imageTypes are the capture formats we accept, with their extensions.
var imageTypes = map[string]string{"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

// sniff names the image format from its first bytes; the client's claimed
// Content-Type is never trusted.
func sniff(head []byte) string {
	ct, _, _ := strings.Cut(http.DetectContentType(head), ";")
	return ct
}

// uploadCapture streams an image of the call into object storage and
// registers it in the workflow. It takes the image either as the body itself
// (its own Content-Type and Content-Length, the kind in the query), which
// goes to storage in one streaming PUT, or as a multipart form, whose file's
// length is unknown until its end, so it goes up in parts when it is larger
// than one. The form must send the field "kind" before the field "file": the
// file is streamed as it arrives, never buffered, so its kind (part of the
// object key) must be known when it starts.
func (s *Server) uploadCapture(c *gin.Context) {
	if !s.allow(c, kyc.RoleAgent) {
		return
	}
	p := caller(c)
	key, e := idempotencyKey(c)
	if e != nil {
		s.abort(c, e)
		return
	}
	raw, e := uploadShape(c)
	if e != nil {
		s.abort(c, e)
		return
	}
	wantSHA := strings.ToLower(strings.TrimSpace(c.GetHeader(headerContentSHA)))
	if wantSHA != "" && !kyc.IsSHA256Hex(wantSHA) {
		s.abort(c, invalidField(headerContentSHA, "must be the hex SHA-256 of the file (64 characters)"))
		return
	}
	limit := s.d.Config.Capture.MaxBytes
	var rawKind kyc.CaptureKind
	if raw != "" {
		if rawKind, e = rawUploadKind(c, limit); e != nil {
			s.abort(c, e)
			return
		}
	} else if c.Request.ContentLength > limit+multipartOverhead {
		s.abort(c, tooLarge(limit))
		return
	}
	rec, ok := s.pathRecord(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	scope := idempotencyScope(workflows.UpdateAddCapture, p, rec.ID)
	var saved *savedResponse
	if key != "" {
		if saved, e = s.savedResponse(ctx, scope, key); e != nil {
			s.abort(c, e)
			return
		}
	}
	// The projection first: it trails the workflow by one save (tens of
	// milliseconds), and a query (a round trip through Temporal and the
	// worker, the largest share of an upload's time in the benchmark) is
	// spent only to confirm a refusal. The workflow's validator is the
	// authority either way: a capture it refuses (a stale projection let
	// the upload through) is deleted again. Nobody but the case's agent,
	// confirmed by the projection (an assignment never changes) or by the
	// workflow, gets to store bytes under the case. When the query cannot
	// confirm a closed status for that agent, the upload goes on and the
	// workflow decides, rather than refusing on a view that may be old.
	view, queried := rec.View, false
	if saved == nil && (view.AgentID != p.Sub || !capturesOpen(view.Status)) {
		view, queried = s.queriedView(ctx, rec)
	}
	switch {
	case saved != nil:
		// A retry of an upload that was answered gets that answer, even
		// after the case moved on.
	case view.AgentID != p.Sub && (queried || view.AgentID != ""):
		s.abort(c, forbidden("case %s is not assigned to you", rec.ID))
		return
	case view.AgentID != p.Sub:
		// Unassigned in the projection and the workflow did not answer:
		// the caller may have just been assigned, or not at all.
		s.abort(c, newError(http.StatusServiceUnavailable, codeUnavailable, "the case's assignment cannot be confirmed right now; retry"))
		return
	case queried && !capturesOpen(view.Status):
		// The workflow decides; this only spares an upload it would refuse.
		s.abort(c, newError(http.StatusConflict, codeInvalidState, "case is %s; captures are taken during the call and until the decision", view.Status))
		return
	}

	kind, file, size := rawKind, io.Reader(clientBody{c.Request.Body, "the upload could not be read"}), c.Request.ContentLength
	if raw == "" {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit+multipartOverhead)
		mr, release, err := multipartReader(c.Request)
		if err != nil {
			s.abort(c, malformed("the body is not a multipart form: %v", err))
			return
		}
		defer release()
		if kind, e = readKind(mr, limit); e != nil {
			s.abort(c, e)
			return
		}
		if file, e = nextFile(mr, limit); e != nil {
			s.abort(c, e)
			return
		}
		size = -1 // the form does not say how long its file is
	}
	// More than the sniffer needs: checkImage reads the image's header.
	headp := headBuffers.Get().(*[]byte)
	defer headBuffers.Put(headp)
	head := (*headp)[:min(headerWindow, limit+1)]
	n, err := io.ReadFull(file, head)
	switch {
	case size > 0 && int64(n) < min(int64(len(head)), size):
		s.abort(c, malformed("the upload ended after %d of its %d bytes", n, size))
		return
	case err != nil && err != io.EOF && err != io.ErrUnexpectedEOF:
		s.abort(c, readFailure(err, limit))
		return
	}
	head = head[:n]
	if n == 0 {
		s.abort(c, newError(http.StatusUnprocessableEntity, codeEmptyFile, "file: is empty"))
		return
	}
	contentType := sniff(head[:min(n, sniffLen)])
	ext, ok := imageTypes[contentType]
	if !ok {
		s.abort(c, newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "file: is %s; send a JPEG, PNG or WebP image", contentType))
		return
	}
	if raw != "" && raw != contentType {
		s.abort(c, newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "file: is %s, but Content-Type says %s; send the image's own type", contentType, raw))
		return
	}
	if err := checkImage(contentType, head, n < len(head)); err != nil {
		s.abort(c, newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia, "file: %v; send a JPEG, PNG or WebP image", err))
		return
	}
	body := io.MultiReader(bytes.NewReader(head), file)

	u := captureUpload{
		rec: rec, p: p, key: key, kind: kind, attempt: view.Attempt, contentType: contentType,
		captureID: uuid.NewString(), scope: scope, size: size,
		// A failed PUT can be answered while its body is still being
		// read: unblock that read, so the answer does not wait for the
		// client's next bytes.
		interrupt: func() { _ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now()) },
	}
	u.objectKey = blob.CaptureKey(rec.ID, u.attempt, kind, u.captureID, ext)
	if key != "" {
		// One capture id per key, and one object per upload: two uploads
		// with the same key (a retry racing the first try) never write
		// the same object, so a registered capture's bytes can never be
		// replaced. The objects of a key share a prefix, where a retry
		// finds what an earlier try stored.
		u.captureID = uuid.NewSHA1(captureNamespace, []byte(rec.ID+"\x00"+string(p.Role)+":"+p.Sub+"\x00"+key)).String()
		u.keyPrefix = strings.TrimSuffix(blob.CaptureKey(rec.ID, u.attempt, kind, u.captureID, "x"), ".x") + "-"
		u.objectKey = blob.CaptureKey(rec.ID, u.attempt, kind, u.captureID+"-"+uploadSuffix(), ext)
	}
	s.storeCapture(c, &u, body, wantSHA, saved)
}

// headBuffers hold the start of an upload while it is checked, until it is
// stored: one per upload in flight, reused rather than allocated and zeroed
// for every upload.
var headBuffers = sync.Pool{New: func() any { b := make([]byte, headerWindow); return &b }}

type captureUpload struct {
	rec         *store.CaseRecord
	p           principal
	key, scope  string
	kind        kyc.CaptureKind
	attempt     int
	captureID   string
	objectKey   string
	keyPrefix   string // with an Idempotency-Key: the prefix of the key's objects
	contentType string
	size        int64 // of a raw upload (its Content-Length); -1 for a form
	interrupt   func()
}

// uploadSuffix tells apart the objects of uploads that share an
// Idempotency-Key.
func uploadSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type captureHash struct {
	Kind   kyc.CaptureKind `json:"kind"`
	SHA256 string          `json:"sha256"`
}

func (s *Server) storeCapture(c *gin.Context, u *captureUpload, body io.Reader, wantSHA string, saved *savedResponse) {
	ctx := c.Request.Context()
	limit := s.d.Config.Capture.MaxBytes
	if saved != nil {
		// Compare what was sent without storing it again.
		sum, _, e := hashStream(body, limit)
		if e != nil {
			s.abort(c, e)
			return
		}
		if saved.hash != requestHash(workflows.UpdateAddCapture, captureHash{u.kind, sum}) {
			s.abort(c, newError(http.StatusConflict, codeIdempotencyReused, "this Idempotency-Key was used for a different upload; use a new key for a new capture"))
			return
		}
		c.Data(saved.status, "application/json; charset=utf-8", saved.body)
		return
	}

	obj, fresh, e := s.putCapture(ctx, u, body, limit, wantSHA)
	if e != nil {
		s.abort(c, e)
		return
	}
	if wantSHA != "" && obj.SHA256 != wantSHA {
		if fresh {
			s.deleteObject(ctx, obj.Key)
		}
		s.abort(c, newError(http.StatusUnprocessableEntity, codeChecksumMismatch, "%s does not match the file received (sha256 %s); nothing was stored", headerContentSHA, obj.SHA256))
		return
	}

	req := workflows.AddCaptureRequest{
		CaptureID: u.captureID, Kind: u.kind, ObjectKey: obj.Key, Size: obj.Size, SHA256: obj.SHA256,
		ContentType: u.contentType, Attempt: u.attempt, AgentID: u.p.Sub,
	}
	id := workflows.UpdateAddCapture + "-" + u.captureID
	if u.key != "" {
		id = updateID(workflows.UpdateAddCapture, u.p, u.key, "")
	}
	view, e := s.update(ctx, u.rec, workflows.UpdateAddCapture, id, req)
	if e != nil && e.Status < 500 && u.key != "" {
		// A concurrent upload with the same key may have registered the
		// capture first: the workflow refuses ours as other content.
		if fv := s.freshView(ctx, u.rec); findCapture(fv.Captures, u.captureID) != nil {
			view, e = fv, nil
		}
	}
	if e == nil && u.key != "" {
		if cp := findCapture(view.Captures, u.captureID); cp != nil && cp.ObjectKey != obj.Key {
			// Another upload of this key registered its object (the
			// update id is the key's, so Temporal may also have answered
			// us with that upload's result). Ours is not needed: the same
			// bytes get the registered capture, other bytes a refusal.
			if fresh {
				s.deleteObject(ctx, obj.Key)
			}
			if cp.SHA256 != obj.SHA256 {
				s.abort(c, keyReused())
				return
			}
		}
	}
	if e != nil {
		// A refused capture must not stay in the bucket. An unanswered
		// update may still be applied, so its object stays for the retry.
		if e.Status < 500 {
			s.deleteObject(ctx, obj.Key)
			if e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict {
				e.Status, e.Code = http.StatusConflict, codeInvalidState
			}
		}
		s.abort(c, e)
		return
	}
	var capture *kyc.Capture
	for i := range view.Captures {
		if view.Captures[i].ID == u.captureID {
			capture = &view.Captures[i]
		}
	}
	if capture == nil {
		s.abort(c, internalError(errors.New("the workflow accepted the capture but its view lacks it")))
		return
	}
	body2, err := json.Marshal(capture)
	if err != nil {
		s.abort(c, internalError(err))
		return
	}
	if u.key != "" {
		hash := requestHash(workflows.UpdateAddCapture, captureHash{u.kind, capture.SHA256})
		if !s.saveResponse(c, u.scope, u.key, hash, http.StatusCreated, body2) {
			return
		}
	}
	c.Header("Location", "/v1/cases/"+u.rec.ID+"/captures/"+capture.ID)
	c.Data(http.StatusCreated, "application/json; charset=utf-8", body2)
}

// putCapture stores the upload under its key. With an Idempotency-Key the
// object may already be there from an earlier try whose answer was lost: it
// is then kept if the new bytes are the same (fresh=false), and the request
// refused if they differ, so a registered capture is never overwritten.
//
// With the SHA-256 announced (X-Content-SHA256), the bytes are stored only if
// they match it: a mismatch stores nothing and comes back as an object with
// the digest received and fresh=false, which storeCapture answers with 422.
func (s *Server) putCapture(ctx context.Context, u *captureUpload, body io.Reader, limit int64, wantSHA string) (blob.Object, bool, *apiError) {
	if u.key != "" {
		earlier, err := s.d.Blob.List(ctx, u.keyPrefix, 4)
		if err != nil {
			return blob.Object{}, false, unavailable("object storage", err)
		}
		if len(earlier) > 0 {
			sum, size, e := hashStream(body, limit)
			if e != nil {
				return blob.Object{}, false, e
			}
			for _, info := range earlier {
				if sum == info.SHA256 && size == info.Size {
					return blob.Object{Key: info.Key, Size: size, SHA256: sum, ETag: info.ETag, ContentType: u.contentType}, false, nil
				}
			}
			return blob.Object{}, false, keyReused()
		}
	}
	// The bytes stream once, straight to the object's key; an announced
	// digest is checked before the object appears.
	var obj blob.Object
	var err error
	switch {
	case u.size > 0:
		obj, err = s.d.Blob.PutSized(ctx, u.objectKey, body, u.size, u.contentType, wantSHA, u.interrupt)
	case wantSHA != "":
		obj, err = s.d.Blob.PutVerified(ctx, u.objectKey, body, limit, u.contentType, wantSHA)
	default:
		obj, err = s.d.Blob.Put(ctx, u.objectKey, body, limit, u.contentType)
	}
	var mismatch *blob.ChecksumMismatchError
	if errors.As(err, &mismatch) {
		return blob.Object{Key: u.objectKey, SHA256: mismatch.Got}, false, nil
	}
	if err != nil {
		return blob.Object{}, false, putFailure(err, limit)
	}
	return obj, true, nil
}

func keyReused() *apiError {
	return newError(http.StatusConflict, codeIdempotencyReused, "this Idempotency-Key was used for a different upload; use a new key for a new capture")
}

// clientFailure answers a failure to take the upload that is the client's
// (too large, a broken or cut body), or is nil.
func clientFailure(err error, limit int64) *apiError {
	var tooBig *http.MaxBytesError
	var clientErr clientError
	switch {
	case errors.Is(err, blob.ErrTooLarge), errors.As(err, &tooBig):
		return tooLarge(limit)
	case errors.As(err, &clientErr):
		return malformed("%s: %v", clientErr.what, clientErr.err)
	}
	return nil
}

func putFailure(err error, limit int64) *apiError {
	if e := clientFailure(err, limit); e != nil {
		return e
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, blob.ErrShortBody), errors.Is(err, context.Canceled):
		return malformed("the upload ended early")
	}
	return unavailable("object storage", err)
}

func (s *Server) deleteObject(ctx context.Context, key string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.d.Blob.Delete(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "could not delete a refused capture; remove it by hand", "key", key, "error", err)
	}
}

func tooLarge(limit int64) *apiError {
	return newError(http.StatusRequestEntityTooLarge, codeTooLarge, "file: larger than %d bytes; nothing was stored", limit)
}

func readFailure(err error, limit int64) *apiError {
	if e := clientFailure(err, limit); e != nil {
		return e
	}
	return malformed("the multipart body could not be read")
}

// hashStream reads an upload to its end through SHA-256, refusing more than
// limit bytes.
func hashStream(r io.Reader, limit int64) (string, int64, *apiError) {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, limit+1))
	if err != nil {
		return "", 0, readFailure(err, limit)
	}
	if n > limit {
		return "", 0, tooLarge(limit)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// clientError marks a failure to read the request (a broken form, a
// connection cut or stalled), as opposed to a storage failure, when it
// surfaces from inside the blob store.
type clientError struct {
	err  error
	what string
}

func (e clientError) Error() string { return e.what + ": " + e.err.Error() }
func (e clientError) Unwrap() error { return e.err }

// clientBody reads the request's upload and marks read errors other than EOF
// (and the size limit's) as the client's.
type clientBody struct {
	r    io.Reader
	what string
}

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return n, err
		}
		return n, clientError{err, b.what}
	}
	return n, err
}

// bodyBuffers read upload bodies in large reads: mime/multipart reads
// through a 4 KiB buffer, which made reading the socket one of the API's
// largest costs per upload in the capture benchmark.
var bodyBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// multipartReader is http.Request.MultipartReader over a pooled 64 KiB
// buffer; release returns the buffer once the body is no longer read.
func multipartReader(r *http.Request) (*multipart.Reader, func(), error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		return nil, nil, http.ErrNotMultipart
	}
	boundary, ok := params["boundary"]
	if !ok || boundary == "" {
		return nil, nil, http.ErrMissingBoundary
	}
	br := bodyBuffers.Get().(*bufio.Reader)
	br.Reset(r.Body)
	return multipart.NewReader(br, boundary), func() {
		br.Reset(nil)
		bodyBuffers.Put(br)
	}, nil
}

// uploadShape tells a raw upload (the image itself as the body, its type
// returned) from a multipart form (""), and refuses anything else.
func uploadShape(c *gin.Context) (string, *apiError) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err == nil {
		mt = strings.ToLower(mt)
		if _, ok := imageTypes[mt]; ok {
			return mt, nil
		}
		if mt == "multipart/form-data" {
			return "", nil
		}
	}
	return "", newError(http.StatusUnsupportedMediaType, codeUnsupportedMedia,
		"Content-Type must be multipart/form-data (fields kind, then file), or the image's own type (image/jpeg, image/png or image/webp) with ?kind=")
}

// rawUploadKind checks a raw upload's length and reads its kind from the
// query. The length must be announced: the bytes go to storage in one PUT
// as they arrive, which needs it up front.
func rawUploadKind(c *gin.Context, limit int64) (kyc.CaptureKind, *apiError) {
	switch n := c.Request.ContentLength; {
	case n < 0:
		return "", newError(http.StatusLengthRequired, codeLengthRequired, "send the image with a Content-Length (or as a multipart form)")
	case n == 0:
		return "", newError(http.StatusUnprocessableEntity, codeEmptyFile, "file: is empty")
	case n > limit:
		return "", tooLarge(limit)
	}
	qs := c.QueryArray("kind")
	switch len(qs) {
	case 0:
		return "", invalidField("kind", "is required in the query (?kind=) of a raw upload")
	case 1:
	default:
		return "", invalidField("kind", "is given %d times; give it once", len(qs))
	}
	return parseKind(qs[0])
}

// parseKind reads a capture kind as the form field or the query gives it.
func parseKind(s string) (kyc.CaptureKind, *apiError) {
	k := kyc.CaptureKind(strings.TrimSpace(s))
	if len(s) > 64 || !k.Valid() {
		return "", invalidField("kind", "must be one of %s", kindList(kyc.AllCaptureKinds))
	}
	return k, nil
}

func readKind(mr *multipart.Reader, limit int64) (kyc.CaptureKind, *apiError) {
	part, err := mr.NextPart()
	switch {
	case err == io.EOF:
		return "", invalidField("kind", "is required")
	case err != nil:
		return "", readFailure(err, limit)
	}
	switch part.FormName() {
	case "kind":
	case "file":
		return "", malformed("send the form field kind before the field file")
	default:
		return "", malformed("unexpected form field %q; send kind, then file", truncate(part.FormName(), 40))
	}
	b, err := io.ReadAll(io.LimitReader(part, 65))
	if err != nil {
		return "", readFailure(err, limit)
	}
	return parseKind(string(b))
}

func nextFile(mr *multipart.Reader, limit int64) (io.Reader, *apiError) {
	part, err := mr.NextPart()
	switch {
	case err == io.EOF:
		return nil, invalidField("file", "is required")
	case err != nil:
		return nil, readFailure(err, limit)
	}
	if part.FormName() != "file" {
		return nil, malformed("unexpected form field %q; send kind, then file", truncate(part.FormName(), 40))
	}
	return clientBody{part, "the multipart body is broken"}, nil
}

// getCapture redirects to a short-lived presigned URL of the image. The URL
// is a bearer secret, so neither the answer nor any cache may keep it.
func (s *Server) getCapture(c *gin.Context) {
	if !s.allow(c, kyc.RoleAgent, kyc.RoleAuditor, kyc.RoleAdmin) {
		return
	}
	p := caller(c)
	rec, view, ok := s.loadWorkedCase(c, p)
	if !ok {
		return
	}
	if p.Role == kyc.RoleAgent && view.Status.Terminal() {
		// An agent needs the images while handling the case; once it is
		// closed they are the auditors' and admins' alone (data
		// minimisation), whatever the agent handled before.
		s.abort(c, forbidden("case %s is %s; its captures are for auditors and admins now", view.ID, view.Status))
		return
	}
	id := c.Param("capture_id")
	cp := findCapture(view.Captures, id)
	if cp == nil {
		// A capture answered a moment ago may not be projected yet.
		cp = findCapture(s.freshView(c.Request.Context(), rec).Captures, id)
	}
	if cp != nil {
		s.answerPresigned(c, cp.ObjectKey)
		return
	}
	s.abort(c, newError(http.StatusNotFound, codeCaptureNotFound, "case %s has no capture %q", view.ID, truncate(id, 64)))
}

func findCapture(cs []kyc.Capture, id string) *kyc.Capture {
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	return nil
}

// capturesOpen reports whether the workflow takes captures in status st.
func capturesOpen(st kyc.Status) bool {
	return st == kyc.StatusInCall || st == kyc.StatusAwaitingDecision
}
