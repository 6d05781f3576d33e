package storage

import (
	"database/sql"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresPool is the store's connection pool on Postgres, nil on SQLite,
// for a library that keeps its own tables beside Yunke's in the same
// database (the job queue). It stays owned by the store.
func (s *Store) PostgresPool() *pgxpool.Pool { return s.pool }

// SQLiteWriter is the store's one writing connection on SQLite, nil on
// Postgres, for a library that keeps its own tables beside Yunke's in the
// same file (the job queue). Sharing it makes that library's writes queue
// with the store's in Go instead of failing with "database is locked"; a
// caller must therefore never hold a transaction on it while waiting for
// another. It stays owned by the store.
func (s *Store) SQLiteWriter() *sql.DB { return s.wdb }
