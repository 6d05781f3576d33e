package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Micro-lessons: a teacher uploads a short video (the upload is a row of
// microlesson_uploads while its bytes arrive), then files it with a title,
// subject, grade and knowledge points; reviewers take it up, publish it or
// return it. Who may do which step and when is the microlessons domain's
// rule; every step writes its activity row here, in the same transaction.

// uploadsLockKey serializes the creation of uploads on Postgres, so that
// the limits on uploads in progress hold under concurrent requests
// (SQLite has one writer).
const uploadsLockKey = 0x79756e6b6501

// CreateMicrolessonUpload records an upload a user starts at u.CreatedAt —
// unless they already have perUser uploads in progress that have not
// expired (ErrTooMany), or the uploads kept (expired ones too, until they
// are removed) would then claim more than totalBytes together (ErrFull).
// A limit of 0 is no limit.
func (s *Store) CreateMicrolessonUpload(ctx context.Context, u MicrolessonUpload, perUser int, totalBytes int64) error {
	if u.ID == "" || u.SizeBytes < 0 {
		return fmt.Errorf("storage: create upload: %w", &FieldError{Field: "id", Message: "an upload needs an id and a size"})
	}
	err := s.tx(ctx, func(q querier) error {
		if s.d.postgres {
			if _, err := q.exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(uploadsLockKey)); err != nil {
				return err
			}
		}
		var n int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM microlesson_uploads WHERE user_id = $1 AND expires_at > $2`,
			int64(u.UserID), ms(u.CreatedAt)).Scan(&n); err != nil {
			return err
		}
		if perUser > 0 && n >= perUser {
			return fmt.Errorf("user %d has %d uploads in progress: %w", u.UserID, n, ErrTooMany)
		}
		if totalBytes > 0 {
			var sum int64
			if err := q.queryRow(ctx, `SELECT COALESCE(SUM(size_bytes), 0) FROM microlesson_uploads`).Scan(&sum); err != nil {
				return err
			}
			if sum+u.SizeBytes > totalBytes {
				return fmt.Errorf("uploads in progress claim %d bytes: %w", sum, ErrFull)
			}
		}
		_, err := q.exec(ctx, `INSERT INTO microlesson_uploads (id, user_id, size_bytes, filename, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, int64(u.UserID), u.SizeBytes, u.Filename, ms(u.CreatedAt), ms(u.ExpiresAt))
		return mapErr(err, map[string]string{"code": u.ID})
	})
	if err != nil {
		return fmt.Errorf("storage: create upload: %w", err)
	}
	return nil
}

const uploadCols = `id, user_id, size_bytes, filename, created_at, expires_at`

func scanUpload(r row) (MicrolessonUpload, error) {
	var u MicrolessonUpload
	var created, expires int64
	err := r.Scan(&u.ID, &u.UserID, &u.SizeBytes, &u.Filename, &created, &expires)
	u.CreatedAt, u.ExpiresAt = fromMS(created), fromMS(expires)
	return u, err
}

