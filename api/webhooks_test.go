package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vkyc-engine/vkyc/api"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
)

// hmsEvent is a 100ms webhook body.
func hmsEvent(id, typ, room string) []byte {
	b, _ := json.Marshal(map[string]any{
		"version": "2.0", "id": id, "account_id": "acc", "app_id": "app", "timestamp": time.Now().UTC().Format(time.RFC3339),
		"type": typ,
		"data": map[string]any{"room_id": "66aa00000000000000000001", "room_name": room, "session_id": "s1",
			"peer_id": "p1", "role": "customer", "user_id": "u1", "user_name": "Asha Rao"},
	})
	return b
}

func (e *env) webhook(body []byte, headers map[string]string) response {
	e.t.Helper()
	if headers == nil {
		headers = map[string]string{webhookHeader: webhookSecret}
	}
	return e.call(req{method: "POST", path: "/v1/webhooks/100ms", raw: body, contentType: "application/json", headers: headers})
}

func (e *env) inboxRow(id string) *store.InboxRow {
	e.t.Helper()
	r, err := e.st.InboxGet(context.Background(), id)
	if err != nil {
		return nil
	}
	return r
}

func TestWebhookIntake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	caseID := uuid.NewString()
	room := kyc.RoomName(caseID, 1)

	t.Run("secret", func(t *testing.T) {
		for name, h := range map[string]map[string]string{
			"missing":   {"X-Other": "x"},
			"wrong":     {webhookHeader: "guess"},
			"prefix":    {webhookHeader: webhookSecret[:5]},
			"bearer":    {"Authorization": "Bearer " + e.service()},
			"lowercase": {strings.ToLower(webhookHeader): strings.ToUpper(webhookSecret)},
		} {
			r := e.webhook(hmsEvent("ev-"+name, "peer.join.success", room), h)
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			if strings.Contains(string(r.body), webhookHeader) || strings.Contains(string(r.body), webhookSecret) {
				t.Fatalf("401 names the secret header: %s", r.body)
			}
			if e.inboxRow("ev-"+name) != nil {
				t.Fatalf("%s: an unauthenticated event was stored", name)
			}
		}
		if strings.Contains(e.logs.String(), webhookSecret) {
			t.Fatal("the webhook secret reached the log")
		}
	})

	t.Run("malformed", func(t *testing.T) {
		for name, body := range map[string]string{
			"not JSON":  `{"id":`,
			"no id":     `{"type":"peer.join.success","data":{}}`,
			"no type":   `{"id":"x1","data":{}}`,
			"data list": `{"id":"x2","type":"peer.join.success","data":[1]}`,
			"array":     `[]`,
		} {
			wantError(t, e.webhook([]byte(body), nil), http.StatusBadRequest, "malformed_request")
			_ = name
		}
		big := `{"id":"big","type":"x","data":{"message":"` + strings.Repeat("a", 1<<20) + `"}}`
		wantError(t, e.webhook([]byte(big), nil), http.StatusRequestEntityTooLarge, "payload_too_large")
	})

	t.Run("duplicates", func(t *testing.T) {
		body := hmsEvent("dup-1", "peer.join.success", room)
		for i := range 3 {
			r := e.webhook(body, nil)
			wantStatus(t, r, http.StatusOK)
			want := map[bool]string{true: "accepted", false: "duplicate"}[i == 0]
			if !strings.Contains(string(r.body), want) {
				t.Fatalf("delivery %d answered %s, want %s", i, r.body, want)
			}
		}
		row := e.inboxRow("dup-1")
		if row == nil || row.CaseID != caseID || row.RoomName != room || row.State != store.InboxPending || string(row.Body) != string(body) {
			t.Fatalf("row %+v", row)
		}
		stats, err := e.st.InboxStats(context.Background())
		if err != nil || stats[store.InboxPending] != 1 {
			t.Fatalf("inbox %v (%v), want exactly one row", stats, err)
		}
	})

	t.Run("replay with another body", func(t *testing.T) {
		wantStatus(t, e.webhook(hmsEvent("forged-1", "peer.join.success", room), nil), http.StatusOK)
		wantError(t, e.webhook(hmsEvent("forged-1", "peer.leave.success", room), nil), http.StatusConflict, "webhook_replay_conflict")
		if row := e.inboxRow("forged-1"); row.Type != "peer.join.success" {
			t.Fatalf("the replay changed the stored event: %+v", row)
		}
		if !strings.Contains(e.logs.String(), "possible forgery") {
			t.Fatal("the replay was not logged")
		}
	})

	t.Run("100ms replay is a duplicate", func(t *testing.T) {
		body := hmsEvent("replayed-1", "peer.join.success", room)
		wantStatus(t, e.webhook(body, nil), http.StatusOK)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		m["is_replay"] = true
		replay, _ := json.Marshal(m)
		r := e.webhook(replay, nil)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `"duplicate"`) {
			t.Fatalf("the replay answered %s, want a duplicate", r.body)
		}
		if row := e.inboxRow("replayed-1"); string(row.Body) != string(body) {
			t.Fatalf("the replay changed the stored event: %s", row.Body)
		}
		// Anything else that differs is still another event.
		m["type"] = "peer.leave.success"
		other, _ := json.Marshal(m)
		wantError(t, e.webhook(other, nil), http.StatusConflict, "webhook_replay_conflict")
	})

	t.Run("text PostgreSQL refuses", func(t *testing.T) {
		for name, body := range map[string]string{
			"NUL in a reason":  `{"id":"nul-1","type":"peer.leave.success","data":{"room_name":"` + room + `","reason":"dup\u0000x"}}`,
			"NUL in a user id": `{"id":"nul-2","type":"peer.join.success","data":{"room_name":"` + room + `","user_id":"\u0000"}}`,
			"invalid UTF-8":    "{\"id\":\"utf-1\",\"type\":\"peer.join.success\",\"data\":{\"room_name\":\"" + room + "\",\"user_name\":\"\xff\"}}",
		} {
			wantError(t, e.webhook([]byte(body), nil), http.StatusBadRequest, "malformed_request")
			for _, id := range []string{"nul-1", "nul-2", "utf-1"} {
				if e.inboxRow(id) != nil {
					t.Fatalf("%s: the event was stored", name)
				}
			}
		}
	})

	t.Run("secret before the body", func(t *testing.T) {
		// Past the body limit: a 413 would mean the body was read first.
		big := `{"id":"big-unauth","type":"x","data":{"message":"` + strings.Repeat("a", 2<<20) + `"}}`
		wantError(t, e.webhook([]byte(big), map[string]string{webhookHeader: "guess"}), http.StatusUnauthorized, "unauthorized")
	})

	t.Run("unknown room is stored", func(t *testing.T) {
		wantStatus(t, e.webhook(hmsEvent("foreign-1", "session.open.success", "weekly-standup"), nil), http.StatusOK)
		row := e.inboxRow("foreign-1")
		if row == nil || row.CaseID != "" || row.State != store.InboxPending {
			t.Fatalf("row %+v", row)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		r := e.call(req{method: "GET", path: "/metrics"})
		wantStatus(t, r, http.StatusOK)
		for _, want := range []string{
			`vkyc_webhooks_received_total{result="accepted"} 4`,
			`vkyc_webhooks_received_total{result="duplicate"} 3`,
			`vkyc_webhooks_received_total{result="conflict"} 2`,
			`vkyc_webhooks_received_total{result="unauthorized"} 6`,
			`vkyc_webhook_inbox_rows{state="pending"} 4`,
			`vkyc_http_request_duration_seconds_count{method="POST",route="/v1/webhooks/100ms",status="200"}`,
		} {
			if !strings.Contains(string(r.body), want) {
				t.Fatalf("metrics lack %s", want)
			}
		}
	})
}

