package api_test

import (
	"bytes"
	"crypto/ed25519"
	"net/http"
	"strings"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/bank/evidence"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestEvidencePack: a closed case's pack is a signed ZIP that verifies
// offline with the configured key: the captures, the recording verified in
// MinIO, the summary, the log that verifies against the workflow; no name
// or contact of the customer. An open case has none yet.
func TestEvidencePack(t *testing.T) {
	e := newEnv(t, envOptions{})
	open := e.createCase()
	wantError(t, e.call(req{method: "GET", path: casePath(open.ID, "/evidence"), token: e.auditor("auditor-1")}), http.StatusConflict, "invalid_state")

	v := e.approvedCase()
	for _, tc := range []struct {
		token  string
		status int
		code   string
	}{
		{e.agent("agent-7"), 403, "forbidden"},
		{"", 401, "unauthorized"},
	} {
		wantError(t, e.call(req{method: "GET", path: casePath(v.ID, "/evidence"), token: tc.token}), tc.status, tc.code)
	}
	wantError(t, e.call(req{method: "GET", path: casePath("0193c5a4-0000-7000-8000-000000000000", "/evidence"), token: e.admin()}), 404, "case_not_found")

	// An auditor who did not audit this case may fetch it too.
	r := e.call(req{method: "GET", path: casePath(v.ID, "/evidence"), token: e.auditor("auditor-9")})
	wantStatus(t, r, http.StatusOK)
	if r.header.Get("Content-Type") != "application/zip" || !strings.Contains(r.header.Get("Content-Disposition"), "evidence-"+v.ID+".zip") {
		t.Fatalf("headers %v", r.header)
	}
	rep, err := evidence.Verify(bytes.NewReader(r.body), int64(len(r.body)), e.cfg.Evidence.SigningKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || len(rep.Recorded) != 0 {
		t.Fatalf("the pack does not verify: %+v", rep)
	}
	m := rep.Manifest
	kinds := map[string]int{}
	for _, f := range m.Files {
		kinds[f.Kind]++
	}
	if m.Case.Status != kyc.StatusApproved || !m.Log.Verified || !m.Log.ChainValid || m.Log.Count == 0 ||
		m.Log.Head.Seq != m.Log.Events[len(m.Log.Events)-1].Seq || m.GeneratedBy != "auditor:auditor-9" ||
		kinds["capture"] != 1 || kinds["recording"] != 1 || kinds["summary"] != 1 || m.Recording == nil || !m.Recording.Included {
		t.Fatalf("manifest: status %s verified %v chain %v count %d files %v recording %+v notes %v", m.Case.Status, m.Log.Verified,
			m.Log.ChainValid, m.Log.Count, kinds, m.Recording, m.Notes)
	}
	if m.Recording.RecordedSHA256 != v.Recording.SHA256 || m.Recording.Size != v.Recording.Size {
		t.Fatalf("recording %+v, the case has %+v", m.Recording, v.Recording)
	}
	for _, pii := range []string{"Asha Rao", "asha@example.com"} {
		if bytes.Contains(r.body, []byte(pii)) {
			t.Errorf("the pack holds %q", pii)
		}
	}
}
