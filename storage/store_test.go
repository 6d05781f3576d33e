package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// The contract suite: every test runs against SQLite and Postgres.

var admin = storage.Actor{UserID: 0, IP: "127.0.0.1"}

// must(f())(t) is f's value, failing the test on f's error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v; want %v", err, target)
	}
}

func wantDup(t *testing.T, err error, field string) {
	t.Helper()
	var d *storage.DuplicateError
	if !errors.As(err, &d) || d.Field != field {
		t.Fatalf("err = %v; want a *DuplicateError on %s", err, field)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var f *storage.FieldError
	if !errors.As(err, &f) || f.Field != field {
		t.Fatalf("err = %v; want a *FieldError on %s", err, field)
	}
}

// world is a district with two schools.
type world struct {
	d      storage.District
	s1, s2 storage.School
}

func seed(t *testing.T, s *storage.Store) world {
	t.Helper()
	ctx := context.Background()
	var w world
	w.d = must(s.CreateDistrict(ctx, admin, "D1", "海淀区"))(t)
	w.s1 = must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: w.d.ID, Code: "S1", Name: "First 100% School", Kind: storage.KindPrimary, Active: true}))(t)
	w.s2 = must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: w.d.ID, Code: "S2", Name: "第二中学", Kind: storage.KindJuniorSecondary, Active: true}))(t)
	return w
}

func countActivity(t *testing.T, s *storage.Store, action string) int {
	t.Helper()
	acts := must(s.RecentActivity(context.Background(), 0, nil, 500))(t)
	n := 0
	for _, a := range acts {
		if a.Action == action {
			n++
		}
	}
	return n
}

func TestMigrationsRecorded(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		want := map[int]string{1: "init", 2: "tutoring", 3: "recordings", 4: "microlessons", 5: "classes", 6: "classroom", 7: "recording_class", 8: "class_record", 9: "qa", 10: "review", 11: "st", 12: "qa_more", 13: "qa_share", 14: "research", 15: "selection", 16: "reports", 17: "kept_reports", 18: "report_rollups", 19: "st_results", 20: "withdraw"}
		if v := must(s.SchemaVersion(ctx))(t); v != 20 {
			t.Fatalf("SchemaVersion = %d; want 20", v)
		}
		ms := must(s.AppliedMigrations(ctx))(t)
		if len(ms) != len(want) {
			t.Fatalf("AppliedMigrations = %+v", ms)
		}
		for i, m := range ms {
			if m.Name != want[m.Version] || m.AppliedAt.IsZero() {
				t.Fatalf("migration %d = %+v; want %v", i, m, want)
			}
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// rawExec runs SQL on the database behind p without the store.
func rawExec(t *testing.T, p storage.OpenParams, query string) {
	t.Helper()
	ctx := context.Background()
	if p.URL != "" {
		c, err := pgx.Connect(ctx, p.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, query); err != nil {
			t.Fatal(err)
		}
		return
	}
	db, err := sql.Open("sqlite", p.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, query); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaTooNewRefused(t *testing.T) {
	for name, params := range map[string]func(testing.TB) storage.OpenParams{
		"sqlite": storagetest.SQLiteParams, "postgres": storagetest.PostgresParams,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := params(t)
			s := must(storage.Open(ctx, p))(t)
			known := must(s.SchemaVersion(ctx))(t)
			s.Close()
			rawExec(t, p, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)")
			s, err := storage.Open(ctx, p)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a newer schema")
			}
			wantErr(t, err, storage.ErrSchemaTooNew)
			for _, want := range []string{"9999", fmt.Sprintf("only up to %d", known), "upgrade Yunke"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	p := storagetest.SQLiteParams(t)
	s := must(storage.Open(ctx, p))(t)
	must(s.CreateDistrict(ctx, admin, "D", "d"))(t)
	s.Close()
	s = must(storage.Open(ctx, p))(t)
	defer s.Close()
	if ds := must(s.ListDistricts(ctx))(t); len(ds) != 1 {
		t.Fatalf("districts after reopen = %v", ds)
	}
}

func TestDistricts(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		d := must(s.CreateDistrict(ctx, admin, " D1 ", "海淀区"))(t)
		if d.ID == 0 || d.Code != "D1" || d.CreatedAt.IsZero() {
			t.Fatalf("created %+v", d)
		}
		_, err := s.CreateDistrict(ctx, admin, "D1", "again")
		wantDup(t, err, "code")
		wantErr(t, err, storage.ErrDuplicate)
		_, err = s.CreateDistrict(ctx, admin, "", "x")
		wantField(t, err, "code")
		got := must(s.GetDistrict(ctx, d.ID))(t)
		if got != d {
			t.Fatalf("GetDistrict = %+v; want %+v", got, d)
		}
		_, err = s.GetDistrict(ctx, 999)
		wantErr(t, err, storage.ErrNotFound)
		must(s.CreateDistrict(ctx, admin, "D2", "朝阳区"))(t)
		ds := must(s.ListDistricts(ctx))(t)
		if len(ds) != 2 || ds[0].Code != "D1" || ds[1].Code != "D2" {
			t.Fatalf("ListDistricts = %+v", ds)
		}
		if n := countActivity(t, s, "district.create"); n != 2 {
			t.Fatalf("district.create rows = %d; want 2", n)
		}
	})
}

func TestSchools(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		if w.s1.Version != 1 || !w.s1.Active || w.s1.DistrictID != w.d.ID {
			t.Fatalf("created %+v", w.s1)
		}
		in := storage.SchoolInput{DistrictID: w.d.ID, Code: "S1", Name: "x", Kind: storage.KindPrimary}
		_, err := s.CreateSchool(ctx, admin, in)
		wantDup(t, err, "code")
		in.Code = "S9"
		in.Kind = "university"
		_, err = s.CreateSchool(ctx, admin, in)
		wantField(t, err, "kind")
		in.Kind, in.DistrictID = storage.KindPrimary, 999
		_, err = s.CreateSchool(ctx, admin, in)
		wantField(t, err, "district_id")
		in.DistrictID, in.Name = w.d.ID, " "
		_, err = s.CreateSchool(ctx, admin, in)
		wantField(t, err, "name")

		if got := must(s.GetSchool(ctx, w.s1.ID))(t); got != w.s1 {
			t.Fatalf("GetSchool = %+v; want %+v", got, w.s1)
		}
		if got := must(s.GetSchoolByCode(ctx, "S2"))(t); got.ID != w.s2.ID {
			t.Fatalf("GetSchoolByCode = %+v", got)
		}
		_, err = s.GetSchool(ctx, 999)
		wantErr(t, err, storage.ErrNotFound)
		_, err = s.GetSchoolByCode(ctx, "nope")
		wantErr(t, err, storage.ErrNotFound)

		up := storage.SchoolInput{DistrictID: w.d.ID, Code: "S1", Name: "Renamed", Kind: storage.KindNineYear, Active: false}
		got := must(s.UpdateSchool(ctx, admin, w.s1.ID, up, w.s1.Version))(t)
		if got.Version != 2 || got.Name != "Renamed" || got.Active || got.Kind != storage.KindNineYear || !got.UpdatedAt.After(w.s1.UpdatedAt.Add(-time.Millisecond)) {
			t.Fatalf("updated %+v", got)
		}
		_, err = s.UpdateSchool(ctx, admin, w.s1.ID, up, 1)
		wantErr(t, err, storage.ErrConflict)
		_, err = s.UpdateSchool(ctx, admin, 999, up, 1)
		wantErr(t, err, storage.ErrNotFound)
		up.Code = "S2"
		_, err = s.UpdateSchool(ctx, admin, w.s1.ID, up, 2)
		wantDup(t, err, "code")
		if n := countActivity(t, s, "school.update"); n != 1 {
			t.Fatalf("school.update rows = %d; want 1 (failed updates log nothing)", n)
		}
	})
}

