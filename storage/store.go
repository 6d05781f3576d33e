package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// OpenParams say which database to open.
type OpenParams struct {
	// URL selects Postgres when it starts with postgres:// or postgresql://.
	URL string
	// Path is the SQLite file used when URL is empty (default ./data/yunke.db).
	Path string
	// Logger receives migration and slow-query messages; nil discards them.
	Logger *slog.Logger
	// Now is the clock of the times the store records when the caller
	// gives none (created and updated times); nil is time.Now.
	Now func() time.Time
}

// DefaultPath is the SQLite file used when OpenParams names none.
const DefaultPath = "data/yunke.db"

// Store is Yunke's durable state on SQLite or Postgres. Every method is safe
// for concurrent use; every multi-row write is one transaction, and every
// change writes its activity row in that same transaction.
//
// On SQLite all writes go through one connection (the writer), so writers
// queue in Go instead of failing with "database is locked"; reads use a
// separate pool and, thanks to WAL, never wait for the writer. On Postgres
// a transaction that fails with a serialization failure or a deadlock is
// run again.
type Store struct {
	log *slog.Logger
	loc *time.Location // Asia/Shanghai: activity months are counted there
	now func() time.Time
	d   *dialect

	pool *pgxpool.Pool // Postgres

	rdb  *sql.DB // SQLite readers
	wdb  *sql.DB // SQLite writer: one connection, BEGIN IMMEDIATE
	path string  // SQLite file

	rawFacts bool // statistics read raw rows only (tests compare the roll-ups with them)
}

// Open opens (creating when needed) the database and applies pending
// migrations. A schema newer than this binary knows fails with ErrSchemaTooNew.
func Open(ctx context.Context, p OpenParams) (*Store, error) {
	s := &Store{log: p.Logger, loc: Zone, now: p.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	switch {
	case strings.HasPrefix(p.URL, "postgres://"), strings.HasPrefix(p.URL, "postgresql://"):
		err = s.openPostgres(ctx, p.URL)
	case p.URL != "":
		return nil, fmt.Errorf("storage: unsupported database URL %q: use postgres://… or leave it empty for SQLite", redact(p.URL))
	default:
		err = s.openSQLite(ctx, p.Path)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) openPostgres(ctx context.Context, rawURL string) error {
	s.d = &dialect{postgres: true}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return fmt.Errorf("storage: parse Postgres URL %s: %w", redact(rawURL), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("storage: connect to Postgres at %s: %w", redact(rawURL), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("storage: connect to Postgres at %s: %w", redact(rawURL), err)
	}
	s.pool = pool
	return nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	s.d = &dialect{}
	if path == "" {
		path = DefaultPath
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("storage: create directory for %s: %w", path, err)
		}
	}
	s.path = path
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&"+pragmas+"&_pragma=cache_size(-32000)&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connection is opened first so the file is in WAL mode
	// before any reader looks at it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("storage: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return fmt.Errorf("storage: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.wdb, s.rdb = w, r
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	if s.pool != nil {
		s.pool.Close()
		return nil
	}
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}

// Backend is "sqlite" or "postgres".
func (s *Store) Backend() string {
	if s.d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r().queryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("storage: ping %s: %w", s.Backend(), err)
	}
	return nil
}

// Backup writes a consistent copy of a SQLite database to dest (VACUUM INTO).
// Postgres is backed up with pg_dump instead; there it returns an error saying so.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if s.d.postgres {
		return errors.New("storage: backup: the database is Postgres; back it up with pg_dump")
	}
	if dest == "" {
		return &FieldError{Field: "dest", Message: "is required"}
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("storage: backup: %s already exists", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("storage: backup: %w", err)
	}
	if dir := filepath.Dir(dest); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("storage: backup: %w", err)
		}
	}
	// VACUUM INTO reads a snapshot; it runs on the writer so it neither
	// needs a writable reader nor races a migration.
	if _, err := s.wdb.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("storage: backup to %s: %w", dest, err)
	}
	return nil
}

// r is the querier for reads outside a transaction.
func (s *Store) r() querier {
	if s.d.postgres {
		return pgQ{s.pool}
	}
	return &sqlQ{d: s.d, db: s.rdb}
}

// maxAttempts bounds how often tx runs a transaction that failed only
// because of concurrency (Postgres serialization failure or deadlock).
const maxAttempts = 8

// tx runs fn in one write transaction and commits it. Every write of the
// store goes through here. fn may run more than once, so it must not
// leave state behind outside the transaction before it returns nil.
func (s *Store) tx(ctx context.Context, fn func(q querier) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if s.d.postgres {
			err = s.pgTx(ctx, fn)
		} else {
			err = s.sqliteTx(ctx, fn)
		}
		if err == nil || attempt == maxAttempts {
			return err
		}
		if kind, _ := classify(err); kind != errRetry {
			return err
		}
		// Back off a little, randomly, so the transactions that collided
		// do not collide again.
		d := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) pgTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(pgQ{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

func (s *Store) sqliteTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := &sqlQ{d: s.d, tx: tx}
	err = fn(q)
	q.close()
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Zone is the one time zone Yunke counts days, weeks, months, terms and
// years in (Asia/Shanghai): activity months, targets' years, reports.
var Zone = shanghai()

// shanghai is Asia/Shanghai. Without the system's tz database it falls
// back to a fixed UTC+8, which is the same thing: China has had no
// daylight saving since 1991.
func shanghai() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// redact hides a password in a database URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Times are stored as unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullID stores an id of 0 as NULL (nullable foreign keys).
func nullID[T ~int64](v T) any {
	if v == 0 {
		return nil
	}
	return int64(v)
}

// ids converts typed ids for an inList argument.
func ids[T ~int64](v []T) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
