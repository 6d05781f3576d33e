package demodata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"yunke/storage"
)

// activeStudent draws a student, some far more often than others.
func (g *gen) activeStudent(r *rand.Rand) *student {
	i := int(math.Pow(r.Float64(), 1.8) * float64(len(g.students)))
	return g.students[min(i, len(g.students)-1)]
}

// subjectOf draws the subject of a tutoring request or a question:
// mathematics most, then English, physics, Chinese and chemistry.
var subjectWeights = []float64{0.12, 0.3, 0.17, 0.13, 0.1, 0.06, 0.04, 0.04, 0.04}

func (g *gen) subjectOf(r *rand.Rand) storage.SubjectID {
	x := r.Float64()
	for i, w := range subjectWeights[:min(len(subjectWeights), len(g.subjects))] {
		if x < w {
			return g.subjects[i]
		}
		x -= w
	}
	return g.subjects[0]
}

// helper draws a teacher of subject to answer or tutor.
func (g *gen) helper(r *rand.Rand, subject storage.SubjectID, not storage.UserID) *teacher {
	list := g.bySubject[subject]
	if len(list) == 0 {
		list = g.teachers
	}
	// A third of the teachers do most of the online work.
	n := max(1, len(list)/3)
	t := list[r.IntN(n)]
	if r.Float64() < 0.3 {
		t = list[r.IntN(len(list))]
	}
	if t.id == not && len(list) > 1 {
		t = list[(r.IntN(len(list)-1)+1+indexOf(list, t))%len(list)]
	}
	return t
}

func indexOf(list []*teacher, t *teacher) int {
	for i, x := range list {
		if x == t {
			return i
		}
	}
	return 0
}

var askTexts = []string{"这道题怎么做？", "这个步骤看不懂", "为什么答案是这样？", "请讲一下思路", "这个公式怎么用？", "能举个例子吗？"}

// Answers are short: each answer's text goes into its question's search
// index, two characters a row, as answering does.
var answerTexts = []string{"先画图分析", "代入公式", "注意单位", "看课本例题", "先列方程", "找关键词"}

