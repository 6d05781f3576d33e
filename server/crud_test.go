package server_test

import (
	"strings"
	"testing"

	"github.com/livekit/protocol/auth"

	"yunke/storage"
)

func TestValidationDuplicateConflict(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	admin := fx.users["system_admin"]

	r := admin.send("POST", "/api/v1/schools", map[string]any{"code": "bad code!", "name": "", "kind": "university", "district_id": fx.district})
	if r.status != 400 || r.errCode() != "invalid" {
		t.Fatalf("invalid school: %v", r)
	}
	for _, f := range []string{"code", "name", "kind"} {
		if r.errFields()[f] == nil {
			t.Errorf("invalid school: no complaint about %s in %s", f, r.body)
		}
	}
	if r := admin.send("POST", "/api/v1/schools", `{"code":"Q","name":"Q","kind":"primary","colour":"red"}`); r.status != 400 || !strings.Contains(string(r.body), "colour") {
		t.Errorf("unknown field: %v", r)
	}
	if r := admin.send("POST", "/api/v1/schools", `{"code":1}`); r.status != 400 || r.errFields()["code"] == nil {
		t.Errorf("wrong type: %v", r)
	}
	if r := admin.send("POST", "/api/v1/schools", strings.Repeat(" ", 70<<10)+"{}"); r.status != 413 || r.errCode() != "too_large" {
		t.Errorf("huge body: %v", r)
	}
	if r := admin.send("POST", "/api/v1/schools", map[string]any{"code": "A", "name": "again", "kind": "primary", "district_id": fx.district}); r.status != 409 || r.errCode() != "duplicate" || r.errFields()["code"] == nil {
		t.Errorf("duplicate school code: %v, want 409 duplicate with fields.code", r)
	}
	if r := admin.send("POST", "/api/v1/users", map[string]any{"username": "teacher", "name": "x", "password": "password-1", "roles": []string{"teacher"}, "school_id": fx.schoolA}); r.status != 409 || r.errFields()["username"] == nil {
		t.Errorf("duplicate username: %v, want 409 with fields.username", r)
	}
	r = admin.send("POST", "/api/v1/users", map[string]any{"username": "", "name": "x", "password": "short", "roles": []string{"wizard"}, "grade": 13})
	for _, f := range []string{"username", "password", "roles", "grade"} {
		if r.status != 400 || r.errFields()[f] == nil {
			t.Errorf("invalid user: no complaint about %s in %v", f, r)
		}
	}
	if r := admin.send("POST", "/api/v1/users", map[string]any{"username": "s9", "name": "x", "password": "password-1", "roles": []string{"student"}, "school_id": 999999, "student_no": "9"}); r.status != 400 || r.errFields()["school_id"] == nil {
		t.Errorf("unknown school: %v", r)
	}

	// Optimistic concurrency: the second writer with the old version loses.
	path := "/api/v1/schools/" + itoa(fx.schoolA)
	var sc storage.School
	admin.must(200, "GET", path, nil, &sc)
	var updated storage.School
	admin.must(200, "PATCH", path, map[string]any{"name": "新名字", "version": sc.Version}, &updated)
	if updated.Name != "新名字" || updated.Version == sc.Version || updated.Code != "A" {
		t.Errorf("PATCH school: %+v", updated)
	}
	if r := admin.send("PATCH", path, map[string]any{"name": "旧", "version": sc.Version}); r.status != 409 || r.errCode() != "conflict" {
		t.Errorf("stale version: %v, want 409 conflict", r)
	}
	if r := admin.send("PATCH", path, map[string]any{"name": "旧"}); r.status != 400 || r.errFields()["version"] == nil {
		t.Errorf("no version: %v", r)
	}
	var u storage.User
	admin.must(200, "GET", "/api/v1/users/"+itoa(fx.userIDs["teacher"]), nil, &u)
	admin.must(200, "PATCH", "/api/v1/users/"+itoa(fx.userIDs["teacher"]), map[string]any{"trainee": true, "version": u.Version}, &u)
	if !u.Trainee || !u.Has(storage.RoleTeacher) || u.StaffNo != "T-A-1" {
		t.Errorf("PATCH user kept the other fields? %+v", u)
	}
	if r := admin.send("PATCH", "/api/v1/users/"+itoa(fx.userIDs["teacher"]), map[string]any{"password": "x", "version": u.Version}); r.status != 400 {
		t.Errorf("PATCH password: %v, want 400 (unknown field)", r)
	}
	// Nobody deactivates or demotes themselves.
	var self storage.User
	admin.must(200, "GET", "/api/v1/users/"+itoa(fx.userIDs["system_admin"]), nil, &self)
	if r := admin.send("PATCH", "/api/v1/users/"+itoa(fx.userIDs["system_admin"]), map[string]any{"active": false, "version": self.Version}); r.status != 400 || r.errFields()["active"] == nil {
		t.Errorf("self-deactivation: %v", r)
	}
	// Deactivating a user ends their sessions.
	admin.must(200, "GET", "/api/v1/users/"+itoa(fx.userIDs["student"]), nil, &u)
	admin.must(200, "PATCH", "/api/v1/users/"+itoa(fx.userIDs["student"]), map[string]any{"active": false, "version": u.Version}, nil)
	if r := fx.users["student"].send("GET", "/api/v1/me", nil); r.status != 401 {
		t.Errorf("deactivated student's session: %v, want 401", r)
	}
	if r := newAPI(t, srv).signIn("student", userPassword); r.status != 401 {
		t.Errorf("deactivated student signs in: %v, want 401", r)
	}

	// Paging.
	if r := admin.send("GET", "/api/v1/schools?limit=501", nil); r.status != 400 || r.errFields()["limit"] == nil {
		t.Errorf("limit 501: %v", r)
	}
	var page struct {
		Items []storage.School
		Total int
	}
	admin.must(200, "GET", "/api/v1/schools?limit=1&offset=1", nil, &page)
	if len(page.Items) != 1 || page.Total != 3 {
		t.Errorf("page: %+v, want 1 item of 3", page)
	}
	// Subjects and targets.
	if r := admin.send("PATCH", "/api/v1/subjects/"+itoa(fx.subject), map[string]any{"active": false}); r.status != 200 || r.json()["active"] != false {
		t.Errorf("PATCH subject: %v", r)
	}
	tp := "/api/v1/schools/" + itoa(fx.schoolA) + "/targets/2026"
	if r := admin.send("PUT", tp, map[string]any{"lessons_recorded": 1, "teachers_participating": 1, "trainee_coverage_pct": 101, "version": 0}); r.status != 400 || r.errFields()["trainee_coverage_pct"] == nil {
		t.Errorf("target over 100%%: %v", r)
	}
	var tg storage.Target
	admin.must(200, "PUT", tp, map[string]any{"lessons_recorded": 1, "teachers_participating": 1, "trainee_coverage_pct": 10, "version": 0}, &tg)
	admin.must(200, "PUT", tp, map[string]any{"lessons_recorded": 2, "teachers_participating": 1, "trainee_coverage_pct": 10, "version": tg.Version}, nil)
	if r := admin.send("PUT", tp, map[string]any{"lessons_recorded": 3, "teachers_participating": 1, "trainee_coverage_pct": 10, "version": tg.Version}); r.status != 409 || r.errCode() != "conflict" {
		t.Errorf("stale target: %v, want 409 conflict", r)
	}
	// Activity is recorded and readable, with the names to say it in words.
	var recent struct {
		Items []struct {
			storage.Activity
			ActorName   string `json:"actor_name"`
			SubjectName string `json:"subject_name"`
			SchoolName  string `json:"school_name"`
		}
	}
	admin.must(200, "GET", "/api/v1/activity/recent?limit=500", nil, &recent)
	if len(recent.Items) == 0 {
		t.Error("no recent activity after all these changes")
	}
	named := false
	for _, it := range recent.Items {
		if it.Action == "school.update" {
			named = it.ActorName == "系统管理员" && it.SubjectName != "" && it.SchoolName == it.SubjectName
			break
		}
	}
	if !named {
		t.Errorf("the newest school.update is not named in words: %+v", recent.Items)
	}
	if r := admin.send("GET", "/api/v1/activity?from=2026-13", nil); r.status != 400 || r.errFields()["from"] == nil {
		t.Errorf("bad month: %v", r)
	}
	admin.must(200, "GET", "/api/v1/activity?from=2020-01&to=2030-12", nil, nil)
}