// GetMicrolessonUpload reads an upload in progress.
func (s *Store) GetMicrolessonUpload(ctx context.Context, id string) (MicrolessonUpload, error) {
	u, err := scanUpload(s.r().queryRow(ctx, "SELECT "+uploadCols+" FROM microlesson_uploads WHERE id = $1", id))
	if isNoRows(err) {
		return u, fmt.Errorf("storage: upload %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("storage: upload %q: %w", id, err)
	}
	return u, nil
}

func (s *Store) readUploads(ctx context.Context, where string, args ...any) ([]MicrolessonUpload, error) {
	rs, err := s.r().query(ctx, "SELECT "+uploadCols+" FROM microlesson_uploads WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []MicrolessonUpload{}
	for rs.Next() {
		u, err := scanUpload(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rs.Err()
}

// ListMicrolessonUploads lists a user's uploads in progress, oldest first.
func (s *Store) ListMicrolessonUploads(ctx context.Context, user UserID) ([]MicrolessonUpload, error) {
	out, err := s.readUploads(ctx, "user_id = $1 ORDER BY created_at, id", int64(user))
	if err != nil {
		return nil, fmt.Errorf("storage: uploads of user %d: %w", user, err)
	}
	return out, nil
}

// ExpiredMicrolessonUploads lists up to limit uploads that expired before now.
func (s *Store) ExpiredMicrolessonUploads(ctx context.Context, now time.Time, limit int) ([]MicrolessonUpload, error) {
	out, err := s.readUploads(ctx, "expires_at < $1 ORDER BY expires_at, id LIMIT $2", ms(now), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("storage: expired uploads: %w", err)
	}
	return out, nil
}

// DeleteMicrolessonUpload forgets an upload (ErrNotFound if there is none).
func (s *Store) DeleteMicrolessonUpload(ctx context.Context, id string) error {
	err := s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `DELETE FROM microlesson_uploads WHERE id = $1`, id)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: delete upload %q: %w", id, err)
	}
	return nil
}

// cleanMicrolesson trims the input and checks what the store enforces
// whoever calls it.
func cleanMicrolesson(in MicrolessonInput) (MicrolessonInput, error) {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Title == "":
		return in, &FieldError{Field: "title", Message: "required"}
	case !utf8.ValidString(in.Title) || utf8.RuneCountInString(in.Title) > MaxMicrolessonTitle:
		return in, &FieldError{Field: "title", Message: fmt.Sprintf("at most %d characters", MaxMicrolessonTitle)}
	case !utf8.ValidString(in.Description) || utf8.RuneCountInString(in.Description) > MaxMicrolessonDescription:
		return in, &FieldError{Field: "description", Message: fmt.Sprintf("at most %d characters", MaxMicrolessonDescription)}
	case in.Grade < 1 || in.Grade > 12:
		return in, &FieldError{Field: "grade", Message: "must be 1–12"}
	}
	var points []KnowledgePointID
	for _, kp := range in.KnowledgePoints {
		if !slices.Contains(points, kp) {
			points = append(points, kp)
		}
	}
	if len(points) > MaxMicrolessonPoints {
		return in, &FieldError{Field: "knowledge_point_ids", Message: fmt.Sprintf("at most %d knowledge points", MaxMicrolessonPoints)}
	}
	in.KnowledgePoints = points
	return in, nil
}

// checkSubjectAndPoints checks that the subject is active and every
// knowledge point is one of its points.
func checkSubjectAndPoints(ctx context.Context, q querier, subject SubjectID, points []KnowledgePointID) error {
	var active bool
	err := q.queryRow(ctx, `SELECT active FROM subjects WHERE id = $1`, int64(subject)).Scan(&active)
	if isNoRows(err) || (err == nil && !active) {
		return &FieldError{Field: "subject_id", Message: "no such subject"}
	}
	if err != nil {
		return err
	}
	for _, kp := range points {
		var sub int64
		err := q.queryRow(ctx, `SELECT subject_id FROM knowledge_points WHERE id = $1`, int64(kp)).Scan(&sub)
		if isNoRows(err) || (err == nil && sub != int64(subject)) {
			return &FieldError{Field: "knowledge_point_ids", Message: fmt.Sprintf("%d is not a knowledge point of this subject", kp)}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckMicrolessonInput checks what CreateMicrolesson and
// UpdateMicrolesson would check of the input (*FieldError), without
// writing: to refuse bad input before a large file is moved.
func (s *Store) CheckMicrolessonInput(ctx context.Context, in MicrolessonInput) error {
	in, err := cleanMicrolesson(in)
	if err == nil {
		err = checkSubjectAndPoints(ctx, s.r(), in.SubjectID, in.KnowledgePoints)
	}
	if err != nil {
		return fmt.Errorf("storage: micro-lesson: %w", err)
	}
	return nil
}

func setMicrolessonPoints(ctx context.Context, q querier, id MicrolessonID, points []KnowledgePointID) error {
	if _, err := q.exec(ctx, `DELETE FROM microlesson_points WHERE microlesson_id = $1`, int64(id)); err != nil {
		return err
	}
	for _, kp := range points {
		if _, err := q.exec(ctx, `INSERT INTO microlesson_points (microlesson_id, knowledge_point_id) VALUES ($1, $2)`,
			int64(id), int64(kp)); err != nil {
			return mapErr(err, nil)
		}
	}
	return nil
}

// CreateMicrolesson files the teacher's (a.UserID) finished upload as a
// submitted micro-lesson whose video, described by media, is already in
// the media store; the upload is forgotten in the same transaction
// (ErrNotFound if it is not the teacher's upload in progress, so that two
// requests cannot file one upload twice). Activity: "microlesson.submit".
func (s *Store) CreateMicrolesson(ctx context.Context, a Actor, uploadID string, in MicrolessonInput, media MicrolessonMedia, at time.Time) (Microlesson, error) {
	in, err := cleanMicrolesson(in)
	if err != nil {
		return Microlesson{}, fmt.Errorf("storage: create micro-lesson: %w", err)
	}
	var id MicrolessonID
	err = s.tx(ctx, func(q querier) error {
		n, err := q.exec(ctx, `DELETE FROM microlesson_uploads WHERE id = $1 AND user_id = $2`, uploadID, int64(a.UserID))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("upload %q of user %d: %w", uploadID, a.UserID, ErrNotFound)
		}
		var district, school int64
		var active bool
		err = q.queryRow(ctx, `SELECT COALESCE(district_id, 0), COALESCE(school_id, 0), active FROM users WHERE id = $1`,
			int64(a.UserID)).Scan(&district, &school, &active)
		if isNoRows(err) || (err == nil && !active) {
			return &FieldError{Field: "teacher_id", Message: "no such teacher"}
		}
		if err != nil {
			return err
		}
		if err := checkSubjectAndPoints(ctx, q, in.SubjectID, in.KnowledgePoints); err != nil {
			return err
		}
		now := ms(at)
		if err := q.queryRow(ctx, `INSERT INTO microlessons
			(teacher_id, district_id, school_id, subject_id, grade, title, description, search, file_key, size_bytes,
			 container, video_codec, audio_codec, width, height, duration_ms, status, status_by, status_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'submitted', $1, $17, $17, $17)
			RETURNING id`,
			int64(a.UserID), district, school, int64(in.SubjectID), in.Grade, in.Title, in.Description, strings.ToLower(in.Title),
			media.FileKey, media.SizeBytes, media.Container, media.VideoCodec, media.AudioCodec, media.Width, media.Height,
			media.DurationMS, now).Scan(&id); err != nil {
			return mapErr(err, nil)
		}
		if err := setMicrolessonPoints(ctx, q, id, in.KnowledgePoints); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: "microlesson.submit", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: in.SubjectID, Subject: microlessonSubject(id), Value: media.DurationMS / 1000},
			map[string]any{"teacher_id": int64(a.UserID), "container": media.Container, "size": media.SizeBytes}, nil)
	})
	if err != nil {
		return Microlesson{}, fmt.Errorf("storage: create micro-lesson: %w", err)
	}
	return s.GetMicrolesson(ctx, id)
}

// microlessonRow reads what a change of a micro-lesson checks, locking the
// row on Postgres.
func (s *Store) microlessonRow(ctx context.Context, q querier, id MicrolessonID) (status MicrolessonStatus, version, district, school, subject, teacher int64, err error) {
	query := `SELECT status, version, district_id, school_id, subject_id, teacher_id FROM microlessons WHERE id = $1`
	if s.d.postgres {
		query += " FOR UPDATE"
	}
	var st string
	err = q.queryRow(ctx, query, int64(id)).Scan(&st, &version, &district, &school, &subject, &teacher)
	if isNoRows(err) {
		err = fmt.Errorf("micro-lesson %d: %w", id, ErrNotFound)
	}
	return MicrolessonStatus(st), version, district, school, subject, teacher, err
}

// UpdateMicrolesson replaces what the teacher said about a micro-lesson,
// when version matches (ErrConflict otherwise) and its status is one of
// editable (ErrClosed otherwise). Activity: "microlesson.update".
func (s *Store) UpdateMicrolesson(ctx context.Context, a Actor, id MicrolessonID, in MicrolessonInput, version int64, editable []MicrolessonStatus, at time.Time) (Microlesson, error) {
	in, err := cleanMicrolesson(in)
	if err != nil {
		return Microlesson{}, fmt.Errorf("storage: update micro-lesson %d: %w", id, err)
	}
	err = s.tx(ctx, func(q querier) error {
		status, v, district, school, _, teacher, err := s.microlessonRow(ctx, q, id)
		switch {
		case err != nil:
			return err
		case status == MicrolessonDeleted:
			return fmt.Errorf("micro-lesson %d: %w", id, ErrNotFound)
		case !slices.Contains(editable, status):
			return fmt.Errorf("micro-lesson %d is %s: %w", id, status, ErrClosed)
		case v != version:
			return ErrConflict
		}
		if err := checkSubjectAndPoints(ctx, q, in.SubjectID, in.KnowledgePoints); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE microlessons SET subject_id = $2, grade = $3, title = $4, description = $5, search = $6,
			version = version + 1, updated_at = $7 WHERE id = $1`,
			int64(id), int64(in.SubjectID), in.Grade, in.Title, in.Description, strings.ToLower(in.Title), ms(at)); err != nil {
			return err
		}
		if err := setMicrolessonPoints(ctx, q, id, in.KnowledgePoints); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: "microlesson.update", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: in.SubjectID, Subject: microlessonSubject(id)},
			map[string]any{"teacher_id": teacher, "version": version + 1}, nil)
	})
	if err != nil {
		return Microlesson{}, fmt.Errorf("storage: update micro-lesson %d: %w", id, err)
	}
	return s.GetMicrolesson(ctx, id)
}

// microlessonActions names the activity of each status a micro-lesson moves to.
var microlessonActions = map[MicrolessonStatus]string{
	MicrolessonSubmitted: "microlesson.submit",
	MicrolessonInReview:  "microlesson.review",
	MicrolessonApproved:  "microlesson.approve",
	MicrolessonPublished: "microlesson.publish",
	MicrolessonReturned:  "microlesson.return",
	MicrolessonDeleted:   "microlesson.delete",
}

// SetMicrolessonStatus moves a micro-lesson whose status is one of from
// (ErrClosed otherwise; ErrNotFound for a deleted one) to status to, by
// a.UserID at at; reason goes with a return. Activity: microlesson.submit
// (a returned one filed again), .review, .publish, .return or .delete.
// Taking one into review makes a.UserID its reviewer.
func (s *Store) SetMicrolessonStatus(ctx context.Context, a Actor, id MicrolessonID, from []MicrolessonStatus, to MicrolessonStatus, reason string, at time.Time) (Microlesson, error) {
	c := MicrolessonChange{From: from, To: to, Reason: reason}
	if to == MicrolessonInReview {
		c.Reviewer = a.UserID
	}
	return s.ChangeMicrolesson(ctx, a, id, c, at)
}

// ChangeMicrolesson takes one step of a micro-lesson's review (see
// MicrolessonChange), with its activity row in the same transaction.
func (s *Store) ChangeMicrolesson(ctx context.Context, a Actor, id MicrolessonID, c MicrolessonChange, at time.Time) (Microlesson, error) {
	action := c.Action
	if action == "" {
		action = microlessonActions[c.To]
	}
	if action == "" || !c.To.Valid() {
		return Microlesson{}, fmt.Errorf("storage: micro-lesson %d: %w", id, &FieldError{Field: "status", Message: "unknown status"})
	}
	reason := c.Reason
	if c.To != MicrolessonReturned {
		reason = ""
	}
	if c.Points != nil {
		if len(c.Points) > MaxMicrolessonPoints {
			return Microlesson{}, fmt.Errorf("storage: micro-lesson %d: %w", id, &FieldError{Field: "knowledge_point_ids",
				Message: fmt.Sprintf("at most %d knowledge points", MaxMicrolessonPoints)})
		}
		c.Points = slices.Compact(slices.Sorted(slices.Values(c.Points)))
	}
	err := s.tx(ctx, func(q querier) error {
		status, _, district, school, subject, teacher, err := s.microlessonRow(ctx, q, id)
		switch {
		case err != nil:
			return err
		case status == MicrolessonDeleted:
			return fmt.Errorf("micro-lesson %d: %w", id, ErrNotFound)
		case !slices.Contains(c.From, status):
			return fmt.Errorf("micro-lesson %d is %s: %w", id, status, ErrClosed)
		}
		if c.ExpectReviewer != 0 {
			var reviewer int64
			if err := q.queryRow(ctx, `SELECT reviewer_id FROM microlessons WHERE id = $1`, int64(id)).Scan(&reviewer); err != nil {
				return err
			}
			if UserID(reviewer) != c.ExpectReviewer {
				return fmt.Errorf("micro-lesson %d is assigned to another reviewer: %w", id, ErrConflict)
			}
		}
		if c.Points != nil {
			if err := checkSubjectAndPoints(ctx, q, SubjectID(subject), c.Points); err != nil {
				return err
			}
			if err := setMicrolessonPoints(ctx, q, id, c.Points); err != nil {
				return err
			}
		}
		published := "published_at"
		if c.To == MicrolessonPublished {
			published = "$5"
		}
		reviewer := "reviewer_id"
		args := []any{int64(id), string(c.To), reason, int64(a.UserID), ms(at)}
		if c.Reviewer != 0 {
			args = append(args, int64(c.Reviewer))
			reviewer = "$6"
		}
		if _, err := q.exec(ctx, `UPDATE microlessons SET status = $2, return_reason = $3, status_by = $4, status_at = $5,
			published_at = `+published+`, reviewer_id = `+reviewer+`, version = version + 1, updated_at = $5 WHERE id = $1`,
			args...); err != nil {
			return err
		}
		detail := map[string]any{"teacher_id": teacher, "from": string(status)}
		if reason != "" {
			detail["reason"] = reason
		}
		if c.Reviewer != 0 {
			detail["reviewer_id"] = c.Reviewer
		}
		if c.Points != nil {
			detail["knowledge_point_ids"] = c.Points
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: action, DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: microlessonSubject(id)}, detail, nil)
	})
	if err != nil {
		return Microlesson{}, fmt.Errorf("storage: micro-lesson %d to %s: %w", id, c.To, err)
	}
	return s.GetMicrolesson(ctx, id)
}

const microlessonCols = `m.id, m.teacher_id, u.name, m.district_id, m.school_id, COALESCE(sc.name, ''), m.subject_id, sub.code, sub.name,
	m.grade, m.title, m.description, m.file_key, m.size_bytes, m.container, m.video_codec, m.audio_codec, m.width, m.height,
	m.duration_ms, m.status, m.return_reason, m.reviewer_id, COALESCE(rv.name, ''), m.status_by, m.status_at, m.published_at, m.version, m.created_at, m.updated_at`

const microlessonFrom = ` FROM microlessons m
	JOIN users u ON u.id = m.teacher_id
	JOIN subjects sub ON sub.id = m.subject_id
	LEFT JOIN schools sc ON sc.id = m.school_id
	LEFT JOIN users rv ON rv.id = m.reviewer_id`

func scanMicrolesson(r row) (Microlesson, error) {
	var m Microlesson
	var status string
	var statusAt, published, created, updated int64
	err := r.Scan(&m.ID, &m.TeacherID, &m.TeacherName, &m.DistrictID, &m.SchoolID, &m.SchoolName, &m.SubjectID, &m.SubjectCode,
		&m.SubjectName, &m.Grade, &m.Title, &m.Description, &m.FileKey, &m.SizeBytes, &m.Container, &m.VideoCodec, &m.AudioCodec,
		&m.Width, &m.Height, &m.DurationMS, &status, &m.ReturnReason, &m.ReviewerID, &m.ReviewerName, &m.StatusBy, &statusAt, &published, &m.Version,
		&created, &updated)
	m.Status = MicrolessonStatus(status)
	m.StatusAt, m.CreatedAt, m.UpdatedAt = fromMS(statusAt), fromMS(created), fromMS(updated)
	if published != 0 {
		m.PublishedAt = fromMS(published)
	}
	m.KnowledgePoints = []KnowledgePointRef{}
	return m, err
}

// readMicrolessons reads micro-lessons with their knowledge points.
func (s *Store) readMicrolessons(ctx context.Context, where string, args ...any) ([]Microlesson, error) {
	rs, err := s.r().query(ctx, "SELECT "+microlessonCols+microlessonFrom+" WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []Microlesson
	idx := map[MicrolessonID]int{}
	var ids []int64
	for rs.Next() {
		m, err := scanMicrolesson(rs)
		if err != nil {
			rs.Close()
			return nil, err
		}
		idx[m.ID] = len(out)
		ids = append(ids, int64(m.ID))
		out = append(out, m)
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ps, err := s.r().query(ctx, `SELECT mp.microlesson_id, kp.id, kp.code, kp.name FROM microlesson_points mp
		JOIN knowledge_points kp ON kp.id = mp.knowledge_point_id WHERE `+s.d.inList("mp.microlesson_id", 1)+
		` ORDER BY mp.microlesson_id, kp.grade, kp.sort, kp.id`, s.d.listArg(ids))
	if err != nil {
		return nil, err
	}
	defer ps.Close()
	for ps.Next() {
		var id MicrolessonID
		var k KnowledgePointRef
		if err := ps.Scan(&id, &k.ID, &k.Code, &k.Name); err != nil {
			return nil, err
		}
		m := &out[idx[id]]
		m.KnowledgePoints = append(m.KnowledgePoints, k)
	}
	return out, ps.Err()
}

// GetMicrolesson reads one micro-lesson, deleted ones included.
func (s *Store) GetMicrolesson(ctx context.Context, id MicrolessonID) (Microlesson, error) {
	out, err := s.readMicrolessons(ctx, "m.id = $1", int64(id))
	if err != nil {
		return Microlesson{}, fmt.Errorf("storage: micro-lesson %d: %w", id, err)
	}
	if len(out) == 0 {
		return Microlesson{}, fmt.Errorf("storage: micro-lesson %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// ListMicrolessons lists one page of micro-lessons, the latest change of
// status first, and the number of matches.
func (s *Store) ListMicrolessons(ctx context.Context, f MicrolessonFilter) ([]Microlesson, int, error) {
	if f.SchoolIDs != nil && len(f.SchoolIDs) == 0 {
		return []Microlesson{}, 0, nil
	}
	c := &filter{d: s.d}
	if f.Statuses == nil {
		c.add("m.status <> $%d", string(MicrolessonDeleted))
	} else {
		var st []string
		for _, x := range f.Statuses {
			st = append(st, string(x))
		}
		c.in("m.status", st)
	}
	if f.DistrictID != 0 {
		c.add("m.district_id = $%d", int64(f.DistrictID))
	}
	if f.SchoolIDs != nil {
		c.in("m.school_id", ids(f.SchoolIDs))
	}
	if f.TeacherID != 0 {
		c.add("m.teacher_id = $%d", int64(f.TeacherID))
	}
	if f.ReviewerID != 0 {
		c.add("m.reviewer_id = $%d", int64(f.ReviewerID))
	}
	if f.SchoolID != 0 {
		c.add("m.school_id = $%d", int64(f.SchoolID))
	}
	if f.SubjectID != 0 {
		c.add("m.subject_id = $%d", int64(f.SubjectID))
	}
	if f.Grade != 0 {
		c.add("m.grade = $%d", f.Grade)
	}
	if f.KnowledgePointID != 0 {
		// The point and every point below it.
		c.add(`m.id IN (SELECT mp.microlesson_id FROM microlesson_points mp WHERE mp.knowledge_point_id IN (
			WITH RECURSIVE below(id) AS (
				SELECT CAST($%d AS BIGINT)
				UNION SELECT kp.id FROM knowledge_points kp JOIN below b ON kp.parent_id = b.id)
			SELECT id FROM below))`, int64(f.KnowledgePointID))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		c.add(`m.search LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	where := whereClause(c.where)
	var total int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM microlessons m"+where, c.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: list micro-lessons: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	n := len(c.args)
	args := append(c.args, limit, offset)
	out, err := s.readMicrolessons(ctx, fmt.Sprintf("%s ORDER BY m.status_at DESC, m.id DESC LIMIT $%d OFFSET $%d",
		strings.TrimPrefix(where, " WHERE "), n+1, n+2), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list micro-lessons: %w", err)
	}
	if out == nil {
		out = []Microlesson{}
	}
	return out, total, nil
}
