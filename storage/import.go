package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// The kinds of rows of a batch, as ImportRowError names them.
const (
	importSchools  = "schools"
	importTeachers = "teachers"
	importStudents = "students"
)

// ImportRowError is one row of a batch that cannot be imported.
type ImportRowError struct {
	Kind  string // "schools", "teachers" or "students"
	Index int    // the row's place in the batch's slice of its kind, from 0
	Field string // the field at fault, e.g. "school_code"
	// Code names what is wrong (one of the Import… codes) and Args fill
	// the verbs of its format (ImportFormats), in order, so that a caller
	// can say it in another language; an argument naming a field or a
	// kind of rows is an ImportTerm.
	Code string
	Args []any
	// Message is the English text: Code's format filled with Args.
	Message string
}

// ImportTerm is an argument of an ImportRowError that names a field (a
// column of the file, e.g. "student_no") or a kind of rows ("schools"), which
// a message in another language says in its own words.
type ImportTerm string

// The codes of ImportRowError.
const (
	ImportRequired          = "required"
	ImportUnknownSchoolKind = "unknown_school_kind"
	ImportDuplicate         = "duplicate"
	ImportGrades            = "grades_range"
	ImportGrade             = "grade_range"
	ImportNoSubject         = "no_subject"
	ImportNoSchool          = "no_school"
	ImportSchoolOutOfScope  = "school_out_of_scope"
	ImportSchoolElsewhere   = "school_in_another_district"
	ImportInvalidUser       = "invalid_user"
	ImportUserOutOfScope    = "user_out_of_scope"
	ImportUserElsewhere     = "user_in_another_district"
)

// importFormats is the English format of each code.
var importFormats = map[string]string{
	ImportRequired:          "is required",
	ImportUnknownSchoolKind: "unknown school kind %q",
	ImportDuplicate:         "%q is already on %s row %d",
	ImportGrades:            "grades must be between 1 and 12",
	ImportGrade:             "must be between 1 and 12",
	ImportNoSubject:         "no such subject %q",
	ImportNoSchool:          "no school has the code %q",
	ImportSchoolOutOfScope:  "school %q is not one you may import into",
	ImportSchoolElsewhere:   "school %q belongs to another district",
	ImportInvalidUser:       "%s",
	// The same words wherever the user is: the row reveals nothing about
	// an account the caller may not see.
	ImportUserOutOfScope: "%s %q belongs to another school or to an account you may not change; " +
		"ask its administrator or a district admin to move it",
	ImportUserElsewhere: "%s %q belongs to another district: an import never moves users between districts",
}

// ImportFormats returns the English format of every code of
// ImportRowError.
func ImportFormats() map[string]string { return maps.Clone(importFormats) }

// NewImportRowError is row i of kind's error on field, coded code, with
// its English Message.
func NewImportRowError(kind string, i int, field, code string, args ...any) ImportRowError {
	return ImportRowError{Kind: kind, Index: i, Field: field, Code: code, Args: args,
		Message: fmt.Sprintf(importFormats[code], args...)}
}

func (e ImportRowError) String() string {
	return fmt.Sprintf("%s row %d, %s: %s", e.Kind, e.Index+1, e.Field, e.Message)
}

// ImportRowsError lists every row of a batch that cannot be imported, in
// the batch's order: schools, teachers, students. Nothing was imported.
// It wraps ErrInvalid.
type ImportRowsError struct{ Rows []ImportRowError }

