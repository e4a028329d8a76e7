package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// batch returns events from..to of caseID with deterministic content.
func batch(caseID string, from, to int64) []NewEvent {
	var out []NewEvent
	for seq := from; seq <= to; seq++ {
		out = append(out, NewEvent{Event: chain.Event{
			CaseID:    caseID,
			Seq:       seq,
			Type:      fmt.Sprintf("type-%d", seq),
			ActorID:   "agent-7",
			ActorRole: string(kyc.RoleAgent),
			At:        t0.Add(time.Duration(seq)*time.Second + 123456789), // nanoseconds are dropped on store
			Data:      json.RawMessage(fmt.Sprintf(`{"seq": %d, "note": "n\u00e9 <%d>", "nested": {"b": 1.50, "a": [true, null]}}`, seq, seq)),
		}})
	}
	return out
}

func mustAppend(t *testing.T, s *Store, events []NewEvent) {
	t.Helper()
	if err := s.AppendEvents(testContext(t), events); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
}

func mustVerify(t *testing.T, s *Store, caseID string) ChainReport {
	t.Helper()
	r, err := s.VerifyChain(testContext(t), caseID)
	if err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	return r
}

func mustEvents(t *testing.T, s *Store, caseID string) []Event {
	t.Helper()
	ev, err := s.Events(testContext(t), caseID)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return ev
}

func testAppendEvents(t *testing.T, s *Store) {
	mustCreate(t, s, newCase("e-1"))
	mustAppend(t, s, batch("e-1", 1, 3))
	if r := mustVerify(t, s, "e-1"); !r.Valid || r.Count != 3 {
		t.Fatalf("after 1..3: %+v", r)
	}
	stored := mustEvents(t, s, "e-1")
	prev := chain.Genesis
	for i, e := range stored {
		in := batch("e-1", 1, 3)[i]
		if e.Seq != int64(i+1) || e.PrevHash != prev || e.Hash != chain.Next(prev, e.Chain()) {
			t.Fatalf("event %d does not chain: %+v", i+1, e)
		}
		if !e.At.Equal(in.At.Truncate(time.Microsecond)) || e.At.Location() != time.UTC {
			t.Fatalf("event %d at = %v, want %v in UTC", e.Seq, e.At, in.At.Truncate(time.Microsecond))
		}
		if want, _ := chain.CanonicalData(in.Data); string(e.Data) != string(want) {
			t.Fatalf("event %d data = %s, want canonical %s", e.Seq, e.Data, want)
		}
		prev = e.Hash
	}

	steps := []struct {
		name    string
		events  []NewEvent
		wantErr error
		wantLen int
	}{
		{"retry of the same batch", batch("e-1", 1, 3), nil, 3},
		{"retry of a suffix", batch("e-1", 2, 3), nil, 3},
		{"overlapping batch appends the rest", batch("e-1", 3, 5), nil, 5},
		{"same content written differently", reformatted(batch("e-1", 4, 5)), nil, 5},
		{"different data at an existing seq", withData(batch("e-1", 2, 2), `{"seq":2,"forged":true}`), ErrConflict, 5},
		{"different actor at an existing seq", withActor(batch("e-1", 5, 6), "mallory"), ErrConflict, 5},
		{"gap", batch("e-1", 7, 8), ErrSequenceGap, 5},
		{"holes inside the batch", []NewEvent{batch("e-1", 6, 6)[0], batch("e-1", 8, 8)[0]}, ErrSequenceGap, 5},
		{"seq 0", batch("e-1", 0, 1), ErrInvalid, 5},
		{"invalid JSON data", withData(batch("e-1", 6, 6), `{"a":`), ErrInvalid, 5},
		{"trailing data", withData(batch("e-1", 6, 6), `{} {}`), ErrInvalid, 5},
		{"mixed cases", append(batch("e-1", 6, 6), batch("e-2", 7, 7)...), ErrInvalid, 5},
		{"unknown case", batch("nope", 1, 1), ErrNotFound, 5},
		{"next batch", batch("e-1", 6, 7), nil, 7},
		{"empty batch", nil, nil, 7},
	}
	for _, st := range steps {
		err := s.AppendEvents(testContext(t), st.events)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if r := mustVerify(t, s, "e-1"); !r.Valid || r.Count != st.wantLen {
			t.Fatalf("%s: chain %+v, want valid with %d events", st.name, r, st.wantLen)
		}
	}
	// Retries and refused batches left the first events untouched.
	for i, e := range mustEvents(t, s, "e-1")[:3] {
		if e.Hash != stored[i].Hash {
			t.Fatalf("event %d was rewritten", e.Seq)
		}
	}
}

func reformatted(events []NewEvent) []NewEvent {
	for i := range events {
		var b bytes.Buffer
		_ = json.Indent(&b, events[i].Data, "", "   ")
		events[i].Data = b.Bytes()
		events[i].At = events[i].At.In(time.FixedZone("IST", 5*3600+1800))
	}
	return events
}

func withData(events []NewEvent, data string) []NewEvent {
	events[0].Data = json.RawMessage(data)
	return events
}

func withActor(events []NewEvent, actor string) []NewEvent {
	events[0].ActorID = actor
	return events
}

