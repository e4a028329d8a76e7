package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// A projection saved again and again as captures accumulate keeps exactly
// the view's captures and attempts, leaves the rows already stored as they
// were, and still refuses a capture id another case holds.
func TestProjectionRowsFollowTheView(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		mustCreate(t, s, newCase("g-1"))
		mustCreate(t, s, newCase("g-2"))
		capture := func(id string, i int) kyc.Capture {
			return kyc.Capture{
				ID: fmt.Sprintf("%s-cap-%d", id, i), Kind: kyc.CaptureOther, ObjectKey: fmt.Sprintf("cases/%s/attempt-1/other-%d.jpg", id, i),
				Size: int64(100 + i), SHA256: strings.Repeat("cd", 32), ContentType: "image/jpeg", Attempt: 1,
				CreatedBy: "agent-7", CreatedAt: t0.Add(2 * time.Minute),
			}
		}
		v := projection("g-1", 1, kyc.StatusInCall)
		for i := 2; i <= 6; i++ {
			v.Version = int64(i)
			v.Captures = append(v.Captures, capture("g-1", i))
			if err := s.SaveProjection(ctx, v); err != nil {
				t.Fatalf("save v%d: %v", i, err)
			}
			var rows []captureRow
			s.db.Where("case_id = ?", "g-1").Order("id").Find(&rows)
			if len(rows) != len(v.Captures) {
				t.Fatalf("v%d: %d capture rows, want %d", i, len(rows), len(v.Captures))
			}
			for _, r := range rows {
				if r.Size == 0 || r.ObjectKey == "" || r.CaseID != "g-1" {
					t.Fatalf("v%d: capture row %+v", i, r)
				}
			}
		}

		// Two attempts, then a view with one (never produced by the
		// workflow, but the rows must follow whatever view is newest).
		v.Version, v.Attempt = 7, 2
		v.Attempts = append(v.Attempts, kyc.Attempt{Number: 2, RoomName: kyc.RoomName("g-1", 2), Status: kyc.AttemptActive, StartedAt: t0.Add(5 * time.Minute)})
		if err := s.SaveProjection(ctx, v); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "attempts", "case_id = ?", "g-1"); n != 2 {
			t.Fatalf("%d attempt rows, want 2", n)
		}
		v.Version, v.Attempt, v.Attempts = 8, 1, v.Attempts[:1]
		v.Captures = v.Captures[:2]
		if err := s.SaveProjection(ctx, v); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "attempts", "case_id = ?", "g-1"); n != 1 {
			t.Fatalf("%d attempt rows, want 1", n)
		}
		if n := count(t, s, "captures", "case_id = ?", "g-1"); n != 2 {
			t.Fatalf("%d capture rows, want 2", n)
		}

		other := projection("g-2", 3, kyc.StatusInCall)
		other.Captures = append(other.Captures, v.Captures[1]) // g-1's capture id
		if err := s.SaveProjection(ctx, other); !errors.Is(err, ErrConflict) {
			t.Fatalf("a capture id of another case: %v, want ErrConflict", err)
		}
		if n := count(t, s, "captures", "case_id = ?", "g-2"); n != 0 {
			t.Fatalf("the refused projection left %d capture rows", n)
		}
	})
}