func (e *ImportRowsError) Error() string {
	const show = 3
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows cannot be imported: ", len(e.Rows))
	for i, r := range e.Rows {
		if i == show {
			b.WriteString("; …")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}

func (e *ImportRowsError) Unwrap() error { return ErrInvalid }

// Import applies a validated batch in one transaction: all rows or none.
//
// Schools are matched by code, teachers by staff number and students by
// student number; a new teacher's or student's username is that number.
// A row equal to what is stored is left alone: its version and updated_at
// do not move and it writes no activity. Every school or user created or
// changed writes its own "school.create", "school.update", "user.create"
// or "user.update" row, a user moved from another school "user.move"
// (with the schools it left and joined), and the import as a whole one
// "import.run" row whose Value is the number of rows created, changed or
// moved.
//
// An existing user keeps their password, username, other roles and
// active flag; the import adds the teacher or student role when missing.
// An import never moves a user to another district, and asks
// b.Authorize about every teacher and student row, with the users it
// matches as read in the transaction.
//
// Rows that cannot be imported (a missing field, an unknown school or
// subject, a user the caller may not change…) are all checked and
// returned together as an *ImportRowsError.
func (s *Store) Import(ctx context.Context, a Actor, b ImportBatch) (ImportResult, error) {
	if b.DistrictID <= 0 {
		return ImportResult{}, fmt.Errorf("storage: import: %w", &FieldError{Field: "district_id", Message: "is required"})
	}
	clean := cleanBatch(&b)
	var res ImportResult
	err := s.tx(ctx, func(q querier) error {
		// A retried transaction starts over from the rows' own checks.
		chk := clean.clone()
		var err error
		if res, err = s.importTx(ctx, q, a, b, chk); err != nil {
			return err
		}
		if b.DryRun {
			return errDryRun // counted everything; now roll it all back
		}
		return nil
	})
	if b.DryRun && errors.Is(err, errDryRun) {
		return res, nil
	}
	if err != nil {
		return ImportResult{}, fmt.Errorf("storage: import: %w", err)
	}
	return res, nil
}

// importCheck collects the rows of a batch that cannot be imported.
type importCheck struct {
	rows []ImportRowError
	bad  map[importRef]bool // rows found wrong: not looked at again
}

type importRef struct {
	kind  string
	index int
}

func (c *importCheck) fail(kind string, i int, field, code string, args ...any) {
	c.rows = append(c.rows, NewImportRowError(kind, i, field, code, args...))
	c.bad[importRef{kind, i}] = true
}

// ok reports whether row i of kind has no problem yet.
func (c *importCheck) ok(kind string, i int) bool { return !c.bad[importRef{kind, i}] }

// failed reports whether some row has a problem: from then on, nothing
// more is written, but every row is still checked.
func (c *importCheck) failed() bool { return len(c.rows) > 0 }

func (c *importCheck) clone() *importCheck {
	return &importCheck{rows: slices.Clone(c.rows), bad: maps.Clone(c.bad)}
}

// err is the rows' *ImportRowsError, or nil.
func (c *importCheck) err() error {
	if len(c.rows) == 0 {
		return nil
	}
	order := map[string]int{importSchools: 0, importTeachers: 1, importStudents: 2}
	rows := slices.Clone(c.rows)
	slices.SortStableFunc(rows, func(x, y ImportRowError) int {
		if d := order[x.Kind] - order[y.Kind]; d != 0 {
			return d
		}
		return x.Index - y.Index
	})
	return &ImportRowsError{Rows: rows}
}

// cleanBatch trims the keys and checks each row on its own and that no
// key appears twice.
func cleanBatch(b *ImportBatch) *importCheck {
	c := &importCheck{bad: map[importRef]bool{}}
	seen := map[string]int{}
	for i := range b.Schools {
		r := &b.Schools[i]
		r.Code, r.Name = strings.TrimSpace(r.Code), strings.TrimSpace(r.Name)
		switch {
		case r.Code == "":
			c.fail(importSchools, i, "code", ImportRequired)
		case r.Name == "":
			c.fail(importSchools, i, "name", ImportRequired)
		case !r.Kind.Valid():
			c.fail(importSchools, i, "kind", ImportUnknownSchoolKind, string(r.Kind))
		}
		if first, dup := seen[r.Code]; dup && r.Code != "" {
			c.fail(importSchools, i, "code", ImportDuplicate, r.Code, ImportTerm(importSchools), first+1)
		} else {
			seen[r.Code] = i
		}
	}
	clear(seen)
	for i := range b.Teachers {
		r := &b.Teachers[i]
		r.SchoolCode, r.StaffNo, r.Name = strings.TrimSpace(r.SchoolCode), strings.TrimSpace(r.StaffNo), strings.TrimSpace(r.Name)
		switch {
		case r.StaffNo == "":
			c.fail(importTeachers, i, "staff_no", ImportRequired)
		case r.Name == "":
			c.fail(importTeachers, i, "name", ImportRequired)
		case r.SchoolCode == "":
			c.fail(importTeachers, i, "school_code", ImportRequired)
		case slices.ContainsFunc(r.Grades, func(g int) bool { return g < 1 || g > 12 }):
			c.fail(importTeachers, i, "grades", ImportGrades)
		}
		if first, dup := seen[r.StaffNo]; dup && r.StaffNo != "" {
			c.fail(importTeachers, i, "staff_no", ImportDuplicate, r.StaffNo, ImportTerm(importTeachers), first+1)
		} else {
			seen[r.StaffNo] = i
		}
	}
	clear(seen)
	for i := range b.Students {
		r := &b.Students[i]
		r.SchoolCode, r.StudentNo, r.Name = strings.TrimSpace(r.SchoolCode), strings.TrimSpace(r.StudentNo), strings.TrimSpace(r.Name)
		r.Class = strings.TrimSpace(r.Class)
		switch {
		case r.StudentNo == "":
			c.fail(importStudents, i, "student_no", ImportRequired)
		case r.Name == "":
			c.fail(importStudents, i, "name", ImportRequired)
		case r.SchoolCode == "":
			c.fail(importStudents, i, "school_code", ImportRequired)
		case r.Grade < 1 || r.Grade > 12:
			c.fail(importStudents, i, "grade", ImportGrade)
		}
		if first, dup := seen[r.StudentNo]; dup && r.StudentNo != "" {
			c.fail(importStudents, i, "student_no", ImportDuplicate, r.StudentNo, ImportTerm(importStudents), first+1)
		} else {
			seen[r.StudentNo] = i
		}
	}
	return c
}

// userPlan is what an import does with one valid teacher or student row:
// create in (old is nil) or store it over old.
type userPlan struct {
	in  UserInput
	old *User
}

func (s *Store) importTx(ctx context.Context, q querier, a Actor, b ImportBatch, chk *importCheck) (ImportResult, error) {
	var res ImportResult
	acts := activityBatch{}
	if err := districtExists(ctx, q, b.DistrictID); err != nil {
		return res, err
	}
	subjects, err := listSubjects(ctx, q)
	if err != nil {
		return res, err
	}
	subjectByCode := map[string]SubjectID{}
	for _, sub := range subjects {
		subjectByCode[sub.Code] = sub.ID
		subjectByCode[sub.Name] = sub.ID
	}

	// Schools: the batch's own and those its people belong to.
	var codes []string
	for _, r := range b.Schools {
		codes = append(codes, r.Code)
	}
	for _, r := range b.Teachers {
		codes = append(codes, r.SchoolCode)
	}
	for _, r := range b.Students {
		codes = append(codes, r.SchoolCode)
	}
	schools, err := s.schoolsByCode(ctx, q, slices.Compact(slices.Sorted(slices.Values(codes))))
	if err != nil {
		return res, err
	}
	for i, r := range b.Schools {
		if !chk.ok(importSchools, i) {
			continue
		}
		if err := s.importSchool(ctx, q, a, b, chk, i, r, schools, &res.Schools, acts); err != nil {
			return res, err
		}
	}

	// Teachers, by staff number. New users are collected in created and
	// inserted together at the end.
	var created []UserInput
	keys := make([]string, len(b.Teachers))
	for i, r := range b.Teachers {
		keys[i] = r.StaffNo
	}
	existing, err := s.usersByKey(ctx, q, "staff_no", keys)
	if err != nil {
		return res, err
	}
	var plans []userPlan
	for i, r := range b.Teachers {
		if !chk.ok(importTeachers, i) {
			continue
		}
		subs := make([]SubjectID, 0, len(r.SubjectCodes))
		for _, c := range r.SubjectCodes {
			id, ok := subjectByCode[strings.TrimSpace(c)]
			if !ok {
				chk.fail(importTeachers, i, "subjects", ImportNoSubject, c)
				continue
			}
			subs = append(subs, id)
		}
		in := UserInput{Username: r.StaffNo, Name: r.Name, Roles: []Role{RoleTeacher}, Active: true,
			StaffNo: r.StaffNo, Subjects: subs, Grades: r.Grades, Trainee: r.Trainee}
		if !placeImported(b, chk, importTeachers, i, r.SchoolCode, schools, &in) || !chk.ok(importTeachers, i) {
			continue
		}
		old, ok := existing[r.StaffNo]
		if ok {
			in = mergeImported(old, in, RoleTeacher)
			in.Subjects, in.Grades, in.Trainee = subs, r.Grades, r.Trainee
		}
		if p, good := planImported(b, chk, importTeachers, i, "staff_no", r.StaffNo, in, old, ok); good {
			plans = append(plans, p)
		}
	}
	if !chk.failed() {
		if err := s.applyImported(ctx, q, a, plans, &res.Teachers, &created, acts); err != nil {
			return res, err
		}
	}

	// Students, by student number.
	keys = make([]string, len(b.Students))
	for i, r := range b.Students {
		keys[i] = r.StudentNo
	}
	existing, err = s.usersByKey(ctx, q, "student_no", keys)
	if err != nil {
		return res, err
	}
	plans = plans[:0]
	for i, r := range b.Students {
		if !chk.ok(importStudents, i) {
			continue
		}
		in := UserInput{Username: r.StudentNo, Name: r.Name, Roles: []Role{RoleStudent}, Active: true,
			StudentNo: r.StudentNo, Grade: r.Grade, Class: r.Class}
		if !placeImported(b, chk, importStudents, i, r.SchoolCode, schools, &in) {
			continue
		}
		old, ok := existing[r.StudentNo]
		if ok {
			in = mergeImported(old, in, RoleStudent)
			in.Grade, in.Class = r.Grade, r.Class
		}
		if p, good := planImported(b, chk, importStudents, i, "student_no", r.StudentNo, in, old, ok); good {
			plans = append(plans, p)
		}
	}
	if err := chk.err(); err != nil {
		return res, err
	}
	if err := s.applyImported(ctx, q, a, plans, &res.Students, &created, acts); err != nil {
		return res, err
	}
	if len(created) > 0 {
		if b.InitialPasswordHash == "" {
			return res, &FieldError{Field: "initial_password", Message: "is required to create users"}
		}
		if err := s.insertUsers(ctx, q, a, created, b.InitialPasswordHash, acts); err != nil {
			return res, err
		}
	}

	changed := res.Schools.Created + res.Schools.Updated + res.Teachers.Created + res.Teachers.Updated + res.Teachers.Moved +
		res.Students.Created + res.Students.Updated + res.Students.Moved
	if err := s.logChange(ctx, q, a, Activity{Action: "import.run", DistrictID: b.DistrictID, Value: int64(changed)},
		map[string]any{"schools": res.Schools, "teachers": res.Teachers, "students": res.Students}, acts); err != nil {
		return res, err
	}
	return res, flushRollup(ctx, q, acts)
}

// importSchool checks one school row and, while no row has failed,
// creates or updates the school.
func (s *Store) importSchool(ctx context.Context, q querier, a Actor, b ImportBatch, chk *importCheck, i int, r SchoolRow,
	schools map[string]School, counts *ImportCounts, acts activityBatch) error {
	old, ok := schools[r.Code]
	switch {
	case ok && old.DistrictID != b.DistrictID:
		chk.fail(importSchools, i, "code", ImportSchoolElsewhere, r.Code)
		return nil
	case chk.failed():
		// Nothing more is written; the school stands in for the rows
		// naming it, so they are checked too.
		if !ok {
			schools[r.Code] = School{DistrictID: b.DistrictID, Code: r.Code, Name: r.Name, Kind: r.Kind}
		}
		return nil
	case !ok:
		in := SchoolInput{DistrictID: b.DistrictID, Code: r.Code, Name: r.Name, Kind: r.Kind, Active: true}
		sc, err := s.insertSchool(ctx, q, a, in, acts)
		if err != nil {
			return err
		}
		schools[r.Code] = sc
		counts.Created++
	case old.Name == r.Name && old.Kind == r.Kind:
		counts.Unchanged++
	default:
		if _, err := q.exec(ctx, `UPDATE schools SET name = $2, kind = $3, search = $4, version = version + 1, updated_at = $5
			WHERE id = $1`, int64(old.ID), r.Name, string(r.Kind), schoolSearch(r.Code, r.Name), ms(s.now())); err != nil {
			return err
		}
		if err := s.logChange(ctx, q, a, Activity{
			Action: "school.update", DistrictID: old.DistrictID, SchoolID: old.ID, Subject: "school:" + itoa(old.ID),
		}, map[string]any{"code": r.Code, "import": true}, acts); err != nil {
			return err
		}
		counts.Updated++
	}
	return nil
}

// placeImported puts the new user in (a row's own fields) into the school
// the row names, if it exists, is the batch's district's, and the caller
// may create such a user there.
func placeImported(b ImportBatch, chk *importCheck, kind string, i int, code string, schools map[string]School, in *UserInput) bool {
	sc, ok := schools[code]
	if !ok {
		chk.fail(kind, i, "school_code", ImportNoSchool, code)
		return false
	}
	in.DistrictID, in.SchoolID = sc.DistrictID, sc.ID
	if b.Authorize != nil && !b.Authorize(nil, *in) {
		chk.fail(kind, i, "school_code", ImportSchoolOutOfScope, code)
		return false
	}
	if sc.DistrictID != b.DistrictID {
		chk.fail(kind, i, "school_code", ImportSchoolElsewhere, code)
		return false
	}
	return true
}

// planImported checks what a valid row does to the user it matches (old,
// when exists): the caller must be allowed to change old into in, and
// the user must be of the batch's district.
func planImported(b ImportBatch, chk *importCheck, kind string, i int, field, key string, in UserInput, old User, exists bool) (userPlan, bool) {
	in, err := cleanUser(in)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			fe = &FieldError{Field: field, Message: err.Error()}
		}
		chk.fail(kind, i, fe.Field, ImportInvalidUser, fe.Message)
		return userPlan{}, false
	}
	if !exists {
		return userPlan{in: in}, true
	}
	switch {
	case b.Authorize != nil && !b.Authorize(&old, in):
		// The same words wherever the user is (ImportUserOutOfScope).
		chk.fail(kind, i, field, ImportUserOutOfScope, ImportTerm(field), key)
	case old.DistrictID != b.DistrictID:
		chk.fail(kind, i, field, ImportUserElsewhere, ImportTerm(field), key)
	default:
		return userPlan{in: in, old: &old}, true
	}
	return userPlan{}, false
}

