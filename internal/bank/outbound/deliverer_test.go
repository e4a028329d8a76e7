package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/platform/store"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// receiver is the bank's endpoint: it checks every request's signature with
// the specification's library (with either of the two secrets, as during
// a rotation), misbehaves on request as told by fault, and keeps the first
// receipt of every webhook-id.
type receiver struct {
	t       *testing.T
	hooks   []*standardwebhooks.Webhook
	fault   func(n int64) string // "", "500", "slow"
	slow    time.Duration
	n       atomic.Int64
	mu      sync.Mutex
	seen    map[string]int // webhook-id → receipts
	order   map[string][]int64
	badSigs int
}

func newReceiver(t *testing.T, secrets []string) *receiver {
	r := &receiver{t: t, seen: map[string]int{}, order: map[string][]int64{}, fault: func(int64) string { return "" }}
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		r.hooks = append(r.hooks, wh)
	}
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n := r.n.Add(1)
	body, _ := io.ReadAll(req.Body)
	switch r.fault(n) {
	case "500":
		http.Error(w, "bank down", http.StatusInternalServerError)
		return
	case "slow":
		time.Sleep(r.slow)
		http.Error(w, "too late", http.StatusServiceUnavailable)
		return
	}
	for _, wh := range r.hooks {
		if err := wh.Verify(body, req.Header); err != nil {
			r.mu.Lock()
			r.badSigs++
			r.mu.Unlock()
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var p message.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.seen[id]++
	if r.seen[id] == 1 {
		r.order[p.Data.CaseID] = append(r.order[p.Data.CaseID], p.Data.Seq)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

var dialects = []struct{ name, dsn string }{{"postgres", ""}, {"sqlite", ""}}

func openStores(t *testing.T, dialect string, n int, endpoints []string) []*store.Store {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "vkyc.db")
	if dialect == "postgres" {
		dsn = testenv.Postgres(t)
	}
	var out []*store.Store
	for range n {
		st, err := store.Open(t.Context(), dsn, store.WithWebhookEndpoints(endpoints),
			store.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out = append(out, st)
	}
	return out
}

// writeCase creates a case and appends a log with 5 messages.
func writeCase(t *testing.T, st *store.Store, id string) {
	t.Helper()
	ctx := t.Context()
	if _, _, err := st.CreateCase(ctx, store.NewCase{ID: id, Customer: kyc.Customer{Reference: "ref-" + id},
		RequiredCaptures: kyc.DefaultRequiredCaptures, CreatedBy: "svc", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	ev := func(seq int64, typ, data string) store.NewEvent {
		return store.NewEvent{Event: chain.Event{CaseID: id, Seq: seq, Type: typ, ActorID: "system", ActorRole: "system",
			At: at.Add(time.Duration(seq) * time.Millisecond), Data: json.RawMessage(data)}}
	}
	if err := st.AppendEvents(ctx, []store.NewEvent{
		ev(1, "case_created", `{}`),
		ev(2, message.LogStatusChanged, `{"from":"waiting_for_participants","to":"in_call","attempt":1}`),
		ev(3, message.LogCaptureAdded, `{"attempt":1,"capture_id":"c1","kind":"face","size":1,"sha256":"a"}`),
		ev(4, message.LogStatusChanged, `{"from":"in_call","to":"awaiting_recording","attempt":1}`),
		ev(5, message.LogRecordingVerified, `{"attempt":1,"recording_id":"r","size":2,"sha256":"b","duration":3}`),
		ev(6, message.LogStatusChanged, `{"from":"awaiting_recording","to":"awaiting_audit","attempt":1}`),
	}); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, d *Deliverer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countState(t *testing.T, st *store.Store, s store.DeliveryState) int64 {
	counts, _, err := st.DeliveryStats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return counts[s]
}

var fast = Options{Timeout: 150 * time.Millisecond, Backoff: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond,
	RetryWindow: time.Minute, PollInterval: 20 * time.Millisecond, Concurrency: 4}

// TestDeliveryThroughFaults: two deliverers (as two API replicas) deliver
// every message of 6 cases to two endpoints while the bank answers 500s and
// times out on a third of the attempts; at the end every message was
// received once or more, first in log order per case, every signature
// checked out with both secrets, and the metrics counted the failures.
func TestDeliveryThroughFaults(t *testing.T) {
	for _, dl := range dialects {
		t.Run(dl.name, func(t *testing.T) {
			t.Parallel()
			secrets := []string{message.NewSecret(), message.NewSecret()}
			recv := newReceiver(t, secrets)
			recv.slow = 300 * time.Millisecond
			recv.fault = func(n int64) string {
				switch n % 3 {
				case 0:
					return "500"
				case 1:
					if n%7 == 1 {
						return "slow"
					}
				}
				return ""
			}
			srv := httptest.NewServer(recv)
			t.Cleanup(srv.Close)
			eps := []string{srv.URL + "/a", srv.URL + "/b"}
			stores := openStores(t, dl.name, 2, eps)
			signer, err := message.NewSigner(secrets)
			if err != nil {
				t.Fatal(err)
			}
			regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
			var ds []*Deliverer
			for i, st := range stores {
				o := fast
				o.Registerer = regs[i]
				d, err := New(st, signer, slog.New(slog.DiscardHandler), o)
				if err != nil {
					t.Fatal(err)
				}
				ds = append(ds, d)
				run(t, d)
			}
			const cases = 6
			for i := range cases {
				writeCase(t, stores[i%2], fmt.Sprintf("case-%d", i))
			}
			waitFor(t, "every delivery", 60*time.Second, func() bool { return countState(t, stores[0], store.DeliveryDelivered) == cases*5*2 })

			recv.mu.Lock()
			defer recv.mu.Unlock()
			if recv.badSigs != 0 {
				t.Errorf("%d requests failed the signature check", recv.badSigs)
			}
			if len(recv.seen) != cases*5 {
				t.Errorf("%d webhook ids received, want %d", len(recv.seen), cases*5)
			}
			for i := range cases {
				id := fmt.Sprintf("case-%d", i)
				got := recv.order[id]
				// Two endpoints share the receiver: each message id counts
				// once, in order.
				if fmt.Sprint(got) != "[2 3 4 5 6]" {
					t.Errorf("%s received in order %v", id, got)
				}
			}
			var failed, delivered float64
			for _, d := range ds {
				failed += testutil.ToFloat64(d.attempts.WithLabelValues(resultHTTPError)) + testutil.ToFloat64(d.attempts.WithLabelValues(resultTimeout))
				delivered += testutil.ToFloat64(d.attempts.WithLabelValues(resultDelivered))
			}
			if failed == 0 || delivered < cases*5*2 {
				t.Errorf("metrics: %v failed attempts, %v delivered", failed, delivered)
			}
			list, _, err := stores[0].ListDeliveries(t.Context(), store.DeliveryFilter{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			retried := 0
			for _, dv := range list {
				if dv.Attempts > 1 {
					retried++
					if dv.LastStatus < 200 || dv.LastStatus > 299 {
						t.Errorf("delivery %s: %+v", dv.ID, dv)
					}
				}
			}
			if retried == 0 {
				t.Error("no delivery needed a retry: the faults did not bite")
			}
			if n, err := testutil.GatherAndCount(regs[0], "vkyc_bank_webhook_deliveries"); err != nil || n != 3 {
				t.Errorf("outbox gauge: %d series, %v", n, err)
			}
		})
	}
}

// TestGiveUpAndRedeliver: a bank that never answers 2xx gets retries until
// the window passes, then the delivery fails (and the case's next message
// goes out, and fails too); a redeliver after the bank is back delivers it.
func TestGiveUpAndRedeliver(t *testing.T) {
	secret := message.NewSecret()
	recv := newReceiver(t, []string{secret})
	var down atomic.Bool
	down.Store(true)
	recv.fault = func(int64) string {
		if down.Load() {
			return "500"
		}
		return ""
	}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	st := openStores(t, "sqlite", 1, []string{srv.URL})[0]
	signer, _ := message.NewSigner([]string{secret})
	o := fast
	o.RetryWindow = 300 * time.Millisecond
	o.Registerer = prometheus.NewRegistry()
	d, err := New(st, signer, slog.New(slog.DiscardHandler), o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, d)
	writeCase(t, st, "g-1")
	waitFor(t, "every delivery to fail", 20*time.Second, func() bool { return countState(t, st, store.DeliveryFailed) == 5 })
	list, _, err := st.ListDeliveries(t.Context(), store.DeliveryFilter{CaseID: "g-1"})
	if err != nil {
		t.Fatal(err)
	}
	// The window starts when the event happened: the first message used it
	// up with retries, the later ones (held back behind it, in order) had one
	// attempt each once it failed.
	for i, dv := range list {
		first := i == len(list)-1
		if (first && dv.Attempts < 2) || dv.Attempts < 1 || dv.LastStatus != 500 || dv.LastError == "" || dv.NextAttemptAt != nil {
			t.Errorf("failed delivery: %+v", dv)
		}
	}
	if got := testutil.ToFloat64(d.gaveUp); got != 5 {
		t.Errorf("failed_total = %v, want 5", got)
	}
	down.Store(false)
	first := list[len(list)-1]
	if _, err := st.Redeliver(t.Context(), first.ID); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, "the redelivery", 10*time.Second, func() bool { return countState(t, st, store.DeliveryDelivered) == 1 })
	got, _ := st.GetDelivery(t.Context(), first.ID)
	if got.State != store.DeliveryDelivered || got.DeliveredAt == nil || got.LastStatus != http.StatusNoContent {
		t.Fatalf("redelivered: %+v", got)
	}
}

// TestBackoff: waits double from Backoff to BackoffMax, with jitter between
// half and all of each, and the last attempt falls on the window's end.
func TestBackoff(t *testing.T) {
	d := &Deliverer{o: Options{Backoff: time.Second, BackoffMax: time.Minute, RetryWindow: 24 * time.Hour}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 7: time.Minute, 60: time.Minute} {
		for range 50 {
			del := store.Delivery{Attempts: attempt, RetryFrom: start}
			wait := d.next(del, start.Add(time.Hour)).Sub(start.Add(time.Hour))
			if wait < want/2 || wait > want {
				t.Fatalf("attempt %d waits %s, want %s..%s", attempt, wait, want/2, want)
			}
		}
	}
	// Every attempt of a whole window waits within its bounds, with the
	// defaults and with the fault suite's quick settings (a shift by the
	// attempt count overflowed from attempt 32 and made the jitter panic).
	for _, o := range []Options{{Backoff: 5 * time.Second, BackoffMax: time.Hour}, {Backoff: 200 * time.Millisecond, BackoffMax: 2 * time.Second}} {
		d := &Deliverer{o: Options{Backoff: o.Backoff, BackoffMax: o.BackoffMax, RetryWindow: 24 * time.Hour}}
		for attempt := 1; attempt <= 2000; attempt++ {
			now := start.Add(time.Minute)
			wait := d.next(store.Delivery{Attempts: attempt, RetryFrom: start}, now).Sub(now)
			if wait < min(o.Backoff, o.BackoffMax)/2 || wait > o.BackoffMax {
				t.Fatalf("backoff %s, max %s: attempt %d waits %s", o.Backoff, o.BackoffMax, attempt, wait)
			}
		}
	}
	end := start.Add(24 * time.Hour)
	if got := d.next(store.Delivery{Attempts: 30, RetryFrom: start}, end.Add(-time.Second)); !got.Equal(end) {
		t.Errorf("near the end: next %s, want the window's end %s", got, end)
	}
	if got := d.next(store.Delivery{Attempts: 31, RetryFrom: start}, end); !got.IsZero() {
		t.Errorf("at the end: next %s, want give up", got)
	}
}
