package server_test

// S-T analysis of a recording through the API, the micro-lesson review
// flow (assignment, approval, tagging) and the tutoring audit list, with
// what an expert outside the scope and the other roles get.

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"yunke/server/config"
	"yunke/storage"
)

// openStore opens the test server's SQLite database beside it, to file
// what a real class would have left: a recording and its speaking.
func openStore(t *testing.T, path string) *storage.Store {
	t.Helper()
	st, err := storage.Open(context.Background(), storage.OpenParams{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// scriptedRecording files a finished class recording of teacher whose
// speech follows codes, one letter per 30 s: T the teacher speaks, S a
// student does, '.' silence.
func scriptedRecording(t *testing.T, st *storage.Store, teacher storage.UserID, title, codes string, at time.Time) storage.RecordingID {
	t.Helper()
	ctx := context.Background()
	rec, err := st.CreateRecording(ctx, storage.Actor{UserID: teacher}, storage.RecordingInput{Kind: storage.RecordingClass,
		Room: "st-" + title, Title: title, TeacherID: teacher, StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	var sp []storage.SpeakingInterval
	for i, c := range codes {
		s := int64(i) * 30_000
		switch c {
		case 'T':
			sp = append(sp, storage.SpeakingInterval{Identity: "teacher", Role: "teacher", StartMS: s + 1_000, EndMS: s + 29_000, Level: 0.5})
		case 'S':
			sp = append(sp, storage.SpeakingInterval{Identity: "student", Role: "student", StartMS: s, EndMS: s + 25_000, Level: 0.4},
				storage.SpeakingInterval{Identity: "teacher", Role: "teacher", StartMS: s + 25_000, EndMS: s + 29_000, Level: 0.4})
		}
	}
	d := int64(len(codes)) * 30_000
	if _, err := st.FinishRecording(ctx, storage.Actor{UserID: teacher}, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady,
		EndedAt: at.Add(time.Duration(d) * time.Millisecond), DurationMS: d, Speaking: sp}); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

type stAnalysis struct {
	IntervalS int64 `json:"interval_s"`
	Samples   []struct {
		Index  int    `json:"index"`
		Code   string `json:"code"`
		Auto   string `json:"auto"`
		Manual *struct {
			Code     string `json:"code"`
			AutoCode string `json:"auto_code"`
		} `json:"manual"`
	} `json:"samples"`
	Auto, Result struct {
		N    int `json:"n"`
		NT   int `json:"n_t"`
		Runs int `json:"runs"`
		Rt   float64
		Ch   float64
		Mode string
	}
	Curve   []struct{ S, T int }
	CanCode bool `json:"can_code"`
}

func (a *stAnalysis) codes() string {
	var b strings.Builder
	for _, s := range a.Samples {
		b.WriteString(s.Code)
	}
	return b.String()
}

func TestSTAnalysis(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "yunke.db")
	srv := startServer(t, withConfig(func(c *config.Config) { c.Database.Path = db }))
	fx := newFixture(t, srv)
	st := openStore(t, db)
	teacher := storage.UserID(fx.userIDs["teacher"])
	expert, student, tc := fx.users["expert"], fx.users["student"], fx.users["teacher"]
	expertB, _ := extraUser(t, fx, "expert.b", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolB}}})

	now := time.Now()
	lecture := scriptedRecording(t, st, teacher, "lecture", strings.Repeat("T", 20), now.Add(-3*time.Hour))
	mix := "TTTTT" + "SS.S" + "TTT" + "SS" + "TTTT" + "S."
	mixed := scriptedRecording(t, st, teacher, "mix", mix, now.Add(-2*time.Hour))
	path := "/api/v1/recordings/" + itoa(int64(mixed)) + "/st"

	var a stAnalysis
	expert.must(200, "GET", path, nil, &a)
	if a.IntervalS != 30 || a.codes() != "TTTTTSSSSTTTSSTTTTSS" || a.Result.N != 20 || a.Result.NT != 12 || a.Result.Runs != 6 ||
		a.Result.Rt != 0.6 || a.Result.Ch != 0.25 || a.Result.Mode != "mixed" || !a.CanCode || len(a.Curve) != 21 || a.Curve[20].T != 12 {
		t.Fatalf("mixed lesson: %s %+v can_code=%v", a.codes(), a.Result, a.CanCode)
	}
	// The teacher sees their own, and may not re-code.
	tc.must(200, "GET", path, nil, &a)
	if a.CanCode || a.Result.Mode != "mixed" {
		t.Errorf("teacher's view: %+v", a)
	}
	if r := tc.send("PUT", path+"/samples/5", map[string]string{"code": "T"}); r.status != 403 {
		t.Errorf("teacher re-codes: %v", r)
	}
	// Outside the scope, or another role: 403.
	for name, c := range map[string]*api{"expert of school B": expertB, "student": student} {
		if r := c.send("GET", path, nil); r.status != 403 {
			t.Errorf("%s reads the S-T analysis: %v", name, r)
		}
		if r := c.send("PUT", path+"/samples/5", map[string]string{"code": "T"}); r.status != 403 {
			t.Errorf("%s re-codes: %v", name, r)
		}
	}
	// A coarser interval: 60 s, ten samples.
	expert.must(200, "GET", path+"?interval_s=60", nil, &a)
	if a.IntervalS != 60 || len(a.Samples) != 10 {
		t.Errorf("60 s: %d samples", len(a.Samples))
	}
	if r := expert.send("GET", path+"?interval_s=1", nil); r.status != 400 {
		t.Errorf("1 s interval: %v", r)
	}

	// The expert re-codes samples 5–8 (S) as T: the hand codes count, the
	// automatic ones stay beside them.
	for _, i := range []string{"5", "6", "7", "8"} {
		expert.must(200, "PUT", path+"/samples/"+i, map[string]string{"code": "T"}, &a)
	}
	if a.codes() != "TTTTTTTTTTTTSSTTTTSS" || a.Auto.Mode != "mixed" || a.Result.NT != 16 || a.Result.Rt != 0.8 || a.Result.Mode != "lecture" ||
		a.Samples[5].Auto != "S" || a.Samples[5].Manual == nil || a.Samples[5].Manual.AutoCode != "S" || a.Samples[4].Manual != nil {
		t.Fatalf("after re-coding: %s auto %+v result %+v", a.codes(), a.Auto, a.Result)
	}
	// Back to the automatic code for one; bad codes and samples refused.
	expert.must(200, "PUT", path+"/samples/8", map[string]string{"code": ""}, &a)
	if a.Samples[8].Code != "S" || a.Samples[8].Manual != nil || a.Result.NT != 15 {
		t.Errorf("hand code taken away: %+v", a.Samples[8])
	}
	if r := expert.send("PUT", path+"/samples/3", map[string]string{"code": "X"}); r.status != 400 {
		t.Errorf("code X: %v", r)
	}
	if r := expert.send("PUT", path+"/samples/20", map[string]string{"code": "T"}); r.status != 404 {
		t.Errorf("sample past the end: %v", r)
	}
	acts, err := st.RecentActivity(context.Background(), 0, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(slices.DeleteFunc(acts, func(a storage.Activity) bool { return a.Action != "recording.st_code" })); n != 5 {
		t.Errorf("%d recording.st_code activity rows, want 5", n)
	}

	// Trends: the teacher's own and the school's; not another school's.
	var trend struct {
		Points []struct {
			RecordingID int64 `json:"recording_id"`
			Mode        string
			Rt          float64
		}
		Months []struct{ Recordings int }
		Modes  map[string]int
		Rt     float64
	}
	from := now.AddDate(0, 0, -1).In(storage.Zone).Format("2006-01-02")
	to := now.AddDate(0, 0, 1).In(storage.Zone).Format("2006-01-02")
	q := "&from=" + from + "&to=" + to
	tc.must(200, "GET", "/api/v1/recordings/st-trend?teacher_id="+itoa(int64(teacher))+q, nil, &trend)
	if len(trend.Points) != 2 || trend.Points[0].RecordingID != int64(lecture) || trend.Points[0].Mode != "lecture" ||
		trend.Points[1].Mode != "lecture" || trend.Modes["lecture"] != 2 {
		t.Fatalf("teacher's trend: %+v", trend)
	}
	// Per teacher: the means of Rt and Ch and the mode they describe
	// (lecture Rt 1, Ch 0; the re-coded lesson Rt 0.75, Ch 0.25).
	type teacherRow struct {
		TeacherID  int64 `json:"teacher_id"`
		Recordings int
		Rt, Ch     float64
		Mode       string
	}
	var rows struct{ Teachers []teacherRow }
	tc.must(200, "GET", "/api/v1/recordings/st-trend?teacher_id="+itoa(int64(teacher))+q, nil, &rows)
	if want := (teacherRow{int64(teacher), 2, 0.875, 0.125, "lecture"}); len(rows.Teachers) != 1 || rows.Teachers[0] != want {
		t.Fatalf("teacher's row: %+v, want %+v", rows.Teachers, want)
	}
	// A colleague's practice lesson joins the school's trend as a second row.
	_, colleague := extraUser(t, fx, "teacher.st2", map[string]any{"roles": []string{"teacher"}, "district_id": fx.district, "school_id": fx.schoolA})
	scriptedRecording(t, st, storage.UserID(colleague), "practice", strings.Repeat("S", 10), now.Add(-time.Hour))
	expert.must(200, "GET", "/api/v1/recordings/st-trend?school_id="+itoa(fx.schoolA)+q, nil, &trend)
	if len(trend.Points) != 3 || trend.Modes["practice"] != 1 || trend.Modes["lecture"] != 2 {
		t.Errorf("school trend: %+v", trend)
	}
	expert.must(200, "GET", "/api/v1/recordings/st-trend?school_id="+itoa(fx.schoolA)+q, nil, &rows)
	if len(rows.Teachers) != 2 || rows.Teachers[0].TeacherID != int64(teacher) ||
		rows.Teachers[1] != (teacherRow{colleague, 1, 0, 0, "practice"}) {
		t.Errorf("school trend per teacher: %+v", rows.Teachers)
	}
	for name, c := range map[string]*api{"expert of school B": expertB, "teacher": tc} {
		if r := c.send("GET", "/api/v1/recordings/st-trend?school_id="+itoa(fx.schoolA)+q, nil); r.status != 403 {
			t.Errorf("%s reads school A's trend: %v", name, r)
		}
	}
	if r := expertB.send("GET", "/api/v1/recordings/st-trend?teacher_id="+itoa(int64(teacher))+q, nil); r.status != 403 {
		t.Errorf("expert of school B reads the teacher's trend: %v", r)
	}
	if r := tc.send("GET", "/api/v1/recordings/st-trend", nil); r.status != 400 {
		t.Errorf("neither teacher nor school: %v", r)
	}
}

func TestMicrolessonReviewFlow(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "yunke.db")
	srv := startServer(t, withConfig(func(c *config.Config) {
		c.Database.Path = db
		c.Microlessons.Dir = filepath.Join(filepath.Dir(db), "ml")
	}))
	fx := newFixture(t, srv)
	st := openStore(t, db)
	teacher, expert, schoolAdmin, student := fx.users["teacher"], fx.users["expert"], fx.users["school_admin"], fx.users["student"]
	expertB, expertBID := extraUser(t, fx, "expert.b", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolB}}})
	expert2, expert2ID := extraUser(t, fx, "expert.2", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": true, "school_ids": []int64{}}})
	var kps storage.ImportCounts
	fx.users["system_admin"].must(200, "POST", "/api/v1/knowledge-points/import", multipartForm(t, nil, "kp.csv",
		[]byte("subject,grade,code,parent_code,name,sort\nfixture,3,F3,,数与代数,1\nfixture,3,F3-1,F3,整数,1\n")), &kps)
	var tree struct{ Items []storage.KnowledgePoint }
	teacher.must(200, "GET", "/api/v1/knowledge-points?subject_id="+itoa(fx.subject), nil, &tree)
	kp := map[string]int64{}
	for _, k := range tree.Items {
		kp[k.Code] = int64(k.ID)
	}
	uploadID := tus{teacher}.upload(testVideo(t, "h264_aac.mp4"), "微课.mp4")
	var m struct {
		ID              int64  `json:"id"`
		Status          string `json:"status"`
		ReviewerID      int64  `json:"reviewer_id"`
		ReviewerName    string `json:"reviewer_name"`
		ReturnReason    string `json:"return_reason"`
		KnowledgePoints []struct {
			Code string `json:"code"`
		} `json:"knowledge_points"`
	}
	teacher.must(201, "POST", "/api/v1/microlessons", map[string]any{"upload_id": uploadID, "title": "整数", "subject_id": fx.subject, "grade": 3}, &m)
	p := "/api/v1/microlessons/" + itoa(m.ID)

	// Assignment: by an administrator, to an expert whose scope covers it.
	if r := expert.send("POST", p+"/assign", map[string]any{"reviewer_id": expert2ID}); r.status != 403 {
		t.Errorf("an expert assigns: %v", r)
	}
	if r := schoolAdmin.send("POST", p+"/assign", map[string]any{"reviewer_id": expertBID}); r.status != 400 || r.errFields()["reviewer_id"] == nil {
		t.Errorf("assigned to an expert of school B: %v", r)
	}
	if r := schoolAdmin.send("POST", p+"/assign", map[string]any{"reviewer_id": fx.userIDs["teacher"]}); r.status != 400 {
		t.Errorf("assigned to a teacher: %v", r)
	}
	var reviewers struct{ Items []struct{ ID int64 } }
	schoolAdmin.must(200, "GET", "/api/v1/microlessons/reviewers/"+itoa(m.ID), nil, &reviewers)
	if ids := func() (out []int64) {
		for _, r := range reviewers.Items {
			out = append(out, r.ID)
		}
		return out
	}(); !slices.Contains(ids, expert2ID) || !slices.Contains(ids, fx.userIDs["expert"]) || slices.Contains(ids, expertBID) {
		t.Errorf("reviewers %v: want the experts covering school A only", ids)
	}
	if r := expert.send("GET", "/api/v1/microlessons/reviewers/"+itoa(m.ID), nil); r.status != 403 {
		t.Errorf("an expert lists reviewers: %v", r)
	}
	schoolAdmin.must(200, "POST", p+"/assign", map[string]any{"reviewer_id": expert2ID}, &m)
	if m.Status != "in_review" || m.ReviewerID != expert2ID || m.ReviewerName == "" {
		t.Fatalf("assigned: %+v", m)
	}
	// The queue of the assigned expert has it; another expert's does not,
	// and another expert may not approve it.
	var queue struct {
		Items []struct{ ID int64 }
		Total int
	}
	expert2.must(200, "GET", "/api/v1/microlessons?assigned=true", nil, &queue)
	if queue.Total != 1 || queue.Items[0].ID != m.ID {
		t.Errorf("assigned expert's queue: %+v", queue)
	}
	expert.must(200, "GET", "/api/v1/microlessons?assigned=true", nil, &queue)
	if queue.Total != 0 {
		t.Errorf("other expert's queue: %+v", queue)
	}
	if r := expert.send("POST", p+"/approve", nil); r.status != 403 || r.errCode() != "not_reviewer" {
		t.Errorf("another expert approves: %v", r)
	}
	for name, c := range map[string]*api{"expert of school B": expertB, "teacher": teacher, "student": student} {
		if r := c.send("POST", p+"/approve", nil); r.status != 403 {
			t.Errorf("%s approves: %v", name, r)
		}
		if r := c.send("POST", p+"/tag", map[string]any{"knowledge_point_ids": []int64{kp["F3-1"]}}); r.status != 403 {
			t.Errorf("%s tags: %v", name, r)
		}
	}
	if r := student.send("GET", "/api/v1/microlessons?assigned=true", nil); r.status != 403 {
		t.Errorf("student lists an assigned queue: %v", r)
	}
	// Tagging comes after approval.
	if r := expert2.send("POST", p+"/tag", map[string]any{"knowledge_point_ids": []int64{kp["F3-1"]}}); r.status != 409 {
		t.Errorf("tag before approval: %v", r)
	}
	// Return with reasons; the teacher files it again; reassigned; approved; tagged: published.
	if r := expert2.send("POST", p+"/return", map[string]any{"reason": ""}); r.status != 400 {
		t.Errorf("return without a reason: %v", r)
	}
	expert2.must(200, "POST", p+"/return", map[string]any{"reason": "画面模糊"}, &m)
	if m.Status != "returned" || m.ReturnReason != "画面模糊" {
		t.Fatalf("returned: %+v", m)
	}
	teacher.must(200, "POST", p+"/resubmit", nil, &m)
	schoolAdmin.must(200, "POST", p+"/assign", map[string]any{"reviewer_id": expert2ID}, &m)
	expert2.must(200, "POST", p+"/approve", nil, &m)
	if m.Status != "approved" {
		t.Fatalf("approved: %+v", m)
	}
	if r := expert2.send("POST", p+"/tag", map[string]any{"knowledge_point_ids": []int64{}}); r.status != 400 {
		t.Errorf("tag with no point: %v", r)
	}
	if r := expert2.send("POST", p+"/tag", map[string]any{"knowledge_point_ids": []int64{999999}}); r.status != 400 {
		t.Errorf("tag with an unknown point: %v", r)
	}
	expert2.must(200, "POST", p+"/tag", map[string]any{"knowledge_point_ids": []int64{kp["F3-1"], kp["F3"]}}, &m)
	if m.Status != "published" || len(m.KnowledgePoints) != 2 {
		t.Fatalf("tagged and published: %+v", m)
	}
	student.must(200, "GET", p, nil, nil)

	// Every step left its activity row.
	acts, err := st.RecentActivity(context.Background(), 0, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range acts {
		if a.Subject == "microlesson:"+itoa(m.ID) {
			count[a.Action]++
		}
	}
	want := map[string]int{"microlesson.submit": 2, "microlesson.assign": 2, "microlesson.return": 1, "microlesson.approve": 1, "microlesson.publish": 1}
	for k, v := range want {
		if count[k] != v {
			t.Errorf("activity %s: %d rows, want %d (all: %v)", k, count[k], v, count)
		}
	}
}

func TestTutoringAudit(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "yunke.db")
	srv := startServer(t, withConfig(func(c *config.Config) { c.Database.Path = db }))
	fx := newFixture(t, srv)
	st := openStore(t, db)
	ctx := context.Background()
	studentID, teacherID := storage.UserID(fx.userIDs["student"]), storage.UserID(fx.userIDs["teacher"])
	_, studentBID := extraUser(t, fx, "audit.student.b", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolB, "student_no": "S-B-AUD", "grade": 3})
	expertB, _ := extraUser(t, fx, "expert.b", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolB}}})
	session := func(student storage.UserID) storage.TutoringSession {
		now := time.Now()
		req, err := st.CreateTutoringRequest(ctx, storage.Actor{UserID: student}, storage.TutoringRequestInput{StudentID: student,
			SubjectID: storage.SubjectID(fx.subject), Grade: 3, Text: "分数怎么比较大小"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.RecordTutoringOffer(ctx, req.ID, teacherID, 5, now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		sess, err := st.AcceptTutoringOffer(ctx, req.ID, teacherID, "", 5, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.EndTutoringSession(ctx, sess.ID, now.Add(time.Minute), "left"); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	a := session(studentID)
	if _, err := st.SaveTutoringRating(ctx, storage.Actor{UserID: studentID}, a.ID, storage.TutoringRating{Score: 2, Comment: "没听懂"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveTutoringNote(ctx, storage.Actor{UserID: teacherID}, a.ID, "通分讲了两遍", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec, err := st.CreateRecording(ctx, storage.Actor{UserID: teacherID}, storage.RecordingInput{Kind: storage.RecordingTutoring,
		Room: a.Room, TeacherID: teacherID, TutoringSessionID: a.ID, StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	b := session(storage.UserID(studentBID))

	type item struct {
		ID          int64 `json:"id"`
		SchoolName  string
		RecordingID int64 `json:"recording_id"`
		Rating      *struct{ Score int }
		TeacherNote *struct{ Note string } `json:"teacher_note"`
	}
	var list struct {
		Items []item
		Total int
	}
	fx.users["expert"].must(200, "GET", "/api/v1/tutoring/audit", nil, &list)
	if list.Total != 1 || list.Items[0].ID != int64(a.ID) || list.Items[0].RecordingID != int64(rec.ID) || list.Items[0].Rating == nil ||
		list.Items[0].Rating.Score != 2 || list.Items[0].TeacherNote == nil || list.Items[0].TeacherNote.Note != "通分讲了两遍" {
		t.Fatalf("expert of school A: %+v", list)
	}
	list.Items = nil // decoding into old items would keep their pointers
	expertB.must(200, "GET", "/api/v1/tutoring/audit", nil, &list)
	if list.Total != 1 || list.Items[0].ID != int64(b.ID) || list.Items[0].RecordingID != 0 || list.Items[0].Rating != nil {
		t.Fatalf("expert of school B: %+v", list)
	}
	fx.users["district_admin"].must(200, "GET", "/api/v1/tutoring/audit?max_score=3", nil, &list)
	if list.Total != 1 || list.Items[0].ID != int64(a.ID) {
		t.Errorf("low ratings: %+v", list)
	}
	fx.users["district_admin"].must(200, "GET", "/api/v1/tutoring/audit?rated=false", nil, &list)
	if list.Total != 1 || list.Items[0].ID != int64(b.ID) {
		t.Errorf("unrated: %+v", list)
	}
	if r := expertB.send("GET", "/api/v1/tutoring/audit?school_id="+itoa(fx.schoolA), nil); r.status != 403 {
		t.Errorf("expert of school B lists school A: %v", r)
	}
	for _, name := range []string{"teacher", "student"} {
		if r := fx.users[name].send("GET", "/api/v1/tutoring/audit", nil); r.status != 403 {
			t.Errorf("%s audits: %v", name, r)
		}
	}
}
