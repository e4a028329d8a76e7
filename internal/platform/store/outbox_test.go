package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/bank/outbound/message"
	"github.com/vkyc-engine/vkyc/internal/case/chain"
)

var testEndpoints = []string{"https://bank.example/hooks/a", "https://bank.example/hooks/b"}

func openOutboxStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(testContext(t), dsn, WithLogger(testLogger(t)), WithWebhookEndpoints(testEndpoints))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// caseLog is a case's log as the workflow writes it: creation, a status
// change, a capture, more status changes, a verified recording.
func caseLog(caseID string) []NewEvent {
	ev := func(seq int64, typ, data string) NewEvent {
		return NewEvent{Event: chain.Event{CaseID: caseID, Seq: seq, Type: typ, ActorID: "system", ActorRole: "system",
			At: t0.Add(time.Duration(seq) * time.Second), Data: json.RawMessage(data)}}
	}
	return []NewEvent{
		ev(1, "case_created", `{"customer_ref":"x"}`),
		ev(2, "agent_assigned", `{"agent_id":"agent-7"}`),
		ev(3, message.LogStatusChanged, `{"from":"waiting_for_participants","to":"in_call","attempt":1}`),
		ev(4, message.LogCaptureAdded, `{"attempt":1,"capture_id":"cap-1","kind":"face","size":3,"sha256":"aa"}`),
		ev(5, message.LogStatusChanged, `{"from":"in_call","to":"awaiting_recording","attempt":1}`),
		ev(6, message.LogRecordingVerified, `{"attempt":1,"recording_id":"r-1","size":9,"sha256":"bb","duration":30}`),
		ev(7, message.LogStatusChanged, `{"from":"awaiting_recording","to":"awaiting_audit","attempt":1}`),
	}
}

