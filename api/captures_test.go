package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

func TestCaptureUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1", kyc.CaptureFace, kyc.CaptureIDFront)
	prefix := "cases/" + v.ID + "/"
	agent := e.agent("agent-1")

	t.Run("formats", func(t *testing.T) { uploadEachFormat(t, e, v.ID, agent, e.upload, false) })

	before := len(e.objects(prefix))
	big := pngImage(t, 200, 200) // far above the 64 KiB test limit
	if len(big) <= testCaptureLimit {
		t.Fatalf("test image of %d bytes is not over the limit", len(big))
	}
	refused := []struct {
		name    string
		body    func() ([]byte, string)
		headers map[string]string
		status  int
		code    string
	}{
		{"not an image", func() ([]byte, string) { return captureForm(t, kyc.CaptureFace, []byte("%PDF-1.7 not an image")) }, nil, 415, "unsupported_media_type"},
		{"html claiming to be png", func() ([]byte, string) {
			return multipartBody(t, formField{name: "kind", data: []byte("face")},
				formField{name: "file", filename: "x.png", contentType: "image/png", data: []byte("<html><script>alert(1)</script></html>")})
		}, nil, 415, "unsupported_media_type"},
		{"too large", func() ([]byte, string) { return captureForm(t, kyc.CaptureFace, big) }, nil, 413, "payload_too_large"},
		{"empty file", func() ([]byte, string) { return captureForm(t, kyc.CaptureFace, nil) }, nil, 422, "empty_file"},
		{"checksum mismatch", func() ([]byte, string) { return captureForm(t, kyc.CaptureFace, pngImage(t, 3, 3)) },
			map[string]string{"X-Content-SHA256": sha([]byte("something else"))}, 422, "checksum_mismatch"},
		{"checksum not hex", func() ([]byte, string) { return captureForm(t, kyc.CaptureFace, pngImage(t, 3, 3)) },
			map[string]string{"X-Content-SHA256": "abc"}, 422, "invalid_field"},
		{"file before kind", func() ([]byte, string) {
			return multipartBody(t, formField{name: "file", filename: "f.png", data: pngImage(t, 2, 2)}, formField{name: "kind", data: []byte("face")})
		}, nil, 400, "malformed_request"},
		{"unknown kind", func() ([]byte, string) { return captureForm(t, "selfie", pngImage(t, 2, 2)) }, nil, 422, "invalid_field"},
		{"no file", func() ([]byte, string) { return multipartBody(t, formField{name: "kind", data: []byte("face")}) }, nil, 422, "invalid_field"},
		{"no fields", func() ([]byte, string) { return multipartBody(t) }, nil, 422, "invalid_field"},
		{"other field", func() ([]byte, string) { return multipartBody(t, formField{name: "note", data: []byte("x")}) }, nil, 400, "malformed_request"},
		{"broken multipart", func() ([]byte, string) {
			return []byte("--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nface\r\n--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\x89PNG\r\n\x1a\n" + strings.Repeat("z", 2000)), "multipart/form-data; boundary=b"
		}, nil, 400, "malformed_request"},
		{"JSON instead of a form", func() ([]byte, string) { return []byte(`{"kind":"face"}`), "application/json" }, nil, 415, "unsupported_media_type"},
		{"multipart without boundary", func() ([]byte, string) { return []byte("x"), "multipart/form-data" }, nil, 400, "malformed_request"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body()
			r := e.call(req{method: "POST", path: casePath(v.ID, "/captures"), token: agent, raw: body, contentType: ct, headers: tt.headers})
			wantError(t, r, tt.status, tt.code)
			if n := len(e.objects(prefix)); n != before {
				t.Fatalf("a refused upload left objects: %d, before %d: %v", n, before, e.objects(prefix))
			}
		})
	}
	if n := len(e.view(v.ID).Captures); n != 3 {
		t.Fatalf("%d captures registered, want the 3 accepted ones", n)
	}

	t.Run("not the assigned agent", func(t *testing.T) {
		r := e.upload(v.ID, e.agent("agent-2"), kyc.CaptureFace, pngImage(t, 2, 2), nil)
		wantError(t, r, http.StatusForbidden, "forbidden")
	})
	t.Run("case not in the call", func(t *testing.T) {
		c := e.createCase()
		e.joinToken(c.ID, e.agent("agent-1"), "agent")
		r := e.upload(c.ID, agent, kyc.CaptureFace, pngImage(t, 2, 2), nil)
		wantError(t, r, http.StatusConflict, "invalid_state")
		if !strings.Contains(string(r.body), "waiting_for_participants") {
			t.Fatalf("409 does not name the status: %s", r.body)
		}
		if n := len(e.objects("cases/" + c.ID + "/")); n != 0 {
			t.Fatalf("objects stored for a refused capture: %d", n)
		}
	})
	t.Run("unknown case", func(t *testing.T) {
		wantError(t, e.upload(uuid.NewString(), agent, kyc.CaptureFace, pngImage(t, 2, 2), nil), http.StatusNotFound, "case_not_found")
	})
}

