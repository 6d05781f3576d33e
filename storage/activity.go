package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The activity log is append-only (activity_log) and statistics read a
// rollup of it (activity_monthly: one row per district, month, school,
// subject and action holding the count and the sum of Value). Both are
// written in the same transaction, so the rollup is always exactly the
// log summed up, and a year of a district's activity aggregates by
// reading a few thousand rollup rows instead of a million log rows.

const insertActivity = `INSERT INTO activity_log
	(at_ms, month, actor_id, action, district_id, school_id, subject_id, subject, room_id, session_id, value, detail)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

const upsertRollup = `INSERT INTO activity_monthly (district_id, month, school_id, subject_id, action, n, total)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (district_id, month, school_id, subject_id, action)
	DO UPDATE SET n = activity_monthly.n + excluded.n, total = activity_monthly.total + excluded.total`

// Month is the yyyymm of t in the zone activity is counted in (Asia/Shanghai).
func (s *Store) Month(t time.Time) int {
	t = t.In(s.loc)
	return t.Year()*100 + int(t.Month())
}

// rollupKey is one activity_monthly row.
type rollupKey struct {
	District DistrictID
	Month    int
	School   SchoolID
	Subject  SubjectID
	Action   string
}

type rollupSum struct{ N, Total int64 }

// activityBatch collects the rollup increments of many log rows written in
// one transaction (an import) so each rollup row is updated once.
type activityBatch map[rollupKey]rollupSum

// appendActivity inserts one log row; when batch is nil it also updates
// the rollup, otherwise it adds to batch for flushRollup.
func (s *Store) appendActivity(ctx context.Context, q querier, act Activity, batch activityBatch) error {
	if act.At.IsZero() {
		act.At = s.now()
	}
	if act.Action == "" {
		return &FieldError{Field: "action", Message: "is required"}
	}
	month := s.Month(act.At)
	if _, err := q.exec(ctx, insertActivity, ms(act.At), month, int64(act.ActorID), act.Action,
		int64(act.DistrictID), int64(act.SchoolID), int64(act.SubjectID), act.Subject, act.RoomID,
		act.SessionID, act.Value, act.Detail); err != nil {
		return fmt.Errorf("append activity %s: %w", act.Action, err)
	}
	k := rollupKey{act.DistrictID, month, act.SchoolID, act.SubjectID, act.Action}
	if batch != nil {
		sum := batch[k]
		sum.N++
		sum.Total += act.Value
		batch[k] = sum
		return nil
	}
	return addRollup(ctx, q, k, rollupSum{1, act.Value})
}

func addRollup(ctx context.Context, q querier, k rollupKey, sum rollupSum) error {
	if _, err := q.exec(ctx, upsertRollup, int64(k.District), k.Month, int64(k.School), int64(k.Subject),
		k.Action, sum.N, sum.Total); err != nil {
		return fmt.Errorf("update activity rollup: %w", err)
	}
	return nil
}

// flushRollup applies a batch's rollup increments.
func flushRollup(ctx context.Context, q querier, batch activityBatch) error {
	for k, sum := range batch {
		if err := addRollup(ctx, q, k, sum); err != nil {
			return err
		}
	}
	return nil
}

// logChange writes the activity row of a change made by a, in q's
// transaction. detail holds a few non-secret facts; the actor's IP is
// added to it.
func (s *Store) logChange(ctx context.Context, q querier, a Actor, act Activity, detail map[string]any, batch activityBatch) error {
	act.ActorID = a.UserID
	act.Detail = detailJSON(a, detail)
	return s.appendActivity(ctx, q, act, batch)
}

func detailJSON(a Actor, detail map[string]any) string {
	if a.IP != "" {
		if detail == nil {
			detail = map[string]any{}
		}
		detail["ip"] = a.IP
	}
	if len(detail) == 0 {
		return ""
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return ""
	}
	return string(b)
}

// RecordActivity appends one activity row on its own (for events that
// change nothing else, such as a sign-in).
func (s *Store) RecordActivity(ctx context.Context, act Activity) error {
	if err := s.tx(ctx, func(q querier) error {
		return s.appendActivity(ctx, q, act, nil)
	}); err != nil {
		return fmt.Errorf("storage: record activity: %w", err)
	}
	return nil
}

const activityCols = `id, at_ms, actor_id, action, district_id, school_id, subject_id, subject, room_id, session_id, value, detail`

// RecentActivity lists the newest rows, newest first; schools nil means
// all. A district of 0 means every district.
func (s *Store) RecentActivity(ctx context.Context, district DistrictID, schools []SchoolID, limit int) ([]Activity, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	if schools != nil && len(schools) == 0 {
		return []Activity{}, nil
	}
	var where []string
	var args []any
	if district != 0 {
		args = append(args, int64(district))
		where = append(where, fmt.Sprintf("district_id = $%d", len(args)))
	}
	if schools != nil {
		args = append(args, s.d.listArg(ids(schools)))
		where = append(where, s.d.inList("school_id", len(args)))
	}
	args = append(args, limit)
	query := "SELECT " + activityCols + " FROM activity_log" + whereClause(where) +
		fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	r, err := s.r().query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: recent activity: %w", err)
	}
	defer r.Close()
	out := []Activity{}
	for r.Next() {
		var a Activity
		var at int64
		if err := r.Scan((*int64)(&a.ID), &at, (*int64)(&a.ActorID), &a.Action, (*int64)(&a.DistrictID),
			(*int64)(&a.SchoolID), (*int64)(&a.SubjectID), &a.Subject, &a.RoomID, &a.SessionID, &a.Value, &a.Detail); err != nil {
			return nil, fmt.Errorf("storage: recent activity: %w", err)
		}
		a.At = fromMS(at)
		out = append(out, a)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: recent activity: %w", err)
	}
	return out, nil
}

// SummarizeActivity aggregates by month, school, subject and action. It
// reads the monthly rollup, never the log. A DistrictID of 0 means every
// district; a zero FromMonth or ToMonth leaves that end open.
func (s *Store) SummarizeActivity(ctx context.Context, q ActivityQuery) ([]ActivityBucket, error) {
	if q.SchoolIDs != nil && len(q.SchoolIDs) == 0 || q.Actions != nil && len(q.Actions) == 0 {
		return []ActivityBucket{}, nil
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.DistrictID != 0 {
		add("district_id = $%d", int64(q.DistrictID))
	}
	if q.FromMonth != 0 {
		add("month >= $%d", q.FromMonth)
	}
	if q.ToMonth != 0 {
		add("month <= $%d", q.ToMonth)
	}
	if q.SchoolIDs != nil {
		args = append(args, s.d.listArg(ids(q.SchoolIDs)))
		where = append(where, s.d.inList("school_id", len(args)))
	}
	if q.Actions != nil {
		args = append(args, s.d.listArg(q.Actions))
		where = append(where, s.d.inList("action", len(args)))
	}
	// With a district every bucket is one rollup row, read in primary key
	// order; across districts the sums add the districts' rows up.
	query := `SELECT month, school_id, subject_id, action, n, total FROM activity_monthly` + whereClause(where) +
		` ORDER BY month, school_id, subject_id, action`
	if q.DistrictID == 0 {
		query = `SELECT month, school_id, subject_id, action, CAST(SUM(n) AS BIGINT), CAST(SUM(total) AS BIGINT)
		FROM activity_monthly` + whereClause(where) + `
		GROUP BY month, school_id, subject_id, action
		ORDER BY month, school_id, subject_id, action`
	}
	r, err := s.r().query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: summarize activity: %w", err)
	}
	defer r.Close()
	out := []ActivityBucket{}
	for r.Next() {
		var b ActivityBucket
		if err := r.Scan(&b.Month, (*int64)(&b.SchoolID), (*int64)(&b.SubjectID), &b.Action, &b.Count, &b.Total); err != nil {
			return nil, fmt.Errorf("storage: summarize activity: %w", err)
		}
		out = append(out, b)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: summarize activity: %w", err)
	}
	return out, nil
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}
