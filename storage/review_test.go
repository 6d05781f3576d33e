package storage_test

import (
	"context"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// reviewRubric has a 4-level criterion and a 0–10 numeric one.
func reviewRubric() storage.RubricBody {
	return storage.RubricBody{Domains: []storage.RubricDomain{
		{Name: "教学目标", Criteria: []storage.RubricCriterion{{Code: "A", Name: "目标明确", Weight: 30, Scale: storage.RubricScale{Kind: storage.ScaleLevels,
			Levels: []storage.RubricLevel{{Value: 1, Label: "待改进"}, {Value: 2, Label: "合格"}, {Value: 3, Label: "良好"}, {Value: 4, Label: "优秀"}}}}}},
		{Name: "教学过程", Criteria: []storage.RubricCriterion{{Code: "B", Name: "提问", Weight: 70, Scale: storage.RubricScale{Kind: storage.ScaleNumeric, Min: 0, Max: 10}}}},
	}}
}

type reviewWorld struct {
	tutoringWorld
	expert storage.User
	rec    storage.Recording
	scheme storage.Scheme
}

func seedReview(t *testing.T, s *storage.Store) reviewWorld {
	t.Helper()
	ctx := context.Background()
	w := reviewWorld{tutoringWorld: seedTutoring(t, s)}
	w.expert = must(s.CreateUser(ctx, admin, storage.UserInput{Username: "exp", Name: "专家", DistrictID: w.d.ID, Roles: []storage.Role{storage.RoleExpert},
		Active: true, ExpertScope: storage.ExpertScope{District: true}}, "h", false))(t)
	w.rec = must(s.CreateRecording(ctx, admin, storage.RecordingInput{Kind: storage.RecordingClass, Room: "r1", Title: "二次函数",
		TeacherID: w.teacher.ID, SubjectID: w.math.ID, Grade: 7, ActivityIntervalMS: 500, StartedAt: time.Now()}))(t)
	rb := must(s.CreateRubric(ctx, admin, storage.RubricInput{DistrictID: w.d.ID, Code: "r", Name: "量表", Body: reviewRubric()}))(t)
	w.scheme = must(s.CreateScheme(ctx, admin, storage.Scheme{DistrictID: w.d.ID, Name: "数学课", Purpose: storage.PurposeSubject, RubricID: rb.ID,
		RubricVersion: rb.Version, Threshold: 0.6, Criteria: rb.Body.Criteria()}))(t)
	return w
}

func TestReviewRubricVersions(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seed(t, s)
		bad := reviewRubric()
		bad.Domains[0].Criteria[0].Scale.Levels[1].Value = 3 // levels out of order
		_, err := s.CreateRubric(ctx, admin, storage.RubricInput{Code: "x", Name: "x", Body: bad})
		wantField(t, err, "criteria")
		bad = reviewRubric()
		bad.Domains[1].Criteria[0].Scale.Max = 0 // max ≤ min
		_, err = s.CreateRubric(ctx, admin, storage.RubricInput{Code: "x", Name: "x", Body: bad})
		wantField(t, err, "criteria")
		bad = reviewRubric()
		bad.Domains[1].Criteria[0].Code = "A" // a code twice
		_, err = s.CreateRubric(ctx, admin, storage.RubricInput{Code: "x", Name: "x", Body: bad})
		wantField(t, err, "criteria")

		rb := must(s.CreateRubric(ctx, admin, storage.RubricInput{DistrictID: w.d.ID, Code: "gen", Name: "通用", Body: reviewRubric()}))(t)
		if rb.Version != 1 || rb.Current != 1 || len(rb.Body.Criteria()) != 2 {
			t.Fatalf("rubric %+v", rb)
		}
		_, err = s.CreateRubric(ctx, admin, storage.RubricInput{DistrictID: w.d.ID, Code: "gen", Name: "again", Body: reviewRubric()})
		wantDup(t, err, "code")
		// The same code installation-wide is another rubric.
		must(s.CreateRubric(ctx, admin, storage.RubricInput{Code: "gen", Name: "全局", Body: reviewRubric()}))(t)

		sc := must(s.CreateScheme(ctx, admin, storage.Scheme{DistrictID: w.d.ID, Name: "s", RubricID: rb.ID, RubricVersion: 1, Threshold: 0.6,
			Criteria: rb.Body.Criteria()[:1]}))(t)

		body := reviewRubric()
		body.Domains[0].Criteria[0].Name = "目标明确、可检测"
		body.Domains[0].Criteria[0].Weight = 50
		v2 := must(s.UpdateRubric(ctx, admin, rb.ID, storage.RubricInput{Name: "通用 v2", Body: body}))(t)
		if v2.Version != 2 || v2.Code != "gen" || v2.Body.Domains[0].Criteria[0].Weight != 50 {
			t.Fatalf("version 2 %+v", v2)
		}
		// The old version stays readable, and the scheme keeps it.
		v1 := must(s.GetRubric(ctx, rb.ID, 1))(t)
		if v1.Version != 1 || v1.Current != 2 || v1.Body.Domains[0].Criteria[0].Weight != 30 {
			t.Fatalf("version 1 %+v", v1)
		}
		got := must(s.GetScheme(ctx, sc.ID))(t)
		if got.RubricVersion != 1 || len(got.Criteria) != 1 || got.Criteria[0].Name != "目标明确" || got.Criteria[0].Domain != "教学目标" {
			t.Fatalf("scheme %+v", got)
		}
		_, err = s.GetRubric(ctx, rb.ID, 3)
		wantErr(t, err, storage.ErrNotFound)
		if l := must(s.ListRubrics(ctx, w.d.ID))(t); len(l) != 2 || l[0].DistrictID != 0 || l[1].Version != 2 {
			t.Fatalf("list %+v", l)
		}
		if l := must(s.ListRubrics(ctx, 0))(t); len(l) != 1 {
			t.Fatalf("installation-wide list %+v", l)
		}
		if created := must(s.SeedRubric(ctx, storage.RubricInput{Code: "gen", Name: "x", Body: reviewRubric()}))(t); created {
			t.Fatal("seeding an existing code created it again")
		}
		if n := countActivity(t, s, "review.rubric_update"); n != 1 {
			t.Fatalf("review.rubric_update rows = %d", n)
		}
	})
}

