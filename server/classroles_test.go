package server_test

// Who runs a scheduled class's controls comes from the class's record:
// its teacher and assistants moderate, administrators whose scope covers
// the class oversee, students of its audience take part, and another
// class's teacher is refused — also for a district-wide class.

import (
	"context"
	"testing"
	"time"
)

func TestClassroomRolesOfScheduledClasses(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	srv := startServer(t, withClock(clk), classesConfig)
	fx := newFixture(t, srv)
	sys := fx.users["system_admin"]
	schoolAdmin, districtAdmin, teacher, student := fx.users["school_admin"], fx.users["school_admin"], fx.users["teacher"], fx.users["student"]
	districtAdmin = fx.users["district_admin"]
	teacherID := fx.userIDs["teacher"]
	assistant, assistantID := newUser(t, srv, sys, map[string]any{"username": "assistant.a", "roles": []string{"teacher"}, "school_id": fx.schoolA, "staff_no": "T-A-7"})
	other, otherID := newUser(t, srv, sys, map[string]any{"username": "teacher.other", "roles": []string{"teacher"}, "school_id": fx.schoolA, "staff_no": "T-A-8"})
	adminB, _ := newUser(t, srv, sys, map[string]any{"username": "admin.b", "roles": []string{"school_admin"}, "school_id": fx.schoolB})
	studentB := signedIn(t, srv, "student.b", "initial-password")
	studentB.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)

	start := clk.Now().Add(5 * time.Minute).Truncate(time.Minute)
	schedule := func(by *api, body map[string]any) int64 {
		t.Helper()
		body["title"], body["subject_id"], body["grade"] = "课 "+itoa(int64(len(body))), fx.subject, 3
		body["starts_at"], body["planned_minutes"] = start.Format(time.RFC3339), 45
		var made struct{ Items []map[string]any }
		by.must(201, "POST", "/api/v1/classes", body, &made)
		return id(made.Items[0])
	}
	mine := schedule(schoolAdmin, map[string]any{"teacher_id": teacherID, "assistant_ids": []int64{assistantID}, "audience": "classes", "groups": []string{"2班"}})
	theirs := schedule(schoolAdmin, map[string]any{"teacher_id": otherID, "audience": "classes", "groups": []string{"2班"}})
	wide := schedule(districtAdmin, map[string]any{"teacher_id": teacherID, "audience": "district", "premium": true})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	enterClass(t, ctx, teacher, mine, "teacher")
	enterClass(t, ctx, assistant, mine, "assistant")
	enterClass(t, ctx, student, mine, "student")
	enterClass(t, ctx, other, theirs, "teacher")

	room := func(class int64) string { return "/api/v1/classroom/rooms/class-" + itoa(class) }
	check := func(what string, c *api, method, path string, body any, want int) {
		t.Helper()
		if r := c.send(method, path, body); r.status != want {
			t.Errorf("%s: %s %s = %v, want %d", what, method, path, r, want)
		}
	}
	// The student raises a hand; who may see the queue and act on it.
	check("the student raises a hand", student, "PUT", room(mine)+"/hand", map[string]any{"raised": true}, 200)
	for who, want := range map[string]int{"teacher": 200, "assistant": 200, "another class's teacher": 403,
		"student": 403, "school A's admin": 200, "the district's admin": 200, "school B's admin": 403} {
		c := map[string]*api{"teacher": teacher, "assistant": assistant, "another class's teacher": other, "student": student,
			"school A's admin": schoolAdmin, "the district's admin": districtAdmin, "school B's admin": adminB}[who]
		check(who+" reads the hands", c, "GET", room(mine)+"/hands", nil, want)
	}
	studentIdentity := "u" + itoa(fx.userIDs["student"])
	check("another class's teacher brings the student on stage", other, "PUT", room(mine)+"/participants/"+studentIdentity+"/stage", map[string]any{"on_stage": true}, 403)
	check("another class's teacher locks the class", other, "PATCH", room(mine)+"/settings", map[string]any{"locked": true}, 403)
	check("another class's teacher starts a poll", other, "POST", room(mine)+"/polls", map[string]any{"question": "?", "options": []string{"a", "b"}}, 403)
	check("the assistant brings the student on stage", assistant, "PUT", room(mine)+"/participants/"+studentIdentity+"/stage", map[string]any{"on_stage": true}, 200)
	check("school A's admin locks the class", schoolAdmin, "PATCH", room(mine)+"/settings", map[string]any{"locked": true}, 200)
	// The other class's teacher runs their own class.
	check("the other teacher reads their own hands", other, "GET", room(theirs)+"/hands", nil, 200)
	check("the teacher reads another class's hands", teacher, "GET", room(theirs)+"/hands", nil, 403)

	// A district-wide class: a student of school B takes part; school
	// administrators do not oversee it, the district's does.
	enterClass(t, ctx, teacher, wide, "teacher")
	enterClass(t, ctx, studentB, wide, "student")
	check("school B's student raises a hand", studentB, "PUT", room(wide)+"/hand", map[string]any{"raised": true}, 200)
	check("school B's student raises a hand in school A's class", studentB, "PUT", room(mine)+"/hand", map[string]any{"raised": true}, 403)
	for who, want := range map[string]int{"teacher": 200, "another teacher": 403, "school A's admin": 403, "school B's admin": 403, "the district's admin": 200} {
		c := map[string]*api{"teacher": teacher, "another teacher": other, "school A's admin": schoolAdmin, "school B's admin": adminB, "the district's admin": districtAdmin}[who]
		check(who+" reads the district-wide class's hands", c, "GET", room(wide)+"/hands", nil, want)
	}
}
