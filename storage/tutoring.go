package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// One-to-one tutoring: a request waits, is offered to teachers one at a
// time, and when one accepts becomes a session; the student rates the
// session and the teacher notes it. The matcher (in memory or on Redis)
// decides who is offered what; these tables are the record it is rebuilt
// from, and every step writes its activity row in the same transaction.

// Limits of a request.
const (
	MaxRequestText  = 2000    // characters
	MaxRequestImage = 4 << 20 // bytes
	MaxRatingText   = 1000    // characters
	MaxNoteText     = 2000    // characters
)

// ErrClosed: the thing can no longer be changed (a rating after its edit
// window, a request that is no longer open).
var ErrClosed = errors.New("no longer open")

// ErrBusy is a teacher who already runs as many sessions as they may.
var ErrBusy = errors.New("teacher busy")

const requestCols = `r.id, r.student_id, u.name, r.school_id, r.subject_id, sub.code, r.grade, r.knowledge_point_id,
	r.text, r.has_image, r.status, r.session_id, r.created_at, r.updated_at,
	COALESCE((SELECT MIN(x.id) FROM qa_questions x WHERE x.author_id = r.student_id AND x.tutoring_request_id = r.id), 0)`

const requestFrom = ` FROM tutoring_requests r JOIN users u ON u.id = r.student_id JOIN subjects sub ON sub.id = r.subject_id`

// scanRequest reads requestCols, after the extra columns a query puts first.
func scanRequest(r row, extra ...any) (TutoringRequest, error) {
	var t TutoringRequest
	var created, updated int64
	var status string
	err := r.Scan(append(extra, &t.ID, &t.StudentID, &t.StudentName, &t.SchoolID, &t.SubjectID, &t.SubjectCode, &t.Grade,
		&t.KnowledgePointID, &t.Text, &t.HasImage, &status, &t.SessionID, &created, &updated, &t.QuestionID)...)
	t.Status = RequestStatus(status)
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, err
}

var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true}

// CreateTutoringRequest files a student's request; it waits in the queue.
func (s *Store) CreateTutoringRequest(ctx context.Context, a Actor, in TutoringRequestInput) (TutoringRequest, error) {
	in.Text = strings.TrimSpace(in.Text)
	switch {
	case in.Grade < 1 || in.Grade > 12:
		return TutoringRequest{}, &FieldError{Field: "grade", Message: "must be 1–12"}
	case in.Text == "" && len(in.Image) == 0:
		return TutoringRequest{}, &FieldError{Field: "text", Message: "write the question or attach a picture of it"}
	case utf8.RuneCountInString(in.Text) > MaxRequestText:
		return TutoringRequest{}, &FieldError{Field: "text", Message: fmt.Sprintf("at most %d characters", MaxRequestText)}
	case !utf8.ValidString(in.Text):
		return TutoringRequest{}, &FieldError{Field: "text", Message: "is not valid text"}
	case len(in.Image) > MaxRequestImage:
		return TutoringRequest{}, &FieldError{Field: "image", Message: fmt.Sprintf("at most %d MiB", MaxRequestImage>>20)}
	case len(in.Image) > 0 && !imageTypes[in.ImageType]:
		return TutoringRequest{}, &FieldError{Field: "image", Message: "must be a PNG, JPEG or WebP picture"}
	}
	var id TutoringRequestID
	err := s.tx(ctx, func(q querier) error {
		var district, school int64
		var active bool
		err := q.queryRow(ctx, `SELECT COALESCE(district_id, 0), COALESCE(school_id, 0), active FROM users WHERE id = $1`,
			int64(in.StudentID)).Scan(&district, &school, &active)
		if isNoRows(err) || (err == nil && !active) {
			return &FieldError{Field: "student_id", Message: "no such student"}
		}
		if err != nil {
			return err
		}
		var subActive bool
		err = q.queryRow(ctx, `SELECT active FROM subjects WHERE id = $1`, int64(in.SubjectID)).Scan(&subActive)
		if isNoRows(err) || (err == nil && !subActive) {
			return &FieldError{Field: "subject_id", Message: "no such subject"}
		}
		if err != nil {
			return err
		}
		if in.KnowledgePointID != 0 {
			var sub int64
			err := q.queryRow(ctx, `SELECT subject_id FROM knowledge_points WHERE id = $1`, int64(in.KnowledgePointID)).Scan(&sub)
			if isNoRows(err) || (err == nil && sub != int64(in.SubjectID)) {
				return &FieldError{Field: "knowledge_point_id", Message: "no such knowledge point in this subject"}
			}
			if err != nil {
				return err
			}
		}
		now := ms(s.now())
		if err := q.queryRow(ctx, `INSERT INTO tutoring_requests
			(student_id, district_id, school_id, subject_id, grade, knowledge_point_id, text, has_image, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'waiting', $9, $9) RETURNING id`,
			int64(in.StudentID), district, school, int64(in.SubjectID), in.Grade, int64(in.KnowledgePointID),
			in.Text, len(in.Image) > 0, now).Scan(&id); err != nil {
			return err
		}
		if len(in.Image) > 0 {
			if _, err := q.exec(ctx, `INSERT INTO tutoring_images (request_id, type, data) VALUES ($1, $2, $3)`,
				int64(id), in.ImageType, in.Image); err != nil {
				return err
			}
		}
		return s.logChange(ctx, q, a, Activity{Action: "tutoring.request", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: in.SubjectID, Subject: "tutoring_request:" + itoa(id)},
			map[string]any{"grade": in.Grade}, nil)
	})
	if err != nil {
		return TutoringRequest{}, fmt.Errorf("storage: create tutoring request: %w", err)
	}
	return s.GetTutoringRequest(ctx, id)
}

