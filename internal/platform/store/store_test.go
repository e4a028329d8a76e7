package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/vkyc-engine/vkyc/internal/case/kyc"
	"github.com/vkyc-engine/vkyc/internal/testkit/testenv"
)

// dialect gives a test a fresh, empty database of one kind.
type dialect struct {
	name string
	dsn  func(t *testing.T) string
}

var dialects = []dialect{
	{DialectPostgres, func(t *testing.T) string { return testenv.Postgres(t) }},
	{DialectSQLite, func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "vkyc.db") }},
}

// forEachDialect runs fn once per dialect, each with its own fresh store.
// Tests run in parallel: most of their time is PostgreSQL creating databases.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, openStore(t, d.dsn(t)))
		})
	}
}

// storeTest is a subtest that runs on a store the subtests before it wrote to.
type storeTest struct {
	name string
	run  func(t *testing.T, s *Store)
}

// forEachDialectInTurn runs tests one after the other on one store of each
// dialect.
func forEachDialectInTurn(t *testing.T, tests ...storeTest) {
	t.Helper()
	forEachDialect(t, func(t *testing.T, s *Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { tt.run(t, s) })
		}
	})
}

// forEachDSN is forEachDialect for tests that open stores themselves.
func forEachDSN(t *testing.T, fn func(t *testing.T, d dialect, dsn string)) {
	t.Helper()
	t.Parallel()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			fn(t, d, d.dsn(t))
		})
	}
}

func openStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(testContext(t), dsn, WithLogger(testLogger(t)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// t0 is a fixed creation time, so that list order is under the test's control.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func newCase(id string) NewCase {
	return NewCase{
		ID:               id,
		Customer:         kyc.Customer{Reference: "ref-" + id, Name: "Asha Rao", Email: "asha@example.com", Phone: "+919800000000"},
		RequiredCaptures: kyc.DefaultRequiredCaptures,
		CreatedBy:        "svc-onboarding",
		CreatedAt:        t0,
	}
}

func mustCreate(t *testing.T, s *Store, nc NewCase) *CaseRecord {
	t.Helper()
	rec, created, err := s.CreateCase(testContext(t), nc)
	if err != nil || !created {
		t.Fatalf("CreateCase(%s) = created %v, %v", nc.ID, created, err)
	}
	return rec
}

func mustExec(t *testing.T, s *Store, sql string, args ...any) int64 {
	t.Helper()
	res := s.db.WithContext(testContext(t)).Exec(sql, args...)
	if res.Error != nil {
		t.Fatalf("exec %q: %v", sql, res.Error)
	}
	return res.RowsAffected
}

func count(t *testing.T, s *Store, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s", table, where)
	if err := s.db.WithContext(testContext(t)).Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://u:secret@host/db", "", "sqlite://", "sqlite:///tmp/x.db?mode=ro"} {
		_, err := Open(testContext(t), dsn)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", dsn, err)
		}
		if err != nil && dsn != "" && containsString(err.Error(), "secret") {
			t.Errorf("Open(%q) error leaks the dsn: %v", dsn, err)
		}
	}
}

func containsString(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && indexOf(s, sub) >= 0
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestOpenInMemory(t *testing.T) {
	s := openStore(t, "sqlite::memory:")
	if s.Dialect() != DialectSQLite {
		t.Fatalf("Dialect = %q", s.Dialect())
	}
	if err := s.Ping(testContext(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mustCreate(t, s, newCase("mem-1"))
	// Every query must reach the same in-memory database.
	for range 3 {
		if _, err := s.GetCase(testContext(t), "mem-1"); err != nil {
			t.Fatalf("GetCase: %v", err)
		}
	}
}
