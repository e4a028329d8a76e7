package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/vkyc-engine/vkyc/activities"
	"github.com/vkyc-engine/vkyc/internal/blob"
	"github.com/vkyc-engine/vkyc/internal/hms"
	"github.com/vkyc-engine/vkyc/internal/hmssim"
	"github.com/vkyc-engine/vkyc/internal/kyc"
	"github.com/vkyc-engine/vkyc/internal/store"
	"github.com/vkyc-engine/vkyc/internal/testenv"
	"github.com/vkyc-engine/vkyc/workflows"
	"google.golang.org/protobuf/encoding/protojson"
)

// TestEndToEnd runs a case on the Temporal dev server with the real
// activities against the 100ms simulator, PostgreSQL and MinIO. The
// simulator's webhooks, delivered twice each, are turned into signals the way
// the API's dispatcher does. It checks what no mock can: payloads survive
// serialization, the search attributes exist on the server, the local
// activity resolves, and the database ends with a valid chain.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	st, err := store.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s3 := testenv.MinIO(t)
	bucket := testenv.RandomName("vkyc-e2e-")
	bs, err := blob.New(ctx, blob.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: bucket, CreateBucket: true, SSE: "off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emptyBucket(s3, bucket) })
	recStore, err := hmssim.NewMinIOStore(s3.Endpoint, s3.AccessKey, s3.SecretKey, false)
	if err != nil {
		t.Fatal(err)
	}

	suffix := testenv.RandomName("")
	caseID := suffix[:8] + "-e2e0-4000-8000-" + suffix
	hook := &dispatcher{t: t, tc: tc, workflowID: kyc.WorkflowID(caseID)}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	sim, err := hmssim.New(hmssim.Config{
		AccessKey: "e2e-access", AppSecret: "e2e-secret-0123456789", WebhookURL: hookSrv.URL,
		Storage: recStore, Bucket: bucket, Prefix: "recordings", RetrySchedule: []time.Duration{},
		RecordingStartDelay: 10 * time.Millisecond, RecordingReadyDelay: 10 * time.Millisecond,
		Faults: hmssim.Faults{WebhookDuplicate: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim.Handler())
	defer func() { simSrv.Close(); sim.Close() }()
	hc, err := hms.New(hms.Config{BaseURL: simSrv.URL + "/v2", AccessKey: "e2e-access", AppSecret: "e2e-secret-0123456789"})
	if err != nil {
		t.Fatal(err)
	}

	queue := testenv.RandomName("kyc-e2e-")
	w := worker.New(tc, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(&activities.Activities{HMS: hc, Store: st, Blob: bs})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := workflows.CaseInput{CaseID: caseID, CustomerRef: "CUST-E2E", AuditRejections: true, CreatedBy: "e2e",
		CreatedAt: time.Now().UTC()}
	if _, _, err := st.CreateCase(ctx, store.NewCase{ID: caseID, Customer: kyc.Customer{Reference: "CUST-E2E", Name: "Test Person"},
		RequiredCaptures: kyc.DefaultRequiredCaptures, AuditRejections: true, CreatedBy: "e2e", CreatedAt: in.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	opts := workflows.StartOptions(in)
	opts.TaskQueue = queue
	run, err := tc.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	// A retried create reaches the same run.
	again, err := tc.ExecuteWorkflow(ctx, opts, workflows.WorkflowName, in)
	if err != nil || again.GetRunID() != run.GetRunID() {
		t.Fatalf("second start: run %v, err %v", again, err)
	}

	u := updater{t: t, tc: tc, id: run.GetID()}
	u.do(ctx, workflows.UpdateAssignAgent, "assign", workflows.AssignAgentRequest{AgentID: "agent-e2e"})
	v := u.waitFor(ctx, "room created", func(v kyc.CaseView) bool { return v.Attempts[0].RoomID != "" })
	roomID := v.Attempts[0].RoomID

	join(t, hc, simSrv.URL, roomID, "agent")
	join(t, hc, simSrv.URL, roomID, "customer")
	u.waitFor(ctx, "in call", func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })
	for _, k := range kyc.DefaultRequiredCaptures {
		id := "cap-" + string(k)
		u.do(ctx, workflows.UpdateAddCapture, id, workflows.AddCaptureRequest{
			CaptureID: id, Kind: k, Attempt: 1, AgentID: "agent-e2e", Size: 1000, ContentType: "image/jpeg",
			SHA256: strings.Repeat("ab", 32), ObjectKey: blob.CaptureKey(caseID, 1, k, id, "jpg"),
		})
	}
	time.Sleep(1100 * time.Millisecond) // a recording of at least a second
	v = u.do(ctx, workflows.UpdateAgentDecision, "decide", workflows.AgentDecisionRequest{AgentID: "agent-e2e", Outcome: kyc.OutcomeApprove})
	if v.Status != kyc.StatusAwaitingRecording {
		t.Fatalf("after the decision: %s", v.Status)
	}
	v = u.waitFor(ctx, "recording verified", func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })
	if v.Recording.Status != kyc.RecordingVerified || v.Recording.SHA256 == "" || v.Recording.Size == 0 {
		t.Fatalf("recording %+v", v.Recording)
	}
	u.do(ctx, workflows.UpdateAuditDecision, "audit", workflows.AuditDecisionRequest{AuditorID: "auditor-e2e", Outcome: kyc.OutcomeApprove})

	var final kyc.CaseView
	if err := run.Get(ctx, &final); err != nil {
		t.Fatal(err)
	}
	if final.Status != kyc.StatusApproved {
		t.Fatalf("final %s", final.Status)
	}
	rec, err := st.GetCase(ctx, caseID)
	if err != nil || rec.Status != kyc.StatusApproved || rec.Version != final.Version {
		t.Fatalf("projection %+v, %v", rec, err)
	}
	report, err := st.VerifyChain(ctx, caseID)
	if err != nil || !report.Valid || int64(report.Count) != final.Version {
		t.Fatalf("chain %+v (version %d), %v", report, final.Version, err)
	}
	desc, err := tc.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	if err != nil {
		t.Fatal(err)
	}
	var status string
	if p := desc.WorkflowExecutionInfo.GetSearchAttributes().GetIndexedFields()["KycStatus"]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &status)
	}
	if status != string(kyc.StatusApproved) {
		t.Fatalf("KycStatus search attribute %q", status)
	}
	if hook.signals.Load() == 0 {
		t.Fatal("no webhook reached the workflow")
	}
	recordHistory(ctx, t, tc, run)
}

// recordHistory writes the run's history to testdata/ when
// VKYC_RECORD_HISTORY=1, for replay tests that guard the workflow's
// determinism against later changes.
func recordHistory(ctx context.Context, t *testing.T, tc client.Client, run client.WorkflowRun) {
	if os.Getenv("VKYC_RECORD_HISTORY") != "1" {
		return
	}
	var hist historypb.History
	it := tc.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "kyc-case-approved.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dispatcher plays the API's webhook dispatcher: decode, reduce, signal.
type dispatcher struct {
	t          *testing.T
	tc         client.Client
	workflowID string
	signals    atomic.Int64
}

func (d *dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := hms.DecodeEvent(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := d.tc.SignalWorkflow(r.Context(), d.workflowID, "", workflows.SignalHMSEvent, workflows.EventFromHMS(ev)); err != nil {
		d.t.Logf("signal %s: %v", ev.Type, err) // the case may have finished
	}
	d.signals.Add(1)
	w.WriteHeader(http.StatusOK)
}

type updater struct {
	t  *testing.T
	tc client.Client
	id string
}

func (u updater) do(ctx context.Context, name, updateID string, arg any) kyc.CaseView {
	u.t.Helper()
	h, err := u.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: u.id, UpdateName: name, UpdateID: updateID, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		u.t.Fatalf("update %s: %v", name, err)
	}
	var v kyc.CaseView
	if err := h.Get(ctx, &v); err != nil {
		u.t.Fatalf("update %s: %v", name, err)
	}
	return v
}

func (u updater) waitFor(ctx context.Context, what string, ok func(kyc.CaseView) bool) kyc.CaseView {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		enc, err := u.tc.QueryWorkflow(ctx, u.id, "", workflows.QueryCase)
		if err == nil {
			var v kyc.CaseView
			if err := enc.Get(&v); err == nil && ok(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func join(t *testing.T, hc *hms.Client, simURL, roomID, role string) string {
	t.Helper()
	token, _, err := hc.AuthToken(hms.AuthTokenParams{RoomID: roomID, Role: role, UserID: role + "-e2e"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"token": token})
	resp, err := http.Post(simURL+"/sim/v1/join", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		PeerID string `json:"peer_id"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("join %s: %s", role, resp.Status)
	}
	return out.PeerID
}

func emptyBucket(s3 testenv.S3, name string) {
	mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		return
	}
	ctx := context.Background()
	for obj := range mc.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
		_ = mc.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
	}
	_ = mc.RemoveBucket(ctx, name)
}
