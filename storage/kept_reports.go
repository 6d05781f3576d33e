package storage

import (
	"context"
	"fmt"
	"time"
)

// KeptReportID identifies a kept report.
type KeptReportID int64

// Kept report states.
const (
	KeptPending = "pending" // waiting for its job (first time, or asked again)
	KeptReady   = "ready"   // its files are kept
	KeptFailed  = "failed"  // the last generation failed: Error says why
)

// KeptPeriod is the period and place of a kept report: its key.
type KeptPeriod struct {
	Kind       string // week, month, term
	Label      string // 2026-W49
	Start, End time.Time
	DistrictID DistrictID
	SchoolID   SchoolID // 0: the district's report
}

// KeptReport is a report of a finished period kept with its files
// (docs/reports.md, "Scheduled reports"). Listing leaves the files out.
type KeptReport struct {
	ID KeptReportID
	KeptPeriod
	DistrictName string
	SchoolName   string
	Status       string
	// RequestedBy is 0 for the schedule, or the user who asked for the
	// report again; RequestedByName names them.
	RequestedBy     UserID
	RequestedByName string
	Error           string
	XLSXSize        int
	CSVSize         int
	CreatedAt       time.Time
	GeneratedAt     time.Time // zero until generated once
}

// KeptReportFilter selects kept reports, newest period first.
type KeptReportFilter struct {
	Kind  string // "" every kind
	Label string // "" every period
	// Start, when not zero, is the periods' start (the schedule's lookup).
	Start time.Time
	// All: every place; otherwise District (its report and its schools')
	// and/or Schools (their reports only).
	All      bool
	District DistrictID
	Schools  []SchoolID
	Status   string // "" every status
	Limit    int    // default 100, at most 1000
	Offset   int
}

const keptCols = `k.id, k.kind, k.label, k.period_start, k.period_end, k.district_id, k.school_id, COALESCE(d.name, ''), COALESCE(s.name, ''),
	k.status, k.requested_by, COALESCE(u.name, ''), k.error, COALESCE(LENGTH(k.xlsx), 0), COALESCE(LENGTH(k.csv), 0), k.created_at, k.generated_at`

const keptFrom = ` FROM kept_reports k LEFT JOIN districts d ON d.id = k.district_id
	LEFT JOIN schools s ON s.id = k.school_id LEFT JOIN users u ON u.id = k.requested_by`

func scanKept(r row) (KeptReport, error) {
	var k KeptReport
	var start, end, created, generated int64
	err := r.Scan((*int64)(&k.ID), &k.Kind, &k.Label, &start, &end, (*int64)(&k.DistrictID), (*int64)(&k.SchoolID), &k.DistrictName, &k.SchoolName,
		&k.Status, (*int64)(&k.RequestedBy), &k.RequestedByName, &k.Error, &k.XLSXSize, &k.CSVSize, &created, &generated)
	if err != nil {
		return k, err
	}
	k.Start, k.End, k.CreatedAt = fromMS(start), fromMS(end), fromMS(created)
	if generated != 0 {
		k.GeneratedAt = fromMS(generated)
	}
	return k, nil
}

// AddKeptReports adds, as pending, those of ps that are not kept yet (an
// equal period and place already there, from this node or another, is
// left alone), and returns how many it added.
func (s *Store) AddKeptReports(ctx context.Context, ps []KeptPeriod) (int, error) {
	n := 0
	for len(ps) > 0 {
		batch := ps[:min(len(ps), 200)]
		ps = ps[len(batch):]
		err := s.tx(ctx, func(q querier) error {
			added := 0
			for _, p := range batch {
				c, err := q.exec(ctx, `INSERT INTO kept_reports (kind, label, period_start, period_end, district_id, school_id, status, created_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, period_start, district_id, school_id) DO NOTHING`,
					p.Kind, p.Label, ms(p.Start), ms(p.End), int64(p.DistrictID), int64(p.SchoolID), KeptPending, ms(s.now()))
				if err != nil {
					return err
				}
				added += int(c)
			}
			n += added
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("storage: add kept reports: %w", err)
		}
	}
	return n, nil
}

// ListKeptReports lists the kept reports f selects, newest period first,
// districts before their schools, and how many there are in all.
func (s *Store) ListKeptReports(ctx context.Context, f KeptReportFilter) ([]KeptReport, int, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	where := " WHERE 1 = 1"
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Kind != "" {
		where += " AND k.kind = " + arg(f.Kind)
	}
	if f.Label != "" {
		where += " AND k.label = " + arg(f.Label)
	}
	if !f.Start.IsZero() {
		where += " AND k.period_start = " + arg(ms(f.Start))
	}
	if f.Status != "" {
		where += " AND k.status = " + arg(f.Status)
	}
	if !f.All {
		switch {
		case f.District != 0 && len(f.Schools) > 0:
			d := arg(int64(f.District))
			args = append(args, s.d.listArg(ids(f.Schools)))
			where += " AND (k.district_id = " + d + " OR (k.school_id <> 0 AND " + s.d.inList("k.school_id", len(args)) + "))"
		case f.District != 0:
			where += " AND k.district_id = " + arg(int64(f.District))
		case len(f.Schools) > 0:
			args = append(args, s.d.listArg(ids(f.Schools)))
			where += " AND k.school_id <> 0 AND " + s.d.inList("k.school_id", len(args))
		default:
			return []KeptReport{}, 0, nil // nowhere
		}
	}
	var total int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM kept_reports k"+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: count kept reports: %w", err)
	}
	q := "SELECT " + keptCols + keptFrom + where +
		" ORDER BY k.period_end DESC, k.kind, k.district_id, k.school_id LIMIT " + arg(f.Limit) + " OFFSET " + arg(f.Offset)
	r, err := s.r().query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list kept reports: %w", err)
	}
	defer r.Close()
	out := []KeptReport{}
	for r.Next() {
		k, err := scanKept(r)
		if err != nil {
			return nil, 0, fmt.Errorf("storage: list kept reports: %w", err)
		}
		out = append(out, k)
	}
	if err := r.Err(); err != nil {
		return nil, 0, fmt.Errorf("storage: list kept reports: %w", err)
	}
	return out, total, nil
}

