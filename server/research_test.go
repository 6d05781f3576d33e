package server_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestResearchScope: research groups, activities and their discussions are
// reached only by the group's members and the administrators of its place;
// anyone else gets 404 on every route, members watch the recordings their
// activities study, and comments are bounded and rate limited.
func TestResearchScope(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sys := w.users["system_admin"]
	teacher, sa, da := w.users["teacher"], w.users["school_admin"], w.users["district_admin"]
	teacherB, teacherBID := addUser(t, srv, sys, "research.tb", map[string]any{"roles": []string{"teacher"}, "school_id": w.schoolB, "staff_no": "T-B-R"})
	daC, _ := addUser(t, srv, sys, "research.dac", map[string]any{"roles": []string{"district_admin"}, "district_id": w.district2})
	recID := func(target string) string { return strings.TrimPrefix(target, "recording:") }
	rec1, rec2 := recID(w.rec1), recID(w.rec2)

	// Who creates which group.
	sa.must(403, "POST", "/api/v1/research/groups", map[string]any{"name": "乙校数学组", "school_id": w.schoolB}, nil)
	sa.must(403, "POST", "/api/v1/research/groups", map[string]any{"name": "区数学组"}, nil)
	sa.must(400, "POST", "/api/v1/research/groups", map[string]any{"name": "数学组", "school_id": w.schoolA, "member_ids": []int64{teacherBID}}, nil)
	sa.must(400, "POST", "/api/v1/research/groups", map[string]any{"name": strings.Repeat("组", 101), "school_id": w.schoolA}, nil)
	sa.must(400, "POST", "/api/v1/research/groups", map[string]any{"name": "数学组", "school_id": w.schoolA, "subject_id": 999999}, nil)
	teacher.must(403, "POST", "/api/v1/research/groups", map[string]any{"name": "x", "school_id": w.schoolA}, nil)
	var g map[string]any
	sa.must(201, "POST", "/api/v1/research/groups", map[string]any{"name": "甲校数学组", "school_id": w.schoolA,
		"member_ids": []int64{w.userIDs["teacher"], w.teacher2ID}}, &g)
	gid := itoa(id(g))
	var dg map[string]any
	da.must(201, "POST", "/api/v1/research/groups", map[string]any{"name": "区数学组", "member_ids": []int64{w.userIDs["teacher"], teacherBID}}, &dg)
	daC.must(403, "POST", "/api/v1/research/groups", map[string]any{"name": "x", "school_id": w.schoolA}, nil)

	// Activities: a member adds only recordings they may watch themselves.
	teacher.must(400, "POST", "/api/v1/research/groups/"+gid+"/activities", map[string]any{"topic": "同课异构", "recording_ids": []string{rec1, rec2}}, nil)
	teacher.must(400, "POST", "/api/v1/research/groups/"+gid+"/activities", map[string]any{"topic": "x", "recording_ids": []int{1, 2, 3, 4, 5, 6, 7}}, nil)
	var act map[string]any
	teacher.must(201, "POST", "/api/v1/research/groups/"+gid+"/activities", map[string]any{"topic": "同课异构：函数", "recording_ids": []any{recNum(rec1)}}, &act)
	aid := itoa(id(act))
	w.teacher2.must(200, "POST", "/api/v1/research/activities/"+aid+"/recordings", map[string]any{"recording_id": recNum(rec2)}, nil)
	w.teacher2.must(409, "POST", "/api/v1/research/activities/"+aid+"/recordings", map[string]any{"recording_id": recNum(rec2)}, nil)
	w.teacher2.must(400, "POST", "/api/v1/research/activities/"+aid+"/recordings", map[string]any{"recording_id": recNum(recID(w.recB))}, nil)

	// Members watch both recordings; others do not.
	teacher.must(200, "GET", "/api/v1/recordings/"+rec2, nil, nil)
	teacher.must(200, "GET", "/api/v1/recordings/"+rec2+"/st", nil, nil)
	teacherB.must(404, "GET", "/api/v1/recordings/"+rec2, nil, nil)

	// The discussion: pinned comments, bounded.
	var c1 map[string]any
	teacher.must(201, "POST", "/api/v1/research/activities/"+aid+"/comments", map[string]any{"text": "这里的提问很好", "recording_id": recNum(rec2), "start_ms": 12000}, &c1)
	teacher.must(400, "POST", "/api/v1/research/activities/"+aid+"/comments", map[string]any{"text": "x", "recording_id": recNum(rec2), "start_ms": 41 * 60 * 1000}, nil)
	teacher.must(400, "POST", "/api/v1/research/activities/"+aid+"/comments", map[string]any{"text": "x", "recording_id": recNum(recID(w.recB))}, nil)
	teacher.must(400, "POST", "/api/v1/research/activities/"+aid+"/comments", map[string]any{"text": strings.Repeat("评", 2001)}, nil)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	w.teacher2.must(200, "GET", "/api/v1/research/activities/"+aid+"/comments?recording_id="+rec2, nil, &list)
	if len(list.Items) != 1 || list.Items[0]["text"] != "这里的提问很好" || list.Items[0]["start_ms"] != float64(12000) || list.Items[0]["can_delete"] != false {
		t.Fatalf("comments on rec2 for teacher2: %+v", list.Items)
	}
	cid := itoa(id(c1))

	// Everyone outside the group and its place: 404 on every route.
	for name, c := range map[string]*api{"teacher of school B": teacherB, "school B's admin": w.adminB, "expert of school B": w.expertB,
		"another district's admin": daC} {
		for _, rt := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/research/groups/" + gid, nil},
			{"PUT", "/api/v1/research/groups/" + gid + "/members", map[string]any{"member_ids": []int64{}}},
			{"POST", "/api/v1/research/groups/" + gid + "/activities", map[string]any{"topic": "x"}},
			{"GET", "/api/v1/research/activities/" + aid, nil},
			{"POST", "/api/v1/research/activities/" + aid + "/recordings", map[string]any{"recording_id": recNum(rec1)}},
			{"GET", "/api/v1/research/activities/" + aid + "/comments", nil},
			{"POST", "/api/v1/research/activities/" + aid + "/comments", map[string]any{"text": "x"}},
			{"DELETE", "/api/v1/research/comments/" + cid, nil},
		} {
			if r := c.send(rt.method, rt.path, rt.body); r.status != 404 && r.status != 403 {
				t.Errorf("%s: %s %s = %v, want 404 (or 403 for a role that may not)", name, rt.method, rt.path, r)
			} else if r.status == 403 && rt.method == "GET" {
				t.Errorf("%s: %s %s = 403; want 404", name, rt.method, rt.path)
			}
		}
		var gs struct {
			Items []map[string]any `json:"items"`
		}
		c.must(200, "GET", "/api/v1/research/groups", nil, &gs)
		for _, x := range gs.Items {
			if itoa(id(x)) == gid {
				t.Errorf("%s lists the group of school A", name)
			}
		}
	}
	// A member is not the group's admin.
	teacher.must(403, "PUT", "/api/v1/research/groups/"+gid+"/members", map[string]any{"member_ids": []int64{}}, nil)

	// Deleting: not another member's comment; the author or an admin, softly.
	w.teacher2.must(403, "DELETE", "/api/v1/research/comments/"+cid, nil, nil)
	sa.must(204, "DELETE", "/api/v1/research/comments/"+cid, nil, nil)
	sa.must(404, "DELETE", "/api/v1/research/comments/"+cid, nil, nil)
	teacher.must(200, "GET", "/api/v1/research/activities/"+aid+"/comments", nil, &list)
	if len(list.Items) != 1 || list.Items[0]["deleted"] != true || list.Items[0]["text"] != "" {
		t.Fatalf("after the delete: %+v", list.Items)
	}

	// Removed from the group: no more access, to the recording either.
	sa.must(200, "PUT", "/api/v1/research/groups/"+gid+"/members", map[string]any{"member_ids": []int64{w.teacher2ID}}, nil)
	teacher.must(404, "GET", "/api/v1/research/activities/"+aid, nil, nil)
	teacher.must(404, "GET", "/api/v1/recordings/"+rec2, nil, nil)

	// Flooding: at most 20 comments in 5 minutes, then 429 with Retry-After.
	var r reply
	for i := range 25 {
		r = w.teacher2.send("POST", "/api/v1/research/activities/"+aid+"/comments", map[string]any{"text": fmt.Sprintf("评论 %d", i)})
		if r.status != 201 {
			break
		}
	}
	if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("comment flood: %v (Retry-After %q), want 429 with Retry-After", r, r.header.Get("Retry-After"))
	}
}

