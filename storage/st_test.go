package storage_test

import (
	"context"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// countActions counts activity rows of an action about subject.
func countActions(t *testing.T, s *storage.Store, subject string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, a := range must(s.RecentActivity(context.Background(), 0, nil, 500))(t) {
		if a.Subject == subject {
			out[a.Action]++
		}
	}
	return out
}

func TestMicrolessonReviewSteps(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		now := time.Now()
		must0(t, s.CreateMicrolessonUpload(ctx, upload("r1", w.teacher.ID, 18984, now), 3, 0))
		m := must(s.CreateMicrolesson(ctx, storage.Actor{UserID: w.teacher.ID}, "r1",
			storage.MicrolessonInput{SubjectID: w.math.ID, Grade: 7, Title: "评审"}, media("microlessons/r1.mp4"), now))(t)
		admin := storage.Actor{UserID: w.student.ID} // any account will do as the actor
		reviewer := w.other.ID

		m = must(s.ChangeMicrolesson(ctx, admin, m.ID, storage.MicrolessonChange{To: storage.MicrolessonInReview, Action: "microlesson.assign",
			Reviewer: reviewer, From: []storage.MicrolessonStatus{storage.MicrolessonSubmitted}}, now))(t)
		if m.Status != storage.MicrolessonInReview || m.ReviewerID != reviewer || m.ReviewerName != "tea2" {
			t.Fatalf("assigned %+v", m)
		}
		l, n := must2(s.ListMicrolessons(ctx, storage.MicrolessonFilter{ReviewerID: reviewer}))(t)
		if n != 1 || l[0].ID != m.ID {
			t.Fatalf("reviewer's list %d %+v", n, l)
		}
		if _, n := must2(s.ListMicrolessons(ctx, storage.MicrolessonFilter{ReviewerID: w.teacher.ID}))(t); n != 0 {
			t.Fatalf("another reviewer's list has %d", n)
		}
		// Someone else than the reviewer: a conflict, nothing changes.
		_, err := s.ChangeMicrolesson(ctx, admin, m.ID, storage.MicrolessonChange{To: storage.MicrolessonApproved,
			From: []storage.MicrolessonStatus{storage.MicrolessonInReview}, ExpectReviewer: w.teacher.ID}, now)
		wantErr(t, err, storage.ErrConflict)
		rev := storage.Actor{UserID: reviewer}
		m = must(s.ChangeMicrolesson(ctx, rev, m.ID, storage.MicrolessonChange{To: storage.MicrolessonApproved,
			From: []storage.MicrolessonStatus{storage.MicrolessonInReview}, ExpectReviewer: reviewer}, now))(t)
		if m.Status != storage.MicrolessonApproved || m.ReviewerID != reviewer {
			t.Fatalf("approved %+v", m)
		}
		// Tagging with a point of another subject is refused; of its own, it publishes.
		_, err = s.ChangeMicrolesson(ctx, rev, m.ID, storage.MicrolessonChange{To: storage.MicrolessonPublished,
			From: []storage.MicrolessonStatus{storage.MicrolessonApproved}, Points: []storage.KnowledgePointID{w.kp["C8"]}}, now)
		wantField(t, err, "knowledge_point_ids")
		m = must(s.ChangeMicrolesson(ctx, rev, m.ID, storage.MicrolessonChange{To: storage.MicrolessonPublished,
			From:   []storage.MicrolessonStatus{storage.MicrolessonApproved},
			Points: []storage.KnowledgePointID{w.kp["M7.1"], w.kp["M7.2"], w.kp["M7.1"]}}, now))(t)
		if m.Status != storage.MicrolessonPublished || len(m.KnowledgePoints) != 2 || m.PublishedAt.IsZero() {
			t.Fatalf("tagged %+v", m)
		}
		got := countActions(t, s, "microlesson:"+itoa(int64(m.ID)))
		for action, n := range map[string]int{"microlesson.submit": 1, "microlesson.assign": 1, "microlesson.approve": 1, "microlesson.publish": 1} {
			if got[action] != n {
				t.Errorf("%s: %d rows, want %d (%v)", action, got[action], n, got)
			}
		}
		// Taking one into review makes the actor its reviewer.
		must0(t, s.CreateMicrolessonUpload(ctx, upload("r2", w.teacher.ID, 18984, now), 3, 0))
		m2 := must(s.CreateMicrolesson(ctx, storage.Actor{UserID: w.teacher.ID}, "r2",
			storage.MicrolessonInput{SubjectID: w.math.ID, Grade: 7, Title: "自取"}, media("microlessons/r2.mp4"), now))(t)
		m2 = must(s.SetMicrolessonStatus(ctx, rev, m2.ID, []storage.MicrolessonStatus{storage.MicrolessonSubmitted}, storage.MicrolessonInReview, "", now))(t)
		if m2.ReviewerID != reviewer {
			t.Fatalf("taken up %+v", m2)
		}
	})
}

