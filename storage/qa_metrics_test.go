package storage_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// testClock is a store's time, set by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestQAMetrics checks the Q&A figures against values computed by hand
// (docs/metrics.md), on SQLite and Postgres.
func TestQAMetrics(t *testing.T) {
	for name, params := range map[string]func(testing.TB) storage.OpenParams{
		"sqlite": storagetest.SQLiteParams, "postgres": storagetest.PostgresParams,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, storage.Zone)}
			p := params(t)
			p.Now = clock.Now
			s, err := storage.Open(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			w := seedMicro(t, s)
			stu := storage.Actor{UserID: w.student.ID}
			t0 := time.Date(2026, 3, 10, 10, 0, 0, 0, storage.Zone)
			at := func(d time.Duration) { clock.set(t0.Add(d)) }
			ask := func(d time.Duration, grade int) storage.QuestionID {
				at(d)
				return must(s.CreateQuestion(ctx, stu, storage.QuestionInput{AuthorID: w.student.ID, SubjectID: w.math.ID, Grade: grade, Text: "题"}))(t).ID
			}
			answer := func(q storage.QuestionID, who storage.User, d time.Duration) storage.AnswerID {
				at(d)
				return must(s.AddAnswer(ctx, storage.Actor{UserID: who.ID}, q, who.ID, "答", nil))(t).ID
			}
			adopt := func(q storage.QuestionID, a storage.AnswerID, score int) {
				must(s.AdoptAnswer(ctx, stu, q, a, time.Hour))(t)
				must(s.RateAdopted(ctx, stu, q, score))(t)
			}
			mn := time.Minute
			q1 := ask(0, 7)
			a11 := answer(q1, w.teacher, 10*mn) // first answer after 600 s
			answer(q1, w.other, 2*time.Hour)
			adopt(q1, a11, 5)
			q2 := ask(1*mn, 7)
			a21 := answer(q2, w.other, 31*mn) // 1,800 s
			adopt(q2, a21, 3)
			q3 := ask(2*mn, 3)
			answer(q3, w.teacher, 182*mn) // 10,800 s
			a32 := answer(q3, w.teacher, 242*mn)
			adopt(q3, a32, 4)
			ask(3*mn, 11) // never answered
			q5 := ask(4*mn, 7)
			answer(q5, w.teacher, 24*mn) // 1,200 s
			q6 := ask(5*mn, 7)
			if err := s.DeleteQuestion(ctx, stu, q6); err != nil {
				t.Fatal(err)
			}

			march := storage.SatisfactionQuery{FromMonth: 202603, ToMonth: 202603, DistrictID: w.d.ID}
			m := must(s.QAMetrics(ctx, march))(t)
			// Waits of the answered questions: 600, 1200, 1800, 10800 s.
			want := storage.QAMetrics{Questions: 5, Answers: 6, AnswersPerQuestion: 1.2, Answered: 4,
				FirstAnswerMedianSeconds: 1200, FirstAnswerP90Seconds: 10800, AnsweredWithinHour: 3, AnsweredWithinHourShare: 0.6,
				Adopted: 3, AdoptionRate: 0.75,
				Satisfaction: storage.Satisfaction{Ratings: 3, Satisfied: 2, Share: 2.0 / 3, Mean: 4, Distribution: [5]int{0, 0, 1, 1, 1}}}
			if !approx(m.AnswersPerQuestion, want.AnswersPerQuestion) || !approx(m.Satisfaction.Share, want.Satisfaction.Share) {
				t.Fatalf("metrics %+v", m)
			}
			m.AnswersPerQuestion, m.Satisfaction.Share = want.AnswersPerQuestion, want.Satisfaction.Share
			if m != want {
				t.Fatalf("metrics\n got %+v\nwant %+v", m, want)
			}
			if m := must(s.QAMetrics(ctx, storage.SatisfactionQuery{FromMonth: 202602, ToMonth: 202602}))(t); m.Questions != 0 || m.Satisfaction.Ratings != 0 {
				t.Fatalf("February %+v", m)
			}
			if m := must(s.QAMetrics(ctx, storage.SatisfactionQuery{FromMonth: 202603, ToMonth: 202603, SchoolIDs: []storage.SchoolID{w.s1.ID}}))(t); m.Questions != 0 {
				t.Fatalf("another school's figures %+v", m)
			}

			// Per teacher: teacher answered q1 (600 s), q3 twice (first after 10,800 s), q5 (1,200 s);
			// other answered q1 (7,200 s) and q2 (1,800 s).
			ts := must(s.QATeacherMetrics(ctx, march))(t)
			wantT := []storage.QATeacherStats{
				{TeacherID: w.teacher.ID, Answers: 4, Adopted: 2, AdoptionRate: 0.5, MedianAnswerSeconds: 1200},
				{TeacherID: w.other.ID, Answers: 2, Adopted: 1, AdoptionRate: 0.5, MedianAnswerSeconds: 1800},
			}
			if len(ts) != 2 || ts[0] != wantT[0] || ts[1] != wantT[1] {
				t.Fatalf("teachers\n got %+v\nwant %+v", ts, wantT)
			}
			if st := must(s.QATeacherStats(ctx, w.teacher.ID))(t); st.Answers != 4 || st.Adopted != 2 || st.MedianAnswerSeconds != 1200 {
				t.Fatalf("teacher's own stats %+v", st)
			}

			group := func(g storage.SatisfactionGroup) map[string]storage.Satisfaction {
				q := march
				q.GroupBy = g
				out := map[string]storage.Satisfaction{}
				for _, x := range must(s.QASatisfaction(ctx, q))(t) {
					out[x.Key] = x
				}
				return out
			}
			band := group(storage.ByBand)
			if j, p := band["j"], band["p"]; len(band) != 2 || j.Ratings != 2 || j.Satisfied != 1 || j.Mean != 4 || p.Ratings != 1 || p.Satisfied != 1 || p.Mean != 4 {
				t.Fatalf("by band %+v", band)
			}
			byT := group(storage.ByTeacher)
			if a, b := byT[itoa(int64(w.teacher.ID))], byT[itoa(int64(w.other.ID))]; a.Ratings != 2 || a.Satisfied != 2 || a.Mean != 4.5 || b.Ratings != 1 || b.Satisfied != 0 || b.Share != 0 {
				t.Fatalf("by teacher %+v", byT)
			}
			if mo := group(storage.ByMonth); mo["202603"].Ratings != 3 || len(mo) != 1 {
				t.Fatalf("by month %+v", mo)
			}
			if su := group(storage.BySubject); su[itoa(int64(w.math.ID))].Ratings != 3 {
				t.Fatalf("by subject %+v", su)
			}
			if sc := group(storage.BySchool); sc[itoa(int64(w.s2.ID))].Ratings != 3 {
				t.Fatalf("by school %+v", sc)
			}
		})
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
