package server_test

// Scheduled classes end to end: an administrator schedules a weekly
// class, students of its audience find it on their timetable and join
// when joining opens, the teacher's join makes it live, every join and
// departure is recorded, the student rates it and the rating reaches the
// satisfaction figures. People outside the class — another school's
// teacher and student, a student outside its audience, an expert out of
// scope — are refused at every step.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"yunke/server"
	"yunke/server/config"
	"yunke/signaling/client"
)

func classesConfig(c *config.Config, p *server.Params) {
	c.Classes.EmptyGraceSeconds = 60
	c.Classes.SeenSeconds = 1
	p.ClassesTick = 10 * time.Millisecond
}

// classJoin is the answer of POST /classes/{id}/join.
type classJoin struct {
	URL, Token, Identity, Room, Role string
}

// enterClass joins a class's room with a fresh token.
func enterClass(t *testing.T, ctx context.Context, a *api, class int64, role string) *client.Client {
	t.Helper()
	var j classJoin
	a.must(200, "POST", "/api/v1/classes/"+itoa(class)+"/join", "{}", &j)
	if j.Role != role || j.Room != "class-"+itoa(class) {
		t.Fatalf("join %+v, want role %s", j, role)
	}
	c, err := client.Connect(ctx, client.Options{URL: j.URL, Token: j.Token, SettingEngine: loopbackUDP})
	if err != nil {
		t.Fatalf("join the room of class %d: %v", class, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newUser creates an account as admin and signs it in with its own password.
func newUser(t *testing.T, srv *testServer, admin *api, body map[string]any) (*api, int64) {
	t.Helper()
	body["password"] = "initial-password"
	body["name"] = "名 " + body["username"].(string)
	var created map[string]any
	admin.must(201, "POST", "/api/v1/users", body, &created)
	c := signedIn(t, srv, body["username"].(string), "initial-password")
	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	return c, id(created)
}

type attendee struct {
	UserID     int64 `json:"user_id"`
	Role       string
	Joins      int
	PresentS   int64 `json:"present_s"`
	LateS      int64 `json:"late_s"`
	Late       bool
	LeftEarlyS int64 `json:"left_early_s"`
	LeftEarly  bool  `json:"left_early"`
	Stays      []struct {
		JoinedAt time.Time `json:"joined_at"`
		LeftAt   time.Time `json:"left_at"`
	}
}

type classRecord struct {
	Class     map[string]any
	Attendees []attendee
	Ratings   []map[string]any
}

func (r classRecord) of(user int64) attendee {
	for _, a := range r.Attendees {
		if a.UserID == user {
			return a
		}
	}
	return attendee{}
}

func TestClassesEndToEnd(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	srv := startServer(t, withClock(clk), classesConfig)
	fx := newFixture(t, srv)
	sys := fx.users["system_admin"]
	admin, teacher, student, expert := fx.users["school_admin"], fx.users["teacher"], fx.users["student"], fx.users["expert"]
	studentID, teacherID := fx.userIDs["student"], fx.userIDs["teacher"]

	// Others: a student of school A in another school class, one of
	// school B, a teacher of school B, and an expert of school B only.
	absent, _ := newUser(t, srv, sys, map[string]any{"username": "absent", "roles": []string{"student"}, "school_id": fx.schoolA,
		"student_no": "S-A-9", "grade": 3, "class": "2班"})
	otherClass, _ := newUser(t, srv, sys, map[string]any{"username": "other.class", "roles": []string{"student"}, "school_id": fx.schoolA,
		"student_no": "S-A-8", "grade": 3, "class": "5班"})
	studentB := signedIn(t, srv, "student.b", "initial-password")
	studentB.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	teacherB, teacherBID := newUser(t, srv, sys, map[string]any{"username": "teacher.b", "roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-1"})
	expertB, _ := newUser(t, srv, sys, map[string]any{"username": "expert.b", "roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolB}}})

	start := clk.Now().Add(30 * time.Minute).Truncate(time.Minute)
	body := map[string]any{"title": "分数的加法", "subject_id": fx.subject, "grade": 3, "teacher_id": teacherID,
		"audience": "classes", "groups": []string{"2班"}, "starts_at": start.Format(time.RFC3339), "planned_minutes": 45, "weeks": 2}

	// Scheduling: only administrators, only in their scope, only with
	// teachers of the school.
	for who, c := range map[string]*api{"teacher": teacher, "student": student, "expert": expert} {
		if r := c.send("POST", "/api/v1/classes", body); r.status != 403 {
			t.Errorf("%s schedules: %v", who, r)
		}
	}
	inB := map[string]any{}
	for k, v := range body {
		inB[k] = v
	}
	inB["school_id"] = fx.schoolB
	if r := admin.send("POST", "/api/v1/classes", inB); r.status != 403 {
		t.Fatalf("school A's admin schedules in school B: %v", r)
	}
	if r := fx.users["district_admin"].send("POST", "/api/v1/classes", inB); r.status != 400 || r.errFields()["teacher_id"] == nil {
		t.Fatalf("school A's teacher in school B: %v", r)
	}
	district := map[string]any{"title": "精品课", "subject_id": fx.subject, "grade": 3, "teacher_id": teacherID, "audience": "district",
		"starts_at": start.Format(time.RFC3339), "planned_minutes": 45, "premium": true}
	if r := admin.send("POST", "/api/v1/classes", district); r.status != 403 {
		t.Fatalf("a school admin schedules a district-wide class: %v", r)
	}
	var made struct{ Items []map[string]any }
	admin.must(201, "POST", "/api/v1/classes", body, &made)
	if len(made.Items) != 2 || made.Items[0]["series_id"] != made.Items[0]["id"] || made.Items[0]["recording"] != true {
		t.Fatalf("created %v", made.Items)
	}
	class, next := id(made.Items[0]), id(made.Items[1])
	path := "/api/v1/classes/" + itoa(class)

	// The timetable, per role.
	timetable := func(c *api, query string) []map[string]any {
		t.Helper()
		var list struct{ Items []map[string]any }
		c.must(200, "GET", "/api/v1/classes"+query, nil, &list)
		return list.Items
	}
	if got := timetable(student, ""); len(got) != 1 || id(got[0]) != class || got[0]["can_join"] != false || got[0]["my_role"] != "student" {
		t.Fatalf("student's week: %v", got)
	}
	if got := timetable(student, "?to="+start.AddDate(0, 0, 14).Format(time.DateOnly)); len(got) != 2 {
		t.Fatalf("student's two weeks: %v", got)
	}
	for who, c := range map[string]*api{"student outside the audience": otherClass, "school B's student": studentB} {
		if got := timetable(c, ""); len(got) != 0 {
			t.Errorf("%s sees %v", who, got)
		}
	}
	if got := timetable(teacher, ""); len(got) != 1 || got[0]["my_role"] != "teacher" {
		t.Fatalf("teacher's week: %v", got)
	}
	if got := timetable(teacherB, ""); len(got) != 0 {
		t.Fatalf("school B's teacher sees %v", got)
	}
	if got := timetable(expert, ""); len(got) != 1 || got[0]["my_role"] != "observer" {
		t.Fatalf("expert's week: %v", got)
	}
	if got := timetable(expertB, ""); len(got) != 0 {
		t.Fatalf("school B's expert sees %v", got)
	}
	if r := expertB.send("GET", "/api/v1/classes?school_id="+itoa(fx.schoolA), nil); r.status != 403 {
		t.Fatalf("school B's expert asks for school A: %v", r)
	}

	// Nobody outside the class reaches it.
	for who, c := range map[string]*api{"school B's student": studentB, "student outside the audience": otherClass,
		"school B's teacher": teacherB, "school B's expert": expertB} {
		for _, call := range []struct{ method, path string }{{"GET", path}, {"POST", path + "/join"}, {"GET", path + "/record"},
			{"POST", path + "/end"}, {"PUT", path + "/rating"}, {"POST", path + "/cancel"}, {"PUT", path}} {
			if r := c.send(call.method, call.path, "{}"); r.status != 403 {
				t.Errorf("%s: %s %s: %v", who, call.method, call.path, r)
			}
		}
	}
	if r := teacherB.send("PUT", path, map[string]any{"teacher_id": teacherBID}); r.status != 403 {
		t.Fatalf("school B's teacher edits: %v", r)
	}

	// Joining opens ten minutes before the start.
	if r := student.send("POST", path+"/join", "{}"); r.status != 409 || r.errCode() != "not_open" {
		t.Fatalf("join 30 minutes early: %v", r)
	}
	clk.Advance(21 * time.Minute) // 9 minutes before the start
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rec classRecord
	record := func() classRecord {
		t.Helper()
		var r classRecord
		teacher.must(200, "GET", path+"/record", nil, &r)
		return r
	}
	waitRecord := func(what string, cond func(classRecord) bool) {
		t.Helper()
		if !pollUntil(10*time.Second, func() bool { rec = record(); return cond(rec) }) {
			t.Fatalf("record never showed %s: %+v", what, rec)
		}
	}
	sc := enterClass(t, ctx, student, class, "student")
	joined := clk.Now()
	waitRecord("the student's join", func(r classRecord) bool { return r.of(studentID).Joins == 1 })
	if rec.Class["status"] != "scheduled" {
		t.Fatalf("a student's join started the class: %v", rec.Class)
	}
	clk.Advance(10 * time.Minute) // a minute after the start
	tc := enterClass(t, ctx, teacher, class, "teacher")
	began := clk.Now()
	waitRecord("the class going live", func(r classRecord) bool { return r.Class["status"] == "live" })
	enterClass(t, ctx, expert, class, "observer")
	if !pollUntil(10*time.Second, func() bool { return len(tc.Participants()) == 1 }) {
		t.Fatalf("the teacher sees %d participants, want the student only", len(tc.Participants()))
	}

	// The student drops out for two minutes and comes back.
	clk.Advance(5 * time.Minute)
	sc.Close()
	left := clk.Now()
	waitRecord("the student leaving", func(r classRecord) bool {
		a := r.of(studentID)
		return len(a.Stays) == 1 && !a.Stays[0].LeftAt.IsZero()
	})
	clk.Advance(2 * time.Minute)
	enterClass(t, ctx, student, class, "student")
	back := clk.Now()
	waitRecord("the student back", func(r classRecord) bool { return r.of(studentID).Joins == 2 })

	// Rating before the end is refused; the teacher ends the class.
	if r := student.send("PUT", path+"/rating", map[string]any{"score": 5}); r.status != 409 || r.errCode() != "not_ended" {
		t.Fatalf("rating a live class: %v", r)
	}
	clk.Advance(30 * time.Minute)
	var kept classJoin // a token handed out before the end
	student.must(200, "POST", path+"/join", "{}", &kept)
	if r := student.send("POST", path+"/end", "{}"); r.status != 403 {
		t.Fatalf("a student ends the class: %v", r)
	}
	var ended map[string]any
	teacher.must(200, "POST", path+"/end", "{}", &ended)
	end := clk.Now()
	if ended["status"] != "ended" || ended["end_reason"] != "teacher" {
		t.Fatalf("ended %v", ended)
	}
	if !pollUntil(10*time.Second, func() bool { return tc.Err() != nil }) {
		t.Fatal("the teacher was not sent out of the ended class's room")
	}
	if r := student.send("POST", path+"/join", "{}"); r.status != 409 || r.errCode() != "ended" {
		t.Fatalf("join an ended class: %v", r)
	}
	if c, err := client.Connect(ctx, client.Options{URL: kept.URL, Token: kept.Token, SettingEngine: loopbackUDP}); err == nil {
		c.Close()
		t.Fatal("a token from before the end let its holder into the ended class's room")
	}

	// The record: two stays, the time present counted from the actual start.
	rec = record()
	a := rec.of(studentID)
	if a.Joins != 2 || len(a.Stays) != 2 || !a.Stays[0].JoinedAt.Equal(joined.UTC().Truncate(time.Millisecond)) ||
		!a.Stays[0].LeftAt.Equal(left.UTC().Truncate(time.Millisecond)) || !a.Stays[1].JoinedAt.Equal(back.UTC().Truncate(time.Millisecond)) ||
		!a.Stays[1].LeftAt.Equal(end.UTC().Truncate(time.Millisecond)) {
		t.Fatalf("student's stays %+v", a)
	}
	want := int64(left.Sub(began)/time.Second) + int64(end.Sub(back)/time.Second)
	if a.PresentS != want || a.Late || a.LeftEarly {
		t.Fatalf("student present %d s, want %d: %+v", a.PresentS, want, a)
	}
	if tt := rec.of(teacherID); tt.Role != "teacher" || tt.Joins != 1 {
		t.Fatalf("teacher's attendance %+v", tt)
	}
	if ob := rec.of(fx.userIDs["expert"]); ob.Role != "observer" {
		t.Fatalf("the observer's attendance %+v", ob)
	}
	var got map[string]any
	expert.must(200, "GET", path+"/record", nil, nil)
	if r := student.send("GET", path+"/record", nil); r.status != 403 {
		t.Fatalf("a student reads the record: %v", r)
	}

	// Ratings: only students who were there; changeable for a while.
	if r := absent.send("PUT", path+"/rating", map[string]any{"score": 1}); r.status != 403 {
		t.Fatalf("a student of the audience who was not there rates: %v", r)
	}
	if r := teacher.send("PUT", path+"/rating", map[string]any{"score": 5}); r.status != 403 {
		t.Fatalf("the teacher rates: %v", r)
	}
	if r := student.send("PUT", path+"/rating", map[string]any{"score": 0}); r.status != 400 || r.errFields()["score"] == nil {
		t.Fatalf("score 0: %v", r)
	}
	student.must(200, "PUT", path+"/rating", map[string]any{"score": 3}, nil)
	student.must(200, "PUT", path+"/rating", map[string]any{"score": 5, "comment": "讲得清楚"}, nil)
	student.must(200, "GET", path, nil, &got)
	if r, _ := got["my_rating"].(map[string]any); r == nil || r["score"] != 5.0 {
		t.Fatalf("the student's class %v", got)
	}
	clk.Advance(31 * time.Minute)
	if r := student.send("PUT", path+"/rating", map[string]any{"score": 1}); r.status != 409 || r.errCode() != "closed" {
		t.Fatalf("change after the window: %v", r)
	}

	// Satisfaction, as tutoring's, in scope.
	sat := func(c *api, query string) []map[string]any {
		t.Helper()
		var s struct{ Items []map[string]any }
		c.must(200, "GET", "/api/v1/classes/satisfaction"+query, nil, &s)
		return s.Items
	}
	for _, g := range []string{"month", "teacher", "school", "subject", "premium"} {
		items := sat(admin, "?group="+g)
		if len(items) != 1 || items[0]["ratings"] != 1.0 || items[0]["share"] != 1.0 || items[0]["mean"] != 5.0 {
			t.Fatalf("by %s: %v", g, items)
		}
	}
	if items := sat(admin, "?group=teacher"); items[0]["key"] != itoa(teacherID) {
		t.Fatalf("by teacher: %v", items)
	}
	if items := sat(expertB, ""); len(items) != 0 {
		t.Fatalf("school B's expert sees %v", items)
	}
	if r := expertB.send("GET", "/api/v1/classes/satisfaction?school_id="+itoa(fx.schoolA), nil); r.status != 403 {
		t.Fatalf("school B's expert asks for school A: %v", r)
	}

	// The next week's class: edited with its version, then cancelled.
	var nx map[string]any
	admin.must(200, "GET", "/api/v1/classes/"+itoa(next), nil, &nx)
	edit := map[string]any{}
	for k, v := range body {
		edit[k] = v
	}
	delete(edit, "weeks")
	edit["version"], edit["title"], edit["starts_at"] = nx["version"], "分数的减法", start.AddDate(0, 0, 7).Add(time.Hour).Format(time.RFC3339)
	admin.must(200, "PUT", "/api/v1/classes/"+itoa(next), edit, nil)
	if r := admin.send("PUT", "/api/v1/classes/"+itoa(next), edit); r.status != 409 || r.errCode() != "conflict" {
		t.Fatalf("a stale edit: %v", r)
	}
	if r := admin.send("PUT", path, edit); r.status != 409 {
		t.Fatalf("editing an ended class: %v", r)
	}
	admin.must(200, "POST", "/api/v1/classes/"+itoa(next)+"/cancel", map[string]any{"series": true}, nil)
	if r := student.send("POST", "/api/v1/classes/"+itoa(next)+"/join", "{}"); r.status != 409 || r.errCode() != "cancelled" {
		t.Fatalf("join a cancelled class: %v", r)
	}
}

// TestClassesImport: a timetable spreadsheet schedules classes all or
// nothing; every bad row is reported with its number, in the caller's
// language; rows outside the caller's scope are bad rows.
func TestClassesImport(t *testing.T) {
	t.Parallel()
	srv := startServer(t, classesConfig)
	fx := newFixture(t, srv)
	admin, student := fx.users["school_admin"], fx.users["student"]
	const header = "学校代码,课程名称,学科,年级,教师工号,助教工号,上课对象,开始时间,时长,周数,精品,录制\n"
	good := "A,分数的加法,fixture,三年级,T-A-1,T-A-2,2班,2026-03-02 08:00,45,3,否,是\n"
	bad := header + good +
		"B,别校的课,fixture,3,T-A-1,,全年级,2026-03-02 08:00,45,,,\n" +
		"A,时间不对,fixture,3,T-A-1,,全年级,明天上午,45,,,\n" +
		"A,教师不对,fixture,3,NOBODY,,,2026-03-02 09:00,45,,,\n" +
		"A,时长不对,fixture,3,T-A-1,,,2026-03-02 09:00,500,,,\n"
	r := admin.send("POST", "/api/v1/classes/import", multipartForm(t, nil, "课程表.csv", []byte(bad)), "Accept-Language", "en")
	if r.status != 422 || r.errCode() != "invalid_rows" {
		t.Fatalf("bad file: %v", r)
	}
	var answer struct {
		Error struct {
			Rows []struct {
				Row             int
				Column, Message string
			}
		}
	}
	_ = json.Unmarshal(r.body, &answer)
	var got []string
	for _, row := range answer.Error.Rows {
		got = append(got, itoa(int64(row.Row))+":"+row.Column)
	}
	want := []string{"3:school_code", "4:starts_at", "5:teacher", "6:minutes"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("row errors %v, want %v: %s", got, want, r.body)
	}
	var list struct{ Items []map[string]any }
	admin.must(200, "GET", "/api/v1/classes?from=2026-03-01&to=2026-04-01", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a bad file scheduled %v", list.Items)
	}
	if r := fx.users["teacher"].send("POST", "/api/v1/classes/import", multipartForm(t, nil, "t.csv", []byte(header+good))); r.status != 403 {
		t.Fatalf("a teacher imports: %v", r)
	}

	var dry struct {
		Created int
		DryRun  bool `json:"dry_run"`
	}
	admin.must(200, "POST", "/api/v1/classes/import", multipartForm(t, map[string]string{"dry_run": "true"}, "t.csv", []byte(header+good)), &dry)
	if dry.Created != 3 || !dry.DryRun {
		t.Fatalf("dry run %+v", dry)
	}
	admin.must(200, "GET", "/api/v1/classes?from=2026-03-01&to=2026-04-01", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a dry run scheduled %v", list.Items)
	}
	admin.must(201, "POST", "/api/v1/classes/import", multipartForm(t, nil, "t.csv", []byte(header+good)), nil)
	student.must(200, "GET", "/api/v1/classes?from=2026-03-01&to=2026-04-01", nil, &list)
	if len(list.Items) != 3 || list.Items[0]["title"] != "分数的加法" || list.Items[2]["series_id"] != list.Items[0]["id"] ||
		len(list.Items[0]["assistant_ids"].([]any)) != 1 {
		t.Fatalf("imported %v", list.Items)
	}
	if s := list.Items[1]["starts_at"].(string); !strings.HasPrefix(s, "2026-03-09T00:00:00") {
		t.Fatalf("second week starts %s, want 2026-03-09 08:00 Asia/Shanghai", s)
	}
}
