// Package storage is where Yunke keeps what must survive a restart:
// districts, schools and users, sessions, subjects and knowledge points,
// yearly targets, one-to-one tutoring (requests, offers, sessions, ratings,
// notes) and the activity log that statistics are computed from —
// on an embedded SQLite file for a first run and on Postgres in
// production, behind one Store.
//
// The Store's logic and SQL are written once. A small querier interface
// adapts pgx (Postgres) and database/sql (SQLite, modernc.org/sqlite, pure
// Go) to it, and a dialect holds the few differences: SQLite's ?
// placeholders, list parameters (a Postgres array, a SQLite JSON array),
// error codes. Times are stored as unix milliseconds; ids are int64.
//
// Concurrency: on SQLite every write transaction runs on one writer
// connection (BEGIN IMMEDIATE), so writers queue in Go and never see
// "database is locked"; readers use their own pool and WAL keeps them from
// waiting. On Postgres a write transaction that fails with a serialization
// failure or deadlock is run again. Rows that clients edit carry a version
// for optimistic concurrency (ErrConflict on a stale one).
//
// Every change writes its activity_log row in its own transaction, and in
// that transaction adds itself to activity_monthly, a rollup keyed by
// district, month (Asia/Shanghai), school, subject and action that
// statistics read instead of the log. The report facts' slowest ones read
// roll-ups that triggers keep in the transaction writing the domain rows
// (rollups.go, migration 0018).
//
// The schema is versioned by the numbered files of migrations/postgres and
// migrations/sqlite (the same numbers in both), applied by Open. Package
// storagetest opens throw-away stores on both backends for tests.
package storage
