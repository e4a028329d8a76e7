package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one schema version: either sql, statements both databases
// run once their {type} placeholders are replaced (dialectTypes), or, where
// the two differ in more than type names (functions, what ALTER TABLE can
// do), an explicit step for each dialect.
type migration struct {
	version  int
	name     string
	sql      []string
	postgres step
	sqlite   step
}

type step func(tx *gorm.DB) error

// dialectTypes spells each placeholder of a migration's sql in each dialect:
// SQLite has no timestamptz, bigint, boolean, jsonb or bytea of its own.
var dialectTypes = map[string]*strings.Replacer{
	DialectPostgres: strings.NewReplacer("{time}", "timestamptz", "{int64}", "bigint", "{bool}", "boolean", "{false}", "false", "{json}", "jsonb", "{bytes}", "bytea"),
	DialectSQLite:   strings.NewReplacer("{time}", "datetime", "{int64}", "integer", "{bool}", "integer", "{false}", "0", "{json}", "text", "{bytes}", "blob"),
}

// stepFor is what the migration runs on the dialect.
func (m migration) stepFor(dialect string) step {
	if m.sql != nil {
		stmts := make([]string, len(m.sql))
		for i, q := range m.sql {
			stmts[i] = dialectTypes[dialect].Replace(q)
		}
		return execSQL(stmts...)
	}
	if dialect == DialectSQLite {
		return m.sqlite
	}
	return m.postgres
}

// execSQL is a step made of plain statements run in order.
func execSQL(stmts ...string) step {
	return func(tx *gorm.DB) error {
		for _, q := range stmts {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
		return nil
	}
}

// migrationLockKey is the PostgreSQL advisory lock that serializes migrations
// across processes ("vkycmig" in ASCII).
const migrationLockKey int64 = 0x766b79636d6967

var createMigrationsTable = map[string]string{
	DialectPostgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL)`,
	DialectSQLite: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at datetime NOT NULL)`,
}

type schemaMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// Migrate applies the migrations the database has not seen yet, each in its
// own transaction, in version order. It is safe to run again (applied versions
// are skipped) and from several processes at once: on PostgreSQL every
// migration transaction first takes an advisory lock, on SQLite the write
// transaction itself is the lock (BEGIN IMMEDIATE).
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, migrations)
}

func (s *Store) migrate(ctx context.Context, list []migration) error {
	if err := checkMigrations(list); err != nil {
		return err
	}
	for _, m := range list {
		run := m.stepFor(s.dialect)
		applied := false
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if s.dialect == DialectPostgres {
				if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
					return fmt.Errorf("take migration lock: %w", err)
				}
			}
			if err := tx.Exec(createMigrationsTable[s.dialect]).Error; err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var n int64
			if err := tx.Model(&schemaMigration{}).Where("version = ?", m.version).Count(&n).Error; err != nil {
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			if n > 0 {
				return nil
			}
			if err := run(tx); err != nil {
				return err
			}
			applied = true
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: s.now()}).Error
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s) on %s: %w", m.version, m.name, s.dialect, err)
		}
		if applied {
			s.log.InfoContext(ctx, "applied schema migration", "version", m.version, "name", m.name, "dialect", s.dialect)
		}
	}
	latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if want := list[len(list)-1].version; latest > want {
		// A newer release migrated this database (a rollback or a rolling
		// deploy). Migrations are additive, so this binary keeps working.
		s.log.WarnContext(ctx, "database schema is newer than this binary", "schema_version", latest, "binary_version", want)
	}
	return nil
}

func checkMigrations(list []migration) error {
	if len(list) == 0 {
		return fmt.Errorf("store: no migrations: %w", ErrInvalid)
	}
	for i, m := range list {
		if m.sql == nil && (m.postgres == nil || m.sqlite == nil) {
			return fmt.Errorf("store: migration %d lacks a dialect step: %w", m.version, ErrInvalid)
		}
		for _, q := range m.sql {
			for _, r := range dialectTypes {
				if strings.ContainsAny(r.Replace(q), "{}") {
					return fmt.Errorf("store: migration %d has an unknown {type} placeholder: %w", m.version, ErrInvalid)
				}
			}
		}
		if i > 0 && m.version <= list[i-1].version {
			return fmt.Errorf("store: migration %d is out of order: %w", m.version, ErrInvalid)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	if err := s.db.WithContext(ctx).Model(&schemaMigration{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}
