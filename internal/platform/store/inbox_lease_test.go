package store

import (
	"fmt"
	"testing"
	"time"
)

// TestInboxLeases: a case's pending rows go to one owner at a time; its own
// claim renews its lease; a released or expired lease passes the case on.
func TestInboxLeases(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		for i, c := range []string{"lease-a", "lease-b", "lease-a", "lease-b"} {
			row := inboxEvent(fmt.Sprintf("%s-%d", c, i), t0.Add(time.Duration(i)*time.Second))
			row.CaseID, row.RoomName = c, "kyc-"+c+"-a1"
			if _, err := s.InboxInsert(ctx, row); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(rows []InboxRow) []string {
			var out []string
			for _, r := range rows {
				out = append(out, r.EventID)
			}
			return out
		}
		// One: both cases, oldest first.
		rows, err := s.InboxClaim(ctx, "one", time.Minute, 100)
		if err != nil || fmt.Sprint(ids(rows)) != "[lease-a-0 lease-b-1 lease-a-2 lease-b-3]" {
			t.Fatalf("first claim = %v, %v", ids(rows), err)
		}
		// Two gets nothing while one holds them; one's renewal gets them again.
		if rows, err := s.InboxClaim(ctx, "two", time.Minute, 100); err != nil || len(rows) != 0 {
			t.Fatalf("claim of held cases = %v, %v", ids(rows), err)
		}
		if rows, err := s.InboxClaim(ctx, "one", time.Minute, 100); err != nil || len(rows) != 4 {
			t.Fatalf("renewal = %v, %v", ids(rows), err)
		}
		// Released: case a passes to two, b stays with one.
		if err := s.InboxRelease(ctx, "one", []string{"lease-a"}); err != nil {
			t.Fatal(err)
		}
		if rows, err := s.InboxClaim(ctx, "two", time.Minute, 100); err != nil || fmt.Sprint(ids(rows)) != "[lease-a-0 lease-a-2]" {
			t.Fatalf("claim after release = %v, %v", ids(rows), err)
		}
		// Settled rows are not claimed again.
		if err := s.InboxMarkMany(ctx, InboxDone, "", []string{"lease-a-0", "lease-a-2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.InboxRelease(ctx, "two", []string{"lease-a"}); err != nil {
			t.Fatal(err)
		}
		// An expired lease passes the case on.
		if rows, err := s.InboxClaim(ctx, "three", time.Minute, 100); err != nil || len(rows) != 0 {
			t.Fatalf("claim of a case held by one = %v, %v", ids(rows), err)
		}
		if _, err := s.InboxClaim(ctx, "one", 300*time.Millisecond, 100); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if rows, err := s.InboxClaim(ctx, "three", time.Minute, 100); err != nil || fmt.Sprint(ids(rows)) != "[lease-b-1 lease-b-3]" {
			t.Fatalf("claim after expiry = %v, %v", ids(rows), err)
		}
		if _, err := s.InboxClaim(ctx, "", time.Minute, 1); err == nil {
			t.Fatal("a claim without an owner succeeded")
		}
	})
}
