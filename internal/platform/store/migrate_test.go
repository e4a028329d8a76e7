package store

import (
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

var tables = []string{"schema_migrations", "cases", "attempts", "captures", "case_events", "webhook_inbox", "idempotency_keys"}

type appliedMigration struct {
	Version   int
	AppliedAt time.Time
}

func appliedMigrations(t *testing.T, s *Store) []appliedMigration {
	t.Helper()
	var rows []appliedMigration
	if err := s.db.WithContext(testContext(t)).Raw("SELECT version, applied_at FROM schema_migrations ORDER BY version").Scan(&rows).Error; err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return rows
}

func TestMigrateFreshThenRerun(t *testing.T) {
	forEachDSN(t, func(t *testing.T, d dialect, dsn string) {
		s := openStore(t, dsn)
		if s.Dialect() != d.name {
			t.Errorf("Dialect = %q, want %q", s.Dialect(), d.name)
		}
		if err := s.Ping(testContext(t)); err != nil {
			t.Errorf("Ping: %v", err)
		}
		if d.name == DialectSQLite {
			checkSQLitePragmas(t, s)
		}
		latest := migrations[len(migrations)-1].version
		if v, err := s.SchemaVersion(testContext(t)); err != nil || v != latest {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latest)
		}
		for _, table := range tables {
			count(t, s, table, "1 = 1") // fails the test if the table is missing
		}
		first := appliedMigrations(t, s)
		if len(first) != len(migrations) {
			t.Fatalf("schema_migrations has %d rows, want %d", len(first), len(migrations))
		}

		if err := s.Migrate(testContext(t)); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		again := openStore(t, dsn) // a restart
		for _, st := range []*Store{s, again} {
			got := appliedMigrations(t, st)
			if len(got) != len(first) {
				t.Fatalf("rerun changed schema_migrations: %v, was %v", got, first)
			}
			for i := range got {
				if got[i].Version != first[i].Version || !got[i].AppliedAt.Equal(first[i].AppliedAt) {
					t.Fatalf("rerun re-applied migration %d: %v, was %v", got[i].Version, got[i], first[i])
				}
			}
		}
	})
}

func TestMigrateConcurrentOpen(t *testing.T) {
	forEachDSN(t, func(t *testing.T, _ dialect, dsn string) {
		const n = 3
		stores := make([]*Store, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = Open(testContext(t), dsn, WithLogger(testLogger(t)))
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Open #%d: %v", i, errs[i])
			}
			t.Cleanup(func() { stores[i].Close() })
		}
		got := appliedMigrations(t, stores[0])
		if len(got) != len(migrations) {
			t.Fatalf("schema_migrations has %d rows after concurrent opens, want %d", len(got), len(migrations))
		}
		// Both stores work against the one schema.
		mustCreate(t, stores[0], newCase("c-concurrent-open"))
		if _, err := stores[n-1].GetCase(testContext(t), "c-concurrent-open"); err != nil {
			t.Fatalf("GetCase through the other store: %v", err)
		}
	})
}

func TestMigrationRollsBackOnFailure(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		broken := migration{
			version:  1000,
			name:     "half done",
			postgres: execSQL("CREATE TABLE half_done (id integer)", "SELECT no_such_column FROM cases"),
			sqlite:   execSQL("CREATE TABLE half_done (id integer)", "SELECT no_such_column FROM cases"),
		}
		if err := s.migrate(testContext(t), append(migrations[:len(migrations):len(migrations)], broken)); err == nil {
			t.Fatal("a failing migration reported success")
		}
		if v, _ := s.SchemaVersion(testContext(t)); v == broken.version {
			t.Fatal("the failed migration was recorded")
		}
		if err := s.db.Exec("SELECT COUNT(*) FROM half_done").Error; err == nil {
			t.Fatal("the failed migration's first statement was not rolled back")
		}

		fixed := broken
		fixed.postgres = execSQL("CREATE TABLE half_done (id integer)")
		fixed.sqlite = fixed.postgres
		if err := s.migrate(testContext(t), append(migrations[:len(migrations):len(migrations)], fixed)); err != nil {
			t.Fatalf("fixed migration: %v", err)
		}
		if v, _ := s.SchemaVersion(testContext(t)); v != fixed.version {
			t.Fatalf("SchemaVersion = %d, want %d", v, fixed.version)
		}
		count(t, s, "half_done", "1 = 1")
	})
}

func TestMigrationListIsChecked(t *testing.T) {
	step := execSQL()
	for name, list := range map[string][]migration{
		"empty":          nil,
		"out of order":   {{version: 2, postgres: step, sqlite: step}, {version: 1, postgres: step, sqlite: step}},
		"duplicate":      {{version: 1, postgres: step, sqlite: step}, {version: 1, postgres: step, sqlite: step}},
		"missing sqlite": {{version: 1, postgres: step}},
	} {
		if err := checkMigrations(list); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := checkMigrations(migrations); err != nil {
		t.Errorf("the shipped migrations: %v", err)
	}
}

// checkSQLitePragmas checks the settings every SQLite connection must have.
func checkSQLitePragmas(t *testing.T, s *Store) {
	t.Helper()
	for name, db := range map[string]*gorm.DB{"writer": s.db, "reader": s.read} {
		var mode string
		var fk, timeout int
		db.Raw("PRAGMA journal_mode").Scan(&mode)
		db.Raw("PRAGMA foreign_keys").Scan(&fk)
		db.Raw("PRAGMA busy_timeout").Scan(&timeout)
		if mode != "wal" || fk != 1 || timeout < 1000 {
			t.Errorf("%s: journal_mode=%s foreign_keys=%d busy_timeout=%d", name, mode, fk, timeout)
		}
	}
	if err := s.read.Exec("DELETE FROM cases").Error; err == nil {
		t.Error("the read pool accepts writes")
	}
	if sqlDB, _ := s.db.DB(); sqlDB.Stats().MaxOpenConnections != 1 {
		t.Errorf("writer pool allows %d connections, want 1", sqlDB.Stats().MaxOpenConnections)
	}
}