// uploadEachFormat uploads a JPEG, a PNG and a WebP image (announcing their
// SHA-256 if asked) and checks what each became: its type, digest, size, key,
// Location and stored bytes.
func uploadEachFormat(t *testing.T, e *env, caseID, agent string, up uploadFunc, announce bool) {
	t.Helper()
	for _, tt := range []struct {
		name, ct, ext string
		data          []byte
	}{
		{"png", "image/png", ".png", pngImage(t, 4, 4)},
		{"jpeg", "image/jpeg", ".jpg", jpegImage(t)},
		{"webp", "image/webp", ".webp", webpImage()},
	} {
		var headers map[string]string
		if announce {
			headers = map[string]string{"X-Content-SHA256": sha(tt.data)}
		}
		r := up(caseID, agent, kyc.CaptureOther, tt.data, headers)
		wantStatus(t, r, http.StatusCreated)
		var c kyc.Capture
		r.decode(t, &c)
		if c.ContentType != tt.ct || c.SHA256 != sha(tt.data) || c.Size != int64(len(tt.data)) || c.Kind != kyc.CaptureOther {
			t.Fatalf("%s capture %+v", tt.name, c)
		}
		if want := "cases/" + caseID + "/attempt-1/other-" + c.ID + tt.ext; c.ObjectKey != want {
			t.Fatalf("object key %q, want %q", c.ObjectKey, want)
		}
		if r.header.Get("Location") != casePath(caseID, "/captures/", c.ID) {
			t.Fatalf("Location %q", r.header.Get("Location"))
		}
		got, err := e.s3.GetObject(context.Background(), e.bucket, c.ObjectKey, minioGet())
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := io.ReadAll(got)
		if !bytes.Equal(stored, tt.data) {
			t.Fatalf("%s: the stored object differs from the upload", tt.name)
		}
	}
}

