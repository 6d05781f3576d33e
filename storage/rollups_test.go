package storage_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// TestReportRollupsEqualRaw: after writes of every kind the domains make
// (sessions started and ended, a rating given and changed, a question
// answered and deleted, a session deleted, activity across weeks, months
// and years), every rolled-up fact equals the raw-row query it replaces,
// for several periods, places and groupings — and the same after a
// rebuild from the raw rows.
func TestReportRollupsEqualRaw(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReportWorld(t, s)
		exec := func(q string, args ...any) {
			t.Helper()
			if err := s.ExecForTest(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// More tutoring: a session created, started later, then ended (its
		// minutes change); a second rating, changed; one session deleted
		// with its rating.
		exec(`INSERT INTO tutoring_requests (student_id, district_id, school_id, subject_id, grade, status, created_at, updated_at)
			VALUES ($1, $2, $3, 2, 3, 'waiting', $4, $4)`, int64(w.s2), int64(w.d1), int64(w.b), msOf(cst(2026, 11, 12, 18, 0, 0)))
		exec(`UPDATE tutoring_requests SET status = 'matched', session_id = 3 WHERE id = 4`)
		exec(`INSERT INTO tutoring_sessions (request_id, student_id, teacher_id, district_id, school_id, subject_id, grade, created_at)
			VALUES (4, $1, $2, $3, $4, 2, 3, $5)`, int64(w.s2), int64(w.t4), int64(w.d1), int64(w.b), msOf(cst(2026, 11, 12, 18, 0, 42)))
		exec(`UPDATE tutoring_sessions SET started_at = $2 WHERE id = $1`, 3, msOf(cst(2026, 11, 12, 18, 1, 0)))
		exec(`UPDATE tutoring_sessions SET ended_at = $2, duration_s = $3, end_reason = 'ended' WHERE id = $1`, 3, msOf(cst(2026, 11, 12, 18, 21, 0)), 1200)
		exec(`INSERT INTO tutoring_ratings (session_id, district_id, school_id, subject_id, teacher_id, month, score, solved, rated_at, updated_at)
			VALUES (3, $1, $2, 2, $3, 202611, 2, FALSE, $4, $4)`, int64(w.d1), int64(w.b), int64(w.t4), msOf(cst(2026, 11, 12, 19, 0, 0)))
		exec(`UPDATE tutoring_ratings SET score = 3, solved = TRUE, updated_at = $2 WHERE session_id = $1`, 3, msOf(cst(2026, 11, 13, 8, 0, 0)))
		exec(`INSERT INTO tutoring_ratings (session_id, district_id, school_id, subject_id, teacher_id, month, score, solved, rated_at, updated_at)
			VALUES (2, $1, $2, 2, $3, 202612, 3, FALSE, $4, $4)`, int64(w.d1), int64(w.b), int64(w.t2), msOf(cst(2026, 12, 1, 11, 0, 0)))
		exec(`DELETE FROM tutoring_ratings WHERE session_id = 2`)
		exec(`DELETE FROM tutoring_sessions WHERE id = 2`)
		// Q&A: a question answered late, then deleted; another answered.
		exec(`INSERT INTO qa_questions (author_id, district_id, school_id, subject_id, grade, status, created_at, updated_at)
			VALUES ($1, $2, $3, 2, 3, 'open', $4, $4)`, int64(w.s2), int64(w.d1), int64(w.b), msOf(cst(2026, 11, 20, 20, 0, 0)))
		exec(`UPDATE qa_questions SET answer_count = answer_count + 1, status = 'answered',
			first_answer_at = CASE WHEN first_answer_at = 0 THEN $2 ELSE first_answer_at END WHERE id = $1`, 4, msOf(cst(2026, 11, 20, 21, 0, 0)))
		exec(`UPDATE qa_questions SET answer_count = answer_count + 1, status = 'answered',
			first_answer_at = CASE WHEN first_answer_at = 0 THEN $2 ELSE first_answer_at END WHERE id = $1`, 3, msOf(cst(2026, 12, 2, 19, 7, 30)))
		exec(`INSERT INTO qa_answers (question_id, author_id, created_at, updated_at) VALUES (4, $1, $2, $2)`, int64(w.t4), msOf(cst(2026, 11, 20, 21, 0, 0)))
		exec(`INSERT INTO qa_answers (question_id, author_id, created_at, updated_at) VALUES (4, $1, $2, $2)`, int64(w.t1), msOf(cst(2026, 11, 20, 22, 0, 0)))
		exec(`INSERT INTO qa_answers (question_id, author_id, created_at, updated_at) VALUES (3, $1, $2, $2)`, int64(w.t1), msOf(cst(2026, 12, 2, 19, 7, 30)))
		exec(`DELETE FROM qa_answers WHERE question_id = 4 AND author_id = $1`, int64(w.t1))
		rate := func(q, answer int, score int) {
			exec(`INSERT INTO qa_ratings (question_id, answer_id, teacher_id, district_id, school_id, subject_id, month, score, rated_at)
				VALUES ($1, $2, $3, $4, $5, 2, 202611, $6, $7)`, q, answer, int64(w.t1), int64(w.d1), int64(w.a), score, msOf(cst(2026, 11, 25, 0, 0, 0)))
		}
		rate(1, 1, 5)
		rate(2, 3, 2)
		rate(4, 4, 4)
		exec(`UPDATE qa_ratings SET score = 3 WHERE question_id = 2`)
		exec(`UPDATE qa_questions SET status = 'adopted', adopted_answer_id = 4, adopted_at = $2 WHERE id = $1`, 4, msOf(cst(2026, 11, 21, 0, 0, 0)))
		exec(`UPDATE qa_questions SET status = 'deleted', claimed_by = 0, claim_expires_at = 0, updated_at = $2 WHERE id = $1`, 1, msOf(cst(2026, 12, 3, 0, 0, 0)))
		// Live classes: students join, leave, come back; one class ends
		// before its stays are closed (several rows of a pair at once), one
		// after; a premium class; a stay corrected, one deleted.
		class := func(premium bool, started time.Time) {
			exec(`INSERT INTO classes (district_id, school_id, subject_id, grade, title, teacher_id, audience, starts_at, planned_minutes,
				premium, status, started_at, created_at, updated_at) VALUES ($1, $2, 2, 3, 'c', $3, 'school', $4, 40, $5, 'live', $4, $4, $4)`,
				int64(w.d1), int64(w.a), int64(w.t1), msOf(started), premium)
		}
		stay := func(class int, user storage.UserID, role string, joined, left time.Time) {
			l := int64(0)
			if !left.IsZero() {
				l = msOf(left)
			}
			exec(`INSERT INTO class_attendance (class_id, user_id, role, joined_at, left_at, seen_at) VALUES ($1, $2, $3, $4, $5, $4)`,
				class, int64(user), role, msOf(joined), l)
		}
		c1, c2 := cst(2026, 11, 10, 9, 0, 0), cst(2026, 12, 1, 8, 0, 0)
		class(false, c1)
		class(false, c2)
		class(true, c2)
		stay(1, w.t1, "teacher", c1, time.Time{})
		stay(1, w.s1, "student", c1, c1.Add(20*time.Minute))
		stay(1, w.s1, "student", c1.Add(30*time.Minute), time.Time{})
		stay(1, w.s2, "student", c1.Add(5*time.Minute), time.Time{})
		exec(`UPDATE classes SET status = 'ended', ended_at = $2 WHERE id = $1`, 1, msOf(c1.Add(45*time.Minute)))
		exec(`UPDATE class_attendance SET left_at = $2, seen_at = $2 WHERE class_id = $1 AND left_at = 0`, 1, msOf(c1.Add(45*time.Minute)))
		stay(2, w.s1, "student", c2, time.Time{})
		stay(2, w.s2, "student", c2, c2.Add(10*time.Minute))
		stay(2, w.s2, "observer", c2, time.Time{})
		stay(3, w.s1, "student", c2, c2.Add(30*time.Minute))
		exec(`UPDATE class_attendance SET left_at = $2 WHERE class_id = $1 AND left_at = 0`, 2, msOf(c2.Add(40*time.Minute)))
		exec(`UPDATE classes SET status = 'ended', ended_at = $1 WHERE id IN (2, 3)`, msOf(c2.Add(40*time.Minute)))
		exec(`UPDATE class_attendance SET left_at = $2 WHERE class_id = 2 AND user_id = $1 AND role = 'student'`, int64(w.s2), msOf(c2.Add(15*time.Minute)))
		exec(`UPDATE class_attendance SET role = 'student' WHERE class_id = 2 AND role = 'observer'`)
		exec(`DELETE FROM class_attendance WHERE class_id = 1 AND user_id = $1 AND joined_at = $2`, int64(w.s1), msOf(c1))
		// Activity: students and teachers acting in several weeks, months
		// and years, some twice.
		for i, a := range []struct {
			at    time.Time
			actor storage.UserID
		}{
			{cst(2026, 11, 2, 8, 0, 0), w.s1}, {cst(2026, 11, 2, 9, 0, 0), w.s1}, {cst(2026, 11, 30, 23, 59, 0), w.s2},
			{cst(2026, 12, 1, 0, 1, 0), w.s2}, {cst(2026, 12, 7, 0, 0, 0), w.t1}, {cst(2026, 9, 1, 7, 0, 0), w.t4},
			{cst(2027, 1, 4, 10, 0, 0), w.s1}, {cst(2025, 12, 31, 23, 0, 0), w.t2}, {cst(2026, 11, 16, 12, 0, 0), w.t6},
		} {
			if err := s.RecordActivity(ctx, storage.Activity{At: a.at, ActorID: a.actor, Action: "user.sign_in", DistrictID: w.d1}); err != nil {
				t.Fatalf("activity %d: %v", i, err)
			}
		}

		periods := map[string][2]time.Time{
			"November":         w.nov,
			"December":         w.dec,
			"2026":             w.year,
			"week of 30 Nov":   {cst(2026, 11, 30, 0, 0, 0), cst(2026, 12, 7, 0, 0, 0)},
			"week of 16 Nov":   {cst(2026, 11, 16, 0, 0, 0), cst(2026, 11, 23, 0, 0, 0)},
			"term from 1 Sep":  {cst(2026, 9, 1, 0, 0, 0), cst(2027, 2, 1, 0, 0, 0)},
			"term from 15 Aug": {cst(2026, 8, 15, 0, 0, 0), cst(2027, 2, 15, 0, 0, 0)},
			"two years":        {cst(2025, 1, 1, 0, 0, 0), cst(2027, 1, 1, 0, 0, 0)},
			"a day":            {cst(2026, 12, 1, 0, 0, 0), cst(2026, 12, 2, 0, 0, 0)},
			"not at midnight":  {cst(2026, 11, 1, 6, 0, 0), cst(2026, 12, 1, 6, 0, 0)},
		}
		places := map[string]storage.FactQuery{
			"everywhere": {}, "district 1": {DistrictID: w.d1}, "district 2": {DistrictID: w.d2},
			"school A": {SchoolIDs: []storage.SchoolID{w.a}}, "schools A and B of district 1": {DistrictID: w.d1, SchoolIDs: []storage.SchoolID{w.a, w.b}},
		}
		compare := func(t *testing.T) (rolled, nonzero int) {
			t.Helper()
			for _, f := range storage.RolledUpFactsForTest() {
				for pn, p := range periods {
					for qn, place := range places {
						for _, by := range storage.FactDimensions(f) {
							q := place
							q.Fact, q.From, q.To, q.By = f, p[0], p[1], by
							s.UseRawFactsForTest(true)
							want := must(s.ReportFact(ctx, q))(t)
							s.UseRawFactsForTest(false)
							got := must(s.ReportFact(ctx, q))(t)
							if !reflect.DeepEqual(got, want) {
								t.Errorf("%s, %s, %s, by %q: roll-up %+v; raw %+v", f, pn, qn, by, got, want)
							}
							if storage.UsesRollupForTest(q) {
								rolled++
								if slices.ContainsFunc(want, func(v storage.FactValue) bool { return v.Value != 0 || len(v.Values) > 0 }) {
									nonzero++
								}
							}
						}
					}
				}
			}
			return rolled, nonzero
		}
		rolled, nonzero := compare(t)
		// The comparison means something: most queries took the roll-up,
		// and many of them counted something.
		if rolled < 500 || nonzero < 150 {
			t.Errorf("%d queries read a roll-up, %d of them non-zero", rolled, nonzero)
		}
		for _, f := range storage.RolledUpFactsForTest() {
			q := storage.FactQuery{Fact: f, From: periods["not at midnight"][0], To: periods["not at midnight"][1]}
			if storage.UsesRollupForTest(q) {
				t.Errorf("%s not from midnight read a roll-up", f)
			}
		}
		// Active users only roll up over whole years, months and weeks.
		aug := storage.FactQuery{Fact: "users.active_students", From: periods["term from 15 Aug"][0], To: periods["term from 15 Aug"][1]}
		sep := storage.FactQuery{Fact: "users.active_students", From: periods["term from 1 Sep"][0], To: periods["term from 1 Sep"][1]}
		if storage.UsesRollupForTest(aug) || !storage.UsesRollupForTest(sep) {
			t.Errorf("active students from 15 Aug rolled up %v, from 1 Sep %v", storage.UsesRollupForTest(aug), storage.UsesRollupForTest(sep))
		}
		if err := s.RebuildReportRollups(ctx); err != nil {
			t.Fatal(err)
		}
		t.Run("rebuilt", func(t *testing.T) { compare(t) })
	})
}

