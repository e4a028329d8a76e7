package store

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"gorm.io/gorm"
)

// listFixture creates n cases. Every third case shares its creation time with
// the previous one, so that paging must break ties by id.
func listFixture(t *testing.T, s *Store, n int) []caseRow {
	t.Helper()
	statuses := []kyc.Status{kyc.StatusWaitingForParticipants, kyc.StatusInCall, kyc.StatusApproved}
	rows := make([]caseRow, 0, n)
	at := t0
	for i := range n {
		if i%3 != 0 {
			at = at.Add(time.Second)
		}
		rows = append(rows, caseRow{
			ID:                fmt.Sprintf("case-%04d", (i*7919)%n), // ids not in creation order
			CustomerReference: fmt.Sprintf("cust-%d", i%5),
			Status:            string(statuses[i%len(statuses)]),
			AgentID:           fmt.Sprintf("agent-%d", i%4),
			RequiredCaptures:  "[]",
			CreatedAt:         at,
			UpdatedAt:         at,
		})
	}
	// Bulk insert: the list code reads rows, it does not care how they came.
	if err := s.db.WithContext(testContext(t)).CreateInBatches(rows, 500).Error; err != nil {
		t.Fatalf("insert fixture: %v", err)
	}
	return rows
}

// expectedOrder filters rows and sorts them newest first.
func expectedOrder(rows []caseRow, keep func(caseRow) bool) []string {
	var kept []caseRow
	for _, r := range rows {
		if keep(r) {
			kept = append(kept, r)
		}
	}
	slices.SortFunc(kept, func(a, b caseRow) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	ids := make([]string, len(kept))
	for i, r := range kept {
		ids[i] = r.ID
	}
	return ids
}

func pageThrough(t *testing.T, s *Store, f CaseFilter) (ids []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for {
		got, next, err := s.ListCases(testContext(t), f)
		if err != nil {
			t.Fatalf("ListCases(%+v): %v", f, err)
		}
		pages++
		for _, c := range got {
			if seen[c.ID] {
				t.Fatalf("case %s listed twice", c.ID)
			}
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids, pages
		}
		if len(got) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		f.Cursor = next
	}
}

func TestListCases(t *testing.T) {
	forEachDialectInTurn(t,
		storeTest{"bad cursor", testListCasesBadCursor},
		storeTest{"paging and filters", testListCases},
	)
}

func testListCases(t *testing.T, s *Store) {
	rows := listFixture(t, s, 250)
	tests := []struct {
		name   string
		filter CaseFilter
		keep   func(caseRow) bool
	}{
		{"all", CaseFilter{Limit: 7}, func(caseRow) bool { return true }},
		{"status", CaseFilter{Status: kyc.StatusInCall, Limit: 9}, func(r caseRow) bool { return r.Status == string(kyc.StatusInCall) }},
		{"customer reference", CaseFilter{CustomerReference: "cust-3", Limit: 8}, func(r caseRow) bool { return r.CustomerReference == "cust-3" }},
		{"agent", CaseFilter{AgentID: "agent-2", Limit: 10}, func(r caseRow) bool { return r.AgentID == "agent-2" }},
		{"status and agent", CaseFilter{Status: kyc.StatusApproved, AgentID: "agent-1", Limit: 3}, func(r caseRow) bool {
			return r.Status == string(kyc.StatusApproved) && r.AgentID == "agent-1"
		}},
		{"no match", CaseFilter{AgentID: "nobody"}, func(caseRow) bool { return false }},
		{"default limit", CaseFilter{}, func(caseRow) bool { return true }},
		{"limit above max", CaseFilter{Limit: 1000}, func(caseRow) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := expectedOrder(rows, tt.keep)
			got, pages := pageThrough(t, s, tt.filter)
			if !slices.Equal(got, want) {
				t.Fatalf("paged ids (%d) differ from expected (%d):\n got %v\nwant %v", len(got), len(want), head(got), head(want))
			}
			limit := cmp.Or(min(tt.filter.Limit, MaxListLimit), DefaultListLimit)
			if wantPages := max(1, (len(want)+limit-1)/limit); pages != wantPages {
				t.Fatalf("%d pages, want %d (limit %d)", pages, wantPages, limit)
			}
		})
	}
}

func head(ids []string) []string { return ids[:min(len(ids), 12)] }

