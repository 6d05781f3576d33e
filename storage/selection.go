package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Quality-lesson selection and the shared library: a district's selection
// rounds, the recordings schools nominate to them (each nomination assigns
// the round's experts in the same transaction), the final selection, the
// lessons published to the library, their play counts (one per viewer,
// lesson and hour) and each school's consent to share its lessons in full.
// Every change writes its activity row in the same transaction.

// CreateSelectionRound stores a new round, open for nominations.
func (s *Store) CreateSelectionRound(ctx context.Context, a Actor, r SelectionRound) (SelectionRound, error) {
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "" || tooLong(r.Name, MaxReviewName):
		return SelectionRound{}, &FieldError{Field: "name", Message: "is required (at most 200 characters)"}
	case len(r.Experts) == 0 || len(r.Experts) > MaxRoundExperts:
		return SelectionRound{}, &FieldError{Field: "expert_ids", Message: fmt.Sprintf("choose 1 to %d experts", MaxRoundExperts)}
	case r.PerSchool < 1 || r.PerSchool > MaxRoundPerSchool:
		return SelectionRound{}, &FieldError{Field: "per_school", Message: fmt.Sprintf("1 to %d", MaxRoundPerSchool)}
	case r.Grade < 0 || r.Grade > 12:
		return SelectionRound{}, &FieldError{Field: "grade", Message: "1 to 12, or none"}
	case r.NominateBy.IsZero():
		return SelectionRound{}, &FieldError{Field: "nominate_by", Message: "is required"}
	case r.ReviewBy.Before(r.NominateBy):
		return SelectionRound{}, &FieldError{Field: "review_by", Message: "must not be before the nomination deadline"}
	}
	var id SelectionRoundID
	err := s.tx(ctx, func(q querier) error {
		if err := q.queryRow(ctx, `INSERT INTO selection_rounds (district_id, name, subject_id, grade, scheme_id, experts, per_school,
			nominate_by, review_by, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11) RETURNING id`,
			int64(r.DistrictID), r.Name, int64(r.SubjectID), r.Grade, int64(r.SchemeID), jsonText(r.Experts), r.PerSchool,
			ms(r.NominateBy), ms(r.ReviewBy), int64(a.UserID), ms(s.now())).Scan(&id); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "selection.round_create", DistrictID: r.DistrictID, SubjectID: r.SubjectID,
			Subject: "selection_round:" + itoa(id)}, map[string]any{"scheme": r.SchemeID, "experts": len(r.Experts)}, nil)
	})
	if err != nil {
		return SelectionRound{}, fmt.Errorf("storage: create selection round: %w", err)
	}
	return s.GetSelectionRound(ctx, id)
}

const roundCols = `id, district_id, name, subject_id, grade, scheme_id, experts, per_school, nominate_by, review_by, status, version,
	created_by, created_at, published_at`

func scanRound(rw row) (SelectionRound, error) {
	var r SelectionRound
	var experts string
	var nb, rb, created, published int64
	if err := rw.Scan(&r.ID, &r.DistrictID, &r.Name, &r.SubjectID, &r.Grade, &r.SchemeID, &experts, &r.PerSchool, &nb, &rb,
		&r.Status, &r.Version, &r.CreatedBy, &created, &published); err != nil {
		return r, err
	}
	r.NominateBy, r.ReviewBy, r.CreatedAt = fromMS(nb), fromMS(rb), fromMS(created)
	if published != 0 {
		r.PublishedAt = fromMS(published)
	}
	return r, json.Unmarshal([]byte(experts), &r.Experts)
}

