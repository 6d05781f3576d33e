package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// wantImportRow checks that err is an *ImportRowsError with a row on field.
func wantImportRow(t *testing.T, err error, field string) {
	t.Helper()
	var re *storage.ImportRowsError
	if !errors.As(err, &re) || !slices.ContainsFunc(re.Rows, func(r storage.ImportRowError) bool { return r.Field == field }) {
		t.Fatalf("err = %v; want an *ImportRowsError with a row on %s", err, field)
	}
	if !errors.Is(err, storage.ErrInvalid) {
		t.Fatalf("%v does not wrap ErrInvalid", err)
	}
}

// importRows is the rows of an *ImportRowsError as "kind index field".
func importRows(t *testing.T, err error) []string {
	t.Helper()
	var re *storage.ImportRowsError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v; want an *ImportRowsError", err)
	}
	var out []string
	for _, r := range re.Rows {
		out = append(out, fmt.Sprintf("%s %d %s", r.Kind, r.Index, r.Field))
	}
	return out
}

// TestImportReportsEveryRow: rows wrong in different ways are all reported
// at once, and nothing is written.
func TestImportReportsEveryRow(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		other := must(s.CreateDistrict(ctx, admin, "D2", "other"))(t)
		must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: other.ID, Code: "X1", Name: "x", Kind: storage.KindPrimary, Active: true}))(t)
		users := must(s.CountUsers(ctx))(t)
		acts := len(must(s.RecentActivity(ctx, 0, nil, 500))(t))

		b := importBatch(w.d.ID, 5)
		b.Teachers[1].SubjectCodes = []string{"alchemy"} // teachers 1: no such subject
		b.Students[1].SchoolCode = "NOPE"                // students 1: no such school
		b.Students[2].Grade = 13                         // students 2: no such grade
		b.Students[3].SchoolCode = "X1"                  // students 3: another district's school
		// students 5: a number twice
		b.Students = append(b.Students, storage.StudentRow{SchoolCode: "S1", StudentNo: b.Students[0].StudentNo, Name: "x", Grade: 1})
		_, err := s.Import(ctx, admin, b)
		want := []string{"teachers 1 subjects", "students 1 school_code", "students 2 grade", "students 3 school_code", "students 5 student_no"}
		if got := importRows(t, err); !slices.Equal(got, want) {
			t.Fatalf("rows %v; want %v", got, want)
		}
		if n := must(s.CountUsers(ctx))(t); n != users {
			t.Fatalf("%d users created", n-users)
		}
		if _, err := s.GetSchoolByCode(ctx, "IMP1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("school created: %v", err)
		}
		if n := len(must(s.RecentActivity(ctx, 0, nil, 500))(t)); n != acts {
			t.Fatalf("%d activity rows written", n-acts)
		}
	})
}

// installation is two districts: D1 with schools S1 and S2, D2 with X1,
// and a student, a teacher and a district admin with a staff number.
type installation struct {
	world
	d2                       storage.District
	x1                       storage.School
	studentS2, studentX1     storage.User
	teacherS2, districtAdmin storage.User
	schoolAdminS1            storage.User
}

func install(t *testing.T, s *storage.Store) installation {
	t.Helper()
	ctx := context.Background()
	in := installation{world: seed(t, s)}
	in.d2 = must(s.CreateDistrict(ctx, admin, "D2", "其他区"))(t)
	in.x1 = must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: in.d2.ID, Code: "X1", Name: "外区小学", Kind: storage.KindPrimary, Active: true}))(t)
	user := func(in storage.UserInput) storage.User {
		in.Active = true
		return must(s.CreateUser(ctx, admin, in, "own-hash", false))(t)
	}
	in.studentS2 = user(storage.UserInput{Username: "st2", Name: "乙", SchoolID: in.s2.ID, Roles: []storage.Role{storage.RoleStudent}, StudentNo: "N-S2", Grade: 7})
	in.studentX1 = user(storage.UserInput{Username: "stx", Name: "丙", SchoolID: in.x1.ID, Roles: []storage.Role{storage.RoleStudent}, StudentNo: "N-X1", Grade: 3})
	in.teacherS2 = user(storage.UserInput{Username: "t2", Name: "丁", SchoolID: in.s2.ID, Roles: []storage.Role{storage.RoleTeacher}, StaffNo: "T-S2"})
	in.districtAdmin = user(storage.UserInput{Username: "da", Name: "戊", DistrictID: in.d.ID, Roles: []storage.Role{storage.RoleDistrictAdmin}, StaffNo: "T-DA"})
	in.schoolAdminS1 = user(storage.UserInput{Username: "sa1", Name: "己", SchoolID: in.s1.ID, Roles: []storage.Role{storage.RoleTeacher, storage.RoleSchoolAdmin}, StaffNo: "T-SA1"})
	return in
}