func TestListSchools(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		d2 := must(s.CreateDistrict(ctx, admin, "D2", "other"))(t)
		must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: d2.ID, Code: "X_1", Name: "Other", Kind: storage.KindPrimary}))(t)
		for i := range 5 {
			must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: w.d.ID, Code: fmt.Sprintf("P%d", i), Name: fmt.Sprintf("Primary %d", i), Kind: storage.KindPrimary, Active: true}))(t)
		}
		f := func(f storage.SchoolFilter) ([]string, int) {
			t.Helper()
			list, total := must2(s.ListSchools(ctx, f))(t)
			var codes []string
			for _, sc := range list {
				codes = append(codes, sc.Code)
			}
			return codes, total
		}
		check := func(name string, got []string, total int, want []string, wantTotal int) {
			t.Helper()
			if !slices.Equal(got, want) || total != wantTotal {
				t.Errorf("%s: got %v (total %d); want %v (total %d)", name, got, total, want, wantTotal)
			}
		}
		codes, total := f(storage.SchoolFilter{})
		check("all", codes, total, []string{"S1", "S2", "X_1", "P0", "P1", "P2", "P3", "P4"}, 8)
		codes, total = f(storage.SchoolFilter{DistrictID: w.d.ID, Limit: 2, Offset: 1})
		check("page", codes, total, []string{"S2", "P0"}, 7)
		codes, total = f(storage.SchoolFilter{IDs: []storage.SchoolID{w.s2.ID, w.s1.ID}})
		check("ids", codes, total, []string{"S1", "S2"}, 2)
		codes, total = f(storage.SchoolFilter{IDs: []storage.SchoolID{}})
		check("empty ids", codes, total, nil, 0)
		codes, total = f(storage.SchoolFilter{Query: "100%"})
		check("percent", codes, total, []string{"S1"}, 1)
		codes, total = f(storage.SchoolFilter{Query: "%"})
		check("percent only", codes, total, []string{"S1"}, 1)
		codes, total = f(storage.SchoolFilter{Query: "x_"})
		check("underscore", codes, total, []string{"X_1"}, 1)
		codes, total = f(storage.SchoolFilter{Query: "PRIMARY 3"})
		check("case", codes, total, []string{"P3"}, 1)
		codes, total = f(storage.SchoolFilter{Query: "二中"})
		check("chinese", codes, total, []string{"S2"}, 1)
		codes, total = f(storage.SchoolFilter{Kind: storage.KindJuniorSecondary})
		check("kind", codes, total, []string{"S2"}, 1)
		inactive := false
		codes, total = f(storage.SchoolFilter{Active: &inactive})
		check("inactive", codes, total, []string{"X_1"}, 1)
		list, _ := must2(s.ListSchools(ctx, storage.SchoolFilter{Limit: 10000}))(t)
		if len(list) != 8 {
			t.Errorf("limit 10000 returned %d", len(list))
		}
	})
}