// TestRawCaptureUploads sends captures as the image itself: stored in one
// PUT under the same key scheme as a form's, with the same refusals.
func TestRawCaptureUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1", kyc.CaptureFace)
	prefix := "cases/" + v.ID + "/"
	agent := e.agent("agent-1")

	uploadEachFormat(t, e, v.ID, agent, e.uploadRaw, true)
	// Without an announced digest the API computes it on the way through.
	img := pngImage(t, 3, 3)
	r := e.uploadRaw(v.ID, agent, kyc.CaptureFace, img, nil)
	wantStatus(t, r, http.StatusCreated)
	var c kyc.Capture
	r.decode(t, &c)
	if c.SHA256 != sha(img) || c.Size != int64(len(img)) {
		t.Fatalf("capture without a digest: %+v", c)
	}

	before := len(e.objects(prefix))
	png := pngImage(t, 2, 2)
	path := casePath(v.ID, "/captures")
	for _, tt := range []struct {
		name    string
		r       req
		status  int
		code    string
		message string
	}{
		{"no kind", req{path: path, raw: png, contentType: "image/png"}, 422, "invalid_field", "kind"},
		{"kind twice", req{path: path + "?kind=face&kind=id_front", raw: png, contentType: "image/png"}, 422, "invalid_field", "once"},
		{"unknown kind", req{path: path + "?kind=selfie", raw: png, contentType: "image/png"}, 422, "invalid_field", "kind"},
		{"type other than the bytes'", req{path: path + "?kind=face", raw: png, contentType: "image/jpeg"}, 415, "unsupported_media_type", "image/png"},
		{"not an image", req{path: path + "?kind=face", raw: []byte("%PDF-1.7 not an image"), contentType: "image/jpeg"}, 415, "unsupported_media_type", ""},
		{"other media type", req{path: path + "?kind=face", raw: png, contentType: "application/octet-stream"}, 415, "unsupported_media_type", "multipart/form-data"},
		{"too large", req{path: path + "?kind=face", raw: pngImage(t, 200, 200), contentType: "image/png"}, 413, "payload_too_large", ""},
		{"empty", req{path: path + "?kind=face", raw: []byte{}, contentType: "image/png"}, 422, "empty_file", ""},
		{"no length", req{path: path + "?kind=face", raw: png, contentType: "image/png", chunked: true}, 411, "length_required", "Content-Length"},
		{"checksum mismatch", req{path: path + "?kind=face", raw: png, contentType: "image/png",
			headers: map[string]string{"X-Content-SHA256": sha([]byte("other"))}}, 422, "checksum_mismatch", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.method, tt.r.token = "POST", agent
			r := e.call(tt.r)
			wantError(t, r, tt.status, tt.code)
			if !strings.Contains(string(r.body), tt.message) {
				t.Fatalf("the error does not say %q: %s", tt.message, r.body)
			}
			if n := len(e.objects(prefix)); n != before {
				t.Fatalf("a refused upload left objects: %d, before %d: %v", n, before, e.objects(prefix))
			}
		})
	}
	if n := len(e.view(v.ID).Captures); n != 4 {
		t.Fatalf("%d captures registered, want the 4 accepted ones", n)
	}

	t.Run("body shorter than its length", func(t *testing.T) {
		// Go's client refuses to send this; an agent's dropped connection
		// does it: the length announced, part of the image, then the end.
		host := strings.TrimPrefix(e.url, "http://")
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		img := pngImage(t, 8, 8)
		fmt.Fprintf(conn, "POST %s?kind=face HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n",
			path, host, agent, len(img)+500)
		if _, err := conn.Write(img); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		wantError(t, response{status: resp.StatusCode, header: resp.Header, body: body}, http.StatusBadRequest, "malformed_request")
		if !strings.Contains(string(body), "ended after") {
			t.Fatalf("the error does not say the upload ended early: %s", body)
		}
		if n := len(e.objects(prefix)); n != before {
			t.Fatalf("a cut upload left objects: %d, before %d", n, before)
		}
	})
}

func TestCaptureIdempotentRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, shape := range uploadShapes(e) {
		t.Run(shape.name, func(t *testing.T) { testCaptureIdempotentRetry(t, e, shape.up) })
	}
}

