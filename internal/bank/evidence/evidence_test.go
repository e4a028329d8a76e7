package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/packtest"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

func testBucket(t *testing.T) *blob.Store {
	t.Helper()
	s3 := testenv.MinIO(t)
	b, err := blob.New(t.Context(), blob.Config{Endpoint: s3.Endpoint, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey,
		Bucket: testenv.RandomName("evidence-"), Region: "us-east-1", CreateBucket: true, SSE: "off"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture stores the demo captures and a recording of recSize bytes and
// returns the pack's input for a closed case holding them.
func fixture(t *testing.T, b *blob.Store, recSize int64) Input {
	t.Helper()
	ctx := t.Context()
	samples, err := apiclient.Samples()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	v := kyc.CaseView{ID: "0193c5a4-1111-7000-8000-000000000001", Status: kyc.StatusApproved, Customer: kyc.Customer{Reference: "CUST-42"},
		AgentID: "agent-7", Attempt: 1, CreatedAt: at, UpdatedAt: at.Add(20 * time.Minute),
		Attempts: []kyc.Attempt{{Number: 1, RoomName: "kyc-x-a1", Status: kyc.AttemptCompleted, StartedAt: at}},
		Decision: &kyc.Verdict{By: "agent-7", Outcome: kyc.OutcomeApprove, Reason: "Лицо совпадает; face matches", At: at.Add(10 * time.Minute)},
		Audit:    &kyc.Verdict{By: "auditor-3", Outcome: kyc.OutcomeApprove, Reason: "recording reviewed", At: at.Add(20 * time.Minute)},
	}
	for i, s := range samples {
		key := "cases/" + v.ID + "/attempt-1/" + string(s.Kind) + ".img"
		if _, err := b.Put(ctx, key, bytes.NewReader(s.Data), 1<<20, s.ContentType); err != nil {
			t.Fatal(err)
		}
		v.Captures = append(v.Captures, kyc.Capture{ID: "cap-" + string(rune('a'+i)), Kind: s.Kind, ObjectKey: key, Size: int64(len(s.Data)),
			SHA256: s.SHA256(), ContentType: s.ContentType, Attempt: 1, CreatedBy: "agent-7", CreatedAt: at.Add(time.Duration(i) * time.Minute)})
	}
	in := Input{Case: v, InlineMax: 1 << 30, LinkTTL: time.Hour, GeneratedBy: "auditor:auditor-3", Now: at.Add(time.Hour),
		Verified: true, Key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)),
		Events: []store.Event{
			{Event: chain.Event{CaseID: v.ID, Seq: 1, Type: "case_created", ActorID: "svc", ActorRole: "service", At: at, Data: json.RawMessage(`{}`)},
				PrevHash: "0", Hash: "h1"},
			{Event: chain.Event{CaseID: v.ID, Seq: 2, Type: "customer_consent", ActorID: "customer", ActorRole: "customer", At: at.Add(time.Minute),
				Data: json.RawMessage(`{"consent":"recording","lat":19.07}`)}, PrevHash: "h1", Hash: "h2"},
		},
		Chain: store.ChainReport{Valid: true, Count: 2}, Witness: json.RawMessage(`{"matches":true}`)}
	if recSize > 0 {
		in.RecordingKey = "recordings/beam/room-1/rec.mp4"
		sha, err := putStream(ctx, b, in.RecordingKey, recSize)
		if err != nil {
			t.Fatal(err)
		}
		in.Case.Recording = kyc.Recording{Status: kyc.RecordingVerified, Path: "s3://bucket/" + in.RecordingKey, Size: recSize, SHA256: sha, Duration: 60}
	}
	return in
}

// putStream stores size pseudo-random bytes without holding them.
func putStream(ctx context.Context, b *blob.Store, key string, size int64) (string, error) {
	obj, err := b.Put(ctx, key, io.LimitReader(rand.Reader, size), size, "video/mp4")
	return obj.SHA256, err
}

func writePack(t *testing.T, b *blob.Store, in Input) (string, *Manifest) {
	t.Helper()
	p, err := Prepare(t.Context(), BucketObjects(b), in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pack.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, m
}

func verifyFile(t *testing.T, path string, key ed25519.PublicKey) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := Verify(f, st.Size(), key)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestPackAndVerify(t *testing.T) {
	b := testBucket(t)
	in := fixture(t, b, 300<<10)
	pub := in.Key.Public().(ed25519.PublicKey)
	path, m := writePack(t, b, in)

	if len(m.Files) != 5 || m.Recording == nil || !m.Recording.Included || len(m.Problems) != 0 {
		t.Fatalf("manifest: files %d recording %+v problems %v", len(m.Files), m.Recording, m.Problems)
	}
	for _, f := range m.Files {
		if f.MatchesLog != nil && !*f.MatchesLog {
			t.Errorf("%s does not match the log", f.Name)
		}
	}
	rep := verifyFile(t, path, pub)
	if !rep.Intact || len(rep.Checked) != 5 || rep.KeyID != KeyID(pub) {
		t.Fatalf("an untouched pack: %+v", rep)
	}
	if rep.Manifest.Case.Customer.Reference != "CUST-42" || rep.Manifest.Log.Count != 2 || rep.Manifest.EngineVersion == "" {
		t.Fatalf("manifest content: %+v", rep.Manifest)
	}
	// The summary is a PDF that names the case and the people.
	zr, _ := zip.OpenReader(path)
	defer zr.Close()
	var pdf []byte
	for _, e := range zr.File {
		if e.Name == SummaryName {
			rc, _ := e.Open()
			pdf, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/Type /Page\n")) != 1 {
		t.Fatalf("summary.pdf is not a one-page PDF (%d bytes)", len(pdf))
	}

	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	for _, tc := range []struct {
		name   string
		pack   func() string
		key    ed25519.PublicKey
		expect string
	}{
		{"a capture changed", func() string {
			return packtest.Rewrite(t, path, func(n string, b []byte) []byte {
				if strings.Contains(n, "/face-") {
					b = append([]byte(nil), b...)
					b[len(b)/2] ^= 0xff
				}
				return b
			}, nil)
		}, pub, "face-cap-a.jpg: "},
		{"the manifest changed", func() string {
			return packtest.Rewrite(t, path, func(n string, b []byte) []byte {
				if n == ManifestName {
					return bytes.Replace(b, []byte(`"approved"`), []byte(`"rejected"`), 1)
				}
				return b
			}, nil)
		}, pub, "the signature does not match manifest.json"},
		{"signed by another key", func() string { return path }, other.Public().(ed25519.PublicKey), "not by the trusted key"},
		{"a file removed", func() string {
			return packtest.Rewrite(t, path, func(n string, b []byte) []byte {
				if n == SummaryName {
					return nil
				}
				return b
			}, nil)
		}, pub, "summary.pdf is listed in the manifest but not in the pack"},
		{"a file added", func() string {
			return packtest.Rewrite(t, path, func(_ string, b []byte) []byte { return b }, map[string][]byte{"captures/extra.jpg": []byte("x")})
		}, pub, "captures/extra.jpg is in the pack but not in the manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := verifyFile(t, tc.pack(), tc.key)
			if rep.Intact || !strings.Contains(strings.Join(rep.Failures, "\n"), tc.expect) {
				t.Fatalf("failures %q, want one with %q", rep.Failures, tc.expect)
			}
		})
	}
}

// TestLinkedRecordingAndObjectsUnlikeTheLog: a recording above the inline
// limit is linked; a capture whose object is not what the log recorded is
// packed as found and named in the manifest's problems.
func TestLinkedRecordingAndObjectsUnlikeTheLog(t *testing.T) {
	b := testBucket(t)
	in := fixture(t, b, 64<<10)
	in.InlineMax = 1024
	in.Case.Captures[1].SHA256 = strings.Repeat("0", 64)
	in.LogNotes = []string{"the workflow's history is gone"}
	path, m := writePack(t, b, in)
	if m.Recording.Included || !strings.Contains(m.Recording.URL, "X-Amz-Signature") || m.Recording.URLExpiresAt == nil {
		t.Fatalf("recording: %+v", m.Recording)
	}
	rep := verifyFile(t, path, in.Key.Public().(ed25519.PublicKey))
	if !rep.Intact || len(rep.Recorded) != 1 || !strings.Contains(rep.Recorded[0], "cap-b") || len(rep.Notes) != 1 || len(m.Notes) != 1 {
		t.Fatalf("report: %+v", rep)
	}
}

// TestPackMemoryIsFlat streams a pack with a 500 MiB recording (the size
// the issue names) from MinIO: the heap in use never grows by more than a
// few MiB over the captures, however large the recording.
func TestPackMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads and streams 500 MiB")
	}
	const size = 500 << 20
	b := testBucket(t)
	in := fixture(t, b, size)
	p, err := Prepare(context.Background(), BucketObjects(b), in)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	var n countingWriter
	m, err := p.Write(&n)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if n < size || !m.Recording.Included {
		t.Fatalf("wrote %d bytes; recording %+v", n, m.Recording)
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("pack of %d MiB streamed; heap in use grew by at most %.1f MiB", n>>20, float64(growth)/(1<<20))
	if growth > 24<<20 {
		t.Fatalf("heap in use grew by %.1f MiB while streaming a %d MiB recording", float64(growth)/(1<<20), size>>20)
	}
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