// GetSelectionRound reads a round.
func (s *Store) GetSelectionRound(ctx context.Context, id SelectionRoundID) (SelectionRound, error) {
	r, err := scanRound(s.r().queryRow(ctx, `SELECT `+roundCols+` FROM selection_rounds WHERE id = $1`, int64(id)))
	if isNoRows(err) {
		return r, fmt.Errorf("storage: selection round %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("storage: selection round %d: %w", id, err)
	}
	return r, nil
}

// ListSelectionRounds lists a district's rounds (0: every district's), newest first; at most 500.
func (s *Store) ListSelectionRounds(ctx context.Context, district DistrictID) ([]SelectionRound, error) {
	rs, err := s.r().query(ctx, `SELECT `+roundCols+` FROM selection_rounds WHERE $1 = 0 OR district_id = $1 ORDER BY id DESC LIMIT 500`, int64(district))
	if err != nil {
		return nil, fmt.Errorf("storage: list selection rounds: %w", err)
	}
	defer rs.Close()
	out := []SelectionRound{}
	for rs.Next() {
		r, err := scanRound(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: list selection rounds: %w", err)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// Nominate adds a recording to an open round for its school, within the
// round's per-school quota, and assigns it to the experts given (in the
// same transaction). The round's row is updated first, so nominations to
// one round are serialized and the quota holds under parallel calls.
func (s *Store) Nominate(ctx context.Context, a Actor, round SelectionRound, rec Recording, assign []AssignmentInput) (SelectionEntry, error) {
	var id SelectionEntryID
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE selection_rounds SET version = version + 1 WHERE id = $1 AND status = 'open'`, int64(round.ID))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		var used, dup int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM selection_entries WHERE round_id = $1 AND school_id = $2`,
			int64(round.ID), int64(rec.SchoolID)).Scan(&used); err != nil {
			return err
		}
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM selection_entries WHERE round_id = $1 AND recording_id = $2`,
			int64(round.ID), int64(rec.ID)).Scan(&dup); err != nil {
			return err
		}
		if dup > 0 {
			return &DuplicateError{Field: "recording_id", Value: itoa(rec.ID)}
		}
		if used >= round.PerSchool {
			return &QuotaError{Limit: round.PerSchool}
		}
		if err := q.queryRow(ctx, `INSERT INTO selection_entries (round_id, recording_id, school_id, teacher_id, nominated_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, int64(round.ID), int64(rec.ID), int64(rec.SchoolID), int64(rec.TeacherID),
			int64(a.UserID), ms(s.now())).Scan(&id); err != nil {
			return mapErr(err, map[string]string{"recording_id": itoa(rec.ID)})
		}
		if _, err := s.insertAssignments(ctx, q, a, assign); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "selection.nominate", DistrictID: rec.DistrictID, SchoolID: rec.SchoolID,
			SubjectID: rec.SubjectID, Subject: recordingSubject(rec.ID)}, map[string]any{"round": round.ID, "entry": id}, nil)
	})
	if err != nil {
		return SelectionEntry{}, fmt.Errorf("storage: nominate recording %d: %w", rec.ID, err)
	}
	es, err := s.ListSelectionEntries(ctx, round.ID)
	if err != nil {
		return SelectionEntry{}, err
	}
	for _, e := range es {
		if e.ID == id {
			return e, nil
		}
	}
	return SelectionEntry{}, fmt.Errorf("storage: entry %d: %w", id, ErrNotFound)
}