// must2 is must for functions of two values.
func must2[A, B any](a A, b B, err error) func(*testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func teacherInput(w world, username string) storage.UserInput {
	return storage.UserInput{
		Username: username, Name: "王老师", SchoolID: w.s1.ID, Roles: []storage.Role{storage.RoleTeacher, storage.RoleExpert},
		Active: true, StaffNo: "T-" + username, Subjects: []storage.SubjectID{2, 1}, Grades: []int{8, 7},
		ExpertScope: storage.ExpertScope{Schools: []storage.SchoolID{w.s2.ID}},
	}
}

func TestUsers(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		u := must(s.CreateUser(ctx, admin, teacherInput(w, "Wang"), "hash1", true))(t)
		if u.ID == 0 || u.DistrictID != w.d.ID || u.Version != 1 || !u.MustChangePassword ||
			!slices.Equal(u.Roles, []storage.Role{storage.RoleTeacher, storage.RoleExpert}) ||
			!slices.Equal(u.Subjects, []storage.SubjectID{1, 2}) || !slices.Equal(u.Grades, []int{7, 8}) ||
			!slices.Equal(u.ExpertScope.Schools, []storage.SchoolID{w.s2.ID}) {
			t.Fatalf("created %+v", u)
		}
		got := must(s.GetUser(ctx, u.ID))(t)
		if fmt.Sprint(got) != fmt.Sprint(u) {
			t.Fatalf("GetUser = %+v\nwant %+v", got, u)
		}
		_, err := s.GetUser(ctx, 999)
		wantErr(t, err, storage.ErrNotFound)

		// Unique fields.
		in := teacherInput(w, "WANG")
		in.StaffNo = "other"
		_, err = s.CreateUser(ctx, admin, in, "h", false)
		wantDup(t, err, "username")
		in = teacherInput(w, "li")
		in.StaffNo = u.StaffNo
		_, err = s.CreateUser(ctx, admin, in, "h", false)
		wantDup(t, err, "staff_no")
		stu := storage.UserInput{Username: "s1", Name: "学生", SchoolID: w.s1.ID, Roles: []storage.Role{storage.RoleStudent}, Active: true, StudentNo: "2024001", Grade: 7, Class: "3班"}
		must(s.CreateUser(ctx, admin, stu, "h", false))(t)
		stu.Username = "s2"
		_, err = s.CreateUser(ctx, admin, stu, "h", false)
		wantDup(t, err, "student_no")
		stu.StudentNo = "" // empty numbers never collide
		must(s.CreateUser(ctx, admin, stu, "h", false))(t)
		stu.Username = "s3"
		must(s.CreateUser(ctx, admin, stu, "h", false))(t)

		// Validation and references.
		bad := func(field string, mod func(*storage.UserInput)) {
			t.Helper()
			in := teacherInput(w, "bad")
			mod(&in)
			_, err := s.CreateUser(ctx, admin, in, "h", false)
			wantField(t, err, field)
		}
		bad("school_id", func(in *storage.UserInput) { in.SchoolID = 999 })
		bad("district_id", func(in *storage.UserInput) { in.SchoolID, in.DistrictID = 0, 999 })
		bad("district_id", func(in *storage.UserInput) { in.SchoolID = 0 })
		bad("roles", func(in *storage.UserInput) { in.Roles = nil })
		bad("roles", func(in *storage.UserInput) { in.Roles = []storage.Role{"king"} })
		bad("grade", func(in *storage.UserInput) { in.Grade = 13 })
		bad("grades", func(in *storage.UserInput) { in.Grades = []int{0} })
		bad("name", func(in *storage.UserInput) { in.Name = "" })
		bad("username", func(in *storage.UserInput) { in.Username = " " })
		bad("subject_ids", func(in *storage.UserInput) { in.Subjects = []storage.SubjectID{999} })
		bad("expert_scope", func(in *storage.UserInput) { in.ExpertScope.Schools = []storage.SchoolID{999} })
		sys := must(s.CreateUser(ctx, admin, storage.UserInput{Username: "root", Name: "Root", Roles: []storage.Role{storage.RoleSystemAdmin}, Active: true}, "h", false))(t)
		if sys.DistrictID != 0 || sys.SchoolID != 0 {
			t.Fatalf("system admin %+v", sys)
		}

		// Credentials and passwords.
		c := must(s.CredentialsByUsername(ctx, "wANg"))(t)
		if c.User.ID != u.ID || c.PasswordHash != "hash1" {
			t.Fatalf("credentials %+v", c)
		}
		_, err = s.CredentialsByUsername(ctx, "nobody")
		wantErr(t, err, storage.ErrNotFound)
		if err := s.SetPassword(ctx, admin, u.ID, "hash2", false); err != nil {
			t.Fatal(err)
		}
		c = must(s.CredentialsByUsername(ctx, "wang"))(t)
		if c.PasswordHash != "hash2" || c.User.MustChangePassword || c.User.Version != 2 {
			t.Fatalf("after SetPassword %+v", c)
		}
		wantErr(t, s.SetPassword(ctx, admin, 999, "h", false), storage.ErrNotFound)

		// Update with versions.
		up := teacherInput(w, "wang2")
		up.Roles = []storage.Role{storage.RoleSchoolAdmin}
		up.Subjects, up.Grades, up.ExpertScope = nil, nil, storage.ExpertScope{District: true}
		_, err = s.UpdateUser(ctx, admin, u.ID, up, 1)
		wantErr(t, err, storage.ErrConflict)
		_, err = s.UpdateUser(ctx, admin, 999, up, 1)
		wantErr(t, err, storage.ErrNotFound)
		u2 := must(s.UpdateUser(ctx, admin, u.ID, up, 2))(t)
		if u2.Version != 3 || u2.Username != "wang2" || !slices.Equal(u2.Roles, []storage.Role{storage.RoleSchoolAdmin}) ||
			len(u2.Subjects) != 0 || !u2.ExpertScope.District || len(u2.ExpertScope.Schools) != 0 {
			t.Fatalf("updated %+v", u2)
		}
		if got := must(s.GetUser(ctx, u.ID))(t); fmt.Sprint(got) != fmt.Sprint(u2) {
			t.Fatalf("GetUser after update = %+v\nwant %+v", got, u2)
		}
		if c := must(s.CredentialsByUsername(ctx, "wang2"))(t); c.PasswordHash != "hash2" {
			t.Fatal("update changed the password")
		}
		if n := must(s.CountUsers(ctx))(t); n != 5 {
			t.Fatalf("CountUsers = %d; want 5", n)
		}
		for action, want := range map[string]int{"user.create": 5, "user.update": 1, "user.password": 1} {
			if n := countActivity(t, s, action); n != want {
				t.Errorf("%s rows = %d; want %d", action, n, want)
			}
		}
		for _, a := range must(s.RecentActivity(ctx, 0, nil, 100))(t) {
			if strings.Contains(a.Detail, "hash") {
				t.Errorf("activity detail leaks a hash: %s", a.Detail)
			}
		}
	})
}