// schoolAdminOf allows what a school admin of school may do: students and
// teachers of that school, as they are and as they will be.
func schoolAdminOf(school storage.SchoolID) func(old *storage.User, in storage.UserInput) bool {
	mine := func(sc storage.SchoolID, roles []storage.Role) bool {
		return sc == school && !slices.ContainsFunc(roles, func(r storage.Role) bool {
			return r != storage.RoleStudent && r != storage.RoleTeacher
		})
	}
	return func(old *storage.User, in storage.UserInput) bool {
		return (old == nil || mine(old.SchoolID, old.Roles)) && mine(in.SchoolID, in.Roles)
	}
}

// districtAdminOf allows the accounts of district, except system admins.
func districtAdminOf(district storage.DistrictID) func(old *storage.User, in storage.UserInput) bool {
	ok := func(d storage.DistrictID, roles []storage.Role) bool {
		return d == district && !slices.Contains(roles, storage.RoleSystemAdmin)
	}
	return func(old *storage.User, in storage.UserInput) bool {
		return (old == nil || ok(old.DistrictID, old.Roles)) && ok(in.DistrictID, in.Roles)
	}
}

// TestImportOutOfScopeUsers: a row matching a user the caller may not
// change is a row error that says the same wherever the user is, in a dry
// run too, and changes nothing.
func TestImportOutOfScopeUsers(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := install(t, s)
		snapshot := func() string {
			users, _ := must2(s.ListUsers(ctx, storage.UserFilter{Limit: 500}))(t)
			return fmt.Sprint(users)
		}
		before := snapshot()
		sa := schoolAdminOf(w.s1.ID)
		message := func(err error) string {
			t.Helper()
			var re *storage.ImportRowsError
			if !errors.As(err, &re) || len(re.Rows) != 1 {
				t.Fatalf("err = %v; want one row error", err)
			}
			return re.Rows[0].Field + ": " + re.Rows[0].Message
		}
		messages := map[string]bool{}
		for _, c := range []struct {
			name string
			b    storage.ImportBatch
		}{
			{"student of school S2", storage.ImportBatch{Students: []storage.StudentRow{{SchoolCode: "S1", StudentNo: "N-S2", Name: "x", Grade: 1}}}},
			{"student of another district", storage.ImportBatch{Students: []storage.StudentRow{{SchoolCode: "S1", StudentNo: "N-X1", Name: "x", Grade: 1}}}},
			{"teacher of school S2", storage.ImportBatch{Teachers: []storage.TeacherRow{{SchoolCode: "S1", StaffNo: "T-S2", Name: "x"}}}},
			{"district admin", storage.ImportBatch{Teachers: []storage.TeacherRow{{SchoolCode: "S1", StaffNo: "T-DA", Name: "x"}}}},
			{"school admin of the same school", storage.ImportBatch{Teachers: []storage.TeacherRow{{SchoolCode: "S1", StaffNo: "T-SA1", Name: "x"}}}},
		} {
			for _, dry := range []bool{true, false} {
				c.b.DistrictID, c.b.InitialPasswordHash, c.b.Authorize, c.b.DryRun = w.d.ID, "h", sa, dry
				_, err := s.Import(ctx, admin, c.b)
				msg := message(err)
				if !strings.Contains(msg, "belongs to another school or to an account you may not change") {
					t.Errorf("%s (dry run %v): %s", c.name, dry, msg)
				}
				// The number aside, every row says the same.
				for _, no := range []string{"N-S2", "N-X1", "T-S2", "T-DA", "T-SA1"} {
					msg = strings.ReplaceAll(msg, no, "#")
				}
				messages[strings.NewReplacer("student_no", "number", "staff_no", "number").Replace(msg)] = true
			}
		}
		if len(messages) != 1 {
			t.Errorf("the messages tell the cases apart: %v", messages)
		}
		if after := snapshot(); after != before {
			t.Fatalf("a refused import changed users:\n%s\n%s", before, after)
		}

		// A district admin may not reach into another district either; a
		// system admin (no check) is told an import never moves users
		// between districts.
		b := storage.ImportBatch{DistrictID: w.d.ID, Authorize: districtAdminOf(w.d.ID),
			Students: []storage.StudentRow{{SchoolCode: "S1", StudentNo: "N-X1", Name: "x", Grade: 1}}}
		if msg := message(errOf(s.Import(ctx, admin, b))); !strings.Contains(msg, "belongs to another school or") {
			t.Errorf("district admin, student of another district: %s", msg)
		}
		b.Authorize = nil
		if msg := message(errOf(s.Import(ctx, admin, b))); !strings.Contains(msg, "never moves users between districts") {
			t.Errorf("system admin, student of another district: %s", msg)
		}
		// A school the caller may not create users in.
		b = storage.ImportBatch{DistrictID: w.d.ID, Authorize: sa, InitialPasswordHash: "h",
			Students: []storage.StudentRow{{SchoolCode: "S2", StudentNo: "NEW", Name: "x", Grade: 1}}}
		if msg := message(errOf(s.Import(ctx, admin, b))); msg != `school_code: school "S2" is not one you may import into` {
			t.Errorf("school admin, school S2: %s", msg)
		}
		if after := snapshot(); after != before {
			t.Fatalf("a refused import changed users:\n%s\n%s", before, after)
		}

		// Their own students they import as ever.
		b.Students[0].SchoolCode = "S1"
		if res := must(s.Import(ctx, admin, b))(t); res.Students != (storage.ImportCounts{Created: 1}) {
			t.Fatalf("school admin's own student: %+v", res)
		}
	})
}