func TestReviewLifecycle(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedReview(t, s)
		target := "recording:" + itoa(int64(w.rec.ID))
		due := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		in := storage.AssignmentInput{SchemeID: w.scheme.ID, Target: target, Round: "2026春", ExpertID: w.expert.ID, TeacherID: w.teacher.ID,
			DistrictID: w.d.ID, SchoolID: w.s2.ID, SubjectID: w.math.ID, DueAt: due}
		as := must(s.CreateAssignments(ctx, admin, []storage.AssignmentInput{in}))(t)
		if len(as) != 1 || as[0].Status != storage.AssignmentAssigned || !as[0].DueAt.Equal(due) || as[0].ExpertName != "专家" {
			t.Fatalf("assignments %+v", as)
		}
		_, err := s.CreateAssignments(ctx, admin, []storage.AssignmentInput{in})
		wantDup(t, err, "expert_ids")
		id := as[0].ID

		empty := must(s.GetReview(ctx, id))(t)
		if empty.Version != 0 || len(empty.Body.Scores) != 0 || empty.Body.Notes == nil {
			t.Fatalf("review before the first save %+v", empty)
		}
		_, err = s.SaveReviewDraft(ctx, id, storage.ReviewBody{Notes: []storage.ReviewNote{{StartMS: 5000, EndMS: 1000, Text: "x"}}})
		wantField(t, err, "notes")
		body := storage.ReviewBody{Scores: []storage.ReviewScore{{Criterion: "A", Value: 3}},
			Notes:     []storage.ReviewNote{{StartMS: 61000, EndMS: 75000, Criterion: "B", Text: "追问很好"}, {StartMS: 120000, Text: "板书"}},
			Strengths: "节奏好"}
		d1 := must(s.SaveReviewDraft(ctx, id, body))(t)
		d2 := must(s.SaveReviewDraft(ctx, id, body))(t)
		if d2.Status != storage.AssignmentDraft || len(d2.Body.Notes) != 2 || d2.Body.Notes[0].EndMS != 75000 || d2.Body.Strengths != "节奏好" ||
			d2.Version != d1.Version {
			t.Fatalf("draft %+v", d2)
		}
		body.Improve = "留白"
		if d3 := must(s.SaveReviewDraft(ctx, id, body))(t); d3.Version != d2.Version+1 || d3.Body.Improve != "留白" {
			t.Fatalf("changed draft %+v", d3)
		}
		if l := must(s.ListAssignments(ctx, storage.AssignmentFilter{ExpertID: w.expert.ID}))(t); len(l) != 1 || l[0].Status != storage.AssignmentDraft {
			t.Fatalf("queue %+v", l)
		}

		body.Scores = append(body.Scores, storage.ReviewScore{Criterion: "B", Value: 7})
		sub := must(s.SubmitReview(ctx, storage.Actor{UserID: w.expert.ID}, id, body, 69))(t)
		if sub.Status != storage.AssignmentSubmitted || sub.Total != 69 || sub.SubmittedAt.IsZero() || len(sub.Body.Scores) != 2 {
			t.Fatalf("submitted %+v", sub)
		}
		_, err = s.SaveReviewDraft(ctx, id, body)
		wantErr(t, err, storage.ErrClosed)
		_, err = s.SubmitReview(ctx, storage.Actor{UserID: w.expert.ID}, id, body, 69)
		wantErr(t, err, storage.ErrClosed)

		_, err = s.RateReview(ctx, storage.Actor{UserID: w.teacher.ID}, id, 0)
		wantField(t, err, "score")
		if rv := must(s.RateReview(ctx, storage.Actor{UserID: w.teacher.ID}, id, 4))(t); rv.TeacherRating != 4 {
			t.Fatalf("rated %+v", rv)
		}
		_, err = s.ReopenReview(ctx, admin, id, "  ")
		wantField(t, err, "reason")
		re := must(s.ReopenReview(ctx, admin, id, "分数录错"))(t)
		if re.Status != storage.AssignmentDraft || re.ReopenedReason != "分数录错" || len(re.Body.Scores) != 2 {
			t.Fatalf("reopened %+v", re)
		}
		_, err = s.ReopenReview(ctx, admin, id, "again")
		wantErr(t, err, storage.ErrClosed)
		_, err = s.RateReview(ctx, storage.Actor{UserID: w.teacher.ID}, id, 5) // reopened: no longer submitted
		wantErr(t, err, storage.ErrClosed)
		for action, n := range map[string]int{"review.assign": 1, "review.submit": 1, "review.reopen": 1, "review.rate": 1} {
			if got := countActivity(t, s, action); got != n {
				t.Errorf("%s rows = %d, want %d", action, got, n)
			}
		}
		if l := must(s.ListReviews(ctx, storage.AssignmentFilter{Target: target}))(t); len(l) != 1 || l[0].ID != id {
			t.Fatalf("reviews of the target %+v", l)
		}
		if l := must(s.ListAssignments(ctx, storage.AssignmentFilter{SchoolIDs: []storage.SchoolID{w.s1.ID}}))(t); len(l) != 0 {
			t.Fatalf("another school's assignments %+v", l)
		}

		ref := must(s.SetReflection(ctx, storage.Actor{UserID: w.teacher.ID}, storage.Reflection{Target: target, TeacherID: w.teacher.ID, Text: " 提问太密 "}, w.d.ID, w.s2.ID))(t)
		must(s.SetReflection(ctx, storage.Actor{UserID: w.teacher.ID}, storage.Reflection{Target: target, TeacherID: w.teacher.ID, Text: "提问太密，留白不够"}, w.d.ID, w.s2.ID))(t)
		if got := must(s.GetReflection(ctx, target))(t); got.Text != "提问太密，留白不够" || got.TeacherID != w.teacher.ID || ref.Text != "提问太密" {
			t.Fatalf("reflection %+v", got)
		}

		cal := must(s.CreateCalibration(ctx, admin, storage.Calibration{SchemeID: w.scheme.ID, DistrictID: w.d.ID, Target: target,
			Master: []storage.ReviewScore{{Criterion: "A", Value: 3}, {Criterion: "B", Value: 7}}}))(t)
		must0(t, s.SaveCalibrationResult(ctx, storage.CalibrationResult{CalibrationID: cal.ID, ExpertID: w.expert.ID, Agreement: 50, At: time.Now()}))
		must0(t, s.SaveCalibrationResult(ctx, storage.CalibrationResult{CalibrationID: cal.ID, ExpertID: w.expert.ID, Agreement: 100, Passed: true, At: time.Now()}))
		if l := must(s.CalibrationResults(ctx, 0, w.expert.ID))(t); len(l) != 1 || l[0].Agreement != 100 || !l[0].Passed || l[0].ExpertName != "专家" {
			t.Fatalf("calibration results %+v", l)
		}
		// Listed newest first, by district and by ids.
		cal2 := must(s.CreateCalibration(ctx, admin, storage.Calibration{SchemeID: w.scheme.ID, DistrictID: w.d.ID, Target: target, Round: "r2",
			Master: []storage.ReviewScore{{Criterion: "A", Value: 2}, {Criterion: "B", Value: 5}}}))(t)
		if l := must(s.ListCalibrations(ctx, w.d.ID, nil, 0))(t); len(l) != 2 || l[0].ID != cal2.ID || l[1].ID != cal.ID || l[0].Round != "r2" ||
			len(l[1].Master) != 2 || l[1].Master[1].Value != 7 || l[0].CreatedAt.IsZero() {
			t.Fatalf("calibrations of the district %+v", l)
		}
		if l := must(s.ListCalibrations(ctx, 0, []storage.CalibrationID{cal.ID}, 0))(t); len(l) != 1 || l[0].ID != cal.ID {
			t.Fatalf("calibrations by id %+v", l)
		}
		if l := must(s.ListCalibrations(ctx, w.d.ID+1000, nil, 0))(t); len(l) != 0 {
			t.Fatalf("another district's calibrations %+v", l)
		}
		if l := must(s.ListCalibrations(ctx, w.d.ID, nil, 1))(t); len(l) != 1 || l[0].ID != cal2.ID {
			t.Fatalf("one calibration %+v", l)
		}

		if at := must(s.FeedbackSeen(ctx, w.teacher.ID))(t); !at.IsZero() {
			t.Fatalf("feedback seen %v before any", at)
		}
		now := time.Now().Truncate(time.Millisecond)
		must0(t, s.SetFeedbackSeen(ctx, w.teacher.ID, now))
		if at := must(s.FeedbackSeen(ctx, w.teacher.ID))(t); !at.Equal(now) {
			t.Fatalf("feedback seen %v, want %v", at, now)
		}
	})
}