// roomGrant decodes a room token's claims.
func roomGrant(t *testing.T, tok string) *auth.ClaimGrants {
	t.Helper()
	v, err := auth.ParseAPIToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	_, g, err := v.Verify(apiSecret)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRoomTokens(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	room := "s" + itoa(fx.schoolA) + "-math-3-2"
	type answer struct{ URL, Token, Identity, Room, Role string }
	token := func(who string, body map[string]any) (answer, *auth.ClaimGrants) {
		var a answer
		fx.users[who].must(200, "POST", "/api/v1/rooms/token", body, &a)
		if a.Room != room || !strings.HasPrefix(a.URL, "ws://") || a.Identity != "u"+itoa(fx.userIDs[who]) {
			t.Errorf("%s: answer %+v", who, a)
		}
		return a, roomGrant(t, a.Token)
	}
	a, g := token("teacher", map[string]any{"room": "math-3-2"})
	if a.Role != "teacher" || !g.Video.RoomAdmin || !g.Video.GetCanPublish() || g.Video.Room != room || g.Name != "用户 teacher" || g.Identity != a.Identity {
		t.Errorf("teacher's grants: %+v %+v", a, g.Video)
	}
	a, g = token("student", map[string]any{"room": "math-3-2"})
	if a.Role != "student" || g.Video.GetCanPublish() || g.Video.RoomAdmin || !g.Video.GetCanSubscribe() || g.Video.Hidden {
		t.Errorf("student's grants: %+v %+v", a, g.Video)
	}
	a, g = token("expert", map[string]any{"room": "math-3-2", "school_id": fx.schoolA})
	if a.Role != "observer" || !g.Video.Hidden || g.Video.GetCanPublish() || g.Video.GetCanPublishData() {
		t.Errorf("expert's grants: %+v %+v", a, g.Video)
	}
	a, g = token("teacher+school_admin", map[string]any{"room": "math-3-2"})
	if a.Role != "teacher" || !g.Video.RoomAdmin {
		t.Errorf("teacher who is also admin: %+v %+v", a, g.Video)
	}
	a, g = token("district_admin", map[string]any{"room": "math-3-2", "school_id": fx.schoolA})
	if a.Role != "observer" || !g.Video.Hidden {
		t.Errorf("district admin: %+v %+v", a, g.Video)
	}
	for _, c := range []struct {
		who  string
		body map[string]any
		want int
	}{
		{"student", map[string]any{"room": "math", "school_id": fx.schoolB}, 403},
		{"teacher", map[string]any{"room": "math", "school_id": fx.schoolB}, 403},
		{"expert", map[string]any{"room": "math"}, 400}, // an expert has no school of their own
		{"teacher", map[string]any{"room": "has space"}, 400},
		{"teacher", map[string]any{"room": ""}, 400},
		{"system_admin", map[string]any{"room": "math", "school_id": 999999}, 400},
	} {
		if r := fx.users[c.who].send("POST", "/api/v1/rooms/token", c.body); r.status != c.want {
			t.Errorf("%s %v: %v, want HTTP %d", c.who, c.body, r, c.want)
		}
	}
}
