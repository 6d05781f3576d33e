package storage_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// reportWorld is a small district with hand-counted activity (see
// seedReportWorld for the rows and TestReportFacts for the totals).
type reportWorld struct {
	d1, d2           storage.DistrictID
	a, b, k, x       storage.SchoolID
	t1, t2, t4, t5   storage.UserID
	t6, s1, s2       storage.UserID
	nov, dec, oct    [2]time.Time
	year             [2]time.Time
	kindA, kindK     storage.SchoolKind
	mathID, chinese  storage.SubjectID
	questionsInNov   int
	answersInNov     int
	firstAnswerMins  []float64
	sessionsInNov    int
	sessionSecsInNov int
}

func cst(y int, m time.Month, d, h, min, sec int) time.Time {
	return time.Date(y, m, d, h, min, sec, 0, storage.Zone)
}

func msOf(t time.Time) int64 { return t.UnixMilli() }

// seedReportWorld fills s with:
//
//	district 1: school A (primary: teachers t1 trainee, t2, t3; student s1), school B (primary:
//	teacher t4 trainee; student s2), school K (kindergarten: teacher t5); district 2: school X (t6).
//	recorded lessons: t1 A 3 Nov, t1 A 20 Nov, t2 A 30 Nov 23:30 (still November in Shanghai),
//	t4 B 1 Dec 00:10 (30 Nov in UTC: December here), t4 B 15 Oct, t2 A 5 Nov failed (not counted),
//	t6 X 10 Nov (district 2), t5 K 10 Nov a tutoring recording (not a lesson).
//	tutoring: a request 30 Nov 23:45 matched at 23:46 (wait 60 s), its session 23:50 to 00:40
//	(3,000 s, counted in November); a request 1 Dec 09:59:30 matched at 10:00 (wait 30 s),
//	session 600 s; a request 10 Nov cancelled. Ratings: the November session 5, solved.
//	Q&A (school A): two questions in November, one answered after 10 min with two answers and
//	adopted, one with one answer after 30 min; one in December.
func seedReportWorld(t *testing.T, s *storage.Store) reportWorld {
	t.Helper()
	ctx := context.Background()
	w := reportWorld{kindA: storage.KindPrimary, kindK: storage.KindKindergarten, mathID: 2, chinese: 1}
	d1 := must(s.CreateDistrict(ctx, admin, "RD1", "一区"))(t)
	d2 := must(s.CreateDistrict(ctx, admin, "RD2", "二区"))(t)
	w.d1, w.d2 = d1.ID, d2.ID
	school := func(d storage.DistrictID, code string, k storage.SchoolKind) storage.SchoolID {
		return must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: d, Code: code, Name: code + "校", Kind: k, Active: true}))(t).ID
	}
	w.a, w.b, w.k = school(w.d1, "RA", storage.KindPrimary), school(w.d1, "RB", storage.KindPrimary), school(w.d1, "RK", storage.KindKindergarten)
	w.x = school(w.d2, "RX", storage.KindPrimary)
	user := func(name string, d storage.DistrictID, sc storage.SchoolID, role storage.Role, trainee bool) storage.UserID {
		in := storage.UserInput{Username: name, Name: name, DistrictID: d, SchoolID: sc, Roles: []storage.Role{role}, Active: true, Trainee: trainee}
		if role == storage.RoleStudent {
			in.Grade = 3
		}
		return must(s.CreateUser(ctx, admin, in, "", false))(t).ID
	}
	w.t1 = user("rt1", w.d1, w.a, storage.RoleTeacher, true)
	w.t2 = user("rt2", w.d1, w.a, storage.RoleTeacher, false)
	user("rt3", w.d1, w.a, storage.RoleTeacher, false)
	w.t4 = user("rt4", w.d1, w.b, storage.RoleTeacher, true)
	w.t5 = user("rt5", w.d1, w.k, storage.RoleTeacher, false)
	w.t6 = user("rt6", w.d2, w.x, storage.RoleTeacher, false)
	w.s1 = user("rs1", w.d1, w.a, storage.RoleStudent, false)
	w.s2 = user("rs2", w.d1, w.b, storage.RoleStudent, false)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := s.ExecForTest(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rec := func(kind string, teacher storage.UserID, d storage.DistrictID, sc storage.SchoolID, subject storage.SubjectID, at time.Time, status string) {
		exec(`INSERT INTO recordings (kind, room, teacher_id, district_id, school_id, subject_id, grade, started_at, ended_at, duration_ms, status, created_at, updated_at)
			VALUES ($1, 'r', $2, $3, $4, $5, 3, $6, $7, 2400000, $8, $6, $6)`,
			kind, int64(teacher), int64(d), int64(sc), int64(subject), msOf(at), msOf(at)+2400000, status)
	}
	rec("class", w.t1, w.d1, w.a, w.mathID, cst(2026, 11, 3, 10, 0, 0), "ready")
	rec("class", w.t1, w.d1, w.a, w.mathID, cst(2026, 11, 20, 10, 0, 0), "ready")
	rec("class", w.t2, w.d1, w.a, w.chinese, cst(2026, 11, 30, 23, 30, 0), "interrupted")
	rec("class", w.t4, w.d1, w.b, w.mathID, cst(2026, 12, 1, 0, 10, 0), "ready")
	rec("class", w.t4, w.d1, w.b, w.mathID, cst(2026, 10, 15, 9, 0, 0), "ready")
	rec("class", w.t2, w.d1, w.a, w.mathID, cst(2026, 11, 5, 9, 0, 0), "failed")
	rec("class", w.t6, w.d2, w.x, w.mathID, cst(2026, 11, 10, 9, 0, 0), "ready")
	rec("tutoring", w.t5, w.d1, w.k, w.mathID, cst(2026, 11, 10, 9, 0, 0), "ready")

	var reqID int64
	request := func(student storage.UserID, sc storage.SchoolID, at time.Time, status string) int64 {
		exec(`INSERT INTO tutoring_requests (student_id, district_id, school_id, subject_id, grade, status, created_at, updated_at)
			VALUES ($1, $2, $3, 2, 3, $4, $5, $5)`, int64(student), int64(w.d1), int64(sc), status, msOf(at))
		reqID++
		return reqID
	}
	session := func(req int64, student storage.UserID, sc storage.SchoolID, created, started time.Time, secs int) {
		exec(`INSERT INTO tutoring_sessions (request_id, student_id, teacher_id, district_id, school_id, subject_id, grade, created_at, started_at, ended_at, duration_s, end_reason)
			VALUES ($1, $2, $3, $4, $5, 2, 3, $6, $7, $8, $9, 'ended')`,
			req, int64(student), int64(w.t2), int64(w.d1), int64(sc), msOf(created), msOf(started), msOf(started)+int64(secs)*1000, secs)
	}
	r1 := request(w.s1, w.a, cst(2026, 11, 30, 23, 45, 0), "matched")
	session(r1, w.s1, w.a, cst(2026, 11, 30, 23, 46, 0), cst(2026, 11, 30, 23, 50, 0), 3000)
	r2 := request(w.s2, w.b, cst(2026, 12, 1, 9, 59, 30), "matched")
	session(r2, w.s2, w.b, cst(2026, 12, 1, 10, 0, 0), cst(2026, 12, 1, 10, 0, 0), 600)
	request(w.s1, w.a, cst(2026, 11, 10, 8, 0, 0), "cancelled")
	exec(`INSERT INTO tutoring_ratings (session_id, district_id, school_id, subject_id, teacher_id, month, score, solved, rated_at, updated_at)
		VALUES (1, $1, $2, 2, $3, 202611, 5, TRUE, $4, $4)`, int64(w.d1), int64(w.a), int64(w.t2), msOf(cst(2026, 12, 1, 1, 0, 0)))
	w.sessionsInNov, w.sessionSecsInNov = 1, 3000

	question := func(at time.Time, firstAfter time.Duration, answers int, adopted bool) {
		first := int64(0)
		if firstAfter > 0 {
			first = msOf(at.Add(firstAfter))
		}
		var ad int64
		if adopted {
			ad = 1
		}
		exec(`INSERT INTO qa_questions (author_id, district_id, school_id, subject_id, grade, status, answer_count, adopted_answer_id, first_answer_at, created_at, updated_at)
			VALUES ($1, $2, $3, 2, 3, 'answered', $4, $5, $6, $7, $7)`, int64(w.s1), int64(w.d1), int64(w.a), answers, ad, first, msOf(at))
	}
	question(cst(2026, 11, 4, 19, 0, 0), 10*time.Minute, 2, true)
	question(cst(2026, 11, 6, 19, 0, 0), 30*time.Minute, 1, false)
	question(cst(2026, 12, 2, 19, 0, 0), 0, 0, false)
	for q, n := range map[int]int{1: 2, 2: 1} {
		for range n {
			exec(`INSERT INTO qa_answers (question_id, author_id, created_at, updated_at) VALUES ($1, $2, $3, $3)`,
				q, int64(w.t1), msOf(cst(2026, 11, 7, 0, 0, 0)))
		}
	}
	w.questionsInNov, w.answersInNov, w.firstAnswerMins = 2, 3, []float64{10, 30}

	w.oct = [2]time.Time{cst(2026, 10, 1, 0, 0, 0), cst(2026, 11, 1, 0, 0, 0)}
	w.nov = [2]time.Time{cst(2026, 11, 1, 0, 0, 0), cst(2026, 12, 1, 0, 0, 0)}
	w.dec = [2]time.Time{cst(2026, 12, 1, 0, 0, 0), cst(2027, 1, 1, 0, 0, 0)}
	w.year = [2]time.Time{cst(2026, 1, 1, 0, 0, 0), cst(2027, 1, 1, 0, 0, 0)}
	return w
}

