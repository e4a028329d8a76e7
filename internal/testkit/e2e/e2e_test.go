package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
)

// TestDemoCaseApproved drives one case exactly as `starter demo` does and
// checks what a bank's auditor would: the recording really is in our bucket,
// the captures too, the event chain verifies and Temporal's search
// attributes describe the case.
func TestDemoCaseApproved(t *testing.T) {
	s := Start(t, Options{})
	ctx := Context(t, 4*time.Minute)
	var out bytes.Buffer
	view, err := apiclient.Run(ctx, apiclient.Options{
		APIBase: s.APIBase, SimBase: s.SimBase, Secret: []byte(AuthSecret), Out: &out,
		AgentID: "agent-7", AuditorID: "auditor-3",
	})
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	if view.Status != kyc.StatusApproved || view.Attempt != 1 {
		t.Fatalf("case ended %s at attempt %d", view.Status, view.Attempt)
	}
	if view.Decision == nil || view.Decision.By != "agent-7" || view.Audit == nil || view.Audit.By != "auditor-3" {
		t.Fatalf("decision %+v audit %+v", view.Decision, view.Audit)
	}

	mc := s.minio(t)
	rec := view.Recording
	bucket, key, err := blob.ParseS3URL(rec.Path)
	if err != nil || bucket != s.Bucket {
		t.Fatalf("recording path %q: bucket %q, err %v; want bucket %s", rec.Path, bucket, err, s.Bucket)
	}
	info, err := mc.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatalf("recording object: %v", err)
	}
	if rec.Status != kyc.RecordingVerified || info.Size == 0 || info.Size != rec.Size || len(rec.SHA256) != 64 {
		t.Fatalf("recording %+v, object size %d", rec, info.Size)
	}
	if len(view.Captures) != 3 {
		t.Fatalf("captures = %d, want 3", len(view.Captures))
	}
	for _, c := range view.Captures {
		info, err := mc.StatObject(ctx, s.Bucket, c.ObjectKey, minio.StatObjectOptions{})
		if err != nil || info.Size != c.Size {
			t.Errorf("capture %s object %s: size %d err %v, want %d", c.Kind, c.ObjectKey, info.Size, err, c.Size)
		}
	}

	d := newDriver(t, ctx, s)
	d.caseID = view.ID
	log := d.events(kyc.StatusApproved)
	if !log.ChainValid || len(log.Events) < 10 {
		t.Fatalf("event log: %d events, chain_valid=%v", len(log.Events), log.ChainValid)
	}
	for i, e := range log.Events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}

	sa := s.searchAttributes(t, ctx, view.ID)
	want := map[string]any{"KycStatus": "approved", "KycCustomerRef": view.Customer.Reference, "KycAgentId": "agent-7",
		"KycAttempt": float64(1), "KycOverdue": false}
	for k, v := range want {
		if sa[k] != v {
			t.Errorf("search attribute %s = %#v, want %#v", k, sa[k], v)
		}
	}
}

// TestDroppedCallThenRecapture: the customer's connection drops mid-call (a
// new attempt in a new room), the second call is approved by the agent, the
// auditor asks for a recapture (a third attempt), and the third is approved.
func TestDroppedCallThenRecapture(t *testing.T) {
	s := Start(t, Options{})
	ctx := Context(t, 5*time.Minute)
	d := newDriver(t, ctx, s)
	d.create("CUST-DROP-" + time.Now().Format("150405.000"))

	_, customer1, room1 := d.joinBoth(1)
	d.leave(customer1, "websocket closed")
	v := d.waitFor("second attempt", func(v *kyc.CaseView) bool {
		return v.Attempt == 2 && v.Status == kyc.StatusWaitingForParticipants
	})
	if a := v.Attempts[0]; a.Status != kyc.AttemptAborted || !strings.Contains(a.EndReason, "network") && !strings.Contains(a.EndReason, "websocket") {
		t.Fatalf("first attempt %+v, want aborted for a network reason", a)
	}

	agent2, customer2, room2 := d.joinBoth(2)
	if room2 == room1 {
		t.Fatalf("second attempt reused room %s", room1)
	}
	d.approveAndRecord(agent2, customer2)
	d.api(http.MethodPost, d.casePath("/audit"), d.audit, map[string]string{"outcome": "recapture", "reason": "face capture blurred"}, nil)
	d.waitFor("third attempt", func(v *kyc.CaseView) bool {
		return v.Attempt == 3 && v.Status == kyc.StatusWaitingForParticipants
	})

	agent3, customer3, room3 := d.joinBoth(3)
	if room3 == room2 || room3 == room1 {
		t.Fatalf("third attempt reused a room")
	}
	d.approveAndRecord(agent3, customer3)
	d.api(http.MethodPost, d.casePath("/audit"), d.audit, map[string]string{"outcome": "approve", "reason": "all good"}, nil)
	v = d.waitFor("approved", func(v *kyc.CaseView) bool { return v.Status == kyc.StatusApproved })

	if len(v.Attempts) != 3 {
		t.Fatalf("attempts = %d, want 3", len(v.Attempts))
	}
	current := 0
	for _, c := range v.Captures {
		if c.Attempt == 3 {
			current++
		}
	}
	if current != 3 {
		t.Fatalf("captures of attempt 3 = %d, want 3 (all: %+v)", current, v.Captures)
	}
	if log := d.events(kyc.StatusApproved); !log.ChainValid {
		t.Fatal("event chain does not verify")
	}
	if sa := s.searchAttributes(t, ctx, v.ID); sa["KycAttempt"] != float64(3) || sa["KycStatus"] != "approved" {
		t.Fatalf("search attributes %v", sa)
	}
}