func testListCasesBadCursor(t *testing.T, s *Store) {
	b64 := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{"!!!", b64([]byte("no separator")), b64([]byte("yesterday|case-1")), b64([]byte(t0.Format(time.RFC3339Nano) + "|"))} {
		if _, _, err := s.ListCases(testContext(t), CaseFilter{Cursor: c}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
	if _, _, err := s.ListCases(testContext(t), CaseFilter{Status: "pending"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown status: %v, want ErrInvalid", err)
	}
}

// TestListCasesUsesIndexes checks with 10,000 cases that every filter, with
// and without a cursor, is answered through an index rather than a scan of
// the table, so that a page costs about the same however many cases exist.
func TestListCasesUsesIndexes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		const n = 10000
		gen := map[string]string{
			DialectPostgres: `INSERT INTO cases (id, customer_reference, status, agent_id, created_at, updated_at)
				SELECT 'case-' || g, 'cust-' || (g % 1000),
					CASE WHEN g % 500 = 0 THEN 'awaiting_audit' WHEN g % 2 = 1 THEN 'approved' ELSE 'rejected' END,
					'agent-' || (g % 500), TIMESTAMPTZ '2025-01-01' + g * INTERVAL '1 minute', now()
				FROM generate_series(1, ?) AS g`,
			DialectSQLite: `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ?)
				INSERT INTO cases (id, customer_reference, status, agent_id, created_at, updated_at)
				SELECT 'case-' || i, 'cust-' || (i % 1000),
					CASE WHEN i % 500 = 0 THEN 'awaiting_audit' WHEN i % 2 = 1 THEN 'approved' ELSE 'rejected' END,
					'agent-' || (i % 500), strftime('%Y-%m-%d %H:%M:%S+00:00', '2025-01-01', '+' || i || ' minutes'), '2025-01-01 00:00:00+00:00'
				FROM g`,
		}
		mustExec(t, s, gen[s.Dialect()], n)
		mustExec(t, s, "ANALYZE")

		_, cursor, err := s.ListCases(testContext(t), CaseFilter{Limit: 50})
		if err != nil || cursor == "" {
			t.Fatalf("first page: %q, %v", cursor, err)
		}
		// Rare values, for which only the filter's own index avoids reading
		// most of the table.
		filters := map[string]struct {
			f     CaseFilter
			index string
		}{
			"all":                {CaseFilter{}, "cases_created_idx"},
			"status":             {CaseFilter{Status: kyc.StatusAwaitingAudit}, "cases_status_created_idx"},
			"status after":       {CaseFilter{Status: kyc.StatusAwaitingAudit, Cursor: cursor}, "cases_status_created_idx"},
			"customer reference": {CaseFilter{CustomerReference: "cust-7"}, "cases_customer_reference_idx"},
			"agent":              {CaseFilter{AgentID: "agent-3"}, "cases_agent_idx"},
			"agent after":        {CaseFilter{AgentID: "agent-3", Cursor: cursor}, "cases_agent_idx"},
		}
		for name, tt := range filters {
			sql := s.read.ToSQL(func(tx *gorm.DB) *gorm.DB {
				q, err := listQuery(tx, tt.f, DefaultListLimit)
				if err != nil {
					t.Fatal(err)
				}
				return q.Find(&[]caseRow{})
			})
			var plan []string
			explain := map[string]string{DialectPostgres: "EXPLAIN ", DialectSQLite: "EXPLAIN QUERY PLAN "}[s.Dialect()]
			rows, err := s.read.Raw(explain + sql).Rows()
			if err != nil {
				t.Fatalf("%s: explain: %v", name, err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
			}
			rows.Close()
			text := strings.Join(plan, "\n")
			// A sort is fine once an index has narrowed the rows (PostgreSQL
			// sorts the ten cases of one customer); a full scan is not.
			if !strings.Contains(text, tt.index) {
				t.Errorf("%s: the plan does not use %s:\n%s", name, tt.index, text)
			}
			if strings.Contains(text, "Seq Scan") || slices.Contains(plan, "SCAN cases") {
				t.Errorf("%s: the plan scans the whole table:\n%s", name, text)
			}
		}

		got, pages := pageThrough(t, s, CaseFilter{Status: kyc.StatusApproved, Limit: MaxListLimit})
		if len(got) != n/2 || pages != n/2/MaxListLimit {
			t.Fatalf("paged %d approved cases in %d pages, want %d", len(got), pages, n/2)
		}
	})
}

// TestViewerRuleAgrees: the SQL form of the viewing rule (ListCases with a
// Viewer) keeps exactly the cases its Go form (Viewer.Sees) keeps, with
// whole pages.
func TestViewerRuleAgrees(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := testContext(t)
		audit := func(by string) *kyc.Verdict { return &kyc.Verdict{By: by, Outcome: kyc.OutcomeApprove, At: t0} }
		views := []kyc.CaseView{
			{Status: kyc.StatusWaitingForParticipants},
			{Status: kyc.StatusWaitingForParticipants, AgentID: "agent-1"},
			{Status: kyc.StatusInCall, AgentID: "agent-2"},
			{Status: kyc.StatusAwaitingAudit, AgentID: "agent-1"},
			{Status: kyc.StatusApproved, AgentID: "agent-2", Audit: audit("aud-1")},
			{Status: kyc.StatusRejected, AgentID: "agent-1", Audit: audit("aud-2")},
			{Status: kyc.StatusCancelled},
		}
		for i := range views {
			v := &views[i]
			v.ID = fmt.Sprintf("viewer-%d", i)
			v.Version = 1
			v.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
			v.Customer.Reference = "REF"
			if _, _, err := s.CreateCase(ctx, NewCase{ID: v.ID, Customer: kyc.Customer{Reference: "REF"}, CreatedAt: v.CreatedAt}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveProjection(ctx, *v); err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range []Viewer{{kyc.RoleAdmin, "x"}, {kyc.RoleService, "bank"}, {kyc.RoleAgent, "agent-1"}, {kyc.RoleAgent, "agent-2"},
			{kyc.RoleAgent, "agent-9"}, {kyc.RoleAuditor, "aud-1"}, {kyc.RoleAuditor, "aud-2"}, {kyc.RoleCustomer, "c"}} {
			var want []string
			for i := len(views) - 1; i >= 0; i-- {
				if w.Sees(&views[i]) {
					want = append(want, views[i].ID)
				}
			}
			got, _ := pageThrough(t, s, CaseFilter{Viewer: &w, Limit: 1})
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%+v: the list shows %v, Sees keeps %v", w, got, want)
			}
		}
	})
}