func TestSTCodes(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		now := time.Now()
		tea := storage.Actor{UserID: w.teacher.ID}
		rec := must(s.CreateRecording(ctx, tea, storage.RecordingInput{Kind: storage.RecordingClass, Room: "st", TeacherID: w.teacher.ID, StartedAt: now}))(t)
		ex := storage.Actor{UserID: w.other.ID}
		must0(t, s.SetSTCode(ctx, ex, rec.ID, 30_000, 3, "T", "S", now))
		must0(t, s.SetSTCode(ctx, ex, rec.ID, 30_000, 1, "S", "T", now))
		must0(t, s.SetSTCode(ctx, ex, rec.ID, 60_000, 1, "T", "S", now))
		must0(t, s.SetSTCode(ctx, ex, rec.ID, 30_000, 3, "S", "S", now)) // replaced
		codes := must(s.STCodes(ctx, rec.ID, 30_000))(t)
		if len(codes) != 2 || codes[0].Sample != 1 || codes[1].Sample != 3 || codes[1].Code != "S" || codes[1].CoderName != "tea2" || codes[1].CodedBy != w.other.ID {
			t.Fatalf("codes %+v", codes)
		}
		must0(t, s.SetSTCode(ctx, ex, rec.ID, 30_000, 1, "", "T", now)) // back to automatic
		if codes := must(s.STCodes(ctx, rec.ID, 30_000))(t); len(codes) != 1 {
			t.Fatalf("after clearing %+v", codes)
		}
		wantField(t, s.SetSTCode(ctx, ex, rec.ID, 30_000, 1, "X", "T", now), "code")
		wantErr(t, s.SetSTCode(ctx, ex, 999999, 30_000, 1, "T", "S", now), storage.ErrNotFound)
		if n := countActions(t, s, "recording:"+itoa(int64(rec.ID)))["recording.st_code"]; n != 5 {
			t.Errorf("%d recording.st_code rows, want 5", n)
		}
	})
}

func TestAuditTutoringSessions(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		now := time.Now()
		req := must(s.CreateTutoringRequest(ctx, storage.Actor{UserID: w.student.ID}, storage.TutoringRequestInput{StudentID: w.student.ID,
			SubjectID: w.math.ID, Grade: 7, Text: "求助"}))(t)
		must0(t, s.RecordTutoringOffer(ctx, req.ID, w.teacher.ID, 1, now, now.Add(time.Minute)))
		sess := must(s.AcceptTutoringOffer(ctx, req.ID, w.teacher.ID, "", 1, now))(t)
		_ = must(s.SaveTutoringRating(ctx, storage.Actor{UserID: w.student.ID}, sess.ID, storage.TutoringRating{Score: 2}, now))(t)
		rec := must(s.CreateRecording(ctx, storage.Actor{UserID: w.teacher.ID}, storage.RecordingInput{Kind: storage.RecordingTutoring,
			Room: sess.Room, TeacherID: w.teacher.ID, TutoringSessionID: sess.ID, StartedAt: now}))(t)
		school := w.student.SchoolID

		for _, c := range []struct {
			name string
			f    storage.TutoringAuditFilter
			want int
		}{
			{"district", storage.TutoringAuditFilter{DistrictID: w.d.ID}, 1},
			{"another district", storage.TutoringAuditFilter{DistrictID: w.d.ID + 1000}, 0},
			{"its school", storage.TutoringAuditFilter{SchoolIDs: []storage.SchoolID{school}}, 1},
			{"no school", storage.TutoringAuditFilter{SchoolIDs: []storage.SchoolID{}}, 0},
			{"rated", storage.TutoringAuditFilter{Rated: ptr(true)}, 1},
			{"unrated", storage.TutoringAuditFilter{Rated: ptr(false)}, 0},
			{"score ≤ 2", storage.TutoringAuditFilter{MaxScore: 2}, 1},
			{"score ≤ 1", storage.TutoringAuditFilter{MaxScore: 1}, 0},
			{"teacher", storage.TutoringAuditFilter{TeacherID: w.teacher.ID}, 1},
			{"later", storage.TutoringAuditFilter{From: now.Add(time.Hour)}, 0},
		} {
			l, n := must2(s.AuditTutoringSessions(ctx, c.f))(t)
			if n != c.want || len(l) != c.want {
				t.Errorf("%s: %d (%d items), want %d", c.name, n, len(l), c.want)
				continue
			}
			if n == 1 && (l[0].ID != sess.ID || l[0].RecordingID != rec.ID || l[0].Rating == nil || l[0].Rating.Score != 2 || l[0].SubjectName == "") {
				t.Errorf("%s: %+v", c.name, l[0])
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
