package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Lesson review: the rubric library (each edit a new version), evaluation
// schemes built from one version, assignments of a target (a recording or a
// micro-lesson) to experts, their reviews (saved as drafts, then submitted
// and locked, reopened by an administrator with a reason), calibration
// clips and teachers' reflections. Assigning, submitting, reopening and
// reflecting write their activity rows in the same transaction.

func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

// Check validates a rubric body: at least one criterion, unique codes,
// positive weights, and a sound scale for each.
func (b RubricBody) Check() error {
	seen := map[string]bool{}
	n := 0
	for _, d := range b.Domains {
		if strings.TrimSpace(d.Name) == "" || tooLong(d.Name, MaxReviewName) {
			return &FieldError{Field: "domains", Message: "every domain needs a name (at most 200 characters)"}
		}
		for _, c := range d.Criteria {
			n++
			switch {
			case c.Code == "" || tooLong(c.Code, 40) || strings.ContainsAny(c.Code, " \t\n"):
				return &FieldError{Field: "criteria", Message: "every criterion needs a code without spaces (at most 40 characters)"}
			case seen[c.Code]:
				return &FieldError{Field: "criteria", Message: "criterion code " + c.Code + " appears twice"}
			case strings.TrimSpace(c.Name) == "" || tooLong(c.Name, MaxReviewName) || tooLong(c.Description, MaxReviewText):
				return &FieldError{Field: "criteria", Message: "criterion " + c.Code + " needs a name (at most 200 characters)"}
			case !(c.Weight > 0) || c.Weight > 1000 || math.IsInf(c.Weight, 0):
				return &FieldError{Field: "criteria", Message: "criterion " + c.Code + ": the weight must be above 0 and at most 1000"}
			}
			seen[c.Code] = true
			if err := c.Scale.check(c.Code); err != nil {
				return err
			}
		}
	}
	if n == 0 {
		return &FieldError{Field: "criteria", Message: "a rubric needs at least one criterion"}
	}
	if n > MaxRubricCriteria {
		return &FieldError{Field: "criteria", Message: fmt.Sprintf("at most %d criteria", MaxRubricCriteria)}
	}
	return nil
}

func (sc RubricScale) check(code string) error {
	bad := func(msg string) error {
		return &FieldError{Field: "criteria", Message: "criterion " + code + ": " + msg}
	}
	switch sc.Kind {
	case ScaleLevels:
		if len(sc.Levels) < 2 || len(sc.Levels) > MaxRubricLevels {
			return bad(fmt.Sprintf("2 to %d levels", MaxRubricLevels))
		}
		for i, l := range sc.Levels {
			if l.Value != i+1 {
				return bad("levels are numbered 1, 2, 3 … from the lowest")
			}
			if strings.TrimSpace(l.Label) == "" || tooLong(l.Label, MaxReviewName) || tooLong(l.Descriptor, MaxReviewText) {
				return bad("every level needs a label (at most 200 characters)")
			}
		}
	case ScaleNumeric:
		if math.IsNaN(sc.Min) || math.IsNaN(sc.Max) || !(sc.Max > sc.Min) || sc.Min < -1e6 || sc.Max > 1e6 || sc.Step < 0 {
			return bad("a numeric range needs min < max")
		}
	default:
		return bad("the scale kind is levels or numeric")
	}
	return nil
}

// Normalize maps a score onto 0..1: a level's (value−1)/(n−1), a number's
// (x−min)/(max−min). ok is false when the value is not on the scale.
func (sc RubricScale) Normalize(v float64) (float64, bool) {
	switch sc.Kind {
	case ScaleLevels:
		n := len(sc.Levels)
		if n < 2 || v != math.Trunc(v) || v < 1 || v > float64(n) {
			return 0, false
		}
		return (v - 1) / float64(n-1), true
	case ScaleNumeric:
		if math.IsNaN(v) || v < sc.Min || v > sc.Max || sc.Max <= sc.Min {
			return 0, false
		}
		return (v - sc.Min) / (sc.Max - sc.Min), true
	}
	return 0, false
}

func checkRubricInput(in *RubricInput) error {
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	switch {
	case in.Code == "" || tooLong(in.Code, 60):
		return &FieldError{Field: "code", Message: "is required (at most 60 characters)"}
	case in.Name == "" || tooLong(in.Name, MaxReviewName):
		return &FieldError{Field: "name", Message: "is required (at most 200 characters)"}
	case tooLong(in.Purpose, 60):
		return &FieldError{Field: "purpose", Message: "at most 60 characters"}
	}
	return in.Body.Check()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are stored
	}
	return string(b)
}