// GetTutoringRequest reads one request.
func (s *Store) GetTutoringRequest(ctx context.Context, id TutoringRequestID) (TutoringRequest, error) {
	t, err := scanRequest(s.r().queryRow(ctx, "SELECT "+requestCols+requestFrom+" WHERE r.id = $1", int64(id)))
	if isNoRows(err) {
		return TutoringRequest{}, fmt.Errorf("storage: tutoring request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return TutoringRequest{}, fmt.Errorf("storage: tutoring request %d: %w", id, err)
	}
	return t, nil
}

// TutoringRequestImage returns a request's picture and its content type.
func (s *Store) TutoringRequestImage(ctx context.Context, id TutoringRequestID) ([]byte, string, error) {
	var data []byte
	var typ string
	err := s.r().queryRow(ctx, `SELECT data, type FROM tutoring_images WHERE request_id = $1`, int64(id)).Scan(&data, &typ)
	if isNoRows(err) {
		return nil, "", fmt.Errorf("storage: image of tutoring request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, "", fmt.Errorf("storage: image of tutoring request %d: %w", id, err)
	}
	return data, typ, nil
}

// ActiveTutoringRequest is the student's waiting or offered request.
func (s *Store) ActiveTutoringRequest(ctx context.Context, student UserID) (TutoringRequest, error) {
	t, err := scanRequest(s.r().queryRow(ctx, "SELECT "+requestCols+requestFrom+
		" WHERE r.student_id = $1 AND r.status IN ('waiting', 'offered') ORDER BY r.id DESC LIMIT 1", int64(student)))
	if isNoRows(err) {
		return TutoringRequest{}, fmt.Errorf("storage: open request of user %d: %w", student, ErrNotFound)
	}
	if err != nil {
		return TutoringRequest{}, fmt.Errorf("storage: open request of user %d: %w", student, err)
	}
	return t, nil
}

// OpenTutoringRequests lists every waiting or offered request, oldest first.
func (s *Store) OpenTutoringRequests(ctx context.Context) ([]TutoringRequest, error) {
	rs, err := s.r().query(ctx, "SELECT "+requestCols+requestFrom+
		" WHERE r.status IN ('waiting', 'offered') ORDER BY r.created_at, r.id")
	if err != nil {
		return nil, fmt.Errorf("storage: open tutoring requests: %w", err)
	}
	defer rs.Close()
	var out []TutoringRequest
	for rs.Next() {
		t, err := scanRequest(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: open tutoring requests: %w", err)
		}
		out = append(out, t)
	}
	return out, rs.Err()
}

// requestKeys are the activity keys of a request.
func requestKeys(ctx context.Context, q querier, id TutoringRequestID) (district, school, subject int64, status string, err error) {
	err = q.queryRow(ctx, `SELECT district_id, school_id, subject_id, status FROM tutoring_requests WHERE id = $1`, int64(id)).
		Scan(&district, &school, &subject, &status)
	if isNoRows(err) {
		err = fmt.Errorf("tutoring request %d: %w", id, ErrNotFound)
	}
	return
}

// openRequest checks that the request is still open (ErrClosed otherwise),
// closes any pending offer of it as revoked, and returns its activity keys.
func openRequest(ctx context.Context, q querier, id TutoringRequestID, at time.Time) (district, school, subject int64, err error) {
	district, school, subject, status, err := requestKeys(ctx, q, id)
	if err != nil {
		return
	}
	if status != string(RequestWaiting) && status != string(RequestOffered) {
		return 0, 0, 0, fmt.Errorf("tutoring request %d is %s: %w", id, status, ErrClosed)
	}
	_, err = q.exec(ctx, `UPDATE tutoring_offers SET outcome = 'revoked', closed_at = $2
		WHERE request_id = $1 AND outcome = 'pending'`, int64(id), ms(at))
	return
}

// RecordTutoringOffer marks the request offered to the teacher until
// expires — unless the teacher already runs capacity sessions (ErrBusy): a
// matcher that lost track of a session must not reach a busy teacher.
func (s *Store) RecordTutoringOffer(ctx context.Context, id TutoringRequestID, teacher UserID, capacity int, at, expires time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		var running int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM tutoring_sessions WHERE teacher_id = $1 AND ended_at = 0`,
			int64(teacher)).Scan(&running); err != nil {
			return err
		}
		if running >= max(capacity, 1) {
			return fmt.Errorf("user %d runs %d sessions: %w", teacher, running, ErrBusy)
		}
		// An offer the record still shows open was lost with the matcher's
		// state (a Redis restart): it is superseded.
		district, school, subject, err := openRequest(ctx, q, id, at)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO tutoring_offers (request_id, teacher_id, outcome, offered_at, expires_at)
			VALUES ($1, $2, 'pending', $3, $4)`, int64(id), int64(teacher), ms(at), ms(expires)); err != nil {
			return mapErr(err, nil)
		}
		if _, err := q.exec(ctx, `UPDATE tutoring_requests SET status = 'offered', updated_at = $2 WHERE id = $1`,
			int64(id), ms(at)); err != nil {
			return err
		}
		return s.logChange(ctx, q, Actor{}, Activity{At: at, Action: "tutoring.offer", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: "tutoring_request:" + itoa(id)},
			map[string]any{"teacher_id": int64(teacher)}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: record offer of request %d: %w", id, err)
	}
	return nil
}

// CloseTutoringOffer ends the teacher's pending offer of the request with
// outcome (declined, lapsed or revoked); the request waits again. Closing
// an offer that is already closed changes nothing.
func (s *Store) CloseTutoringOffer(ctx context.Context, id TutoringRequestID, teacher UserID, outcome OfferOutcome, at time.Time) error {
	switch outcome {
	case OfferDeclined, OfferLapsed, OfferRevoked:
	default:
		return fmt.Errorf("storage: close offer: %w", &FieldError{Field: "outcome", Message: "must be declined, lapsed or revoked"})
	}
	err := s.tx(ctx, func(q querier) error {
		district, school, subject, _, err := requestKeys(ctx, q, id)
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, `UPDATE tutoring_offers SET outcome = $3, closed_at = $4
			WHERE request_id = $1 AND teacher_id = $2 AND outcome = 'pending'`, int64(id), int64(teacher), string(outcome), ms(at))
		if err != nil || n == 0 {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE tutoring_requests SET status = 'waiting', updated_at = $2
			WHERE id = $1 AND status = 'offered'`, int64(id), ms(at)); err != nil {
			return err
		}
		actor := Actor{}
		if outcome == OfferDeclined {
			actor.UserID = teacher
		}
		return s.logChange(ctx, q, actor, Activity{At: at, Action: "tutoring.offer_" + string(outcome), DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: "tutoring_request:" + itoa(id)},
			map[string]any{"teacher_id": int64(teacher)}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: close offer of request %d: %w", id, err)
	}
	return nil
}

// PendingTutoringOffer is the teacher's open offer and when it expires.
func (s *Store) PendingTutoringOffer(ctx context.Context, teacher UserID) (TutoringRequest, time.Time, error) {
	var exp int64
	t, err := scanRequest(s.r().queryRow(ctx, "SELECT o.expires_at, "+requestCols+requestFrom+
		" JOIN tutoring_offers o ON o.request_id = r.id WHERE o.teacher_id = $1 AND o.outcome = 'pending' ORDER BY o.id DESC LIMIT 1", int64(teacher)), &exp)
	if isNoRows(err) {
		return TutoringRequest{}, time.Time{}, fmt.Errorf("storage: pending offer of user %d: %w", teacher, ErrNotFound)
	}
	if err != nil {
		return TutoringRequest{}, time.Time{}, fmt.Errorf("storage: pending offer of user %d: %w", teacher, err)
	}
	return t, fromMS(exp), nil
}

// HasTutoringOffer reports whether the request was ever offered to the
// teacher (who may then see its picture).
func (s *Store) HasTutoringOffer(ctx context.Context, id TutoringRequestID, teacher UserID) (bool, error) {
	var n int
	err := s.r().queryRow(ctx, `SELECT COUNT(*) FROM tutoring_offers WHERE request_id = $1 AND teacher_id = $2`,
		int64(id), int64(teacher)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("storage: offers of request %d: %w", id, err)
	}
	return n > 0, nil
}

// CancelTutoringRequest withdraws an open request (ErrClosed otherwise).
func (s *Store) CancelTutoringRequest(ctx context.Context, a Actor, id TutoringRequestID, at time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		district, school, subject, err := openRequest(ctx, q, id, at)
		if err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE tutoring_requests SET status = 'cancelled', updated_at = $2 WHERE id = $1`,
			int64(id), ms(at)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: "tutoring.cancel", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: "tutoring_request:" + itoa(id)}, nil, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: cancel request %d: %w", id, err)
	}
	return nil
}

// AcceptTutoringOffer closes the teacher's pending offer as accepted and
// creates the session, hosted at nodeURL — unless the teacher already runs
// capacity sessions that have not ended (ErrBusy): whatever the matcher
// believes, the record never holds more. Accepts of one teacher are
// serialized (on Postgres by locking the teacher's row; SQLite has one
// writer), so two at once cannot both see a free place.
func (s *Store) AcceptTutoringOffer(ctx context.Context, id TutoringRequestID, teacher UserID, nodeURL string, capacity int, at time.Time) (TutoringSession, error) {
	var sid TutoringSessionID
	err := s.tx(ctx, func(q querier) error {
		if s.d.postgres {
			var locked int64
			if err := q.queryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, int64(teacher)).Scan(&locked); err != nil {
				if isNoRows(err) {
					return fmt.Errorf("user %d: %w", teacher, ErrNotFound)
				}
				return err
			}
		}
		var running int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM tutoring_sessions WHERE teacher_id = $1 AND ended_at = 0`,
			int64(teacher)).Scan(&running); err != nil {
			return err
		}
		if running >= max(capacity, 1) {
			return fmt.Errorf("user %d runs %d sessions: %w", teacher, running, ErrBusy)
		}
		var student, district, school, subject int64
		var grade int
		var status string
		err := q.queryRow(ctx, `SELECT student_id, district_id, school_id, subject_id, grade, status FROM tutoring_requests WHERE id = $1`,
			int64(id)).Scan(&student, &district, &school, &subject, &grade, &status)
		if isNoRows(err) {
			return fmt.Errorf("tutoring request %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, `UPDATE tutoring_offers SET outcome = 'accepted', closed_at = $3
			WHERE request_id = $1 AND teacher_id = $2 AND outcome = 'pending'`, int64(id), int64(teacher), ms(at))
		if err != nil {
			return err
		}
		if n == 0 || status != string(RequestOffered) {
			return fmt.Errorf("no open offer of request %d to user %d: %w", id, teacher, ErrClosed)
		}
		if err := q.queryRow(ctx, `INSERT INTO tutoring_sessions
			(request_id, student_id, teacher_id, district_id, school_id, subject_id, grade, node_url, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			int64(id), student, int64(teacher), district, school, subject, grade, nodeURL, ms(at)).Scan(&sid); err != nil {
			return mapErr(err, nil)
		}
		if _, err := q.exec(ctx, `UPDATE tutoring_requests SET status = 'matched', session_id = $2, updated_at = $3 WHERE id = $1`,
			int64(id), int64(sid), ms(at)); err != nil {
			return err
		}
		return s.logChange(ctx, q, Actor{UserID: teacher}, Activity{At: at, Action: "tutoring.accept", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), Subject: "tutoring_request:" + itoa(id),
			SessionID: "tutoring:" + itoa(sid)}, nil, nil)
	})
	if err != nil {
		return TutoringSession{}, fmt.Errorf("storage: accept request %d: %w", id, err)
	}
	return s.GetTutoringSession(ctx, sid)
}