// tutoring makes the year's one-to-one tutoring: requests from home in
// the evenings and at weekends, matched after a short wait, sessions of a
// quarter of an hour or so, most of them rated.
func (g *gen) tutoring() error {
	r := g.rng(20)
	b := g.b
	n := g.p.or(g.p.Sessions, FullSessions, 1)
	for range n {
		s := g.activeStudent(r)
		subject := g.subjectOf(r)
		t := g.helper(r, subject, 0)
		reqID, err := b.NextID("tutoring_requests")
		if err != nil {
			return err
		}
		sid, err := b.NextID("tutoring_sessions")
		if err != nil {
			return err
		}
		created := ms(g.cal.atHome(r))
		offered := created + int64(math.Min(lognormal(r, 25, 0.9), 900)*1000)
		accepted := offered + int64(3+r.IntN(13))*1000
		started := accepted + int64(2+r.IntN(9))*1000
		dur := int64(math.Min(math.Max(lognormal(r, 15*60, 0.5), 120), 3600))
		ended := started + dur*1000
		kp := int64(0)
		if pts := g.points[subject]; len(pts) > 0 && r.Float64() < 0.6 {
			kp = int64(pts[r.IntN(len(pts))])
		}
		school, grade := int64(s.school.id), s.grade
		if err := b.Add("tutoring_requests", reqID, int64(s.id), int64(g.district), school, int64(subject), grade, kp,
			askTexts[r.IntN(len(askTexts))], "matched", sid, created, accepted); err != nil {
			return err
		}
		if err := g.extra("tutoring_offers", reqID, int64(t.id), "accepted", offered, offered+30_000, accepted); err != nil {
			return err
		}
		reason := "ended_by_teacher"
		if r.Float64() < 0.4 {
			reason = "ended_by_student"
		}
		if err := b.Add("tutoring_sessions", sid, reqID, int64(s.id), int64(t.id), int64(g.district), school, int64(subject),
			grade, accepted, started, ended, dur, reason); err != nil {
			return err
		}
		g.sum.TutoringRequests++
		g.sum.TutoringSessions++
		req := "tutoring_request:" + strconv.FormatInt(reqID, 10)
		sess := "tutoring:" + strconv.FormatInt(sid, 10)
		room := "tutor-" + strconv.FormatInt(sid, 10)
		a := func(when int64, actor storage.UserID, action string) storage.Activity {
			return storage.Activity{At: at(when), ActorID: actor, Action: action, DistrictID: g.district,
				SchoolID: s.school.id, SubjectID: subject}
		}
		acts := []storage.Activity{a(created, s.id, "tutoring.request"), a(offered, 0, "tutoring.offer"),
			a(accepted, t.id, "tutoring.accept"), a(started, 0, "tutoring.session_start"), a(ended, 0, "tutoring.session_end")}
		acts[0].Subject, acts[0].Detail = req, b.Detail(map[string]any{"grade": grade})
		acts[1].Subject, acts[1].Detail = req, b.Detail(map[string]any{"teacher_id": int64(t.id)})
		acts[2].Subject, acts[2].SessionID = req, sess
		acts[3].SessionID, acts[3].RoomID = sess, room
		acts[4].SessionID, acts[4].RoomID, acts[4].Value = sess, room, dur
		acts[4].Detail = b.Detail(map[string]any{"reason": reason})
		if r.Float64() < 0.88 {
			sc := score(r, tutoringSatisfaction)
			solved := r.Float64() < 0.92
			if sc < 4 {
				solved = r.Float64() < 0.3
			}
			rated := ended + int64(5+r.IntN(120))*1000
			if err := b.Add("tutoring_ratings", sid, int64(g.district), school, int64(subject), int64(t.id),
				month(at(accepted)), sc, solved, rated, rated); err != nil {
				return err
			}
			g.sum.TutoringRatings++
			rate := a(rated, s.id, "tutoring.rate")
			rate.SessionID, rate.Value = sess, int64(sc)
			rate.Detail = b.Detail(map[string]any{"teacher_id": int64(t.id), "solved": solved})
			acts = append(acts, rate)
		}
		for _, act := range acts {
			if err := g.activity(act); err != nil {
				return err
			}
		}
	}
	return g.unmatched(n)
}

// answer is one answer to a question being generated.
type answer struct {
	id   int64
	by   storage.UserID
	at   int64
	text string
}

// actFn makes an activity row of the question being generated.
type actFn func(when int64, actor storage.UserID, action string, value int64, detail map[string]any) storage.Activity

// answerCounts spreads answers over questions: about a tenth of the
// questions stay unanswered, most get two to four answers, and the total
// is exactly answers.
func answerCounts(r *rand.Rand, questions, answers int) []int {
	counts := make([]int, questions)
	sum := 0
	mean := float64(answers) / float64(max(questions, 1))
	for i := range counts {
		if r.Float64() < 0.1 {
			continue
		}
		k := max(1, int(math.Round(lognormal(r, mean, 0.45))))
		counts[i] = min(k, 12)
		sum += counts[i]
	}
	for sum != answers && questions > 0 {
		i := r.IntN(questions)
		switch {
		case sum < answers && counts[i] > 0 && counts[i] < 12:
			counts[i]++
			sum++
		case sum > answers && counts[i] > 1:
			counts[i]--
			sum--
		case sum < answers && mean > 11.5:
			counts[i]++
			sum++
		}
	}
	return counts
}

