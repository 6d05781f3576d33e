package demodata_test

import (
	"context"
	"testing"
	"time"

	"yunke/server/demodata"
	"yunke/server/reports"
	"yunke/storage"
)

// dashboard is the year's district dashboard of a generated district, by
// indicator key.
func dashboard(t *testing.T, st *storage.Store, sum demodata.Summary) map[string]*float64 {
	t.Helper()
	ctx := context.Background()
	d, err := st.GetDistrict(ctx, sum.DistrictID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := reports.PeriodOf(reports.Year, time.Date(sum.Year, 6, 1, 0, 0, 0, 0, storage.Zone), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := reports.New(reports.Params{Store: st})
	dash, err := svc.Dashboard(ctx, p, reports.DistrictScope(d))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*float64{}
	for _, r := range dash.Rows {
		out[r.Key] = r.Current
	}
	return out
}

// expect checks indicators against exact numbers.
func expect(t *testing.T, got map[string]*float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		v, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: not on the dashboard", k)
		case v == nil:
			t.Errorf("%s = none; want %v", k, w)
		case *v != w:
			t.Errorf("%s = %v; want %v", k, *v, w)
		}
	}
}

func pct(a, b int) float64 { return float64(a) / float64(b) * 100 }

// TestReportsReproduceTotals: every number is reproducible from raw rows.
// A district generated with the seeds' totals — 349 trainee teachers who
// each record, 330,448 tutoring sessions, 133,386 questions with 381,720
// answers — shows exactly those on its year's dashboard, and the other
// indicators exactly what the generator counted, on both backends. The
// district is lean (no activity log, no search index) and small in
// everything else; a second, full one at 1 % checks the activity-based
// indicators (active students and teachers, sign-ins included).
func TestReportsReproduceTotals(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _ := open(t, b)
			p := params(7)
			p.Scale, p.Lean = 0.05, true
			p.Trainees, p.Sessions = demodata.FullTrainees, demodata.FullSessions
			p.Questions, p.Answers = demodata.FullQuestions, demodata.FullAnswers
			start := time.Now()
			sum, err := demodata.Generate(ctx, st, p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: lean district with the seeds' totals loaded in %v (%d rows)", b.name, time.Since(start).Round(time.Millisecond), total(sum.Rows))
			if sum.Trainees != 349 || sum.TraineesRecorded != 349 || sum.TutoringSessions != 330_448 ||
				sum.Questions != 133_386 || sum.Answers != 381_720 || sum.TutoringRequests <= sum.TutoringSessions {
				t.Fatalf("generated %+v", sum)
			}
			start = time.Now()
			got := dashboard(t, st, sum)
			t.Logf("%s: dashboard in %v", b.name, time.Since(start).Round(time.Millisecond))
			st.Close()
			want := map[string]float64{
				"recording.trainees":         349,
				"recording.trainee_coverage": 100,
				"tutoring.sessions":          330_448,
				"tutoring.matched":           330_448,
				"tutoring.requests":          float64(sum.TutoringRequests),
				"qa.questions":               133_386,
				"qa.answers":                 381_720,
				"qa.answers_per_question":    381_720.0 / 133_386,
				"qa.adoption":                pct(sum.AdoptedQuestions, sum.Questions),
				"recording.lessons":          float64(sum.Recordings),
				"recording.teachers":         float64(sum.TeachersRecording),
				"recording.review_coverage":  pct(sum.RecordingsReviewed, sum.Recordings),
				"microlessons.submitted":     float64(sum.Microlessons),
				"users.active_students":      0, // lean: no activity rows
			}
			analysed := 0
			for _, n := range sum.STModes {
				analysed += n
			}
			want["recording.st_lessons"] = float64(analysed)
			for _, m := range storage.STModes {
				want["recording.st_"+m] = pct(sum.STModes[m], analysed)
			}
			expect(t, got, want)
			if analysed != sum.Recordings || sum.STModes["lecture"] == 0 || sum.STModes["dialogue"] == 0 ||
				sum.STModes["practice"] == 0 || sum.STModes["mixed"] == 0 {
				t.Errorf("S-T modes %v of %d recordings", sum.STModes, sum.Recordings)
			}
			if h, p := got["classes.held"], got["classes.premium_held"]; h == nil || p == nil || *h+*p != float64(sum.Classes) {
				t.Errorf("classes held %v + premium %v; want %d", h, p, sum.Classes)
			}

			// The activity-based indicators, from a full district at 1 %.
			st2, _ := open(t, b)
			sum2, err := demodata.Generate(ctx, st2, params(7))
			if err != nil {
				t.Fatal(err)
			}
			if sum2.SignIns == 0 || sum2.ActiveStudents == 0 || sum2.ActiveTeachers == 0 ||
				sum2.ActiveStudents > sum2.Students || sum2.ActiveTeachers > sum2.Teachers {
				t.Fatalf("generated %+v", sum2)
			}
			got = dashboard(t, st2, sum2)
			expect(t, got, map[string]float64{
				"users.active_students":      float64(sum2.ActiveStudents),
				"users.active_teachers":      float64(sum2.ActiveTeachers),
				"recording.trainee_coverage": 100,
				"tutoring.sessions":          float64(sum2.TutoringSessions),
				"tutoring.requests":          float64(sum2.TutoringRequests),
				"qa.answers":                 float64(sum2.Answers),
			})
		})
	}
}

func total(rows map[string]int64) int64 {
	var n int64
	for _, x := range rows {
		n += x
	}
	return n
}