func TestListUsers(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		mk := func(username string, school storage.SchoolID, role storage.Role, active bool) storage.User {
			return must(s.CreateUser(ctx, admin, storage.UserInput{Username: username, Name: "Name " + username,
				DistrictID: w.d.ID, SchoolID: school, Roles: []storage.Role{role}, Active: active}, "h", false))(t)
		}
		mk("alice", w.s1.ID, storage.RoleTeacher, true)
		mk("bob", w.s1.ID, storage.RoleStudent, true)
		mk("carol", w.s2.ID, storage.RoleTeacher, false)
		mk("dave", 0, storage.RoleDistrictAdmin, true)
		names := func(f storage.UserFilter) ([]string, int) {
			t.Helper()
			list, total := must2(s.ListUsers(ctx, f))(t)
			var out []string
			for _, u := range list {
				if len(u.Roles) != 1 {
					t.Errorf("user %s roles %v", u.Username, u.Roles)
				}
				out = append(out, u.Username)
			}
			return out, total
		}
		check := func(name string, f storage.UserFilter, want []string, wantTotal int) {
			t.Helper()
			got, total := names(f)
			if !slices.Equal(got, want) || total != wantTotal {
				t.Errorf("%s: got %v (%d); want %v (%d)", name, got, total, want, wantTotal)
			}
		}
		no := false
		check("all", storage.UserFilter{}, []string{"alice", "bob", "carol", "dave"}, 4)
		check("district", storage.UserFilter{DistrictID: w.d.ID, Limit: 1, Offset: 3}, []string{"dave"}, 4)
		check("schools", storage.UserFilter{SchoolIDs: []storage.SchoolID{w.s1.ID}}, []string{"alice", "bob"}, 2)
		check("no schools", storage.UserFilter{SchoolIDs: []storage.SchoolID{}}, nil, 0)
		check("role", storage.UserFilter{Role: storage.RoleTeacher}, []string{"alice", "carol"}, 2)
		check("query", storage.UserFilter{Query: "NAME B"}, []string{"bob"}, 1)
		check("inactive", storage.UserFilter{Active: &no}, []string{"carol"}, 1)
	})
}

func TestSessions(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		u := must(s.CreateUser(ctx, admin, teacherInput(w, "wang"), "h", false))(t)
		now := time.Now().Truncate(time.Millisecond)
		sess := storage.Session{TokenHash: "a", UserID: u.ID, CSRF: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastSeenAt: now, IP: "1.2.3.4", UserAgent: "UA"}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		wantField(t, s.CreateSession(ctx, storage.Session{TokenHash: "x", UserID: 999, ExpiresAt: now}), "user_id")
		got, gu, err := s.SessionByHash(ctx, "a", now)
		if err != nil || got.CSRF != "c" || !got.ExpiresAt.Equal(sess.ExpiresAt) || got.IP != "1.2.3.4" || gu.ID != u.ID || len(gu.Roles) != 2 {
			t.Fatalf("SessionByHash = %+v, %+v, %v", got, gu, err)
		}
		_, _, err = s.SessionByHash(ctx, "a", now.Add(time.Hour))
		wantErr(t, err, storage.ErrNotFound)
		_, _, err = s.SessionByHash(ctx, "missing", now)
		wantErr(t, err, storage.ErrNotFound)
		if err := s.TouchSession(ctx, "a", now.Add(time.Minute), now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _, err := s.SessionByHash(ctx, "a", now.Add(time.Hour)); err != nil || !got.LastSeenAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("after touch: %+v %v", got, err)
		}
		wantErr(t, s.TouchSession(ctx, "missing", now, now), storage.ErrNotFound)

		for _, h := range []string{"b", "c"} {
			sess.TokenHash = h
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}
		wantDup(t, s.CreateSession(ctx, sess), "token_hash")
		if err := s.DeleteUserSessions(ctx, u.ID, "b"); err != nil {
			t.Fatal(err)
		}
		for h, live := range map[string]bool{"a": false, "b": true, "c": false} {
			_, _, err := s.SessionByHash(ctx, h, now)
			if (err == nil) != live {
				t.Errorf("session %s: err %v; want live %v", h, err, live)
			}
		}
		// A deactivated user's sessions stop working.
		in := teacherInput(w, "wang")
		in.Active = false
		must(s.UpdateUser(ctx, admin, u.ID, in, u.Version))(t)
		_, _, err = s.SessionByHash(ctx, "b", now)
		wantErr(t, err, storage.ErrNotFound)

		if err := s.DeleteSession(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctx, "b"); err != nil {
			t.Fatal("deleting twice:", err)
		}
		for i, exp := range []time.Duration{-time.Hour, -time.Minute, time.Hour} {
			sess.TokenHash, sess.ExpiresAt = fmt.Sprint("e", i), now.Add(exp)
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}
		if n := must(s.DeleteExpiredSessions(ctx, now))(t); n != 2 {
			t.Fatalf("DeleteExpiredSessions = %d; want 2", n)
		}
	})
}

func TestSubjects(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		subs := must(s.ListSubjects(ctx))(t)
		var codes []string
		for _, sub := range subs {
			codes = append(codes, sub.Code)
			if !sub.Active || sub.Name == "" || sub.NameEn == "" {
				t.Errorf("seeded subject %+v", sub)
			}
		}
		want := []string{"chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography", "morality_law"}
		if !slices.Equal(codes, want) {
			t.Fatalf("seeded subjects %v; want %v", codes, want)
		}
		if subs[8].Name != "道德与法治" || subs[1].NameEn != "Mathematics" {
			t.Fatalf("seeded names %+v", subs)
		}
		art := must(s.CreateSubject(ctx, admin, storage.Subject{Code: "art", Name: "美术", NameEn: "Art", Sort: 10}))(t)
		if art.ID == 0 || !art.Active {
			t.Fatalf("created %+v", art)
		}
		_, err := s.CreateSubject(ctx, admin, storage.Subject{Code: "math", Name: "x"})
		wantDup(t, err, "code")
		_, err = s.CreateSubject(ctx, admin, storage.Subject{Code: "x"})
		wantField(t, err, "name")
		art.Active, art.Sort, art.Name = false, 0, "艺术"
		got := must(s.UpdateSubject(ctx, admin, art))(t)
		if got != art {
			t.Fatalf("updated %+v; want %+v", got, art)
		}
		if subs := must(s.ListSubjects(ctx))(t); subs[0].Code != "art" || len(subs) != 10 {
			t.Fatalf("after update: %+v", subs)
		}
		art.ID = 999
		_, err = s.UpdateSubject(ctx, admin, art)
		wantErr(t, err, storage.ErrNotFound)
		if countActivity(t, s, "subject.create") != 1 || countActivity(t, s, "subject.update") != 1 {
			t.Fatal("subject activity rows missing")
		}
	})
}