// GetKeptReport returns a kept report without its files, or ErrNotFound.
func (s *Store) GetKeptReport(ctx context.Context, id KeptReportID) (KeptReport, error) {
	k, err := scanKept(s.r().queryRow(ctx, "SELECT "+keptCols+keptFrom+" WHERE k.id = $1", int64(id)))
	if isNoRows(err) {
		return KeptReport{}, fmt.Errorf("storage: kept report %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return KeptReport{}, fmt.Errorf("storage: kept report %d: %w", id, err)
	}
	return k, nil
}

// KeptReportFile returns a kept report's file, format "xlsx" or "csv";
// ErrNotFound when the report or its file (never generated) is missing.
func (s *Store) KeptReportFile(ctx context.Context, id KeptReportID, format string) ([]byte, error) {
	col := "csv"
	if format == "xlsx" {
		col = "xlsx"
	}
	var b []byte
	err := s.r().queryRow(ctx, "SELECT "+col+" FROM kept_reports WHERE id = $1", int64(id)).Scan(&b)
	if isNoRows(err) || err == nil && b == nil {
		return nil, fmt.Errorf("storage: kept report %d %s: %w", id, format, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: kept report %d %s: %w", id, format, err)
	}
	return b, nil
}

// FinishKeptReport keeps a report's generated files: it is ready.
func (s *Store) FinishKeptReport(ctx context.Context, id KeptReportID, xlsx, csv []byte, at time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "UPDATE kept_reports SET status = $2, xlsx = $3, csv = $4, generated_at = $5, error = '' WHERE id = $1",
			int64(id), KeptReady, xlsx, csv, ms(at))
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: finish kept report %d: %w", id, err)
	}
	return nil
}

// FailKeptReport records why a report's generation failed; the files of
// an earlier generation, if any, are kept.
func (s *Store) FailKeptReport(ctx context.Context, id KeptReportID, msg string) error {
	err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, "UPDATE kept_reports SET status = $2, error = $3 WHERE id = $1", int64(id), KeptFailed, msg)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: fail kept report %d: %w", id, err)
	}
	return nil
}

// RequestKeptReport marks a report to be generated again, asked by a
// user (its files stay until the new ones replace them), and logs
// "report.regenerate".
func (s *Store) RequestKeptReport(ctx context.Context, a Actor, id KeptReportID) (KeptReport, error) {
	k, err := s.GetKeptReport(ctx, id)
	if err != nil {
		return KeptReport{}, err
	}
	err = s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "UPDATE kept_reports SET status = $2, requested_by = $3, error = '' WHERE id = $1", int64(id), KeptPending, int64(a.UserID))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return s.logChange(ctx, q, a, Activity{Action: "report.regenerate", DistrictID: k.DistrictID, SchoolID: k.SchoolID,
			Subject: fmt.Sprintf("kept_report:%d", id)}, map[string]any{"kind": k.Kind, "label": k.Label}, nil)
	})
	if err != nil {
		return KeptReport{}, fmt.Errorf("storage: request kept report %d: %w", id, err)
	}
	return s.GetKeptReport(ctx, id)
}

// DeleteKeptReports deletes the reports of a kind whose period ended
// before end, and returns how many.
func (s *Store) DeleteKeptReports(ctx context.Context, kind string, end time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, "DELETE FROM kept_reports WHERE kind = $1 AND period_end < $2", kind, ms(end))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: delete kept reports: %w", err)
	}
	return int(n), nil
}
