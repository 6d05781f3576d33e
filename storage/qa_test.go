package storage_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"yunke/storage"
	"yunke/storage/storagetest"
)

func TestQALifecycle(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		stu := storage.Actor{UserID: w.student.ID}
		tea := storage.Actor{UserID: w.teacher.ID}
		png := storage.QAImage{Type: "image/png", Data: []byte("\x89PNG\r\n\x1a\nfake")}
		in := storage.QuestionInput{AuthorID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: "x"}

		// Hostile input is refused with the field to blame.
		bad := in
		bad.Grade = 0
		_, err := s.CreateQuestion(ctx, stu, bad)
		wantField(t, err, "grade")
		bad = in
		bad.Text = strings.Repeat("题", storage.MaxQAText+1)
		_, err = s.CreateQuestion(ctx, stu, bad)
		wantField(t, err, "text")
		bad = in
		bad.Images = make([]storage.QAImage, storage.MaxQAImages+1)
		for i := range bad.Images {
			bad.Images[i] = png
		}
		_, err = s.CreateQuestion(ctx, stu, bad)
		wantField(t, err, "images")
		bad = in
		bad.Images = []storage.QAImage{{Type: "image/svg+xml", Data: []byte("<svg onload=alert(1)>")}}
		_, err = s.CreateQuestion(ctx, stu, bad)
		wantField(t, err, "images")
		bad = in
		bad.KnowledgePoints = []storage.KnowledgePointID{w.kp["C8"]} // another subject's point
		_, err = s.CreateQuestion(ctx, stu, bad)
		wantField(t, err, "knowledge_points")

		in.Text = "  二次函数的顶点怎么求？ "
		in.Images = []storage.QAImage{png}
		in.KnowledgePoints = []storage.KnowledgePointID{w.kp["M7.2"], w.kp["M7.1"], w.kp["M7.2"]}
		q := must(s.CreateQuestion(ctx, stu, in))(t)
		if q.Status != storage.QuestionOpen || q.Text != "二次函数的顶点怎么求？" || q.ImageCount != 1 || q.SchoolID != w.s2.ID ||
			q.DistrictID != w.d.ID || len(q.KnowledgePoints) != 2 || q.SubjectCode != "math" || q.AuthorName != "stu" {
			t.Fatalf("question %+v", q)
		}
		if im := must(s.QuestionImage(ctx, q.ID, 0, 0))(t); string(im.Data) != string(png.Data) || im.Type != "image/png" {
			t.Fatalf("picture %+v", im)
		}
		if n := countActivity(t, s, "qa.ask"); n != 1 {
			t.Fatalf("qa.ask rows %d", n)
		}

		// Edit within the window; not after it.
		q = must(s.EditQuestion(ctx, stu, q.ID, "二次函数的顶点怎么求？ $y=x^2$", time.Hour))(t)
		if !strings.Contains(q.Text, "$y=x^2$") {
			t.Fatalf("edit: %q", q.Text)
		}
		_, err = s.EditQuestion(ctx, stu, q.ID, "late", -time.Millisecond)
		wantErr(t, err, storage.ErrClosed)

		// Lists: by district, mine, subject, grade, unanswered; another district sees nothing.
		other := must(s.CreateDistrict(ctx, admin, "D2", "朝阳区"))(t)
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: other.ID}))(t); len(l) != 0 {
			t.Fatalf("another district lists %+v", l)
		}
		for _, f := range []storage.QuestionFilter{{AuthorID: w.student.ID}, {SubjectID: w.math.ID, Grade: 7}, {Unanswered: true}} {
			f.DistrictID = w.d.ID
			if l := must(s.ListQuestions(ctx, f))(t); len(l) != 1 || l[0].ID != q.ID {
				t.Fatalf("list %+v: %+v", f, l)
			}
		}
		// Chinese search without segmentation; knowledge point and status filters; LIKE wildcards are literal.
		for _, f := range []storage.QuestionFilter{{Search: "二次函数"}, {Search: "顶点"}, {KnowledgePoint: w.kp["M7.1"]}, {Status: storage.QuestionOpen}} {
			f.DistrictID = w.d.ID
			if l := must(s.ListQuestions(ctx, f))(t); len(l) != 1 || l[0].ID != q.ID {
				t.Fatalf("list %+v: %+v", f, l)
			}
		}
		for _, f := range []storage.QuestionFilter{{Search: "三角函数"}, {Search: "%"}, {KnowledgePoint: w.kp["M7.1.1"]}, {Status: storage.QuestionAdopted}} {
			f.DistrictID = w.d.ID
			if l := must(s.ListQuestions(ctx, f))(t); len(l) != 0 {
				t.Fatalf("list %+v: %+v", f, l)
			}
		}
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID, Grade: 8}))(t); len(l) != 0 {
			t.Fatalf("grade 8 lists %+v", l)
		}

		// A claim holds the question: the other teacher can neither claim nor answer.
		now := time.Now()
		must0(t, s.ClaimQuestion(ctx, tea, q.ID, w.teacher.ID, now.Add(3*time.Minute)))
		must0(t, s.ClaimQuestion(ctx, tea, q.ID, w.teacher.ID, now.Add(4*time.Minute))) // renewal
		wantErr(t, s.ClaimQuestion(ctx, storage.Actor{UserID: w.other.ID}, q.ID, w.other.ID, now.Add(3*time.Minute)), storage.ErrConflict)
		_, err = s.AddAnswer(ctx, storage.Actor{UserID: w.other.ID}, q.ID, w.other.ID, "抢答", nil)
		wantErr(t, err, storage.ErrConflict)
		_, err = s.AddAnswer(ctx, stu, q.ID, w.student.ID, "自问自答", nil)
		wantField(t, err, "question_id")

		a1 := must(s.AddAnswer(ctx, tea, q.ID, w.teacher.ID, "配方：$y=(x-h)^2+k$，顶点 $(h,k)$。", []storage.QAImage{png}))(t)
		q = must(s.GetQuestion(ctx, q.ID))(t)
		if q.Status != storage.QuestionAnswered || q.AnswerCount != 1 || q.ClaimedBy != 0 || q.FirstAnswerAt.IsZero() {
			t.Fatalf("after answer %+v", q)
		}
		// The claim ended with the answer, so the other teacher answers too.
		a2 := must(s.AddAnswer(ctx, storage.Actor{UserID: w.other.ID}, q.ID, w.other.ID, "用公式 $x=-b/2a$。", nil))(t)
		// Answers are searched too.
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID, Search: "用公式"}))(t); len(l) != 1 || l[0].ID != q.ID {
			t.Fatalf("search in answers: %+v", l)
		}
		// The questions a user answered.
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID, AnsweredBy: w.other.ID}))(t); len(l) != 1 || l[0].ID != q.ID {
			t.Fatalf("answered by the other teacher: %+v", l)
		}
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID, AnsweredBy: w.student.ID}))(t); len(l) != 0 {
			t.Fatalf("answered by the student: %+v", l)
		}
		if err := s.DeleteQuestion(ctx, stu, q.ID); !errors.Is(err, storage.ErrClosed) {
			t.Fatalf("delete of an answered question: %v", err)
		}

		// One up-vote per teacher.
		if v := must(s.VoteAnswer(ctx, storage.Actor{UserID: w.other.ID}, a1.ID, w.other.ID))(t); v.Votes != 1 {
			t.Fatalf("votes %d", v.Votes)
		}
		_, err = s.VoteAnswer(ctx, storage.Actor{UserID: w.other.ID}, a1.ID, w.other.ID)
		wantErr(t, err, storage.ErrDuplicate)

		// Comments on the question and on an answer; an answer of another question is refused.
		must(s.AddComment(ctx, stu, q.ID, 0, w.student.ID, "能再讲讲吗？"))(t)
		c := must(s.AddComment(ctx, tea, q.ID, a1.ID, w.teacher.ID, "看图。"))(t)
		if c.AnswerID != a1.ID || c.AuthorName != "tea" {
			t.Fatalf("comment %+v", c)
		}
		_, err = s.AddComment(ctx, stu, q.ID, 0, w.student.ID, strings.Repeat("长", storage.MaxComment+1))
		wantField(t, err, "text")
		if cs := must(s.ListComments(ctx, q.ID))(t); len(cs) != 2 {
			t.Fatalf("comments %+v", cs)
		}

		// Rating before adoption is refused; adopt, rate, change the adoption (the rating goes), re-rate.
		_, err = s.RateAdopted(ctx, stu, q.ID, 5)
		wantErr(t, err, storage.ErrClosed)
		q = must(s.AdoptAnswer(ctx, stu, q.ID, a1.ID, time.Hour))(t)
		if q.Status != storage.QuestionAdopted || q.AdoptedAnswerID != a1.ID {
			t.Fatalf("adopted %+v", q)
		}
		_, err = s.RateAdopted(ctx, stu, q.ID, 6)
		wantField(t, err, "score")
		r := must(s.RateAdopted(ctx, stu, q.ID, 4))(t)
		if r.TeacherID != w.teacher.ID || r.Score != 4 {
			t.Fatalf("rating %+v", r)
		}
		q = must(s.AdoptAnswer(ctx, stu, q.ID, a2.ID, time.Hour))(t)
		if _, err := s.QuestionRating(ctx, q.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("rating of the previous adoption kept: %v", err)
		}
		must(s.RateAdopted(ctx, stu, q.ID, 5))(t)
		if r := must(s.QuestionRating(ctx, q.ID))(t); r.TeacherID != w.other.ID || r.Score != 5 {
			t.Fatalf("rating %+v", r)
		}
		if st := must(s.QATeacherStats(ctx, w.other.ID))(t); st.Answers != 1 || st.Adopted != 1 || st.AdoptionRate != 1 {
			t.Fatalf("stats of the adopted teacher %+v", st)
		}
		if st := must(s.QATeacherStats(ctx, w.teacher.ID))(t); st.Answers != 1 || st.Adopted != 0 || st.AdoptionRate != 0 {
			t.Fatalf("stats of the other teacher %+v", st)
		}
		month := s.Month(q.CreatedAt)
		for _, g := range []storage.SatisfactionGroup{storage.ByTeacher, storage.ByMonth, storage.BySchool} {
			sat := must(s.QASatisfaction(ctx, storage.SatisfactionQuery{DistrictID: w.d.ID, GroupBy: g}))(t)
			want := map[storage.SatisfactionGroup]string{storage.ByTeacher: itoa(int64(w.other.ID)), storage.ByMonth: itoa(int64(month)),
				storage.BySchool: itoa(int64(w.s2.ID))}[g]
			if len(sat) != 1 || sat[0].Key != want || sat[0].Ratings != 1 || sat[0].Satisfied != 1 || sat[0].Distribution[4] != 1 {
				t.Fatalf("satisfaction by %s: %+v", g, sat)
			}
		}
		_, err = s.AdoptAnswer(ctx, stu, q.ID, a1.ID, -time.Millisecond)
		wantErr(t, err, storage.ErrClosed)
		as := must(s.ListAnswers(ctx, q.ID))(t)
		if len(as) != 2 || as[0].Adopted || !as[1].Adopted || as[0].ImageCount != 1 {
			t.Fatalf("answers %+v", as)
		}
		for action, want := range map[string]int{"qa.answer": 2, "qa.adopt": 2, "qa.rate": 2, "qa.vote": 1, "qa.comment": 2, "qa.claim": 2} {
			if n := countActivity(t, s, action); n != want {
				t.Fatalf("%s rows %d, want %d", action, n, want)
			}
		}

		// A moderator hides an answer and the question, with a reason kept for audit; lists skip the question.
		must0(t, s.HideQuestion(ctx, admin, q.ID, a2.ID, "广告"))
		if a := must(s.GetAnswer(ctx, a2.ID))(t); a.HiddenReason != "广告" || a.Text == "" {
			t.Fatalf("hidden answer %+v", a)
		}
		wantField(t, s.HideQuestion(ctx, admin, q.ID, 999999, "x"), "answer_id")
		must0(t, s.HideQuestion(ctx, admin, q.ID, 0, "不当内容"))
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID}))(t); len(l) != 0 {
			t.Fatalf("hidden question listed: %+v", l)
		}
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID, WithHidden: true}))(t); len(l) != 1 || l[0].HiddenReason != "不当内容" {
			t.Fatalf("moderator's list: %+v", l)
		}
		must0(t, s.HideQuestion(ctx, admin, q.ID, 0, ""))
		if n := countActivity(t, s, "qa.hide"); n != 2 {
			t.Fatalf("qa.hide rows %d", n)
		}

		// Escalation: an open question becomes a tutoring request, once; an unanswered one may be deleted.
		q2 := must(s.CreateQuestion(ctx, stu, storage.QuestionInput{AuthorID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: "还是不会"}))(t)
		req := must(s.CreateTutoringRequest(ctx, stu, storage.TutoringRequestInput{StudentID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: q2.Text}))(t)
		q2 = must(s.MarkEscalated(ctx, stu, q2.ID, req.ID))(t)
		if q2.Status != storage.QuestionEscalated || q2.TutoringRequestID != req.ID {
			t.Fatalf("escalated %+v", q2)
		}
		_, err = s.MarkEscalated(ctx, stu, q2.ID, req.ID)
		wantErr(t, err, storage.ErrClosed)
		_, err = s.AddAnswer(ctx, tea, q2.ID, w.teacher.ID, "late", nil)
		wantErr(t, err, storage.ErrClosed)
		// The tutor of the session it became posts the outcome; nobody else.
		at := time.Now()
		must0(t, s.RecordTutoringOffer(ctx, req.ID, w.other.ID, 1, at, at.Add(20*time.Second)))
		if q2 := must(s.GetQuestion(ctx, q2.ID))(t); q2.TutorID != 0 {
			t.Fatalf("tutor before the request was accepted: %+v", q2)
		}
		sess := must(s.AcceptTutoringOffer(ctx, req.ID, w.other.ID, "http://n1", 1, at))(t)
		// The request and the session name the question they came from.
		if got := must(s.GetTutoringRequest(ctx, req.ID))(t); sess.QuestionID != q2.ID || got.QuestionID != q2.ID {
			t.Fatalf("question of the session %d, of the request %d, want %d", sess.QuestionID, got.QuestionID, q2.ID)
		}
		if q2 := must(s.GetQuestion(ctx, q2.ID))(t); q2.TutorID != w.other.ID {
			t.Fatalf("tutor of the escalated question %d, want %d", q2.TutorID, w.other.ID)
		}
		must(s.AddAnswer(ctx, storage.Actor{UserID: w.other.ID}, q2.ID, w.other.ID, "课上讲清楚了：配方。", nil))(t)
		_, err = s.AddAnswer(ctx, tea, q2.ID, w.teacher.ID, "late", nil)
		wantErr(t, err, storage.ErrClosed)
		q3 := must(s.CreateQuestion(ctx, stu, storage.QuestionInput{AuthorID: w.student.ID, SubjectID: w.math.ID, Grade: 7, Text: "算了"}))(t)
		if l := must(s.RecentOpenQuestions(ctx, time.Now().Add(-time.Hour), 10))(t); len(l) != 1 || l[0].ID != q3.ID {
			t.Fatalf("recent open questions %+v", l)
		}
		if l := must(s.RecentOpenQuestions(ctx, time.Now().Add(time.Hour), 10))(t); len(l) != 0 {
			t.Fatalf("recent open questions from the future %+v", l)
		}
		must0(t, s.DeleteQuestion(ctx, stu, q3.ID))
		if _, err := s.AddAnswer(ctx, tea, q3.ID, w.teacher.ID, "x", nil); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("answer to a deleted question: %v", err)
		}
		if l := must(s.ListQuestions(ctx, storage.QuestionFilter{DistrictID: w.d.ID}))(t); len(l) != 2 {
			t.Fatalf("deleted question listed: %+v", l)
		}
	})
}