// recNum is a recording id as the number a JSON body carries.
func recNum(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// TestResearchTeacherOnly: in a district group, a member of another school
// who watches a recording only through the group gets its teacher-only
// version — the teacher's tracks and the teacher among the participants
// and speakers, 404 for a student's track, no download — until the
// recording's school records its consent; a member of its school, and its
// own teacher, always get the full version.
func TestResearchTeacherOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sys, da, saA, teacherA := w.users["system_admin"], w.district, w.users["school_admin"], w.users["teacher"]
	teacherB, teacherBID := addUser(t, srv, sys, "rs.tb", map[string]any{"roles": []string{"teacher"}, "school_id": w.schoolB, "staff_no": "T-B-RS"})
	outsider, _ := addUser(t, srv, sys, "rs.tb2", map[string]any{"roles": []string{"teacher"}, "school_id": w.schoolB, "staff_no": "T-B-RS2"})
	rec, tracks := classWithTracks(t, w.st, path, w.userIDs["teacher"], w.userIDs["student"], "勾股定理", w.subject)
	tu := fmt.Sprintf("u%d", w.userIDs["teacher"])

	var g map[string]any
	da.must(201, "POST", "/api/v1/research/groups", map[string]any{"name": "区数学教研组",
		"member_ids": []int64{w.userIDs["teacher"], w.teacher2ID, teacherBID}}, &g)
	teacherA.must(201, "POST", "/api/v1/research/groups/"+itoa(id(g))+"/activities",
		map[string]any{"topic": "勾股定理的引入", "recording_ids": []any{int64(rec)}}, nil)

	recPath := fmt.Sprintf("/api/v1/recordings/%d", rec)
	media := func(k string) string { return fmt.Sprintf("%s/tracks/%d/media", recPath, tracks[k]) }
	type detail struct {
		Version       string `json:"version"`
		FullAvailable bool   `json:"full_available"`
		Tracks        []struct {
			ID   int64  `json:"id"`
			Role string `json:"role"`
			URL  string `json:"url"`
		} `json:"tracks"`
		Participants []struct {
			Identity string `json:"identity"`
			Role     string `json:"role"`
		} `json:"participants"`
	}
	type speakers struct {
		Participants []struct {
			Identity string `json:"identity"`
			Name     string `json:"name"`
		} `json:"participants"`
	}
	teacherOnly := func(who string, a *api) {
		t.Helper()
		var d detail
		a.must(200, "GET", recPath, nil, &d)
		if d.Version != "teacher_only" || d.FullAvailable || len(d.Tracks) != 3 || len(d.Participants) != 1 || d.Participants[0].Identity != tu {
			t.Fatalf("%s sees %+v; want the teacher-only version", who, d)
		}
		for _, tr := range d.Tracks {
			if tr.Role != "teacher" {
				t.Fatalf("%s is given a %s track: %+v", who, tr.Role, d.Tracks)
			}
		}
		if r := a.send("GET", recPath+"?version=full", nil); r.status != 403 || r.errCode() != "teacher_only" {
			t.Fatalf("%s asks for the full version: %v", who, r)
		}
		if r := a.must(200, "GET", media("teacher-camera"), nil, nil); string(r.body) != "media of teacher-camera.webm" {
			t.Fatalf("%s: the teacher's camera is %q", who, r.body)
		}
		for _, k := range []string{"student-camera", "student-microphone"} {
			if r := a.send("GET", media(k), nil); r.status != 404 {
				t.Fatalf("%s fetches the %s track: %v", who, k, r)
			}
		}
		var sp speakers
		a.must(200, "GET", recPath+"/speaking", nil, &sp)
		if len(sp.Participants) != 1 || sp.Participants[0].Identity != tu {
			t.Fatalf("%s hears the speakers %+v; want the teacher only", who, sp)
		}
		a.must(200, "GET", recPath+"/st", nil, nil) // S-T names nobody
		for _, m := range []string{"GET", "POST"} {
			if r := a.send(m, recPath+"/download", nil); r.status != 403 || r.errCode() != "teacher_only" {
				t.Fatalf("%s: %s download = %v; want 403 teacher_only", who, m, r)
			}
		}
	}
	full := func(who string, a *api) {
		t.Helper()
		var d detail
		a.must(200, "GET", recPath, nil, &d)
		if d.Version != "full" || !d.FullAvailable || len(d.Tracks) != 5 || len(d.Participants) != 2 {
			t.Fatalf("%s sees %+v; want the full version", who, d)
		}
		if r := a.must(200, "GET", media("student-camera"), nil, nil); string(r.body) != "media of student-camera.webm" {
			t.Fatalf("%s: the student's camera is %q", who, r.body)
		}
		var sp speakers
		a.must(200, "GET", recPath+"/speaking", nil, &sp)
		if len(sp.Participants) != 2 {
			t.Fatalf("%s hears the speakers %+v; want both", who, sp)
		}
		// The download is not refused for privacy (the made-up tracks
		// have no Opus microphone to remux: 409 no_camera).
		if r := a.send("GET", recPath+"/download", nil); r.errCode() == "teacher_only" || r.status == 404 || r.status == 403 {
			t.Fatalf("%s downloads: %v", who, r)
		}
		var tv detail
		a.must(200, "GET", recPath+"?version=teacher_only", nil, &tv)
		if tv.Version != "teacher_only" || !tv.FullAvailable || len(tv.Tracks) != 3 {
			t.Fatalf("%s asks for the teacher-only version: %+v", who, tv)
		}
	}

	teacherOnly("a member of another school", teacherB)
	full("a member of the recording's school", w.teacher2)
	full("the recording's teacher", teacherA)
	if r := outsider.send("GET", recPath, nil); r.status != 404 {
		t.Fatalf("a teacher of school B outside the group: %v", r)
	}

	// The school records its consent: the full version for every member;
	// withdrawn, the teacher-only version again at once.
	saA.must(200, "PUT", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), map[string]any{"granted": true, "note": "家长同意书已收齐"}, nil)
	full("a member of another school after the consent", teacherB)
	if r := outsider.send("GET", media("teacher-camera"), nil); r.status != 404 {
		t.Fatalf("consent opens nothing to a teacher outside the group: %v", r)
	}
	saA.must(200, "PUT", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), map[string]any{"granted": false, "note": "撤回"}, nil)
	teacherOnly("a member of another school after the consent is withdrawn", teacherB)
	full("a member of the recording's school after the consent is withdrawn", w.teacher2)
}

