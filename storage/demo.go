package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Demonstration data (yunke demo-data) is written by a BulkLoader: rows of
// any table, with ids chosen by the caller, buffered per table and written
// in one transaction — COPY on Postgres, INSERT … SELECT from a JSON array
// on SQLite. As BulkLoadActivity does, it brings the rollup up to date at
// the end with one grouped statement over the activity rows it loaded, in
// the same transaction, so activity_monthly is exactly activity_log summed
// up afterwards too; the statistics' roll-ups (rollups.go), whose triggers
// stand aside during the load, are rebuilt from the raw rows there too.

// DemoDistrictPrefix starts the code of every district demo-data creates;
// it is how a database holding only demonstration data is recognised.
const DemoDistrictPrefix = "DEMO"

// DataPresence says what a database holds before demo data is loaded.
type DataPresence struct {
	// DemoDistricts are the districts whose code starts with DemoDistrictPrefix.
	DemoDistricts int64
	// RealDistricts, RealSchools and RealUsers count the others (users of
	// a district that is not a demo one; system administrators without a
	// district do not count).
	RealDistricts, RealSchools, RealUsers int64
}

// Real reports whether the database holds anything but demonstration data.
func (p DataPresence) Real() bool {
	return p.RealDistricts > 0 || p.RealSchools > 0 || p.RealUsers > 0
}

// DataPresence counts demonstration and other data.
func (s *Store) DataPresence(ctx context.Context) (DataPresence, error) {
	var p DataPresence
	like := DemoDistrictPrefix + "%"
	err := s.r().queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM districts WHERE code LIKE $1),
		(SELECT COUNT(*) FROM districts WHERE code NOT LIKE $1),
		(SELECT COUNT(*) FROM schools s JOIN districts d ON d.id = s.district_id WHERE d.code NOT LIKE $1),
		(SELECT COUNT(*) FROM users u JOIN districts d ON d.id = u.district_id WHERE d.code NOT LIKE $1)`, like).
		Scan(&p.DemoDistricts, &p.RealDistricts, &p.RealSchools, &p.RealUsers)
	if err != nil {
		return p, fmt.Errorf("storage: data presence: %w", err)
	}
	return p, nil
}

// BulkLoader writes many rows of many tables in one transaction. Declare
// the tables with Table in an order where each table's references point at
// earlier ones; a flush writes the buffered rows of every table in that
// order, so references always resolve.
type BulkLoader struct {
	s      *Store
	q      querier
	ctx    context.Context
	order  []string
	cols   map[string][]string
	buf    map[string][][]any
	next   map[string]int64
	counts map[string]int64
	total  int
}

// flushAt is how many buffered rows (over all tables) trigger a flush.
const flushAt = 50_000

// Bulk runs fn with a loader inside one transaction and writes what is
// left when fn returns; nothing is written if fn or a write fails. It
// returns the number of rows written per table.
func (s *Store) Bulk(ctx context.Context, fn func(b *BulkLoader) error) (map[string]int64, error) {
	var counts map[string]int64
	// One attempt: a load of minutes is not run again behind the caller's back.
	once := s.sqliteTx
	if s.d.postgres {
		once = s.pgTx
	}
	err := once(ctx, func(q querier) error {
		b := &BulkLoader{s: s, q: q, ctx: ctx, cols: map[string][]string{}, buf: map[string][][]any{},
			next: map[string]int64{}, counts: map[string]int64{}}
		if s.d.postgres {
			// Keep other writers of the log out until the end, so the rows
			// after "before" are exactly the ones loaded here.
			if _, err := q.exec(ctx, "LOCK TABLE activity_log IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		var before int64
		if err := q.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM activity_log").Scan(&before); err != nil {
			return err
		}
		// The statistics' roll-ups are rebuilt once at the end, rather
		// than by a trigger per row loaded.
		if err := setRollupsOff(ctx, q, true); err != nil {
			return err
		}
		b.Table("activity_log", "at_ms", "month", "actor_id", "action", "district_id", "school_id", "subject_id",
			"subject", "room_id", "session_id", "value", "detail")
		if err := fn(b); err != nil {
			return err
		}
		if err := b.flush(); err != nil {
			return err
		}
		// The rollup increments of the loaded rows, in one grouped statement
		// rather than an upsert per key.
		if err := rollupSince(ctx, q, before); err != nil {
			return err
		}
		if err := s.rebuildRollups(ctx, q); err != nil {
			return err
		}
		if err := setRollupsOff(ctx, q, false); err != nil {
			return err
		}
		if s.d.postgres {
			// Ids were given explicitly: move each identity past them.
			for t := range b.next {
				if _, err := q.exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'),
					GREATEST((SELECT COALESCE(MAX(id), 0) FROM %s), 1))`, t, t)); err != nil {
					return fmt.Errorf("identity of %s: %w", t, err)
				}
			}
			// Fresh statistics, so the planner knows the tables are large now.
			if _, err := q.exec(ctx, "ANALYZE "+strings.Join(append(append(b.order, "activity_monthly"), rollupTables...), ", ")); err != nil {
				return err
			}
		}
		counts = b.counts
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: bulk load: %w", err)
	}
	return counts, nil
}

