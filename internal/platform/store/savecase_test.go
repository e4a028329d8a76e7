package store

import (
	"errors"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestSaveCase: the log and the projection are written together or not at
// all, and a case row the API never wrote is created from the view.
func TestSaveCase(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)

		mustCreate(t, s, newCase("sc-1"))
		if err := s.SaveCase(ctx, batch("sc-1", 1, 3), projection("sc-1", 3, kyc.StatusInCall)); err != nil {
			t.Fatalf("SaveCase: %v", err)
		}
		rec, err := s.GetCase(ctx, "sc-1")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Version != 3 || rec.Status != kyc.StatusInCall || len(mustEvents(t, s, "sc-1")) != 3 {
			t.Fatalf("after the save: version %d, status %s, %d events", rec.Version, rec.Status, len(mustEvents(t, s, "sc-1")))
		}

		// Events that differ from the stored ones: nothing of the save stays,
		// the newer projection included.
		err = s.SaveCase(ctx, append(withData(batch("sc-1", 3, 3), `{"other": true}`), batch("sc-1", 4, 4)...),
			projection("sc-1", 4, kyc.StatusAwaitingDecision))
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("conflicting save: %v, want ErrConflict", err)
		}
		rec, err = s.GetCase(ctx, "sc-1")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Version != 3 || rec.Status != kyc.StatusInCall || len(mustEvents(t, s, "sc-1")) != 3 {
			t.Fatalf("after the refused save: version %d, status %s, %d events", rec.Version, rec.Status, len(mustEvents(t, s, "sc-1")))
		}

		// A projection the store refuses (a capture id another case holds)
		// takes the save's events with it.
		other := projection("sc-1", 5, kyc.StatusAwaitingDecision)
		other.ID = "sc-3"
		mustCreate(t, s, newCase("sc-3"))
		if err := s.SaveCase(ctx, batch("sc-3", 1, 2), other); !errors.Is(err, ErrConflict) {
			t.Fatalf("a projection with another case's capture id: %v, want ErrConflict", err)
		}
		if n := len(mustEvents(t, s, "sc-3")); n != 0 {
			t.Fatalf("the refused projection left %d events in the log", n)
		}

		// No case row: the projection makes one, and the log hangs on it.
		if err := s.SaveCase(ctx, batch("sc-2", 1, 2), projection("sc-2", 2, kyc.StatusWaitingForParticipants)); err != nil {
			t.Fatalf("SaveCase without a case row: %v", err)
		}
		if r := mustVerify(t, s, "sc-2"); !r.Valid || r.Count != 2 {
			t.Fatalf("log of the case without a row: %+v", r)
		}
	})
}
