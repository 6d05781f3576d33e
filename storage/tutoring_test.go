package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

// tutoringWorld is a school with a student and two math teachers.
type tutoringWorld struct {
	world
	student, teacher, other storage.User
	math                    storage.Subject
}

func seedTutoring(t *testing.T, s *storage.Store) tutoringWorld {
	t.Helper()
	ctx := context.Background()
	w := tutoringWorld{world: seed(t, s)}
	for _, sub := range must(s.ListSubjects(ctx))(t) {
		if sub.Code == "math" {
			w.math = sub
		}
	}
	mk := func(name string, role storage.Role) storage.User {
		return must(s.CreateUser(ctx, admin, storage.UserInput{Username: name, Name: name, DistrictID: w.d.ID, SchoolID: w.s2.ID,
			Roles: []storage.Role{role}, Active: true, Grade: 7, Subjects: []storage.SubjectID{w.math.ID}}, "h", false))(t)
	}
	w.student, w.teacher, w.other = mk("stu", storage.RoleStudent), mk("tea", storage.RoleTeacher), mk("tea2", storage.RoleTeacher)
	return w
}

func TestTutoringLifecycle(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		stu := storage.Actor{UserID: w.student.ID}
		_, err := s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID, Grade: 13})
		wantField(t, err, "grade")
		_, err = s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID, Grade: 7,
			Image: []byte("GIF89a"), ImageType: "image/gif"})
		wantField(t, err, "image")
		_, err = s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: "  "})
		wantField(t, err, "text")

		png := []byte("\x89PNG\r\n\x1a\nfake")
		req := must(s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID,
			Grade: 7, Text: "  二次函数的顶点怎么求？ ", Image: png, ImageType: "image/png"}))(t)
		if req.Status != storage.RequestWaiting || req.SubjectCode != "math" || req.SchoolID != w.s2.ID || req.Text != "二次函数的顶点怎么求？" || !req.HasImage || req.StudentName != "stu" {
			t.Fatalf("request %+v", req)
		}
		img, typ := must2(s.TutoringRequestImage(ctx, req.ID))(t)
		if string(img) != string(png) || typ != "image/png" {
			t.Fatalf("image %q %s", img, typ)
		}
		if open := must(s.OpenTutoringRequests(ctx))(t); len(open) != 1 || open[0].ID != req.ID {
			t.Fatalf("open requests %+v", open)
		}

		// Offered to one teacher, who lets it lapse; then to another, who accepts.
		now := time.Now()
		must0(t, s.RecordTutoringOffer(ctx, req.ID, w.other.ID, 1, now, now.Add(20*time.Second)))
		got, exp := must2(s.PendingTutoringOffer(ctx, w.other.ID))(t)
		if got.ID != req.ID || got.Status != storage.RequestOffered || exp.UnixMilli() != now.Add(20*time.Second).UnixMilli() {
			t.Fatalf("pending offer %+v %v", got, exp)
		}
		must0(t, s.CloseTutoringOffer(ctx, req.ID, w.other.ID, storage.OfferLapsed, now))
		must0(t, s.CloseTutoringOffer(ctx, req.ID, w.other.ID, storage.OfferLapsed, now)) // idempotent
		if _, _, err := s.PendingTutoringOffer(ctx, w.other.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("lapsed offer still pending: %v", err)
		}
		if r := must(s.GetTutoringRequest(ctx, req.ID))(t); r.Status != storage.RequestWaiting {
			t.Fatalf("after lapse: %s", r.Status)
		}
		if _, err := s.AcceptTutoringOffer(ctx, req.ID, w.teacher.ID, "http://n1", 1, now); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("accept without an offer: %v", err)
		}
		must0(t, s.RecordTutoringOffer(ctx, req.ID, w.teacher.ID, 1, now, now.Add(20*time.Second)))
		sess := must(s.AcceptTutoringOffer(ctx, req.ID, w.teacher.ID, "http://n1", 1, now))(t)
		if sess.StudentID != w.student.ID || sess.TeacherID != w.teacher.ID || sess.Room != "tutor-"+itoa(int64(sess.ID)) ||
			sess.NodeURL != "http://n1" || !sess.StartedAt.IsZero() || sess.TeacherName != "tea" {
			t.Fatalf("session %+v", sess)
		}
		if r := must(s.GetTutoringRequest(ctx, req.ID))(t); r.Status != storage.RequestMatched || r.SessionID != sess.ID {
			t.Fatalf("matched request %+v", r)
		}
		if open := must(s.OpenTutoringRequests(ctx))(t); len(open) != 0 {
			t.Fatalf("matched request still open: %+v", open)
		}
		if a := must(s.ActiveTutoringSession(ctx, w.teacher.ID))(t); a.ID != sess.ID {
			t.Fatalf("active session %+v", a)
		}
		start := now.Add(time.Second)
		must(s.StartTutoringSession(ctx, sess.ID, start))(t)
		must(s.StartTutoringSession(ctx, sess.ID, start.Add(time.Minute)))(t) // once only
		end := start.Add(25 * time.Minute)
		ended, first := must2(s.EndTutoringSession(ctx, sess.ID, end, "left"))(t)
		if !first || ended.DurationS != 25*60 || ended.EndReason != "left" || ended.StartedAt.UnixMilli() != start.UnixMilli() {
			t.Fatalf("ended %+v (first %v)", ended, first)
		}
		again, first := must2(s.EndTutoringSession(ctx, sess.ID, end.Add(time.Hour), "max_length"))(t)
		if first || again.DurationS != 25*60 || again.EndReason != "left" {
			t.Fatalf("ended twice: %+v (first %v)", again, first)
		}
		if live := must(s.LiveTutoringSessions(ctx))(t); len(live) != 0 {
			t.Fatalf("live sessions %+v", live)
		}

		// The first rating, then a change of it: rated_at stays, updated_at moves.
		ratedAt := end.Add(time.Minute)
		rated := must(s.SaveTutoringRating(ctx, stu, sess.ID, storage.TutoringRating{Score: 3, Comment: "ok", Solved: false}, ratedAt))(t)
		if rated.Rating == nil || rated.Rating.Score != 3 || !rated.Rating.RatedAt.Equal(ratedAt.Truncate(time.Millisecond)) {
			t.Fatalf("rated %+v", rated.Rating)
		}
		rated = must(s.SaveTutoringRating(ctx, stu, sess.ID, storage.TutoringRating{Score: 5, Comment: "讲得很清楚", Solved: true}, ratedAt.Add(time.Minute)))(t)
		if rated.Rating.Score != 5 || !rated.Rating.Solved || rated.Rating.Comment != "讲得很清楚" ||
			!rated.Rating.RatedAt.Equal(ratedAt.Truncate(time.Millisecond)) || !rated.Rating.UpdatedAt.After(rated.Rating.RatedAt) {
			t.Fatalf("edited rating %+v", rated.Rating)
		}

		kps := must(s.ImportKnowledgePoints(ctx, admin, []storage.KnowledgePointRow{{SubjectCode: "math", Grade: 9, Code: "QF", Name: "二次函数"}}))(t)
		_ = kps
		kp := must(s.ListKnowledgePoints(ctx, w.math.ID, 0))(t)[0]
		_, err = s.SaveTutoringNote(ctx, storage.Actor{UserID: w.teacher.ID}, sess.ID, "x", []storage.KnowledgePointID{kp.ID + 1000}, end)
		wantField(t, err, "knowledge_point_ids")
		noted := must(s.SaveTutoringNote(ctx, storage.Actor{UserID: w.teacher.ID}, sess.ID, "顶点式", []storage.KnowledgePointID{kp.ID, kp.ID}, end))(t)
		if noted.Note == nil || noted.Note.Note != "顶点式" || len(noted.Note.KnowledgePoints) != 1 || noted.Note.KnowledgePoints[0] != kp.ID {
			t.Fatalf("note %+v", noted.Note)
		}

		hist, total := must2(s.ListTutoringSessions(ctx, storage.SessionFilter{TeacherID: w.teacher.ID}))(t)
		if total != 1 || len(hist) != 1 || hist[0].Rating == nil || hist[0].Rating.Score != 5 || hist[0].Note == nil {
			t.Fatalf("teacher history %d %+v", total, hist)
		}
		if _, total := must2(s.ListTutoringSessions(ctx, storage.SessionFilter{TeacherID: w.other.ID}))(t); total != 0 {
			t.Fatalf("other teacher has %d sessions", total)
		}
		for _, action := range []string{"tutoring.request", "tutoring.offer", "tutoring.offer_lapsed", "tutoring.accept",
			"tutoring.session_start", "tutoring.session_end", "tutoring.rate", "tutoring.rate_update", "tutoring.note"} {
			want := 1
			if action == "tutoring.offer" {
				want = 2
			}
			if n := countActivity(t, s, action); n != want {
				t.Errorf("%d %s activity rows; want %d", n, action, want)
			}
		}
	})
}