func TestKnowledgePoints(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		rows := []storage.KnowledgePointRow{
			{SubjectCode: "math", Grade: 7, Code: "M7.1.1", ParentCode: "M7.1", Name: "正数和负数", Sort: 1},
			{SubjectCode: "math", Grade: 7, Code: "M7.1", ParentCode: "M7", Name: "有理数", Sort: 1},
			{SubjectCode: "math", Grade: 7, Code: "M7", Name: "七年级数学", Sort: 1},
			{SubjectCode: "chinese", Grade: 8, Code: "M7", Name: "同码不同科", Sort: 1},
		}
		c := must(s.ImportKnowledgePoints(ctx, admin, rows))(t)
		if c != (storage.ImportCounts{Created: 4}) {
			t.Fatalf("first import %+v", c)
		}
		kps := must(s.ListKnowledgePoints(ctx, 2, 0))(t)
		byCode := map[string]storage.KnowledgePoint{}
		for _, k := range kps {
			byCode[k.Code] = k
		}
		if len(kps) != 3 || byCode["M7"].ParentID != 0 || byCode["M7.1"].ParentID != byCode["M7"].ID || byCode["M7.1.1"].ParentID != byCode["M7.1"].ID {
			t.Fatalf("tree %+v", kps)
		}
		if n := len(must(s.ListKnowledgePoints(ctx, 2, 8))(t)); n != 0 {
			t.Fatalf("grade 8 math has %d nodes", n)
		}
		c = must(s.ImportKnowledgePoints(ctx, admin, rows))(t)
		if c != (storage.ImportCounts{Unchanged: 4}) {
			t.Fatalf("re-import %+v", c)
		}
		rows[0].Name, rows[0].ParentCode = "正负数", "M7"
		c = must(s.ImportKnowledgePoints(ctx, admin, rows[:1]))(t)
		if c != (storage.ImportCounts{Updated: 1}) {
			t.Fatalf("update import %+v", c)
		}
		// Errors change nothing.
		before := must(s.ListKnowledgePoints(ctx, 2, 0))(t)
		acts := countActivity(t, s, "knowledge.import")
		for name, batch := range map[string][]storage.KnowledgePointRow{
			"cycle": {
				{SubjectCode: "math", Grade: 7, Code: "NEW", Name: "new", Sort: 1},
				{SubjectCode: "math", Grade: 7, Code: "M7", ParentCode: "M7.1.1", Name: "loop"},
			},
			"unknown parent": {
				{SubjectCode: "math", Grade: 7, Code: "NEW", Name: "new"},
				{SubjectCode: "math", Grade: 7, Code: "NEW2", ParentCode: "ghost", Name: "x"},
			},
			"unknown subject": {
				{SubjectCode: "math", Grade: 7, Code: "NEW", Name: "new"},
				{SubjectCode: "alchemy", Grade: 7, Code: "A", Name: "x"},
			},
		} {
			_, err := s.ImportKnowledgePoints(ctx, admin, batch)
			wantErr(t, err, storage.ErrInvalid)
			if after := must(s.ListKnowledgePoints(ctx, 2, 0))(t); !slices.Equal(after, before) {
				t.Errorf("%s: a failed import changed the tree", name)
			}
		}
		if n := countActivity(t, s, "knowledge.import"); n != acts {
			t.Errorf("failed imports wrote activity: %d rows; want %d", n, acts)
		}
	})
}

func TestTargets(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		tg := storage.Target{SchoolID: w.s1.ID, Year: 2025, LessonsRecorded: 100, TeachersParticipating: 20, TraineeCoveragePct: 80}
		got := must(s.SetTarget(ctx, admin, tg))(t)
		if got.Version != 1 || got.LessonsRecorded != 100 {
			t.Fatalf("set %+v", got)
		}
		tg.Version, tg.LessonsRecorded = 1, 120
		got = must(s.SetTarget(ctx, admin, tg))(t)
		if got.Version != 2 || got.LessonsRecorded != 120 {
			t.Fatalf("update %+v", got)
		}
		_, err := s.SetTarget(ctx, admin, tg) // stale version 1
		wantErr(t, err, storage.ErrConflict)
		tg.Version = 0 // unconditional upsert
		if got = must(s.SetTarget(ctx, admin, tg))(t); got.Version != 3 {
			t.Fatalf("upsert %+v", got)
		}
		must(s.SetTarget(ctx, admin, storage.Target{SchoolID: w.s2.ID, Year: 2025, LessonsRecorded: 5}))(t)
		must(s.SetTarget(ctx, admin, storage.Target{SchoolID: w.s2.ID, Year: 2024}))(t)
		_, err = s.SetTarget(ctx, admin, storage.Target{SchoolID: 999, Year: 2025})
		wantField(t, err, "school_id")
		_, err = s.SetTarget(ctx, admin, storage.Target{SchoolID: w.s1.ID, Year: 2025, TraineeCoveragePct: 101})
		wantField(t, err, "trainee_coverage_pct")
		if l := must(s.ListTargets(ctx, 2025, nil))(t); len(l) != 2 || l[0].SchoolID != w.s1.ID {
			t.Fatalf("ListTargets = %+v", l)
		}
		if l := must(s.ListTargets(ctx, 2025, []storage.SchoolID{w.s2.ID}))(t); len(l) != 1 || l[0].LessonsRecorded != 5 {
			t.Fatalf("ListTargets(s2) = %+v", l)
		}
		if l := must(s.ListTargets(ctx, 2025, []storage.SchoolID{}))(t); len(l) != 0 {
			t.Fatalf("ListTargets(none) = %+v", l)
		}
		if n := countActivity(t, s, "target.set"); n != 5 {
			t.Fatalf("target.set rows = %d; want 5", n)
		}
	})
}

