package store

import (
	"errors"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestPurgeWebhookBodies: settled events older than the cutoff lose their
// raw body and keep their row, outcome and hash (a redelivery is still
// recognised); pending and recent events keep everything.
func TestPurgeWebhookBodies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		old, recent := t0, t0.Add(40*24*time.Hour)
		rows := map[string]InboxRow{
			"old-done":    inboxEvent("old-done", old),
			"old-pending": inboxEvent("old-pending", old),
			"new-done":    inboxEvent("new-done", recent),
		}
		for id, r := range rows {
			if id != "old-pending" {
				r.State = InboxDone
			}
			if _, err := s.InboxInsert(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PurgeWebhookBodies(ctx, t0.Add(30*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want 1", n, err)
		}
		for id, wantBody := range map[string]bool{"old-done": false, "old-pending": true, "new-done": true} {
			got, err := s.InboxGet(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got.Body) > 0) != wantBody || got.BodyHash == "" {
				t.Fatalf("%s after the purge: body %q hash %q", id, got.Body, got.BodyHash)
			}
		}
		if ins, err := s.InboxInsert(ctx, rows["old-done"]); err != nil || ins {
			t.Fatalf("redelivery of a purged event = %v, %v; want a duplicate", ins, err)
		}
		if n, err := s.PurgeWebhookBodies(ctx, t0.Add(30*24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("second purge %d, %v", n, err)
		}
	})
}

// TestDataPostgreSQLRefusesIsInvalid: text PostgreSQL cannot store fails as
// ErrInvalid, which the save activity does not retry, instead of as an
// outage that would be retried forever.
func TestDataPostgreSQLRefusesIsInvalid(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		if s.Dialect() != DialectPostgres {
			return // SQLite stores NUL; the point is PostgreSQL's refusal
		}
		ctx := testContext(t)
		v := kyc.CaseView{ID: "nul-case", Status: kyc.StatusCancelled, StatusReason: "dup\x00x",
			Customer: kyc.Customer{Reference: "REF-NUL"}, Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.SaveProjection(ctx, v); !errors.Is(err, ErrInvalid) {
			t.Fatalf("projection with NUL: %v, want ErrInvalid", err)
		}
	})
}
