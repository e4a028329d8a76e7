package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/blob"
	"github.com/vkyc-engine/vkyc/internal/testkit/stack"
)

// captureURLTTL is the presigned URL lifetime of this test's stack: short,
// so that the test sees a URL expire.
const captureURLTTL = 3 * time.Second

// jwtPattern matches a JWT: base64url of a JSON header, payload, signature.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)

// signedURLMarks are what every SigV4 or SigV2 presigned URL carries.
var signedURLMarks = []string{"X-Amz-Signature", "X-Amz-Credential", "x-amz-signature", "X-Amz-Security-Token", "Signature=", "AWSAccessKeyId="}

// TestWholeRunLogsAndStorage runs one case from creation to approval with
// the API, worker and simulator as processes and then checks what an
// attacker with the logs or the bucket's address would find:
//   - the objects (captures, recording) answer 403 to anyone without a
//     signature, the bucket cannot be listed anonymously and has no policy;
//   - a presigned capture URL from the API works, says it lives
//     CAPTURE_URL_TTL and no longer works after that;
//   - the three programs' logs hold no secret, no token (ours or 100ms's),
//     no presigned URL, no image or recording bytes and no customer contact
//     details.
func TestWholeRunLogsAndStorage(t *testing.T) {
	s := Start(t, Options{Env: map[string]string{"CAPTURE_URL_TTL": captureURLTTL.String()}})
	ctx := Context(t, 4*time.Minute)
	tokens := apiclient.Tokens{}
	for _, m := range []struct {
		dst  *string
		sub  string
		role kyc.Role
	}{{&tokens.Service, "bank-backend", kyc.RoleService}, {&tokens.Agent, "agent-7", kyc.RoleAgent}, {&tokens.Auditor, "auditor-3", kyc.RoleAuditor}} {
		tok, err := auth.Mint([]byte(AuthSecret), m.sub, m.role, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		*m.dst = tok
	}
	var out bytes.Buffer
	view, err := apiclient.Run(ctx, apiclient.Options{APIBase: s.APIBase, SimBase: s.SimBase, Tokens: tokens, Out: &out, AgentID: "agent-7"})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if view.Status != kyc.StatusApproved || len(view.Captures) == 0 || view.Recording.Status != kyc.RecordingVerified {
		t.Fatalf("case ended %s with %d captures, recording %s", view.Status, len(view.Captures), view.Recording.Status)
	}

	mc := s.minio(t)
	_, recKey, err := blob.ParseS3URL(view.Recording.Path)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{recKey}
	for _, c := range view.Captures {
		keys = append(keys, c.ObjectKey)
	}
	anon := &http.Client{Timeout: 10 * time.Second}
	t.Run("no anonymous access", func(t *testing.T) {
		base := "http://" + s.S3.Endpoint + "/" + s.Bucket
		for _, u := range append([]string{base + "/", base + "?list-type=2"}, objectURLs(base, keys)...) {
			if code := statusOf(t, anon, u); code != http.StatusForbidden {
				t.Errorf("anonymous GET %s answered %d, want 403", u, code)
			}
		}
		if pol, err := mc.GetBucketPolicy(ctx, s.Bucket); err != nil || pol != "" {
			t.Errorf("bucket policy %q (%v), want none", pol, err)
		}
	})

	t.Run("presigned capture URL expires", func(t *testing.T) {
		c := view.Captures[0]
		noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		capture := func(token string) *http.Response {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIBase+"/v1/cases/"+view.ID+"/captures/"+c.ID, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			return resp
		}
		// The case is closed: its agent no longer gets the images, the
		// auditor does.
		if resp := capture(tokens.Agent); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("the agent of a closed case got its capture: %d", resp.StatusCode)
		}
		resp := capture(tokens.Auditor)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || loc == "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("capture answer %d, Location %q, Cache-Control %q", resp.StatusCode, loc, resp.Header.Get("Cache-Control"))
		}
		signedAt := time.Now()
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get("X-Amz-Expires"); got != strconv.Itoa(int(captureURLTTL.Seconds())) {
			t.Fatalf("X-Amz-Expires %q, want %d", got, int(captureURLTTL.Seconds()))
		}
		b, code := get(t, anon, loc)
		if code != http.StatusOK || int64(len(b)) != c.Size {
			t.Fatalf("presigned URL answered %d with %d bytes, want 200 with %d", code, len(b), c.Size)
		}
		// S3 compares whole seconds: wait past the lifetime with a margin.
		time.Sleep(time.Until(signedAt.Add(captureURLTTL + 2*time.Second)))
		if _, code := get(t, anon, loc); code != http.StatusForbidden {
			t.Fatalf("presigned URL answered %d after %s, want 403", code, captureURLTTL)
		}
	})

	// The programs are stopped so that their logs are complete.
	for _, name := range []string{stack.Simulator, stack.API, stack.Worker} {
		s.Stop(name)
	}
	logs := map[string]string{}
	for _, name := range []string{stack.API, stack.Worker, stack.Simulator} {
		logs[name] = s.Logs(name)
		if len(logs[name]) < 200 {
			t.Fatalf("%s logged only %d bytes; the scan would prove nothing", name, len(logs[name]))
		}
	}
	if !strings.Contains(logs[stack.API], view.ID) || !strings.Contains(logs[stack.Worker], view.ID) {
		t.Fatal("the logs never name the case: they are not this run's")
	}
	forbidden := forbiddenInLogs(t, ctx, mc, s, tokens, view, keys)
	for name, text := range logs {
		for what, needle := range forbidden {
			if strings.Contains(text, needle) {
				t.Errorf("the %s log holds %s", name, what)
			}
		}
		if m := jwtPattern.FindString(text); m != "" {
			t.Errorf("the %s log holds a JWT (%.12s…)", name, m)
		}
		for _, mark := range signedURLMarks {
			if strings.Contains(text, mark) {
				t.Errorf("the %s log holds a presigned URL (%s)", name, mark)
			}
		}
	}
}

