package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/bank/evidence"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/codec"
	"github.com/vkyc-engine/vkyc/internal/platform/config"
	"github.com/vkyc-engine/vkyc/internal/testkit/packtest"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// makePack writes a pack of one capture from MinIO, signed with the
// development key (the starter's default trusted key).
func makePack(t *testing.T) string {
	t.Helper()
	s3 := testenv.MinIO(t)
	b, err := blob.New(t.Context(), blob.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: testenv.RandomName("starter-"), Region: "us-east-1", CreateBucket: true, SSE: "off"})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := apiclient.Samples()
	if err != nil {
		t.Fatal(err)
	}
	s := samples[0]
	obj, err := b.Put(t.Context(), "cases/c/attempt-1/face.jpg", bytes.NewReader(s.Data), 1<<20, s.ContentType)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	in := evidence.Input{
		Case: kyc.CaseView{ID: uuid.NewString(), Status: kyc.StatusRejected, Customer: kyc.Customer{Reference: "CUST-7"},
			Captures: []kyc.Capture{{ID: "cap-1", Kind: kyc.CaptureFace, ObjectKey: obj.Key, Size: obj.Size, SHA256: obj.SHA256, ContentType: s.ContentType, Attempt: 1}}},
		InlineMax: 1 << 20, LinkTTL: time.Hour, GeneratedBy: "admin:admin-1", Now: now, Key: config.DevEvidenceKey(), Verified: true,
	}
	p, err := evidence.Prepare(t.Context(), evidence.BucketObjects(b), in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pack.zip")
	f, _ := os.Create(path)
	if _, err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// tamper rewrites one entry of a pack (or, for a name ending in "/", the
// entries under it).
func tamper(t *testing.T, src, entry string, change func([]byte) []byte) string {
	return packtest.Rewrite(t, src, func(name string, b []byte) []byte {
		if name == entry || (strings.HasSuffix(entry, "/") && strings.HasPrefix(name, entry)) {
			return change(b)
		}
		return b
	}, nil)
}

// TestEvidenceVerify: `starter evidence verify` passes an untouched pack
// and says what fails in a tampered one (exit 1), with the development key
// or the one given.
func TestEvidenceVerify(t *testing.T) {
	isolateEnv(t)
	pack := makePack(t)
	code, out, errOut := runStarter(t, "evidence", "verify", pack)
	if code != 0 || !strings.Contains(out, "the pack is intact") || !strings.Contains(out, "ok      summary.pdf") {
		t.Fatalf("untouched pack: exit %d\n%s%s", code, out, errOut)
	}
	flip := func(b []byte) []byte { b = append([]byte(nil), b...); b[len(b)/2] ^= 1; return b }
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32)).Public().(ed25519.PublicKey)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a capture changed", []string{tamper(t, pack, "captures/", flip)}, "FAILED  captures/attempt-1/face-cap-1.jpg: "},
		{"the signature changed", []string{tamper(t, pack, evidence.SignatureName, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"signature": "`), []byte(`"signature": "AAAA`), 1)
		})}, "FAILED  manifest.sig: "},
		{"the manifest changed", []string{tamper(t, pack, evidence.ManifestName, func(b []byte) []byte {
			return bytes.Replace(b, []byte("CUST-7"), []byte("CUST-8"), 1)
		})}, "the signature does not match manifest.json"},
		{"another trusted key", []string{pack, "--public-key", base64.StdEncoding.EncodeToString(other)}, "not by the trusted key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runStarter(t, append([]string{"evidence", "verify"}, tc.args...)...)
			if code != exitFail || !strings.Contains(out, tc.want) || !strings.Contains(errOut, "NOT intact") {
				t.Fatalf("exit %d, want 1 with %q\n%s%s", code, tc.want, out, errOut)
			}
		})
	}
	if code, _, errOut := runStarter(t, "evidence", "verify", pack, "--public-key", "short"); code != exitUsage {
		t.Fatalf("bad key: exit %d %s", code, errOut)
	}
	code, out, _ = runStarter(t, "evidence", "keygen")
	if code != 0 || !strings.HasPrefix(out, "EVIDENCE_SIGNING_KEY=") {
		t.Fatalf("keygen: %d %s", code, out)
	}
}

// TestCaseHistoryThroughTheCodec: a workflow whose client seals payloads
// (as the worker and the API do) keeps no clear text in Temporal's history;
// `starter case history` shows it decoded with the configured keys.
func TestCaseHistoryThroughTheCodec(t *testing.T) {
	isolateEnv(t)
	addr := testenv.Temporal(t)
	key := "test-1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
	t.Setenv(config.EnvTemporalAddress, addr)
	t.Setenv(config.EnvPayloadCodecKeys, key)
	ring, err := codec.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := client.Dial(client.Options{HostPort: addr, DataConverter: codec.DataConverter(ring)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	queue := testenv.RandomName("codec-")
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, reason string) (string, error) {
		return "audited: " + reason, nil
	}, workflow.RegisterOptions{Name: "codec-probe"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	id := uuid.NewString()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: kyc.WorkflowID(id), TaskQueue: queue}, "codec-probe", "Asha's PAN is blurred")
	if err != nil {
		t.Fatal(err)
	}
	var res string
	if err := run.Get(ctx, &res); err != nil || res != "audited: Asha's PAN is blurred" {
		t.Fatalf("result %q, %v", res, err)
	}
	// What Temporal stores: sealed.
	plain, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	raw, err := decodedHistory(ctx, plain, nil, kyc.WorkflowID(id))
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(flatten(raw), " "); strings.Contains(s, "Asha") || !strings.Contains(s, "not decoded") {
		t.Fatalf("the stored history is readable without the key: %s", s)
	}
	code, out, errOut := runStarter(t, "case", "history", id)
	if code != 0 || !strings.Contains(out, `"Asha's PAN is blurred"`) || !strings.Contains(out, `"audited: Asha's PAN is blurred"`) {
		t.Fatalf("case history: exit %d\n%s%s", code, out, errOut)
	}
}

func flatten(evs []historyEvent) []string {
	var out []string
	for _, e := range evs {
		for _, p := range e.Payloads {
			if s, ok := p.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
