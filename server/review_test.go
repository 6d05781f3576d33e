package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yunke/server/config"
	"yunke/storage"
)

// reviewWorld is the fixture plus what lesson review needs: a store open
// on the server's database (to file recordings, which otherwise come from
// live classes), more experts and a second school's admin.
type reviewWorld struct {
	*fixture
	st                *storage.Store
	expert2, expertB  *api // district-wide; school B only
	expert2ID         int64
	expertBID         int64
	teacher2, adminB  *api
	teacher2ID        int64
	rec1, rec2, recB  string
	district, manager *api
}

func reviewServer(t *testing.T, path string) *testServer {
	return startServer(t, withConfig(func(c *config.Config) { c.Database.Path = path }))
}

func addUser(t *testing.T, srv *testServer, admin *api, username string, body map[string]any) (*api, int64) {
	t.Helper()
	body["username"], body["name"], body["password"] = username, "用户 "+username, "initial-password"
	var created map[string]any
	admin.must(201, "POST", "/api/v1/users", body, &created)
	c := signedIn(t, srv, username, "initial-password")
	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "initial-password", "new_password": userPassword}, nil)
	return c, id(created)
}

func fileRecording(t *testing.T, st *storage.Store, teacher int64, title string, subject ...int64) string {
	t.Helper()
	ctx := context.Background()
	var sub storage.SubjectID
	if len(subject) > 0 {
		sub = storage.SubjectID(subject[0])
	}
	r, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "rv-" + title, Title: title, SubjectID: sub,
		TeacherID: storage.UserID(teacher), ActivityIntervalMS: 500, StartedAt: time.Now().Add(-time.Hour)})

	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishRecording(ctx, storage.Actor{}, r.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: time.Now(),
		DurationMS: 40 * 60 * 1000}); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("recording:%d", r.ID)
}

func newReviewWorld(t *testing.T, srv *testServer, path string) *reviewWorld {
	t.Helper()
	st, err := storage.Open(context.Background(), storage.OpenParams{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fx := newFixture(t, srv)
	w := &reviewWorld{fixture: fx, st: st, district: fx.users["district_admin"], manager: fx.users["district_admin"]}
	admin := fx.users["system_admin"]
	w.expert2, w.expert2ID = addUser(t, srv, admin, "expert2", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": true}})
	w.expertB, w.expertBID = addUser(t, srv, admin, "expertb", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"school_ids": []int64{fx.schoolB}}})
	w.teacher2, w.teacher2ID = addUser(t, srv, admin, "teacher2", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolA, "staff_no": "T-A-9"})
	var teacherB int64
	_, teacherB = addUser(t, srv, admin, "teacherb", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolB, "staff_no": "T-B-9"})
	w.adminB, _ = addUser(t, srv, admin, "adminb", map[string]any{"roles": []string{"school_admin"}, "school_id": fx.schoolB})
	w.rec1 = fileRecording(t, st, fx.userIDs["teacher"], "二次函数")
	w.rec2 = fileRecording(t, st, w.teacher2ID, "一次函数")
	w.recB = fileRecording(t, st, teacherB, "古诗")
	return w
}

type reviewScheme struct {
	ID       int64 `json:"id"`
	Criteria []struct {
		Code   string  `json:"code"`
		Weight float64 `json:"weight"`
		Scale  struct {
			Kind string `json:"kind"`
		} `json:"scale"`
	} `json:"criteria"`
}

// scheme builds, from the shipped general rubric exported as XLSX and
// imported again, a blind scheme of a levels criterion (C1) and a numeric
// one (C2).
func (w *reviewWorld) scheme(t *testing.T) reviewScheme {
	t.Helper()
	var rubrics struct {
		Items []struct {
			ID   int64  `json:"id"`
			Code string `json:"code"`
		} `json:"items"`
	}
	w.district.must(200, "GET", "/api/v1/review/rubrics", nil, &rubrics)
	var general int64
	for _, r := range rubrics.Items {
		if r.Code == "general-classroom" {
			general = r.ID
		}
	}
	if len(rubrics.Items) < 3 || general == 0 {
		t.Fatalf("default rubrics %+v", rubrics.Items)
	}
	x := w.district.must(200, "GET", fmt.Sprintf("/api/v1/review/rubrics/%d/export?format=xlsx", general), nil, nil)
	var imported map[string]any
	w.district.must(201, "POST", "/api/v1/review/rubrics/import", map[string]any{"format": "xlsx", "code": "mine", "name": "区量表",
		"file": base64.StdEncoding.EncodeToString(x.body)}, &imported)
	var sc reviewScheme
	w.district.must(201, "POST", "/api/v1/review/schemes", map[string]any{"name": "数学课堂", "purpose": "subject", "rubric_id": id(imported),
		"blind": true, "threshold": 0.6, "criteria": []map[string]any{{"code": "C1", "weight": 40}, {"code": "C2", "weight": 60}}}, &sc)
	if len(sc.Criteria) != 2 || sc.Criteria[0].Scale.Kind != "levels" || sc.Criteria[1].Scale.Kind != "numeric" || sc.Criteria[0].Weight != 40 {
		t.Fatalf("scheme %+v", sc)
	}
	return sc
}

