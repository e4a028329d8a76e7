// Package testenv gives integration tests the real services that `make test`
// starts (PostgreSQL, MinIO, the Temporal dev server). A test that needs a
// service it cannot find is skipped on a developer's machine but fails when
// CI=true, so a broken service script can never turn CI green by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for creating throwaway databases
)

// RepoRoot finds the folder of go.mod above the working directory: where
// tests and the drivers build the engine's programs from.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Environment variables set by scripts/services.sh.
//
// #nosec G101 -- these are the names of variables, not credentials.
const (
	EnvPostgres    = "VKYC_TEST_DATABASE_URL"
	EnvS3Endpoint  = "VKYC_TEST_S3_ENDPOINT"
	EnvS3AccessKey = "VKYC_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "VKYC_TEST_S3_SECRET_KEY"
	EnvTemporal    = "VKYC_TEST_TEMPORAL_ADDRESS"
	// For the benchmark's CPU accounting.
	EnvTemporalPID = "VKYC_TEST_TEMPORAL_PID"
	EnvPGData      = "VKYC_TEST_PG_DATA"
	EnvMinIOData   = "VKYC_TEST_MINIO_DATA"
)

// Services says where the real services are.
type Services struct {
	// DatabaseURL is the PostgreSQL server's maintenance database, where
	// databases of their own are created (CreateDatabase).
	DatabaseURL string
	S3          S3
	Temporal    string // host:port of the frontend
	// Where the benchmark finds the services' processes; zero when unknown.
	TemporalPID       int
	PGData, MinIOData string
}

// FromEnv reads the services of scripts/services.sh from its variables, for
// programs (the benchmark) rather than tests.
func FromEnv() (Services, error) {
	s := Services{
		DatabaseURL: os.Getenv(EnvPostgres),
		S3: S3{Endpoint: strings.TrimPrefix(strings.TrimPrefix(os.Getenv(EnvS3Endpoint), "http://"), "https://"),
			AccessKey: os.Getenv(EnvS3AccessKey), SecretKey: os.Getenv(EnvS3SecretKey)},
		Temporal:  os.Getenv(EnvTemporal),
		PGData:    os.Getenv(EnvPGData),
		MinIOData: os.Getenv(EnvMinIOData),
	}
	s.TemporalPID, _ = strconv.Atoi(os.Getenv(EnvTemporalPID)) // 0 when unknown
	var missing []string
	for _, v := range []struct{ name, value string }{
		{EnvPostgres, s.DatabaseURL}, {EnvS3Endpoint, s.S3.Endpoint}, {EnvS3AccessKey, s.S3.AccessKey},
		{EnvS3SecretKey, s.S3.SecretKey}, {EnvTemporal, s.Temporal},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("%s not set: run it through `scripts/services.sh run -- CMD` (make bench does)", strings.Join(missing, ", "))
	}
	return s, nil
}

// ForTest are the services of scripts/services.sh for a test: a test that
// cannot find one is skipped, or fails under CI=true.
func ForTest(t testing.TB) Services {
	t.Helper()
	return Services{DatabaseURL: PostgresAdminURL(t), S3: MinIO(t), Temporal: Temporal(t)}
}

// InCI reports whether the tests run under CI, where missing services are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

func need(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	msg := fmt.Sprintf("%s not set: %s is not running (start it with `make services` or run `make test`)", env, what)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// RandomName returns prefix followed by 12 random hex characters.
func RandomName(prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// Postgres creates a fresh database on the test PostgreSQL server, drops it when
// the test ends, and returns its URL. Each test gets a clean schema.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := need(t, EnvPostgres, "PostgreSQL")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := CreateDatabase(ctx, admin, RandomName("t_"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = DropDatabase(ctx, admin, u)
	})
	return u
}

// CreateDatabase creates the database name on the server of the admin URL
// and returns the new database's URL.
func CreateDatabase(ctx context.Context, admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("parse the PostgreSQL URL: %w", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", fmt.Errorf("open admin connection: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DropDatabase drops the database of dbURL (made by CreateDatabase) on the
// server of the admin URL, ending its connections.
func DropDatabase(ctx context.Context, admin, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+strings.TrimPrefix(u.Path, "/")+" WITH (FORCE)")
	return err
}

// PostgresAdminURL returns the URL of the server's maintenance database, for
// tests that stop and start the server or need their own setup.
func PostgresAdminURL(t testing.TB) string {
	t.Helper()
	return need(t, EnvPostgres, "PostgreSQL")
}

// S3 describes the test MinIO server.
type S3 struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
}

// MinIO returns the test MinIO server's endpoint and credentials.
func MinIO(t testing.TB) S3 {
	t.Helper()
	ep := need(t, EnvS3Endpoint, "MinIO")
	ep = strings.TrimPrefix(strings.TrimPrefix(ep, "http://"), "https://")
	return S3{Endpoint: ep, AccessKey: os.Getenv(EnvS3AccessKey), SecretKey: os.Getenv(EnvS3SecretKey)}
}

// MinIOBinary is the pinned MinIO server that scripts/services.sh builds
// (scripts/tools.sh), for tests that run a MinIO of their own: the
// development store's.
func MinIOBinary(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".cache", "bin", "minio")
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("%s: %v (build it with scripts/tools.sh minio, or run make test)", bin, err)
		if InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// Temporal returns the host:port of the test Temporal dev server.
func Temporal(t testing.TB) string {
	t.Helper()
	return need(t, EnvTemporal, "the Temporal dev server")
}