func TestActivity(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		// 2025-01-31 17:00 UTC is February in Shanghai.
		feb := time.Date(2025, 1, 31, 17, 0, 0, 0, time.UTC)
		jan := time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC)
		rec := func(at time.Time, school storage.SchoolID, subject storage.SubjectID, action string, v int64) {
			t.Helper()
			if err := s.RecordActivity(ctx, storage.Activity{At: at, ActorID: 7, Action: action, DistrictID: w.d.ID,
				SchoolID: school, SubjectID: subject, RoomID: "r", Value: v}); err != nil {
				t.Fatal(err)
			}
		}
		rec(jan, w.s1.ID, 2, "tutoring.session_end", 60)
		rec(jan, w.s1.ID, 2, "tutoring.session_end", 40)
		rec(feb, w.s1.ID, 2, "tutoring.session_end", 5)
		rec(feb, w.s2.ID, 1, "tutoring.session_end", 7)
		rec(feb, w.s2.ID, 1, "auth.signin", 0)
		if err := s.RecordActivity(ctx, storage.Activity{}); !errors.Is(err, storage.ErrInvalid) {
			t.Fatalf("empty action: %v", err)
		}

		got := must(s.SummarizeActivity(ctx, storage.ActivityQuery{FromMonth: 202501, ToMonth: 202512, DistrictID: w.d.ID,
			Actions: []string{"tutoring.session_end"}}))(t)
		want := []storage.ActivityBucket{
			{Month: 202501, SchoolID: w.s1.ID, SubjectID: 2, Action: "tutoring.session_end", Count: 2, Total: 100},
			{Month: 202502, SchoolID: w.s1.ID, SubjectID: 2, Action: "tutoring.session_end", Count: 1, Total: 5},
			{Month: 202502, SchoolID: w.s2.ID, SubjectID: 1, Action: "tutoring.session_end", Count: 1, Total: 7},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("SummarizeActivity = %+v\nwant %+v", got, want)
		}
		got = must(s.SummarizeActivity(ctx, storage.ActivityQuery{FromMonth: 202502, ToMonth: 202502, SchoolIDs: []storage.SchoolID{w.s2.ID}}))(t)
		if len(got) != 2 || got[0].Action != "auth.signin" || got[1].Total != 7 {
			t.Fatalf("February, school 2 = %+v", got)
		}
		if got = must(s.SummarizeActivity(ctx, storage.ActivityQuery{SchoolIDs: []storage.SchoolID{}}))(t); len(got) != 0 {
			t.Fatalf("no schools = %+v", got)
		}

		recent := must(s.RecentActivity(ctx, w.d.ID, []storage.SchoolID{w.s2.ID}, 10))(t)
		if len(recent) != 3 || recent[0].Action != "auth.signin" || recent[2].Action != "school.create" || !recent[1].At.Equal(feb) || recent[1].RoomID != "r" || recent[1].ActorID != 7 {
			t.Fatalf("RecentActivity = %+v", recent)
		}
		if r := must(s.RecentActivity(ctx, w.d.ID, nil, 2))(t); len(r) != 2 {
			t.Fatalf("limit 2 gave %d", len(r))
		}

		// A change's activity row is in its transaction: a failed change leaves none.
		before := len(must(s.RecentActivity(ctx, 0, nil, 500))(t))
		_, err := s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: w.d.ID, Code: "S1", Name: "dup", Kind: storage.KindPrimary})
		wantDup(t, err, "code")
		_, err = s.UpdateSchool(ctx, admin, w.s1.ID, storage.SchoolInput{DistrictID: w.d.ID, Code: "S1", Name: "x", Kind: storage.KindPrimary}, 99)
		wantErr(t, err, storage.ErrConflict)
		if after := len(must(s.RecentActivity(ctx, 0, nil, 500))(t)); after != before {
			t.Fatalf("failed writes left %d activity rows", after-before)
		}
		// The school's own creation row carries who and where.
		var found bool
		for _, a := range must(s.RecentActivity(ctx, 0, nil, 500))(t) {
			if a.Action == "school.create" && a.SchoolID == w.s1.ID {
				found = a.DistrictID == w.d.ID && strings.Contains(a.Detail, `"ip":"127.0.0.1"`) && a.Subject == fmt.Sprint("school:", w.s1.ID)
			}
		}
		if !found {
			t.Fatal("no complete school.create row")
		}
	})
}

func importBatch(d storage.DistrictID, students int) storage.ImportBatch {
	b := storage.ImportBatch{
		DistrictID: d,
		Schools: []storage.SchoolRow{
			{Code: "IMP1", Name: "导入一小", Kind: storage.KindPrimary},
			{Code: "IMP2", Name: "导入二中", Kind: storage.KindJuniorSecondary},
		},
		Teachers: []storage.TeacherRow{
			{SchoolCode: "IMP1", StaffNo: "T001", Name: "张老师", SubjectCodes: []string{"math", "chinese"}, Grades: []int{3, 1}},
			{SchoolCode: "IMP2", StaffNo: "T002", Name: "李老师", SubjectCodes: []string{"物理"}, Grades: []int{8}, Trainee: true},
		},
		InitialPasswordHash: "initial-hash",
	}
	for i := range students {
		b.Students = append(b.Students, storage.StudentRow{SchoolCode: "IMP2", StudentNo: fmt.Sprintf("2025%05d", i),
			Name: fmt.Sprintf("学生%d", i), Grade: 7 + i%3, Class: fmt.Sprintf("%d班", 1+i%5)})
	}
	return b
}