func TestTutoringCancel(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		stu := storage.Actor{UserID: w.student.ID}
		req := must(s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: "?"}))(t)
		if a := must(s.ActiveTutoringRequest(ctx, w.student.ID))(t); a.ID != req.ID {
			t.Fatalf("active %+v", a)
		}
		now := time.Now()
		must0(t, s.RecordTutoringOffer(ctx, req.ID, w.teacher.ID, 1, now, now.Add(time.Minute)))
		must0(t, s.CancelTutoringRequest(ctx, stu, req.ID, now))
		if _, _, err := s.PendingTutoringOffer(ctx, w.teacher.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("offer of a cancelled request still pending: %v", err)
		}
		wantErr(t, s.CancelTutoringRequest(ctx, stu, req.ID, now), storage.ErrClosed)
		if _, err := s.ActiveTutoringRequest(ctx, w.student.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("cancelled request active: %v", err)
		}
		if _, err := s.AcceptTutoringOffer(ctx, req.ID, w.teacher.ID, "", 1, now); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("accept after cancel: %v", err)
		}
		wantErr(t, s.RecordTutoringOffer(ctx, req.ID, w.teacher.ID, 1, now, now), storage.ErrClosed)
	})
}

// TestTutoringCapacity: the record never holds more running sessions of a
// teacher than their capacity, however many accepts arrive at once.
func TestTutoringCapacity(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		now := time.Now()
		// Eight students, each with a request offered to the same teacher
		// (as a matcher that lost its state might do), all accepted at once.
		const n = 8
		reqs := make([]storage.TutoringRequest, n)
		for i := range reqs {
			stu := must(s.CreateUser(ctx, admin, storage.UserInput{Username: fmt.Sprintf("cap%d", i), Name: "s", DistrictID: w.d.ID,
				SchoolID: w.s2.ID, Roles: []storage.Role{storage.RoleStudent}, Active: true, Grade: 7, StudentNo: fmt.Sprintf("C%d", i)}, "h", false))(t)
			reqs[i] = must(s.CreateTutoringRequest(ctx, storage.Actor{UserID: stu.ID},
				storage.TutoringRequestInput{StudentID: stu.ID, SubjectID: w.math.ID, Grade: 7, Text: "?"}))(t)
			must0(t, s.RecordTutoringOffer(ctx, reqs[i].ID, w.teacher.ID, 1, now, now.Add(time.Minute)))
		}
		errs := make(chan error, n)
		for _, r := range reqs {
			go func() {
				_, err := s.AcceptTutoringOffer(ctx, r.ID, w.teacher.ID, "", 2, now)
				errs <- err
			}()
		}
		accepted, busy := 0, 0
		for range n {
			switch err := <-errs; {
			case err == nil:
				accepted++
			case errors.Is(err, storage.ErrBusy):
				busy++
			default:
				t.Fatalf("accept: %v", err)
			}
		}
		if accepted != 2 || busy != n-2 {
			t.Fatalf("%d accepted, %d busy; want 2 and %d (capacity 2)", accepted, busy, n-2)
		}
		if live := must(s.LiveTutoringSessions(ctx))(t); len(live) != 2 {
			t.Fatalf("%d running sessions; want 2", len(live))
		}
		// A busy teacher is not offered more students either.
		wantErr(t, s.RecordTutoringOffer(ctx, reqs[0].ID, w.teacher.ID, 2, now, now.Add(time.Minute)), storage.ErrBusy)
	})
}

