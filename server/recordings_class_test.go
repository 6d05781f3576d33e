package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"yunke/server/config"
	"yunke/server/recording/recordingtest"
)

// TestRecordedScheduledClass: a scheduled class's room is recorded when
// its teacher is in it (recording is on by default), filed under the
// class — its title, subject, grade, knowledge points, teacher, school —
// and found in the catalogue by class; the class's teacher and the
// school's admin stop and start it, others may not; a class scheduled
// without recording is not recorded until its teacher starts it.
func TestRecordedScheduledClass(t *testing.T) {
	t.Parallel()
	srv := startServer(t, withConfig(func(c *config.Config) { c.Recording.Dir = t.TempDir() }))
	fx := newFixture(t, srv)
	sys, admin, teacher := fx.users["system_admin"], fx.users["school_admin"], fx.users["teacher"]
	teacherID := fx.userIDs["teacher"]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	sys.must(200, "POST", "/api/v1/knowledge-points/import", multipartForm(t, nil, "kp.csv",
		[]byte("subject,grade,code,parent_code,name,sort\nfixture,3,F3-01,,数与代数,1\n")), nil)
	var kps struct{ Items []struct{ ID int64 } }
	teacher.must(200, "GET", "/api/v1/knowledge-points?subject_id="+itoa(fx.subject)+"&grade=3", nil, &kps)
	if len(kps.Items) != 1 {
		t.Fatalf("knowledge points %+v", kps)
	}
	schedule := func(title string, recording bool) int64 {
		var made struct{ Items []map[string]any }
		admin.must(201, "POST", "/api/v1/classes", map[string]any{"title": title, "subject_id": fx.subject, "grade": 3,
			"teacher_id": teacherID, "audience": "school", "starts_at": time.Now().Add(5 * time.Minute).Format(time.RFC3339),
			"planned_minutes": 45, "knowledge_point_ids": []int64{kps.Items[0].ID}, "recording": recording}, &made)
		return id(made.Items[0])
	}
	recorded, unrecorded := schedule("分数的加法", true), schedule("不录的课", false)

	tc := enterClass(t, ctx, teacher, recorded, "teacher")
	pub, err := recordingtest.Publish(ctx, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Stop()
	if !pollUntil(10*time.Second, func() bool { return tc.Room().GetActiveRecording() }) {
		t.Fatal("the class's room is not recorded")
	}
	type item struct {
		recView
		Title             string  `json:"title"`
		ClassID           *int64  `json:"class_id"`
		Grade             *int    `json:"grade"`
		KnowledgePointIDs []int64 `json:"knowledge_point_ids"`
		Subject           *struct{ ID int64 }
	}
	var list struct {
		Items []item
		Total int
	}
	fx.users["expert"].must(200, "GET", "/api/v1/recordings?class_id="+itoa(recorded), nil, &list)
	if list.Total != 1 {
		t.Fatalf("by class: %+v", list)
	}
	got := list.Items[0]
	if got.ClassID == nil || *got.ClassID != recorded || got.Title != "分数的加法" || got.Grade == nil || *got.Grade != 3 ||
		got.Subject == nil || got.Subject.ID != fx.subject || len(got.KnowledgePointIDs) != 1 || got.KnowledgePointIDs[0] != kps.Items[0].ID ||
		got.Teacher.ID != teacherID || got.School.ID != fx.schoolA || got.Room != "class-"+itoa(recorded) || got.Kind != "class" {
		t.Fatalf("the class's recording: %+v", got)
	}
	room := "/api/v1/rooms/class-" + itoa(recorded) + "/recording"
	// Outsiders may not stop it: a student, another school's admin, a
	// teacher who does not teach the class.
	sys.must(201, "POST", "/api/v1/users", map[string]any{"username": "admin.b", "name": "admin.b", "password": "initial-password",
		"roles": []string{"school_admin"}, "school_id": fx.schoolB}, nil)
	adminB := signedIn(t, srv, "admin.b", "initial-password")
	adminB.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	other, _ := newUser(t, srv, sys, map[string]any{"username": "teacher.a2", "roles": []string{"teacher"}, "school_id": fx.schoolA, "staff_no": "T-A-77"})
	for who, c := range map[string]*api{"student": fx.users["student"], "admin B": adminB, "another teacher": other, "expert": fx.users["expert"]} {
		if r := c.send("POST", room, map[string]string{"action": "stop"}); r.status != http.StatusForbidden {
			t.Errorf("%s stops the class's recording: %v", who, r)
		}
	}
	if r := admin.send("POST", "/api/v1/rooms/class-99999/recording", map[string]string{"action": "stop"}); r.status != http.StatusNotFound {
		t.Errorf("a class that does not exist: %v", r)
	}
	var st struct {
		Active      bool  `json:"active"`
		RecordingID int64 `json:"recording_id"`
	}
	admin.must(200, "POST", room, map[string]string{"action": "stop"}, &st)
	if st.Active || st.RecordingID != got.ID {
		t.Fatalf("stopped by the school's admin: %+v", st)
	}
	if !pollUntil(5*time.Second, func() bool { return !tc.Room().GetActiveRecording() }) {
		t.Fatal("the room still says it is recorded")
	}
	teacher.must(200, "POST", room, map[string]string{"action": "start"}, &st)
	if !st.Active || st.RecordingID == got.ID {
		t.Fatalf("started again by the teacher: %+v", st)
	}
	fx.users["expert"].must(200, "GET", "/api/v1/recordings?class_id="+itoa(recorded), nil, &list)
	if list.Total != 2 {
		t.Fatalf("two recordings of the class: %+v", list)
	}
	teacher.must(200, "POST", room, map[string]string{"action": "stop"}, nil)
	_ = pub.Stop()

	// The class without recording: its teacher publishes, nothing is
	// recorded, until the teacher starts it.
	uc := enterClass(t, ctx, teacher, unrecorded, "teacher")
	upub, err := recordingtest.Publish(ctx, uc)
	if err != nil {
		t.Fatal(err)
	}
	defer upub.Stop()
	fx.users["expert"].must(200, "GET", "/api/v1/recordings?class_id="+itoa(unrecorded), nil, &list)
	if list.Total != 0 || uc.Room().GetActiveRecording() {
		t.Fatalf("a class without recording is recorded: %+v", list)
	}
	teacher.must(200, "POST", "/api/v1/rooms/class-"+itoa(unrecorded)+"/recording", map[string]string{"action": "start"}, &st)
	if !st.Active || !pollUntil(5*time.Second, func() bool { return uc.Room().GetActiveRecording() }) {
		t.Fatalf("the teacher's start: %+v", st)
	}
}