func TestImport(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		b := importBatch(w.d.ID, 50)
		res := must(s.Import(ctx, admin, b))(t)
		want := storage.ImportResult{Schools: storage.ImportCounts{Created: 2}, Teachers: storage.ImportCounts{Created: 2}, Students: storage.ImportCounts{Created: 50}}
		if res != want {
			t.Fatalf("first import %+v", res)
		}
		c := must(s.CredentialsByUsername(ctx, "T001"))(t)
		if c.PasswordHash != "initial-hash" || !c.User.MustChangePassword || !slices.Equal(c.User.Subjects, []storage.SubjectID{1, 2}) ||
			!slices.Equal(c.User.Grades, []int{1, 3}) || c.User.StaffNo != "T001" || !c.User.Has(storage.RoleTeacher) {
			t.Fatalf("imported teacher %+v", c)
		}
		if st := must(s.CredentialsByUsername(ctx, "202500004"))(t); st.User.Grade != 8 || st.User.Class != "5班" || !st.User.Has(storage.RoleStudent) {
			t.Fatalf("imported student %+v", st.User)
		}
		snapshot := func() string {
			users, _ := must2(s.ListUsers(ctx, storage.UserFilter{Limit: 500}))(t)
			schools, _ := must2(s.ListSchools(ctx, storage.SchoolFilter{Limit: 500}))(t)
			return fmt.Sprint(users, schools)
		}
		before := snapshot()
		acts := len(must(s.RecentActivity(ctx, 0, nil, 500))(t))

		// The same batch again changes nothing.
		res = must(s.Import(ctx, admin, b))(t)
		want = storage.ImportResult{Schools: storage.ImportCounts{Unchanged: 2}, Teachers: storage.ImportCounts{Unchanged: 2}, Students: storage.ImportCounts{Unchanged: 50}}
		if res != want {
			t.Fatalf("re-import %+v", res)
		}
		if after := snapshot(); after != before {
			t.Fatalf("re-import changed rows:\n%s\n%s", before, after)
		}
		if n := len(must(s.RecentActivity(ctx, 0, nil, 500))(t)); n != acts+1 {
			t.Fatalf("re-import wrote %d activity rows; want 1 (import.run)", n-acts)
		}

		// Existing users keep their password and other roles; changes are counted.
		tch := must(s.CredentialsByUsername(ctx, "T002"))(t)
		in := storage.UserInput{Username: "T002", Name: "李老师", SchoolID: tch.User.SchoolID, Roles: []storage.Role{storage.RoleTeacher, storage.RoleExpert},
			Active: true, StaffNo: "T002", Subjects: tch.User.Subjects, Grades: tch.User.Grades, Trainee: true}
		must(s.UpdateUser(ctx, admin, tch.User.ID, in, tch.User.Version))(t)
		if err := s.SetPassword(ctx, admin, tch.User.ID, "own-hash", false); err != nil {
			t.Fatal(err)
		}
		b.Teachers[1].Name = "李明老师"
		b.Students[0].Class = "9班"
		b.Schools[0].Name = "导入第一小学"
		b.Students = append(b.Students, storage.StudentRow{SchoolCode: "S1", StudentNo: "X1", Name: "新生", Grade: 1})
		res = must(s.Import(ctx, admin, b))(t)
		want = storage.ImportResult{Schools: storage.ImportCounts{Updated: 1, Unchanged: 1}, Teachers: storage.ImportCounts{Updated: 1, Unchanged: 1},
			Students: storage.ImportCounts{Created: 1, Updated: 1, Unchanged: 49}}
		if res != want {
			t.Fatalf("changed import %+v", res)
		}
		tch = must(s.CredentialsByUsername(ctx, "T002"))(t)
		if tch.PasswordHash != "own-hash" || tch.User.MustChangePassword || tch.User.Name != "李明老师" || !tch.User.Has(storage.RoleExpert) {
			t.Fatalf("teacher after import %+v", tch)
		}
		var run storage.Activity
		for _, a := range must(s.RecentActivity(ctx, 0, nil, 500))(t) {
			if a.Action == "import.run" {
				run = a
				break
			}
		}
		if run.Value != 4 || run.DistrictID != w.d.ID {
			t.Fatalf("import.run row %+v", run)
		}
		sum := must(s.SummarizeActivity(ctx, storage.ActivityQuery{DistrictID: w.d.ID, Actions: []string{"user.create"}}))(t)
		var n int64
		for _, bk := range sum {
			n += bk.Count
		}
		if n != 53 {
			t.Fatalf("rollup counts %d user.create; want 53", n)
		}
	})
}

func TestImportAllOrNothing(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		acts := len(must(s.RecentActivity(ctx, 0, nil, 500))(t))
		users := must(s.CountUsers(ctx))(t)
		check := func(name string, b storage.ImportBatch, field string) {
			t.Helper()
			_, err := s.Import(ctx, admin, b)
			if field == "initial_password" {
				wantField(t, err, field)
			} else {
				wantImportRow(t, err, field)
			}
			if n := must(s.CountUsers(ctx))(t); n != users {
				t.Errorf("%s: %d users created", name, n-users)
			}
			if _, err := s.GetSchoolByCode(ctx, "IMP1"); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s: school created: %v", name, err)
			}
			if n := len(must(s.RecentActivity(ctx, 0, nil, 500))(t)); n != acts {
				t.Errorf("%s: %d activity rows written", name, n-acts)
			}
		}
		b := importBatch(w.d.ID, 20)
		b.Teachers = append(b.Teachers, storage.TeacherRow{SchoolCode: "IMP1", StaffNo: "T999", Name: "x", SubjectCodes: []string{"alchemy"}})
		check("unknown subject", b, "subjects")
		b = importBatch(w.d.ID, 20)
		b.Students = append(b.Students, storage.StudentRow{SchoolCode: "NOPE", StudentNo: "Z", Name: "z", Grade: 1})
		check("unknown school", b, "school_code")
		b = importBatch(w.d.ID, 20)
		b.Students = append(b.Students, b.Students[0])
		check("duplicate row", b, "student_no")
		b = importBatch(w.d.ID, 20)
		b.InitialPasswordHash = ""
		check("no password", b, "initial_password")
		// A username taken by someone else.
		must(s.CreateUser(ctx, admin, storage.UserInput{Username: "t001", Name: "x", DistrictID: w.d.ID, Roles: []storage.Role{storage.RoleTeacher}}, "h", false))(t)
		users++
		acts++
		_, err := s.Import(ctx, admin, importBatch(w.d.ID, 5))
		wantDup(t, err, "username")
		if n := must(s.CountUsers(ctx))(t); n != users {
			t.Errorf("username clash: %d users created", n-users)
		}
	})
}

