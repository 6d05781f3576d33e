package storage

import (
	"context"
	"fmt"
	"time"
)

// The record of a class: attendance (one row per stay in the room) and the
// students' ratings.

// closeAt is the SQL of "the later of joined_at and $n": a stay never
// ends before it began.
func closeAt(n int) string {
	p := fmt.Sprintf("$%d", n)
	return "CASE WHEN joined_at > " + p + " THEN joined_at ELSE " + p + " END"
}

// RecordClassPresence writes joins and departures heard in classes' rooms,
// in order, in one transaction. A join opens a stay unless the person has
// one open already (a reconnect), which is then only marked seen; a
// departure closes the open stay. Events of unknown classes or accounts,
// and joins of classes that ended or were cancelled, are skipped. Every new stay of a non-hidden participant writes a
// "class.join" activity row.
func (s *Store) RecordClassPresence(ctx context.Context, evs []PresenceEvent) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(q querier) error {
		classes := map[ClassID]*Class{}
		users := map[UserID]bool{}
		for _, ev := range evs {
			c, ok := classes[ev.ClassID]
			if !ok {
				cl, err := scanClass(q.queryRow(ctx, "SELECT "+classCols+classFrom+" WHERE c.id = $1", int64(ev.ClassID)))
				switch {
				case isNoRows(err):
					c = nil
				case err != nil:
					return err
				default:
					c = &cl
				}
				classes[ev.ClassID] = c
			}
			known, ok := users[ev.UserID]
			if !ok {
				var n int
				if err := q.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE id = $1`, int64(ev.UserID)).Scan(&n); err != nil {
					return err
				}
				known = n > 0
				users[ev.UserID] = known
			}
			if c == nil || !known {
				continue
			}
			if ev.Join && (c.Status == ClassEnded || c.Status == ClassCancelled) {
				continue // its room is closed: a late report of a join
			}
			at := ms(ev.At)
			if !ev.Join {
				if _, err := q.exec(ctx, `UPDATE class_attendance SET left_at = `+closeAt(3)+`, seen_at = `+closeAt(3)+`
					WHERE class_id = $1 AND user_id = $2 AND left_at = 0`, int64(ev.ClassID), int64(ev.UserID), at); err != nil {
					return err
				}
				continue
			}
			n, err := q.exec(ctx, `UPDATE class_attendance SET seen_at = `+closeAt(3)+`
				WHERE class_id = $1 AND user_id = $2 AND left_at = 0`, int64(ev.ClassID), int64(ev.UserID), at)
			if err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			if _, err := q.exec(ctx, `INSERT INTO class_attendance (class_id, user_id, role, joined_at, seen_at)
				VALUES ($1, $2, $3, $4, $4)`, int64(ev.ClassID), int64(ev.UserID), string(ev.Role), at); err != nil {
				return err
			}
			if ev.Role == ClassRoleObserver {
				continue
			}
			act := classActivity(c, "class.join", ev.At)
			act.SessionID = "class:" + itoa(c.ID)
			if err := s.logChange(ctx, q, Actor{UserID: ev.UserID}, act, map[string]any{"role": string(ev.Role)}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: record class presence: %w", err)
	}
	return nil
}

// TouchClassAttendance marks everyone still in the classes' rooms seen at at.
func (s *Store) TouchClassAttendance(ctx context.Context, classes []ClassID, at time.Time) error {
	if len(classes) == 0 {
		return nil
	}
	err := s.tx(ctx, func(q querier) error {
		_, err := q.exec(ctx, `UPDATE class_attendance SET seen_at = $2 WHERE left_at = 0 AND seen_at < $2 AND `+
			s.d.inList("class_id", 1), s.d.listArg(ids(classes)), ms(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: touch class attendance: %w", err)
	}
	return nil
}

// CloseStaleClassAttendance closes the stays left open in the rooms of
// classes hosted at nodeURL, each at the last time it was seen: a node
// calls it when it starts, before anyone can join, since nobody can be in
// a room of a node that was down. It returns how many it closed.
func (s *Store) CloseStaleClassAttendance(ctx context.Context, nodeURL string) (int64, error) {
	var n int64
	err := s.tx(ctx, func(q querier) error {
		var err error
		n, err = q.exec(ctx, `UPDATE class_attendance SET left_at = seen_at
			WHERE left_at = 0 AND class_id IN (SELECT id FROM classes WHERE node_url = $1)`, nodeURL)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("storage: close stale class attendance: %w", err)
	}
	return n, nil
}

// ClassLastSeen is the last time anyone was known to be in the class's
// room (a departure, or seen while there), and how many stays are open.
func (s *Store) ClassLastSeen(ctx context.Context, id ClassID) (time.Time, int, error) {
	var last int64
	var open int
	err := s.r().queryRow(ctx, `SELECT COALESCE(MAX(CASE WHEN left_at > seen_at THEN left_at ELSE seen_at END), 0),
		COALESCE(SUM(CASE WHEN left_at = 0 THEN 1 ELSE 0 END), 0)
		FROM class_attendance WHERE class_id = $1 AND role <> 'observer'`, int64(id)).Scan(&last, &open)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("storage: last seen in class %d: %w", id, err)
	}
	if last == 0 {
		return time.Time{}, open, nil
	}
	return fromMS(last), open, nil
}

// ClassAttendance lists every stay in the class's room, by person and time.
func (s *Store) ClassAttendance(ctx context.Context, id ClassID) ([]AttendanceRow, error) {
	rs, err := s.r().query(ctx, `SELECT a.id, a.class_id, a.user_id, u.name, a.role, a.joined_at, a.left_at, a.seen_at
		FROM class_attendance a JOIN users u ON u.id = a.user_id WHERE a.class_id = $1 ORDER BY a.user_id, a.joined_at, a.id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("storage: attendance of class %d: %w", id, err)
	}
	defer rs.Close()
	var out []AttendanceRow
	for rs.Next() {
		var a AttendanceRow
		var role string
		var joined, left, seen int64
		if err := rs.Scan(&a.ID, &a.ClassID, &a.UserID, &a.Name, &role, &joined, &left, &seen); err != nil {
			return nil, fmt.Errorf("storage: attendance of class %d: %w", id, err)
		}
		a.Role, a.JoinedAt, a.SeenAt = ClassRole(role), fromMS(joined), fromMS(seen)
		if left != 0 {
			a.LeftAt = fromMS(left)
		}
		out = append(out, a)
	}
	return out, rs.Err()
}

// AttendedClass reports whether the user was in the class's room as a student.
func (s *Store) AttendedClass(ctx context.Context, id ClassID, user UserID) (bool, error) {
	var n int
	if err := s.r().queryRow(ctx, `SELECT COUNT(*) FROM class_attendance WHERE class_id = $1 AND user_id = $2 AND role = 'student'`,
		int64(id), int64(user)).Scan(&n); err != nil {
		return false, fmt.Errorf("storage: attendance of user %d in class %d: %w", user, id, err)
	}
	return n > 0, nil
}

const ratingCols = `class_id, student_id, score, comment, rated_at, updated_at`

func scanClassRating(r row) (ClassRating, error) {
	var cr ClassRating
	var rated, updated int64
	err := r.Scan(&cr.ClassID, &cr.StudentID, &cr.Score, &cr.Comment, &rated, &updated)
	cr.RatedAt, cr.UpdatedAt = fromMS(rated), fromMS(updated)
	return cr, err
}

// GetClassRating is the student's rating of the class (ErrNotFound if none).
func (s *Store) GetClassRating(ctx context.Context, id ClassID, student UserID) (ClassRating, error) {
	cr, err := scanClassRating(s.r().queryRow(ctx, `SELECT `+ratingCols+` FROM class_ratings WHERE class_id = $1 AND student_id = $2`,
		int64(id), int64(student)))
	if isNoRows(err) {
		return cr, fmt.Errorf("storage: rating of class %d by %d: %w", id, student, ErrNotFound)
	}
	if err != nil {
		return cr, fmt.Errorf("storage: rating of class %d by %d: %w", id, student, err)
	}
	return cr, nil
}

// ListClassRatings lists a class's ratings, oldest first.
func (s *Store) ListClassRatings(ctx context.Context, id ClassID) ([]ClassRating, error) {
	rs, err := s.r().query(ctx, `SELECT `+ratingCols+` FROM class_ratings WHERE class_id = $1 ORDER BY rated_at, student_id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("storage: ratings of class %d: %w", id, err)
	}
	defer rs.Close()
	var out []ClassRating
	for rs.Next() {
		cr, err := scanClassRating(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: ratings of class %d: %w", id, err)
		}
		out = append(out, cr)
	}
	return out, rs.Err()
}

// SaveClassRating stores a student's rating of a class at at: the first
// ("class.rate") or a change of it ("class.rate_update"). Who may rate and
// until when are the classes domain's rules.
func (s *Store) SaveClassRating(ctx context.Context, a Actor, id ClassID, student UserID, score int, comment string, at time.Time) (ClassRating, error) {
	if score < 1 || score > 5 {
		return ClassRating{}, fmt.Errorf("storage: rate class %d: %w", id, &FieldError{Field: "score", Message: "must be 1–5"})
	}
	err := s.tx(ctx, func(q querier) error {
		c, err := scanClass(q.queryRow(ctx, "SELECT "+classCols+classFrom+" WHERE c.id = $1", int64(id)))
		if isNoRows(err) {
			return fmt.Errorf("class %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		school := c.SchoolID
		if school == 0 {
			var sc int64
			if err := q.queryRow(ctx, `SELECT COALESCE(school_id, 0) FROM users WHERE id = $1`, int64(c.TeacherID)).Scan(&sc); err != nil {
				return err
			}
			school = SchoolID(sc)
		}
		// Insert first: two first ratings at once cannot both insert.
		n, err := q.exec(ctx, `INSERT INTO class_ratings (class_id, student_id, district_id, school_id, subject_id, teacher_id,
			premium, month, score, comment, rated_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
			ON CONFLICT (class_id, student_id) DO NOTHING`,
			int64(id), int64(student), int64(c.DistrictID), int64(school), int64(c.SubjectID), int64(c.TeacherID), c.Premium,
			s.Month(c.StartsAt), score, comment, ms(at))
		if err != nil {
			return mapErr(err, nil)
		}
		action := "class.rate"
		if n == 0 {
			action = "class.rate_update"
			if _, err := q.exec(ctx, `UPDATE class_ratings SET score = $3, comment = $4, updated_at = $5 WHERE class_id = $1 AND student_id = $2`,
				int64(id), int64(student), score, comment, ms(at)); err != nil {
				return err
			}
		}
		act := classActivity(&c, action, at)
		act.SchoolID, act.Value = school, int64(score)
		return s.logChange(ctx, q, a, act, map[string]any{"teacher_id": int64(c.TeacherID)}, nil)
	})
	if err != nil {
		return ClassRating{}, fmt.Errorf("storage: rate class %d: %w", id, err)
	}
	return s.GetClassRating(ctx, id, student)
}

// ClassSatisfaction computes satisfaction with classes (share of ratings
// ≥ 4, mean, distribution) per teacher, school, subject, month or premium
// flag — as TutoringSatisfaction does for tutoring. A district-wide
// class's ratings count for its teacher's school.
func (s *Store) ClassSatisfaction(ctx context.Context, q SatisfactionQuery) ([]Satisfaction, error) {
	var key string
	switch q.GroupBy {
	case ByTeacher:
		key = "teacher_id"
	case BySchool:
		key = "school_id"
	case BySubject:
		key = "subject_id"
	case ByPremium:
		key = "CASE WHEN premium THEN 1 ELSE 0 END"
	case ByMonth, "":
		key = "month"
	default:
		return nil, &FieldError{Field: "group", Message: "must be teacher, school, subject, month or premium"}
	}
	conds, args := s.satisfactionConds(q, "")
	return s.satisfaction(ctx, ratingGroups{what: "class satisfaction", key: key, score: "score",
		from: "class_ratings", conds: conds, args: args})
}
