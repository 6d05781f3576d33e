package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/storage"
)

// classWithTracks files a finished class recording of teacher with the
// teacher's camera, microphone and screen share and a student's camera and
// microphone, each track's file in the recording's working directory, and
// each of them speaking once (the teacher 0–20 s, the student 30–50 s). It
// returns the recording and its track ids by source ("teacher-camera" …).
func classWithTracks(t *testing.T, st *storage.Store, dbPath string, teacher, student int64, title string, subject int64) (storage.RecordingID, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	r, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "sel-" + title, Title: title,
		SubjectID: storage.SubjectID(subject), Grade: 3, TeacherID: storage.UserID(teacher), ActivityIntervalMS: 500, StartedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tu, su := fmt.Sprintf("u%d", teacher), fmt.Sprintf("u%d", student)
	for _, p := range []storage.RecordingParticipant{{Identity: tu, UserID: storage.UserID(teacher), Name: "老师", Role: "teacher"},
		{Identity: su, UserID: storage.UserID(student), Name: "学生", Role: "student"}} {
		if err := st.AddRecordingParticipant(ctx, r.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(filepath.Dir(dbPath), "recordings", "work", fmt.Sprint(r.ID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	var results []storage.RecordingTrackResult
	for _, tr := range []struct{ who, identity, role, source, kind string }{
		{"teacher", tu, "teacher", "camera", "video"}, {"teacher", tu, "teacher", "microphone", "audio"}, {"teacher", tu, "teacher", "screen_share", "video"},
		{"student", su, "student", "camera", "video"}, {"student", su, "student", "microphone", "audio"},
	} {
		file := tr.who + "-" + tr.source + ".webm"
		if err := os.WriteFile(filepath.Join(dir, file), []byte("media of "+file), 0o644); err != nil {
			t.Fatal(err)
		}
		tid, err := st.AddRecordingTrack(ctx, r.ID, storage.RecordingTrackInput{TrackSID: "TR_" + file, Participant: tr.identity, Name: tr.who,
			Role: tr.role, Source: tr.source, Kind: tr.kind, Codec: "video/VP8", File: file})
		if err != nil {
			t.Fatal(err)
		}
		ids[tr.who+"-"+tr.source] = int64(tid)
		results = append(results, storage.RecordingTrackResult{ID: tid, SizeBytes: 20, DurationMS: 60_000, Status: storage.TrackReady})
	}
	if _, err := st.FinishRecording(ctx, storage.Actor{}, r.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: time.Now(),
		DurationMS: 60_000, Tracks: results, Speaking: []storage.SpeakingInterval{
			{Identity: tu, Role: "teacher", StartMS: 0, EndMS: 20_000, Level: 0.5},
			{Identity: su, Role: "student", StartMS: 30_000, EndMS: 50_000, Level: 0.4}}}); err != nil {
		t.Fatal(err)
	}
	return r.ID, ids
}

// TestSelectionToLibrary: a district runs a round from creation to
// publication — school admins nominate only their own school's recordings
// within the quota, the round's experts are assigned, the shortlist ranks
// the reviewed entries, only the district selects and publishes — and the
// library then plays only the teacher's tracks to viewers outside the
// school until the school records its consent, counts a play once per
// viewer and hour, and is preferred among the teacher's suggested lessons.
func TestSelectionToLibrary(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "yunke.db")
	srv := reviewServer(t, path)
	w := newReviewWorld(t, srv, path)
	sys, da, saA := w.users["system_admin"], w.district, w.users["school_admin"]
	teacherA := w.users["teacher"]
	sc := w.scheme(t)
	otherDA, _ := addUser(t, srv, sys, "da.east", map[string]any{"roles": []string{"district_admin"}, "district_id": w.district2})
	teacherB, _ := addUser(t, srv, sys, "sel.tb", map[string]any{"roles": []string{"teacher"}, "school_id": w.schoolB, "staff_no": "T-B-SEL"})
	studentB, _ := addUser(t, srv, sys, "sel.sb", map[string]any{"roles": []string{"student"}, "school_id": w.schoolB, "student_no": "S-B-SEL", "grade": 3})

	rec, tracks := classWithTracks(t, w.st, path, w.userIDs["teacher"], w.userIDs["student"], "分数的意义", w.subject)
	recA2, _ := classWithTracks(t, w.st, path, w.teacher2ID, w.userIDs["student"], "小数的意义", w.subject)
	recB, _ := strconv.Atoi(strings.TrimPrefix(w.recB, "recording:"))
	rec1, _ := strconv.Atoi(strings.TrimPrefix(w.rec1, "recording:"))

	round := map[string]any{"name": "2026 优质课评选", "scheme_id": sc.ID, "subject_id": w.subject, "per_school": 1,
		"expert_ids": []int64{w.userIDs["expert"]}, "nominate_by": time.Now().Add(time.Hour), "review_by": time.Now().Add(2 * time.Hour)}
	if r := da.send("POST", "/api/v1/selection/rounds", round); r.status != 400 || r.errFields()["expert_ids"] == nil {
		t.Fatalf("a round with an expert of one school only: %v", r)
	}
	round["expert_ids"] = []int64{w.expert2ID}
	round["district_id"] = w.district2
	if r := da.send("POST", "/api/v1/selection/rounds", round); r.status != 403 {
		t.Fatalf("a round in another district: %v", r)
	}
	delete(round, "district_id")
	var rd struct {
		ID      int64  `json:"id"`
		Phase   string `json:"phase"`
		Entries []struct {
			ID       int64   `json:"id"`
			Rank     int     `json:"rank"`
			Reviews  int     `json:"reviews"`
			Assigned int     `json:"assigned"`
			Mean     float64 `json:"mean"`
			Selected bool    `json:"selected"`
			SchoolID int64   `json:"school_id"`
		} `json:"entries"`
		SchoolEntries *int `json:"school_entries"`
	}
	da.must(201, "POST", "/api/v1/selection/rounds", round, &rd)
	if rd.Phase != "nominating" {
		t.Fatalf("new round: %+v", rd)
	}
	base := fmt.Sprintf("/api/v1/selection/rounds/%d", rd.ID)

	for _, c := range []struct {
		name         string
		a            *api
		method, path string
		body         any
		want         int
	}{
		{"another district's admin reads the round", otherDA, "GET", base, nil, 403},
		{"another district's admin publishes it", otherDA, "POST", base + "/publish", nil, 403},
		{"another district's admin selects in it", otherDA, "PUT", base + "/selection", map[string]any{"entry_ids": []int64{}}, 403},
		{"a school admin nominates another school's recording", saA, "POST", base + "/entries", map[string]any{"recording_id": recB}, 403},
		{"a school admin nominates a recording of the wrong subject", saA, "POST", base + "/entries", map[string]any{"recording_id": rec1}, 400},
		{"a teacher nominates", teacherA, "POST", base + "/entries", map[string]any{"recording_id": rec}, 403},
		{"a teacher selects", teacherA, "PUT", base + "/selection", map[string]any{"entry_ids": []int64{}}, 403},
		{"a teacher publishes", teacherA, "POST", base + "/publish", nil, 403},
		{"a school admin selects", saA, "PUT", base + "/selection", map[string]any{"entry_ids": []int64{}}, 403},
		{"the district admin nominates", da, "POST", base + "/entries", map[string]any{"recording_id": rec}, 403},
		{"publishing with nothing selected", da, "POST", base + "/publish", nil, 400},
		{"a school admin nominates their school's lesson", saA, "POST", base + "/entries", map[string]any{"recording_id": rec}, 201},
		{"the same lesson again", saA, "POST", base + "/entries", map[string]any{"recording_id": rec}, 409},
		{"a second lesson over the quota of one", saA, "POST", base + "/entries", map[string]any{"recording_id": recA2}, 409},
	} {
		if r := c.a.send(c.method, c.path, c.body); r.status != c.want {
			t.Errorf("%s: %v, want HTTP %d", c.name, r, c.want)
		}
	}
	// A nomination taken back frees the quota: school B's admin may not, school A's may.
	da.must(200, "GET", base, nil, &rd)
	first := rd.Entries[0].ID
	if r := w.adminB.send("DELETE", fmt.Sprintf("%s/entries/%d", base, first), nil); r.status != 403 {
		t.Fatalf("school B's admin withdraws school A's entry: %v", r)
	}
	saA.must(204, "DELETE", fmt.Sprintf("%s/entries/%d", base, first), nil, nil)
	saA.must(201, "POST", base+"/entries", map[string]any{"recording_id": rec}, nil)
	var rounds struct{ Items []map[string]any }
	otherDA.must(200, "GET", "/api/v1/selection/rounds", nil, &rounds)
	if len(rounds.Items) != 0 {
		t.Fatalf("another district's admin lists %v", rounds.Items)
	}
	rd.Entries = nil
	w.adminB.must(200, "GET", base, nil, &rd)
	if len(rd.Entries) != 0 || rd.SchoolEntries == nil || *rd.SchoolEntries != 0 {
		t.Fatalf("school B's admin sees %+v", rd)
	}

	// The round's expert finds the entry in their queue, tagged with the round.
	var queue struct {
		Items []struct {
			ID     int64  `json:"id"`
			Target string `json:"target"`
			Round  string `json:"round"`
		} `json:"items"`
	}
	w.expert2.must(200, "GET", "/api/v1/review/queue", nil, &queue)
	var assignment int64
	for _, q := range queue.Items {
		if q.Round == fmt.Sprintf("selection-%d", rd.ID) && q.Target == fmt.Sprintf("recording:%d", rec) {
			assignment = q.ID
		}
	}
	if assignment == 0 {
		t.Fatalf("the expert's queue has no assignment of the round: %+v", queue.Items)
	}
	da.must(200, "GET", base, nil, &rd)
	if len(rd.Entries) != 1 || rd.Entries[0].Assigned != 1 || rd.Entries[0].Reviews != 0 || rd.Entries[0].Rank != 0 {
		t.Fatalf("progress before review: %+v", rd.Entries)
	}
	entry := rd.Entries[0].ID
	if r := da.send("PUT", base+"/selection", map[string]any{"entry_ids": []int64{entry}}); r.status != 400 {
		t.Fatalf("selecting an entry without a review: %v", r)
	}
	w.expert2.must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", assignment), scores(4, 9.5), nil)
	da.must(200, "GET", base, nil, &rd)
	// C1 at level 4 of 4 (1.0, weight 40) and C2 at 9.5 of 0–10 (0.95, weight 60): 97.
	if e := rd.Entries[0]; e.Reviews != 1 || e.Rank != 1 || e.Mean != 97 {
		t.Fatalf("shortlist after review: %+v", rd.Entries)
	}
	da.must(200, "PUT", base+"/selection", map[string]any{"entry_ids": []int64{entry}}, &rd)
	if !rd.Entries[0].Selected {
		t.Fatalf("selection: %+v", rd.Entries)
	}
	var pub struct {
		LessonIDs []int64 `json:"lesson_ids"`
	}
	da.must(200, "POST", base+"/publish", nil, &pub)
	if len(pub.LessonIDs) != 1 {
		t.Fatalf("published %+v", pub)
	}
	if r := da.send("POST", base+"/publish", nil); r.status != 409 {
		t.Fatalf("publishing twice: %v", r)
	}
	if r := saA.send("POST", base+"/entries", map[string]any{"recording_id": recA2}); r.status != 409 {
		t.Fatalf("nominating to a published round: %v", r)
	}
	lesson := fmt.Sprintf("/api/v1/library/%d", pub.LessonIDs[0])

	// The library, seen from school B: the teacher-only version.
	type trackRef struct {
		ID     int64  `json:"id"`
		Role   string `json:"role"`
		Source string `json:"source"`
		URL    string `json:"url"`
	}
	var detail struct {
		Version       string     `json:"version"`
		FullAvailable bool       `json:"full_available"`
		Plays         int64      `json:"plays"`
		Tracks        []trackRef `json:"tracks"`
		Participants  []struct {
			Role string `json:"role"`
		} `json:"participants"`
	}
	onlyTeacher := func(who string) {
		t.Helper()
		if detail.Version != "teacher_only" || detail.FullAvailable || len(detail.Tracks) != 3 || len(detail.Participants) != 1 {
			t.Fatalf("%s sees %+v; want the teacher-only version", who, detail)
		}
		for _, tr := range detail.Tracks {
			if tr.Role != "teacher" {
				t.Fatalf("%s is given a %s track: %+v", who, tr.Role, detail.Tracks)
			}
		}
	}
	var list struct {
		Items []struct {
			ID      int64  `json:"id"`
			Version string `json:"version"`
		} `json:"items"`
		Total int `json:"total"`
	}
	teacherB.must(200, "GET", "/api/v1/library?grade=3&q=分数", nil, &list)
	if list.Total != 1 || list.Items[0].Version != "teacher_only" {
		t.Fatalf("teacher B's library: %+v", list)
	}
	teacherB.must(200, "GET", "/api/v1/library?q=小数", nil, &list)
	if list.Total != 0 {
		t.Fatalf("a search for another title: %+v", list)
	}
	teacherB.must(200, "GET", lesson, nil, &detail)
	onlyTeacher("teacher B")
	studentB.must(200, "GET", lesson, nil, &detail)
	onlyTeacher("student B")
	if r := studentB.send("GET", lesson+"?version=full", nil); r.status != 403 || r.errCode() != "teacher_only" {
		t.Fatalf("a student asks for the full version: %v", r)
	}
	media := func(track int64) string { return fmt.Sprintf("%s/tracks/%d/media", lesson, track) }
	if r := teacherB.must(200, "GET", media(tracks["teacher-camera"]), nil, nil); string(r.body) != "media of teacher-camera.webm" {
		t.Fatalf("the teacher's camera: %q", r.body)
	}
	for _, k := range []string{"student-camera", "student-microphone"} {
		if r := teacherB.send("GET", media(tracks[k]), nil); r.status != 404 {
			t.Errorf("teacher B fetches the %s track: %v", k, r)
		}
	}
	// Around the library: the recording routes stay closed to them.
	recPath := fmt.Sprintf("/api/v1/recordings/%d", rec)
	for _, c := range []struct {
		a            *api
		method, path string
	}{
		{teacherB, "GET", recPath}, {teacherB, "GET", recPath + "/download"}, {teacherB, "POST", recPath + "/download"},
		{teacherB, "GET", fmt.Sprintf("%s/tracks/%d/media", recPath, tracks["student-camera"])}, {teacherB, "GET", recPath + "/speaking"},
	} {
		if r := c.a.send(c.method, c.path, nil); r.status != 404 {
			t.Errorf("%s %s as teacher B: %v, want 404", c.method, c.path, r)
		}
	}
	for _, p := range []string{recPath, recPath + "/download"} {
		if r := studentB.send("GET", p, nil); r.status != 403 {
			t.Errorf("GET %s as student B: %v, want 403", p, r)
		}
	}
	// Another district sees nothing of it.
	if r := otherDA.send("GET", lesson, nil); r.status != 404 {
		t.Fatalf("another district's admin opens the lesson: %v", r)
	}
	otherDA.must(200, "GET", "/api/v1/library", nil, &list)
	if list.Total != 0 {
		t.Fatalf("another district's library: %+v", list)
	}
	// The lesson's own teacher, and the district, get the full version.
	for who, a := range map[string]*api{"its teacher": teacherA, "the district admin": da} {
		a.must(200, "GET", lesson, nil, &detail)
		if detail.Version != "full" || len(detail.Tracks) != 5 {
			t.Fatalf("%s sees %+v", who, detail)
		}
	}

	// Plays: parallel calls of one viewer count once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := teacherB.send("POST", lesson+"/plays", nil); r.status != 200 {
				t.Error(r)
			}
		}()
	}
	wg.Wait()
	var play struct {
		Counted bool  `json:"counted"`
		Plays   int64 `json:"plays"`
	}
	studentB.must(200, "POST", lesson+"/plays", nil, &play)
	if !play.Counted || play.Plays != 2 {
		t.Fatalf("plays after 8 parallel calls of one viewer and one of another: %+v", play)
	}

	// Consent: only school A's admin records it; then the full version is everybody's.
	if r := w.adminB.send("PUT", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), map[string]any{"granted": true, "note": "x"}); r.status != 403 {
		t.Fatalf("school B's admin records school A's consent: %v", r)
	}
	if r := saA.send("PUT", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), map[string]any{"granted": true}); r.status != 400 {
		t.Fatalf("consent without a note: %v", r)
	}
	var consent storage.SchoolConsent
	saA.must(200, "PUT", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), map[string]any{"granted": true, "note": "家长同意书已收齐"}, &consent)
	if !consent.Granted || consent.RecordedBy != storage.UserID(w.userIDs["school_admin"]) || consent.RecordedAt.IsZero() {
		t.Fatalf("consent: %+v", consent)
	}
	da.must(200, "GET", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), nil, &consent)
	if r := otherDA.send("GET", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), nil); r.status != 403 {
		t.Fatalf("another district reads the consent: %v", r)
	}
	studentB.must(200, "GET", lesson+"?version=full", nil, &detail)
	if detail.Version != "full" || len(detail.Tracks) != 5 {
		t.Fatalf("after consent student B sees %+v", detail)
	}
	studentB.must(200, "GET", media(tracks["student-camera"]), nil, nil)
	// Withdrawn, the district is back to the teacher-only version at once.
	saA.must(200, "PUT", fmt.Sprintf("/api/v1/schools/%d/consent", w.schoolA), map[string]any{"granted": false, "note": "撤回"}, &consent)
	teacherB.must(200, "GET", lesson, nil, &detail)
	onlyTeacher("teacher B after the consent is withdrawn")
	if r := studentB.send("GET", media(tracks["student-camera"]), nil); r.status != 404 {
		t.Fatalf("a student track after the consent is withdrawn: %v", r)
	}
	var acts struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	sys.must(200, "GET", "/api/v1/activity/recent?limit=200", nil, &acts)
	seen := map[string]int{}
	for _, a := range acts.Items {
		seen[a.Action]++
	}
	for _, a := range []string{"selection.round_create", "selection.nominate", "selection.select", "library.publish", "library.play", "school.consent"} {
		if seen[a] == 0 {
			t.Errorf("no %s activity row (%v)", a, seen)
		}
	}
	if seen["school.consent"] != 2 {
		t.Errorf("school.consent rows = %d, want 2", seen["school.consent"])
	}
	if seen["library.play"] != 2 {
		t.Errorf("library.play rows = %d, want 2", seen["library.play"])
	}

	// Feedback: a colleague's weak lesson is pointed at the library lesson
	// before a higher-scoring lesson that is not in the library.
	q := w.assign(t, sc, fmt.Sprintf("recording:%d", recA2), w.userIDs["expert"])
	w.users["expert"].must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", q[0]), scores(1, 2), nil)
	q = w.assign(t, sc, w.rec1, w.userIDs["expert"])
	w.users["expert"].must(200, "POST", fmt.Sprintf("/api/v1/review/assignments/%d/submit", q[0]), scores(4, 10), nil)
	var fb struct {
		Items []struct {
			Suggestions []struct {
				Target    string `json:"target"`
				LibraryID int64  `json:"library_id"`
			} `json:"suggestions"`
		} `json:"items"`
	}
	w.teacher2.must(200, "GET", "/api/v1/review/feedback", nil, &fb)
	if len(fb.Items) != 1 || len(fb.Items[0].Suggestions) != 2 || fb.Items[0].Suggestions[0].LibraryID != pub.LessonIDs[0] ||
		fb.Items[0].Suggestions[1].Target != w.rec1 || fb.Items[0].Suggestions[1].LibraryID != 0 {
		t.Fatalf("suggestions: %+v", fb.Items)
	}

	// Withdrawing: the district's admin only, with a reason; the lesson
	// leaves the listing and its play routes at once, and comes back when
	// published again, with its plays.
	for _, c := range []struct {
		who  string
		a    *api
		want int
	}{
		{"another district's admin", otherDA, 404}, {"its school's admin", saA, 403}, {"its teacher", teacherA, 403},
		{"a student", studentB, 403}, {"an expert", w.users["expert"], 403},
	} {
		if r := c.a.send("POST", lesson+"/withdraw", map[string]any{"reason": "x"}); r.status != c.want {
			t.Errorf("%s withdraws the lesson: %v, want %d", c.who, r, c.want)
		}
		if r := c.a.send("POST", lesson+"/republish", nil); r.status != c.want {
			t.Errorf("%s publishes the lesson again: %v, want %d", c.who, r, c.want)
		}
	}
	if r := da.send("POST", lesson+"/withdraw", map[string]any{"reason": "  "}); r.status != 400 || r.errFields()["reason"] == nil {
		t.Fatalf("withdrawing without a reason: %v", r)
	}
	if r := da.send("POST", lesson+"/republish", nil); r.status != 409 || r.errCode() != "closed" {
		t.Fatalf("publishing a lesson in the library again: %v", r)
	}
	var wl storage.LibraryLesson
	da.must(200, "POST", lesson+"/withdraw", map[string]any{"reason": "课件版权待确认"}, &wl)
	if !wl.Withdrawn || wl.WithdrawReason != "课件版权待确认" || wl.WithdrawnBy == 0 || wl.Plays != 2 {
		t.Fatalf("withdrawn lesson: %+v", wl)
	}
	if r := da.send("POST", lesson+"/withdraw", map[string]any{"reason": "again"}); r.status != 409 {
		t.Fatalf("withdrawing twice: %v", r)
	}
	for _, c := range []struct {
		method, path string
	}{{"GET", lesson}, {"GET", media(tracks["teacher-camera"])}, {"POST", lesson + "/plays"}} {
		for who, a := range map[string]*api{"teacher B": teacherB, "its teacher": teacherA, "the district admin": da} {
			if r := a.send(c.method, c.path, nil); r.status != 404 {
				t.Errorf("%s %s after the withdrawal as %s: %v, want 404", c.method, c.path, who, r)
			}
		}
	}
	teacherB.must(200, "GET", "/api/v1/library", nil, &list)
	if list.Total != 0 {
		t.Fatalf("the library after the withdrawal: %+v", list)
	}
	if r := teacherB.send("GET", "/api/v1/library?withdrawn=true", nil); r.status != 403 {
		t.Fatalf("a teacher lists the withdrawn lessons: %v", r)
	}
	da.must(200, "GET", "/api/v1/library?withdrawn=true", nil, &list)
	if list.Total != 1 || list.Items[0].ID != pub.LessonIDs[0] {
		t.Fatalf("the withdrawn lessons: %+v", list)
	}
	otherDA.must(200, "GET", "/api/v1/library?withdrawn=true", nil, &list)
	if list.Total != 0 {
		t.Fatalf("another district's withdrawn lessons: %+v", list)
	}
	fb.Items = nil // (decoding into the old items would keep their library_id)
	w.teacher2.must(200, "GET", "/api/v1/review/feedback", nil, &fb)
	if len(fb.Items) != 1 || slices.ContainsFunc(fb.Items[0].Suggestions, func(x struct {
		Target    string `json:"target"`
		LibraryID int64  `json:"library_id"`
	}) bool {
		return x.LibraryID != 0
	}) {
		t.Fatalf("suggestions after the withdrawal: %+v", fb.Items)
	}
	da.must(200, "POST", lesson+"/republish", nil, &wl)
	if wl.Withdrawn || wl.Plays != 2 {
		t.Fatalf("published again: %+v", wl)
	}
	teacherB.must(200, "GET", lesson, nil, &detail)
	sys.must(200, "GET", "/api/v1/activity/recent?limit=200", nil, &acts)
	seen = map[string]int{}
	for _, a := range acts.Items {
		seen[a.Action]++
	}
	if seen["library.withdraw"] != 1 || seen["library.republish"] != 1 {
		t.Errorf("withdraw and republish rows: %v", seen)
	}
}