// applyImported carries out plans: new users are added to created, the
// others updated (over the version read, so that a concurrent change is a
// conflict), moved or left alone.
func (s *Store) applyImported(ctx context.Context, q querier, a Actor, plans []userPlan, counts *ImportCounts,
	created *[]UserInput, acts activityBatch) error {
	for _, p := range plans {
		if p.old == nil {
			*created = append(*created, p.in)
			counts.Created++
			continue
		}
		old := *p.old
		if sameUser(old, p.in) {
			counts.Unchanged++
			continue
		}
		u, err := s.updateUser(ctx, q, old.ID, p.in, old.Version)
		if err != nil {
			return err
		}
		act := Activity{Action: "user.update", DistrictID: u.DistrictID, SchoolID: u.SchoolID, Subject: "user:" + itoa(u.ID)}
		detail := map[string]any{"username": u.Username, "import": true}
		if old.SchoolID != u.SchoolID {
			act.Action = "user.move"
			detail["from_school_id"], detail["to_school_id"] = old.SchoolID, u.SchoolID
			counts.Moved++
		} else {
			counts.Updated++
		}
		if err := s.logChange(ctx, q, a, act, detail, acts); err != nil {
			return err
		}
	}
	return nil
}

// mergeImported is an existing user with the fields an import row sets
// (name, school, district) replaced and role added; the caller sets the
// role's own fields.
func mergeImported(old User, in UserInput, role Role) UserInput {
	out := UserInput{
		Username: old.Username, Name: in.Name, DistrictID: in.DistrictID, SchoolID: in.SchoolID,
		Roles: slices.Clone(old.Roles), Active: old.Active, StudentNo: old.StudentNo, StaffNo: old.StaffNo,
		Grade: old.Grade, Class: old.Class, Subjects: old.Subjects, Grades: old.Grades, Trainee: old.Trainee,
		ExpertScope: old.ExpertScope,
	}
	if !slices.Contains(out.Roles, role) {
		out.Roles = append(out.Roles, role)
	}
	return out
}

