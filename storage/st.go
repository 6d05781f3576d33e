package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// S-T analysis: experts' hand codes of single samples of a recording. The
// automatic coding is computed from the speaking intervals and not stored.

// STCode is an expert's code of one sample of a recording, at a sampling
// interval, beside the automatic code it replaced.
type STCode struct {
	Sample    int       `json:"sample"`
	Code      string    `json:"code"`      // S or T
	AutoCode  string    `json:"auto_code"` // the automatic code when it was made
	CodedBy   UserID    `json:"coded_by"`
	CoderName string    `json:"coder_name"`
	CodedAt   time.Time `json:"coded_at"`
}

// STCodes lists the hand codes of a recording at a sampling interval, by
// sample.
func (s *Store) STCodes(ctx context.Context, id RecordingID, intervalMS int64) ([]STCode, error) {
	rs, err := s.r().query(ctx, `SELECT c.sample, c.code, c.auto_code, c.coded_by, COALESCE(u.name, ''), c.coded_at
		FROM st_codes c LEFT JOIN users u ON u.id = c.coded_by
		WHERE c.recording_id = $1 AND c.interval_ms = $2 ORDER BY c.sample`, int64(id), intervalMS)
	if err != nil {
		return nil, fmt.Errorf("storage: S-T codes of recording %d: %w", id, err)
	}
	defer rs.Close()
	out := []STCode{}
	for rs.Next() {
		var c STCode
		var at int64
		if err := rs.Scan(&c.Sample, &c.Code, &c.AutoCode, &c.CodedBy, &c.CoderName, &at); err != nil {
			return nil, fmt.Errorf("storage: S-T codes of recording %d: %w", id, err)
		}
		c.CodedAt = fromMS(at)
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: S-T codes of recording %d: %w", id, err)
	}
	return out, nil
}