func testAppendEventsConcurrent(t *testing.T, s *Store) {
	mustCreate(t, s, newCase("ce-1"))
	// Workers retry overlapping prefixes of the same log, as activity
	// retries of the workflow's persistence do.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			<-start
			to := int64(4 + w%3*3) // 4, 7 or 10
			if err := s.AppendEvents(testContext(t), batch("ce-1", 1, to)); err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	close(start)
	wg.Wait()
	r := mustVerify(t, s, "ce-1")
	if !r.Valid || r.Count != 10 {
		t.Fatalf("after concurrent appends: %+v", r)
	}
	if n := count(t, s, "case_events", "case_id = ?", "ce-1"); n != 10 {
		t.Fatalf("%d rows, want 10", n)
	}
}

// testVerifyWhileAppending checks that VerifyChain reads one snapshot: an
// append committing in the middle of a verification must not look like a
// truncated or forged log.
func testVerifyWhileAppending(t *testing.T, s *Store) {
	mustCreate(t, s, newCase("va-1"))
	const n = 40
	stop := make(chan struct{})
	appendErr := make(chan error, 1)
	go func() {
		defer close(appendErr)
		for seq := int64(1); seq <= n; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.AppendEvents(testContext(t), batch("va-1", seq, seq)); err != nil {
				appendErr <- fmt.Errorf("append %d: %w", seq, err)
				return
			}
		}
	}()
	for finished := false; !finished; {
		select {
		case err := <-appendErr:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		r, err := s.VerifyChain(testContext(t), "va-1")
		if err != nil || !r.Valid {
			close(stop)
			for range appendErr { // wait for the appender to stop
			}
			t.Fatalf("verification during appends: %+v, %v", r, err)
		}
	}
	if r := mustVerify(t, s, "va-1"); !r.Valid || r.Count != n {
		t.Fatalf("final chain: %+v", r)
	}
}

func testVerifyChainDetectsTampering(t *testing.T, s *Store) {
	type tamper func(t *testing.T, s *Store, caseID string)
	update := func(set string, seq int64, args ...any) tamper {
		return func(t *testing.T, s *Store, caseID string) {
			if n := mustExec(t, s, "UPDATE case_events SET "+set+" WHERE case_id = ? AND seq = ?", append(args, caseID, seq)...); n != 1 {
				t.Fatalf("tamper updated %d rows", n)
			}
		}
	}
	tests := []struct {
		name     string
		tamper   tamper
		brokenAt int64
	}{
		{"data altered", update("data = ?", 3, `{"seq":3,"amount":1000000}`), 3},
		{"actor altered", update("actor_id = ?", 2, "mallory"), 2},
		{"time altered", update("at = ?", 4, t0.Add(time.Hour)), 4},
		{"type altered", update("type = ?", 1, "approved"), 1},
		{"hash rewritten", update("hash = ?", 2, chain.Link(chain.Genesis, []byte("forged"))), 2},
		{"middle row deleted", func(t *testing.T, s *Store, caseID string) {
			mustExec(t, s, "DELETE FROM case_events WHERE case_id = ? AND seq = 3", caseID)
		}, 3},
		{"last row deleted", func(t *testing.T, s *Store, caseID string) {
			mustExec(t, s, "DELETE FROM case_events WHERE case_id = ? AND seq = 5", caseID)
		}, 5},
		{"rows reordered", func(t *testing.T, s *Store, caseID string) {
			mustExec(t, s, "UPDATE case_events SET seq = 99 WHERE case_id = ? AND seq = 2", caseID)
			mustExec(t, s, "UPDATE case_events SET seq = 2 WHERE case_id = ? AND seq = 3", caseID)
			mustExec(t, s, "UPDATE case_events SET seq = 3 WHERE case_id = ? AND seq = 99", caseID)
		}, 2},
		{"row altered with its hash recomputed", func(t *testing.T, s *Store, caseID string) {
			e := mustEvents(t, s, caseID)[2]
			e.Data = json.RawMessage(`{"forged":true}`)
			mustExec(t, s, "UPDATE case_events SET data = ?, hash = ? WHERE case_id = ? AND seq = 3",
				string(e.Data), chain.Next(e.PrevHash, e.Chain()), caseID)
		}, 4},
		{"data made invalid JSON", update("data = ?", 5, `{"seq":`), 5},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("tamper-%d", i)
			mustCreate(t, s, newCase(id))
			mustAppend(t, s, batch(id, 1, 5))
			if r := mustVerify(t, s, id); !r.Valid {
				t.Fatalf("before tampering: %+v", r)
			}
			tt.tamper(t, s, id)
			r := mustVerify(t, s, id)
			if r.Valid || r.BrokenAt != tt.brokenAt || r.Reason == "" {
				t.Fatalf("after tampering: %+v, want broken at %d", r, tt.brokenAt)
			}
		})
	}
	if _, err := s.VerifyChain(testContext(t), "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("VerifyChain(missing) = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, newCase("empty-log"))
	if r := mustVerify(t, s, "empty-log"); !r.Valid || r.Count != 0 {
		t.Fatalf("empty log: %+v", r)
	}
}

func TestEventLog(t *testing.T) {
	forEachDialectInTurn(t,
		storeTest{"append", testAppendEvents},
		storeTest{"concurrent appenders", testAppendEventsConcurrent},
		storeTest{"verify while appending", testVerifyWhileAppending},
		storeTest{"tampering", testVerifyChainDetectsTampering},
	)
}