// sameUser reports whether storing in over u would change nothing.
func sameUser(u User, in UserInput) bool {
	return u.Username == in.Username && u.Name == in.Name && u.DistrictID == in.DistrictID && u.SchoolID == in.SchoolID &&
		u.Active == in.Active && u.StudentNo == in.StudentNo && u.StaffNo == in.StaffNo && u.Grade == in.Grade &&
		u.Class == in.Class && u.Trainee == in.Trainee && u.ExpertScope.District == in.ExpertScope.District &&
		slices.Equal(u.Roles, in.Roles) && slices.Equal(u.Subjects, in.Subjects) && slices.Equal(u.Grades, in.Grades) &&
		slices.Equal(u.ExpertScope.Schools, in.ExpertScope.Schools)
}

// schoolsByCode reads the schools with the given codes.
func (s *Store) schoolsByCode(ctx context.Context, q querier, codes []string) (map[string]School, error) {
	out := make(map[string]School, len(codes))
	if len(codes) == 0 {
		return out, nil
	}
	r, err := q.query(ctx, "SELECT "+schoolCols+" FROM schools WHERE "+s.d.inList("code", 1), s.d.listArg(codes))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for r.Next() {
		sc, err := scanSchool(r)
		if err != nil {
			return nil, err
		}
		out[sc.Code] = sc
	}
	return out, r.Err()
}

// usersByKey reads the users whose staff_no or student_no (col) is one of
// keys, with their sets, keyed by that number.
func (s *Store) usersByKey(ctx context.Context, q querier, col string, keys []string) (map[string]User, error) {
	out := make(map[string]User, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// "<> ''" lets the planner use the partial unique index.
	r, err := q.query(ctx, "SELECT "+userCols+" FROM users WHERE "+col+" <> '' AND "+s.d.inList(col, 1), s.d.listArg(keys))
	if err != nil {
		return nil, err
	}
	var list []User
	for r.Next() {
		u, err := scanUser(r)
		if err != nil {
			r.Close()
			return nil, err
		}
		list = append(list, u)
	}
	err = r.Err()
	r.Close()
	if err != nil {
		return nil, err
	}
	if err := loadUserSets(ctx, q, s.d, list); err != nil {
		return nil, err
	}
	for _, u := range list {
		if col == "staff_no" {
			out[u.StaffNo] = u
		} else {
			out[u.StudentNo] = u
		}
	}
	return out, nil
}