// TestTutoringSatisfaction: share of ratings ≥ 4, mean and distribution,
// by teacher, subject and month.
func TestTutoringSatisfaction(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		stu := storage.Actor{UserID: w.student.ID}
		rate := func(teacher storage.UserID, score int) {
			req := must(s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: "?"}))(t)
			now := time.Now()
			must0(t, s.RecordTutoringOffer(ctx, req.ID, teacher, 1, now, now.Add(time.Minute)))
			sess := must(s.AcceptTutoringOffer(ctx, req.ID, teacher, "", 1, now))(t)
			must2(s.EndTutoringSession(ctx, sess.ID, now, "left"))(t)
			must(s.SaveTutoringRating(ctx, stu, sess.ID, storage.TutoringRating{Score: score, Solved: score >= 4}, now))(t)
		}
		for _, sc := range []int{5, 4, 2} {
			rate(w.teacher.ID, sc)
		}
		rate(w.other.ID, 5)
		month := s.Month(time.Now())
		byTeacher := must(s.TutoringSatisfaction(ctx, storage.SatisfactionQuery{FromMonth: month, ToMonth: month, DistrictID: w.d.ID, GroupBy: storage.ByTeacher}))(t)
		if len(byTeacher) != 2 {
			t.Fatalf("by teacher: %+v", byTeacher)
		}
		g := byTeacher[0]
		if g.Key != itoa(int64(w.teacher.ID)) || g.Ratings != 3 || g.Satisfied != 2 || g.Distribution != [5]int{0, 1, 0, 1, 1} ||
			g.Mean < 3.66 || g.Mean > 3.67 || g.Share < 0.66 || g.Share > 0.67 || g.Solved != 2 {
			t.Fatalf("teacher figures %+v", g)
		}
		bySubject := must(s.TutoringSatisfaction(ctx, storage.SatisfactionQuery{FromMonth: month, ToMonth: month, GroupBy: storage.BySubject}))(t)
		if len(bySubject) != 1 || bySubject[0].Ratings != 4 || bySubject[0].Share != 0.75 {
			t.Fatalf("by subject %+v", bySubject)
		}
		other := must(s.TutoringSatisfaction(ctx, storage.SatisfactionQuery{FromMonth: month, ToMonth: month, SchoolIDs: []storage.SchoolID{w.s1.ID}}))(t)
		if len(other) != 0 {
			t.Fatalf("school 1 has no ratings, got %+v", other)
		}
		_, err := s.TutoringSatisfaction(ctx, storage.SatisfactionQuery{GroupBy: "colour"})
		wantField(t, err, "group")
	})
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(v int64) string { return fmt.Sprint(v) }