// TestQAClaimRace: of many teachers claiming at once, exactly one holds the question.
func TestQAClaimRace(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedTutoring(t, s)
		q := must(s.CreateQuestion(ctx, storage.Actor{UserID: w.student.ID}, storage.QuestionInput{AuthorID: w.student.ID,
			SubjectID: w.math.ID, Grade: 7, Text: "race"}))(t)
		var teachers []storage.UserID
		for i := range 6 {
			u := must(s.CreateUser(ctx, admin, storage.UserInput{Username: "race" + itoa(int64(i)), Name: "r", DistrictID: w.d.ID,
				SchoolID: w.s2.ID, Roles: []storage.Role{storage.RoleTeacher}, Active: true}, "h", false))(t)
			teachers = append(teachers, u.ID)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		until := time.Now().Add(time.Minute)
		for _, id := range teachers {
			wg.Go(func() {
				err := s.ClaimQuestion(ctx, storage.Actor{UserID: id}, q.ID, id, until)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, storage.ErrConflict):
					lost++
				default:
					t.Errorf("claim: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != len(teachers)-1 {
			t.Fatalf("won %d lost %d", won, lost)
		}
		// A lapsed claim lets another teacher in.
		q = must(s.GetQuestion(ctx, q.ID))(t)
		must0(t, s.ClaimQuestion(ctx, storage.Actor{UserID: q.ClaimedBy}, q.ID, q.ClaimedBy, time.Now().Add(-time.Second)))
		other := teachers[0]
		if other == q.ClaimedBy {
			other = teachers[1]
		}
		must0(t, s.ClaimQuestion(ctx, storage.Actor{UserID: other}, q.ID, other, until))
	})
}

// TestQASettings: a district keeps the installation's default until its
// administrator chooses; the choice is per district, can be changed back,
// and is logged.
func TestQASettings(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		d1, err := s.CreateDistrict(ctx, storage.Actor{}, "QA1", "一区")
		if err != nil {
			t.Fatal(err)
		}
		d2, err := s.CreateDistrict(ctx, storage.Actor{}, "QA2", "二区")
		if err != nil {
			t.Fatal(err)
		}
		def := storage.QASettings{StudentsAnswer: true}
		got, err := s.QASettings(ctx, d1.ID, def)
		if err != nil || !got.StudentsAnswer || got.Chosen || got.DistrictID != d1.ID {
			t.Fatalf("default: %+v %v", got, err)
		}
		if _, err := s.SetQASettings(ctx, storage.Actor{UserID: 0}, storage.QASettings{DistrictID: d1.ID, StudentsAnswer: false}); err != nil {
			t.Fatal(err)
		}
		got, err = s.QASettings(ctx, d1.ID, def)
		if err != nil || got.StudentsAnswer || !got.Chosen {
			t.Fatalf("district 1 chose no: %+v %v", got, err)
		}
		if got, _ := s.QASettings(ctx, d2.ID, def); !got.StudentsAnswer || got.Chosen {
			t.Fatalf("district 2 changed with district 1: %+v", got)
		}
		if _, err := s.SetQASettings(ctx, storage.Actor{}, storage.QASettings{DistrictID: d1.ID, StudentsAnswer: true}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.QASettings(ctx, d1.ID, storage.QASettings{}); !got.StudentsAnswer || !got.Chosen {
			t.Fatalf("district 1 changed back: %+v", got)
		}
		if _, err := s.SetQASettings(ctx, storage.Actor{}, storage.QASettings{DistrictID: 987654}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("unknown district: %v", err)
		}
		if n := countActivity(t, s, "qa.settings"); n != 2 {
			t.Fatalf("%d qa.settings activity rows, want 2", n)
		}
	})
}

