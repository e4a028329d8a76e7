package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/vkyc-engine/vkyc/internal/bank/evidence"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
)

// evidencePack streams a closed case's evidence pack (internal/bank/evidence):
// a ZIP of the captures, the recording or a link to it, a PDF summary and
// the signed manifest. Auditors may fetch the pack of any closed case, not
// only those they audited: answering a regulator about any case is the
// audit function's work. The pack carries the customer's reference, never
// their name or contacts, which stay in the bank's systems.
func (s *Server) evidencePack(c *gin.Context) {
	rec, ok := s.recordFor(c, kyc.RoleAuditor, kyc.RoleAdmin, kyc.RoleService)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if !rec.Status.Terminal() {
		s.abort(c, newError(http.StatusConflict, codeInvalidState,
			"case %s is %s: an evidence pack is made of a closed case (approved, rejected, expired, cancelled, failed or terminated)", rec.ID, rec.Status))
		return
	}
	view := rec.View
	view.Customer = kyc.Customer{Reference: rec.Customer.Reference}
	if view.Captures == nil {
		view.Captures = []kyc.Capture{}
	}

	l, ok := s.verifyLog(c, rec)
	if !ok {
		return
	}
	report, wr, pr := l.chain, l.witness, l.projection
	in := evidence.Input{
		Case: view, Events: l.events, Chain: report, Verified: l.verified(),
		InlineMax: s.d.Config.Evidence.RecordingInline, LinkTTL: s.d.Config.Evidence.LinkTTL,
		GeneratedBy: string(caller(c).Role) + ":" + caller(c).Sub, Now: s.now(), Key: s.d.Config.Evidence.SigningKey,
	}
	in.Witness, _ = json.Marshal(wr)
	if !report.Valid {
		in.LogProblems = append(in.LogProblems, fmt.Sprintf("the hash chain breaks at event %d: %s", report.BrokenAt, report.Reason))
	}
	switch {
	case wr.Available && !wr.Matches:
		in.LogProblems = append(in.LogProblems, "the log disagrees with the workflow's own chain: "+wr.Problem)
	case !wr.Available:
		in.LogNotes = append(in.LogNotes, "the log was not checked against the workflow's own chain: "+wr.Problem)
	}
	if !pr.Matches {
		in.LogProblems = append(in.LogProblems, "the case record disagrees with the log: "+pr.Problem)
	}
	if r := view.Recording; r.Status == kyc.RecordingVerified && r.Path != "" {
		bucket, key, err := blob.ParseS3URL(r.Path)
		switch {
		case err != nil:
			in.LogProblems = append(in.LogProblems, "the recording's path is not an s3:// URL")
		case bucket != s.d.Blob.Bucket():
			in.LogProblems = append(in.LogProblems, fmt.Sprintf("the recording is in bucket %s, not in %s: not packed", bucket, s.d.Blob.Bucket()))
		default:
			in.RecordingKey = key
		}
	}
	if len(in.Key) == 0 {
		s.abort(c, internalError(errors.New("no evidence signing key configured")))
		return
	}

	pack, err := evidence.Prepare(ctx, evidence.BucketObjects(s.d.Blob), in)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			s.abort(c, newError(http.StatusConflict, codeInvalidState, "an object of case %s is missing from the bucket; the pack cannot be made", rec.ID).withCause(err))
			return
		}
		s.abort(c, unavailable("object storage", err))
		return
	}
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="evidence-%s.zip"`, rec.ID))
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	m, err := pack.Write(&deadlineWriter{w: c.Writer, rc: http.NewResponseController(c.Writer)})
	if err != nil {
		// The answer has started: cut the connection, so that the client
		// holds a truncated file no zip reader accepts, never a pack.
		s.log.ErrorContext(ctx, "evidence pack cut short", "case_id", rec.ID, "error", err)
		panic(http.ErrAbortHandler)
	}
	logAttrs(c, "case_id", rec.ID, "files", len(m.Files), "problems", len(m.Problems))
}

// deadlineWriter moves the connection's write deadline forward as the pack
// goes out: the server's WriteTimeout bounds a whole answer, which a pack
// with a large recording may exceed on a slow link, while a client that
// stops reading for a minute is still let go.
type deadlineWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	pending int
}

const evidenceStall = time.Minute

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if d.pending == 0 || d.pending > 1<<20 {
		_ = d.rc.SetWriteDeadline(time.Now().Add(evidenceStall)) // unsupported by some writers (tests): the server's timeout stays
		d.pending = 1
	}
	n, err := d.w.Write(p)
	d.pending += n
	return n, err
}