// ListSelectionEntries lists a round's entries in the order they were nominated.
func (s *Store) ListSelectionEntries(ctx context.Context, round SelectionRoundID) ([]SelectionEntry, error) {
	rs, err := s.r().query(ctx, `SELECT e.id, e.round_id, e.recording_id, r.title, e.school_id, COALESCE(sc.name, ''), e.teacher_id, u.name,
		r.subject_id, r.grade, e.selected, e.nominated_by, e.created_at
		FROM selection_entries e JOIN recordings r ON r.id = e.recording_id JOIN users u ON u.id = e.teacher_id
		LEFT JOIN schools sc ON sc.id = e.school_id WHERE e.round_id = $1 ORDER BY e.id`, int64(round))
	if err != nil {
		return nil, fmt.Errorf("storage: entries of round %d: %w", round, err)
	}
	defer rs.Close()
	out := []SelectionEntry{}
	for rs.Next() {
		var e SelectionEntry
		var created int64
		if err := rs.Scan(&e.ID, &e.RoundID, &e.RecordingID, &e.Title, &e.SchoolID, &e.SchoolName, &e.TeacherID, &e.TeacherName,
			&e.SubjectID, &e.Grade, &e.Selected, &e.NominatedBy, &created); err != nil {
			return nil, fmt.Errorf("storage: entries of round %d: %w", round, err)
		}
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, rs.Err()
}

// SetSelection makes exactly the entries given the round's selection (the
// caller checks they are its entries); a selection.select activity row is
// written for each entry newly selected.
func (s *Store) SetSelection(ctx context.Context, a Actor, round SelectionRound, selected []SelectionEntryID) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE selection_rounds SET version = version + 1 WHERE id = $1 AND status = 'open'`, int64(round.ID))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		rs, err := q.query(ctx, `SELECT e.id, e.recording_id, e.school_id, e.selected, r.subject_id FROM selection_entries e
			JOIN recordings r ON r.id = e.recording_id WHERE e.round_id = $1`, int64(round.ID))
		if err != nil {
			return err
		}
		type ent struct {
			id        SelectionEntryID
			rec       RecordingID
			school    SchoolID
			was       bool
			subjectID SubjectID
		}
		var all []ent
		for rs.Next() {
			var e ent
			if err := rs.Scan(&e.id, &e.rec, &e.school, &e.was, &e.subjectID); err != nil {
				rs.Close()
				return err
			}
			all = append(all, e)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, e := range all {
			now := slices.Contains(selected, e.id)
			if now == e.was {
				continue
			}
			if _, err := q.exec(ctx, `UPDATE selection_entries SET selected = $2 WHERE id = $1`, int64(e.id), now); err != nil {
				return err
			}
			action := "selection.select"
			if !now {
				action = "selection.unselect"
			}
			if err := s.logChange(ctx, q, a, Activity{Action: action, DistrictID: round.DistrictID, SchoolID: e.school, SubjectID: e.subjectID,
				Subject: recordingSubject(e.rec)}, map[string]any{"round": round.ID, "entry": e.id}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: select entries of round %d: %w", round.ID, err)
	}
	return nil
}

// PublishRound closes an open round and adds the lessons given (its
// selected entries, scored) to the shared library; a recording already in
// the library stays as it is. It returns the lessons added.
func (s *Store) PublishRound(ctx context.Context, a Actor, round SelectionRound, lessons []LibraryLesson) ([]LibraryLessonID, error) {
	var added []LibraryLessonID
	err := s.tx(ctx, func(q querier) error {
		added = added[:0]
		now := ms(s.now())
		n, err := q.exec(ctx, `UPDATE selection_rounds SET status = 'published', published_at = $2, version = version + 1
			WHERE id = $1 AND status = 'open'`, int64(round.ID), now)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		for _, l := range lessons {
			var have int
			if err := q.queryRow(ctx, `SELECT COUNT(*) FROM library_lessons WHERE recording_id = $1`, int64(l.RecordingID)).Scan(&have); err != nil {
				return err
			}
			if have > 0 {
				continue
			}
			var id LibraryLessonID
			if err := q.queryRow(ctx, `INSERT INTO library_lessons (recording_id, round_id, district_id, school_id, teacher_id, subject_id, grade,
				title, score, reviews, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
				int64(l.RecordingID), int64(round.ID), int64(l.DistrictID), int64(l.SchoolID), int64(l.TeacherID), int64(l.SubjectID), l.Grade,
				truncRunes(l.Title, MaxReviewName), l.Score, l.Reviews, int64(a.UserID), now).Scan(&id); err != nil {
				return err
			}
			added = append(added, id)
			if err := s.logChange(ctx, q, a, Activity{Action: "library.publish", DistrictID: l.DistrictID, SchoolID: l.SchoolID,
				SubjectID: l.SubjectID, Subject: recordingSubject(l.RecordingID), Value: int64(l.Score + 0.5)},
				map[string]any{"round": round.ID, "lesson": id}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: publish round %d: %w", round.ID, err)
	}
	return added, nil
}