// CreateRubric adds a rubric at version 1.
func (s *Store) CreateRubric(ctx context.Context, a Actor, in RubricInput) (Rubric, error) {
	if err := checkRubricInput(&in); err != nil {
		return Rubric{}, err
	}
	var id RubricID
	err := s.tx(ctx, func(q querier) error {
		var n int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM review_rubrics WHERE district_id = $1 AND code = $2`,
			int64(in.DistrictID), in.Code).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return &DuplicateError{Field: "code", Value: in.Code}
		}
		now := ms(s.now())
		if err := q.queryRow(ctx, `INSERT INTO review_rubrics (district_id, code, name, purpose, version, builtin, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 1, $5, $6, $6) RETURNING id`, int64(in.DistrictID), in.Code, in.Name, in.Purpose, in.Builtin, now).Scan(&id); err != nil {
			// Two nodes seeding the defaults at once: the unique code decides.
			return mapErr(err, map[string]string{"code": in.Code})
		}
		if _, err := q.exec(ctx, `INSERT INTO review_rubric_versions (rubric_id, version, name, body, created_by, created_at) VALUES ($1, 1, $2, $3, $4, $5)`,
			int64(id), in.Name, jsonText(in.Body), int64(a.UserID), now); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.rubric_create", DistrictID: in.DistrictID, Subject: "review_rubric:" + itoa(id)},
			map[string]any{"code": in.Code}, nil)
	})
	if err != nil {
		return Rubric{}, fmt.Errorf("storage: create rubric: %w", err)
	}
	return s.GetRubric(ctx, id, 0)
}

// UpdateRubric writes a new version of a rubric (its code stays); schemes
// built from older versions keep theirs.
func (s *Store) UpdateRubric(ctx context.Context, a Actor, id RubricID, in RubricInput) (Rubric, error) {
	cur, err := s.GetRubric(ctx, id, 0)
	if err != nil {
		return Rubric{}, err
	}
	in.Code = cur.Code
	if in.Purpose == "" {
		in.Purpose = cur.Purpose
	}
	if err := checkRubricInput(&in); err != nil {
		return Rubric{}, err
	}
	err = s.tx(ctx, func(q querier) error {
		now := ms(s.now())
		n, err := q.exec(ctx, `UPDATE review_rubrics SET version = version + 1, name = $2, purpose = $3, updated_at = $4
			WHERE id = $1 AND version = $5`, int64(id), in.Name, in.Purpose, now, cur.Current)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrConflict
		}
		if _, err := q.exec(ctx, `INSERT INTO review_rubric_versions (rubric_id, version, name, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			int64(id), cur.Current+1, in.Name, jsonText(in.Body), int64(a.UserID), now); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.rubric_update", DistrictID: cur.DistrictID, Subject: "review_rubric:" + itoa(id)},
			map[string]any{"version": cur.Current + 1}, nil)
	})
	if err != nil {
		return Rubric{}, fmt.Errorf("storage: update rubric %d: %w", id, err)
	}
	return s.GetRubric(ctx, id, 0)
}