func (w *reviewWorld) assign(t *testing.T, sc reviewScheme, target string, experts ...int64) []int64 {
	t.Helper()
	var out struct {
		Items []map[string]any `json:"items"`
	}
	w.district.must(201, "POST", "/api/v1/review/assignments", map[string]any{"scheme_id": sc.ID, "target": target, "round": "2026春",
		"expert_ids": experts, "due_at": time.Now().Add(-time.Hour)}, &out)
	var ids []int64
	for _, x := range out.Items {
		ids = append(ids, id(x))
	}
	return ids
}

func scores(c1, c2 float64) map[string]any {
	return map[string]any{"scores": []map[string]any{{"criterion": "C1", "value": c1}, {"criterion": "C2", "value": c2}}}
}

// TestReviewFlow: an expert scores a recording with timestamped notes; a
// second expert in a blind scheme sees it only after submitting; the
// teacher sees the status, the notes, the criteria to improve and a
// quality lesson that scored high on them; the admin reopens with a reason;
// reliability and calibration are served.
func TestReviewFlow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	expert, teacher := w.users["expert"], w.users["teacher"]
	sc := w.scheme(t)

	// An expert whose scope does not cover the lesson is never assigned it.
	r := w.district.send("POST", "/api/v1/review/assignments", map[string]any{"scheme_id": sc.ID, "target": w.rec1, "expert_ids": []int64{w.expertBID}})
	if r.status != 400 || r.errFields()["expert_ids"] == nil {
		t.Fatalf("assigning an expert out of scope: %v", r)
	}
	a := w.assign(t, sc, w.rec1, w.userIDs["expert"], w.expert2ID)
	mine, theirs := a[0], a[1]

	var queue struct {
		Items []struct {
			ID      int64  `json:"id"`
			Overdue bool   `json:"overdue"`
			Title   string `json:"title"`
		} `json:"items"`
	}
	expert.must(200, "GET", "/api/v1/review/queue", nil, &queue)
	if len(queue.Items) != 1 || queue.Items[0].ID != mine || !queue.Items[0].Overdue || queue.Items[0].Title != "二次函数" {
		t.Fatalf("queue %+v", queue)
	}

	// The teacher reflects; the expert reads it beside the draft.
	teacher.must(200, "PUT", "/api/v1/review/targets/"+w.rec1+"/reflection", map[string]any{"text": "提问太密"}, nil)
	if r := w.teacher2.send("PUT", "/api/v1/review/targets/"+w.rec1+"/reflection", map[string]any{"text": "x"}); r.status != 403 {
		t.Fatalf("reflecting on a colleague's lesson: %v", r)
	}

	draft := scores(2, 4)
	draft["notes"] = []map[string]any{{"start_ms": 61000, "end_ms": 75000, "criterion": "C1", "text": "重难点不清"},
		{"start_ms": 1200000, "text": "小组讨论时间太短"}}
	draft["improve"] = "留白"
	var d1, d2 map[string]any
	path1 := fmt.Sprintf("/api/v1/review/assignments/%d/review", mine)
	expert.must(200, "PUT", path1, draft, &d1)
	expert.must(200, "PUT", path1, draft, &d2)
	if v1, v2 := d1["review"].(map[string]any)["version"], d2["review"].(map[string]any)["version"]; v1 != v2 {
		t.Fatalf("saving the same draft twice: version %v then %v", v1, v2)
	}
	if d2["reflection"].(map[string]any)["text"] != "提问太密" || len(d2["review"].(map[string]any)["body"].(map[string]any)["notes"].([]any)) != 2 {
		t.Fatalf("draft %v", d2)
	}
	bad := scores(5, 4) // level 5 of a 4-level scale
	if r := expert.send("PUT", path1, bad); r.status != 400 {
		t.Fatalf("a level off the scale: %v", r)
	}
	beyond := scores(2, 4)
	beyond["notes"] = []map[string]any{{"start_ms": 50 * 60 * 1000, "text": "x"}}
	if r := expert.send("PUT", path1, beyond); r.status != 400 {
		t.Fatalf("a note beyond the end: %v", r)
	}

	// 403 for an expert outside the scope, a teacher not their own, another school's admin.
	for _, c := range []struct {
		who          *api
		method, path string
	}{
		{w.expertB, "GET", path1}, {w.expertB, "PUT", path1}, {w.expertB, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", mine)},
		{w.expertB, "GET", "/api/v1/review/targets/" + w.rec1},
		{w.expert2, "GET", path1}, // another expert's assignment
		{w.teacher2, "GET", "/api/v1/review/targets/" + w.rec1},
		{w.teacher2, "GET", fmt.Sprintf("/api/v1/review/reviews/%d", mine)},
		{w.adminB, "GET", "/api/v1/review/targets/" + w.rec1},
		{w.adminB, "GET", fmt.Sprintf("/api/v1/review/reviews/%d", mine)},
		{w.adminB, "GET", "/api/v1/review/assignments?target=" + w.rec1},
	} {
		var body any
		if c.method != "GET" {
			body = draft
		}
		r := c.who.send(c.method, c.path, body)
		if c.path == "/api/v1/review/assignments?target="+w.rec1 {
			// a list is narrowed to the caller's scope
			if r.status != 200 || len(r.json()["items"].([]any)) != 0 {
				t.Errorf("%s %s: %v, want an empty list", c.method, c.path, r)
			}
			continue
		}
		if r.status != 403 {
			t.Errorf("%s %s: %v, want 403", c.method, c.path, r)
		}
	}

	// Submitting needs every criterion; then the review is locked.
	if r := expert.send("POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", mine), map[string]any{"scores": []map[string]any{{"criterion": "C1", "value": 2}}}); r.status != 400 || r.errCode() != "incomplete" {
		t.Fatalf("incomplete submission: %v", r)
	}
	var sub map[string]any
	expert.must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", mine), nil, &sub)
	// C1 level 2 of 4 → 1/3, C2 4 of 0–10 → 0.4: (1/3·40 + 0.4·60) / 100 × 100 = 37.33
	if tot := sub["review"].(map[string]any)["total"].(float64); tot < 37.33 || tot > 37.34 {
		t.Fatalf("total %v, want 37.33", tot)
	}
	if r := expert.send("PUT", path1, draft); r.status != 409 {
		t.Fatalf("editing a submitted review: %v", r)
	}

	// Blind: the second expert sees no other review until both are submitted.
	var tv struct {
		Reviews []map[string]any `json:"reviews"`
		Hidden  int              `json:"hidden"`
	}
	w.expert2.must(200, "GET", "/api/v1/review/targets/"+w.rec1, nil, &tv)
	if len(tv.Reviews) != 0 || tv.Hidden != 1 {
		t.Fatalf("blind review before submitting: %+v", tv)
	}
	w.expert2.must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", theirs), scores(1, 3), nil)
	w.expert2.must(200, "GET", "/api/v1/review/targets/"+w.rec1, nil, &tv)
	if len(tv.Reviews) != 2 || tv.Hidden != 0 {
		t.Fatalf("blind review after both submitted: %+v", tv)
	}

	// A colleague's lesson scored high on both criteria is the quality lesson to watch.
	q := w.assign(t, sc, w.rec2, w.userIDs["expert"])
	expert.must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", q[0]), scores(4, 9.5), nil)

	var fb struct {
		New   int `json:"new"`
		Items []struct {
			Target struct {
				Target string `json:"target"`
			} `json:"target"`
			Reviews []map[string]any `json:"reviews"`
			Notes   []struct {
				StartMS int64  `json:"start_ms"`
				Text    string `json:"text"`
			} `json:"notes"`
			Below []struct {
				Code string `json:"code"`
			} `json:"below_threshold"`
			Suggestions []struct {
				Target   string   `json:"target"`
				Title    string   `json:"title"`
				Criteria []string `json:"criteria"`
			} `json:"suggestions"`
		} `json:"items"`
	}
	teacher.must(200, "GET", "/api/v1/review/feedback", nil, &fb)
	if fb.New != 2 || len(fb.Items) != 1 || fb.Items[0].Target.Target != w.rec1 || len(fb.Items[0].Reviews) != 2 || len(fb.Items[0].Notes) != 2 ||
		fb.Items[0].Notes[0].StartMS != 61000 || len(fb.Items[0].Below) != 2 {
		t.Fatalf("feedback %+v", fb)
	}
	if rv := fb.Items[0].Reviews[0]; rv["expert_id"].(float64) != 0 || rv["expert_name"] != "" {
		t.Fatalf("the teacher sees who reviewed: %v", rv)
	}
	if s := fb.Items[0].Suggestions; len(s) != 1 || s[0].Target != w.rec2 || s[0].Title != "一次函数" || len(s[0].Criteria) != 2 {
		t.Fatalf("suggestions %+v", s)
	}
	// The teacher rates how useful a review was; nobody else may.
	if r := w.teacher2.send("PUT", fmt.Sprintf("/api/v1/review/reviews/%d/rating", mine), map[string]any{"score": 5}); r.status != 403 {
		t.Fatalf("rating another teacher's review: %v", r)
	}
	if r := teacher.send("PUT", fmt.Sprintf("/api/v1/review/reviews/%d/rating", mine), map[string]any{"score": 6}); r.status != 400 {
		t.Fatalf("a rating of 6: %v", r)
	}
	var rated map[string]any
	teacher.must(200, "PUT", fmt.Sprintf("/api/v1/review/reviews/%d/rating", mine), map[string]any{"score": 4}, &rated)
	if rated["teacher_rating"].(float64) != 4 || rated["expert_id"].(float64) != 0 {
		t.Fatalf("rated %v", rated)
	}
	teacher.must(204, "POST", "/api/v1/review/feedback/seen", nil, nil)
	teacher.must(200, "GET", "/api/v1/review/feedback", nil, &fb)
	if fb.New != 0 {
		t.Fatalf("new after seen: %d", fb.New)
	}
	var status struct {
		Items []map[string]any `json:"items"`
	}
	teacher.must(200, "GET", "/api/v1/review/mine", nil, &status)
	if len(status.Items) != 2 || status.Items[0]["status"] != "submitted" || status.Items[0]["expert_id"] != nil {
		t.Fatalf("status of the teacher's reviews %+v", status)
	}

	// Aggregates and reliability.
	var agg struct {
		Aggregates []struct {
			Reviews   int     `json:"reviews"`
			TotalMean float64 `json:"total_mean"`
			Criteria  []struct {
				Code   string  `json:"code"`
				Mean   float64 `json:"mean"`
				Median float64 `json:"median"`
			} `json:"criteria"`
		} `json:"aggregates"`
	}
	w.district.must(200, "GET", "/api/v1/review/targets/"+w.rec1, nil, &agg)
	if len(agg.Aggregates) != 1 || agg.Aggregates[0].Reviews != 2 || agg.Aggregates[0].Criteria[0].Mean != 1.5 || agg.Aggregates[0].Criteria[1].Median != 3.5 {
		t.Fatalf("aggregate %+v", agg)
	}
	var rel struct {
		Reviews int `json:"reviews"`
		Experts []struct {
			ExpertID int64 `json:"expert_id"`
			Shared   int   `json:"shared"`
		} `json:"experts"`
		Criteria []map[string]any `json:"criteria"`
	}
	w.district.must(200, "GET", fmt.Sprintf("/api/v1/review/schemes/%d/reliability?round=2026春", sc.ID), nil, &rel)
	if rel.Reviews != 3 || len(rel.Experts) != 2 || len(rel.Criteria) != 2 {
		t.Fatalf("reliability %+v", rel)
	}
	if r := w.adminB.send("GET", fmt.Sprintf("/api/v1/review/schemes/%d/reliability?round=2026春", sc.ID), nil); r.status != 200 || r.json()["reviews"].(float64) != 0 {
		t.Fatalf("another school's admin sees reviews outside their scope: %v", r)
	}

	// An assignment not started can be withdrawn; a started one cannot.
	extra := w.assign(t, sc, w.rec2, w.expert2ID)
	if r := w.adminB.send("DELETE", fmt.Sprintf("/api/v1/review/assignments/%d", extra[0]), nil); r.status != 403 {
		t.Fatalf("another school's admin withdraws an assignment: %v", r)
	}
	w.district.must(204, "DELETE", fmt.Sprintf("/api/v1/review/assignments/%d", extra[0]), nil, nil)
	if r := w.district.send("DELETE", fmt.Sprintf("/api/v1/review/assignments/%d", mine), nil); r.status != 409 {
		t.Fatalf("withdrawing a submitted review: %v", r)
	}

	// Reopening needs a reason; the expert can then edit again.
	if r := w.district.send("POST", fmt.Sprintf("/api/v1/review/reviews/%d/reopen", mine), map[string]any{"reason": ""}); r.status != 400 {
		t.Fatalf("reopen without a reason: %v", r)
	}
	w.district.must(200, "POST", fmt.Sprintf("/api/v1/review/reviews/%d/reopen", mine), map[string]any{"reason": "分数录错"}, nil)
	expert.must(200, "PUT", path1, draft, nil)

	// Calibration: the master scored rec2; the expert agrees on one criterion of two.
	var cal map[string]any
	w.district.must(201, "POST", "/api/v1/review/calibrations", map[string]any{"scheme_id": sc.ID, "target": w.rec2,
		"master": []map[string]any{{"criterion": "C1", "value": 3}, {"criterion": "C2", "value": 7}}}, &cal)
	var ca struct {
		Items []map[string]any `json:"items"`
	}
	w.district.must(201, "POST", fmt.Sprintf("/api/v1/review/calibrations/%d/assignments", id(cal)), map[string]any{"expert_ids": []int64{w.userIDs["expert"]}}, &ca)
	var cs map[string]any
	expert.must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", id(ca.Items[0])), scores(4, 9), &cs)
	if c := cs["calibration"].(map[string]any); c["agreement"].(float64) != 50 || c["passed"] != false {
		t.Fatalf("calibration %v", c)
	}
	var myCal struct {
		Items []map[string]any `json:"items"`
	}
	expert.must(200, "GET", "/api/v1/review/calibrations/mine", nil, &myCal)
	if len(myCal.Items) != 1 || myCal.Items[0]["agreement"].(float64) != 50 {
		t.Fatalf("expert's calibrations %+v", myCal)
	}
	if r := w.adminB.send("GET", fmt.Sprintf("/api/v1/review/calibrations/%d", id(cal)), nil); r.status != 403 {
		t.Fatalf("another school's admin reads a calibration: %v", r)
	}
	// The list: the district admin sees the clip with every expert's result;
	// the expert theirs; another school's admin and an expert not assigned nothing.
	type calList struct {
		Items []struct {
			Calibration struct {
				ID int64 `json:"id"`
			} `json:"calibration"`
			Target struct {
				Title string `json:"title"`
			} `json:"target"`
			Results []struct {
				ExpertID  int64   `json:"expert_id"`
				Agreement float64 `json:"agreement"`
				Passed    bool    `json:"passed"`
			} `json:"results"`
		} `json:"items"`
		PassAgreement float64 `json:"pass_agreement"`
	}
	var cl calList
	w.district.must(200, "GET", "/api/v1/review/calibrations", nil, &cl)
	if len(cl.Items) != 1 || cl.Items[0].Calibration.ID != id(cal) || cl.Items[0].Target.Title == "" || cl.PassAgreement != 80 ||
		len(cl.Items[0].Results) != 1 || cl.Items[0].Results[0].ExpertID != w.userIDs["expert"] || cl.Items[0].Results[0].Agreement != 50 || cl.Items[0].Results[0].Passed {
		t.Fatalf("district admin's calibrations %+v", cl)
	}
	expert.must(200, "GET", "/api/v1/review/calibrations", nil, &cl)
	if len(cl.Items) != 1 || len(cl.Items[0].Results) != 1 || cl.Items[0].Results[0].Agreement != 50 {
		t.Fatalf("expert's calibrations %+v", cl)
	}
	for name, c := range map[string]*api{"another school's admin": w.adminB, "an expert not assigned": w.expert2} {
		cl = calList{}
		c.must(200, "GET", "/api/v1/review/calibrations", nil, &cl)
		if len(cl.Items) != 0 {
			t.Errorf("%s lists calibrations %+v", name, cl)
		}
	}
	// The second expert takes the clip too: the expert still sees only their own result.
	w.district.must(201, "POST", fmt.Sprintf("/api/v1/review/calibrations/%d/assignments", id(cal)), map[string]any{"expert_ids": []int64{w.expert2ID}}, &ca)
	w.expert2.must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", id(ca.Items[0])), scores(3, 7), nil)
	w.district.must(200, "GET", "/api/v1/review/calibrations", nil, &cl)
	if len(cl.Items) != 1 || len(cl.Items[0].Results) != 2 {
		t.Fatalf("after a second expert: %+v", cl)
	}
	expert.must(200, "GET", "/api/v1/review/calibrations", nil, &cl)
	if len(cl.Items) != 1 || len(cl.Items[0].Results) != 1 || cl.Items[0].Results[0].ExpertID != w.userIDs["expert"] {
		t.Fatalf("the expert sees another expert's result: %+v", cl)
	}
	w.expert2.must(200, "GET", "/api/v1/review/calibrations", nil, &cl)
	if len(cl.Items) != 1 || len(cl.Items[0].Results) != 1 || cl.Items[0].Results[0].Agreement != 100 || !cl.Items[0].Results[0].Passed {
		t.Fatalf("second expert's calibrations: %+v", cl)
	}
}

