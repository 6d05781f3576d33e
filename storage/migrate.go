package storage

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered SQL files, one directory per dialect with the
// same numbers in each: migrations/<dialect>/NNNN_name.sql. A migration is
// never edited once released; a change is a new file in both directories.
//
//go:embed migrations
var migrationFS embed.FS

// migration is one embedded schema step.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// advisoryLockKey serializes migrations of Yunke nodes starting together
// against one Postgres database (an arbitrary constant: "yunke" in ASCII).
const advisoryLockKey = 0x79756e6b65

// loadMigrations lists the embedded migrations of a dialect ("postgres"
// or "sqlite") in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("storage: migrations for %q: %w", dialect, err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("storage: migration file %s: want NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("storage: two %s migrations numbered %d", dialect, out[i].Version)
		}
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at BIGINT  NOT NULL
)`

// migrate applies the pending migrations, each in its own transaction.
// On Postgres every transaction first takes an advisory lock, so of
// several nodes starting together one migrates and the others then see
// the work done.
func (s *Store) migrate(ctx context.Context) error {
	steps, err := loadMigrations(s.Backend())
	if err != nil {
		return err
	}
	known := 0
	if len(steps) > 0 {
		known = steps[len(steps)-1].Version
	}
	// A first transaction creates the bookkeeping table and refuses a
	// database a newer binary has migrated.
	if err := s.tx(ctx, func(q querier) error {
		if err := s.lockMigrations(ctx, q); err != nil {
			return err
		}
		if _, err := q.exec(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		v, err := schemaVersion(ctx, q)
		if err != nil {
			return err
		}
		if v > known {
			return fmt.Errorf("storage: the database is at schema version %d but this Yunke knows only up to %d; upgrade Yunke: %w",
				v, known, ErrSchemaTooNew)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	for _, m := range steps {
		applied := false
		err := s.tx(ctx, func(q querier) error {
			applied = false
			if err := s.lockMigrations(ctx, q); err != nil {
				return err
			}
			var n int
			if err := q.queryRow(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := q.exec(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := q.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, s.now().UnixMilli()); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("storage: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if applied {
			s.log.Info("applied migration", "backend", s.Backend(), "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

func (s *Store) lockMigrations(ctx context.Context, q querier) error {
	if !s.d.postgres {
		return nil // the single writer connection already serializes
	}
	if _, err := q.exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(advisoryLockKey)); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	return nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// SchemaVersion is the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, s.r())
	if err != nil {
		return 0, fmt.Errorf("storage: %w", err)
	}
	return v, nil
}

// AppliedMigration is one row of schema_migrations.
type AppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// AppliedMigrations lists the applied migrations in version order.
func (s *Store) AppliedMigrations(ctx context.Context) ([]AppliedMigration, error) {
	r, err := s.r().query(ctx, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("storage: list migrations: %w", err)
	}
	defer r.Close()
	var out []AppliedMigration
	for r.Next() {
		var m AppliedMigration
		var at int64
		if err := r.Scan(&m.Version, &m.Name, &at); err != nil {
			return nil, fmt.Errorf("storage: list migrations: %w", err)
		}
		m.AppliedAt = fromMS(at)
		out = append(out, m)
	}
	return out, r.Err()
}