// Table declares a table and the columns its rows give, in order.
func (b *BulkLoader) Table(name string, cols ...string) {
	if _, ok := b.cols[name]; !ok {
		b.order = append(b.order, name)
	}
	b.cols[name] = cols
}

// NextID is a fresh id of table (whose first column must then be id):
// one more than the largest in the database or handed out before.
func (b *BulkLoader) NextID(table string) (int64, error) {
	n, ok := b.next[table]
	if !ok {
		if err := b.q.queryRow(b.ctx, "SELECT COALESCE(MAX(id), 0) FROM "+table).Scan(&n); err != nil {
			return 0, fmt.Errorf("largest id of %s: %w", table, err)
		}
	}
	n++
	b.next[table] = n
	return n, nil
}

// Add buffers one row of table.
func (b *BulkLoader) Add(table string, row ...any) error {
	cols, ok := b.cols[table]
	if !ok {
		return fmt.Errorf("bulk load: table %s not declared", table)
	}
	if len(row) != len(cols) {
		return fmt.Errorf("bulk load: %s: %d values for %d columns", table, len(row), len(cols))
	}
	b.buf[table] = append(b.buf[table], row)
	b.total++
	if b.total >= flushAt {
		return b.flush()
	}
	return nil
}

// Activity buffers an activity row as the live paths write it (act.At is
// required); the rollup takes it in when the load ends.
func (b *BulkLoader) Activity(act Activity) error {
	if act.At.IsZero() || act.Action == "" {
		return fmt.Errorf("bulk load: activity needs a time and an action")
	}
	month := b.s.Month(act.At)
	return b.Add("activity_log", ms(act.At), month, int64(act.ActorID), act.Action, int64(act.DistrictID),
		int64(act.SchoolID), int64(act.SubjectID), act.Subject, act.RoomID, act.SessionID, act.Value, act.Detail)
}

// Detail is an activity row's detail as the live paths encode it.
func (b *BulkLoader) Detail(detail map[string]any) string { return detailJSON(Actor{}, detail) }

// IndexQuestion adds texts (a question's and its answers') to the search
// index of question qid, as asking and answering do.
func (b *BulkLoader) IndexQuestion(district DistrictID, qid QuestionID, texts ...string) error {
	seen := map[string]bool{}
	for _, t := range texts {
		for _, g := range searchGrams(t) {
			if seen[g] {
				continue
			}
			seen[g] = true
			if err := b.Add("qa_search_grams", int64(district), g, int64(qid)); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes every buffered row, table by table in declared order.
func (b *BulkLoader) flush() error {
	for _, t := range b.order {
		rows := b.buf[t]
		if len(rows) == 0 {
			continue
		}
		if err := b.write(t, rows); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		b.counts[t] += int64(len(rows))
		b.buf[t] = rows[:0]
	}
	b.total = 0
	return nil
}

// sqliteJSONRows is how many rows one SQLite statement carries as a JSON
// array: one parameter, so the statement is parsed once per chunk and
// binding costs nothing however many rows it holds.
const sqliteJSONRows = 5000

func (b *BulkLoader) write(table string, rows [][]any) error {
	cols := b.cols[table]
	if pq, ok := b.q.(pgQ); ok {
		if tx, ok := pq.c.(pgx.Tx); ok {
			_, err := tx.CopyFrom(b.ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			return err
		}
	}
	var sel strings.Builder
	for i := range cols {
		if i > 0 {
			sel.WriteString(", ")
		}
		fmt.Fprintf(&sel, "json_extract(value, '$[%d]')", i)
	}
	query := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT " + sel.String() + " FROM json_each($1)"
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), sqliteJSONRows)]
		rows = rows[len(chunk):]
		data, err := json.Marshal(chunk)
		if err != nil {
			return err
		}
		if _, err := b.q.exec(b.ctx, query, string(data)); err != nil {
			return err
		}
	}
	return nil
}

// rollupSince adds the activity rows after id before to the rollup.
func rollupSince(ctx context.Context, q querier, before int64) error {
	_, err := q.exec(ctx, `INSERT INTO activity_monthly (district_id, month, school_id, subject_id, action, n, total)
		SELECT district_id, month, school_id, subject_id, action, COUNT(*), CAST(SUM(value) AS BIGINT)
		FROM activity_log WHERE id > $1
		GROUP BY district_id, month, school_id, subject_id, action
		ON CONFLICT (district_id, month, school_id, subject_id, action)
		DO UPDATE SET n = activity_monthly.n + excluded.n, total = activity_monthly.total + excluded.total`, before)
	return err
}

// Tables lists the declared tables in order.
func (b *BulkLoader) Tables() []string { return slices.Clone(b.order) }

// UserSearch is the search text of a user, as creating one stores it.
func (b *BulkLoader) UserSearch(in UserInput) string { return userSearch(in) }

// SchoolSearch is the search text of a school, as creating one stores it.
func (b *BulkLoader) SchoolSearch(code, name string) string { return schoolSearch(code, name) }