// TestReviewDraftSavesLimited: an expert saving drafts faster than the
// limit gets 429 with Retry-After; the draft saved last before it stays.
func TestReviewDraftSavesLimited(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sc := w.scheme(t)
	a := w.assign(t, sc, w.rec1, w.userIDs["expert"])
	p := fmt.Sprintf("/api/v1/review/assignments/%d/review", a[0])
	expert := w.users["expert"]
	for i := 1; ; i++ {
		draft := scores(2, 4)
		draft["improve"] = fmt.Sprint("save ", i)
		r := expert.send("PUT", p, draft)
		if r.status == 200 {
			if i > 60 {
				t.Fatalf("save %d passed the limit of 60 a minute", i)
			}
			continue
		}
		if i != 61 || r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
			t.Fatalf("save %d: %v (Retry-After %q), want the 61st to answer 429 rate_limited with Retry-After", i, r, r.header.Get("Retry-After"))
		}
		break
	}
	var d struct {
		Review struct {
			Body struct {
				Improve string `json:"improve"`
			} `json:"body"`
		} `json:"review"`
	}
	expert.must(200, "GET", p, nil, &d)
	if d.Review.Body.Improve != "save 60" {
		t.Fatalf("draft after the limit: %q, want the 60th save", d.Review.Body.Improve)
	}
	// Another expert's window is their own.
	b := w.assign(t, sc, w.rec1, w.expert2ID)
	w.expert2.must(200, "PUT", fmt.Sprintf("/api/v1/review/assignments/%d/review", b[0]), scores(1, 1), nil)
}