func deliveriesOf(t *testing.T, s *Store, caseID string) []Delivery {
	t.Helper()
	ds, _, err := s.ListDeliveries(testContext(t), DeliveryFilter{CaseID: caseID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestOutboxWrittenWithTheLog: an appended event the bank hears about gets
// one delivery per endpoint in the append's transaction; a retried append
// adds none; a batch that fails adds none; the status of a message after a
// batch boundary comes from the log; without endpoints nothing is written.
func TestOutboxWrittenWithTheLog(t *testing.T) {
	forEachDSN(t, func(t *testing.T, _ dialect, dsn string) {
		s := openOutboxStore(t, dsn)
		mustCreate(t, s, newCase("o-1"))
		log := caseLog("o-1")
		mustAppend(t, s, log[:4]) // ends with the capture: status in_call from the batch
		mustAppend(t, s, log[:4]) // retried: nothing new
		if n := count(t, s, "webhook_deliveries", "case_id = ?", "o-1"); n != 4 {
			t.Fatalf("%d deliveries after the first batch, want 4 (2 messages x 2 endpoints)", n)
		}
		// A batch that conflicts with the log is refused whole: no deliveries.
		bad := append([]NewEvent(nil), log[3:6]...)
		bad[0].Data = json.RawMessage(`{"changed":true}`)
		if err := s.AppendEvents(testContext(t), bad); err == nil {
			t.Fatal("a conflicting batch was accepted")
		}
		if n := count(t, s, "webhook_deliveries", "case_id = ?", "o-1"); n != 4 {
			t.Fatalf("%d deliveries after a refused batch, want 4", n)
		}
		mustAppend(t, s, log[4:6]) // status change, then the recording
		mustAppend(t, s, log[6:])
		ds := deliveriesOf(t, s, "o-1")
		if len(ds) != 10 {
			t.Fatalf("%d deliveries, want 10", len(ds))
		}
		byEndpoint := map[string][]Delivery{}
		for i := len(ds) - 1; i >= 0; i-- { // oldest first
			byEndpoint[ds[i].Endpoint] = append(byEndpoint[ds[i].Endpoint], ds[i])
		}
		wantStatus := []string{"in_call", "in_call", "awaiting_recording", "awaiting_recording", "awaiting_audit"}
		wantSeq := []int64{3, 4, 5, 6, 7}
		for _, ep := range testEndpoints {
			got := byEndpoint[ep]
			if len(got) != 5 {
				t.Fatalf("%s: %d deliveries", ep, len(got))
			}
			for i, d := range got {
				var p message.Payload
				if err := json.Unmarshal([]byte(d.Payload), &p); err != nil {
					t.Fatal(err)
				}
				if d.Seq != wantSeq[i] || string(p.Data.Status) != wantStatus[i] || p.Data.CustomerReference != "ref-o-1" ||
					d.WebhookID != message.ID("o-1", d.Seq) || d.State != DeliveryPending || d.NextAttemptAt == nil {
					t.Errorf("%s delivery %d: seq %d status %s ref %s id %s state %s", ep, i, d.Seq, p.Data.Status, p.Data.CustomerReference, d.WebhookID, d.State)
				}
			}
		}

		plain := openStore(t, dsn) // the same database, no endpoints
		mustCreate(t, plain, newCase("o-2"))
		mustAppend(t, plain, caseLog("o-2"))
		if n := count(t, plain, "webhook_deliveries", "case_id = ?", "o-2"); n != 0 {
			t.Fatalf("%d deliveries without endpoints", n)
		}
	})
}

// TestClaimInOrder: only the oldest pending delivery of a case and endpoint
// is due; a failed attempt holds the later ones back until it is retried;
// a failed (given up) delivery no longer does; a lease keeps others off and
// a stale owner's outcome is dropped; redeliver queues a delivery again.
func TestClaimInOrder(t *testing.T) {
	forEachDSN(t, func(t *testing.T, _ dialect, dsn string) {
		s := openOutboxStore(t, dsn)
		ctx := testContext(t)
		mustCreate(t, s, newCase("c-1"))
		mustAppend(t, s, caseLog("c-1"))

		claim := func(owner string) []Delivery {
			t.Helper()
			ds, err := s.ClaimDeliveries(ctx, owner, 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		finish := func(d Delivery, owner string, o DeliveryOutcome) bool {
			t.Helper()
			ok, err := s.FinishDelivery(ctx, d.ID, owner, o)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		first := claim("w1")
		if len(first) != 2 || first[0].Seq != 3 || first[1].Seq != 3 || first[0].Attempts != 1 {
			t.Fatalf("first claim: %+v", first)
		}
		if again := claim("w2"); len(again) != 0 {
			t.Fatalf("leased or later deliveries were claimed: %+v", again)
		}
		// Endpoint a delivered; endpoint b fails and is retried later.
		a, b := first[0], first[1]
		if a.Endpoint != testEndpoints[0] {
			a, b = b, a
		}
		if !finish(a, "w1", DeliveryOutcome{Delivered: true, Status: 204}) {
			t.Fatal("the owner's outcome was dropped")
		}
		if !finish(b, "w1", DeliveryOutcome{Status: 500, Error: "500 Internal Server Error", Next: time.Now().Add(time.Hour)}) {
			t.Fatal("the owner's outcome was dropped")
		}
		next := claim("w2")
		if len(next) != 1 || next[0].Endpoint != testEndpoints[0] || next[0].Seq != 4 {
			t.Fatalf("after a's delivery and b's failure: %+v", next)
		}
		if finish(next[0], "w1", DeliveryOutcome{Delivered: true}) {
			t.Fatal("a stale owner's outcome was recorded")
		}
		// b gives up: its later messages flow again.
		got, err := s.GetDelivery(ctx, b.ID)
		if err != nil || got.LastStatus != 500 || got.State != DeliveryPending || got.Attempts != 1 {
			t.Fatalf("b after its failure: %+v, %v", got, err)
		}
		mustExec(t, s, "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?", t0, b.ID)
		retry := claim("w3")
		if len(retry) != 1 || retry[0].ID != b.ID || retry[0].Attempts != 2 {
			t.Fatalf("b's retry: %+v", retry)
		}
		finish(retry[0], "w3", DeliveryOutcome{Status: 0, Error: "timeout"}) // give up
		after := claim("w3")
		if len(after) != 1 || after[0].Endpoint != testEndpoints[1] || after[0].Seq != 4 {
			t.Fatalf("after b failed for good: %+v", after)
		}
		// Redeliver: b is pending again, first in its line, with a fresh window.
		rd, err := s.Redeliver(ctx, b.ID)
		if err != nil || rd.State != DeliveryPending || rd.Attempts != 2 || !rd.RetryFrom.After(b.RetryFrom) && !rd.RetryFrom.Equal(b.RetryFrom) {
			t.Fatalf("Redeliver: %+v, %v", rd, err)
		}
		if _, err := s.Redeliver(ctx, "no-such"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Redeliver of nothing: %v", err)
		}
		failed, _, err := s.ListDeliveries(ctx, DeliveryFilter{State: DeliveryFailed})
		if err != nil || len(failed) != 0 {
			t.Fatalf("failed after redeliver: %v, %v", failed, err)
		}
		stats, oldest, err := s.DeliveryStats(ctx)
		if err != nil || stats[DeliveryPending] != 9 || stats[DeliveryDelivered] != 1 || oldest.IsZero() {
			t.Fatalf("DeliveryStats = %v, %v, %v", stats, oldest, err)
		}
	})
}

func TestListDeliveries(t *testing.T) {
	forEachDSN(t, func(t *testing.T, _ dialect, dsn string) {
		s := openOutboxStore(t, dsn)
		ctx := testContext(t)
		for _, id := range []string{"l-1", "l-2"} {
			mustCreate(t, s, newCase(id))
			mustAppend(t, s, caseLog(id))
		}
		var all []Delivery
		cursor := ""
		for {
			page, next, err := s.ListDeliveries(ctx, DeliveryFilter{Limit: 3, Before: cursor})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(all) != 20 {
			t.Fatalf("%d deliveries over the pages, want 20", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first at %d", i)
			}
		}
		caps, _, err := s.ListDeliveries(ctx, DeliveryFilter{CaseID: "l-2", EventType: message.TypeCaptureAdded, State: DeliveryPending})
		if err != nil || len(caps) != 2 || caps[0].CaseID != "l-2" || caps[0].EventType != message.TypeCaptureAdded {
			t.Fatalf("filtered: %+v, %v", caps, err)
		}
	})
}

// TestConcurrentClaimers: deliverers of several processes (here: stores
// with their own pools) never hold the same delivery or two deliveries of
// one case and endpoint at once, and every delivery is claimed once.
func TestConcurrentClaimers(t *testing.T) {
	forEachDSN(t, func(t *testing.T, _ dialect, dsn string) {
		setup := openOutboxStore(t, dsn)
		const cases = 12
		for i := range cases {
			id := fmt.Sprintf("k-%d", i)
			mustCreate(t, setup, newCase(id))
			mustAppend(t, setup, caseLog(id))
		}
		var mu sync.Mutex
		inFlight := map[string]bool{} // case|endpoint
		claimed := map[string]int{}
		lastSeq := map[string]int64{}
		var problems []string
		var wg sync.WaitGroup
		for w := range 4 {
			s := openOutboxStore(t, dsn)
			owner := fmt.Sprintf("w%d", w)
			wg.Go(func() {
				ctx := testContext(t)
				idle := 0
				for idle < 20 {
					ds, err := s.ClaimDeliveries(ctx, owner, 3, time.Minute)
					if err != nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
						return
					}
					if len(ds) == 0 {
						idle++
						time.Sleep(5 * time.Millisecond)
						continue
					}
					idle = 0
					for _, d := range ds {
						key := d.CaseID + "|" + d.Endpoint
						mu.Lock()
						if inFlight[key] {
							problems = append(problems, "two deliveries of "+key+" at once")
						}
						if d.Seq <= lastSeq[key] {
							problems = append(problems, fmt.Sprintf("%s: seq %d after %d", key, d.Seq, lastSeq[key]))
						}
						inFlight[key], lastSeq[key] = true, d.Seq
						claimed[d.ID]++
						mu.Unlock()
					}
					for _, d := range ds {
						mu.Lock()
						inFlight[d.CaseID+"|"+d.Endpoint] = false
						mu.Unlock()
						if _, err := s.FinishDelivery(ctx, d.ID, owner, DeliveryOutcome{Delivered: true, Status: 200}); err != nil {
							mu.Lock()
							problems = append(problems, err.Error())
							mu.Unlock()
						}
					}
				}
			})
		}
		wg.Wait()
		for _, p := range problems {
			t.Error(p)
		}
		if len(claimed) != cases*10 {
			t.Errorf("%d deliveries claimed, want %d", len(claimed), cases*10)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("delivery %s claimed %d times", id, n)
			}
		}
	})
}