// questions makes the Q&A centre's year: questions asked from home,
// answered by teachers of the subject, most answered ones adopted and
// rated.
func (g *gen) questions() error {
	r := g.rng(30)
	b := g.b
	nq := g.p.or(g.p.Questions, FullQuestions, 1)
	na := g.p.or(g.p.Answers, FullAnswers, 0)
	// Votes and comments draw from a source of their own, so the
	// questions and answers stay as they were without them.
	rf := g.rng(31)
	counts := answerCounts(r, nq, na)
	for _, k := range counts {
		s := g.activeStudent(r)
		subject := g.subjectOf(r)
		qid, err := b.NextID("qa_questions")
		if err != nil {
			return err
		}
		created := ms(g.cal.atHome(r))
		text := fmt.Sprintf("%s%s", topicNames[r.IntN(len(topicNames))], askTexts[r.IntN(len(askTexts))])
		subj := "qa_question:" + strconv.FormatInt(qid, 10)
		a := func(when int64, actor storage.UserID, action string, value int64, detail map[string]any) storage.Activity {
			return storage.Activity{At: at(when), ActorID: actor, Action: action, DistrictID: g.district,
				SchoolID: s.school.id, SubjectID: subject, Subject: subj, Value: value, Detail: b.Detail(detail)}
		}
		acts := []storage.Activity{a(created, s.id, "qa.ask", 0, map[string]any{"grade": s.grade})}
		var answers []answer
		when := created
		for j := range k {
			aid, err := b.NextID("qa_answers")
			if err != nil {
				return err
			}
			delay := lognormal(r, 600, 1.1)
			if j > 0 {
				delay = lognormal(r, 1800, 1.0)
			}
			when += int64(math.Min(delay, 3*86_400)) * 1000
			t := g.helper(r, subject, 0)
			ans := answer{aid, t.id, when, answerTexts[r.IntN(len(answerTexts))]}
			answers = append(answers, ans)
			acts = append(acts, a(when, t.id, "qa.answer", (when-created)/1000, map[string]any{"answer_id": aid}))
		}
		status, adopted, adoptedAt, first := "open", int64(0), int64(0), int64(0)
		var adoptedBy storage.UserID
		if k > 0 {
			status, first = "answered", answers[0].at
			if r.Float64() < 0.72 {
				pickA := answers[0]
				if k > 1 && r.Float64() < 0.35 {
					pickA = answers[1+r.IntN(k-1)]
				}
				status, adopted, adoptedBy = "adopted", pickA.id, pickA.by
				adoptedAt = when + int64(60+r.IntN(6*3600))*1000
				acts = append(acts, a(adoptedAt, s.id, "qa.adopt", 0, map[string]any{"answer_id": adopted, "changed": false}))
			}
		}
		updated := when
		if adoptedAt != 0 {
			updated = adoptedAt
		}
		if err := b.Add("qa_questions", qid, int64(s.id), int64(g.district), int64(s.school.id), int64(subject), s.grade, text,
			status, k, adopted, adoptedAt, first, created, updated); err != nil {
			return err
		}
		g.sum.Questions++
		if pts := g.points[subject]; len(pts) > 0 && r.Float64() < 0.6 {
			if err := b.Add("qa_question_points", qid, int64(pts[r.IntN(len(pts))])); err != nil {
				return err
			}
		}
		texts := []string{text}
		for _, ans := range answers {
			voters, at := g.voters(rf, ans.by, ans.at, subject)
			if err := b.Add("qa_answers", ans.id, qid, int64(ans.by), ans.text, len(voters), ans.at, ans.at); err != nil {
				return err
			}
			for i, v := range voters {
				if err := g.vote(ans.id, v, at[i], a); err != nil {
					return err
				}
			}
			texts = append(texts, ans.text)
			g.sum.Answers++
		}
		if err := g.comments(rf, qid, s.id, created, answers, a); err != nil {
			return err
		}
		if !g.p.Lean {
			if err := b.IndexQuestion(g.district, storage.QuestionID(qid), texts...); err != nil {
				return err
			}
		}
		if adopted != 0 {
			g.sum.AdoptedQuestions++
			if r.Float64() < 0.9 {
				sc := score(r, qaSatisfaction)
				rated := adoptedAt + int64(2+r.IntN(60))*1000
				if err := b.Add("qa_ratings", qid, adopted, int64(adoptedBy), int64(g.district), int64(s.school.id), int64(subject),
					month(at(created)), sc, rated); err != nil {
					return err
				}
				g.sum.QARatings++
				acts = append(acts, a(rated, s.id, "qa.rate", int64(sc), map[string]any{"answer_id": adopted}))
			}
		}
		for _, act := range acts {
			if err := g.activity(act); err != nil {
				return err
			}
		}
	}
	return nil
}