// TestReviewDraftSurvivesServerRestart: an expert's draft saved, the
// server stopped and started again on the same database: the draft is there.
func TestReviewDraftSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sc := w.scheme(t)
	a := w.assign(t, sc, w.rec1, w.userIDs["expert"])
	draft := scores(3, 6.5)
	draft["notes"] = []map[string]any{{"start_ms": 90000, "text": "导入自然"}}
	p := fmt.Sprintf("/api/v1/review/assignments/%d/review", a[0])
	w.users["expert"].must(200, "PUT", p, draft, nil)
	w.st.Close()
	srv.stop()

	srv2 := reviewServer(t, path)
	expert := signedIn(t, srv2, "expert", userPassword)
	var d struct {
		Review struct {
			Status string `json:"status"`
			Body   struct {
				Scores []struct {
					Value float64 `json:"value"`
				} `json:"scores"`
				Notes []struct {
					StartMS int64  `json:"start_ms"`
					Text    string `json:"text"`
				} `json:"notes"`
			} `json:"body"`
		} `json:"review"`
		Total *float64 `json:"current_total"`
	}
	expert.must(200, "GET", p, nil, &d)
	if d.Review.Status != "draft" || len(d.Review.Body.Scores) != 2 || d.Review.Body.Scores[1].Value != 6.5 || len(d.Review.Body.Notes) != 1 ||
		d.Review.Body.Notes[0].Text != "导入自然" || d.Total == nil {
		t.Fatalf("draft after a restart %+v", d)
	}
}