// TestReportFacts: the statistics' facts reproduce hand-counted totals on
// both backends — in Shanghai months, per district and school, by kind and
// subject, distinct teachers exact over the period, a session crossing
// midnight counted (with all its minutes) on the day it started.
func TestReportFacts(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReportWorld(t, s)
		total := func(f storage.Fact, span [2]time.Time, d storage.DistrictID, schools []storage.SchoolID) float64 {
			t.Helper()
			rows := must(s.ReportFact(ctx, storage.FactQuery{Fact: f, From: span[0], To: span[1], DistrictID: d, SchoolIDs: schools}))(t)
			if len(rows) != 1 || rows[0].Key != "" {
				t.Fatalf("%s: %+v", f, rows)
			}
			return rows[0].Value
		}
		by := func(f storage.Fact, span [2]time.Time, d storage.DistrictID, dim storage.Dimension) map[string]float64 {
			t.Helper()
			out := map[string]float64{}
			for _, r := range must(s.ReportFact(ctx, storage.FactQuery{Fact: f, From: span[0], To: span[1], DistrictID: d, By: dim}))(t) {
				out[r.Key] = r.Value
			}
			return out
		}
		check := func(name string, got, want float64) {
			t.Helper()
			if got != want {
				t.Errorf("%s = %v; want %v", name, got, want)
			}
		}
		check("lessons in November, district 1", total("recording.lessons", w.nov, w.d1, nil), 3)
		check("lessons in November, everywhere", total("recording.lessons", w.nov, 0, nil), 4)
		check("lessons in December, district 1", total("recording.lessons", w.dec, w.d1, nil), 1)
		check("lessons in October, district 1", total("recording.lessons", w.oct, w.d1, nil), 1)
		check("lessons in 2026, district 1", total("recording.lessons", w.year, w.d1, nil), 5)
		check("teachers recording in November", total("recording.teachers", w.nov, w.d1, nil), 2)
		// Distinct over the year: t1 (Nov), t2 (Nov), t4 (Oct and Dec) = 3, not 2 + 1 + 1.
		check("teachers recording in 2026", total("recording.teachers", w.year, w.d1, nil), 3)
		check("trainees recording in 2026", total("recording.trainees", w.year, w.d1, nil), 2)
		check("trainees recording in November", total("recording.trainees", w.nov, w.d1, nil), 1)
		check("teachers of district 1", total("users.teachers", w.nov, w.d1, nil), 5)
		check("trainees of district 1", total("users.trainees", w.nov, w.d1, nil), 2)
		check("lessons of school B in 2026", total("recording.lessons", w.year, 0, []storage.SchoolID{w.b}), 2)
		check("lessons of no school", float64(len(must(s.ReportFact(ctx, storage.FactQuery{Fact: "recording.lessons", From: w.year[0], To: w.year[1], SchoolIDs: []storage.SchoolID{}}))(t))), 0)

		if got, want := by("recording.lessons", w.year, w.d1, storage.DimSchool), map[string]float64{fmt.Sprint(w.a): 3, fmt.Sprint(w.b): 2}; !mapsEqual(got, want) {
			t.Errorf("lessons by school = %v; want %v", got, want)
		}
		if got, want := by("recording.lessons", w.nov, 0, storage.DimKind), map[string]float64{"primary": 4}; !mapsEqual(got, want) {
			t.Errorf("lessons by kind = %v; want %v", got, want)
		}
		if got, want := by("recording.lessons", w.nov, w.d1, storage.DimSubject), map[string]float64{"2": 2, "1": 1}; !mapsEqual(got, want) {
			t.Errorf("lessons by subject = %v; want %v", got, want)
		}
		if got, want := by("users.teachers", w.nov, 0, storage.DimDistrict), map[string]float64{fmt.Sprint(w.d1): 5, fmt.Sprint(w.d2): 1}; !mapsEqual(got, want) {
			t.Errorf("teachers by district = %v; want %v", got, want)
		}

		// Tutoring: the session from 23:50 to 00:40 is November's, with its 50 minutes.
		check("sessions in November", total("tutoring.sessions", w.nov, w.d1, nil), float64(w.sessionsInNov))
		check("seconds in November", total("tutoring.seconds", w.nov, w.d1, nil), float64(w.sessionSecsInNov))
		check("sessions in December", total("tutoring.sessions", w.dec, w.d1, nil), 1)
		check("seconds in December", total("tutoring.seconds", w.dec, w.d1, nil), 600)
		check("requests in November", total("tutoring.requests", w.nov, w.d1, nil), 2)
		check("matched in November", total("tutoring.matched", w.nov, w.d1, nil), 1)
		check("good ratings in November", total("tutoring.ratings_good", w.nov, w.d1, nil), 1)
		check("solved in November", total("tutoring.solved", w.nov, w.d1, nil), 1)
		waits := must(s.ReportFact(ctx, storage.FactQuery{Fact: "tutoring.wait_seconds", From: w.year[0], To: w.year[1], DistrictID: w.d1}))(t)
		if len(waits) != 1 || !slices.Equal(waits[0].Values, []float64{30, 60}) {
			t.Errorf("waits in 2026 = %+v; want [30 60]", waits)
		}

		check("questions in November", total("qa.questions", w.nov, w.d1, nil), float64(w.questionsInNov))
		check("answers in November", total("qa.answers", w.nov, w.d1, nil), float64(w.answersInNov))
		check("adopted in November", total("qa.adopted", w.nov, w.d1, nil), 1)
		first := must(s.ReportFact(ctx, storage.FactQuery{Fact: "qa.first_answer_minutes", From: w.nov[0], To: w.nov[1], DistrictID: w.d1}))(t)
		if len(first) != 1 || !slices.Equal(first[0].Values, w.firstAnswerMins) {
			t.Errorf("first answers = %+v; want %v", first, w.firstAnswerMins)
		}

		// By knowledge point: lesson 1 treats points 1 and 2, lesson 2 point 1;
		// a question of November point 2. A row counts in each of its points.
		exec := func(q string, args ...any) {
			t.Helper()
			if err := s.ExecForTest(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO knowledge_points (id, subject_id, grade, code, name) VALUES (1, 2, 3, 'p1', '分数'), (2, 2, 3, 'p2', '小数')`)
		exec(`INSERT INTO recording_points (recording_id, knowledge_point_id) VALUES (1, 1), (1, 2), (2, 1)`)
		exec(`INSERT INTO qa_question_points (question_id, knowledge_point_id) VALUES (1, 2)`)
		if got, want := by("recording.lessons", w.nov, w.d1, storage.DimPoint), map[string]float64{"1": 2, "2": 1}; !mapsEqual(got, want) {
			t.Errorf("lessons by point = %v; want %v", got, want)
		}
		if got, want := by("qa.answers", w.nov, w.d1, storage.DimPoint), map[string]float64{"2": 2}; !mapsEqual(got, want) {
			t.Errorf("answers by point = %v; want %v", got, want)
		}
		if got, want := by("tutoring.requests", w.nov, w.d1, storage.DimPoint), map[string]float64{"0": 2}; !mapsEqual(got, want) {
			t.Errorf("requests by point = %v; want %v", got, want)
		}
		if kp := must(s.KnowledgePointNames(ctx, []storage.KnowledgePointID{1, 2, 99}))(t); len(kp) != 2 || kp[1] != "分数" {
			t.Errorf("KnowledgePointNames = %v", kp)
		}

		// One teacher: t1 recorded two lessons in November, t2 one.
		for teacher, want := range map[storage.UserID]float64{w.t1: 2, w.t2: 1, w.t4: 0} {
			rows := must(s.ReportFact(ctx, storage.FactQuery{Fact: "recording.lessons", From: w.nov[0], To: w.nov[1], DistrictID: w.d1, TeacherID: teacher}))(t)
			if rows[0].Value != want {
				t.Errorf("lessons of teacher %d = %v; want %v", teacher, rows[0].Value, want)
			}
		}
		if _, err := s.ReportFact(ctx, storage.FactQuery{Fact: "qa.questions", TeacherID: w.t1}); err == nil {
			t.Error("questions of a teacher: no error")
		}
		// A dimension a fact does not have, and an unknown fact, are refused.
		if _, err := s.ReportFact(ctx, storage.FactQuery{Fact: "users.teachers", By: storage.DimSubject}); err == nil {
			t.Error("teachers by subject: no error")
		}
		if _, err := s.ReportFact(ctx, storage.FactQuery{Fact: "no.such"}); err == nil {
			t.Error("unknown fact: no error")
		}
		names := must(s.UserNames(ctx, []storage.UserID{w.t1, w.t4, 999999}))(t)
		if len(names) != 2 || names[w.t1] != "rt1" || names[w.t4] != "rt4" {
			t.Errorf("UserNames = %v", names)
		}
	})
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReportFactsRun: every fact runs on both backends, on every dimension
// it offers, with and without a list of schools.
func TestReportFactsRun(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReportWorld(t, s)
		for _, f := range storage.Facts() {
			for _, dim := range storage.FactDimensions(f) {
				for _, q := range []storage.FactQuery{
					{Fact: f, From: w.year[0], To: w.year[1], By: dim},
					{Fact: f, From: w.year[0], To: w.year[1], By: dim, DistrictID: w.d1},
					{Fact: f, From: w.year[0], To: w.year[1], By: dim, SchoolIDs: []storage.SchoolID{w.a, w.k}},
				} {
					if _, err := s.ReportFact(ctx, q); err != nil {
						t.Errorf("%s by %q: %v", f, dim, err)
					}
				}
			}
		}
	})
}

// TestReportFactsClassesMicrolessonsUsers: classes (premium apart, every
// stay of a student summed), micro-lessons and active users, hand-counted.
func TestReportFactsClassesMicrolessonsUsers(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReportWorld(t, s)
		exec := func(q string, args ...any) {
			t.Helper()
			if err := s.ExecForTest(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		class := func(id int, at time.Time, premium bool, status string) {
			exec(`INSERT INTO classes (id, district_id, school_id, subject_id, grade, title, teacher_id, audience, starts_at, planned_minutes,
				premium, status, started_at, ended_at, created_at, updated_at)
				VALUES ($1, $2, $3, 2, 3, 'c', $4, 'school', $5, 45, $6, $7, $5, $8, $5, $5)`,
				id, int64(w.d1), int64(w.a), int64(w.t1), msOf(at), premium, status, msOf(at.Add(time.Hour)))
		}
		stay := func(class int, u storage.UserID, role string, from, to time.Time) {
			exec(`INSERT INTO class_attendance (class_id, user_id, role, joined_at, left_at, seen_at) VALUES ($1, $2, $3, $4, $5, $5)`,
				class, int64(u), role, msOf(from), msOf(to))
		}
		rate := func(class int, u storage.UserID, premium bool, score int) {
			exec(`INSERT INTO class_ratings (class_id, student_id, district_id, school_id, subject_id, teacher_id, premium, month, score, rated_at, updated_at)
				VALUES ($1, $2, $3, $4, 2, $5, $6, 202611, $7, 0, 0)`, class, int64(u), int64(w.d1), int64(w.a), int64(w.t1), premium, score)
		}
		c1 := cst(2026, 11, 12, 10, 0, 0)
		class(1, c1, false, "ended")
		class(2, cst(2026, 11, 13, 10, 0, 0), true, "ended")
		class(3, cst(2026, 11, 14, 10, 0, 0), false, "cancelled")
		stay(1, w.s1, "student", c1, c1.Add(20*time.Minute))
		stay(1, w.s1, "student", c1.Add(25*time.Minute), c1.Add(45*time.Minute))
		stay(1, w.s2, "student", c1, c1.Add(30*time.Minute))
		stay(1, w.t1, "teacher", c1, c1.Add(50*time.Minute))
		stay(2, w.s1, "student", c1.Add(24*time.Hour), c1.Add(25*time.Hour))
		rate(1, w.s1, false, 5)
		rate(1, w.s2, false, 3)
		rate(2, w.s1, true, 1)

		micro := func(id int, at time.Time, status string, published time.Time) {
			var pub int64
			if !published.IsZero() {
				pub = msOf(published)
			}
			exec(`INSERT INTO microlessons (id, teacher_id, district_id, school_id, subject_id, grade, title, file_key, size_bytes, container,
				video_codec, duration_ms, status, status_at, published_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, 2, 3, 'm', $5, 1, 'mp4', 'h264', 1000, $6, $7, $8, $7, $7)`,
				id, int64(w.t1), int64(w.d1), int64(w.a), fmt.Sprint("k", id), status, msOf(at), pub)
		}
		micro(1, cst(2026, 11, 2, 9, 0, 0), "published", cst(2026, 11, 20, 9, 0, 0))
		micro(2, cst(2026, 11, 3, 9, 0, 0), "returned", time.Time{})
		act := func(at time.Time, actor storage.UserID, action, subject string) {
			if err := s.RecordActivity(ctx, storage.Activity{At: at, ActorID: actor, Action: action, Subject: subject, DistrictID: w.d1}); err != nil {
				t.Fatal(err)
			}
		}
		act(cst(2026, 11, 15, 9, 0, 0), 0, "microlesson.approve", "microlesson:1")
		act(cst(2026, 11, 16, 9, 0, 0), 0, "microlesson.return", "microlesson:2")
		act(cst(2026, 11, 5, 9, 0, 0), w.s1, "auth.signin", "")
		act(cst(2026, 11, 6, 9, 0, 0), w.s1, "auth.signin", "")
		act(cst(2026, 11, 7, 9, 0, 0), w.t1, "auth.signin", "")
		act(cst(2026, 10, 7, 9, 0, 0), w.s2, "auth.signin", "")

		one := func(f storage.Fact, span [2]time.Time) storage.FactValue {
			t.Helper()
			rows := must(s.ReportFact(ctx, storage.FactQuery{Fact: f, From: span[0], To: span[1], DistrictID: w.d1}))(t)
			if len(rows) != 1 {
				t.Fatalf("%s: %+v", f, rows)
			}
			return rows[0]
		}
		for f, want := range map[storage.Fact]float64{
			"class.held": 1, "class.premium_held": 1, "class.attendance": 2,
			"class.ratings": 2, "class.ratings_good": 1, "class.rating_sum": 8,
			"microlesson.submitted": 2, "microlesson.reviewed": 2, "microlesson.published": 1,
			"users.active_students": 1, "users.active_teachers": 1,
		} {
			if got := one(f, w.nov).Value; got != want {
				t.Errorf("%s in November = %v; want %v", f, got, want)
			}
		}
		if got := one("class.minutes_present", w.nov).Values; !slices.Equal(got, []float64{30, 40}) {
			t.Errorf("minutes present = %v; want [30 40] (s1's two stays summed)", got)
		}
		if got := one("users.active_students", w.year).Value; got != 2 {
			t.Errorf("active students in 2026 = %v; want 2", got)
		}
	})
}

// TestReportFactsReviews: reviews of recorded lessons count when
// submitted (drafts aside); coverage counts the period's lessons with a
// submitted review.
func TestReportFactsReviews(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReportWorld(t, s)
		exec := func(q string, args ...any) {
			t.Helper()
			if err := s.ExecForTest(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO review_rubrics (id, code, name, version, created_at, updated_at) VALUES (1, 'r', 'r', 1, 0, 0)`)
		exec(`INSERT INTO review_schemes (id, name, rubric_id, rubric_version, body, created_at) VALUES (1, 's', 1, 1, '{}', 0)`)
		review := func(id int, recording int, expert storage.UserID, status string, at time.Time, total float64) {
			exec(`INSERT INTO review_assignments (id, scheme_id, target, expert_id, status, created_at) VALUES ($1, 1, $2, $3, $4, 0)`,
				id, fmt.Sprint("recording:", recording), int64(expert), status)
			sub := int64(0)
			if status == "submitted" {
				sub = msOf(at)
			}
			exec(`INSERT INTO reviews (assignment_id, status, body, total, submitted_at, updated_at) VALUES ($1, $2, '{}', $3, $4, 0)`,
				id, status, total, sub)
		}
		// Recordings 1 and 2 are t1's November lessons, 3 t2's, 5 t4's October lesson.
		review(1, 1, w.t2, "submitted", cst(2026, 11, 10, 9, 0, 0), 80)
		review(2, 1, w.t4, "submitted", cst(2026, 11, 11, 9, 0, 0), 90)
		review(3, 5, w.t2, "submitted", cst(2026, 11, 12, 9, 0, 0), 70)
		review(4, 2, w.t2, "draft", time.Time{}, 0)
		one := func(f storage.Fact) float64 {
			t.Helper()
			rows := must(s.ReportFact(ctx, storage.FactQuery{Fact: f, From: w.nov[0], To: w.nov[1], DistrictID: w.d1}))(t)
			return rows[0].Value
		}
		for f, want := range map[storage.Fact]float64{
			"review.reviews": 3, "review.score_sum": 240, "review.lessons": 2, "recording.lessons_reviewed": 1, "recording.lessons": 3,
		} {
			if got := one(f); got != want {
				t.Errorf("%s in November = %v; want %v", f, got, want)
			}
		}
	})
}