// SetSTCode stores a.UserID's hand code of one sample ("S" or "T"; "" takes
// the hand code away, back to the automatic one), with an activity row
// "recording.st_code" in the same transaction.
func (s *Store) SetSTCode(ctx context.Context, a Actor, id RecordingID, intervalMS int64, sample int, code, autoCode string, at time.Time) error {
	if code != "" && code != "S" && code != "T" {
		return fmt.Errorf("storage: S-T code: %w", &FieldError{Field: "code", Message: "S, T or empty"})
	}
	err := s.tx(ctx, func(q querier) error {
		var district, school, subject int64
		var status, room string
		if err := q.queryRow(ctx, `SELECT district_id, school_id, subject_id, status, room FROM recordings WHERE id = $1`,
			int64(id)).Scan(&district, &school, &subject, &status, &room); err != nil {
			if isNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		if status == string(RecordingDeleted) {
			return ErrNotFound
		}
		if _, err := q.exec(ctx, `DELETE FROM st_codes WHERE recording_id = $1 AND interval_ms = $2 AND sample = $3`,
			int64(id), intervalMS, sample); err != nil {
			return err
		}
		if code != "" {
			if _, err := q.exec(ctx, `INSERT INTO st_codes (recording_id, interval_ms, sample, code, auto_code, coded_by, coded_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, int64(id), intervalMS, sample, code, autoCode, int64(a.UserID), ms(at)); err != nil {
				return mapErr(err, nil)
			}
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: "recording.st_code", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: recordingSubject(id), RoomID: room},
			map[string]any{"interval_ms": intervalMS, "sample": sample, "code": code, "auto_code": autoCode}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: S-T code of recording %d: %w", id, err)
	}
	return nil
}

// TutoringAudit is a tutoring session as an expert audits it: with its
// rating, the teacher's note and, where it was recorded, the recording.
type TutoringAudit struct {
	TutoringSession
	SchoolName  string      `json:"school_name"`
	SubjectName string      `json:"subject_name"`
	RecordingID RecordingID `json:"recording_id,omitempty"`
}

// TutoringAuditFilter selects sessions to audit.
type TutoringAuditFilter struct {
	// DistrictID bounds the list to the schools of a district; SchoolIDs,
	// when not nil, to those schools (empty: none). The school is the
	// student's.
	DistrictID DistrictID
	SchoolIDs  []SchoolID
	SchoolID   SchoolID
	TeacherID  UserID
	// Rated: only those with (true) or without (false) a rating.
	Rated *bool
	// MaxScore, when not 0: only ratings of at most this score.
	MaxScore int
	From, To time.Time // accepted in [From, To)
	Limit    int
	Offset   int
}

// AuditTutoringSessions lists ended and live sessions in scope, newest
// first, and the number of matches.
func (s *Store) AuditTutoringSessions(ctx context.Context, f TutoringAuditFilter) ([]TutoringAudit, int, error) {
	if f.SchoolIDs != nil && len(f.SchoolIDs) == 0 {
		return []TutoringAudit{}, 0, nil
	}
	c := &filter{d: s.d}
	if f.DistrictID != 0 {
		c.add("ts.school_id IN (SELECT id FROM schools WHERE district_id = $%d)", int64(f.DistrictID))
	}
	if f.SchoolIDs != nil {
		c.in("ts.school_id", ids(f.SchoolIDs))
	}
	if f.SchoolID != 0 {
		c.add("ts.school_id = $%d", int64(f.SchoolID))
	}
	if f.TeacherID != 0 {
		c.add("ts.teacher_id = $%d", int64(f.TeacherID))
	}
	if f.Rated != nil {
		if *f.Rated {
			c.where = append(c.where, "ts.id IN (SELECT session_id FROM tutoring_ratings)")
		} else {
			c.where = append(c.where, "ts.id NOT IN (SELECT session_id FROM tutoring_ratings)")
		}
	}
	if f.MaxScore != 0 {
		c.add("ts.id IN (SELECT session_id FROM tutoring_ratings WHERE score <= $%d)", f.MaxScore)
	}
	if !f.From.IsZero() {
		c.add("ts.created_at >= $%d", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("ts.created_at < $%d", ms(f.To))
	}
	where := whereClause(c.where)
	var total int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM tutoring_sessions ts"+where, c.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: audit tutoring sessions: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	n := len(c.args)
	args := append(c.args, limit, offset)
	cond := strings.TrimPrefix(where, " WHERE ")
	if cond == "" {
		cond = "1 = 1"
	}
	sessions, err := s.readSessions(ctx, fmt.Sprintf("%s ORDER BY ts.id DESC LIMIT $%d OFFSET $%d", cond, n+1, n+2), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: audit tutoring sessions: %w", err)
	}
	out := make([]TutoringAudit, 0, len(sessions))
	if len(sessions) == 0 {
		return out, total, nil
	}
	var sids []int64
	idx := map[TutoringSessionID]int{}
	for i, t := range sessions {
		out = append(out, TutoringAudit{TutoringSession: t})
		sids = append(sids, int64(t.ID))
		idx[t.ID] = i
	}
	rs, err := s.r().query(ctx, `SELECT ts.id, COALESCE(sc.name, ''), COALESCE(sub.name, ''),
		COALESCE((SELECT MAX(r.id) FROM recordings r WHERE r.tutoring_session_id = ts.id AND r.status <> 'deleted'), 0)
		FROM tutoring_sessions ts LEFT JOIN schools sc ON sc.id = ts.school_id LEFT JOIN subjects sub ON sub.id = ts.subject_id
		WHERE `+s.d.inList("ts.id", 1), s.d.listArg(sids))
	if err != nil {
		return nil, 0, fmt.Errorf("storage: audit tutoring sessions: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var id TutoringSessionID
		var school, subject string
		var rec int64
		if err := rs.Scan(&id, &school, &subject, &rec); err != nil {
			return nil, 0, fmt.Errorf("storage: audit tutoring sessions: %w", err)
		}
		a := &out[idx[id]]
		a.SchoolName, a.SubjectName, a.RecordingID = school, subject, RecordingID(rec)
	}
	return out, total, rs.Err()
}