const lessonCols = `l.id, l.recording_id, l.round_id, l.district_id, l.school_id, COALESCE(sc.name, ''), l.teacher_id, COALESCE(u.name, ''),
	l.subject_id, COALESCE(sub.name, ''), l.grade, l.title, l.score, l.reviews, l.plays, r.duration_ms, l.published_by, l.published_at,
	l.withdrawn_at, l.withdrawn_by, l.withdraw_reason`

const lessonFrom = ` FROM library_lessons l JOIN recordings r ON r.id = l.recording_id
	LEFT JOIN users u ON u.id = l.teacher_id LEFT JOIN schools sc ON sc.id = l.school_id LEFT JOIN subjects sub ON sub.id = l.subject_id`

func (s *Store) readLessons(ctx context.Context, where string, args ...any) ([]LibraryLesson, error) {
	rs, err := s.r().query(ctx, `SELECT `+lessonCols+lessonFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	out := []LibraryLesson{}
	idx := map[RecordingID]int{}
	var list []int64
	for rs.Next() {
		var l LibraryLesson
		var at, wat int64
		if err := rs.Scan(&l.ID, &l.RecordingID, &l.RoundID, &l.DistrictID, &l.SchoolID, &l.SchoolName, &l.TeacherID, &l.TeacherName,
			&l.SubjectID, &l.SubjectName, &l.Grade, &l.Title, &l.Score, &l.Reviews, &l.Plays, &l.DurationMS, &l.PublishedBy, &at,
			&wat, &l.WithdrawnBy, &l.WithdrawReason); err != nil {
			rs.Close()
			return nil, err
		}
		l.PublishedAt, l.KnowledgePointIDs = fromMS(at), []KnowledgePointID{}
		if wat != 0 {
			l.Withdrawn, l.WithdrawnAt = true, fromMS(wat)
		}
		idx[l.RecordingID] = len(out)
		list = append(list, int64(l.RecordingID))
		out = append(out, l)
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ps, err := s.r().query(ctx, `SELECT recording_id, knowledge_point_id FROM recording_points WHERE `+
		s.d.inList("recording_id", 1)+` ORDER BY recording_id, knowledge_point_id`, s.d.listArg(list))
	if err != nil {
		return nil, err
	}
	defer ps.Close()
	for ps.Next() {
		var id RecordingID
		var kp KnowledgePointID
		if err := ps.Scan(&id, &kp); err != nil {
			return nil, err
		}
		out[idx[id]].KnowledgePointIDs = append(out[idx[id]].KnowledgePointIDs, kp)
	}
	return out, ps.Err()
}

// GetLibraryLesson reads a library lesson, withdrawn or not (Withdrawn
// says); one whose recording was deleted is not found.
func (s *Store) GetLibraryLesson(ctx context.Context, id LibraryLessonID) (LibraryLesson, error) {
	out, err := s.readLessons(ctx, `l.id = $1 AND r.status <> 'deleted'`, int64(id))
	if err != nil {
		return LibraryLesson{}, fmt.Errorf("storage: library lesson %d: %w", id, err)
	}
	if len(out) == 0 {
		return LibraryLesson{}, fmt.Errorf("storage: library lesson %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// ListLibrary lists library lessons, newest first, with the total
// matching: the published ones, or the withdrawn ones (f.Withdrawn).
func (s *Store) ListLibrary(ctx context.Context, f LibraryFilter) ([]LibraryLesson, int, error) {
	c := &filter{d: s.d}
	c.add("r.status <> $%d", string(RecordingDeleted))
	if f.Withdrawn {
		c.where = append(c.where, "l.withdrawn_at <> 0")
	} else {
		c.where = append(c.where, "l.withdrawn_at = 0")
	}
	if f.DistrictID != 0 {
		c.add("l.district_id = $%d", int64(f.DistrictID))
	}
	if f.SubjectID != 0 {
		c.add("l.subject_id = $%d", int64(f.SubjectID))
	}
	if f.Grade != 0 {
		c.add("l.grade = $%d", f.Grade)
	}
	if f.KnowledgePointID != 0 {
		// The point and every point below it.
		c.add(`l.recording_id IN (SELECT rp.recording_id FROM recording_points rp WHERE rp.knowledge_point_id IN (
			WITH RECURSIVE below(id) AS (
				SELECT CAST($%d AS BIGINT)
				UNION SELECT kp.id FROM knowledge_points kp JOIN below b ON kp.parent_id = b.id)
			SELECT id FROM below))`, int64(f.KnowledgePointID))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		c.add(`LOWER(l.title) LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	cond := strings.Join(c.where, " AND ")
	var total int
	if err := s.r().queryRow(ctx, `SELECT COUNT(*) FROM library_lessons l JOIN recordings r ON r.id = l.recording_id WHERE `+cond,
		c.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: list library: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	n := len(c.args)
	args := append(c.args, limit, offset)
	out, err := s.readLessons(ctx, fmt.Sprintf("%s ORDER BY l.published_at DESC, l.id DESC LIMIT $%d OFFSET $%d", cond, n+1, n+2), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list library: %w", err)
	}
	return out, total, nil
}

// LibraryRecordings maps the recordings of a district's library (0: every
// district's) to their lessons; withdrawn lessons are left out.
func (s *Store) LibraryRecordings(ctx context.Context, district DistrictID) (map[RecordingID]LibraryLessonID, error) {
	rs, err := s.r().query(ctx, `SELECT l.recording_id, l.id FROM library_lessons l JOIN recordings r ON r.id = l.recording_id
		WHERE ($1 = 0 OR l.district_id = $1) AND r.status <> 'deleted' AND l.withdrawn_at = 0`, int64(district))
	if err != nil {
		return nil, fmt.Errorf("storage: library recordings: %w", err)
	}
	defer rs.Close()
	out := map[RecordingID]LibraryLessonID{}
	for rs.Next() {
		var rec RecordingID
		var id LibraryLessonID
		if err := rs.Scan(&rec, &id); err != nil {
			return nil, fmt.Errorf("storage: library recordings: %w", err)
		}
		out[rec] = id
	}
	return out, rs.Err()
}

// CountPlay counts a play of a lesson by a viewer once per hour: the
// first call of the hour adds one to the lesson's plays and writes a
// library.play activity row; later calls (parallel ones included) change
// nothing. It returns whether this call counted and the lesson's plays.
func (s *Store) CountPlay(ctx context.Context, a Actor, l LibraryLesson, viewer UserID, at time.Time) (bool, int64, error) {
	var counted bool
	var plays int64
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `INSERT INTO library_plays (lesson_id, user_id, hour) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			int64(l.ID), int64(viewer), at.Unix()/3600)
		if err != nil {
			return err
		}
		counted = n == 1
		if counted {
			if _, err := q.exec(ctx, `UPDATE library_lessons SET plays = plays + 1 WHERE id = $1`, int64(l.ID)); err != nil {
				return err
			}
			if err := s.logChange(ctx, q, a, Activity{Action: "library.play", DistrictID: l.DistrictID, SchoolID: l.SchoolID,
				SubjectID: l.SubjectID, Subject: recordingSubject(l.RecordingID)}, map[string]any{"lesson": l.ID}, nil); err != nil {
				return err
			}
		}
		return q.queryRow(ctx, `SELECT plays FROM library_lessons WHERE id = $1`, int64(l.ID)).Scan(&plays)
	})
	if err != nil {
		return false, 0, fmt.Errorf("storage: count play of lesson %d: %w", l.ID, err)
	}
	return counted, plays, nil
}

// WithdrawLesson takes a lesson out of the library: it is no longer listed
// nor played, and keeps its row, plays and the withdrawal (who, when, the
// reason); a library.withdraw activity row holds the reason. A lesson
// withdrawn already is ErrClosed.
func (s *Store) WithdrawLesson(ctx context.Context, a Actor, id LibraryLessonID, reason string) (LibraryLesson, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || tooLong(reason, MaxWithdrawReason) {
		return LibraryLesson{}, &FieldError{Field: "reason", Message: fmt.Sprintf("1 to %d characters", MaxWithdrawReason)}
	}
	err := s.setWithdrawn(ctx, a, id, true, reason)
	if err != nil {
		return LibraryLesson{}, fmt.Errorf("storage: withdraw lesson %d: %w", id, err)
	}
	return s.GetLibraryLesson(ctx, id)
}

// RepublishLesson returns a withdrawn lesson to the library, with its
// plays, and writes a library.republish activity row. A lesson that is not
// withdrawn is ErrClosed.
func (s *Store) RepublishLesson(ctx context.Context, a Actor, id LibraryLessonID) (LibraryLesson, error) {
	if err := s.setWithdrawn(ctx, a, id, false, ""); err != nil {
		return LibraryLesson{}, fmt.Errorf("storage: republish lesson %d: %w", id, err)
	}
	return s.GetLibraryLesson(ctx, id)
}

func (s *Store) setWithdrawn(ctx context.Context, a Actor, id LibraryLessonID, withdraw bool, reason string) error {
	return s.tx(ctx, func(q querier) error {
		var l LibraryLesson
		var wat int64
		if err := q.queryRow(ctx, `SELECT district_id, school_id, subject_id, recording_id, withdrawn_at FROM library_lessons WHERE id = $1`,
			int64(id)).Scan(&l.DistrictID, &l.SchoolID, &l.SubjectID, &l.RecordingID, &wat); err != nil {
			if isNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		var n int64
		var err error
		action, detail := "library.republish", map[string]any{"lesson": id}
		if withdraw {
			action, detail["reason"] = "library.withdraw", reason
			n, err = q.exec(ctx, `UPDATE library_lessons SET withdrawn_at = $2, withdrawn_by = $3, withdraw_reason = $4
				WHERE id = $1 AND withdrawn_at = 0`, int64(id), ms(s.now()), int64(a.UserID), reason)
		} else {
			detail["withdrawn_at"] = wat
			n, err = q.exec(ctx, `UPDATE library_lessons SET withdrawn_at = 0, withdrawn_by = 0, withdraw_reason = ''
				WHERE id = $1 AND withdrawn_at <> 0`, int64(id))
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		return s.logChange(ctx, q, a, Activity{Action: action, DistrictID: l.DistrictID, SchoolID: l.SchoolID,
			SubjectID: l.SubjectID, Subject: recordingSubject(l.RecordingID)}, detail, nil)
	})
}

// GetSchoolConsent reads a school's consent (not granted when none was recorded).
func (s *Store) GetSchoolConsent(ctx context.Context, school SchoolID) (SchoolConsent, error) {
	c := SchoolConsent{SchoolID: school}
	var at int64
	err := s.r().queryRow(ctx, `SELECT granted, note, recorded_by, recorded_at FROM school_consents WHERE school_id = $1`, int64(school)).Scan(
		&c.Granted, &c.Note, &c.RecordedBy, &at)
	if isNoRows(err) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("storage: consent of school %d: %w", school, err)
	}
	c.RecordedAt = fromMS(at)
	return c, nil
}

// SetSchoolConsent records (or withdraws) a school's consent, with who and
// when, and a school.consent activity row holding the note.
func (s *Store) SetSchoolConsent(ctx context.Context, a Actor, district DistrictID, c SchoolConsent) (SchoolConsent, error) {
	c.Note = strings.TrimSpace(c.Note)
	if tooLong(c.Note, MaxConsentNote) {
		return SchoolConsent{}, &FieldError{Field: "note", Message: fmt.Sprintf("at most %d characters", MaxConsentNote)}
	}
	err := s.tx(ctx, func(q querier) error {
		now := ms(s.now())
		if _, err := q.exec(ctx, `INSERT INTO school_consents (school_id, granted, note, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (school_id) DO UPDATE SET granted = excluded.granted, note = excluded.note, recorded_by = excluded.recorded_by,
			recorded_at = excluded.recorded_at`, int64(c.SchoolID), c.Granted, c.Note, int64(a.UserID), now); err != nil {
			return err
		}
		var v int64
		if c.Granted {
			v = 1
		}
		return s.logChange(ctx, q, a, Activity{Action: "school.consent", DistrictID: district, SchoolID: c.SchoolID,
			Subject: "school:" + itoa(c.SchoolID), Value: v}, map[string]any{"granted": c.Granted, "note": c.Note}, nil)
	})
	if err != nil {
		return SchoolConsent{}, fmt.Errorf("storage: consent of school %d: %w", c.SchoolID, err)
	}
	return s.GetSchoolConsent(ctx, c.SchoolID)
}

// WithdrawEntry takes a nomination back while the round is open: the
// entry goes, with its review assignments of the round (review.unassign
// rows) and a selection.withdraw row. Once one of its experts has started
// (a draft or a submitted review) it is ErrClosed.
func (s *Store) WithdrawEntry(ctx context.Context, a Actor, round SelectionRound, id SelectionEntryID) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `UPDATE selection_rounds SET version = version + 1 WHERE id = $1 AND status = 'open'`, int64(round.ID))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		var rec RecordingID
		var school SchoolID
		var subject SubjectID
		err = q.queryRow(ctx, `SELECT e.recording_id, e.school_id, r.subject_id FROM selection_entries e JOIN recordings r ON r.id = e.recording_id
			WHERE e.id = $1 AND e.round_id = $2`, int64(id), int64(round.ID)).Scan(&rec, &school, &subject)
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		target := recordingSubject(rec)
		var started int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM review_assignments WHERE round = $1 AND target = $2 AND status <> 'assigned'`,
			round.ReviewRound(), target).Scan(&started); err != nil {
			return err
		}
		if started > 0 {
			return ErrClosed
		}
		rs, err := q.query(ctx, `SELECT id, expert_id FROM review_assignments WHERE round = $1 AND target = $2 ORDER BY id`, round.ReviewRound(), target)
		if err != nil {
			return err
		}
		type ax struct {
			id     AssignmentID
			expert UserID
		}
		var xs []ax
		for rs.Next() {
			var x ax
			if err := rs.Scan(&x.id, &x.expert); err != nil {
				rs.Close()
				return err
			}
			xs = append(xs, x)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for _, x := range xs {
			if _, err := q.exec(ctx, `DELETE FROM review_assignments WHERE id = $1`, int64(x.id)); err != nil {
				return err
			}
			if err := s.logChange(ctx, q, a, Activity{Action: "review.unassign", DistrictID: round.DistrictID, SchoolID: school, SubjectID: subject,
				Subject: target}, map[string]any{"assignment": x.id, "expert": x.expert}, nil); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `DELETE FROM selection_entries WHERE id = $1`, int64(id)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "selection.withdraw", DistrictID: round.DistrictID, SchoolID: school, SubjectID: subject,
			Subject: target}, map[string]any{"round": round.ID, "entry": id}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: withdraw entry %d: %w", id, err)
	}
	return nil
}
