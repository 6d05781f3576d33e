package storage

import (
	"context"
	"fmt"
)

const targetCols = `school_id, year, lessons_recorded, teachers_participating, trainee_coverage_pct, lessons_reviewed, version`

func scanTarget(r row) (Target, error) {
	var t Target
	err := r.Scan((*int64)(&t.SchoolID), &t.Year, &t.LessonsRecorded, &t.TeachersParticipating, &t.TraineeCoveragePct, &t.LessonsReviewed, &t.Version)
	return t, err
}

// ListTargets lists a year's targets by school id; schools nil means every school.
func (s *Store) ListTargets(ctx context.Context, year int, schools []SchoolID) ([]Target, error) {
	out := []Target{}
	if schools != nil && len(schools) == 0 {
		return out, nil
	}
	query := "SELECT " + targetCols + " FROM school_targets WHERE year = $1"
	args := []any{year}
	if schools != nil {
		query += " AND " + s.d.inList("school_id", 2)
		args = append(args, s.d.listArg(ids(schools)))
	}
	r, err := s.r().query(ctx, query+" ORDER BY school_id", args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list targets: %w", err)
	}
	defer r.Close()
	for r.Next() {
		t, err := scanTarget(r)
		if err != nil {
			return nil, fmt.Errorf("storage: list targets: %w", err)
		}
		out = append(out, t)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: list targets: %w", err)
	}
	return out, nil
}

// SetTarget upserts a school's target for a year; a non-zero Version must
// match (ErrConflict otherwise), a zero Version writes whatever is stored.
// It logs "target.set".
func (s *Store) SetTarget(ctx context.Context, a Actor, t Target) (Target, error) {
	switch {
	case t.Year < 2000 || t.Year > 2200:
		return Target{}, fmt.Errorf("storage: set target: %w", &FieldError{Field: "year", Message: "is out of range"})
	case t.LessonsRecorded < 0:
		return Target{}, fmt.Errorf("storage: set target: %w", &FieldError{Field: "lessons_recorded", Message: "must not be negative"})
	case t.TeachersParticipating < 0:
		return Target{}, fmt.Errorf("storage: set target: %w", &FieldError{Field: "teachers_participating", Message: "must not be negative"})
	case t.LessonsReviewed < 0:
		return Target{}, fmt.Errorf("storage: set target: %w", &FieldError{Field: "lessons_reviewed", Message: "must not be negative"})
	case t.TraineeCoveragePct < 0 || t.TraineeCoveragePct > 100:
		return Target{}, fmt.Errorf("storage: set target: %w", &FieldError{Field: "trainee_coverage_pct", Message: "must be between 0 and 100"})
	}
	var out Target
	err := s.tx(ctx, func(q querier) error {
		var district DistrictID
		err := q.queryRow(ctx, "SELECT district_id FROM schools WHERE id = $1", int64(t.SchoolID)).Scan((*int64)(&district))
		if isNoRows(err) {
			return &FieldError{Field: "school_id", Message: "no such school"}
		}
		if err != nil {
			return err
		}
		now := ms(s.now())
		if t.Version == 0 {
			out, err = scanTarget(q.queryRow(ctx, `INSERT INTO school_targets (`+targetCols+`, updated_at)
				VALUES ($1, $2, $3, $4, $5, $7, 1, $6)
				ON CONFLICT (school_id, year) DO UPDATE SET lessons_recorded = excluded.lessons_recorded,
					teachers_participating = excluded.teachers_participating,
					trainee_coverage_pct = excluded.trainee_coverage_pct,
					lessons_reviewed = excluded.lessons_reviewed,
					version = school_targets.version + 1, updated_at = excluded.updated_at
				RETURNING `+targetCols,
				int64(t.SchoolID), t.Year, t.LessonsRecorded, t.TeachersParticipating, t.TraineeCoveragePct, now, t.LessonsReviewed))
		} else {
			out, err = scanTarget(q.queryRow(ctx, `UPDATE school_targets SET lessons_recorded = $4, teachers_participating = $5,
				trainee_coverage_pct = $6, lessons_reviewed = $8, version = version + 1, updated_at = $7
				WHERE school_id = $1 AND year = $2 AND version = $3 RETURNING `+targetCols,
				int64(t.SchoolID), t.Year, t.Version, t.LessonsRecorded, t.TeachersParticipating, t.TraineeCoveragePct, now, t.LessonsReviewed))
			if isNoRows(err) {
				return ErrConflict
			}
		}
		if err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{
			Action: "target.set", DistrictID: district, SchoolID: t.SchoolID, Subject: fmt.Sprintf("target:%d:%d", t.SchoolID, t.Year),
		}, map[string]any{"year": out.Year, "version": out.Version}, nil)
	})
	if err != nil {
		return Target{}, fmt.Errorf("storage: set target of school %d for %d: %w", t.SchoolID, t.Year, err)
	}
	return out, nil
}
