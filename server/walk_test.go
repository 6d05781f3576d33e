package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"yunke/server/authz"
	"yunke/storage"
)

// TestWalkRoutesAndRoles calls every API route as every role (and signed
// out): what the policy forbids answers 403, what it allows does not, and
// every non-public route answers 401 to a stranger.
func TestWalkRoutesAndRoles(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	stranger := newAPI(t, srv)
	routes := srv.APIRoutes()
	if len(routes) < 30 {
		t.Fatalf("only %d API routes", len(routes))
	}
	fill := func(path string) string {
		path = strings.Replace(path, "/districts/{id}", "/districts/"+itoa(fx.district), 1)
		path = strings.Replace(path, "/schools/{id}", "/schools/"+itoa(fx.schoolA), 1)
		path = strings.Replace(path, "/users/{id}", "/users/"+itoa(fx.userIDs["student"]), 1)
		path = strings.Replace(path, "/subjects/{id}", "/subjects/"+itoa(fx.subject), 1)
		path = strings.Replace(path, "/tutoring/requests/{id}", "/tutoring/requests/999999", 1)
		path = strings.Replace(path, "/tutoring/sessions/{id}", "/tutoring/sessions/999999", 1)
		path = strings.Replace(path, "/microlessons/uploads/{id}", "/microlessons/uploads/"+strings.Repeat("0", 32), 1)
		path = strings.Replace(path, "/microlessons/videos/{id}", "/microlessons/videos/999999", 1)
		path = strings.Replace(path, "/microlessons/reviewers/{id}", "/microlessons/reviewers/999999", 1)
		path = strings.Replace(path, "/microlessons/{id}", "/microlessons/999999", 1)
		path = strings.Replace(path, "/classes/{id}", "/classes/999999", 1)
		path = strings.Replace(path, "/qa/questions/{id}", "/qa/questions/999999", 1)
		path = strings.Replace(path, "/qa/answers/{id}", "/qa/answers/999999", 1)
		path = strings.Replace(path, "/images/{n}", "/images/0", 1)
		path = strings.Replace(path, "/review/targets/{target}", "/review/targets/recording:999999", 1)
		if strings.HasPrefix(path, "/api/v1/review/") || strings.HasPrefix(path, "/api/v1/research/") {
			path = strings.Replace(path, "{id}", "999999", 1)
		}
		path = strings.Replace(path, "/recordings/{id}", "/recordings/999999", 1)
		path = strings.Replace(path, "/selection/rounds/{id}", "/selection/rounds/999999", 1)
		path = strings.Replace(path, "{entry_id}", "1", 1)
		path = strings.Replace(path, "/library/{id}", "/library/999999", 1)
		path = strings.Replace(path, "/reports/kept/{id}", "/reports/kept/999999", 1)
		path = strings.Replace(path, "{track_id}", "1", 1)
		path = strings.Replace(path, "{sample}", "0", 1)
		path = strings.Replace(path, "/rooms/{room}", "/rooms/s"+itoa(fx.schoolA)+"-walk", 1)
		path = strings.Replace(path, "/classroom/polls/{id}", "/classroom/polls/999999", 1)
		path = strings.Replace(path, "/chat/{id}", "/chat/999999", 1)
		path = strings.Replace(path, "{room}", "s"+itoa(fx.schoolA)+"-walk", 1)
		path = strings.Replace(path, "{identity}", "u"+itoa(fx.userIDs["student"]), 1)
		return strings.Replace(path, "{year}", "2026", 1)
	}
	for _, rt := range routes {
		path := fill(rt.Path)
		if strings.Contains(path, "{") {
			t.Fatalf("route %s %s: path parameter not filled in", rt.Method, rt.Path)
		}
		var body any
		if rt.Method != "GET" {
			body = "{}"
		}
		if !rt.Public {
			// (A HEAD answer has no body to carry the code.)
			if r := stranger.send(rt.Method, path, body); r.status != http.StatusUnauthorized || (rt.Method != "HEAD" && r.errCode() != "unauthenticated") {
				t.Errorf("%s %s signed out: %v, want 401 unauthenticated", rt.Method, rt.Path, r)
			}
		}
		if rt.Method == "POST" && rt.Path == "/api/v1/auth/signout" {
			continue // would end the fixture's sessions; TestSignInOutAndMe covers it
		}
		for name, c := range fx.users {
			roles := fixtureRoles(name)
			allowed := rt.Public || len(rt.Actions) == 0 || slices.ContainsFunc(rt.Actions, func(a authz.Action) bool { return authz.Allows(roles, a) })
			r := c.send(rt.Method, path, body)
			switch {
			case !allowed && (r.status != http.StatusForbidden || (rt.Method != "HEAD" && r.errCode() != "forbidden")):
				t.Errorf("%s %s as %s: %v, want 403 forbidden", rt.Method, rt.Path, name, r)
			case allowed && (r.status == http.StatusForbidden || r.status == http.StatusUnauthorized || r.status >= 500):
				t.Errorf("%s %s as %s: %v, but the policy allows it", rt.Method, rt.Path, name, r)
			}
		}
	}
}