// TestReviewRubricsAndAutoAssign: the shipped rubrics are the system
// admin's to edit (a district admin copies one into the district first);
// assignment by rule follows subject, colleagues and calibration.
func TestReviewRubricsAndAutoAssign(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sys := w.users["system_admin"]
	var rubrics struct {
		Items []map[string]any `json:"items"`
	}
	w.district.must(200, "GET", "/api/v1/review/rubrics", nil, &rubrics)
	var kinder map[string]any
	for _, r := range rubrics.Items {
		if r["code"] == "kindergarten-activity" {
			kinder = r
		}
	}
	if kinder == nil || kinder["district_id"].(float64) != 0 || kinder["builtin"] != true {
		t.Fatalf("rubrics %v", rubrics.Items)
	}
	kid := fmt.Sprintf("/api/v1/review/rubrics/%d", id(kinder))
	edit := map[string]any{"name": "幼儿园活动（修订）", "body": kinder["body"]}
	if r := w.district.send("PUT", kid, edit); r.status != 403 {
		t.Fatalf("a district admin edits an installation-wide rubric: %v", r)
	}
	var v2 map[string]any
	sys.must(200, "PUT", kid, edit, &v2)
	if v2["version"].(float64) != 2 || v2["name"] != "幼儿园活动（修订）" {
		t.Fatalf("edited %v", v2)
	}
	var v1 map[string]any
	w.district.must(200, "GET", kid+"?version=1", nil, &v1)
	if v1["version"].(float64) != 1 || v1["name"] != "幼儿园教育活动评价量表" || v1["current_version"].(float64) != 2 {
		t.Fatalf("version 1 %v", v1)
	}
	var cp map[string]any
	w.district.must(201, "POST", kid+"/copy", map[string]any{}, &cp)
	if cp["district_id"].(float64) != float64(w.fixture.district) || cp["code"] != "kindergarten-activity" || cp["version"].(float64) != 1 {
		t.Fatalf("copy %v", cp)
	}
	w.district.must(200, "PUT", fmt.Sprintf("/api/v1/review/rubrics/%d", id(cp)), edit, nil)
	// JSON export is what creating a rubric takes.
	var exp map[string]any
	w.district.must(200, "GET", kid+"/export?format=json", nil, &exp)
	exp["code"] = "from-json"
	w.district.must(201, "POST", "/api/v1/review/rubrics", exp, nil)
	if r := w.users["expert"].send("POST", "/api/v1/review/rubrics", exp); r.status != 403 {
		t.Fatalf("an expert creates a rubric: %v", r)
	}

	sc := w.scheme(t)
	colleague, colleagueID := addUser(t, srv, sys, "expert.a", map[string]any{"roles": []string{"expert"}, "district_id": w.fixture.district,
		"school_id": w.schoolA, "subject_ids": []int64{w.subject}, "expert_scope": map[string]any{"district": true}})
	_ = colleague
	rec := fileRecording(t, w.st, w.userIDs["teacher"], "分数", w.subject)
	auto := func(body map[string]any) reply {
		body["scheme_id"], body["target"] = sc.ID, rec
		return w.district.send("POST", "/api/v1/review/assignments/auto", body)
	}
	if r := auto(map[string]any{"count": 1, "match_subject": true, "exclude_colleagues": true}); r.status != 400 || r.errFields()["count"] == nil {
		t.Fatalf("the only expert of the subject is a colleague: %v", r)
	}
	if r := auto(map[string]any{"count": 1, "calibrated_only": true, "round": "c"}); r.status != 400 {
		t.Fatalf("nobody calibrated: %v", r)
	}
	r := auto(map[string]any{"count": 1, "match_subject": true, "round": "s"})
	if r.status != 201 || r.json()["items"].([]any)[0].(map[string]any)["expert_id"].(float64) != float64(colleagueID) {
		t.Fatalf("by subject: %v", r)
	}
	r = auto(map[string]any{"count": 2, "exclude_colleagues": true, "round": "x"})
	got := map[float64]bool{}
	if r.status == 201 {
		for _, x := range r.json()["items"].([]any) {
			got[x.(map[string]any)["expert_id"].(float64)] = true
		}
	}
	if r.status != 201 || len(got) != 2 || !got[float64(w.userIDs["expert"])] || !got[float64(w.expert2ID)] {
		t.Fatalf("without colleagues: %v", r)
	}
}