// GetRubric reads a rubric at a version (0: the current one), with the
// name it had then.
func (s *Store) GetRubric(ctx context.Context, id RubricID, version int) (Rubric, error) {
	var r Rubric
	var created, updated, vcreated int64
	var body string
	err := s.r().queryRow(ctx, `SELECT r.id, r.district_id, r.code, v.name, r.purpose, r.version, r.builtin, r.created_at, r.updated_at,
		v.version, v.body, v.created_by, v.created_at
		FROM review_rubrics r JOIN review_rubric_versions v ON v.rubric_id = r.id
		WHERE r.id = $1 AND v.version = CASE WHEN $2 = 0 THEN r.version ELSE $2 END`, int64(id), version).Scan(
		&r.ID, &r.DistrictID, &r.Code, &r.Name, &r.Purpose, &r.Current, &r.Builtin, &created, &updated,
		&r.Version, &body, &r.CreatedBy, &vcreated)
	if isNoRows(err) {
		return Rubric{}, fmt.Errorf("storage: rubric %d version %d: %w", id, version, ErrNotFound)
	}
	if err != nil {
		return Rubric{}, fmt.Errorf("storage: rubric %d: %w", id, err)
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	if err := json.Unmarshal([]byte(body), &r.Body); err != nil {
		return Rubric{}, fmt.Errorf("storage: rubric %d: %w", id, err)
	}
	return r, nil
}

// ListRubrics lists the current versions of the installation-wide rubrics
// and of a district's (0: the installation-wide ones only), by code.
func (s *Store) ListRubrics(ctx context.Context, district DistrictID) ([]Rubric, error) {
	rs, err := s.r().query(ctx, `SELECT id FROM review_rubrics WHERE district_id = 0 OR district_id = $1 ORDER BY district_id, code`, int64(district))
	if err != nil {
		return nil, fmt.Errorf("storage: list rubrics: %w", err)
	}
	var idl []RubricID
	for rs.Next() {
		var id RubricID
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return nil, fmt.Errorf("storage: list rubrics: %w", err)
		}
		idl = append(idl, id)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: list rubrics: %w", err)
	}
	out := []Rubric{}
	for _, id := range idl {
		r, err := s.GetRubric(ctx, id, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// SeedRubric creates a built-in rubric unless one with its code exists at
// its level; it reports whether it did.
func (s *Store) SeedRubric(ctx context.Context, in RubricInput) (bool, error) {
	in.Builtin = true
	_, err := s.CreateRubric(ctx, Actor{}, in)
	var dup *DuplicateError
	if errors.As(err, &dup) {
		return false, nil
	}
	return err == nil, err
}

// CreateScheme stores a scheme with its criteria as given (the caller
// copies them from one rubric version).
func (s *Store) CreateScheme(ctx context.Context, a Actor, sc Scheme) (Scheme, error) {
	sc.Name = strings.TrimSpace(sc.Name)
	switch {
	case sc.Name == "" || tooLong(sc.Name, MaxReviewName):
		return Scheme{}, &FieldError{Field: "name", Message: "is required (at most 200 characters)"}
	case len(sc.Criteria) == 0 || len(sc.Criteria) > MaxRubricCriteria:
		return Scheme{}, &FieldError{Field: "criteria", Message: "choose at least one criterion"}
	case tooLong(sc.SchoolKind, 40):
		return Scheme{}, &FieldError{Field: "school_kind", Message: "at most 40 characters"}
	case math.IsNaN(sc.Threshold) || sc.Threshold < 0 || sc.Threshold > 1:
		return Scheme{}, &FieldError{Field: "threshold", Message: "between 0 and 1"}
	}
	var id SchemeID
	err := s.tx(ctx, func(q querier) error {
		if err := q.queryRow(ctx, `INSERT INTO review_schemes (district_id, name, purpose, subject_id, school_kind, rubric_id, rubric_version,
			blind, threshold, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			int64(sc.DistrictID), sc.Name, sc.Purpose, int64(sc.SubjectID), sc.SchoolKind, int64(sc.RubricID), sc.RubricVersion,
			sc.Blind, sc.Threshold, jsonText(sc.Criteria), int64(a.UserID), ms(s.now())).Scan(&id); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.scheme_create", DistrictID: sc.DistrictID, SubjectID: sc.SubjectID,
			Subject: "review_scheme:" + itoa(id)}, map[string]any{"rubric": sc.RubricID, "version": sc.RubricVersion}, nil)
	})
	if err != nil {
		return Scheme{}, fmt.Errorf("storage: create scheme: %w", err)
	}
	return s.GetScheme(ctx, id)
}

const schemeCols = `id, district_id, name, purpose, subject_id, school_kind, rubric_id, rubric_version, blind, threshold, body, created_by, created_at`

func scanScheme(r row) (Scheme, error) {
	var sc Scheme
	var body string
	var created int64
	if err := r.Scan(&sc.ID, &sc.DistrictID, &sc.Name, &sc.Purpose, &sc.SubjectID, &sc.SchoolKind, &sc.RubricID, &sc.RubricVersion,
		&sc.Blind, &sc.Threshold, &body, &sc.CreatedBy, &created); err != nil {
		return sc, err
	}
	sc.CreatedAt = fromMS(created)
	return sc, json.Unmarshal([]byte(body), &sc.Criteria)
}

// GetScheme reads a scheme.
func (s *Store) GetScheme(ctx context.Context, id SchemeID) (Scheme, error) {
	sc, err := scanScheme(s.r().queryRow(ctx, `SELECT `+schemeCols+` FROM review_schemes WHERE id = $1`, int64(id)))
	if isNoRows(err) {
		return Scheme{}, fmt.Errorf("storage: scheme %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Scheme{}, fmt.Errorf("storage: scheme %d: %w", id, err)
	}
	return sc, nil
}

// ListSchemes lists a district's schemes and the installation-wide ones, newest first.
func (s *Store) ListSchemes(ctx context.Context, district DistrictID) ([]Scheme, error) {
	rs, err := s.r().query(ctx, `SELECT `+schemeCols+` FROM review_schemes WHERE district_id = 0 OR district_id = $1 ORDER BY id DESC LIMIT 500`, int64(district))
	if err != nil {
		return nil, fmt.Errorf("storage: list schemes: %w", err)
	}
	defer rs.Close()
	out := []Scheme{}
	for rs.Next() {
		sc, err := scanScheme(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: list schemes: %w", err)
		}
		out = append(out, sc)
	}
	return out, rs.Err()
}

// CreateAssignments assigns targets to experts, all or none; an expert
// already assigned the same target in the same scheme and round is a
// DuplicateError on expert_ids.
func (s *Store) CreateAssignments(ctx context.Context, a Actor, ins []AssignmentInput) ([]Assignment, error) {
	var idl []AssignmentID
	err := s.tx(ctx, func(q querier) error {
		var err error
		idl, err = s.insertAssignments(ctx, q, a, ins)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: assign reviews: %w", err)
	}
	out := make([]Assignment, 0, len(idl))
	for _, id := range idl {
		x, err := s.GetAssignment(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// insertAssignments adds assignments with their review.assign activity
// rows inside the caller's transaction.
func (s *Store) insertAssignments(ctx context.Context, q querier, a Actor, ins []AssignmentInput) ([]AssignmentID, error) {
	var idl []AssignmentID
	now := ms(s.now())
	for _, in := range ins {
		if len(in.Round) > 60 {
			return nil, &FieldError{Field: "round", Message: "at most 60 characters"}
		}
		var n int
		if err := q.queryRow(ctx, `SELECT COUNT(*) FROM review_assignments WHERE scheme_id = $1 AND target = $2 AND round = $3 AND expert_id = $4`,
			int64(in.SchemeID), in.Target, in.Round, int64(in.ExpertID)).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, &DuplicateError{Field: "expert_ids", Value: itoa(in.ExpertID)}
		}
		var due int64
		if !in.DueAt.IsZero() {
			due = ms(in.DueAt)
		}
		var id AssignmentID
		if err := q.queryRow(ctx, `INSERT INTO review_assignments (scheme_id, target, round, expert_id, teacher_id, district_id, school_id,
			subject_id, calibration_id, due_at, status, assigned_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'assigned', $11, $12)
			RETURNING id`, int64(in.SchemeID), in.Target, in.Round, int64(in.ExpertID), int64(in.TeacherID), int64(in.DistrictID),
			int64(in.SchoolID), int64(in.SubjectID), int64(in.CalibrationID), due, int64(a.UserID), now).Scan(&id); err != nil {
			return nil, err
		}
		idl = append(idl, id)
		if err := s.logChange(ctx, q, a, Activity{Action: "review.assign", DistrictID: in.DistrictID, SchoolID: in.SchoolID,
			SubjectID: in.SubjectID, Subject: in.Target}, map[string]any{"assignment": id, "expert": in.ExpertID}, nil); err != nil {
			return nil, err
		}
	}
	return idl, nil
}

const assignmentCols = `a.id, a.scheme_id, a.target, a.round, a.expert_id, u.name, a.teacher_id, a.district_id, a.school_id, a.subject_id,
	a.calibration_id, a.due_at, a.status, COALESCE(r.total, 0), COALESCE(r.submitted_at, 0), a.assigned_by, a.created_at`

const assignmentFrom = ` FROM review_assignments a JOIN users u ON u.id = a.expert_id LEFT JOIN reviews r ON r.assignment_id = a.id`

func scanAssignment(r row, extra ...any) (Assignment, error) {
	var x Assignment
	var due, sub, created int64
	dest := append([]any{&x.ID, &x.SchemeID, &x.Target, &x.Round, &x.ExpertID, &x.ExpertName, &x.TeacherID, &x.DistrictID, &x.SchoolID,
		&x.SubjectID, &x.CalibrationID, &due, &x.Status, &x.Total, &sub, &x.AssignedBy, &created}, extra...)
	err := r.Scan(dest...)
	x.DueAt, x.SubmittedAt, x.CreatedAt = fromMSOrZero(due), fromMSOrZero(sub), fromMS(created)
	return x, err
}

// GetAssignment reads one assignment.
func (s *Store) GetAssignment(ctx context.Context, id AssignmentID) (Assignment, error) {
	x, err := scanAssignment(s.r().queryRow(ctx, `SELECT `+assignmentCols+assignmentFrom+` WHERE a.id = $1`, int64(id)))
	if isNoRows(err) {
		return x, fmt.Errorf("storage: assignment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return x, fmt.Errorf("storage: assignment %d: %w", id, err)
	}
	return x, nil
}

// assignmentQuery is the WHERE clause and LIMIT of f, with their
// arguments; none reports a filter that selects nothing.
func (s *Store) assignmentQuery(f AssignmentFilter) (clause string, args []any, none bool) {
	if f.SchoolIDs != nil && len(f.SchoolIDs) == 0 {
		return "", nil, true
	}
	var where []string
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.ExpertID != 0 {
		add("a.expert_id = $%d", int64(f.ExpertID))
	}
	if f.TeacherID != 0 {
		add("a.teacher_id = $%d", int64(f.TeacherID))
	}
	if f.SchemeID != 0 {
		add("a.scheme_id = $%d", int64(f.SchemeID))
	}
	if f.Target != "" {
		add("a.target = $%d", f.Target)
	}
	if f.Round != nil {
		add("a.round = $%d", *f.Round)
	}
	if f.Status != "" {
		add("a.status = $%d", f.Status)
	}
	if f.DistrictID != 0 {
		add("a.district_id = $%d", int64(f.DistrictID))
	}
	if f.CalibrationID != nil {
		add("a.calibration_id = $%d", int64(*f.CalibrationID))
	}
	if f.SchoolIDs != nil {
		args = append(args, s.d.listArg(ids(f.SchoolIDs)))
		where = append(where, s.d.inList("a.school_id", len(args)))
	}
	limit := f.Limit
	if limit <= 0 || limit > 2000 {
		limit = 2000
	}
	args = append(args, limit)
	return whereClause(where) + fmt.Sprintf(` ORDER BY CASE WHEN a.due_at = 0 THEN 1 ELSE 0 END, a.due_at, a.id LIMIT $%d`, len(args)), args, false
}

// ListAssignments lists assignments by due date (none last), then id; at most 2000.
func (s *Store) ListAssignments(ctx context.Context, f AssignmentFilter) ([]Assignment, error) {
	clause, args, none := s.assignmentQuery(f)
	if none {
		return []Assignment{}, nil
	}
	rs, err := s.r().query(ctx, `SELECT `+assignmentCols+assignmentFrom+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list assignments: %w", err)
	}
	defer rs.Close()
	out := []Assignment{}
	for rs.Next() {
		x, err := scanAssignment(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: list assignments: %w", err)
		}
		out = append(out, x)
	}
	return out, rs.Err()
}

// RateReview keeps how useful the teacher of the lesson found a submitted
// review (1–5; rating again replaces it), with a review.rate activity row
// valued at the score: the statistics' review satisfaction.
func (s *Store) RateReview(ctx context.Context, a Actor, id AssignmentID, score int) (Review, error) {
	if score < 1 || score > 5 {
		return Review{}, &FieldError{Field: "score", Message: "1 to 5"}
	}
	err := s.tx(ctx, func(q querier) error {
		x, err := scanAssignment(q.queryRow(ctx, `SELECT `+assignmentCols+assignmentFrom+` WHERE a.id = $1`, int64(id)))
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if x.Status != AssignmentSubmitted {
			return ErrClosed
		}
		if _, err := q.exec(ctx, `UPDATE reviews SET teacher_rating = $2 WHERE assignment_id = $1`, int64(id), score); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.rate", DistrictID: x.DistrictID, SchoolID: x.SchoolID, SubjectID: x.SubjectID,
			Subject: x.Target, Value: int64(score)}, map[string]any{"assignment": id}, nil)
	})
	if err != nil {
		return Review{}, fmt.Errorf("storage: rate review %d: %w", id, err)
	}
	return s.GetReview(ctx, id)
}

// DeleteAssignment withdraws an assignment the expert has not started
// (ErrClosed once they have).
func (s *Store) DeleteAssignment(ctx context.Context, a Actor, id AssignmentID) error {
	err := s.tx(ctx, func(q querier) error {
		x, err := scanAssignment(q.queryRow(ctx, `SELECT `+assignmentCols+assignmentFrom+` WHERE a.id = $1`, int64(id)))
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		n, err := q.exec(ctx, `DELETE FROM review_assignments WHERE id = $1 AND status = 'assigned'`, int64(id))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrClosed
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.unassign", DistrictID: x.DistrictID, SchoolID: x.SchoolID, SubjectID: x.SubjectID,
			Subject: x.Target}, map[string]any{"assignment": id, "expert": x.ExpertID}, nil)
	})
	if err != nil {
		return fmt.Errorf("storage: delete assignment %d: %w", id, err)
	}
	return nil
}

func checkReviewBody(b *ReviewBody) error {
	if b.Scores == nil {
		b.Scores = []ReviewScore{}
	}
	if b.Notes == nil {
		b.Notes = []ReviewNote{}
	}
	switch {
	case len(b.Scores) > MaxRubricCriteria:
		return &FieldError{Field: "scores", Message: fmt.Sprintf("at most %d", MaxRubricCriteria)}
	case len(b.Notes) > MaxReviewNotes:
		return &FieldError{Field: "notes", Message: fmt.Sprintf("at most %d", MaxReviewNotes)}
	case tooLong(b.Strengths, MaxReviewText) || !utf8.ValidString(b.Strengths):
		return &FieldError{Field: "strengths", Message: fmt.Sprintf("at most %d characters", MaxReviewText)}
	case tooLong(b.Improve, MaxReviewText) || !utf8.ValidString(b.Improve):
		return &FieldError{Field: "improve", Message: fmt.Sprintf("at most %d characters", MaxReviewText)}
	}
	for _, n := range b.Notes {
		if n.StartMS < 0 || (n.EndMS != 0 && n.EndMS < n.StartMS) {
			return &FieldError{Field: "notes", Message: "a note starts at 0 ms or later and ends after it starts"}
		}
		if strings.TrimSpace(n.Text) == "" || tooLong(n.Text, MaxReviewText) || !utf8.ValidString(n.Text) {
			return &FieldError{Field: "notes", Message: fmt.Sprintf("every note needs a text of at most %d characters", MaxReviewText)}
		}
	}
	return nil
}

// SaveReviewDraft stores an assignment's review as a draft, whole: saving
// the same body twice leaves the same review, version included. A
// submitted review is closed.
func (s *Store) SaveReviewDraft(ctx context.Context, id AssignmentID, b ReviewBody) (Review, error) {
	if err := checkReviewBody(&b); err != nil {
		return Review{}, err
	}
	err := s.tx(ctx, func(q querier) error {
		var status string
		if err := q.queryRow(ctx, `SELECT status FROM review_assignments WHERE id = $1`, int64(id)).Scan(&status); err != nil {
			if isNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		if status == AssignmentSubmitted {
			return ErrClosed
		}
		now := ms(s.now())
		// The same body again changes nothing, not even the version.
		n, err := q.exec(ctx, `UPDATE reviews SET body = $2, version = version + 1, updated_at = $3 WHERE assignment_id = $1 AND body <> $2`,
			int64(id), jsonText(b), now)
		if err != nil {
			return err
		}
		if n == 0 {
			var same int
			if err := q.queryRow(ctx, `SELECT COUNT(*) FROM reviews WHERE assignment_id = $1`, int64(id)).Scan(&same); err != nil {
				return err
			}
			if same > 0 {
				return nil
			}
		}
		if n == 0 {
			if _, err := q.exec(ctx, `INSERT INTO reviews (assignment_id, status, body, updated_at) VALUES ($1, 'draft', $2, $3)`,
				int64(id), jsonText(b), now); err != nil {
				return err
			}
		}
		_, err = q.exec(ctx, `UPDATE review_assignments SET status = 'draft' WHERE id = $1`, int64(id))
		return err
	})
	if err != nil {
		return Review{}, fmt.Errorf("storage: save review %d: %w", id, err)
	}
	return s.GetReview(ctx, id)
}

// SubmitReview stores the final body with its weighted total and locks it.
func (s *Store) SubmitReview(ctx context.Context, a Actor, id AssignmentID, b ReviewBody, total float64) (Review, error) {
	if err := checkReviewBody(&b); err != nil {
		return Review{}, err
	}
	err := s.tx(ctx, func(q querier) error {
		x, err := scanAssignment(q.queryRow(ctx, `SELECT `+assignmentCols+assignmentFrom+` WHERE a.id = $1`, int64(id)))
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if x.Status == AssignmentSubmitted {
			return ErrClosed
		}
		now := ms(s.now())
		n, err := q.exec(ctx, `UPDATE reviews SET body = $2, total = $3, status = 'submitted', submitted_at = $4, updated_at = $4,
			version = version + 1 WHERE assignment_id = $1`, int64(id), jsonText(b), total, now)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := q.exec(ctx, `INSERT INTO reviews (assignment_id, status, body, total, submitted_at, updated_at)
				VALUES ($1, 'submitted', $2, $3, $4, $4)`, int64(id), jsonText(b), total, now); err != nil {
				return err
			}
		}
		if _, err := q.exec(ctx, `UPDATE review_assignments SET status = 'submitted' WHERE id = $1`, int64(id)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.submit", DistrictID: x.DistrictID, SchoolID: x.SchoolID, SubjectID: x.SubjectID,
			Subject: x.Target, Value: int64(math.Round(total))}, map[string]any{"assignment": id, "scheme": x.SchemeID}, nil)
	})
	if err != nil {
		return Review{}, fmt.Errorf("storage: submit review %d: %w", id, err)
	}
	return s.GetReview(ctx, id)
}

// ReopenReview turns a submitted review back into a draft; the reason is
// kept on the review and in the activity log.
func (s *Store) ReopenReview(ctx context.Context, a Actor, id AssignmentID, reason string) (Review, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || tooLong(reason, 500) {
		return Review{}, &FieldError{Field: "reason", Message: "is required (at most 500 characters)"}
	}
	err := s.tx(ctx, func(q querier) error {
		x, err := scanAssignment(q.queryRow(ctx, `SELECT `+assignmentCols+assignmentFrom+` WHERE a.id = $1`, int64(id)))
		if isNoRows(err) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if x.Status != AssignmentSubmitted {
			return ErrClosed
		}
		if _, err := q.exec(ctx, `UPDATE reviews SET status = 'draft', submitted_at = 0, reopened_reason = $2, reopened_by = $3,
			version = version + 1, updated_at = $4 WHERE assignment_id = $1`, int64(id), reason, int64(a.UserID), ms(s.now())); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `UPDATE review_assignments SET status = 'draft' WHERE id = $1`, int64(id)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.reopen", DistrictID: x.DistrictID, SchoolID: x.SchoolID, SubjectID: x.SubjectID,
			Subject: x.Target}, map[string]any{"assignment": id, "reason": reason}, nil)
	})
	if err != nil {
		return Review{}, fmt.Errorf("storage: reopen review %d: %w", id, err)
	}
	return s.GetReview(ctx, id)
}

const reviewCols = assignmentCols + `, COALESCE(r.body, ''), COALESCE(r.version, 0), COALESCE(r.reopened_reason, ''), COALESCE(r.updated_at, 0),
	COALESCE(r.teacher_rating, 0)`

func scanReview(rw row) (Review, error) {
	var rv Review
	var body string
	var updated int64
	x, err := scanAssignment(rw, &body, &rv.Version, &rv.ReopenedReason, &updated, &rv.TeacherRating)
	if err != nil {
		return rv, err
	}
	rv.Assignment, rv.UpdatedAt = x, fromMSOrZero(updated)
	rv.Body = ReviewBody{Scores: []ReviewScore{}, Notes: []ReviewNote{}}
	if body != "" {
		if err := json.Unmarshal([]byte(body), &rv.Body); err != nil {
			return rv, err
		}
	}
	return rv, nil
}

// GetReview reads an assignment's review; one not started yet is an empty draft.
func (s *Store) GetReview(ctx context.Context, id AssignmentID) (Review, error) {
	rv, err := scanReview(s.r().queryRow(ctx, `SELECT `+reviewCols+assignmentFrom+` WHERE a.id = $1`, int64(id)))
	if isNoRows(err) {
		return rv, fmt.Errorf("storage: review %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return rv, fmt.Errorf("storage: review %d: %w", id, err)
	}
	return rv, nil
}

// ListReviews reads, in one query, the reviews of the assignments f
// selects (without those not started), in ListAssignments' order.
func (s *Store) ListReviews(ctx context.Context, f AssignmentFilter) ([]Review, error) {
	clause, args, none := s.assignmentQuery(f)
	if none {
		return []Review{}, nil
	}
	// "a.status <> 'assigned'" joins the filter's conditions (or starts them).
	cond := " WHERE a.status <> 'assigned'"
	if strings.HasPrefix(clause, " WHERE ") {
		clause = cond + " AND " + strings.TrimPrefix(clause, " WHERE ")
	} else {
		clause = cond + clause
	}
	rs, err := s.r().query(ctx, `SELECT `+reviewCols+assignmentFrom+clause, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: list reviews: %w", err)
	}
	defer rs.Close()
	out := []Review{}
	for rs.Next() {
		rv, err := scanReview(rs)
		if err != nil {
			return nil, fmt.Errorf("storage: list reviews: %w", err)
		}
		out = append(out, rv)
	}
	return out, rs.Err()
}

// CreateCalibration stores a calibration clip and its master scores.
func (s *Store) CreateCalibration(ctx context.Context, a Actor, c Calibration) (Calibration, error) {
	if len(c.Master) == 0 || len(c.Master) > MaxRubricCriteria {
		return Calibration{}, &FieldError{Field: "master", Message: "score the clip on the scheme's criteria"}
	}
	if len(c.Round) > 60 {
		return Calibration{}, &FieldError{Field: "round", Message: "at most 60 characters"}
	}
	var id CalibrationID
	err := s.tx(ctx, func(q querier) error {
		if err := q.queryRow(ctx, `INSERT INTO review_calibrations (scheme_id, district_id, target, round, body, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, int64(c.SchemeID), int64(c.DistrictID), c.Target, c.Round, jsonText(c.Master),
			int64(a.UserID), ms(s.now())).Scan(&id); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.calibration_create", DistrictID: c.DistrictID, Subject: c.Target},
			map[string]any{"calibration": id, "scheme": c.SchemeID}, nil)
	})
	if err != nil {
		return Calibration{}, fmt.Errorf("storage: create calibration: %w", err)
	}
	return s.GetCalibration(ctx, id)
}

// GetCalibration reads a calibration clip.
func (s *Store) GetCalibration(ctx context.Context, id CalibrationID) (Calibration, error) {
	var c Calibration
	var body string
	var created int64
	err := s.r().queryRow(ctx, `SELECT id, scheme_id, district_id, target, round, body, created_by, created_at FROM review_calibrations WHERE id = $1`,
		int64(id)).Scan(&c.ID, &c.SchemeID, &c.DistrictID, &c.Target, &c.Round, &body, &c.CreatedBy, &created)
	if isNoRows(err) {
		return c, fmt.Errorf("storage: calibration %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("storage: calibration %d: %w", id, err)
	}
	c.CreatedAt = fromMS(created)
	return c, json.Unmarshal([]byte(body), &c.Master)
}

// ListCalibrations lists calibration clips, newest first: of one district
// (0: every district), or only those named by ids (nil: no limit), at most
// limit (1–200, default 100).
func (s *Store) ListCalibrations(ctx context.Context, district DistrictID, ids []CalibrationID, limit int) ([]Calibration, error) {
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	conds := []string{"1 = 1"}
	args := []any{}
	if district != 0 {
		args = append(args, int64(district))
		conds = append(conds, fmt.Sprintf("district_id = $%d", len(args)))
	}
	if ids != nil {
		list := make([]int64, len(ids))
		for i, id := range ids {
			list[i] = int64(id)
		}
		args = append(args, s.d.listArg(list))
		conds = append(conds, s.d.inList("id", len(args)))
	}
	args = append(args, limit)
	rs, err := s.r().query(ctx, `SELECT id, scheme_id, district_id, target, round, body, created_by, created_at FROM review_calibrations
		WHERE `+strings.Join(conds, " AND ")+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("storage: calibrations: %w", err)
	}
	defer rs.Close()
	out := []Calibration{}
	for rs.Next() {
		var c Calibration
		var body string
		var created int64
		if err := rs.Scan(&c.ID, &c.SchemeID, &c.DistrictID, &c.Target, &c.Round, &body, &c.CreatedBy, &created); err != nil {
			return nil, fmt.Errorf("storage: calibrations: %w", err)
		}
		c.CreatedAt = fromMS(created)
		if err := json.Unmarshal([]byte(body), &c.Master); err != nil {
			return nil, fmt.Errorf("storage: calibration %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: calibrations: %w", err)
	}
	return out, nil
}

// SaveCalibrationResult keeps an expert's agreement with a calibration's
// master (the latest attempt replaces an earlier one).
func (s *Store) SaveCalibrationResult(ctx context.Context, r CalibrationResult) error {
	err := s.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `DELETE FROM review_calibration_results WHERE calibration_id = $1 AND expert_id = $2`,
			int64(r.CalibrationID), int64(r.ExpertID)); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO review_calibration_results (calibration_id, expert_id, agreement, passed, at) VALUES ($1, $2, $3, $4, $5)`,
			int64(r.CalibrationID), int64(r.ExpertID), r.Agreement, r.Passed, ms(r.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: save calibration result: %w", err)
	}
	return nil
}

// CalibrationResults lists agreements with masters: of one calibration
// (expert 0: every expert), or of one expert (calibration 0: every calibration).
func (s *Store) CalibrationResults(ctx context.Context, cal CalibrationID, expert UserID) ([]CalibrationResult, error) {
	rs, err := s.r().query(ctx, `SELECT c.calibration_id, c.expert_id, u.name, c.agreement, c.passed, c.at
		FROM review_calibration_results c JOIN users u ON u.id = c.expert_id
		WHERE ($1 = 0 OR c.calibration_id = $1) AND ($2 = 0 OR c.expert_id = $2) ORDER BY c.calibration_id, c.expert_id`, int64(cal), int64(expert))
	if err != nil {
		return nil, fmt.Errorf("storage: calibration results: %w", err)
	}
	defer rs.Close()
	out := []CalibrationResult{}
	for rs.Next() {
		var r CalibrationResult
		var at int64
		if err := rs.Scan(&r.CalibrationID, &r.ExpertID, &r.ExpertName, &r.Agreement, &r.Passed, &at); err != nil {
			return nil, fmt.Errorf("storage: calibration results: %w", err)
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	return out, rs.Err()
}

// SetReflection stores a teacher's reflection on their own target.
func (s *Store) SetReflection(ctx context.Context, a Actor, r Reflection, district DistrictID, school SchoolID) (Reflection, error) {
	r.Text = strings.TrimSpace(r.Text)
	if tooLong(r.Text, MaxReviewText) || !utf8.ValidString(r.Text) {
		return r, &FieldError{Field: "text", Message: fmt.Sprintf("at most %d characters", MaxReviewText)}
	}
	r.UpdatedAt = s.now()
	err := s.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `DELETE FROM review_reflections WHERE target = $1`, r.Target); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `INSERT INTO review_reflections (target, teacher_id, text, updated_at) VALUES ($1, $2, $3, $4)`,
			r.Target, int64(r.TeacherID), r.Text, ms(r.UpdatedAt)); err != nil {
			return err
		}
		return s.logChange(ctx, q, a, Activity{Action: "review.reflect", DistrictID: district, SchoolID: school, Subject: r.Target}, nil, nil)
	})
	if err != nil {
		return r, fmt.Errorf("storage: reflection on %s: %w", r.Target, err)
	}
	r.UpdatedAt = fromMS(ms(r.UpdatedAt))
	return r, nil
}

// GetReflection reads the reflection on a target (an empty one when none).
func (s *Store) GetReflection(ctx context.Context, target string) (Reflection, error) {
	r := Reflection{Target: target}
	var at int64
	err := s.r().queryRow(ctx, `SELECT teacher_id, text, updated_at FROM review_reflections WHERE target = $1`, target).Scan(&r.TeacherID, &r.Text, &at)
	if isNoRows(err) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("storage: reflection on %s: %w", target, err)
	}
	r.UpdatedAt = fromMS(at)
	return r, nil
}

// FeedbackSeen is when a user last read their review feedback (zero: never).
func (s *Store) FeedbackSeen(ctx context.Context, user UserID) (time.Time, error) {
	var at int64
	err := s.r().queryRow(ctx, `SELECT seen_at FROM review_feedback_seen WHERE user_id = $1`, int64(user)).Scan(&at)
	if isNoRows(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("storage: feedback seen: %w", err)
	}
	return fromMS(at), nil
}

// SetFeedbackSeen records that a user read their review feedback at t.
func (s *Store) SetFeedbackSeen(ctx context.Context, user UserID, t time.Time) error {
	err := s.tx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, `DELETE FROM review_feedback_seen WHERE user_id = $1`, int64(user)); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO review_feedback_seen (user_id, seen_at) VALUES ($1, $2)`, int64(user), ms(t))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: feedback seen: %w", err)
	}
	return nil
}
