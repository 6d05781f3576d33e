package storage

import (
	"context"
	"fmt"
)

// QASettings reads a district's Q&A settings; a district that has not
// chosen gets def (with Chosen false).
func (s *Store) QASettings(ctx context.Context, d DistrictID, def QASettings) (QASettings, error) {
	out := QASettings{DistrictID: d, Chosen: true}
	var by *int64
	var at int64
	err := s.r().queryRow(ctx, `SELECT students_answer, shares_questions, updated_by, updated_at FROM qa_district_settings WHERE district_id = $1`,
		int64(d)).Scan(&out.StudentsAnswer, &out.SharesQuestions, &by, &at)
	if isNoRows(err) {
		def.DistrictID, def.Chosen = d, false
		return def, nil
	}
	if err != nil {
		return QASettings{}, fmt.Errorf("storage: Q&A settings of district %d: %w", d, err)
	}
	if by != nil {
		out.UpdatedBy = UserID(*by)
	}
	out.UpdatedAt = fromMS(at)
	return out, nil
}

// SetQASettings stores a district's Q&A settings and logs "qa.settings"
// in the same transaction. ErrNotFound if there is no such district.
func (s *Store) SetQASettings(ctx context.Context, a Actor, in QASettings) (QASettings, error) {
	now := s.now()
	var by *int64
	if a.UserID != 0 {
		v := int64(a.UserID)
		by = &v
	}
	err := s.tx(ctx, func(q querier) error {
		var n int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM districts WHERE id = $1`, int64(in.DistrictID)).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if _, err := q.exec(ctx, `INSERT INTO qa_district_settings (district_id, students_answer, shares_questions, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (district_id) DO UPDATE SET students_answer = excluded.students_answer,
				shares_questions = excluded.shares_questions,
				updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			int64(in.DistrictID), in.StudentsAnswer, in.SharesQuestions, by, ms(now)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "qa.settings", DistrictID: in.DistrictID,
			Subject: "district:" + itoa(in.DistrictID)}, map[string]any{"students_answer": in.StudentsAnswer,
			"shares_questions": in.SharesQuestions}, nil)
	})
	if err != nil {
		return QASettings{}, fmt.Errorf("storage: set Q&A settings of district %d: %w", in.DistrictID, err)
	}
	return QASettings{DistrictID: in.DistrictID, StudentsAnswer: in.StudentsAnswer, SharesQuestions: in.SharesQuestions,
		Chosen: true, UpdatedBy: a.UserID,
		UpdatedAt: fromMS(ms(now))}, nil
}
