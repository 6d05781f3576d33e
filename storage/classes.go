package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Interactive classes: a school or district schedules a class (or a weekly
// series of them) for an audience of students; the class goes live when
// its teacher first joins its room and ends when the teacher ends it or
// everyone has left. Every join and departure is a row of
// class_attendance, written as the class runs; students who attended rate
// it afterwards. Who may do which step, and when, is the classes domain's
// rule; the store checks what the data must satisfy (a real teacher of the
// district, a subject's knowledge points, an audience that fits the
// class's scope) and writes every change with its activity row in the
// same transaction.

const classCols = `c.id, c.district_id, c.school_id, c.title, c.subject_id, c.grade, c.teacher_id, u.name, c.audience,
	c.starts_at, c.planned_minutes, c.premium, c.recording, c.status, c.started_at, c.ended_at, c.end_reason,
	c.node_url, c.series_id, c.version, c.created_at, c.updated_at`

const classFrom = ` FROM classes c JOIN users u ON u.id = c.teacher_id`

func scanClass(r row) (Class, error) {
	var c Class
	var starts, started, ended, created, updated int64
	var audience, status string
	err := r.Scan(&c.ID, &c.DistrictID, &c.SchoolID, &c.Title, &c.SubjectID, &c.Grade, &c.TeacherID, &c.TeacherName, &audience,
		&starts, &c.PlannedMinutes, &c.Premium, &c.Recording, &status, &started, &ended, &c.EndReason,
		&c.NodeURL, &c.SeriesID, &c.Version, &created, &updated)
	c.Audience, c.Status = ClassAudience(audience), ClassStatus(status)
	c.StartsAt, c.CreatedAt, c.UpdatedAt = fromMS(starts), fromMS(created), fromMS(updated)
	if started != 0 {
		c.StartedAt = fromMS(started)
	}
	if ended != 0 {
		c.EndedAt = fromMS(ended)
	}
	c.KnowledgePoints, c.Assistants, c.Groups = []KnowledgePointID{}, []UserID{}, []string{}
	return c, err
}

// classKeys are the activity keys of a class.
func classActivity(c *Class, action string, at time.Time) Activity {
	return Activity{At: at, Action: action, DistrictID: c.DistrictID, SchoolID: c.SchoolID, SubjectID: c.SubjectID,
		Subject: "class:" + itoa(c.ID), RoomID: "class-" + itoa(c.ID)}
}

// cleanClassInput trims and checks what needs no database.
func cleanClassInput(in *ClassInput) error {
	in.Title = strings.TrimSpace(in.Title)
	for i := range in.Groups {
		in.Groups[i] = strings.TrimSpace(in.Groups[i])
	}
	switch {
	case in.Title == "":
		return &FieldError{Field: "title", Message: "is required"}
	case !utf8.ValidString(in.Title) || utf8.RuneCountInString(in.Title) > MaxClassTitle:
		return &FieldError{Field: "title", Message: fmt.Sprintf("at most %d characters of text", MaxClassTitle)}
	case in.Grade < 1 || in.Grade > 12:
		return &FieldError{Field: "grade", Message: "must be 1–12"}
	case in.PlannedMinutes < 1 || in.PlannedMinutes > MaxClassMinutes:
		return &FieldError{Field: "planned_minutes", Message: fmt.Sprintf("must be 1–%d", MaxClassMinutes)}
	case in.StartsAt.IsZero():
		return &FieldError{Field: "starts_at", Message: "is required"}
	case !in.Audience.Valid():
		return &FieldError{Field: "audience", Message: "must be classes, grade, school or district"}
	case (in.Audience == AudienceDistrict) != (in.SchoolID == 0):
		return &FieldError{Field: "audience", Message: "a district-wide audience is for a district's class, the others for a school's"}
	case in.Audience == AudienceClasses && len(in.Groups) == 0:
		return &FieldError{Field: "groups", Message: "name at least one school class"}
	case in.Audience != AudienceClasses && len(in.Groups) > 0:
		return &FieldError{Field: "groups", Message: "only an audience of school classes names them"}
	case len(in.Groups) > MaxClassGroups:
		return &FieldError{Field: "groups", Message: fmt.Sprintf("at most %d", MaxClassGroups)}
	case len(in.Assistants) > MaxClassAssistants:
		return &FieldError{Field: "assistant_ids", Message: fmt.Sprintf("at most %d", MaxClassAssistants)}
	case len(in.KnowledgePoints) > MaxClassPoints:
		return &FieldError{Field: "knowledge_point_ids", Message: fmt.Sprintf("at most %d", MaxClassPoints)}
	}
	for _, g := range in.Groups {
		if g == "" || !utf8.ValidString(g) || utf8.RuneCountInString(g) > MaxClassGroupName {
			return &FieldError{Field: "groups", Message: fmt.Sprintf("a school class is 1–%d characters", MaxClassGroupName)}
		}
	}
	slices.Sort(in.Groups)
	in.Groups = slices.Compact(in.Groups)
	slices.Sort(in.Assistants)
	in.Assistants = slices.Compact(in.Assistants)
	slices.Sort(in.KnowledgePoints)
	in.KnowledgePoints = slices.Compact(in.KnowledgePoints)
	return nil
}

// checkClassRefs checks the input's references inside the transaction.
func checkClassRefs(ctx context.Context, q querier, in *ClassInput) error {
	var district int64
	err := q.queryRow(ctx, `SELECT id FROM districts WHERE id = $1`, int64(in.DistrictID)).Scan(&district)
	if isNoRows(err) {
		return &FieldError{Field: "district_id", Message: "no such district"}
	}
	if err != nil {
		return err
	}
	if in.SchoolID != 0 {
		var d int64
		var active bool
		err := q.queryRow(ctx, `SELECT district_id, active FROM schools WHERE id = $1`, int64(in.SchoolID)).Scan(&d, &active)
		if isNoRows(err) || (err == nil && (d != district || !active)) {
			return &FieldError{Field: "school_id", Message: "no such active school in the district"}
		}
		if err != nil {
			return err
		}
	}
	var subActive bool
	err = q.queryRow(ctx, `SELECT active FROM subjects WHERE id = $1`, int64(in.SubjectID)).Scan(&subActive)
	if isNoRows(err) || (err == nil && !subActive) {
		return &FieldError{Field: "subject_id", Message: "no such subject"}
	}
	if err != nil {
		return err
	}
	for _, kp := range in.KnowledgePoints {
		var sub int64
		err := q.queryRow(ctx, `SELECT subject_id FROM knowledge_points WHERE id = $1`, int64(kp)).Scan(&sub)
		if isNoRows(err) || (err == nil && sub != int64(in.SubjectID)) {
			return &FieldError{Field: "knowledge_point_ids", Message: fmt.Sprintf("%d is not a knowledge point of this subject", kp)}
		}
		if err != nil {
			return err
		}
	}
	teacher := func(field string, id UserID) error {
		var d, sc int64
		var active bool
		var n int
		err := q.queryRow(ctx, `SELECT COALESCE(u.district_id, 0), COALESCE(u.school_id, 0), u.active,
			(SELECT COUNT(*) FROM user_roles r WHERE r.user_id = u.id AND r.role = 'teacher')
			FROM users u WHERE u.id = $1`, int64(id)).Scan(&d, &sc, &active, &n)
		if err != nil && !isNoRows(err) {
			return err
		}
		if isNoRows(err) || !active || n == 0 || d != district || (in.SchoolID != 0 && sc != int64(in.SchoolID)) {
			where := "the district"
			if in.SchoolID != 0 {
				where = "the school"
			}
			return &FieldError{Field: field, Message: fmt.Sprintf("%d is not an active teacher of %s", id, where)}
		}
		return nil
	}
	if err := teacher("teacher_id", in.TeacherID); err != nil {
		return err
	}
	for _, a := range in.Assistants {
		if a == in.TeacherID {
			return &FieldError{Field: "assistant_ids", Message: "the teacher is not also an assistant"}
		}
		if err := teacher("assistant_ids", a); err != nil {
			return err
		}
	}
	return nil
}

// writeClassLists replaces a class's assistants, knowledge points and groups.
func writeClassLists(ctx context.Context, q querier, id ClassID, in *ClassInput) error {
	for _, t := range []string{"class_assistants", "class_points", "class_groups"} {
		if _, err := q.exec(ctx, "DELETE FROM "+t+" WHERE class_id = $1", int64(id)); err != nil {
			return err
		}
	}
	for _, a := range in.Assistants {
		if _, err := q.exec(ctx, `INSERT INTO class_assistants (class_id, user_id) VALUES ($1, $2)`, int64(id), int64(a)); err != nil {
			return err
		}
	}
	for _, kp := range in.KnowledgePoints {
		if _, err := q.exec(ctx, `INSERT INTO class_points (class_id, knowledge_point_id) VALUES ($1, $2)`, int64(id), int64(kp)); err != nil {
			return err
		}
	}
	for _, g := range in.Groups {
		if _, err := q.exec(ctx, `INSERT INTO class_groups (class_id, class_name) VALUES ($1, $2)`, int64(id), g); err != nil {
			return err
		}
	}
	return nil
}

// CreateClasses schedules classes in one transaction: each inner slice is
// one class, or a weekly series whose classes share the first one's id as
// their series id. Nothing is created if any input is invalid; the error
// then names the series (0-based) and the field.
func (s *Store) CreateClasses(ctx context.Context, a Actor, series [][]ClassInput) ([]Class, error) {
	var created []ClassID
	err := s.tx(ctx, func(q querier) error {
		created = created[:0]
		now := s.now()
		for si, occ := range series {
			var first ClassID
			for i := range occ {
				in := occ[i]
				in.Groups = slices.Clone(in.Groups)
				in.Assistants = slices.Clone(in.Assistants)
				in.KnowledgePoints = slices.Clone(in.KnowledgePoints)
				if err := cleanClassInput(&in); err != nil {
					return &SeriesError{Index: si, Err: err}
				}
				if i == 0 {
					if err := checkClassRefs(ctx, q, &in); err != nil {
						return &SeriesError{Index: si, Err: err}
					}
				}
				var id ClassID
				if err := q.queryRow(ctx, `INSERT INTO classes (district_id, school_id, subject_id, grade, title, teacher_id, audience,
					starts_at, planned_minutes, premium, recording, status, series_id, created_by, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'scheduled', $12, $13, $14, $14) RETURNING id`,
					int64(in.DistrictID), int64(in.SchoolID), int64(in.SubjectID), in.Grade, in.Title, int64(in.TeacherID),
					string(in.Audience), ms(in.StartsAt), in.PlannedMinutes, in.Premium, in.Recording, int64(first),
					int64(a.UserID), ms(now)).Scan(&id); err != nil {
					return err
				}
				if len(occ) > 1 && i == 0 {
					first = id
					if _, err := q.exec(ctx, `UPDATE classes SET series_id = $1 WHERE id = $1`, int64(id)); err != nil {
						return err
					}
				}
				if err := writeClassLists(ctx, q, id, &in); err != nil {
					return err
				}
				c := Class{ID: id, DistrictID: in.DistrictID, SchoolID: in.SchoolID, SubjectID: in.SubjectID}
				if err := s.logChange(ctx, q, a, classActivity(&c, "class.schedule", now), map[string]any{
					"starts_at": ms(in.StartsAt), "teacher_id": int64(in.TeacherID), "series_id": int64(first)}, nil); err != nil {
					return err
				}
				created = append(created, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: create classes: %w", err)
	}
	out := make([]Class, 0, len(created))
	for _, id := range created {
		c, err := s.GetClass(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// SeriesError says which input of CreateClasses was invalid.
type SeriesError struct {
	Index int
	Err   error
}

func (e *SeriesError) Error() string { return fmt.Sprintf("class %d: %v", e.Index+1, e.Err) }
func (e *SeriesError) Unwrap() error { return e.Err }

// UpdateClass replaces a scheduled class's fields if it is still at
// version (ErrConflict otherwise); a class that is live, ended or
// cancelled can no longer be changed (ErrClosed).
func (s *Store) UpdateClass(ctx context.Context, a Actor, id ClassID, version int64, in ClassInput) (Class, error) {
	in.Groups, in.Assistants, in.KnowledgePoints = slices.Clone(in.Groups), slices.Clone(in.Assistants), slices.Clone(in.KnowledgePoints)
	if err := cleanClassInput(&in); err != nil {
		return Class{}, fmt.Errorf("storage: update class %d: %w", id, err)
	}
	err := s.tx(ctx, func(q querier) error {
		var status string
		var v int64
		err := q.queryRow(ctx, `SELECT status, version FROM classes WHERE id = $1`, int64(id)).Scan(&status, &v)
		if isNoRows(err) {
			return fmt.Errorf("class %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if status != string(ClassScheduled) {
			return fmt.Errorf("class %d is %s: %w", id, status, ErrClosed)
		}
		if v != version {
			return fmt.Errorf("class %d is at version %d, not %d: %w", id, v, version, ErrConflict)
		}
		if err := checkClassRefs(ctx, q, &in); err != nil {
			return err
		}
		now := s.now()
		n, err := q.exec(ctx, `UPDATE classes SET district_id = $2, school_id = $3, subject_id = $4, grade = $5, title = $6,
			teacher_id = $7, audience = $8, starts_at = $9, planned_minutes = $10, premium = $11, recording = $12,
			version = version + 1, updated_at = $13 WHERE id = $1 AND version = $14 AND status = 'scheduled'`,
			int64(id), int64(in.DistrictID), int64(in.SchoolID), int64(in.SubjectID), in.Grade, in.Title, int64(in.TeacherID),
			string(in.Audience), ms(in.StartsAt), in.PlannedMinutes, in.Premium, in.Recording, ms(now), version)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("class %d changed meanwhile: %w", id, ErrConflict)
		}
		if err := writeClassLists(ctx, q, id, &in); err != nil {
			return err
		}
		c := Class{ID: id, DistrictID: in.DistrictID, SchoolID: in.SchoolID, SubjectID: in.SubjectID}
		return s.logChange(ctx, q, a, classActivity(&c, "class.update", now), map[string]any{"starts_at": ms(in.StartsAt)}, nil)
	})
	if err != nil {
		return Class{}, fmt.Errorf("storage: update class %d: %w", id, err)
	}
	return s.GetClass(ctx, id)
}

// CancelClass cancels a scheduled class (ErrClosed if it is not), and with
// followers the later scheduled classes of its series too. It returns the
// classes it cancelled.
func (s *Store) CancelClass(ctx context.Context, a Actor, id ClassID, followers bool, at time.Time) ([]ClassID, error) {
	var out []ClassID
	err := s.tx(ctx, func(q querier) error {
		out = out[:0]
		c, err := scanClass(q.queryRow(ctx, "SELECT "+classCols+classFrom+" WHERE c.id = $1", int64(id)))
		if isNoRows(err) {
			return fmt.Errorf("class %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if c.Status != ClassScheduled {
			return fmt.Errorf("class %d is %s: %w", id, c.Status, ErrClosed)
		}
		targets := []Class{c}
		if followers && c.SeriesID != 0 {
			rs, err := q.query(ctx, "SELECT "+classCols+classFrom+` WHERE c.series_id = $1 AND c.starts_at > $2 AND c.status = 'scheduled'
				ORDER BY c.starts_at`, int64(c.SeriesID), ms(c.StartsAt))
			if err != nil {
				return err
			}
			for rs.Next() {
				f, err := scanClass(rs)
				if err != nil {
					rs.Close()
					return err
				}
				targets = append(targets, f)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return err
			}
		}
		for _, t := range targets {
			n, err := q.exec(ctx, `UPDATE classes SET status = 'cancelled', version = version + 1, updated_at = $2
				WHERE id = $1 AND status = 'scheduled'`, int64(t.ID), ms(at))
			if err != nil {
				return err
			}
			if n == 0 {
				if t.ID == id {
					return fmt.Errorf("class %d: %w", id, ErrClosed)
				}
				continue
			}
			if err := s.logChange(ctx, q, a, classActivity(&t, "class.cancel", at), map[string]any{"starts_at": ms(t.StartsAt)}, nil); err != nil {
				return err
			}
			out = append(out, t.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: cancel class %d: %w", id, err)
	}
	return out, nil
}

// loadClassLists fills in the assistants, knowledge points and groups.
func (s *Store) loadClassLists(ctx context.Context, classes []Class) error {
	if len(classes) == 0 {
		return nil
	}
	idx := make(map[ClassID]int, len(classes))
	list := make([]int64, len(classes))
	for i, c := range classes {
		idx[c.ID] = i
		list[i] = int64(c.ID)
	}
	arg := s.d.listArg(list)
	for _, part := range []struct {
		sql  string
		scan func(rows) error
	}{
		{`SELECT class_id, user_id FROM class_assistants WHERE ` + s.d.inList("class_id", 1) + ` ORDER BY class_id, user_id`, func(r rows) error {
			var c ClassID
			var u UserID
			if err := r.Scan(&c, &u); err != nil {
				return err
			}
			classes[idx[c]].Assistants = append(classes[idx[c]].Assistants, u)
			return nil
		}},
		{`SELECT class_id, knowledge_point_id FROM class_points WHERE ` + s.d.inList("class_id", 1) + ` ORDER BY class_id, knowledge_point_id`, func(r rows) error {
			var c ClassID
			var kp KnowledgePointID
			if err := r.Scan(&c, &kp); err != nil {
				return err
			}
			classes[idx[c]].KnowledgePoints = append(classes[idx[c]].KnowledgePoints, kp)
			return nil
		}},
		{`SELECT class_id, class_name FROM class_groups WHERE ` + s.d.inList("class_id", 1) + ` ORDER BY class_id, class_name`, func(r rows) error {
			var c ClassID
			var g string
			if err := r.Scan(&c, &g); err != nil {
				return err
			}
			classes[idx[c]].Groups = append(classes[idx[c]].Groups, g)
			return nil
		}},
	} {
		rs, err := s.r().query(ctx, part.sql, arg)
		if err != nil {
			return err
		}
		for rs.Next() {
			if err := part.scan(rs); err != nil {
				rs.Close()
				return err
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) readClasses(ctx context.Context, where string, args ...any) ([]Class, error) {
	rs, err := s.r().query(ctx, "SELECT "+classCols+classFrom+" WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []Class
	for rs.Next() {
		c, err := scanClass(rs)
		if err != nil {
			rs.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return out, s.loadClassLists(ctx, out)
}

// GetClass reads one class.
func (s *Store) GetClass(ctx context.Context, id ClassID) (Class, error) {
	out, err := s.readClasses(ctx, "c.id = $1", int64(id))
	if err != nil {
		return Class{}, fmt.Errorf("storage: class %d: %w", id, err)
	}
	if len(out) == 0 {
		return Class{}, fmt.Errorf("storage: class %d: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// ListClasses lists classes by start time, with the total.
func (s *Store) ListClasses(ctx context.Context, f ClassFilter) ([]Class, int, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !f.From.IsZero() {
		conds = append(conds, "c.starts_at >= "+arg(ms(f.From)))
	}
	if !f.To.IsZero() {
		conds = append(conds, "c.starts_at < "+arg(ms(f.To)))
	}
	if f.DistrictID != 0 && f.SchoolIDs == nil {
		conds = append(conds, "c.district_id = "+arg(int64(f.DistrictID)))
	}
	if f.SchoolIDs != nil {
		args = append(args, s.d.listArg(ids(f.SchoolIDs)))
		in := s.d.inList("c.school_id", len(args))
		if f.IncludeDistrict && f.DistrictID != 0 {
			in = "(" + in + " OR (c.school_id = 0 AND c.district_id = " + arg(int64(f.DistrictID)) + "))"
		}
		conds = append(conds, in)
	}
	if f.Member != 0 {
		p := arg(int64(f.Member))
		conds = append(conds, "(c.teacher_id = "+p+" OR EXISTS (SELECT 1 FROM class_assistants ca WHERE ca.class_id = c.id AND ca.user_id = "+p+"))")
	}
	if u := f.Student; u != nil {
		d, sc, g, cl := arg(int64(u.DistrictID)), arg(int64(u.SchoolID)), arg(u.Grade), arg(u.Class)
		conds = append(conds, `c.district_id = `+d+` AND (c.audience = 'district' OR (c.school_id = `+sc+` AND (c.audience = 'school'
			OR (c.audience = 'grade' AND c.grade = `+g+`)
			OR (c.audience = 'classes' AND c.grade = `+g+` AND EXISTS (SELECT 1 FROM class_groups cg WHERE cg.class_id = c.id AND cg.class_name = `+cl+`)))))`)
	}
	if f.Statuses != nil {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			st[i] = string(x)
		}
		args = append(args, s.d.listArg(st))
		conds = append(conds, s.d.inList("c.status", len(args)))
	}
	if f.SeriesID != 0 {
		conds = append(conds, "c.series_id = "+arg(int64(f.SeriesID)))
	}
	where := "1 = 1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	var total int
	if err := s.r().queryRow(ctx, "SELECT COUNT(*) FROM classes c WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("storage: list classes: %w", err)
	}
	limit, offset := page(f.Limit, f.Offset)
	lp, op := arg(limit), arg(offset)
	out, err := s.readClasses(ctx, where+" ORDER BY c.starts_at, c.id LIMIT "+lp+" OFFSET "+op, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("storage: list classes: %w", err)
	}
	return out, total, nil
}

// LiveClasses lists the classes that are live, hosted at nodeURL ("" for all).
func (s *Store) LiveClasses(ctx context.Context, nodeURL string) ([]Class, error) {
	where, args := "c.status = 'live' ORDER BY c.id", []any(nil)
	if nodeURL != "" {
		where, args = "c.status = 'live' AND c.node_url = $1 ORDER BY c.id", []any{nodeURL}
	}
	out, err := s.readClasses(ctx, where, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: live classes: %w", err)
	}
	return out, nil
}

// HostClass makes nodeURL the node hosting the class's room unless one
// already is; it returns the hosting node.
func (s *Store) HostClass(ctx context.Context, id ClassID, nodeURL string) (string, error) {
	var host string
	err := s.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `UPDATE classes SET node_url = $2 WHERE id = $1 AND node_url = ''`, int64(id), nodeURL); err != nil {
			return err
		}
		err := q.queryRow(ctx, `SELECT node_url FROM classes WHERE id = $1`, int64(id)).Scan(&host)
		if isNoRows(err) {
			return fmt.Errorf("class %d: %w", id, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("storage: host class %d: %w", id, err)
	}
	return host, nil
}

// StartClass makes a scheduled class live at at (once); started reports
// whether this call did.
func (s *Store) StartClass(ctx context.Context, id ClassID, at time.Time) (c Class, started bool, err error) {
	err = s.tx(ctx, func(q querier) error {
		started = false
		c, err := scanClass(q.queryRow(ctx, "SELECT "+classCols+classFrom+" WHERE c.id = $1", int64(id)))
		if isNoRows(err) {
			return fmt.Errorf("class %d: %w", id, ErrNotFound)
		}
		if err != nil || c.Status != ClassScheduled {
			return err
		}
		n, err := q.exec(ctx, `UPDATE classes SET status = 'live', started_at = $2, updated_at = $2 WHERE id = $1 AND status = 'scheduled'`,
			int64(id), ms(at))
		if err != nil || n == 0 {
			return err // n == 0: started at the same moment elsewhere
		}
		started = true
		return s.logChange(ctx, q, Actor{UserID: c.TeacherID}, classActivity(&c, "class.start", at),
			map[string]any{"late_s": int64(at.Sub(c.StartsAt) / time.Second)}, nil)
	})
	if err != nil {
		return Class{}, false, fmt.Errorf("storage: start class %d: %w", id, err)
	}
	c, err = s.GetClass(ctx, id)
	return c, started && err == nil, err
}

// EndClass ends a live class at at (once) for reason, closing every open
// attendance row at at; ended reports whether this call did. The
// activity's value is the class's length in seconds.
func (s *Store) EndClass(ctx context.Context, a Actor, id ClassID, at time.Time, reason string) (c Class, ended bool, err error) {
	err = s.tx(ctx, func(q querier) error {
		ended = false
		c, err := scanClass(q.queryRow(ctx, "SELECT "+classCols+classFrom+" WHERE c.id = $1", int64(id)))
		if isNoRows(err) {
			return fmt.Errorf("class %d: %w", id, ErrNotFound)
		}
		if err != nil || c.Status != ClassLive {
			return err
		}
		end := max(ms(at), ms(c.StartedAt))
		n, err := q.exec(ctx, `UPDATE classes SET status = 'ended', ended_at = $2, end_reason = $3, updated_at = $4 WHERE id = $1 AND status = 'live'`,
			int64(id), end, reason, ms(at))
		if err != nil || n == 0 {
			return err // n == 0: ended at the same moment elsewhere
		}
		if _, err := q.exec(ctx, `UPDATE class_attendance SET left_at = CASE WHEN joined_at > $2 THEN joined_at ELSE $2 END,
			seen_at = CASE WHEN joined_at > $2 THEN joined_at ELSE $2 END
			WHERE class_id = $1 AND left_at = 0`, int64(id), end); err != nil {
			return err
		}
		ended = true
		return s.logChange(ctx, q, a, Activity{At: fromMS(end), Action: "class.end", DistrictID: c.DistrictID, SchoolID: c.SchoolID,
			SubjectID: c.SubjectID, Subject: "class:" + itoa(id), RoomID: "class-" + itoa(id), Value: (end - ms(c.StartedAt)) / 1000},
			map[string]any{"reason": reason}, nil)
	})
	if err != nil {
		return Class{}, false, fmt.Errorf("storage: end class %d: %w", id, err)
	}
	c, err = s.GetClass(ctx, id)
	return c, ended && err == nil, err
}
