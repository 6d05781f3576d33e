package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The store's logic is written once against querier; pgQ (a pool or a
// transaction of pgx) and sqlQ (a database/sql handle on SQLite) adapt
// the two drivers to it. SQL text is written for Postgres, with $1..$n
// placeholders, and dialect rewrites it for SQLite.

// querier runs SQL on a connection pool or inside a transaction.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (rows, error)
	queryRow(ctx context.Context, query string, args ...any) row
}

// rows is the part of pgx.Rows and *sql.Rows the store uses.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// row is a single-row result; Scan reports errNoRows when there is none.
type row interface {
	Scan(dest ...any) error
}

// isNoRows reports whether err says a single-row query found nothing.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}

// pgConn is what *pgxpool.Pool and pgx.Tx have in common.
type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type pgQ struct{ c pgConn }

func (q pgQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgQ) query(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := q.c.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (q pgQ) queryRow(ctx context.Context, query string, args ...any) row {
	return q.c.QueryRow(ctx, query, args...)
}

// sqlQ runs on SQLite, either on the reader pool (db) or inside a write
// transaction (tx). Inside a transaction statements are prepared once and
// reused until it ends, which is what makes a 20,000-row import quick.
type sqlQ struct {
	d     *dialect
	db    *sql.DB
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (q *sqlQ) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := q.stmts[query]; ok {
		return st, nil
	}
	st, err := q.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if q.stmts == nil {
		q.stmts = make(map[string]*sql.Stmt)
	}
	q.stmts[query] = st
	return st, nil
}

// close releases the prepared statements of a finished transaction.
func (q *sqlQ) close() {
	for _, st := range q.stmts {
		st.Close()
	}
	q.stmts = nil
}

func (q *sqlQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	query = q.d.rewrite(query)
	var res sql.Result
	var err error
	switch {
	case q.tx == nil:
		res, err = q.db.ExecContext(ctx, query, args...)
	case len(args) == 0:
		// Scripts (migrations) hold several statements: run them unprepared.
		res, err = q.tx.ExecContext(ctx, query)
	default:
		var st *sql.Stmt
		if st, err = q.stmt(ctx, query); err == nil {
			res, err = st.ExecContext(ctx, args...)
		}
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q *sqlQ) query(ctx context.Context, query string, args ...any) (rows, error) {
	query = q.d.rewrite(query)
	var r *sql.Rows
	var err error
	if q.tx == nil {
		r, err = q.db.QueryContext(ctx, query, args...)
	} else {
		var st *sql.Stmt
		if st, err = q.stmt(ctx, query); err == nil {
			r, err = st.QueryContext(ctx, args...)
		}
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (q *sqlQ) queryRow(ctx context.Context, query string, args ...any) row {
	query = q.d.rewrite(query)
	if q.tx == nil {
		return q.db.QueryRowContext(ctx, query, args...)
	}
	st, err := q.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// dialect holds the few places where Postgres and SQLite differ.
type dialect struct {
	postgres bool
	// rewritten caches the SQLite form ($n → ?n) of each statement.
	rewritten sync.Map
}

// rewrite turns $n placeholders into SQLite's: plain ? when they appear in
// order, each once (the common case, and much the cheaper for the driver to
// bind when there are thousands), numbered ?n otherwise, so an argument may
// be used twice as on Postgres. Statements carry no '$' in literals, so a
// plain scan is enough. Results are cached per statement text.
func (d *dialect) rewrite(query string) string {
	if d.postgres || !strings.Contains(query, "$") {
		return query
	}
	if v, ok := d.rewritten.Load(query); ok {
		return v.(string)
	}
	var plain, numbered strings.Builder
	sequential := true
	next := 1
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != '$' {
			plain.WriteByte(c)
			numbered.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(query[i+1 : j])
		if err != nil {
			plain.WriteByte(c)
			numbered.WriteByte(c)
			continue
		}
		if n != next {
			sequential = false
		}
		next++
		plain.WriteByte('?')
		numbered.WriteByte('?')
		numbered.WriteString(query[i+1 : j])
		i = j - 1
	}
	out := numbered.String()
	if sequential {
		out = plain.String()
	}
	d.rewritten.Store(query, out)
	return out
}

// inList is a condition "col is one of the values of parameter $n"; the
// argument is built by listArg. One parameter keeps the SQL text constant
// whatever the list's length (Postgres: an array; SQLite: a JSON array).
func (d *dialect) inList(col string, n int) string {
	if d.postgres {
		return col + " = ANY($" + strconv.Itoa(n) + ")"
	}
	return col + " IN (SELECT value FROM json_each($" + strconv.Itoa(n) + "))"
}

// listArg is the argument for an inList condition; v is []int64 or []string.
func (d *dialect) listArg(v any) any {
	if d.postgres {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Slices of numbers and strings always marshal.
		panic(fmt.Sprintf("storage: list argument: %v", err))
	}
	return string(b)
}

// dbErrKind classifies a driver error.
type dbErrKind int

const (
	errOther dbErrKind = iota
	errUnique
	errForeignKey
	errRetry // serialization failure, deadlock or (SQLite) busy: run the transaction again
)

// classify says what kind of failure err is and, for constraint
// violations, names the constraint (Postgres) or the columns (SQLite:
// "users.staff_no").
func classify(err error) (dbErrKind, string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return errUnique, pe.ConstraintName
		case "23503":
			return errForeignKey, pe.ConstraintName
		case "40001", "40P01":
			return errRetry, ""
		}
		return errOther, ""
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		msg := se.Error()
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			if i := strings.Index(msg, "constraint failed: "); i >= 0 {
				msg = msg[i+len("constraint failed: "):]
				if j := strings.Index(msg, " ("); j >= 0 {
					msg = msg[:j]
				}
			}
			return errUnique, msg
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey, ""
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errRetry, ""
		}
	}
	return errOther, ""
}

// uniqueField names the input field behind a unique constraint.
func uniqueField(constraint string) string {
	switch {
	case strings.Contains(constraint, "username"):
		return "username"
	case strings.Contains(constraint, "staff_no"):
		return "staff_no"
	case strings.Contains(constraint, "student_no"):
		return "student_no"
	case strings.Contains(constraint, "token_hash"), strings.Contains(constraint, "sessions"):
		return "token_hash"
	case strings.Contains(constraint, "school_targets"):
		return "year"
	}
	return "code"
}

// foreignKeyField names the input field behind a foreign key (Postgres
// names the constraint; SQLite does not, hence the explicit checks in
// front of every write).
func foreignKeyField(constraint string) string {
	switch {
	case strings.Contains(constraint, "school_id"):
		return "school_id"
	case strings.Contains(constraint, "district_id"):
		return "district_id"
	case strings.Contains(constraint, "subject_id"):
		return "subject_id"
	case strings.Contains(constraint, "user_id"):
		return "user_id"
	case strings.Contains(constraint, "parent_id"):
		return "parent_code"
	}
	return "reference"
}

// mapErr turns a driver error into the store's errors: a unique violation
// becomes a *DuplicateError (its value taken from values by field name), a
// foreign key violation a *FieldError. Other errors pass through.
func mapErr(err error, values map[string]string) error {
	if err == nil {
		return nil
	}
	switch kind, c := classify(err); kind {
	case errUnique:
		f := uniqueField(c)
		return &DuplicateError{Field: f, Value: values[f]}
	case errForeignKey:
		return &FieldError{Field: foreignKeyField(c), Message: "no such row"}
	}
	return err
}