// TestResearchGroupEditDelete: the administrators of a group's place edit
// and delete it; a member (or any role that may not manage groups) gets
// 403, another school's or district's admin 404; a deleted group, its
// activities and the recordings they shared are gone at once.
func TestResearchGroupEditDelete(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sys := w.users["system_admin"]
	teacher, sa, da := w.users["teacher"], w.users["school_admin"], w.users["district_admin"]
	teacherB, teacherBID := addUser(t, srv, sys, "rge.tb", map[string]any{"roles": []string{"teacher"}, "school_id": w.schoolB, "staff_no": "T-B-RGE"})
	daC, _ := addUser(t, srv, sys, "rge.dac", map[string]any{"roles": []string{"district_admin"}, "district_id": w.district2})
	rec2 := recNum(strings.TrimPrefix(w.rec2, "recording:"))

	var g, dg map[string]any
	sa.must(201, "POST", "/api/v1/research/groups", map[string]any{"name": "甲校数学组", "description": "每周三", "school_id": w.schoolA,
		"member_ids": []int64{w.userIDs["teacher"], w.teacher2ID}}, &g)
	if g["description"] != "每周三" {
		t.Fatalf("created group: %+v", g)
	}
	gp := "/api/v1/research/groups/" + itoa(id(g))
	da.must(201, "POST", "/api/v1/research/groups", map[string]any{"name": "区数学组", "member_ids": []int64{w.userIDs["teacher"], teacherBID}}, &dg)
	dgp := "/api/v1/research/groups/" + itoa(id(dg))
	edit := map[string]any{"name": "甲校初中数学组", "description": "每周三下午", "subject_id": w.subject}

	// Who edits and deletes which group.
	for _, c := range []struct {
		who  string
		a    *api
		path string
		want int
	}{
		{"a member", teacher, gp, 403},
		{"a member of the district group", teacher, dgp, 403},
		{"school B's admin", w.adminB, gp, 404},
		{"a teacher of school B, member of the district group only", teacherB, gp, 403},
		{"an expert of school B", w.expertB, gp, 403},
		{"another district's admin", daC, gp, 404},
		{"another district's admin, the district group", daC, dgp, 404},
		{"school A's admin, the district group", sa, dgp, 404},
		{"a student", w.users["student"], gp, 403},
	} {
		if r := c.a.send("PATCH", c.path, edit); r.status != c.want {
			t.Errorf("%s edits %s: %v, want %d", c.who, c.path, r, c.want)
		}
		if r := c.a.send("DELETE", c.path, nil); r.status != c.want {
			t.Errorf("%s deletes %s: %v, want %d", c.who, c.path, r, c.want)
		}
	}
	sa.must(400, "PATCH", gp, map[string]any{"name": " "}, nil)
	sa.must(400, "PATCH", gp, map[string]any{"name": "x", "description": strings.Repeat("述", 501)}, nil)
	sa.must(400, "PATCH", gp, map[string]any{"name": "x", "subject_id": 999999}, nil)
	var out map[string]any
	sa.must(200, "PATCH", gp, edit, &out)
	if out["name"] != "甲校初中数学组" || out["description"] != "每周三下午" || out["subject_id"] != float64(w.subject) {
		t.Fatalf("edited: %+v", out)
	}
	da.must(200, "PATCH", gp, map[string]any{"name": "甲校数学教研组", "description": ""}, &out)
	teacher.must(200, "GET", gp, nil, &out)
	if out["name"] != "甲校数学教研组" || out["description"] != "" || out["subject_id"] != float64(0) {
		t.Fatalf("the member reads: %+v", out)
	}

	// Deleted: the group, its activities and the recordings shared through it are gone.
	var act map[string]any
	w.teacher2.must(201, "POST", gp+"/activities", map[string]any{"topic": "同课异构", "recording_ids": []any{rec2}}, &act)
	aid := "/api/v1/research/activities/" + itoa(id(act))
	teacher.must(200, "GET", fmt.Sprintf("/api/v1/recordings/%d", rec2), nil, nil)
	sa.must(204, "DELETE", gp, nil, nil)
	sa.must(404, "DELETE", gp, nil, nil)
	for who, a := range map[string]*api{"a member": teacher, "its admin": sa, "the district admin": da} {
		for _, p := range []string{gp, aid, aid + "/comments"} {
			if r := a.send("GET", p, nil); r.status != 404 {
				t.Errorf("%s reads %s after the delete: %v", who, p, r)
			}
		}
		var gs struct {
			Items []map[string]any `json:"items"`
		}
		a.must(200, "GET", "/api/v1/research/groups", nil, &gs)
		for _, x := range gs.Items {
			if id(x) == id(g) {
				t.Errorf("%s still lists the deleted group", who)
			}
		}
	}
	teacher.must(404, "POST", aid+"/comments", map[string]any{"text": "x"}, nil)
	teacher.must(404, "GET", fmt.Sprintf("/api/v1/recordings/%d", rec2), nil, nil)
	da.must(404, "PATCH", gp, edit, nil)
	// The district admin deletes the district group.
	da.must(204, "DELETE", dgp, nil, nil)

	var acts struct {
		Items []struct {
			Action   string `json:"action"`
			SchoolID int64  `json:"school_id"`
		} `json:"items"`
	}
	sys.must(200, "GET", "/api/v1/activity/recent?limit=200", nil, &acts)
	seen := map[string]int{}
	for _, a := range acts.Items {
		seen[a.Action]++
	}
	if seen["research.group_edit"] != 2 || seen["research.group_delete"] != 2 {
		t.Errorf("activity rows: %v", seen)
	}
}