const sessionCols = `ts.id, ts.request_id, ts.student_id, su.name, ts.teacher_id, tu.name, ts.school_id, ts.subject_id, ts.grade,
	ts.node_url, ts.created_at, ts.started_at, ts.ended_at, ts.duration_s, ts.end_reason,
	COALESCE(tr.score, 0), COALESCE(tr.comment, ''), COALESCE(tr.solved, FALSE), COALESCE(tr.rated_at, 0), COALESCE(tr.updated_at, 0),
	COALESCE(tn.note, ''), COALESCE(tn.updated_at, 0),
	COALESCE((SELECT MIN(x.id) FROM qa_questions x WHERE x.author_id = ts.student_id AND x.tutoring_request_id = ts.request_id), 0)`

const sessionFrom = ` FROM tutoring_sessions ts
	JOIN users su ON su.id = ts.student_id
	JOIN users tu ON tu.id = ts.teacher_id
	LEFT JOIN tutoring_ratings tr ON tr.session_id = ts.id
	LEFT JOIN tutoring_notes tn ON tn.session_id = ts.id`

func scanSession(r row) (TutoringSession, error) {
	var t TutoringSession
	var created, started, ended, ratedAt, ratingUpdated, noteUpdated int64
	var rating TutoringRating
	var note TeacherNote
	err := r.Scan(&t.ID, &t.RequestID, &t.StudentID, &t.StudentName, &t.TeacherID, &t.TeacherName, &t.SchoolID,
		&t.SubjectID, &t.Grade, &t.NodeURL, &created, &started, &ended, &t.DurationS, &t.EndReason,
		&rating.Score, &rating.Comment, &rating.Solved, &ratedAt, &ratingUpdated, &note.Note, &noteUpdated, &t.QuestionID)
	if err != nil {
		return t, err
	}
	t.Room = "tutor-" + itoa(t.ID)
	t.CreatedAt = fromMS(created)
	if started != 0 {
		t.StartedAt = fromMS(started)
	}
	if ended != 0 {
		t.EndedAt = fromMS(ended)
	}
	if rating.Score != 0 {
		rating.RatedAt, rating.UpdatedAt = fromMS(ratedAt), fromMS(ratingUpdated)
		t.Rating = &rating
	}
	if noteUpdated != 0 {
		note.UpdatedAt = fromMS(noteUpdated)
		t.Note = &note
	}
	return t, nil
}