// BenchmarkRollupWriteCost: what the roll-ups' triggers add to the writes
// they follow — an activity row (a sign-in) and a tutoring session's life
// (created, started, ended, rated) — with the triggers on and, for
// comparison, off.
func BenchmarkRollupWriteCost(b *testing.B) {
	for _, be := range backends {
		for _, on := range []bool{true, false} {
			name := be.name + "/triggers_on"
			if !on {
				name = be.name + "/triggers_off"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				s := be.open(b)
				exec := func(q string, args ...any) {
					if err := s.ExecForTest(ctx, q, args...); err != nil {
						b.Fatalf("%s: %v", q, err)
					}
				}
				if !on {
					exec(`UPDATE report_rollup_state SET bulk = TRUE`)
				}
				fatal := func(err error) {
					if err != nil {
						b.Fatal(err)
					}
				}
				d, err := s.CreateDistrict(ctx, admin, "BW", "b")
				fatal(err)
				sc, err := s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: d.ID, Code: "BW1", Name: "b", Kind: storage.KindPrimary, Active: true})
				fatal(err)
				user := func(name string, role storage.Role) storage.UserID {
					in := storage.UserInput{Username: name, Name: name, DistrictID: d.ID, SchoolID: sc.ID, Roles: []storage.Role{role}, Active: true, Grade: 3}
					u, err := s.CreateUser(ctx, admin, in, "", false)
					fatal(err)
					return u.ID
				}
				st, te := user("bws", storage.RoleStudent), user("bwt", storage.RoleTeacher)
				at := time.Date(2026, 3, 2, 9, 0, 0, 0, storage.Zone)
				b.Run("activity", func(b *testing.B) {
					i := 0
					for b.Loop() {
						i++
						if err := s.RecordActivity(ctx, storage.Activity{At: at.Add(time.Duration(i) * time.Hour), ActorID: st,
							Action: "user.sign_in", DistrictID: d.ID, SchoolID: sc.ID}); err != nil {
							b.Fatal(err)
						}
					}
				})
				i := int64(0) // ids go on across the runs of the sub-benchmark
				b.Run("tutoring_session", func(b *testing.B) {
					for b.Loop() {
						i++
						t0 := msOf(at) + i*60_000
						exec(`INSERT INTO tutoring_requests (id, student_id, district_id, school_id, subject_id, grade, status, created_at, updated_at)
							VALUES ($1, $2, $3, $4, 2, 3, 'matched', $5, $5)`, i, int64(st), int64(d.ID), int64(sc.ID), t0)
						exec(`INSERT INTO tutoring_sessions (id, request_id, student_id, teacher_id, district_id, school_id, subject_id, grade, created_at)
							VALUES ($1, $1, $2, $3, $4, $5, 2, 3, $6)`, i, int64(st), int64(te), int64(d.ID), int64(sc.ID), t0+30_000)
						exec(`UPDATE tutoring_sessions SET started_at = $2 WHERE id = $1`, i, t0+40_000)
						exec(`UPDATE tutoring_sessions SET ended_at = $2, duration_s = 600, end_reason = 'ended' WHERE id = $1`, i, t0+640_000)
						exec(`INSERT INTO tutoring_ratings (session_id, district_id, school_id, subject_id, teacher_id, month, score, solved, rated_at, updated_at)
							VALUES ($1, $2, $3, 2, $4, 202603, 5, TRUE, $5, $5)`, i, int64(d.ID), int64(sc.ID), int64(te), t0+700_000)
					}
				})
			})
		}
	}
}