// errOf is the error of a call whose error is the point.
func errOf[T any](_ T, err error) error { return err }

// TestImportMovesWithinScope: a district admin's import moves a student
// between two of their schools, counted apart and logged as user.move.
func TestImportMovesWithinScope(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := install(t, s)
		b := storage.ImportBatch{DistrictID: w.d.ID, Authorize: districtAdminOf(w.d.ID), DryRun: true,
			Students: []storage.StudentRow{{SchoolCode: "S1", StudentNo: "N-S2", Name: "乙", Grade: 7}}}
		moves := countActivity(t, s, "user.move")
		if res := must(s.Import(ctx, admin, b))(t); res.Students != (storage.ImportCounts{Moved: 1}) {
			t.Fatalf("dry run: %+v", res)
		}
		if u := must(s.GetUser(ctx, w.studentS2.ID))(t); u.SchoolID != w.s2.ID || countActivity(t, s, "user.move") != moves {
			t.Fatal("the dry run moved the student")
		}
		b.DryRun = false
		if res := must(s.Import(ctx, admin, b))(t); res.Students != (storage.ImportCounts{Moved: 1}) {
			t.Fatalf("import: %+v", res)
		}
		u := must(s.GetUser(ctx, w.studentS2.ID))(t)
		if u.SchoolID != w.s1.ID || u.DistrictID != w.d.ID {
			t.Fatalf("student after the move: %+v", u)
		}
		var move storage.Activity
		for _, a := range must(s.RecentActivity(ctx, 0, nil, 500))(t) {
			if a.Action == "user.move" {
				move = a
				break
			}
		}
		wantDetail := fmt.Sprintf(`"from_school_id":%d`, w.s2.ID)
		if move.SchoolID != w.s1.ID || move.Subject != fmt.Sprint("user:", u.ID) || !strings.Contains(move.Detail, wantDetail) ||
			!strings.Contains(move.Detail, fmt.Sprintf(`"to_school_id":%d`, w.s1.ID)) {
			t.Fatalf("user.move row %+v", move)
		}
		if res := must(s.Import(ctx, admin, b))(t); res.Students != (storage.ImportCounts{Unchanged: 1}) {
			t.Fatalf("re-import: %+v", res)
		}
		// The district admin keeps their role and district: a teachers row
		// only adds the teacher role.
		tb := storage.ImportBatch{DistrictID: w.d.ID, Authorize: districtAdminOf(w.d.ID),
			Teachers: []storage.TeacherRow{{SchoolCode: "S1", StaffNo: "T-DA", Name: "戊"}}}
		must(s.Import(ctx, admin, tb))(t)
		if da := must(s.GetUser(ctx, w.districtAdmin.ID))(t); !slices.Equal(da.Roles, []storage.Role{storage.RoleTeacher, storage.RoleDistrictAdmin}) ||
			da.DistrictID != w.d.ID {
			t.Fatalf("district admin after a teachers import: %+v", da)
		}
	})
}

// TestImportChecksInItsTransaction: Authorize sees users as the import's
// transaction reads them, and a change made by someone else between that
// read and the import's write fails the import instead of being undone.
func TestImportChecksInItsTransaction(t *testing.T) {
	t.Parallel()
	s := storagetest.OpenPostgres(t)
	ctx := context.Background()
	w := install(t, s)
	sa := schoolAdminOf(w.s1.ID)
	// The student is in S1, the school admin's: they may rename them.
	st := must(s.GetUser(ctx, w.studentS2.ID))(t)
	in := storage.UserInput{Username: st.Username, Name: st.Name, SchoolID: w.s1.ID, Roles: st.Roles, Active: true, StudentNo: st.StudentNo, Grade: st.Grade}
	st = must(s.UpdateUser(ctx, admin, st.ID, in, st.Version))(t)
	b := storage.ImportBatch{DistrictID: w.d.ID, Students: []storage.StudentRow{{SchoolCode: "S1", StudentNo: "N-S2", Name: "新名字", Grade: 7}}}
	b.Authorize = func(old *storage.User, u storage.UserInput) bool {
		if old != nil {
			// Meanwhile, a district admin moves the student to S2.
			in.SchoolID = w.s2.ID
			if _, err := s.UpdateUser(ctx, admin, st.ID, in, st.Version); err != nil {
				t.Errorf("concurrent move: %v", err)
			}
		}
		return sa(old, u)
	}
	_, err := s.Import(ctx, admin, b)
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("import over a concurrent move: %v, want ErrConflict", err)
	}
	if u := must(s.GetUser(ctx, st.ID))(t); u.SchoolID != w.s2.ID || u.Name != st.Name {
		t.Fatalf("student after the import: %+v; want them in S2 and unrenamed", u)
	}
}