// TestQASearch: Chinese search through the two-character index — a word
// of a question or of an answer, a two-character query, one character —
// with the filters, only in the district, and similar questions ranked
// adopted, then answered, then waiting.
func TestQASearch(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		stu := storage.Actor{UserID: w.student.ID}
		ask := func(text string, grade int, kps ...storage.KnowledgePointID) storage.Question {
			return must(s.CreateQuestion(ctx, stu, storage.QuestionInput{AuthorID: w.student.ID, SubjectID: w.math.ID, Grade: grade,
				Text: text, KnowledgePoints: kps}))(t)
		}
		waiting := ask("二次函数的顶点怎么求？", 7, w.kp["M7.1"])
		answered := ask("二次函数的图像开口方向", 7)
		adopted := ask("二次函数与一元二次方程", 8)
		other := ask("三角形内角和 Triangle", 7)
		must(s.AddAnswer(ctx, storage.Actor{UserID: w.teacher.ID}, answered.ID, w.teacher.ID, "看二次项系数的符号", nil))(t)
		a := must(s.AddAnswer(ctx, storage.Actor{UserID: w.teacher.ID}, adopted.ID, w.teacher.ID, "判别式决定根的个数", nil))(t)
		must(s.AdoptAnswer(ctx, stu, adopted.ID, a.ID, time.Hour))(t)
		// Edited text is found by its new words.
		must(s.EditQuestion(ctx, stu, other.ID, "三角形内角和是多少 Triangle", time.Hour))(t)

		ids := func(f storage.QuestionFilter) []storage.QuestionID {
			t.Helper()
			f.DistrictID = w.d.ID
			var out []storage.QuestionID
			for _, q := range must(s.ListQuestions(ctx, f))(t) {
				out = append(out, q.ID)
			}
			return out
		}
		eq := func(name string, got []storage.QuestionID, want ...storage.QuestionID) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %v, want %v", name, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: %v, want %v", name, got, want)
				}
			}
		}
		eq("二次函数", ids(storage.QuestionFilter{Search: "二次函数"}), adopted.ID, answered.ID, waiting.ID)
		eq("two characters", ids(storage.QuestionFilter{Search: "顶点"}), waiting.ID)
		eq("one character", ids(storage.QuestionFilter{Search: "角"}), other.ID)
		eq("a word of an answer", ids(storage.QuestionFilter{Search: "判别式"}), adopted.ID)
		eq("the edited text", ids(storage.QuestionFilter{Search: "多少"}), other.ID)
		eq("any case", ids(storage.QuestionFilter{Search: "triangle"}), other.ID)
		eq("pieces in another order", ids(storage.QuestionFilter{Search: "函数二次"}))
		eq("inside a longer word", ids(storage.QuestionFilter{Search: "二次方程"}), adopted.ID)
		// Every piece of "乙甲乙" ("乙甲", "甲乙") is in "甲乙丙，乙甲", the whole nowhere: the substring match confirms.
		cyc := ask("甲乙丙，乙甲", 9)
		eq("all pieces, not together", ids(storage.QuestionFilter{Search: "乙甲乙"}))
		eq("together", ids(storage.QuestionFilter{Search: "，乙甲"}), cyc.ID)
		eq("grade", ids(storage.QuestionFilter{Search: "二次函数", Grade: 8}), adopted.ID)
		eq("knowledge point", ids(storage.QuestionFilter{Search: "二次函数", KnowledgePoint: w.kp["M7.1"]}), waiting.ID)
		eq("waiting", ids(storage.QuestionFilter{Search: "二次函数", Status: storage.QuestionOpen}), waiting.ID)
		eq("answered", ids(storage.QuestionFilter{Search: "二次函数", Status: storage.QuestionAnswered}), answered.ID)
		eq("adopted", ids(storage.QuestionFilter{Search: "二次函数", Status: storage.QuestionAdopted}), adopted.ID)
		// Newest first, or for similar questions adopted, answered, then waiting.
		eq("newest first", ids(storage.QuestionFilter{Search: "二次"}), adopted.ID, answered.ID, waiting.ID)
		newer := ask("二次函数的对称轴", 7)
		eq("similar", ids(storage.QuestionFilter{Search: "二次函数", Similar: true}), adopted.ID, answered.ID, newer.ID, waiting.ID)

		// Another district's question with the same words is not found here.
		d2 := must(s.CreateDistrict(ctx, admin, "D9", "九区"))(t)
		sc := must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: d2.ID, Code: "S9", Name: "九中", Kind: storage.KindJuniorSecondary, Active: true}))(t)
		far := must(s.CreateUser(ctx, admin, storage.UserInput{Username: "far", Name: "far", DistrictID: d2.ID, SchoolID: sc.ID,
			Roles: []storage.Role{storage.RoleStudent}, Active: true, Grade: 7}, "h", false))(t)
		must(s.CreateQuestion(ctx, storage.Actor{UserID: far.ID}, storage.QuestionInput{AuthorID: far.ID, SubjectID: w.math.ID, Grade: 7, Text: "二次函数最值"}))(t)
		eq("own district only", ids(storage.QuestionFilter{Search: "最值"}))
	})
}