// TestReviewExpertWithoutScope: an expert whose scope covers no school gets
// 403 on every review route, on the S-T routes of a recording in a school
// and on the tutoring audit of a school; so does an expert of school B on
// those of school A.
func TestReviewExpertWithoutScope(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, db)
	fx := newFixture(t, srv)
	teacher := fx.userIDs["teacher"]
	rec := scriptedRecording(t, openStore(t, db), storage.UserID(teacher), "scope", "TTSS", time.Now().Add(-time.Hour))
	expertB, _ := addUser(t, srv, fx.users["system_admin"], "expert.b", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolB}}})
	none, _ := addUser(t, srv, fx.users["system_admin"], "expert.none", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{}}})
	n := 0
	for _, rt := range srv.APIRoutes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/review/") {
			continue
		}
		n++
		path := strings.Replace(strings.Replace(rt.Path, "{target}", "recording:1", 1), "{id}", "1", 1)
		var body any
		if rt.Method != "GET" {
			body = "{}"
		}
		if r := none.send(rt.Method, path, body); r.status != 403 || r.errCode() != "forbidden" {
			t.Errorf("%s %s: %v, want 403", rt.Method, rt.Path, r)
		}
	}
	if n < 25 {
		t.Fatalf("only %d review routes", n)
	}
	recPath := "/api/v1/recordings/" + itoa(int64(rec))
	others := map[string]bool{} // the S-T and audit routes, each to be walked
	for _, rt := range srv.APIRoutes() {
		if strings.HasPrefix(rt.Path, "/api/v1/recordings/") && (strings.HasSuffix(rt.Path, "/st") || strings.Contains(rt.Path, "/st/") || strings.Contains(rt.Path, "/st-")) ||
			rt.Path == "/api/v1/tutoring/audit" {
			others[rt.Method+" "+rt.Path] = false
		}
	}
	for _, c := range []struct{ method, route, path string }{
		{"GET", "/api/v1/recordings/{id}/st", recPath + "/st"},
		{"PUT", "/api/v1/recordings/{id}/st/samples/{sample}", recPath + "/st/samples/1"},
		{"GET", "/api/v1/recordings/st-trend", "/api/v1/recordings/st-trend?teacher_id=" + itoa(teacher)},
		{"GET", "/api/v1/recordings/st-trend", "/api/v1/recordings/st-trend?school_id=" + itoa(fx.schoolA)},
		{"GET", "/api/v1/tutoring/audit", "/api/v1/tutoring/audit?school_id=" + itoa(fx.schoolA)},
	} {
		if _, ok := others[c.method+" "+c.route]; !ok {
			t.Fatalf("no route %s %s", c.method, c.route)
		}
		others[c.method+" "+c.route] = true
		var body any
		if c.method != "GET" {
			body = map[string]string{"code": "T"}
		}
		for name, e := range map[string]*api{"expert without scope": none, "expert of school B": expertB} {
			if r := e.send(c.method, c.path, body); r.status != 403 || r.errCode() != "forbidden" {
				t.Errorf("%s: %s %s: %v, want 403", name, c.method, c.path, r)
			}
		}
	}
	for rt, walked := range others {
		if !walked {
			t.Errorf("route %s not walked", rt)
		}
	}
	// In scope, the same calls answer.
	ex := fx.users["expert"]
	ex.must(200, "GET", recPath+"/st", nil, nil)
	ex.must(200, "GET", "/api/v1/recordings/st-trend?school_id="+itoa(fx.schoolA), nil, nil)
	ex.must(200, "GET", "/api/v1/tutoring/audit?school_id="+itoa(fx.schoolA), nil, nil)
}