// TestScope: an administrator or expert reaches only their own schools.
// Ids outside the scope answer 403 (docs/authorization.md).
func TestScope(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	sa, ex, da := fx.users["school_admin"], fx.users["expert"], fx.users["district_admin"]
	for _, c := range []struct {
		name   string
		a      *api
		method string
		path   string
		body   any
		want   int
	}{
		{"school admin reads a user of school B", sa, "GET", "/api/v1/users/" + itoa(fx.studentB), nil, 403},
		{"school admin edits a user of school B", sa, "PATCH", "/api/v1/users/" + itoa(fx.studentB), map[string]any{"name": "x", "version": 1}, 403},
		{"school admin resets a user of school B", sa, "POST", "/api/v1/users/" + itoa(fx.studentB) + "/password", map[string]any{"new_password": "whatever-1"}, 403},
		{"school admin reads school B", sa, "GET", "/api/v1/schools/" + itoa(fx.schoolB), nil, 403},
		{"school admin lists users of school B", sa, "GET", "/api/v1/users?school_id=" + itoa(fx.schoolB), nil, 403},
		{"school admin creates a teacher in school B", sa, "POST", "/api/v1/users", map[string]any{"username": "tb", "name": "x", "password": "password-1", "roles": []string{"teacher"}, "school_id": fx.schoolB}, 403},
		{"school admin creates a school admin", sa, "POST", "/api/v1/users", map[string]any{"username": "sa2", "name": "x", "password": "password-1", "roles": []string{"school_admin"}, "school_id": fx.schoolA}, 403},
		{"school admin makes a teacher an expert", sa, "PATCH", "/api/v1/users/" + itoa(fx.userIDs["teacher"]), map[string]any{"roles": []string{"teacher", "expert"}, "version": 1}, 403},
		{"school admin reads activity of school B", sa, "GET", "/api/v1/activity?school_id=" + itoa(fx.schoolB), nil, 403},
		{"school admin reads a user of school A", sa, "GET", "/api/v1/users/" + itoa(fx.userIDs["student"]), nil, 200},
		{"school admin creates a teacher in school A", sa, "POST", "/api/v1/users", map[string]any{"username": "ta", "name": "x", "password": "password-1", "roles": []string{"teacher"}, "school_id": fx.schoolA}, 201},
		{"expert reads school A", ex, "GET", "/api/v1/schools/" + itoa(fx.schoolA), nil, 200},
		{"expert reads school B", ex, "GET", "/api/v1/schools/" + itoa(fx.schoolB), nil, 403},
		{"expert watches a class in school B", ex, "POST", "/api/v1/rooms/token", map[string]any{"room": "math", "school_id": fx.schoolB}, 403},
		{"district admin reads school C of another district", da, "GET", "/api/v1/schools/" + itoa(fx.schoolC), nil, 403},
		{"district admin creates a school in another district", da, "POST", "/api/v1/schools", map[string]any{"code": "Z", "name": "Z", "kind": "primary", "district_id": fx.district2}, 403},
		{"district admin creates a system admin", da, "POST", "/api/v1/users", map[string]any{"username": "sys2", "name": "x", "password": "password-1", "roles": []string{"system_admin"}}, 403},
		{"district admin edits the system admin", da, "PATCH", "/api/v1/users/" + itoa(fx.userIDs["system_admin"]), map[string]any{"name": "x", "version": 1}, 403},
		{"district admin creates a district admin", da, "POST", "/api/v1/users", map[string]any{"username": "da2", "name": "x", "password": "password-1", "roles": []string{"district_admin"}}, 201},
		{"district admin sets school B's target", da, "PUT", "/api/v1/schools/" + itoa(fx.schoolB) + "/targets/2026", map[string]any{"lessons_recorded": 10, "teachers_participating": 5, "trainee_coverage_pct": 50, "version": 0}, 200},
		{"district admin sets school C's target", da, "PUT", "/api/v1/schools/" + itoa(fx.schoolC) + "/targets/2026", map[string]any{"lessons_recorded": 10, "teachers_participating": 5, "trainee_coverage_pct": 50, "version": 0}, 403},
		{"no such user", da, "GET", "/api/v1/users/999999", nil, 404},
	} {
		if r := c.a.send(c.method, c.path, c.body); r.status != c.want {
			t.Errorf("%s: %v, want HTTP %d", c.name, r, c.want)
		}
	}

	// Lists are filtered to the scope.
	var schools struct {
		Items []storage.School
		Total int
	}
	ex.must(200, "GET", "/api/v1/schools", nil, &schools)
	if schools.Total != 1 || len(schools.Items) != 1 || int64(schools.Items[0].ID) != fx.schoolA {
		t.Errorf("expert's schools: %+v, want just school A", schools)
	}
	da.must(200, "GET", "/api/v1/schools", nil, &schools)
	if schools.Total != 2 {
		t.Errorf("district admin's schools: %+v, want A and B", schools)
	}
	var users struct {
		Items []storage.User
		Total int
	}
	sa.must(200, "GET", "/api/v1/users?limit=500", nil, &users)
	for _, u := range users.Items {
		if int64(u.SchoolID) != fx.schoolA {
			t.Errorf("school admin lists %s of school %d", u.Username, u.SchoolID)
		}
	}
	if users.Total < 4 {
		t.Errorf("school admin lists %d users of school A, want at least 4", users.Total)
	}
	var targets struct{ Items []map[string]any }
	sa.must(200, "GET", "/api/v1/targets?year=2026", nil, &targets)
	if len(targets.Items) != 0 {
		t.Errorf("school admin of A sees targets %v (only B has one)", targets.Items)
	}
	fx.users["system_admin"].must(200, "GET", "/api/v1/targets?year=2026", nil, &targets)
	if len(targets.Items) != 1 || targets.Items[0]["school_name"] != "学校 B" {
		t.Errorf("system admin's targets: %v, want B's with its name", targets.Items)
	}
	var ds struct{ Items []storage.District }
	da.must(200, "GET", "/api/v1/districts", nil, &ds)
	if len(ds.Items) != 1 || int64(ds.Items[0].ID) != fx.district {
		t.Errorf("district admin's districts: %+v, want their own", ds.Items)
	}
}

