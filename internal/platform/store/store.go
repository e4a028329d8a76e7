// Package store is the case engine's database: the bank's case records (with
// the customer's PII, which never enters the workflow), attempts and captures,
// the hash-chained case event log, the webhook inbox and API idempotency keys.
//
// PostgreSQL is the production database; an embedded pure-Go SQLite runs the
// same code locally. The schema is owned by the versioned migrations in
// schema.go, never by AutoMigrate.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/vkyc-engine/vkyc/internal/case/chain"
)

// Dialect names returned by Store.Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

var (
	// ErrNotFound means the case, inbox row or key does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrIdempotencyConflict means an idempotency key (or webhook event id) was
	// reused with a different request.
	ErrIdempotencyConflict = errors.New("store: idempotency key reused with a different request")
	// ErrConflict means the write contradicts what is already stored (an event
	// with the same sequence number but other content, an existing case id).
	ErrConflict = errors.New("store: conflicting write")
	// ErrSequenceGap means appended events do not continue the case's log.
	ErrSequenceGap = errors.New("store: event sequence gap")
	// ErrBadCursor means a list cursor was not produced by ListCases.
	ErrBadCursor = errors.New("store: malformed cursor")
	// ErrInvalid means the caller passed data the store refuses to persist;
	// retrying the same call cannot succeed.
	ErrInvalid = errors.New("store: invalid input")
)

// Store is safe for concurrent use.
type Store struct {
	dialect string
	db      *gorm.DB // every write, and reads that must see the latest write
	read    *gorm.DB // list and get queries; the same pool as db except on a SQLite file
	log     *slog.Logger

	inboxOnce sync.Once
	inbox     *inboxBatcher // nil until the first InboxInsert

	endpoints []string // outbound webhook endpoints (WithWebhookEndpoints)
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger        *slog.Logger
	slowThreshold time.Duration
	maxOpenConns  int
	endpoints     []string
}

// WithLogger sets the logger for slow queries and migrations (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithSlowQueryThreshold sets the duration above which a query is logged
// (default 200ms; 0 disables slow-query logging).
func WithSlowQueryThreshold(d time.Duration) Option {
	return func(o *options) { o.slowThreshold = d }
}

// WithMaxOpenConns sets the PostgreSQL pool size (default 10). SQLite always
// has exactly one writer connection.
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxOpenConns = n } }

// Open connects to dsn and applies pending migrations.
//
//	postgres://... or postgresql://...  PostgreSQL
//	sqlite://<path>                     SQLite file (created if missing)
//	sqlite::memory:                     private in-memory SQLite, for tests and demos
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{logger: slog.Default(), slowThreshold: 200 * time.Millisecond, maxOpenConns: 10}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := connect(ctx, dsn, o)
	if err != nil {
		return nil, err
	}
	s.endpoints = o.endpoints
	if err := s.Ping(ctx); err != nil {
		_ = s.Close() // the error worth returning is the ping's
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		_ = s.Close() // the error worth returning is the migration's
		return nil, err
	}
	return s, nil
}

