package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func inboxEvent(id string, receivedAt time.Time) InboxRow {
	return InboxRow{
		EventID:    id,
		Type:       "peer.join.success",
		RoomName:   "kyc-c1-a1",
		CaseID:     "c1",
		Body:       []byte(`{"id":"` + id + `","type":"peer.join.success"}`),
		ReceivedAt: receivedAt,
	}
}

func testInboxInsert(t *testing.T, s *Store) {
	ctx := testContext(t)
	ev := inboxEvent("ev-1", t0)
	if ins, err := s.InboxInsert(ctx, ev); err != nil || !ins {
		t.Fatalf("first insert = %v, %v", ins, err)
	}
	if ins, err := s.InboxInsert(ctx, ev); err != nil || ins {
		t.Fatalf("redelivery = %v, %v; want false, nil", ins, err)
	}
	forged := ev
	forged.Body = []byte(`{"id":"ev-1","type":"room.end.success"}`)
	if ins, err := s.InboxInsert(ctx, forged); !errors.Is(err, ErrIdempotencyConflict) || ins {
		t.Fatalf("replay with another body = %v, %v; want ErrIdempotencyConflict", ins, err)
	}
	got, err := s.InboxGet(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ev.Body)
	if string(got.Body) != string(ev.Body) || got.BodyHash != hex.EncodeToString(sum[:]) || got.State != InboxPending ||
		got.Type != ev.Type || got.RoomName != ev.RoomName || got.CaseID != "c1" || !got.ReceivedAt.Equal(t0) || got.Attempts != 0 {
		t.Fatalf("stored row = %+v", got)
	}
	if _, err := s.InboxInsert(ctx, InboxRow{EventID: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("row without type: %v", err)
	}
	if _, err := s.InboxInsert(ctx, InboxRow{EventID: "x", Type: "t", State: "lost"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown state: %v", err)
	}
	for name, row := range map[string]InboxRow{
		"NUL in the id":        {EventID: "x\x00y", Type: "t"},
		"NUL in the room":      {EventID: "x", Type: "t", RoomName: "kyc-\x00"},
		"an id over 512 bytes": {EventID: strings.Repeat("i", 513), Type: "t"},
	} {
		if _, err := s.InboxInsert(ctx, row); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", name, err)
		}
	}
	ignored := inboxEvent("ev-foreign", t0)
	ignored.State, ignored.CaseID = InboxIgnored, ""
	if ins, err := s.InboxInsert(ctx, ignored); err != nil || !ins {
		t.Fatalf("insert ignored row: %v, %v", ins, err)
	}
	if _, err := s.InboxGet(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("InboxGet(nope) = %v", err)
	}
}

func testInboxDispatchLifecycle(t *testing.T, s *Store) {
	ctx := testContext(t)
	// Inserted out of order; received_at decides.
	for _, ev := range []InboxRow{
		inboxEvent("ev-c", t0.Add(3*time.Second)),
		inboxEvent("ev-a", t0.Add(1*time.Second)),
		inboxEvent("ev-d", t0.Add(4*time.Second)),
		inboxEvent("ev-b", t0.Add(2*time.Second)),
		inboxEvent("ev-e", t0.Add(5*time.Second)),
	} {
		if _, err := s.InboxInsert(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	pendingIDs := func(limit int) []string {
		t.Helper()
		rows, err := s.InboxPending(ctx, limit)
		if err != nil {
			t.Fatalf("InboxPending: %v", err)
		}
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.EventID)
		}
		return ids
	}
	if got := pendingIDs(3); !slices.Equal(got, []string{"ev-a", "ev-b", "ev-c"}) {
		t.Fatalf("pending(3) = %v", got)
	}

	if err := s.InboxMark(ctx, "ev-a", InboxDone, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.InboxMarkMany(ctx, InboxIgnored, "room not ours", []string{"ev-b", "no-such-row"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.InboxRetry(ctx, "ev-c", "temporal unavailable"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InboxRetry(ctx, "ev-d", "temporal unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := s.InboxMark(ctx, "ev-d", InboxFailed, "workflow not found"); err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(0); !slices.Equal(got, []string{"ev-c", "ev-e"}) {
		t.Fatalf("pending after marks = %v", got)
	}

	for id, want := range map[string]struct {
		state    InboxState
		attempts int
		lastErr  string
	}{
		"ev-a": {InboxDone, 0, ""},
		"ev-b": {InboxIgnored, 0, "room not ours"},
		"ev-c": {InboxPending, 2, "temporal unavailable"},
		"ev-d": {InboxFailed, 2, "workflow not found"},
	} {
		got, err := s.InboxGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want.state || got.Attempts != want.attempts || got.LastError != want.lastErr || !got.UpdatedAt.After(got.ReceivedAt) {
			t.Fatalf("%s = %+v, want %+v", id, got, want)
		}
	}

	stats, err := s.InboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[InboxState]int64{InboxPending: 2, InboxDone: 1, InboxIgnored: 1, InboxFailed: 1}
	if !maps.Equal(stats, want) {
		t.Fatalf("stats = %v, want %v", stats, want)
	}

	if err := s.InboxMark(ctx, "nope", InboxDone, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mark unknown: %v", err)
	}
	if err := s.InboxRetry(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retry unknown: %v", err)
	}
	if err := s.InboxMark(ctx, "ev-c", "lost", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("mark with unknown state: %v", err)
	}
	if err := s.InboxMarkMany(ctx, "lost", "", []string{"ev-c"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("mark many with unknown state: %v", err)
	}
}

func testInboxStatsEmpty(t *testing.T, s *Store) {
	stats, err := s.InboxStats(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != len(AllInboxStates) {
		t.Fatalf("stats = %v, want every state at 0", stats)
	}
	for st, n := range stats {
		if n != 0 {
			t.Fatalf("%s = %d", st, n)
		}
	}
}

// The subtests share one inbox, in this order: stats of the empty inbox, the
// lifecycle (which checks exact stats), then insert semantics.
func TestInbox(t *testing.T) {
	forEachDialectInTurn(t,
		storeTest{"empty stats", testInboxStatsEmpty},
		storeTest{"dispatch lifecycle", testInboxDispatchLifecycle},
		storeTest{"insert", testInboxInsert},
		storeTest{"concurrent inserts", testInboxConcurrentInserts},
		storeTest{"a refused row in a batch", testInboxBatchWithRefusedRow},
	)
}

// Concurrent inserts are written in shared statements; each caller must
// still get its own row's answer: exactly one "inserted" per event id, the
// other deliveries of the same body "already stored", and another body
// under a stored id a conflict.
func testInboxConcurrentInserts(t *testing.T, s *Store) {
	ctx := testContext(t)
	const events, copies = 60, 3
	type answer struct {
		id       string
		inserted bool
		err      error
	}
	burst := func(body func(id string) []byte) []answer {
		out := make(chan answer, events*copies)
		var wg sync.WaitGroup
		for i := range events * copies {
			wg.Go(func() {
				ev := inboxEvent(fmt.Sprintf("burst-%d", i%events), t0)
				ev.Body = body(ev.EventID)
				ins, err := s.InboxInsert(ctx, ev)
				out <- answer{ev.EventID, ins, err}
			})
		}
		wg.Wait()
		close(out)
		var all []answer
		for a := range out {
			all = append(all, a)
		}
		return all
	}
	inserted := map[string]int{}
	for _, a := range burst(func(id string) []byte { return []byte(`{"id":"` + id + `"}`) }) {
		if a.err != nil {
			t.Fatalf("%s: %v", a.id, a.err)
		}
		if a.inserted {
			inserted[a.id]++
		}
	}
	for i := range events {
		if id := fmt.Sprintf("burst-%d", i); inserted[id] != 1 {
			t.Fatalf("%s inserted %d times, want once", id, inserted[id])
		}
	}
	for _, a := range burst(func(id string) []byte { return []byte(`{"id":"` + id + `","forged":true}`) }) {
		if a.inserted || !errors.Is(a.err, ErrIdempotencyConflict) {
			t.Fatalf("forged %s = %v, %v; want ErrIdempotencyConflict", a.id, a.inserted, a.err)
		}
	}
	got, err := s.InboxGet(ctx, "burst-7")
	if err != nil || string(got.Body) != `{"id":"burst-7"}` || got.State != InboxPending {
		t.Fatalf("stored burst-7 = %+v, %v", got, err)
	}
}

// A closed store refuses inserts instead of leaving the caller waiting for
// a flusher that is gone.
func TestInboxInsertAfterClose(t *testing.T) {
	forEachDSN(t, func(t *testing.T, d dialect, dsn string) {
		s, err := Open(testContext(t), dsn, WithLogger(testLogger(t)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.InboxInsert(testContext(t), inboxEvent("before-close", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InboxInsert(testContext(t), inboxEvent("after-close", t0)); !errors.Is(err, errStoreClosed) {
			t.Fatalf("insert after Close = %v, want errStoreClosed", err)
		}
		_ = s.Close() // a second Close must not panic
	})
}

// A row the database refuses (here PostgreSQL's text refusing NUL, which
// InboxInsert keeps out before batching) fails alone; the rows it shared the
// statement with are stored.
func testInboxBatchWithRefusedRow(t *testing.T, s *Store) {
	ctx := testContext(t)
	var batch []*inboxInsertReq
	for _, id := range []string{"shared-1", "shared-\x00-bad", "shared-2"} {
		row := inboxEvent(id, t0)
		sum := sha256.Sum256(row.Body)
		batch = append(batch, &inboxInsertReq{ctx: ctx, row: inboxRow{
			EventID: id, Type: row.Type, RoomName: row.RoomName, CaseID: row.CaseID, Body: row.Body,
			BodyHash: hex.EncodeToString(sum[:]), State: string(InboxPending), ReceivedAt: t0, UpdatedAt: t0,
		}})
	}
	res := s.inboxInsertMany(ctx, batch)
	for i, id := range []string{"shared-1", "shared-2"} {
		r := res[i*2]
		if r.err != nil || !r.inserted {
			t.Fatalf("%s = %v, %v; want inserted", id, r.inserted, r.err)
		}
	}
	if s.Dialect() == DialectPostgres && res[1].err == nil {
		t.Fatal("PostgreSQL stored an event id with NUL")
	}
}