// loadNotePoints fills in the knowledge points of the sessions' notes.
func (s *Store) loadNotePoints(ctx context.Context, sessions []TutoringSession) error {
	var with []int64
	idx := map[TutoringSessionID]int{}
	for i, t := range sessions {
		if t.Note != nil {
			with = append(with, int64(t.ID))
			idx[t.ID] = i
			t.Note.KnowledgePoints = []KnowledgePointID{}
		}
	}
	if len(with) == 0 {
		return nil
	}
	rs, err := s.r().query(ctx, `SELECT session_id, knowledge_point_id FROM tutoring_note_points WHERE `+
		s.d.inList("session_id", 1)+` ORDER BY session_id, knowledge_point_id`, s.d.listArg(with))
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var sid TutoringSessionID
		var kp KnowledgePointID
		if err := rs.Scan(&sid, &kp); err != nil {
			return err
		}
		n := sessions[idx[sid]].Note
		n.KnowledgePoints = append(n.KnowledgePoints, kp)
	}
	return rs.Err()
}

func (s *Store) readSessions(ctx context.Context, where string, args ...any) ([]TutoringSession, error) {
	rs, err := s.r().query(ctx, "SELECT "+sessionCols+sessionFrom+" WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []TutoringSession
	for rs.Next() {
		t, err := scanSession(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, s.loadNotePoints(ctx, out)
}

// GetTutoringSession reads one session with its rating and note.
func (s *Store) GetTutoringSession(ctx context.Context, id TutoringSessionID) (TutoringSession, error) {
	out, err := s.readSessions(ctx, "ts.id = $1", int64(id))
	if err != nil {
		return TutoringSession{}, fmt.Errorf("storage: tutoring session %d: %w", id, err)
	}
	if len(out) == 0 {
		return TutoringSession{}, fmt.Errorf("storage: tutoring session %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// LiveTutoringSessions lists the sessions that have not ended.
func (s *Store) LiveTutoringSessions(ctx context.Context) ([]TutoringSession, error) {
	out, err := s.readSessions(ctx, "ts.ended_at = 0 ORDER BY ts.id")
	if err != nil {
		return nil, fmt.Errorf("storage: live tutoring sessions: %w", err)
	}
	return out, nil
}

// ActiveTutoringSession is the user's session that has not ended.
func (s *Store) ActiveTutoringSession(ctx context.Context, user UserID) (TutoringSession, error) {
	out, err := s.readSessions(ctx, "ts.ended_at = 0 AND (ts.student_id = $1 OR ts.teacher_id = $1) ORDER BY ts.id DESC LIMIT 1", int64(user))
	if err != nil {
		return TutoringSession{}, fmt.Errorf("storage: live session of user %d: %w", user, err)
	}
	if len(out) == 0 {
		return TutoringSession{}, fmt.Errorf("storage: live session of user %d: %w", user, ErrNotFound)
	}
	return out[0], nil
}

// ListTutoringSessions lists a student's or a teacher's sessions, newest
// first, with the total.
func (s *Store) ListTutoringSessions(ctx context.Context, f SessionFilter) ([]TutoringSession, int, error) {
	var conds []string
	var args []any
	if f.StudentID != 0 {
		args = append(args, int64(f.StudentID))
		conds = append(conds, fmt.Sprintf("ts.student_id = $%d", len(args)))
	}
	if f.TeacherID != 0 {
		args = append(args, int64(f.TeacherID))
		conds = append(conds, fmt.Sprintf("ts.teacher_id = $%d", len(args)))
	}
	where := "1 = 1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	var total int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM tutoring_sessions ts WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: list tutoring sessions: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	args = append(args, limit, offset)
	out, err := s.readSessions(ctx, fmt.Sprintf("%s ORDER BY ts.id DESC LIMIT $%d OFFSET $%d", where, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list tutoring sessions: %w", err)
	}
	return out, total, nil
}

// StartTutoringSession records that both are in the room (once).
func (s *Store) StartTutoringSession(ctx context.Context, id TutoringSessionID, at time.Time) (TutoringSession, error) {
	err := s.tx(ctx, func(q querier) error {
		var district, school, subject int64
		err := q.queryRow(ctx, `UPDATE tutoring_sessions SET started_at = $2
			WHERE id = $1 AND started_at = 0 AND ended_at = 0 RETURNING district_id, school_id, subject_id`,
			int64(id), ms(at)).Scan(&district, &school, &subject)
		if isNoRows(err) {
			return nil // already started, or ended
		}
		if err != nil {
			return err
		}
		return s.logChange(ctx, q, Actor{}, Activity{At: at, Action: "tutoring.session_start", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), SessionID: "tutoring:" + itoa(id),
			RoomID: "tutor-" + itoa(id)}, nil, nil)
	})
	if err != nil {
		return TutoringSession{}, fmt.Errorf("storage: start session %d: %w", id, err)
	}
	return s.GetTutoringSession(ctx, id)
}

// EndTutoringSession records the end (once) and its reason; the duration
// counts from the start, and is 0 for a session that never started. ended
// reports whether this call ended it: ending a session again changes
// nothing and answers false.
func (s *Store) EndTutoringSession(ctx context.Context, id TutoringSessionID, at time.Time, reason string) (sess TutoringSession, ended bool, err error) {
	err = s.tx(ctx, func(q querier) error {
		ended = false
		var district, school, subject, started int64
		err := q.queryRow(ctx, `SELECT district_id, school_id, subject_id, started_at FROM tutoring_sessions WHERE id = $1 AND ended_at = 0`,
			int64(id)).Scan(&district, &school, &subject, &started)
		if isNoRows(err) {
			return nil // ended already, or missing: GetTutoringSession tells
		}
		if err != nil {
			return err
		}
		dur := 0
		if started != 0 {
			dur = int(max(ms(at)-started, 0) / 1000)
		}
		if _, err := q.exec(ctx, `UPDATE tutoring_sessions SET ended_at = $2, duration_s = $3, end_reason = $4 WHERE id = $1`,
			int64(id), ms(at), dur, reason); err != nil {
			return err
		}
		ended = true
		return s.logChange(ctx, q, Actor{}, Activity{At: at, Action: "tutoring.session_end", DistrictID: DistrictID(district),
			SchoolID: SchoolID(school), SubjectID: SubjectID(subject), SessionID: "tutoring:" + itoa(id),
			RoomID: "tutor-" + itoa(id), Value: int64(dur)}, map[string]any{"reason": reason}, nil)
	})
	if err != nil {
		return TutoringSession{}, false, fmt.Errorf("storage: end session %d: %w", id, err)
	}
	sess, err = s.GetTutoringSession(ctx, id)
	return sess, ended && err == nil, err
}

// SaveTutoringRating stores the student's rating of a session at at: the
// first rating ("tutoring.rate") or a change of it ("tutoring.rate_update").
// Who may rate, when, and what a valid rating is are the tutoring domain's
// rules; the store keeps what it is given.
func (s *Store) SaveTutoringRating(ctx context.Context, a Actor, id TutoringSessionID, r TutoringRating, at time.Time) (TutoringSession, error) {
	err := s.tx(ctx, func(q querier) error {
		var teacher, district, school, subject, created int64
		err := q.queryRow(ctx, `SELECT teacher_id, district_id, school_id, subject_id, created_at
			FROM tutoring_sessions WHERE id = $1`, int64(id)).Scan(&teacher, &district, &school, &subject, &created)
		if isNoRows(err) {
			return fmt.Errorf("tutoring session %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		var ratedAt int64
		err = q.queryRow(ctx, `SELECT rated_at FROM tutoring_ratings WHERE session_id = $1`, int64(id)).Scan(&ratedAt)
		first := isNoRows(err)
		if err != nil && !first {
			return err
		}
		if first {
			_, err = q.exec(ctx, `INSERT INTO tutoring_ratings
				(session_id, district_id, school_id, subject_id, teacher_id, month, score, comment, solved, rated_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
				int64(id), district, school, subject, teacher, s.Month(fromMS(created)), r.Score, r.Comment, r.Solved, ms(at))
		} else {
			_, err = q.exec(ctx, `UPDATE tutoring_ratings SET score = $2, comment = $3, solved = $4, updated_at = $5 WHERE session_id = $1`,
				int64(id), r.Score, r.Comment, r.Solved, ms(at))
		}
		if err != nil {
			return mapErr(err, nil)
		}
		action := "tutoring.rate"
		if !first {
			action = "tutoring.rate_update"
		}
		return s.logChange(ctx, q, a, Activity{At: at, Action: action, DistrictID: DistrictID(district), SchoolID: SchoolID(school),
			SubjectID: SubjectID(subject), SessionID: "tutoring:" + itoa(id), Value: int64(r.Score)},
			map[string]any{"teacher_id": teacher, "solved": r.Solved}, nil)
	})
	if err != nil {
		return TutoringSession{}, fmt.Errorf("storage: rate session %d: %w", id, err)
	}
	return s.GetTutoringSession(ctx, id)
}

// SaveTutoringNote stores the teacher's note of a session and its
// knowledge-point tags at now (each must be a point of the session's
// subject). Who may note and how long a note may be are the tutoring
// domain's rules.
func (s *Store) SaveTutoringNote(ctx context.Context, a Actor, id TutoringSessionID, note string, points []KnowledgePointID, now time.Time) (TutoringSession, error) {
	err := s.tx(ctx, func(q querier) error {
		var district, school, subject int64
		err := q.queryRow(ctx, `SELECT district_id, school_id, subject_id FROM tutoring_sessions WHERE id = $1`,
			int64(id)).Scan(&district, &school, &subject)
		if isNoRows(err) {
			return fmt.Errorf("tutoring session %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		seen := map[KnowledgePointID]bool{}
		for _, kp := range points {
			if seen[kp] {
				continue
			}
			seen[kp] = true
			var sub int64
			err := q.queryRow(ctx, `SELECT subject_id FROM knowledge_points WHERE id = $1`, int64(kp)).Scan(&sub)
			if isNoRows(err) || (err == nil && sub != subject) {
				return &FieldError{Field: "knowledge_point_ids", Message: fmt.Sprintf("%d is not a knowledge point of this subject", kp)}
			}
			if err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `INSERT INTO tutoring_notes (session_id, note, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (session_id) DO UPDATE SET note = excluded.note, updated_at = excluded.updated_at`,
			int64(id), note, ms(now)); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM tutoring_note_points WHERE session_id = $1`, int64(id)); err != nil {
			return err
		}
		for kp := range seen {
			if _, err := q.exec(ctx, `INSERT INTO tutoring_note_points (session_id, knowledge_point_id) VALUES ($1, $2)`,
				int64(id), int64(kp)); err != nil {
				return err
			}
		}
		return s.logChange(ctx, q, a, Activity{At: now, Action: "tutoring.note", DistrictID: DistrictID(district), SchoolID: SchoolID(school),
			SubjectID: SubjectID(subject), SessionID: "tutoring:" + itoa(id), Value: int64(len(seen))}, nil, nil)
	})
	if err != nil {
		return TutoringSession{}, fmt.Errorf("storage: note session %d: %w", id, err)
	}
	return s.GetTutoringSession(ctx, id)
}

// TutoringSatisfaction computes satisfaction (share of ratings ≥ 4, mean,
// distribution) per teacher, school, subject or month.
func (s *Store) TutoringSatisfaction(ctx context.Context, q SatisfactionQuery) ([]Satisfaction, error) {
	var key string
	switch q.GroupBy {
	case ByTeacher:
		key = "teacher_id"
	case BySchool:
		key = "school_id"
	case BySubject:
		key = "subject_id"
	case ByMonth, "":
		key = "month"
	default:
		return nil, &FieldError{Field: "group", Message: "must be teacher, school, subject or month"}
	}
	conds, args := s.satisfactionConds(q, "")
	return s.satisfaction(ctx, ratingGroups{what: "satisfaction", key: key, score: "score",
		solved: "CASE WHEN solved THEN 1 ELSE 0 END", from: "tutoring_ratings", conds: conds, args: args})
}