// forbiddenInLogs lists what no log may hold, by what it is: the secrets,
// the API tokens of the run, the customer's contacts, and for each image
// and the recording a run of its bytes as they are and in hex and base64.
func forbiddenInLogs(t *testing.T, ctx context.Context, mc *minio.Client, s *Stack, tokens apiclient.Tokens, view kyc.CaseView, keys []string) map[string]string {
	t.Helper()
	out := map[string]string{
		"the API's JWT secret":   AuthSecret,
		"the 100ms app secret":   HMSAppSecret,
		"the webhook secret":     WebhookSecret,
		"the S3 secret key":      s.S3.SecretKey,
		"the service's token":    tokens.Service,
		"the agent's token":      tokens.Agent,
		"the auditor's token":    tokens.Auditor,
		"the customer's email":   "demo.customer@example.com",
		"the customer's phone":   "+910000000000",
		"a signature of a token": tokens.Agent[strings.LastIndex(tokens.Agent, ".")+1:],
	}
	for _, k := range keys {
		obj, err := mc.GetObject(ctx, s.Bucket, k, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(io.LimitReader(obj, 4096))
		_ = obj.Close()
		if err != nil || len(b) < 96 {
			t.Fatalf("object %s: %d bytes, %v", k, len(b), err)
		}
		run := b[len(b)/2-24 : len(b)/2+24] // past the format's constant header
		out["bytes of "+k] = string(run)
		out["hex of "+k] = hex.EncodeToString(run)
		out["base64 of "+k] = base64.StdEncoding.EncodeToString(run)[:32]
		out["base64 of the start of "+k] = base64.StdEncoding.EncodeToString(b[:48])
	}
	return out
}

func objectURLs(base string, keys []string) []string {
	var out []string
	for _, k := range keys {
		out = append(out, base+"/"+k)
	}
	return out
}

func statusOf(t *testing.T, hc *http.Client, u string) int {
	t.Helper()
	_, code := get(t, hc, u)
	return code
}

func get(t *testing.T, hc *http.Client, u string) ([]byte, int) {
	t.Helper()
	resp, err := hc.Get(u) // #nosec G107 -- the local MinIO of the test
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		t.Fatal(fmt.Errorf("read %s: %w", u, err))
	}
	return b, resp.StatusCode
}