func testCaptureIdempotentRetry(t *testing.T, e *env, up uploadFunc) {
	v := e.inCall("agent-1")
	agent := e.agent("agent-1")
	img := pngImage(t, 5, 5)
	key := map[string]string{"Idempotency-Key": "cap-" + uuid.NewString()}

	first := up(v.ID, agent, kyc.CaptureFace, img, key)
	wantStatus(t, first, http.StatusCreated)
	second := up(v.ID, agent, kyc.CaptureFace, img, key)
	wantStatus(t, second, http.StatusCreated)
	var c1, c2 kyc.Capture
	first.decode(t, &c1)
	second.decode(t, &c2)
	if c1.ID != c2.ID || c1.ObjectKey != c2.ObjectKey {
		t.Fatalf("retry registered %s, first %s", c2.ID, c1.ID)
	}
	// Other content under the same key is refused and changes nothing.
	other := pngImage(t, 6, 6)
	wantError(t, up(v.ID, agent, kyc.CaptureFace, other, key), http.StatusConflict, "idempotency_key_reused")
	if caps := e.view(v.ID).Captures; len(caps) != 1 || caps[0].SHA256 != sha(img) {
		t.Fatalf("captures after retries: %+v", caps)
	}
	if objs := e.objects("cases/" + v.ID + "/"); len(objs) != 1 {
		t.Fatalf("objects after retries: %v", objs)
	}
	got, err := e.s3.GetObject(context.Background(), e.bucket, c1.ObjectKey, minioGet())
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(got)
	if !bytes.Equal(stored, img) {
		t.Fatal("the stored object is not the first upload")
	}

	// A retry after a lost answer: the object is stored and registered but
	// the saved response is gone (as if saving it had failed). The retry
	// finds the object, checks it holds the same bytes, and gets the same
	// capture from the workflow's deduplicated update.
	if _, err := e.st.PurgeIdempotentResponses(context.Background(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := up(v.ID, agent, kyc.CaptureFace, img, key)
	wantStatus(t, r, http.StatusCreated)
	var c3 kyc.Capture
	r.decode(t, &c3)
	if c3.ID != c1.ID {
		t.Fatalf("retry after a lost answer registered %s, want %s", c3.ID, c1.ID)
	}
	if _, err := e.st.PurgeIdempotentResponses(context.Background(), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Other bytes under that key never overwrite the registered object.
	wantError(t, up(v.ID, agent, kyc.CaptureFace, other, key), http.StatusConflict, "idempotency_key_reused")
	if caps := e.view(v.ID).Captures; len(caps) != 1 {
		t.Fatalf("captures: %+v", caps)
	}
	got, err = e.s3.GetObject(context.Background(), e.bucket, c1.ObjectKey, minioGet())
	if err != nil {
		t.Fatal(err)
	}
	stored, _ = io.ReadAll(got)
	if !bytes.Equal(stored, img) {
		t.Fatal("the registered object was overwritten")
	}

	// A keyed retry is answered even after the case moved on.
	key2 := map[string]string{"Idempotency-Key": "cap-" + uuid.NewString()}
	img2 := pngImage(t, 7, 7)
	r = up(v.ID, agent, kyc.CaptureIDFront, img2, key2)
	wantStatus(t, r, http.StatusCreated)
	var c4 kyc.Capture
	r.decode(t, &c4)
	wantStatus(t, e.post(v.ID, "/decision", agent, map[string]string{"outcome": "reject", "reason": "blurred"}, nil), http.StatusOK)
	r = up(v.ID, agent, kyc.CaptureIDFront, img2, key2)
	wantStatus(t, r, http.StatusCreated)
	var c5 kyc.Capture
	r.decode(t, &c5)
	if c5.ID != c4.ID {
		t.Fatalf("late retry answered %s, want %s", c5.ID, c4.ID)
	}
	// Without the key, the same upload now is refused: captures are closed.
	wantError(t, up(v.ID, agent, kyc.CaptureIDFront, img2, nil), http.StatusConflict, "invalid_state")
}

// TestCaptureRefusedByTheWorkflowIsDeleted fills the attempt to the
// workflow's limit of captures: the next upload is stored, refused by the
// workflow's validator, and deleted again.
func TestCaptureRefusedByTheWorkflowIsDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	agent := e.agent("agent-1")
	img := pngImage(t, 2, 2)
	const limit = 50 // workflows.maxCapturesPerAttempt
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make(chan string, limit)
	for range limit {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r := e.upload(v.ID, agent, kyc.CaptureOther, img, nil)
			if r.status != http.StatusCreated {
				errs <- string(r.body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Fatalf("upload below the limit refused: %s", msg)
	}
	prefix := "cases/" + v.ID + "/"
	if n := len(e.objects(prefix)); n != limit {
		t.Fatalf("%d objects, want %d", n, limit)
	}
	r := e.upload(v.ID, agent, kyc.CaptureOther, img, nil)
	wantError(t, r, http.StatusConflict, "invalid_state")
	if !strings.Contains(string(r.body), "already has 50 captures") {
		t.Fatalf("409 without the validator's reason: %s", r.body)
	}
	if n := len(e.objects(prefix)); n != limit {
		t.Fatalf("the refused capture stayed in the bucket: %d objects", n)
	}
}

func TestCaptureDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	img := jpegImage(t)
	r := e.upload(v.ID, e.agent("agent-1"), kyc.CaptureFace, img, nil)
	wantStatus(t, r, http.StatusCreated)
	var c kyc.Capture
	r.decode(t, &c)
	path := casePath(v.ID, "/captures/", c.ID)

	r = e.call(req{method: "GET", path: path, token: e.agent("agent-1")})
	wantStatus(t, r, http.StatusFound)
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "X-Amz-Signature=") || !strings.Contains(loc, "X-Amz-Expires=120") {
		t.Fatalf("Location is not a presigned URL valid for CAPTURE_URL_TTL: %s", loc)
	}
	resp, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, img) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(got))
	}
	if strings.Contains(e.logs.String(), "X-Amz-Signature") {
		t.Fatal("a presigned URL reached the log")
	}

	wantStatus(t, e.call(req{method: "GET", path: path, token: e.admin()}), http.StatusFound)
	wantError(t, e.call(req{method: "GET", path: path, token: e.agent("agent-2")}), http.StatusForbidden, "forbidden")
	// An auditor sees captures of cases awaiting audit, not of calls.
	wantError(t, e.call(req{method: "GET", path: path, token: e.auditor("aud-1")}), http.StatusForbidden, "forbidden")
	wantError(t, e.call(req{method: "GET", path: casePath(v.ID, "/captures/", uuid.NewString()), token: e.admin()}), http.StatusNotFound, "capture_not_found")

	wantStatus(t, e.call(req{method: "POST", path: casePath(v.ID, "/decision"), token: e.agent("agent-1"),
		json: map[string]string{"outcome": "reject", "reason": "document unreadable"}}), http.StatusOK)
	e.waitFor(v.ID, "awaiting_audit", func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })
	wantStatus(t, e.call(req{method: "GET", path: path, token: e.auditor("aud-1")}), http.StatusFound)
}

