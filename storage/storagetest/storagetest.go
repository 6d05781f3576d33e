// Package storagetest opens real, throw-away Yunke stores for tests: a
// SQLite file in the test's temporary directory, or a fresh schema in the
// test Postgres database. Every store is closed (and its schema dropped)
// when the test ends.
//
//	func TestThing(t *testing.T) {
//		storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
//			// … the same assertions against SQLite and Postgres
//		})
//	}
//
// Postgres is found at TEST_DATABASE_URL (default DefaultPostgresURL). A
// test that needs it and cannot reach it fails; it is never skipped, so a
// green run always means both backends were tested.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"yunke/storage"
)

// DefaultPostgresURL is used when TEST_DATABASE_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the test database's URL: TEST_DATABASE_URL or DefaultPostgresURL.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// OpenSQLite opens a store on a new SQLite file in t.TempDir().
func OpenSQLite(t testing.TB) *storage.Store {
	t.Helper()
	return open(t, SQLiteParams(t))
}

// OpenPostgres opens a store on a new, empty schema of the test database;
// the schema is dropped when the test ends.
func OpenPostgres(t testing.TB) *storage.Store {
	t.Helper()
	return open(t, PostgresParams(t))
}

// ForEachBackend runs fn as the parallel subtests "sqlite" and "postgres",
// each with its own fresh store.
func ForEachBackend(t *testing.T, fn func(t *testing.T, s *storage.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, OpenSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, OpenPostgres(t))
	})
}

// SQLiteParams names a new SQLite file in t.TempDir() without opening it,
// for tests that open, close and reopen a store themselves.
func SQLiteParams(t testing.TB) storage.OpenParams {
	t.Helper()
	return storage.OpenParams{Path: filepath.Join(t.TempDir(), "yunke.db")}
}

// PostgresParams creates a new, empty schema t_<random> in the test
// database and returns parameters whose URL selects it (search_path), so
// the store's tables and migrations land there. The schema is dropped
// when the test ends.
func PostgresParams(t testing.TB) storage.OpenParams {
	t.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("Postgres not reachable at %s; start it or set TEST_DATABASE_URL; `make deps` installs and starts it: %v",
			redact(base), err)
	}
	defer conn.Close(context.Background())

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storagetest: create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("storagetest: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storagetest: drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storagetest: TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return storage.OpenParams{URL: u.String()}
}

func open(t testing.TB, p storage.OpenParams) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := storage.Open(ctx, p)
	if err != nil {
		t.Fatalf("storagetest: open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
