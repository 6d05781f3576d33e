package storage

import (
	"context"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
)

// BulkLoadActivity appends many activity rows in one transaction, for
// seeding demonstration data and for benchmarks; the live path appends with
// RecordActivity. Rows go in with COPY on Postgres (prepared inserts on
// SQLite), and the rollup is brought up to date once at the end with one
// grouped INSERT … SELECT over the rows just loaded. It returns how many
// rows were loaded.
func (s *Store) BulkLoadActivity(ctx context.Context, acts iter.Seq[Activity]) (int64, error) {
	var n int64
	err := s.tx(ctx, func(q querier) error {
		n = 0
		if s.d.postgres {
			// Wait for the writers in flight and keep new ones out, so the
			// rows after "before" are exactly the ones loaded here.
			if _, err := q.exec(ctx, "LOCK TABLE activity_log IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		var before int64
		if err := q.queryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM activity_log").Scan(&before); err != nil {
			return err
		}
		// Active users are added from the loaded rows at the end, in one
		// statement, not by the trigger per row.
		if err := setRollupsOff(ctx, q, true); err != nil {
			return err
		}
		if pq, ok := q.(pgQ); ok {
			next, stop := iter.Pull(acts)
			defer stop()
			cols := []string{"at_ms", "month", "actor_id", "action", "district_id", "school_id", "subject_id",
				"subject", "room_id", "session_id", "value", "detail"}
			var err error
			n, err = pq.c.(pgx.Tx).CopyFrom(ctx, pgx.Identifier{"activity_log"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
				a, ok := next()
				if !ok {
					return nil, nil
				}
				return []any{ms(a.At), s.Month(a.At), int64(a.ActorID), a.Action, int64(a.DistrictID), int64(a.SchoolID),
					int64(a.SubjectID), a.Subject, a.RoomID, a.SessionID, a.Value, a.Detail}, nil
			}))
			if err != nil {
				return err
			}
		} else {
			for a := range acts {
				if _, err := q.exec(ctx, insertActivity, ms(a.At), s.Month(a.At), int64(a.ActorID), a.Action,
					int64(a.DistrictID), int64(a.SchoolID), int64(a.SubjectID), a.Subject, a.RoomID, a.SessionID,
					a.Value, a.Detail); err != nil {
					return err
				}
				n++
			}
		}
		_, err := q.exec(ctx, `INSERT INTO activity_monthly (district_id, month, school_id, subject_id, action, n, total)
			SELECT district_id, month, school_id, subject_id, action, COUNT(*), CAST(SUM(value) AS BIGINT)
			FROM activity_log WHERE id > $1
			GROUP BY district_id, month, school_id, subject_id, action
			ON CONFLICT (district_id, month, school_id, subject_id, action)
			DO UPDATE SET n = activity_monthly.n + excluded.n, total = activity_monthly.total + excluded.total`, before)
		if err == nil {
			err = s.addActiveUsersSince(ctx, q, before)
		}
		if err == nil {
			err = setRollupsOff(ctx, q, false)
		}
		if err != nil || !s.d.postgres {
			return err
		}
		// Fresh statistics, so the planner knows the tables are large now.
		_, err = q.exec(ctx, "ANALYZE activity_log, activity_monthly")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: bulk load activity: %w", err)
	}
	return n, nil
}