// TestCaptureAccessEndsWhenTheCaseCloses: the agent who handled a case
// reads its captures while it is open, not after it is closed; auditors and
// admins still do.
func TestCaptureAccessEndsWhenTheCaseCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	r := e.upload(v.ID, e.agent("agent-1"), kyc.CaptureFace, pngImage(t, 4, 4), nil)
	wantStatus(t, r, http.StatusCreated)
	var c kyc.Capture
	r.decode(t, &c)
	path := casePath(v.ID, "/captures/", c.ID)
	wantStatus(t, e.call(req{method: "GET", path: path, token: e.agent("agent-1")}), http.StatusFound)

	wantStatus(t, e.post(v.ID, "/cancel", e.service(), map[string]string{"reason": "customer withdrew"}, nil), http.StatusOK)
	e.waitFor(v.ID, "cancelled", func(v kyc.CaseView) bool { return v.Status == kyc.StatusCancelled })
	wantError(t, e.call(req{method: "GET", path: path, token: e.agent("agent-1")}), http.StatusForbidden, "forbidden")
	wantStatus(t, e.call(req{method: "GET", path: path, token: e.admin()}), http.StatusFound)
	// The case itself stays readable to the agent (their history).
	wantStatus(t, e.call(req{method: "GET", path: casePath(v.ID), token: e.agent("agent-1")}), http.StatusOK)
}

// TestConcurrentUploadsWithOneKey: two uploads racing under one
// Idempotency-Key (a client retrying before the first answer) never leave
// the registered capture's object with other bytes than its recorded
// SHA-256, and leave no stray object. Other bytes get 409; the same bytes
// get the same capture.
func TestConcurrentUploadsWithOneKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.inCall("agent-1")
	agent := e.agent("agent-1")
	for round := range 6 {
		key := map[string]string{"Idempotency-Key": fmt.Sprintf("race-%d-%s", round, uuid.NewString())}
		imgs := [][]byte{pngImage(t, 8+round, 9), pngImage(t, 9, 8+round)}
		if round%3 == 2 {
			imgs[1] = imgs[0] // the same bytes twice
		}
		answers := make([]response, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { answers[i] = e.upload(v.ID, agent, kyc.CaptureOther, imgs[i], key) })
		}
		wg.Wait()
		created := 0
		for i, a := range answers {
			switch a.status {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
				wantError(t, a, http.StatusConflict, "idempotency_key_reused")
				if round%3 == 2 {
					t.Fatalf("round %d: the same bytes were refused: %s", round, a.body)
				}
			default:
				t.Fatalf("round %d upload %d: %d %s", round, i, a.status, a.body)
			}
		}
		if created == 0 {
			t.Fatalf("round %d: neither upload was registered", round)
		}
	}
	// Every registered capture's object holds exactly its recorded bytes,
	// and nothing else is stored for the case.
	view := e.waitFor(v.ID, "6 captures", func(v kyc.CaseView) bool { return len(v.Captures) == 6 })
	want := map[string]bool{}
	for _, c := range view.Captures {
		want[c.ObjectKey] = true
		got, err := e.s3.GetObject(context.Background(), e.bucket, c.ObjectKey, minioGet())
		if err != nil {
			t.Fatal(err)
		}
		stored, err := io.ReadAll(got)
		if err != nil {
			t.Fatalf("capture %s: its object: %v", c.ID, err)
		}
		if sha(stored) != c.SHA256 {
			t.Fatalf("capture %s records sha256 %s but its object holds %s", c.ID, c.SHA256, sha(stored))
		}
	}
	for _, k := range e.objects("cases/" + v.ID + "/") {
		if !want[k] {
			t.Fatalf("object %s is stored but no capture points to it", k)
		}
	}
}