// TestWebhooksBeforeAWorkerRuns: 100ms events stored while no worker runs
// are delivered to the workflow, which applies them once a worker starts.
func TestWebhooksBeforeAWorkerRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	v := e.createCase()
	aj, cj := e.joinTokens(v.ID, "agent-1")
	e.stopW()
	e.workerM.Lock()
	e.stopW = nil
	e.workerM.Unlock()

	e.simJoin(aj.Token)
	e.simJoin(cj.Token)
	// The simulator's events reach the inbox and the dispatcher signals
	// them; the workflow, with no worker, has not applied them.
	deadline := time.Now().Add(15 * time.Second)
	for {
		stats, err := e.st.InboxStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if stats[store.InboxDone] >= 3 && stats[store.InboxPending] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox %v", stats)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := e.view(v.ID); got.Status != kyc.StatusWaitingForParticipants {
		t.Fatalf("without a worker the case moved to %s", got.Status)
	}
	e.startWorker()
	e.waitFor(v.ID, "in_call", func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })
}

// TestWebhooksWhileTemporalIsDown: events keep arriving and are stored while
// the dispatcher cannot reach Temporal; nothing is lost, and a dispatcher
// that can (a restart once Temporal is back) delivers them all.
func TestWebhooksWhileTemporalIsDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noDispatcher: true})
	v := e.createCase()
	aj, cj := e.joinTokens(v.ID, "agent-1")

	stopDown := e.runDispatcher(e.newDispatcher(deadTemporal(t)))
	e.simJoin(aj.Token)
	e.simJoin(cj.Token)
	var pending []store.InboxRow
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := e.st.InboxPending(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		tried := len(rows) >= 3 && rows[0].Attempts > 0 && rows[0].LastError != ""
		if tried {
			pending = rows
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending rows %+v", rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopDown()
	stats, _ := e.st.InboxStats(context.Background())
	if stats[store.InboxDone] != 0 || stats[store.InboxIgnored] != 0 {
		t.Fatalf("rows settled while Temporal was down: %v", stats)
	}

	e.runDispatcher(e.newDispatcher(e.tc))
	for _, row := range pending {
		deadline := time.Now().Add(15 * time.Second)
		for e.inboxRow(row.EventID).State != store.InboxDone {
			if time.Now().After(deadline) {
				t.Fatalf("row %s not delivered: %+v", row.EventID, e.inboxRow(row.EventID))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	e.waitFor(v.ID, "in_call", func(v kyc.CaseView) bool { return v.Status == kyc.StatusInCall })
}

func TestUnknownRoomIsIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true})
	wantStatus(t, e.webhook(hmsEvent("foreign-2", "peer.join.success", "sales-demo"), nil), http.StatusOK)
	wantStatus(t, e.webhook(hmsEvent("gone-1", "peer.join.success", kyc.RoomName(uuid.NewString(), 1)), nil), http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, b := e.inboxRow("foreign-2"), e.inboxRow("gone-1")
		if a.State == store.InboxIgnored && b.State == store.InboxIgnored {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rows %+v %+v", a, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebhookRateLimit: past HMS_WEBHOOK_RATE_LIMIT deliveries a second
// from one address (bursts of twice that), 429 with Retry-After and the
// error shape; nothing of the refused deliveries is stored.
func TestWebhookRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{noWorker: true, noDispatcher: true})
	base := e.otherAPIWith(func(d *api.Deps) { d.Config.HMS.WebhookRateLimit = 2 })
	room := kyc.RoomName(uuid.NewString(), 1)
	var limited []string
	for i := range 12 {
		id := fmt.Sprintf("rl-%d-%s", i, uuid.NewString())
		r := e.call(req{base: base, method: "POST", path: "/v1/webhooks/100ms", raw: hmsEvent(id, "peer.join.success", room),
			contentType: "application/json", headers: map[string]string{webhookHeader: webhookSecret}})
		if r.status == http.StatusTooManyRequests {
			wantError(t, r, http.StatusTooManyRequests, "rate_limited")
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			limited = append(limited, id)
			continue
		}
		wantStatus(t, r, http.StatusOK)
	}
	// A burst of 4, then about 2 a second: 12 back to back cannot all pass.
	if len(limited) < 5 {
		t.Fatalf("%d of 12 deliveries were limited, want most past the burst", len(limited))
	}
	for _, id := range limited {
		if e.inboxRow(id) != nil {
			t.Fatalf("a limited delivery %s was stored", id)
		}
	}
}