// TestQAShare: a district's questions reach other districts' lists and
// search (WithShared) only once it shares them, never the hidden ones, and
// a district that does not share stays invisible.
func TestQAShare(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		w := seedMicro(t, s)
		mine := must(s.CreateQuestion(ctx, storage.Actor{UserID: w.student.ID}, storage.QuestionInput{AuthorID: w.student.ID,
			SubjectID: w.math.ID, Grade: 7, Text: "二次函数的顶点"}))(t)
		d2 := must(s.CreateDistrict(ctx, admin, "D9", "九区"))(t)
		sc := must(s.CreateSchool(ctx, admin, storage.SchoolInput{DistrictID: d2.ID, Code: "S9", Name: "九中", Kind: storage.KindJuniorSecondary, Active: true}))(t)
		far := must(s.CreateUser(ctx, admin, storage.UserInput{Username: "far", Name: "far", DistrictID: d2.ID, SchoolID: sc.ID,
			Roles: []storage.Role{storage.RoleStudent}, Active: true, Grade: 7}, "h", false))(t)
		farAsk := func(text string) storage.Question {
			return must(s.CreateQuestion(ctx, storage.Actor{UserID: far.ID}, storage.QuestionInput{AuthorID: far.ID, SubjectID: w.math.ID,
				Grade: 7, Text: text}))(t)
		}
		shared := farAsk("二次函数最值")
		hidden := farAsk("二次函数的零点")
		must0(t, s.HideQuestion(ctx, admin, hidden.ID, 0, "spam"))

		ids := func(f storage.QuestionFilter) map[storage.QuestionID]bool {
			t.Helper()
			out := map[storage.QuestionID]bool{}
			for _, q := range must(s.ListQuestions(ctx, f))(t) {
				out[q.ID] = true
			}
			return out
		}
		here := storage.QuestionFilter{DistrictID: w.d.ID, WithShared: true}
		search := here
		search.Search = "二次函数"
		similar := search
		similar.Similar = true
		for name, f := range map[string]storage.QuestionFilter{"list": here, "search": search, "similar": similar} {
			if got := ids(f); len(got) != 1 || !got[mine.ID] {
				t.Fatalf("%s before sharing: %v", name, got)
			}
		}
		if sh := must(s.SharesQuestions(ctx, d2.ID))(t); sh {
			t.Fatal("district 2 shares by default")
		}

		set := must(s.SetQASettings(ctx, admin, storage.QASettings{DistrictID: d2.ID, StudentsAnswer: true, SharesQuestions: true}))(t)
		if !set.SharesQuestions || !set.StudentsAnswer {
			t.Fatalf("set %+v", set)
		}
		if got := must(s.QASettings(ctx, d2.ID, storage.QASettings{}))(t); !got.SharesQuestions || !got.StudentsAnswer || !got.Chosen {
			t.Fatalf("read back %+v", got)
		}
		if sh := must(s.SharesQuestions(ctx, d2.ID))(t); !sh {
			t.Fatal("district 2 does not share after choosing to")
		}
		withHidden := here
		withHidden.WithHidden = true
		for name, f := range map[string]storage.QuestionFilter{"list": here, "search": search, "similar": similar, "with hidden": withHidden} {
			if got := ids(f); len(got) != 2 || !got[mine.ID] || !got[shared.ID] {
				t.Fatalf("%s after sharing: %v (hidden %d)", name, got, hidden.ID)
			}
		}
		if got := ids(storage.QuestionFilter{DistrictID: w.d.ID, Search: "最值", WithShared: true}); len(got) != 1 || !got[shared.ID] {
			t.Fatalf("search a shared word: %v", got)
		}
		if got := ids(storage.QuestionFilter{DistrictID: w.d.ID, Search: "最值"}); len(got) != 0 {
			t.Fatalf("without WithShared: %v", got)
		}
		// District 1 does not share: district 2 still sees only its own.
		if got := ids(storage.QuestionFilter{DistrictID: d2.ID, WithShared: true, WithHidden: true}); len(got) != 2 || got[mine.ID] {
			t.Fatalf("district 2 lists %v", got)
		}

		// Sharing off again: gone.
		must(s.SetQASettings(ctx, admin, storage.QASettings{DistrictID: d2.ID, StudentsAnswer: true}))(t)
		if got := ids(search); len(got) != 1 || !got[mine.ID] {
			t.Fatalf("after unsharing: %v", got)
		}
	})
}