// TestScopeOfImports: an import reaches only the accounts its caller could
// reach through the users API. A row matching anyone else is a row error
// (dry run or not), and what was refused stays refused afterwards.
func TestScopeOfImports(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	sa, da, sys := fx.users["school_admin"], fx.users["district_admin"], fx.users["system_admin"]
	createUser(t, fx, map[string]any{"username": "student.c", "roles": []string{"student"}, "school_id": fx.schoolC, "student_no": "S-C-1", "grade": 2})
	createUser(t, fx, map[string]any{"username": "teacher.b", "roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-1"})
	createUser(t, fx, map[string]any{"username": "da.staff", "roles": []string{"district_admin"}, "district_id": fx.district, "staff_no": "T-DA-1"})
	students := func(rows string) string { return "school_code,student_no,name,grade\n" + rows + "\n" }
	teachers := func(rows string) string { return "school_code,staff_no,name\n" + rows + "\n" }
	for _, c := range []struct {
		name      string
		a         *api
		kind, csv string
		want      int
		column    string // of the row error on row 2, for 422
	}{
		{"school admin imports a student of school B", sa, "students", students("A,S-B-1,x,3"), 422, "student_no"},
		{"school admin imports a student of another district", sa, "students", students("A,S-C-1,x,3"), 422, "student_no"},
		{"school admin imports a teacher of school B", sa, "teachers", teachers("A,T-B-1,x"), 422, "staff_no"},
		{"school admin imports a district admin's staff number", sa, "teachers", teachers("A,T-DA-1,x"), 422, "staff_no"},
		{"school admin imports a school admin of their school", sa, "teachers", teachers("A,T-A-2,x"), 422, "staff_no"},
		{"school admin imports into school B", sa, "students", students("B,NEW-1,x,3"), 422, "school_code"},
		{"district admin imports a student of another district", da, "students", students("A,S-C-1,x,3"), 422, "student_no"},
		{"district admin imports into another district's school", da, "students", students("C,NEW-1,x,3"), 422, "school_code"},
		{"system admin moves a student to another district", sys, "students", students("A,S-C-1,x,3"), 422, "student_no"},
		{"district admin moves a student between their schools", da, "students", students("A,S-B-1,乙,3"), 200, ""},
		{"school admin imports their own student", sa, "students", students("A,S-A-1,用户 student,3"), 200, ""},
	} {
		for _, dry := range []string{"true", "false"} {
			if c.want == 200 && dry == "false" {
				continue // the dry run is enough; TestImportMovesStudent does it
			}
			fields := []string{"dry_run", dry}
			if c.a == sys {
				fields = append(fields, "district_id", itoa(fx.district))
			}
			r := c.a.send("POST", "/api/v1/import", importForm(t, c.kind, c.csv, fields...))
			if r.status != c.want {
				t.Errorf("%s (dry run %s): %v, want HTTP %d", c.name, dry, r, c.want)
				continue
			}
			if c.want == 422 {
				if rows := importErrors(t, r); len(rows) != 1 || rows[0].Row != 2 || rows[0].Column != c.column {
					t.Errorf("%s (dry run %s): %v, want one error on row 2, %s", c.name, dry, rows, c.column)
				}
			}
		}
	}
	// Nothing moved: school B's student is still out of the school admin's reach.
	if r := sa.send("POST", "/api/v1/users/"+itoa(fx.studentB)+"/password", map[string]any{"new_password": "taken-over-1"}); r.status != 403 {
		t.Errorf("school admin resets the password of school B's student after the imports: %v, want 403", r)
	}
	var u storage.User
	sys.must(200, "GET", "/api/v1/users/"+itoa(fx.studentB), nil, &u)
	if int64(u.SchoolID) != fx.schoolB || u.Name != "乙" {
		t.Errorf("school B's student after the imports: %+v", u)
	}
}
