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
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
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
)

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
	name := RandomName("t_")
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = db.Close() // the failure to report is the CREATE
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
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

// LowPorts returns n distinct free loopback ports between 20000 and the
// kernel's ephemeral range (scripts/services.sh picks ports the same way).
// A port in the ephemeral range can be taken as the source port of an
// outgoing connection while a server that was stopped is down, and the
// server could then not bind it again. The real Temporal server also stores
// its membership ports in a SMALLINT column: they must stay below 32768.
func LowPorts(n int) ([]int, error) {
	high := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if v, err := strconv.Atoi(f[0]); err == nil && v < high {
				high = v
			}
		}
	}
	if high-20000 < 1000 {
		return nil, fmt.Errorf("the ephemeral port range starts at %d: no room for low ports", high)
	}
	seen := map[int]bool{}
	var out []int
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		p := 20000 + mrand.IntN(high-20000) // #nosec G404 -- a port number, not a secret
		if seen[p] {
			continue
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = ln.Close()
		out = append(out, p)
	}
	if len(out) < n {
		return nil, errors.New("testenv: not enough free ports below the ephemeral range")
	}
	return out, nil
}
