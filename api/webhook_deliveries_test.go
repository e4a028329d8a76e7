package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound"
	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// bankReceiver is the bank's webhook endpoint: every request must verify
// with the specification's library.
type bankReceiver struct {
	t   *testing.T
	wh  *standardwebhooks.Webhook
	mu  sync.Mutex
	got []receivedHook
}

type receivedHook struct {
	id   string
	body []byte
	p    message.Payload
}

func (b *bankReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := b.wh.Verify(body, r.Header); err != nil {
		b.t.Errorf("a webhook failed verification: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p message.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		b.t.Errorf("a webhook is not JSON: %v", err)
	}
	b.mu.Lock()
	b.got = append(b.got, receivedHook{r.Header.Get("webhook-id"), body, p})
	b.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (b *bankReceiver) received() []receivedHook {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]receivedHook(nil), b.got...)
}

// newBankEnv is an env whose store writes the outbox for a receiver and a
// deliverer that empties it.
func newBankEnv(t *testing.T) (*env, *bankReceiver, *outbound.Deliverer) {
	t.Helper()
	secret := message.NewSecret()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	recv := &bankReceiver{t: t, wh: wh}
	hs := httptest.NewServer(recv)
	t.Cleanup(hs.Close)
	e := newEnv(t, envOptions{webhookURLs: []string{hs.URL + "/kyc/hooks?token=secret-in-query"}})
	signer, err := message.NewSigner([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	d, err := outbound.New(e.st, signer, e.log, outbound.Options{Timeout: 2 * time.Second, Backoff: 20 * time.Millisecond,
		BackoffMax: 100 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, recv, d
}

// approvedCase runs a case to approved: call, a face capture, the agent's
// and the auditor's approvals, the recording verified.
func (e *env) approvedCase() kyc.CaseView {
	e.t.Helper()
	v := e.inCall("agent-7", kyc.CaptureFace)
	img := pngImage(e.t, 8, 8)
	wantStatus(e.t, e.upload(v.ID, e.agent("agent-7"), kyc.CaptureFace, img, nil), http.StatusCreated)
	wantStatus(e.t, e.call(req{method: "POST", path: casePath(v.ID, "/decision"), token: e.agent("agent-7"),
		json: map[string]string{"outcome": "approve", "reason": "Asha Rao's face matches her ID"}}), http.StatusOK)
	e.waitFor(v.ID, "awaiting_audit", func(v kyc.CaseView) bool { return v.Status == kyc.StatusAwaitingAudit })
	wantStatus(e.t, e.call(req{method: "POST", path: casePath(v.ID, "/audit"), token: e.auditor("auditor-1"),
		json: map[string]string{"outcome": "approve", "reason": "recording reviewed"}}), http.StatusOK)
	return e.waitFor(v.ID, "approved", func(v kyc.CaseView) bool { return v.Status == kyc.StatusApproved })
}

type deliveryList struct {
	Deliveries []struct {
		ID         string          `json:"id"`
		WebhookID  string          `json:"webhook_id"`
		Endpoint   string          `json:"endpoint"`
		CaseID     string          `json:"case_id"`
		Seq        int64           `json:"seq"`
		EventType  string          `json:"event_type"`
		Status     string          `json:"status"`
		Attempts   int             `json:"attempts"`
		LastStatus int             `json:"last_status"`
		Payload    json.RawMessage `json:"payload"`
	} `json:"deliveries"`
	NextCursor string `json:"next_cursor"`
}

// TestBankWebhooks: a case's way to approved reaches the bank as signed
// webhooks, one per status change, capture and verified recording of its
// log, in log order, without personal data; the delivery log lists them
// with filters, and a redelivery sends a message again with its id.
func TestBankWebhooks(t *testing.T) {
	e, recv, _ := newBankEnv(t)
	v := e.approvedCase()

	// Every message the log calls for, in order.
	var log struct {
		Events []struct {
			Seq  int64  `json:"seq"`
			Type string `json:"type"`
		} `json:"events"`
	}
	r := e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.service()})
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &log)
	var want []int64
	for _, ev := range log.Events {
		if message.Relevant(ev.Type) {
			want = append(want, ev.Seq)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(recv.received()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := recv.received()
	if len(got) != len(want) {
		t.Fatalf("the bank received %d webhooks, the log calls for %d", len(got), len(want))
	}
	var types []string
	for i, h := range got {
		if h.p.Data.Seq != want[i] || h.id != message.ID(v.ID, want[i]) || h.p.Data.CaseID != v.ID || h.p.Data.CustomerReference != v.Customer.Reference {
			t.Errorf("webhook %d: id %s seq %d, want seq %d", i, h.id, h.p.Data.Seq, want[i])
		}
		for _, pii := range []string{"Asha", "asha@example.com", "matches her ID", "recording reviewed"} {
			if strings.Contains(string(h.body), pii) {
				t.Errorf("webhook %s carries %q: %s", h.id, pii, h.body)
			}
		}
		types = append(types, h.p.Type)
	}
	last := got[len(got)-1].p
	if last.Type != message.TypeStatusChanged || last.Data.Status != kyc.StatusApproved || last.Data.PreviousStatus != kyc.StatusAwaitingAudit {
		t.Errorf("last webhook: %+v", last)
	}
	for _, typ := range message.Types {
		if !strings.Contains(strings.Join(types, " "), typ) {
			t.Errorf("no %s webhook among %v", typ, types)
		}
	}

	// The delivery log. The bank's answer reaches the receiver before the
	// deliverer records it, so the last delivery may be pending a moment.
	var list deliveryList
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		list = deliveryList{}
		r = e.call(req{method: "GET", path: "/v1/webhook-deliveries?case_id=" + v.ID, token: e.admin()})
		wantStatus(t, r, http.StatusOK)
		r.decode(t, &list)
		pending := false
		for _, d := range list.Deliveries {
			pending = pending || d.Status == "pending"
		}
		if !pending || time.Now().After(deadline) {
			break
		}
	}
	if len(list.Deliveries) != len(want) {
		t.Fatalf("%d deliveries listed, want %d", len(list.Deliveries), len(want))
	}
	for _, d := range list.Deliveries {
		if d.Status != "delivered" || d.LastStatus != 200 || d.Attempts != 1 || strings.Contains(d.Endpoint, "secret-in-query") || len(d.Payload) == 0 {
			t.Errorf("delivery %+v", d)
		}
	}
	r = e.call(req{method: "GET", path: "/v1/webhook-deliveries?type=case.capture_added&status=delivered&limit=1", token: e.service()})
	wantStatus(t, r, http.StatusOK)
	list = deliveryList{}
	r.decode(t, &list)
	if len(list.Deliveries) != 1 || list.Deliveries[0].EventType != message.TypeCaptureAdded {
		t.Fatalf("filtered list: %s", r.body)
	}

	// Redeliver the first: the bank gets the same message id again.
	first := got[0].id
	var firstID string
	r = e.call(req{method: "GET", path: "/v1/webhook-deliveries?case_id=" + v.ID + "&limit=100", token: e.service()})
	list = deliveryList{}
	r.decode(t, &list)
	for _, d := range list.Deliveries {
		if d.WebhookID == first {
			firstID = d.ID
		}
	}
	r = e.call(req{method: "POST", path: "/v1/webhook-deliveries/" + firstID + "/redeliver", token: e.admin()})
	wantStatus(t, r, http.StatusAccepted)
	deadline = time.Now().Add(10 * time.Second)
	for len(recv.received()) == len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if again := recv.received(); len(again) != len(want)+1 || again[len(want)].id != first {
		t.Fatalf("after the redeliver the bank has %d webhooks", len(again))
	}

	// Who may, and bad input.
	for _, tc := range []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"GET", "/v1/webhook-deliveries", e.agent("agent-7"), 403, "forbidden"},
		{"GET", "/v1/webhook-deliveries", e.auditor("auditor-1"), 403, "forbidden"},
		{"GET", "/v1/webhook-deliveries", "", 401, "unauthorized"},
		{"GET", "/v1/webhook-deliveries?status=sent", e.admin(), 422, "invalid_field"},
		{"GET", "/v1/webhook-deliveries?type=case.created", e.admin(), 422, "invalid_field"},
		{"GET", "/v1/webhook-deliveries?limit=101", e.admin(), 422, "invalid_field"},
		{"GET", "/v1/webhook-deliveries?case_id=x", e.admin(), 422, "invalid_field"},
		{"GET", "/v1/webhook-deliveries?cursor=abc", e.admin(), 422, "invalid_field"},
		{"POST", "/v1/webhook-deliveries/" + firstID + "/redeliver", e.agent("agent-7"), 403, "forbidden"},
		{"POST", "/v1/webhook-deliveries/0193c5a4-0000-7000-8000-000000000000/redeliver", e.admin(), 404, "delivery_not_found"},
		{"POST", "/v1/webhook-deliveries/nope/redeliver", e.admin(), 404, "delivery_not_found"},
	} {
		wantError(t, e.call(req{method: tc.method, path: tc.path, token: tc.token}), tc.status, tc.code)
	}
}