// TestReviewDraftSurvivesRestart: a draft saved, the store closed (the
// server stopped) and opened again: the draft is there, whole.
func TestReviewDraftSurvivesRestart(t *testing.T) {
	for name, params := range map[string]func(testing.TB) storage.OpenParams{"sqlite": storagetest.SQLiteParams, "postgres": storagetest.PostgresParams} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			p := params(t)
			s := must(storage.Open(ctx, p))(t)
			w := seedReview(t, s)
			as := must(s.CreateAssignments(ctx, admin, []storage.AssignmentInput{{SchemeID: w.scheme.ID, Target: "recording:" + itoa(int64(w.rec.ID)),
				ExpertID: w.expert.ID, TeacherID: w.teacher.ID, DistrictID: w.d.ID, SchoolID: w.s2.ID}}))(t)
			body := storage.ReviewBody{Scores: []storage.ReviewScore{{Criterion: "B", Value: 8.5}},
				Notes: []storage.ReviewNote{{StartMS: 1500, TrackID: 3, Text: "导入自然"}}, Improve: "留白"}
			must(s.SaveReviewDraft(ctx, as[0].ID, body))(t)
			s.Close()

			s = must(storage.Open(ctx, p))(t)
			defer s.Close()
			got := must(s.GetReview(ctx, as[0].ID))(t)
			if got.Status != storage.AssignmentDraft || len(got.Body.Scores) != 1 || got.Body.Scores[0].Value != 8.5 ||
				len(got.Body.Notes) != 1 || got.Body.Notes[0].TrackID != 3 || got.Body.Notes[0].Text != "导入自然" || got.Body.Improve != "留白" {
				t.Fatalf("draft after a restart %+v", got)
			}
		})
	}
}