func connect(ctx context.Context, dsn string, o options) (*Store, error) {
	cfg := func() *gorm.Config {
		return &gorm.Config{
			Logger:                 newSlowLogger(o.logger, o.slowThreshold),
			NowFunc:                func() time.Time { return dbTime(time.Now()) },
			SkipDefaultTransaction: true, // every multi-statement write opens its own transaction
			TranslateError:         true,
		}
	}
	s := &Store{log: o.logger}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = DialectPostgres
		db, err := gorm.Open(postgres.Open(dsn), cfg())
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("store: postgres pool: %w", err)
		}
		sqlDB.SetMaxOpenConns(o.maxOpenConns)
		// As many idle as open: with fewer, a burst above the idle limit
		// closes connections on release and opens them again at once, and a
		// PostgreSQL connection is a process fork (in the benchmark's case
		// scenario new backends were forked all the time; with this, case
		// throughput rose from 2.99 to 3.44 per second). Idle ones still go
		// after ConnMaxIdleTime.
		sqlDB.SetMaxIdleConns(o.maxOpenConns)
		sqlDB.SetConnMaxLifetime(30 * time.Minute) // lets connections follow a failover or a pgbouncer rotation
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		s.db, s.read = db, db
	case dsn == "sqlite::memory:":
		s.dialect = DialectSQLite
		// Every connection to ":memory:" is a different database, so the
		// store keeps exactly one connection open forever.
		db, _, err := openSQLite(":memory:?_pragma=foreign_keys(1)", cfg(), 1)
		if err != nil {
			return nil, err
		}
		s.db, s.read = db, db
	case strings.HasPrefix(dsn, "sqlite://"):
		s.dialect = DialectSQLite
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("store: sqlite dsn needs a plain file path: %w", ErrInvalid)
		}
		// One writer connection: SQLite allows one writer at a time anyway,
		// and a single connection turns lock contention inside this process
		// into queueing instead of SQLITE_BUSY. BEGIN IMMEDIATE and the busy
		// timeout cover other processes (the API and the worker may share the
		// file in `make dev`). Readers get their own read-only pool, which WAL
		// lets run alongside the writer.
		writer, wDB, err := openSQLite(path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate", cfg(), 1)
		if err != nil {
			return nil, err
		}
		if err := enableWAL(ctx, writer); err != nil {
			_ = wDB.Close() // the error worth returning is enableWAL's
			return nil, err
		}
		reader, _, err := openSQLite(path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=query_only(1)", cfg(), 4)
		if err != nil {
			_ = wDB.Close() // the error worth returning is the open's
			return nil, err
		}
		s.db, s.read = writer, reader
	default:
		// The dsn may hold a password: never echo it.
		return nil, fmt.Errorf("store: unsupported dsn scheme (want postgres://, postgresql://, sqlite://<path> or sqlite::memory:): %w", ErrInvalid)
	}
	return s, nil
}

// enableWAL switches a SQLite file to write-ahead logging, which persists in
// the file. Switching needs an exclusive lock and SQLite answers SQLITE_BUSY
// at once, without waiting for busy_timeout, when another process opens the
// same new file at that moment; so it retries for a while.
func enableWAL(ctx context.Context, db *gorm.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var mode string
		err := db.WithContext(ctx).Raw("PRAGMA journal_mode=WAL").Scan(&mode).Error
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("store: sqlite kept journal mode %q instead of WAL", mode)
		case !sqliteBusy(err) || time.Now().After(deadline):
			return fmt.Errorf("store: sqlite journal mode WAL: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: sqlite journal mode WAL: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func sqliteBusy(err error) bool {
	const sqliteBusy, sqliteLocked = 5, 6 // primary result codes
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return false
	}
	code := coded.Code() & 0xff
	return code == sqliteBusy || code == sqliteLocked
}

// openSQLite opens a pool of at most conns connections, which stay open
// (for ":memory:", closing the last one would drop the database).
func openSQLite(dsn string, cfg *gorm.Config, conns int) (*gorm.DB, *sql.DB, error) {
	db, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	return db, sqlDB, nil
}

// Close closes every connection.
func (s *Store) Close() error {
	s.closeBatcher()
	var errs []error
	for _, db := range s.pools() {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range s.pools() {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.PingContext(ctx)
		}
		if err != nil {
			return fmt.Errorf("store: ping %s: %w", s.dialect, err)
		}
	}
	return nil
}

// take reads the one row q selects into row; a missing row is ErrNotFound.
func take(q *gorm.DB, row any) error {
	err := q.Take(row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// Dialect returns DialectPostgres or DialectSQLite.
func (s *Store) Dialect() string { return s.dialect }

func (s *Store) pools() []*gorm.DB {
	if s.read == s.db {
		return []*gorm.DB{s.db}
	}
	return []*gorm.DB{s.db, s.read}
}

// dbTime is how every time is stored: UTC, so that SQLite's text timestamps
// sort correctly, and at PostgreSQL's microsecond precision, so that a value
// reads back exactly as written on both databases (the event hash covers it).
func dbTime(t time.Time) time.Time { return chain.Time(t) }

func (s *Store) now() time.Time { return dbTime(time.Now()) }

// refused marks an error of PostgreSQL's data-exception class (SQLSTATE
// 22: a NUL or an unconvertible character in text or JSON, a value out of
// range, a string too long) as ErrInvalid: the same write will fail the
// same way every time, so callers must not retry it.
func refused(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22") {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}