// TestImportDryRun: a dry run counts exactly what the import would do and
// leaves the database as it was.
func TestImportDryRun(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		acts := len(must(s.RecentActivity(ctx, 0, nil, 500))(t))
		users := must(s.CountUsers(ctx))(t)
		b := importBatch(w.d.ID, 20)
		b.DryRun = true
		dry := must(s.Import(ctx, admin, b))(t)
		if dry.Schools.Created == 0 || dry.Students.Created != 20 {
			t.Fatalf("dry run counted %+v", dry)
		}
		if n := must(s.CountUsers(ctx))(t); n != users {
			t.Fatalf("dry run created %d users", n-users)
		}
		if _, err := s.GetSchoolByCode(ctx, "IMP1"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("dry run created a school: %v", err)
		}
		if n := len(must(s.RecentActivity(ctx, 0, nil, 500))(t)); n != acts {
			t.Fatalf("dry run wrote %d activity rows", n-acts)
		}
		b.DryRun = false
		real := must(s.Import(ctx, admin, b))(t)
		if real != dry {
			t.Fatalf("import did %+v; the dry run said %+v", real, dry)
		}
		b.DryRun = true
		again := must(s.Import(ctx, admin, b))(t)
		if again.Students.Unchanged != 20 || again.Students.Created != 0 {
			t.Fatalf("dry run after the import: %+v", again)
		}
	})
}

func TestImportStudentsQuickly(t *testing.T) {
	// 2,000 students in one transaction: a smoke test that imports use
	// batched lookups and prepared statements (20,000 take a few seconds,
	// see BenchmarkImport).
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		b := importBatch(w.d.ID, 2000)
		if res := must(s.Import(ctx, admin, b))(t); res.Students.Created != 2000 {
			t.Fatalf("import %+v", res)
		}
		if res := must(s.Import(ctx, admin, b))(t); res.Students.Unchanged != 2000 {
			t.Fatalf("re-import %+v", res)
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	const n = 200
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		start := make(chan struct{})
		errs := make(chan error, 2*n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := s.CreateUser(ctx, admin, storage.UserInput{Username: fmt.Sprint("u", i), Name: "n", SchoolID: w.s1.ID,
					Roles: []storage.Role{storage.RoleStudent}, Active: true, StudentNo: fmt.Sprint("no", i)}, "h", true)
				errs <- err
				errs <- s.RecordActivity(ctx, storage.Activity{At: at, Action: "tutoring.session_end", DistrictID: w.d.ID,
					SchoolID: w.s1.ID, SubjectID: 2, Value: int64(i)})
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if c := must(s.CountUsers(ctx))(t); c != n {
			t.Fatalf("%d users; want %d", c, n)
		}
		if c := countActivity(t, s, "user.create"); c != n {
			t.Fatalf("%d user.create rows; want %d", c, n)
		}
		sum := must(s.SummarizeActivity(ctx, storage.ActivityQuery{DistrictID: w.d.ID, Actions: []string{"tutoring.session_end"}}))(t)
		if len(sum) != 1 || sum[0].Count != n || sum[0].Total != n*(n-1)/2 || sum[0].Month != 202503 {
			t.Fatalf("rollup %+v; want one bucket of %d rows totalling %d", sum, n, n*(n-1)/2)
		}
		all := must(s.RecentActivity(ctx, w.d.ID, []storage.SchoolID{w.s1.ID}, 500))(t)
		var logged int
		for _, a := range all {
			if a.Action == "tutoring.session_end" {
				logged++
			}
		}
		if logged != n {
			t.Fatalf("%d log rows; want %d", logged, n)
		}
	})
}

func TestConcurrentOptimisticUpdates(t *testing.T) {
	const n = 20
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				for {
					sc, err := s.GetSchool(ctx, w.s1.ID)
					if err != nil {
						errs <- err
						return
					}
					in := storage.SchoolInput{DistrictID: sc.DistrictID, Code: sc.Code, Name: fmt.Sprint(sc.Name, i%10), Kind: sc.Kind, Active: sc.Active}
					_, err = s.UpdateSchool(ctx, admin, sc.ID, in, sc.Version)
					if errors.Is(err, storage.ErrConflict) {
						continue
					}
					errs <- err
					return
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if sc := must(s.GetSchool(ctx, w.s1.ID))(t); sc.Version != w.s1.Version+n {
			t.Fatalf("version %d; want %d", sc.Version, w.s1.Version+n)
		}
		if c := countActivity(t, s, "school.update"); c != n {
			t.Fatalf("%d school.update rows; want %d", c, n)
		}
	})
}

func TestBackup(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		s := storagetest.OpenSQLite(t)
		w := seed(t, s)
		dest := filepath.Join(t.TempDir(), "backups", "copy.db")
		if err := s.Backup(ctx, dest); err != nil {
			t.Fatal(err)
		}
		if err := s.Backup(ctx, dest); err == nil {
			t.Fatal("Backup overwrote an existing file")
		}
		b := must(storage.Open(ctx, storage.OpenParams{Path: dest}))(t)
		defer b.Close()
		if sc := must(b.GetSchoolByCode(ctx, "S2"))(t); sc != w.s2 {
			t.Fatalf("backup has %+v; want %+v", sc, w.s2)
		}
		if _, err := os.Stat(dest); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		s := storagetest.OpenPostgres(t)
		err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "x"))
		if err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("Backup on Postgres: %v; want an error naming pg_dump", err)
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	if _, err := storage.Open(context.Background(), storage.OpenParams{URL: "mysql://x"}); err == nil {
		t.Fatal("opened a mysql URL")
	}
}