// TestReviewMicrolesson: a micro-lesson is a target like a recording; its
// notes stay within its length.
func TestReviewMicrolesson(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	ctx := context.Background()
	teacher := storage.UserID(w.userIDs["teacher"])
	now := time.Now()
	if err := w.st.CreateMicrolessonUpload(ctx, storage.MicrolessonUpload{ID: "rv1", UserID: teacher, SizeBytes: 10, Filename: "a.mp4",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, 5, 1<<30); err != nil {
		t.Fatal(err)
	}
	m, err := w.st.CreateMicrolesson(ctx, storage.Actor{UserID: teacher}, "rv1", storage.MicrolessonInput{SubjectID: storage.SubjectID(w.subject),
		Grade: 3, Title: "分数的意义"}, storage.MicrolessonMedia{FileKey: "k", SizeBytes: 10, Container: "mp4", DurationMS: 5 * 60 * 1000}, now)
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("microlesson:%d", m.ID)
	sc := w.scheme(t)
	a := w.assign(t, sc, target, w.userIDs["expert"])
	p := fmt.Sprintf("/api/v1/review/assignments/%d/review", a[0])
	body := scores(3, 8)
	body["notes"] = []map[string]any{{"start_ms": 6 * 60 * 1000, "text": "x"}}
	if r := w.users["expert"].send("PUT", p, body); r.status != 400 {
		t.Fatalf("a note after the end of the micro-lesson: %v", r)
	}
	body["notes"] = []map[string]any{{"start_ms": 100000, "end_ms": 130000, "text": "例子贴近生活"}}
	w.users["expert"].must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", a[0]), body, nil)
	var mine struct {
		Items []map[string]any `json:"items"`
	}
	w.users["teacher"].must(200, "GET", "/api/v1/review/mine", nil, &mine)
	if len(mine.Items) != 1 || mine.Items[0]["target"] != target || mine.Items[0]["title"] != "分数的意义" || mine.Items[0]["status"] != "submitted" {
		t.Fatalf("the teacher's reviews %+v", mine.Items)
	}
}
