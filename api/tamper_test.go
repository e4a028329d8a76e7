package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
	"github.com/vkyc-engine/vkyc/internal/case/kyc"
)

// TestEventLogTamperEvidence: someone who can write the database rewrites
// the log and recomputes every hash (or truncates it, or edits the status
// clients read). The chain alone cannot tell; the workflow's witness and the
// projection check must.
func TestEventLogTamperEvidence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	db := e.rawDB()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// rechain recomputes every hash from seq 1 and the case's head, as a
	// forger who knows the documented encoding would.
	rechain := func(caseID string) {
		t.Helper()
		evs, err := e.st.Events(ctx, caseID)
		if err != nil {
			t.Fatal(err)
		}
		prev := chain.Genesis
		for _, ev := range evs {
			h := chain.Next(prev, ev.Chain())
			exec(`UPDATE case_events SET prev_hash = $1, hash = $2 WHERE case_id = $3 AND seq = $4`, prev, h, caseID, ev.Seq)
			prev = h
		}
		exec(`UPDATE cases SET events_head_seq = $1, events_head_hash = $2 WHERE id = $3`, len(evs), prev, caseID)
	}
	tests := []struct {
		name                 string
		tamper               func(caseID string)
		chain, witness, proj bool   // what must still verify
		problem              string // in the witness's or projection's problem
	}{
		{"intact", func(string) {}, true, true, true, ""},
		{"rewritten with recomputed hashes", func(id string) {
			exec(`UPDATE case_events SET data = '{"customer_ref":"someone-else"}' WHERE case_id = $1 AND seq = 1`, id)
			rechain(id)
		}, true, false, true, "rewritten"},
		{"truncated with the head moved back", func(id string) {
			exec(`DELETE FROM case_events WHERE case_id = $1 AND seq = (SELECT max(seq) FROM case_events WHERE case_id = $1)`, id)
			exec(`UPDATE cases SET version = version - 1 WHERE id = $1`, id)
			rechain(id)
		}, true, false, true, "truncated"},
		{"reordered", func(id string) {
			exec(`UPDATE case_events SET seq = seq + 1000 WHERE case_id = $1 AND seq IN (1, 2)`, id)
			exec(`UPDATE case_events SET seq = 2 WHERE case_id = $1 AND seq = 1001`, id)
			exec(`UPDATE case_events SET seq = 1 WHERE case_id = $1 AND seq = 1002`, id)
			rechain(id)
		}, true, false, true, "rewritten"},
		{"status clients read edited", func(id string) {
			exec(`UPDATE cases SET status = 'approved' WHERE id = $1`, id)
		}, true, true, false, "the case record says approved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := e.createCase()
			e.waitFor(v.ID, "room", func(v kyc.CaseView) bool { return len(v.Attempts) == 1 && v.Attempts[0].RoomID != "" })
			e.eventsOfType(v.ID, "room_created", 1)
			tc.tamper(v.ID)
			var log struct {
				ChainValid bool `json:"chain_valid"`
				Witness    struct {
					Available bool   `json:"available"`
					Matches   bool   `json:"matches"`
					Problem   string `json:"problem"`
				} `json:"witness"`
				Projection struct {
					Matches bool   `json:"matches"`
					Problem string `json:"problem"`
				} `json:"projection"`
				Verified bool `json:"verified"`
			}
			r := e.call(req{method: "GET", path: casePath(v.ID, "/events"), token: e.service()})
			wantStatus(t, r, http.StatusOK)
			r.decode(t, &log)
			if log.ChainValid != tc.chain || log.Witness.Matches != tc.witness || log.Projection.Matches != tc.proj ||
				!log.Witness.Available || log.Verified != (tc.chain && tc.witness && tc.proj) {
				t.Fatalf("report %s", r.body)
			}
			if !strings.Contains(log.Witness.Problem+log.Projection.Problem, tc.problem) {
				t.Fatalf("problems %q / %q lack %q", log.Witness.Problem, log.Projection.Problem, tc.problem)
			}
		})
	}
}
