package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// driver acts on one case over HTTP as the bank's backend, the agent, the
// auditor and (through the simulator) the two people on the call.
type driver struct {
	t                     *testing.T
	ctx                   context.Context
	s                     *Stack
	c                     *apiclient.Client
	service, agent, audit string
	caseID                string
}

func newDriver(t *testing.T, ctx context.Context, s *Stack) *driver {
	tok, err := apiclient.NewMinter([]byte(AuthSecret), time.Hour).Tokens("bank-backend", "agent-7", "auditor-3")
	if err != nil {
		t.Fatal(err)
	}
	return &driver{t: t, ctx: ctx, s: s, c: apiclient.NewClient(s.APIBase, s.SimBase, nil),
		service: tok.Service, agent: tok.Agent, audit: tok.Auditor}
}

func (d *driver) api(method, path, token string, body any, out any) {
	d.t.Helper()
	if _, err := d.c.Call(d.ctx, method, path, token, body, apiclient.NewKey(), out); err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
}

func (d *driver) casePath(suffix string) string { return apiclient.CasePath(d.caseID, suffix) }

func (d *driver) create(ref string) kyc.CaseView {
	d.t.Helper()
	var v kyc.CaseView
	d.api(http.MethodPost, "/v1/cases", d.service, map[string]any{
		"customer": map[string]string{"reference": ref, "name": "Asha Verma", "email": "asha@example.com", "phone": "+911234567890"},
	}, &v)
	d.caseID = v.ID
	return v
}

// joinToken retries 503 (the room of a new attempt is created just after it
// starts).
func (d *driver) joinToken(role kyc.Role, token string) apiclient.JoinToken {
	d.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		jt, err := d.c.JoinToken(d.ctx, token, d.caseID, role)
		if err == nil {
			return jt
		}
		if apiclient.StatusOf(err) != http.StatusServiceUnavailable || time.Now().After(deadline) {
			d.t.Fatalf("%s join token: %v", role, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (d *driver) join(jt apiclient.JoinToken, name string) string {
	d.t.Helper()
	p, err := d.c.Join(d.ctx, jt.Token, name)
	if err != nil {
		d.t.Fatalf("join %s: %v", name, err)
	}
	return p.PeerID
}

func (d *driver) leave(peer, reason string) {
	d.t.Helper()
	if err := d.c.Leave(d.ctx, peer, reason); err != nil {
		d.t.Fatalf("leave %s: %v", peer, err)
	}
}

// joinBoth gets fresh tokens for the current attempt, joins both people and
// waits for the call; it returns the agent's and the customer's peer ids.
func (d *driver) joinBoth(attempt int) (string, string, string) {
	d.t.Helper()
	a := d.joinToken(kyc.RoleAgent, d.agent)
	c := d.joinToken(kyc.RoleCustomer, d.service)
	if a.RoomID != c.RoomID {
		d.t.Fatalf("agent room %s != customer room %s", a.RoomID, c.RoomID)
	}
	ap, cp := d.join(a, "Agent Seven"), d.join(c, "Asha Verma")
	d.waitFor("in call, attempt "+fmt.Sprint(attempt), func(v *kyc.CaseView) bool {
		return v.Status == kyc.StatusInCall && v.Attempt == attempt
	})
	return ap, cp, a.RoomID
}

func (d *driver) captureAll() {
	d.t.Helper()
	uploads, err := apiclient.SampleUploads()
	if err != nil {
		d.t.Fatal(err)
	}
	for _, f := range uploads {
		if _, _, err := d.c.Upload(d.ctx, d.agent, d.caseID, apiclient.NewKey(), f); err != nil {
			d.t.Fatalf("capture %s: %v", f.Sample.Kind, err)
		}
	}
}

// approveAndRecord takes a call in progress to awaiting_audit: captures, the
// agent's approval once the recording runs, both leave, recording verified.
func (d *driver) approveAndRecord(agentPeer, customerPeer string) kyc.CaseView {
	d.t.Helper()
	d.captureAll()
	d.waitFor("recording started", func(v *kyc.CaseView) bool { return v.Recording.Status != kyc.RecordingPending })
	d.api(http.MethodPost, d.casePath("/decision"), d.agent, map[string]string{"outcome": "approve", "reason": "documents match"}, nil)
	d.leave(agentPeer, "client request")
	d.leave(customerPeer, "client request")
	return d.waitFor("awaiting audit with a verified recording", func(v *kyc.CaseView) bool {
		return v.Status == kyc.StatusAwaitingAudit && v.Recording.Status == kyc.RecordingVerified
	})
}

func (d *driver) view() kyc.CaseView {
	d.t.Helper()
	var v kyc.CaseView
	d.api(http.MethodGet, d.casePath(""), d.service, nil, &v)
	return v
}

func (d *driver) waitFor(what string, ok func(*kyc.CaseView) bool) kyc.CaseView {
	d.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v := d.view()
		if ok(&v) {
			return v
		}
		if v.Status.Terminal() || time.Now().After(deadline) {
			b, _ := json.MarshalIndent(v, "", "  ")
			d.t.Fatalf("waiting for %s: case is %s:\n%s", what, v.Status, b)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

type eventLog struct {
	Events []struct {
		Seq  int64  `json:"seq"`
		Type string `json:"type"`
	} `json:"events"`
	ChainValid bool `json:"chain_valid"`
}

// events waits until the log shows the final status (the projection is
// written just after the workflow's change) and returns it.
func (d *driver) events(final kyc.Status) eventLog {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var log eventLog
		d.api(http.MethodGet, d.casePath("/events"), d.service, nil, &log)
		listed, _ := d.listedStatus()
		if listed == final || time.Now().After(deadline) {
			return log
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listedStatus reads the case's status from the list endpoint, which is
// served from the database projection rather than the workflow.
func (d *driver) listedStatus() (kyc.Status, error) {
	var page struct {
		Cases []kyc.CaseView `json:"cases"`
	}
	if _, err := d.c.Call(d.ctx, http.MethodGet, "/v1/cases?limit=100", d.service, nil, "", &page); err != nil {
		return "", err
	}
	for _, c := range page.Cases {
		if c.ID == d.caseID {
			return c.Status, nil
		}
	}
	return "", fmt.Errorf("case %s not listed", d.caseID)
}

func (s *Stack) minio(t *testing.T) *minio.Client {
	t.Helper()
	mc, err := minio.New(s.S3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.S3.AccessKey, s.S3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// searchAttributes reads the case workflow's search attributes from the
// Temporal server, decoded to Go values.
func (s *Stack) searchAttributes(t *testing.T, ctx context.Context, caseID string) map[string]any {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.TemporalAddress, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, err := c.DescribeWorkflow(ctx, kyc.WorkflowID(caseID), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	dc := converter.GetDefaultDataConverter()
	for k, p := range desc.RawResponse.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields() {
		var v any
		if err := dc.FromPayload(p, &v); err != nil {
			t.Fatalf("decode search attribute %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}
