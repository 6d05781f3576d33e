package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// Import applies a validated batch in one transaction: all rows or none.
//
// Schools are matched by code, teachers by staff number and students by
// student number; a new teacher's or student's username is that number.
// A row equal to what is stored is left alone: its version and updated_at
// do not move and it writes no activity. Every school or user created or
// changed writes its own "school.create", "school.update", "user.create"
// or "user.update" row, and the import as a whole one "import.run" row
// whose Value is the number of rows created or changed.
//
// An existing user keeps their password, username, other roles and
// active flag; the import adds the teacher or student role when missing.
func (s *Store) Import(ctx context.Context, a Actor, b ImportBatch) (ImportResult, error) {
	if err := cleanBatch(&b); err != nil {
		return ImportResult{}, fmt.Errorf("storage: import: %w", err)
	}
	var res ImportResult
	err := s.tx(ctx, func(q querier) error {
		var err error
		if res, err = s.importTx(ctx, q, a, b); err != nil {
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

// cleanBatch trims the keys and checks each row on its own and that no
// key appears twice.
func cleanBatch(b *ImportBatch) error {
	if b.DistrictID <= 0 {
		return &FieldError{Field: "district_id", Message: "is required"}
	}
	rowErr := func(kind string, i int, field, msg string, args ...any) error {
		return &FieldError{Field: field, Message: fmt.Sprintf("%s row %d: ", kind, i+1) + fmt.Sprintf(msg, args...)}
	}
	seen := map[string]bool{}
	for i := range b.Schools {
		r := &b.Schools[i]
		r.Code, r.Name = strings.TrimSpace(r.Code), strings.TrimSpace(r.Name)
		switch {
		case r.Code == "":
			return rowErr("schools", i, "code", "is required")
		case r.Name == "":
			return rowErr("schools", i, "name", "is required")
		case !r.Kind.Valid():
			return rowErr("schools", i, "kind", "unknown school kind %q", r.Kind)
		case seen[r.Code]:
			return rowErr("schools", i, "code", "%q appears twice", r.Code)
		}
		seen[r.Code] = true
	}
	clear(seen)
	for i := range b.Teachers {
		r := &b.Teachers[i]
		r.SchoolCode, r.StaffNo, r.Name = strings.TrimSpace(r.SchoolCode), strings.TrimSpace(r.StaffNo), strings.TrimSpace(r.Name)
		switch {
		case r.StaffNo == "":
			return rowErr("teachers", i, "staff_no", "is required")
		case r.Name == "":
			return rowErr("teachers", i, "name", "is required")
		case r.SchoolCode == "":
			return rowErr("teachers", i, "school_code", "is required")
		case seen[r.StaffNo]:
			return rowErr("teachers", i, "staff_no", "%q appears twice", r.StaffNo)
		}
		for _, g := range r.Grades {
			if g < 1 || g > 12 {
				return rowErr("teachers", i, "grades", "grades must be between 1 and 12")
			}
		}
		seen[r.StaffNo] = true
	}
	clear(seen)
	for i := range b.Students {
		r := &b.Students[i]
		r.SchoolCode, r.StudentNo, r.Name = strings.TrimSpace(r.SchoolCode), strings.TrimSpace(r.StudentNo), strings.TrimSpace(r.Name)
		r.Class = strings.TrimSpace(r.Class)
		switch {
		case r.StudentNo == "":
			return rowErr("students", i, "student_no", "is required")
		case r.Name == "":
			return rowErr("students", i, "name", "is required")
		case r.SchoolCode == "":
			return rowErr("students", i, "school_code", "is required")
		case r.Grade < 1 || r.Grade > 12:
			return rowErr("students", i, "grade", "must be between 1 and 12")
		case seen[r.StudentNo]:
			return rowErr("students", i, "student_no", "%q appears twice", r.StudentNo)
		}
		seen[r.StudentNo] = true
	}
	return nil
}

func (s *Store) importTx(ctx context.Context, q querier, a Actor, b ImportBatch) (ImportResult, error) {
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
		old, ok := schools[r.Code]
		in := SchoolInput{DistrictID: b.DistrictID, Code: r.Code, Name: r.Name, Kind: r.Kind, Active: true}
		switch {
		case !ok:
			sc, err := s.insertSchool(ctx, q, a, in, acts)
			if err != nil {
				return res, err
			}
			schools[r.Code] = sc
			res.Schools.Created++
		case old.DistrictID != b.DistrictID:
			return res, &FieldError{Field: "code", Message: fmt.Sprintf("schools row %d: school %q belongs to another district", i+1, r.Code)}
		case old.Name == r.Name && old.Kind == r.Kind:
			res.Schools.Unchanged++
		default:
			if _, err := q.exec(ctx, `UPDATE schools SET name = $2, kind = $3, search = $4, version = version + 1, updated_at = $5
				WHERE id = $1`, int64(old.ID), r.Name, string(r.Kind), schoolSearch(r.Code, r.Name), ms(time.Now())); err != nil {
				return res, err
			}
			if err := s.logChange(ctx, q, a, Activity{
				Action: "school.update", DistrictID: old.DistrictID, SchoolID: old.ID, Subject: "school:" + itoa(old.ID),
			}, map[string]any{"code": r.Code, "import": true}, acts); err != nil {
				return res, err
			}
			res.Schools.Updated++
		}
	}
	schoolOf := func(kind string, i int, code string) (SchoolID, error) {
		sc, ok := schools[code]
		if !ok {
			return 0, &FieldError{Field: "school_code", Message: fmt.Sprintf("%s row %d: no such school %q", kind, i+1, code)}
		}
		if sc.DistrictID != b.DistrictID {
			return 0, &FieldError{Field: "school_code", Message: fmt.Sprintf("%s row %d: school %q belongs to another district", kind, i+1, code)}
		}
		return sc.ID, nil
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
	for i, r := range b.Teachers {
		school, err := schoolOf("teachers", i, r.SchoolCode)
		if err != nil {
			return res, err
		}
		subs := make([]SubjectID, 0, len(r.SubjectCodes))
		for _, c := range r.SubjectCodes {
			id, ok := subjectByCode[strings.TrimSpace(c)]
			if !ok {
				return res, &FieldError{Field: "subjects", Message: fmt.Sprintf("teachers row %d: no such subject %q", i+1, c)}
			}
			subs = append(subs, id)
		}
		in := UserInput{Username: r.StaffNo, Name: r.Name, DistrictID: b.DistrictID, SchoolID: school,
			Roles: []Role{RoleTeacher}, Active: true, StaffNo: r.StaffNo, Subjects: subs, Grades: r.Grades, Trainee: r.Trainee}
		old, ok := existing[r.StaffNo]
		if ok {
			in = mergeImported(old, in, RoleTeacher)
			in.Subjects, in.Grades, in.Trainee = subs, r.Grades, r.Trainee
		}
		if err := s.importUser(ctx, q, a, in, old, ok, &res.Teachers, &created, acts); err != nil {
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
	for i, r := range b.Students {
		school, err := schoolOf("students", i, r.SchoolCode)
		if err != nil {
			return res, err
		}
		in := UserInput{Username: r.StudentNo, Name: r.Name, DistrictID: b.DistrictID, SchoolID: school,
			Roles: []Role{RoleStudent}, Active: true, StudentNo: r.StudentNo, Grade: r.Grade, Class: r.Class}
		old, ok := existing[r.StudentNo]
		if ok {
			in = mergeImported(old, in, RoleStudent)
			in.Grade, in.Class = r.Grade, r.Class
		}
		if err := s.importUser(ctx, q, a, in, old, ok, &res.Students, &created, acts); err != nil {
			return res, err
		}
	}
	if len(created) > 0 {
		if b.InitialPasswordHash == "" {
			return res, &FieldError{Field: "initial_password", Message: "is required to create users"}
		}
		if err := s.insertUsers(ctx, q, a, created, b.InitialPasswordHash, acts); err != nil {
			return res, err
		}
	}

	changed := res.Schools.Created + res.Schools.Updated + res.Teachers.Created + res.Teachers.Updated +
		res.Students.Created + res.Students.Updated
	if err := s.logChange(ctx, q, a, Activity{Action: "import.run", DistrictID: b.DistrictID, Value: int64(changed)},
		map[string]any{"schools": res.Schools, "teachers": res.Teachers, "students": res.Students}, acts); err != nil {
		return res, err
	}
	return res, flushRollup(ctx, q, acts)
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

// importUser updates one imported user, leaves them alone when nothing
// differs, or adds them to created.
func (s *Store) importUser(ctx context.Context, q querier, a Actor, in UserInput, old User, exists bool,
	counts *ImportCounts, created *[]UserInput, acts activityBatch) error {
	in, err := cleanUser(in)
	if err != nil {
		return err
	}
	if !exists {
		*created = append(*created, in)
		counts.Created++
		return nil
	}
	if sameUser(old, in) {
		counts.Unchanged++
		return nil
	}
	u, err := s.updateUser(ctx, q, old.ID, in, 0)
	if err != nil {
		return err
	}
	counts.Updated++
	return s.logChange(ctx, q, a, Activity{
		Action: "user.update", DistrictID: u.DistrictID, SchoolID: u.SchoolID, Subject: "user:" + itoa(u.ID),
	}, map[string]any{"username": u.Username, "import": true}, acts)
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
