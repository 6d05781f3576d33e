package server_test

// The Q&A centre through the API: scope by district, hostile input,
// claims, answers, adoption, rating and escalation to tutoring.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/server"
	"yunke/server/config"
	"yunke/storage/storagetest"
)

// qaUser creates a user through the API and signs them in.
func qaUser(t *testing.T, fx *fixture, username string, body map[string]any) (*api, int64) {
	t.Helper()
	admin := fx.users["system_admin"]
	body["username"], body["name"], body["password"] = username, "用户 "+username, "initial-password"
	var created map[string]any
	admin.must(201, "POST", "/api/v1/users", body, &created)
	c := signedIn(t, fx.srv, username, "initial-password")
	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	return c, id(created)
}

// jpegWithEXIF is a minimal JPEG stream with an APP1 Exif segment carrying a marker string.
func jpegWithEXIF() []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	app0 := []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	b.Write([]byte{0xFF, 0xE0, 0, byte(len(app0) + 2)})
	b.Write(app0)
	exif := []byte("Exif\x00\x00GPS-39.9042N-116.4074E")
	b.Write([]byte{0xFF, 0xE1, 0, byte(len(exif) + 2)})
	b.Write(exif)
	b.Write([]byte{0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9})
	return b.Bytes()
}

func TestQACentre(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	stu, tea := fx.users["student"], fx.users["teacher"]
	teaB, teaBID := qaUser(t, fx, "qa.teacher.b", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-9",
		"subject_ids": []int64{fx.subject}, "grades": []int{3}})
	teaC, _ := qaUser(t, fx, "qa.teacher.c", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolC, "staff_no": "T-C-9",
		"subject_ids": []int64{fx.subject}, "grades": []int{3}})
	_ = teaBID

	// Hostile input.
	ask := func(body map[string]any) reply { return stu.send("POST", "/api/v1/qa/questions", body) }
	if r := ask(map[string]any{"subject_id": fx.subject, "grade": 3, "text": strings.Repeat("长", 5001)}); r.status != 400 || r.errFields()["text"] == nil {
		t.Fatalf("huge text: %v", r)
	}
	five := [][]byte{jpegWithEXIF(), jpegWithEXIF(), jpegWithEXIF(), jpegWithEXIF(), jpegWithEXIF()}
	if r := ask(map[string]any{"subject_id": fx.subject, "grade": 3, "text": "x", "images": five}); r.status != 400 || r.errCode() != "too_many_images" {
		t.Fatalf("five pictures: %v", r)
	}
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`)
	if r := ask(map[string]any{"subject_id": fx.subject, "grade": 3, "text": "x", "images": [][]byte{svg}}); r.status != 400 || r.errFields()["images"] == nil {
		t.Fatalf("svg: %v", r)
	}
	if r := ask(map[string]any{"subject_id": 999999, "grade": 3, "text": "x"}); r.status != 400 || r.errFields()["subject_id"] == nil {
		t.Fatalf("unknown subject: %v", r)
	}

	// A question with script in its Markdown and a JPEG carrying EXIF.
	var q map[string]any
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3,
		"text":   "**二次函数**的顶点？<script>alert(1)</script> [看这里](javascript:alert(2)) <img src=x onerror=alert(3)>",
		"images": [][]byte{jpegWithEXIF()}}, &q)
	qid := itoa(id(q))
	html := q["html"].(string)
	if !strings.Contains(html, "<strong>二次函数</strong>") || strings.Contains(html, "<script") || strings.Contains(html, "javascript:") ||
		strings.Contains(html, "onerror") || strings.Contains(html, "<img") {
		t.Fatalf("rendered html %q", html)
	}
	img := tea.must(200, "GET", "/api/v1/qa/questions/"+qid+"/images/0", nil, nil)
	if img.header.Get("Content-Type") != "image/jpeg" || bytes.Contains(img.body, []byte("GPS")) || !bytes.HasPrefix(img.body, []byte{0xFF, 0xD8, 0xFF, 0xE0}) {
		t.Fatalf("picture %q (%s)", img.body, img.header.Get("Content-Type"))
	}

	// Another district's teacher sees nothing of it, by list or by id.
	var l struct{ Questions []map[string]any }
	teaC.must(200, "GET", "/api/v1/qa/questions", nil, &l)
	if len(l.Questions) != 0 {
		t.Fatalf("another district lists %v", l.Questions)
	}
	for _, c := range []struct{ m, p string }{{"GET", ""}, {"POST", "/claim"}, {"POST", "/answers"}, {"GET", "/images/0"}} {
		if r := teaC.send(c.m, "/api/v1/qa/questions/"+qid+c.p, map[string]any{"text": "x"}); r.status != 404 {
			t.Fatalf("%s %s as another district's teacher: %v", c.m, c.p, r)
		}
	}
	// Teachers of the district (another school too) list it as unanswered.
	teaB.must(200, "GET", fmt.Sprintf("/api/v1/qa/questions?unanswered=true&subject_id=%d&grade=3", fx.subject), nil, &l)
	if len(l.Questions) != 1 {
		t.Fatalf("unanswered list %v", l.Questions)
	}

	teaB.must(200, "GET", "/api/v1/qa/questions?q="+url.QueryEscape("二次函数")+"&status=open", nil, &l)
	if len(l.Questions) != 1 {
		t.Fatalf("search: %v", l.Questions)
	}
	if r := teaB.send("GET", "/api/v1/qa/questions?status=deleted", nil); r.status != 400 {
		t.Fatalf("status=deleted: %v", r)
	}

	// Only the asker edits; a student does not answer (the district setting is off).
	if r := teaB.send("PATCH", "/api/v1/qa/questions/"+qid, map[string]any{"text": "mine now"}); r.status != 403 {
		t.Fatalf("edit by a teacher: %v", r)
	}
	var edited map[string]any
	stu.must(200, "PATCH", "/api/v1/qa/questions/"+qid, map[string]any{"text": "**二次函数**的顶点怎么求？"}, &edited)
	// The edit window (15 minutes by default) counts from the asking.
	created, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(edited["created_at"]))
	if until, err := time.Parse(time.RFC3339Nano, fmt.Sprint(edited["edit_until"])); err != nil || !until.Equal(created.Add(15*time.Minute)) {
		t.Fatalf("edit_until %v, created %v (%v)", edited["edit_until"], edited["created_at"], err)
	}
	if r := fx.users["student"].send("POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "x"}); r.status != 403 {
		t.Fatalf("student answer: %v", r)
	}

	// The claim keeps the other teacher out until the holder answers.
	tea.must(200, "POST", "/api/v1/qa/questions/"+qid+"/claim", nil, nil)
	if r := teaB.send("POST", "/api/v1/qa/questions/"+qid+"/claim", nil); r.status != 409 || r.errCode() != "conflict" {
		t.Fatalf("second claim: %v", r)
	}
	if r := teaB.send("POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "抢答"}); r.status != 409 {
		t.Fatalf("answer over another's claim: %v", r)
	}
	var a1, a2 map[string]any
	tea.must(201, "POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "配方法：`y=a(x-h)^2+k`"}, &a1)
	teaB.must(201, "POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "公式法"}, &a2)
	teaB.must(200, "POST", "/api/v1/qa/answers/"+itoa(id(a1))+"/vote", nil, nil)
	if r := teaB.send("POST", "/api/v1/qa/answers/"+itoa(id(a1))+"/vote", nil); r.status != 409 {
		t.Fatalf("second vote: %v", r)
	}
	if r := teaC.send("POST", "/api/v1/qa/answers/"+itoa(id(a1))+"/vote", nil); r.status != 404 {
		t.Fatalf("vote from another district: %v", r)
	}
	stu.must(201, "POST", "/api/v1/qa/questions/"+qid+"/comments", map[string]any{"answer_id": id(a1), "text": "谢谢！"}, nil)
	if r := stu.send("DELETE", "/api/v1/qa/questions/"+qid, nil); r.status != 409 {
		t.Fatalf("delete an answered question: %v", r)
	}

	// Adopt, rate, change the adoption; only the asker.
	if r := teaB.send("PUT", "/api/v1/qa/questions/"+qid+"/adoption", map[string]any{"answer_id": id(a2)}); r.status != 403 {
		t.Fatalf("adoption by a teacher: %v", r)
	}
	stu.must(200, "PUT", "/api/v1/qa/questions/"+qid+"/adoption", map[string]any{"answer_id": id(a1)}, nil)
	var rating map[string]any
	stu.must(200, "PUT", "/api/v1/qa/questions/"+qid+"/rating", map[string]any{"score": 5}, &rating)
	if rating["teacher_id"] != float64(fx.userIDs["teacher"]) {
		t.Fatalf("rating %v", rating)
	}
	// The asker reads their rating back with the question, and until when
	// the adoption may change (24 hours by default); a teacher sees no rating.
	var mine map[string]any
	stu.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &mine)
	if r, _ := mine["rating"].(map[string]any); r == nil || r["score"] != float64(5) || num(r["answer_id"]) != id(a1) {
		t.Fatalf("the asker's question after rating: %v", mine)
	}
	until, err := time.Parse(time.RFC3339Nano, fmt.Sprint(mine["adopt_change_until"]))
	if err != nil || until.Before(time.Now().Add(23*time.Hour)) || until.After(time.Now().Add(25*time.Hour)) {
		t.Fatalf("adopt_change_until %v (%v)", mine["adopt_change_until"], err)
	}
	if mine["edit_until"] != nil || mine["can_answer"] != false {
		t.Fatalf("an adopted question as its asker sees it: edit_until %v, can_answer %v", mine["edit_until"], mine["can_answer"])
	}
	var seen map[string]any
	teaB.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &seen)
	if _, ok := seen["rating"]; ok || seen["can_answer"] != true {
		t.Fatalf("the question as a teacher sees it: rating %v, can_answer %v", seen["rating"], seen["can_answer"])
	}
	// A teacher lists the questions they answered; another teacher's list lacks it.
	var answered struct{ Questions []map[string]any }
	teaB.must(200, "GET", "/api/v1/qa/questions?answered_by=me", nil, &answered)
	if len(answered.Questions) != 1 || answered.Questions[0]["id"] != mine["id"] {
		t.Fatalf("teacher B's answered questions %v", answered.Questions)
	}
	teaD, _ := qaUser(t, fx, "qa.teacher.d", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-8",
		"subject_ids": []int64{fx.subject}, "grades": []int{3}})
	teaD.must(200, "GET", "/api/v1/qa/questions?answered_by=me", nil, &answered)
	if len(answered.Questions) != 0 {
		t.Fatalf("answered questions of a teacher who answered none: %v", answered.Questions)
	}
	if r := teaB.send("GET", "/api/v1/qa/questions?answered_by="+itoa(fx.userIDs["teacher"]), nil); r.status != 400 {
		t.Fatalf("answered_by another teacher: %v", r)
	}
	var st map[string]any
	tea.must(200, "GET", "/api/v1/qa/me/stats", nil, &st)
	if st["answers"] != float64(1) || st["adopted"] != float64(1) || st["adoption_rate"] != float64(1) {
		t.Fatalf("teacher stats %v", st)
	}
	var sat struct{ Items []map[string]any }
	fx.users["school_admin"].must(200, "GET", "/api/v1/qa/satisfaction?group=teacher", nil, &sat)
	if len(sat.Items) != 1 || sat.Items[0]["key"] != itoa(fx.userIDs["teacher"]) || sat.Items[0]["share"] != float64(1) {
		t.Fatalf("satisfaction %v", sat.Items)
	}
	var d map[string]any
	tea.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if d["status"] != "adopted" || len(d["answers"].([]any)) != 2 || len(d["comments"].([]any)) != 1 {
		t.Fatalf("detail %v", d)
	}

	// A school admin of another school cannot hide it; the asker's school admin hides an answer with a reason.
	admB, _ := qaUser(t, fx, "qa.admin.b", map[string]any{"roles": []string{"school_admin"}, "school_id": fx.schoolB})
	if r := admB.send("PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"answer_id": id(a2), "reason": "x"}); r.status != 403 {
		t.Fatalf("hide by another school's admin: %v", r)
	}
	if r := teaB.send("PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"reason": "x"}); r.status != 403 {
		t.Fatalf("hide by a teacher: %v", r)
	}
	fx.users["school_admin"].must(204, "PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"answer_id": id(a2), "reason": "广告"}, nil)
	stu.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	hidden := d["answers"].([]any)[1].(map[string]any)
	if hidden["hidden_reason"] != "广告" || hidden["text"] != "" || hidden["html"] != "" {
		t.Fatalf("hidden answer as the asker sees it: %v", hidden)
	}
	teaB.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if own := d["answers"].([]any)[1].(map[string]any); own["text"] != "公式法" {
		t.Fatalf("hidden answer as its author sees it: %v", own)
	}

	// A second question escalates to a tutoring request carrying it.
	var q2 map[string]any
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "还是不懂，想直接问老师"}, &q2)
	q2id := itoa(id(q2))
	if r := teaB.send("POST", "/api/v1/qa/questions/"+q2id+"/escalate", nil); r.status != 403 {
		t.Fatalf("escalation by a teacher: %v", r)
	}
	stu.must(200, "POST", "/api/v1/qa/questions/"+q2id+"/escalate", nil, &q2)
	if q2["status"] != "escalated" || q2["tutoring_request_id"] == nil {
		t.Fatalf("escalated %v", q2)
	}
	var cur map[string]any
	stu.must(200, "GET", "/api/v1/tutoring/requests/current", nil, &cur)
	req := cur["request"].(map[string]any)
	if req["text"] != "还是不懂，想直接问老师" || req["id"] != q2["tutoring_request_id"] {
		t.Fatalf("tutoring request %v", cur)
	}
	if r := stu.send("POST", "/api/v1/qa/questions/"+q2id+"/escalate", nil); r.status != http.StatusConflict {
		t.Fatalf("second escalation: %v", r)
	}

	// Flooding: at most 10 questions in 10 minutes, then 429 with Retry-After.
	for i := 0; ; i++ {
		r := ask(map[string]any{"subject_id": fx.subject, "grade": 3, "text": fmt.Sprint("问题 ", i)})
		if r.status == http.StatusTooManyRequests {
			if r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" || i > 10 {
				t.Fatalf("after %d more questions: %v (Retry-After %q)", i, r, r.header.Get("Retry-After"))
			}
			break
		}
		if r.status != 201 || i > 10 {
			t.Fatalf("question %d: %v", i, r)
		}
	}
}

// TestQARoutingLive: a student's question arrives over the event socket
// at the online math teacher, not at the online Chinese teacher; the math
// teacher claims and answers it.
func TestQARoutingLive(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(5))
	w := setupTutoring(t, srv, 1)
	var subs struct{ Items []map[string]any }
	w.admin.must(200, "GET", "/api/v1/subjects", nil, &subs)
	var chinese int64
	for _, s := range subs.Items {
		if s["code"] == "chinese" {
			chinese = id(s)
		}
	}
	w.admin.must(201, "POST", "/api/v1/users", map[string]any{"username": "yuwen", "name": "语文老师", "password": "initial-password",
		"school_id": w.school, "roles": []string{"teacher"}, "staff_no": "TC", "subject_ids": []int64{chinese}, "grades": []int{7}}, nil)
	cn := signedIn(t, srv, "yuwen", "initial-password")
	cn.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)

	mathEv := goAvailable(t, w.teachers[0])
	cnEv := openEvents(t, cn)
	cnEv.waitFor("hello", nil)
	cnEv.waitFor("presence", nil)
	cnEv.send("presence", map[string]any{"available": true, "subjects": []string{"chinese"}, "grades": []int{7}})
	cnEv.waitFor("presence", func(m map[string]any) bool { return m["available"] == true })

	var q map[string]any
	w.student.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": w.math, "grade": 7, "text": "二次函数的顶点怎么求？"}, &q)
	ev := mathEv.waitFor("qa.question", nil)
	if num(ev["question_id"]) != id(q) || ev["subject_code"] != "math" || ev["text"] != "二次函数的顶点怎么求？" {
		t.Fatalf("event %v", ev)
	}
	// The Chinese teacher's socket: a presence round trip comes after anything queued before it.
	cnEv.send("presence", map[string]any{"available": false})
	deadline := time.After(15 * time.Second)
	for {
		var m map[string]any
		select {
		case m = <-cnEv.events:
		case <-deadline:
			t.Fatal("no presence answer within 15 s")
		}
		if m["type"] == "qa.question" {
			t.Fatalf("a Chinese teacher was told of a math question: %v", m)
		}
		if m["type"] == "presence" && m["available"] == false {
			break
		}
	}
	qid := itoa(id(q))
	w.teachers[0].must(200, "POST", "/api/v1/qa/questions/"+qid+"/claim", nil, nil)
	w.teachers[0].must(201, "POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "配方。"}, nil)
}

// TestQAStudentsAnswer: with qa.students_answer a student answers a
// classmate's question, but never their own.
func TestQAStudentsAnswer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, func(c *config.Config, _ *server.Params) { c.QA.StudentsAnswer = true })
	fx := newFixture(t, srv)
	peer, _ := qaUser(t, fx, "qa.peer", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolB, "student_no": "S-B-9"})
	var q map[string]any
	fx.users["student"].must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "1+1=?"}, &q)
	peer.must(201, "POST", "/api/v1/qa/questions/"+itoa(id(q))+"/answers", map[string]any{"text": "2"}, nil)
	if r := fx.users["student"].send("POST", "/api/v1/qa/questions/"+itoa(id(q))+"/answers", map[string]any{"text": "2"}); r.status != 400 {
		t.Fatalf("answering one's own question: %v", r)
	}
}

// TestQADistrictSettings: whether students answer is each district's
// choice, set by its own administrator (another district's gets 403),
// defaulting to the configuration; the answer route follows the asker's
// district.
func TestQADistrictSettings(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	peer, _ := qaUser(t, fx, "qa.peer2", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolB, "student_no": "S-B-8"})
	otherAdmin, _ := qaUser(t, fx, "qa.east.admin", map[string]any{"roles": []string{"district_admin"}, "district_id": fx.district2})
	path := "/api/v1/districts/" + itoa(fx.district) + "/qa-settings"

	var set map[string]any
	fx.users["district_admin"].must(200, "GET", path, nil, &set)
	if set["students_answer"] != false || set["chosen"] != false {
		t.Fatalf("default settings %v", set)
	}
	var q map[string]any
	fx.users["student"].must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "2+2=?"}, &q)
	answers := "/api/v1/qa/questions/" + itoa(id(q)) + "/answers"
	peer.must(403, "POST", answers, map[string]any{"text": "4"}, nil)
	canAnswer := func(c *api) any {
		var d map[string]any
		c.must(200, "GET", "/api/v1/qa/questions/"+itoa(id(q)), nil, &d)
		var l struct{ Questions []map[string]any }
		c.must(200, "GET", "/api/v1/qa/questions?limit=1", nil, &l)
		if len(l.Questions) != 1 || l.Questions[0]["can_answer"] != d["can_answer"] {
			t.Fatalf("can_answer in the list %v, in the question %v", l.Questions, d["can_answer"])
		}
		return d["can_answer"]
	}
	if canAnswer(peer) != false || canAnswer(fx.users["teacher"]) != true || canAnswer(fx.users["student"]) != false {
		t.Fatal("can_answer while students do not answer")
	}

	for name, c := range map[string]*api{"another district's admin": otherAdmin, "school admin": fx.users["school_admin"],
		"student": fx.users["student"], "teacher": fx.users["teacher"]} {
		if r := c.send("PUT", path, map[string]any{"students_answer": true}); r.status != 403 {
			t.Fatalf("%s set the district's settings: %v", name, r)
		}
		if r := c.send("GET", path, nil); r.status != 403 {
			t.Fatalf("%s read the district's settings: %v", name, r)
		}
	}
	if r := fx.users["district_admin"].send("PUT", path, map[string]any{}); r.status != 400 {
		t.Fatalf("settings without a value: %v", r)
	}
	fx.users["district_admin"].must(200, "PUT", path, map[string]any{"students_answer": true}, &set)
	if set["students_answer"] != true || set["chosen"] != true {
		t.Fatalf("after setting: %v", set)
	}
	if canAnswer(peer) != true || canAnswer(fx.users["student"]) != false {
		t.Fatal("can_answer once students answer: the peer may, the asker never")
	}
	peer.must(201, "POST", answers, map[string]any{"text": "4"}, nil)
	// The other district still has the default; its own admin reads it, and a system admin may set it.
	path2 := "/api/v1/districts/" + itoa(fx.district2) + "/qa-settings"
	otherAdmin.must(200, "GET", path2, nil, &set)
	if set["students_answer"] != false {
		t.Fatalf("district 2 settings %v", set)
	}
	fx.users["system_admin"].must(200, "PUT", path2, map[string]any{"students_answer": true}, nil)
	fx.users["system_admin"].must(404, "GET", "/api/v1/districts/987654/qa-settings", nil, nil)

	fx.users["district_admin"].must(200, "PUT", path, map[string]any{"students_answer": false}, nil)
	peer.must(403, "POST", answers, map[string]any{"text": "四"}, nil)
	fx.users["teacher"].must(201, "POST", answers, map[string]any{"text": "四"}, nil)
}

// TestQAMetricsScope: the Q&A figures count the caller's scope only.
func TestQAMetricsScope(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	otherAdmin, _ := qaUser(t, fx, "qa.east.admin2", map[string]any{"roles": []string{"district_admin"}, "district_id": fx.district2})
	var q map[string]any
	fx.users["student"].must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "3+3=?"}, &q)
	fx.users["teacher"].must(201, "POST", "/api/v1/qa/questions/"+itoa(id(q))+"/answers", map[string]any{"text": "6"}, nil)
	var m map[string]any
	fx.users["district_admin"].must(200, "GET", "/api/v1/qa/metrics", nil, &m)
	if num(m["questions"]) != 1 || num(m["answered"]) != 1 || num(m["answers_per_question"]) != 1 {
		t.Fatalf("district metrics %v", m)
	}
	otherAdmin.must(200, "GET", "/api/v1/qa/metrics", nil, &m)
	if num(m["questions"]) != 0 {
		t.Fatalf("another district's admin counted %v", m)
	}
	otherAdmin.must(403, "GET", "/api/v1/qa/metrics?school_id="+itoa(fx.schoolA), nil, nil)
	var ts struct {
		Items []map[string]any `json:"items"`
	}
	fx.users["school_admin"].must(200, "GET", "/api/v1/qa/metrics/teachers", nil, &ts)
	if len(ts.Items) != 1 || num(ts.Items[0]["teacher_id"]) != fx.userIDs["teacher"] || num(ts.Items[0]["answers"]) != 1 {
		t.Fatalf("teachers %v", ts.Items)
	}
	fx.users["district_admin"].must(200, "GET", "/api/v1/qa/satisfaction?group=band", nil, nil)
	fx.users["district_admin"].must(400, "GET", "/api/v1/qa/satisfaction?group=planet", nil, nil)
}

// TestQAHiddenPictures: the pictures of a hidden answer or question are
// served only to moderators of its school and to their author.
func TestQAHiddenPictures(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	stu, tea, adm := fx.users["student"], fx.users["teacher"], fx.users["school_admin"]
	teaB, _ := qaUser(t, fx, "qa.pics.b", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-7",
		"subject_ids": []int64{fx.subject}, "grades": []int{3}})
	admB, _ := qaUser(t, fx, "qa.pics.admin.b", map[string]any{"roles": []string{"school_admin"}, "school_id": fx.schoolB})
	var q, a map[string]any
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "看图",
		"images": [][]byte{jpegWithEXIF()}}, &q)
	qid := itoa(id(q))
	tea.must(201, "POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "见图", "images": [][]byte{jpegWithEXIF()}}, &a)
	qPic := "/api/v1/qa/questions/" + qid + "/images/0"
	aPic := qPic + "?answer_id=" + itoa(id(a))
	expect := func(who string, c *api, path string, want int) {
		t.Helper()
		if r := c.send("GET", path, nil); r.status != want {
			t.Fatalf("%s GET %s: %v, want %d", who, path, r, want)
		}
	}
	for name, c := range map[string]*api{"asker": stu, "author": tea, "teacher B": teaB} {
		expect(name, c, aPic, 200)
	}
	// An answer id of another question is not this question's picture.
	var q2 map[string]any
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "另一题"}, &q2)
	expect("asker", stu, "/api/v1/qa/questions/"+itoa(id(q2))+"/images/0?answer_id="+itoa(id(a)), 404)

	adm.must(204, "PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"answer_id": id(a), "reason": "广告"}, nil)
	expect("teacher B", teaB, aPic, 404)
	expect("asker", stu, aPic, 404)
	expect("another school's admin", admB, aPic, 404)
	expect("author", tea, aPic, 200)
	expect("moderator", adm, aPic, 200)
	expect("teacher B", teaB, qPic, 200) // the question itself is not hidden
	var d map[string]any
	teaB.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if ans := d["answers"].([]any)[0].(map[string]any); num(ans["image_count"]) != 0 {
		t.Fatalf("hidden answer shows pictures: %v", ans)
	}

	adm.must(204, "PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"reason": "无关内容"}, nil)
	expect("teacher B", teaB, qPic, 404)
	expect("another school's admin", admB, qPic, 404)
	expect("answer author", tea, qPic, 404)
	expect("asker", stu, qPic, 200)
	expect("moderator", adm, qPic, 200)
	// Shown again: everyone sees it.
	adm.must(204, "PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"reason": ""}, nil)
	adm.must(204, "PUT", "/api/v1/qa/questions/"+qid+"/hidden", map[string]any{"answer_id": id(a), "reason": ""}, nil)
	expect("teacher B", teaB, qPic, 200)
	expect("teacher B", teaB, aPic, 200)
}

// TestQASearchRoute: Chinese words and two characters find questions of
// the caller's district; status=waiting and similar=1; searches are capped.
func TestQASearchRoute(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	stu, tea := fx.users["student"], fx.users["teacher"]
	farStu, _ := qaUser(t, fx, "qa.far.student", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolC, "student_no": "S-C-7"})
	var q1, q2 map[string]any
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "二次函数的顶点怎么求？"}, &q1)
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "二次函数的开口方向"}, &q2)
	tea.must(201, "POST", "/api/v1/qa/questions/"+itoa(id(q1))+"/answers", map[string]any{"text": "配方"}, nil)
	farStu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "二次函数最值"}, nil)
	list := func(c *api, query string) []int64 {
		t.Helper()
		var l struct {
			Questions []map[string]any `json:"questions"`
		}
		c.must(200, "GET", "/api/v1/qa/questions?"+query, nil, &l)
		var out []int64
		for _, q := range l.Questions {
			out = append(out, id(q))
		}
		return out
	}
	if got := list(stu, "q="+url.QueryEscape("二次函数")); !slices.Equal(got, []int64{id(q2), id(q1)}) {
		t.Fatalf("二次函数: %v", got)
	}
	if got := list(stu, "q="+url.QueryEscape("二次函数")+"&similar=1"); !slices.Equal(got, []int64{id(q1), id(q2)}) {
		t.Fatalf("similar: %v, want the answered one first", got)
	}
	if got := list(stu, "q="+url.QueryEscape("顶点")); !slices.Equal(got, []int64{id(q1)}) {
		t.Fatalf("顶点: %v", got)
	}
	if got := list(stu, "q="+url.QueryEscape("二次")+"&status=waiting"); !slices.Equal(got, []int64{id(q2)}) {
		t.Fatalf("waiting: %v", got)
	}
	if got := list(stu, "q="+url.QueryEscape("最值")); len(got) != 0 {
		t.Fatalf("another district's question found: %v", got)
	}
	// The cap: 300 searches in 10 minutes per user (5 made above), then 429 with Retry-After.
	for i := 0; i < 295; i++ {
		list(stu, "q="+url.QueryEscape("二次"))
	}
	r := stu.send("GET", "/api/v1/qa/questions?q="+url.QueryEscape("二次"), nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("search 301: %v", r)
	}
	list(stu, "mine=true")                // listing without a search is not capped
	list(tea, "q="+url.QueryEscape("二次")) // nor another user
}

// TestQATeacherResting: a teacher whose socket is open on node B but who
// never sent a presence message (resting on the home page) is told of a
// question of their subject and grades asked on node A.
func TestQATeacherResting(t *testing.T) {
	t.Parallel()
	db := storagetest.PostgresParams(t)
	prefix := redisPrefix(t)
	shared := func(c *config.Config, p *server.Params) {
		c.Database.URL = db.URL
		c.Redis.Address = redisTestAddr()
		c.Redis.KeyPrefix = prefix
	}
	nodeA := startServer(t, shared)
	nodeB := startServer(t, shared)
	w := setupTutoring(t, nodeA, 1)
	resting := openEvents(t, relogin(t, nodeB, "teacher0"))
	resting.waitFor("hello", nil)
	resting.waitFor("presence", func(m map[string]any) bool { return m["available"] == false })
	var q map[string]any
	w.student.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": w.math, "grade": 8, "text": "我在首页也能看到吗？"}, &q)
	if ev := resting.waitFor("qa.question", nil); num(ev["question_id"]) != id(q) {
		t.Fatalf("resting teacher was told %v", ev)
	}
}

// TestQATwoNodes: two servers share Redis and Postgres; a question asked on
// node A reaches the math teacher whose socket is on node B, and the two
// teachers' claims race across nodes with one winner.
func TestQATwoNodes(t *testing.T) {
	t.Parallel()
	db := storagetest.PostgresParams(t)
	prefix := redisPrefix(t)
	shared := func(c *config.Config, p *server.Params) {
		c.Database.URL = db.URL
		c.Redis.Address = redisTestAddr()
		c.Redis.KeyPrefix = prefix
		p.TutoringTick = 50 * time.Millisecond
	}
	nodeA := startServer(t, shared)
	nodeB := startServer(t, shared)
	w := setupTutoring(t, nodeA, 2)
	teacherB := relogin(t, nodeB, "teacher0")
	tev := goAvailable(t, teacherB)

	var q map[string]any
	w.student.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": w.math, "grade": 7, "text": "来自节点 A"}, &q)
	ev := tev.waitFor("qa.question", nil)
	if num(ev["question_id"]) != id(q) {
		t.Fatalf("event on node B: %v", ev)
	}
	qid := itoa(id(q))
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, c := range []*api{teacherB, w.teachers[1]} {
		wg.Go(func() { codes[i] = c.send("POST", "/api/v1/qa/questions/"+qid+"/claim", nil).status })
	}
	wg.Wait()
	slices.Sort(codes)
	if !slices.Equal(codes, []int{200, 409}) {
		t.Fatalf("racing claims answered %v, want one 200 and one 409", codes)
	}
}

// TestQAEscalatedOutcome: the session an escalated question became names
// the question; its tutor may answer it (can_answer) and posts the
// outcome, while another teacher may not.
func TestQAEscalatedOutcome(t *testing.T) {
	t.Parallel()
	srv := startServer(t, tutoringConfig(5))
	w := setupTutoring(t, srv, 2)
	tev := goAvailable(t, w.teachers[0])

	var q map[string]any
	w.student.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": w.math, "grade": 7, "text": "这道应用题怎么列方程？"}, &q)
	qid := itoa(id(q))
	w.student.must(200, "POST", "/api/v1/qa/questions/"+qid+"/escalate", nil, &q)
	var cur map[string]any
	w.student.must(200, "GET", "/api/v1/tutoring/requests/current", nil, &cur)
	if num(field(cur, "request", "question_id")) != id(q) {
		t.Fatalf("the escalated request does not name its question: %v", cur)
	}
	offer := tev.waitFor("offer", nil)
	rid := num(field(offer, "request", "id"))
	tev.send("accept", map[string]any{"request_id": rid})
	ready := tev.waitFor("session", func(m map[string]any) bool { return m["status"] == "ready" })
	sid := itoa(num(field(ready, "session", "id")))

	var sess map[string]any
	w.teachers[0].must(200, "GET", "/api/v1/tutoring/sessions/"+sid, nil, &sess)
	if num(sess["question_id"]) != id(q) {
		t.Fatalf("the session does not name its question: %v", sess)
	}
	var d map[string]any
	w.teachers[0].must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if d["can_answer"] != true || num(d["tutor_id"]) != num(sess["teacher_id"]) {
		t.Fatalf("the question as its tutor sees it: can_answer %v, tutor_id %v", d["can_answer"], d["tutor_id"])
	}
	w.teachers[1].must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if d["can_answer"] != false {
		t.Fatalf("another teacher may answer an escalated question: %v", d["can_answer"])
	}
	if r := w.teachers[1].send("POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "我也来"}); r.status != http.StatusConflict {
		t.Fatalf("another teacher answers an escalated question: %v", r)
	}
	w.teachers[0].must(201, "POST", "/api/v1/qa/questions/"+qid+"/answers", map[string]any{"text": "课上讲过：设未知数 x，列 2x + 3 = 11。"}, nil)
	w.student.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if as, _ := d["answers"].([]any); len(as) != 1 {
		t.Fatalf("the outcome is not among the answers: %v", d["answers"])
	}
}

// TestQAShareQuestions: a district that shares its questions is read —
// list, search, similar, the question, its pictures — by students and
// teachers of another district, who may not answer, claim, comment, vote
// or adopt there; a district that does not share stays invisible (even by
// id), and so do the shared district's hidden questions.
func TestQAShareQuestions(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	stu, tea := fx.users["student"], fx.users["teacher"]
	farStu, _ := qaUser(t, fx, "qa.share.student", map[string]any{"roles": []string{"student"}, "school_id": fx.schoolC, "student_no": "S-C-6"})
	farTea, _ := qaUser(t, fx, "qa.share.teacher", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolC})
	farAdmin, _ := qaUser(t, fx, "qa.share.admin", map[string]any{"roles": []string{"district_admin"}, "district_id": fx.district2})

	var q, hidden, far map[string]any
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "二次函数的顶点怎么求？",
		"images": [][]byte{jpegWithEXIF()}}, &q)
	stu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "二次函数的零点"}, &hidden)
	var a map[string]any
	tea.must(201, "POST", "/api/v1/qa/questions/"+itoa(id(q))+"/answers", map[string]any{"text": "配方"}, &a)
	fx.users["district_admin"].must(204, "PUT", "/api/v1/qa/questions/"+itoa(id(hidden))+"/hidden", map[string]any{"reason": "spam"}, nil)
	farStu.must(201, "POST", "/api/v1/qa/questions", map[string]any{"subject_id": fx.subject, "grade": 3, "text": "二次函数最值"}, &far)
	qid, farID := itoa(id(q)), itoa(id(far))

	list := func(c *api, query string) map[int64]map[string]any {
		t.Helper()
		var l struct {
			Questions []map[string]any `json:"questions"`
		}
		c.must(200, "GET", "/api/v1/qa/questions?"+query, nil, &l)
		out := map[int64]map[string]any{}
		for _, x := range l.Questions {
			out[id(x)] = x
		}
		return out
	}
	search := "q=" + url.QueryEscape("二次函数")
	// Nothing is shared yet: each district sees its own only, and a direct GET is 404.
	for _, c := range []*api{farStu, farTea} {
		if got := list(c, search); len(got) != 1 || got[id(far)] == nil {
			t.Fatalf("before sharing: %v", got)
		}
		c.must(404, "GET", "/api/v1/qa/questions/"+qid, nil, nil)
		c.must(404, "GET", "/api/v1/qa/questions/"+qid+"/images/0", nil, nil)
	}

	// Only the district's own administrator turns sharing on.
	path := "/api/v1/districts/" + itoa(fx.district) + "/qa-settings"
	if r := farAdmin.send("PUT", path, map[string]any{"shares_questions": true}); r.status != 403 {
		t.Fatalf("another district's admin shared: %v", r)
	}
	var set map[string]any
	fx.users["district_admin"].must(200, "GET", path, nil, &set)
	if set["shares_questions"] != false {
		t.Fatalf("default settings %v", set)
	}
	fx.users["district_admin"].must(200, "PUT", path, map[string]any{"students_answer": true}, nil)
	fx.users["district_admin"].must(200, "PUT", path, map[string]any{"shares_questions": true}, &set)
	if set["shares_questions"] != true || set["students_answer"] != true {
		t.Fatalf("after sharing (students_answer kept): %v", set)
	}

	for name, c := range map[string]*api{"student": farStu, "teacher": farTea} {
		for _, query := range []string{"", search, search + "&similar=1", "q=" + url.QueryEscape("顶点")} {
			got := list(c, query)
			if got[id(q)] == nil || got[id(hidden)] != nil {
				t.Fatalf("%s lists %q: %v", name, query, got)
			}
			if x := got[id(q)]; x["other_district"] != true || x["can_answer"] != false || x["text"] == "" {
				t.Fatalf("%s sees the shared question as %v", name, x)
			}
			if x := got[id(far)]; query != "q="+url.QueryEscape("顶点") && (x == nil || x["other_district"] != false) {
				t.Fatalf("%s sees its own question as %v", name, x)
			}
		}
		// The teacher's feed of open questions to take holds no other district's.
		if got := list(c, "unanswered=1"); got[id(q)] != nil {
			t.Fatalf("%s feed: %v", name, got)
		}
		var d map[string]any
		c.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
		if d["other_district"] != true || d["can_answer"] != false || len(d["answers"].([]any)) != 1 {
			t.Fatalf("%s reads %v", name, d)
		}
		if r := c.send("GET", "/api/v1/qa/questions/"+qid+"/images/0", nil); r.status != 200 {
			t.Fatalf("%s picture: %v", name, r)
		}
		c.must(404, "GET", "/api/v1/qa/questions/"+itoa(id(hidden)), nil, nil)
		// Read-only.
		for _, w := range []struct{ method, path string }{
			{"POST", "/api/v1/qa/questions/" + qid + "/answers"},
			{"POST", "/api/v1/qa/questions/" + qid + "/claim"},
			{"POST", "/api/v1/qa/questions/" + qid + "/comments"},
			{"PUT", "/api/v1/qa/questions/" + qid + "/adoption"},
			{"POST", "/api/v1/qa/answers/" + itoa(id(a)) + "/vote"},
		} {
			if r := c.send(w.method, w.path, map[string]any{"text": "抄一下", "answer_id": id(a)}); r.status != 403 && r.status != 404 {
				t.Fatalf("%s %s %s: %v", name, w.method, w.path, r)
			}
		}
	}
	var d map[string]any
	stu.must(200, "GET", "/api/v1/qa/questions/"+qid, nil, &d)
	if len(d["answers"].([]any)) != 1 || len(d["comments"].([]any)) != 0 || d["other_district"] != false {
		t.Fatalf("after the other district's attempts: %v", d)
	}
	// District 2 does not share: its question stays invisible to district 1.
	if got := list(stu, search); got[id(far)] != nil {
		t.Fatalf("district 1 sees district 2's question: %v", got)
	}
	stu.must(404, "GET", "/api/v1/qa/questions/"+farID, nil, nil)
	tea.must(404, "GET", "/api/v1/qa/questions/"+farID, nil, nil)

	// Sharing off: invisible again.
	fx.users["district_admin"].must(200, "PUT", path, map[string]any{"shares_questions": false}, nil)
	farStu.must(404, "GET", "/api/v1/qa/questions/"+qid, nil, nil)
	if got := list(farStu, search); got[id(q)] != nil {
		t.Fatalf("after unsharing: %v", got)
	}
}
