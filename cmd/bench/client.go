package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vkyc-engine/vkyc/internal/apiclient"
	"github.com/vkyc-engine/vkyc/internal/bank/auth"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// apiClient calls the engine's API and the simulator's participant API the
// way the bank's backend, agents, auditors and customers' apps do.
type apiClient struct {
	api, sim string
	hc       *http.Client
	secret   []byte

	mu     sync.Mutex
	tokens map[string]string
	// reads counts GET /v1/cases/{id} calls.
	reads atomic.Int64
}

func newAPIClient(api, sim string, secret []byte) *apiClient {
	// Enough idle connections for every concurrent caller: the benchmark
	// must not measure TCP handshakes a real client pool would not make.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 512
	return &apiClient{api: api, sim: sim, secret: secret, tokens: map[string]string{},
		hc: &http.Client{Timeout: 2 * time.Minute, Transport: tr}}
}

// token mints (once) an API token for sub in role.
func (c *apiClient) token(sub string, role kyc.Role) string {
	key := string(role) + ":" + sub
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tokens[key]; ok {
		return t
	}
	t, err := auth.Mint(c.secret, sub, role, 6*time.Hour, time.Now())
	if err != nil {
		panic(fmt.Sprintf("mint a token: %v", err)) // only a too-short secret fails, which setup rules out
	}
	c.tokens[key] = t
	return t
}

func (c *apiClient) service() string { return c.token("bench-backend", kyc.RoleService) }

func (c *apiClient) call(ctx context.Context, method, path, token string, body, out any, header map[string]string) error {
	q := apiclient.Request{Method: method, URL: c.api + path, Token: token, JSON: body, Header: header}
	_, err := apiclient.Do(ctx, c.hc, q, out)
	return err
}

func (c *apiClient) simCall(ctx context.Context, path string, body, out any) error {
	q := apiclient.Request{Method: http.MethodPost, URL: c.sim + path, JSON: body}
	_, err := apiclient.Do(ctx, c.hc, q, out)
	return err
}

func keyed() map[string]string { return map[string]string{"Idempotency-Key": randomHex(16)} }

// form is a capture upload built once: the same bytes are sent for every
// request, so the client spends nothing per upload but the copy to the
// socket.
type form struct {
	sample      apiclient.Sample
	body        []byte
	contentType string
}

func newForm(s apiclient.Sample) (*form, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("kind", string(s.Kind)); err != nil {
		return nil, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, s.FileName))
	h.Set("Content-Type", s.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, err
	}
	if _, err := part.Write(s.Data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return &form{sample: s, body: buf.Bytes(), contentType: w.FormDataContentType()}, nil
}

// upload posts a capture and checks that the engine stored what was sent.
func (c *apiClient) upload(ctx context.Context, caseID, agentToken string, f *form) error {
	h := keyed()
	h["X-Content-SHA256"] = f.sample.SHA256()
	q := apiclient.Request{Method: http.MethodPost, URL: c.api + "/v1/cases/" + caseID + "/captures", Token: agentToken,
		Body: bytes.NewReader(f.body), ContentType: f.contentType, Header: h}
	var got kyc.Capture
	if _, err := apiclient.Do(ctx, c.hc, q, &got); err != nil {
		return err
	}
	if got.SHA256 != f.sample.SHA256() || got.Size != int64(len(f.sample.Data)) {
		return fmt.Errorf("capture stored %d bytes sha256 %s, sent %d", got.Size, got.SHA256, len(f.sample.Data))
	}
	return nil
}

func (c *apiClient) getCase(ctx context.Context, id string) (kyc.CaseView, error) {
	c.reads.Add(1)
	var v kyc.CaseView
	err := c.call(ctx, http.MethodGet, "/v1/cases/"+id, c.service(), nil, &v, nil)
	return v, err
}