// microlessons makes the micro-lessons teachers submitted; the seeds'
// number of them were reviewed, tagged with knowledge points and
// published, and a tenth more wait for review.
func (g *gen) microlessons() error {
	r := g.rng(40)
	b := g.b
	published := g.p.n(FullMicrolessons, 1)
	waiting := g.p.n(FullMicrolessons/10, 1)
	for i := range published + waiting {
		t := g.teachers[r.IntN(len(g.teachers))]
		id, err := b.NextID("microlessons")
		if err != nil {
			return err
		}
		submitted := ms(g.cal.lesson(r)) + int64(r.IntN(4*3600))*1000
		dur := int64(300+r.IntN(600)) * 1000
		size := dur * 100
		title := fmt.Sprintf("%s微课：%s", subjectNames[indexSubject(g.subjects, t.subject)%len(subjectNames)],
			topicNames[r.IntN(len(topicNames))])
		status, statusBy, statusAt, pubAt, reviewer := "submitted", t.id, submitted, int64(0), storage.UserID(0)
		subj := "microlesson:" + strconv.FormatInt(id, 10)
		a := func(when int64, actor storage.UserID, action string, value int64, detail map[string]any) storage.Activity {
			return storage.Activity{At: at(when), ActorID: actor, Action: action, DistrictID: g.district,
				SchoolID: t.school.id, SubjectID: t.subject, Subject: subj, Value: value, Detail: b.Detail(detail)}
		}
		acts := []storage.Activity{a(submitted, t.id, "microlesson.submit", dur/1000,
			map[string]any{"teacher_id": int64(t.id), "container": "mp4", "size": size})}
		var points []int64
		if i < published {
			reviewer = g.experts[r.IntN(len(g.experts))]
			taken := submitted + int64(1+r.IntN(5))*86_400_000
			pubAt = taken + int64(1+r.IntN(3))*86_400_000
			status, statusBy, statusAt = "published", reviewer, pubAt
			pts := g.points[t.subject]
			for _, k := range r.Perm(len(pts))[:min(len(pts), 1+r.IntN(2))] {
				points = append(points, int64(pts[k]))
			}
			sortInts(points)
			acts = append(acts,
				a(taken, reviewer, "microlesson.review", 0, map[string]any{"teacher_id": int64(t.id), "from": "submitted",
					"reviewer_id": int64(reviewer)}),
				a(pubAt, reviewer, "microlesson.publish", 0, map[string]any{"teacher_id": int64(t.id), "from": "in_review",
					"knowledge_point_ids": points}))
		}
		grade := t.grades[r.IntN(len(t.grades))]
		if err := b.Add("microlessons", id, int64(t.id), int64(g.district), int64(t.school.id), int64(t.subject), grade, title,
			strings.ToLower(title), fmt.Sprintf("demo/%d/microlessons/%d.mp4", g.p.Seed, id), size, "mp4", "h264", "aac", 1280, 720, dur,
			status, int64(statusBy), statusAt, pubAt, int64(reviewer), int64(len(acts)), submitted, statusAt); err != nil {
			return err
		}
		for _, p := range points {
			if err := b.Add("microlesson_points", id, p); err != nil {
				return err
			}
		}
		g.sum.Microlessons++
		if status == "published" {
			g.sum.MicrolessonsPub++
		}
		for _, act := range acts {
			if err := g.activity(act); err != nil {
				return err
			}
		}
	}
	return nil
}

func indexSubject(subs []storage.SubjectID, s storage.SubjectID) int {
	for i, x := range subs {
		if x == s {
			return i
		}
	}
	return 0
}

func sortInts(v []int64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}
