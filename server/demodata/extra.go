package demodata

import (
	"math"
	"math/rand/v2"
	"strconv"

	"yunke/server/stanalysis"
	"yunke/storage"
)

// The rows around the main activities: requests nobody took, votes and
// follow-up comments in the Q&A centre, sign-ins, and what a recording
// heard (its stretches of speech and their automatic S-T result). Each
// draws from a random source of its own, so the main activities stay as
// they were without them.

// unmatchedShare is the part of the tutoring requests withdrawn before a
// teacher took them, per matched one.
const unmatchedShare = 0.087

// unmatched makes the requests a student withdrew while waiting, some of
// them after an offer that lapsed or was declined.
func (g *gen) unmatched(matched int) error {
	r := g.rng(21)
	b := g.b
	for range int(math.Round(float64(matched) * unmatchedShare)) {
		s := g.activeStudent(r)
		subject := g.subjectOf(r)
		id, err := b.NextID("tutoring_requests")
		if err != nil {
			return err
		}
		created := ms(g.cal.atHome(r))
		kp := int64(0)
		if pts := g.points[subject]; len(pts) > 0 && r.Float64() < 0.6 {
			kp = int64(pts[r.IntN(len(pts))])
		}
		subj := "tutoring_request:" + strconv.FormatInt(id, 10)
		act := func(when int64, actor storage.UserID, action string, detail map[string]any) storage.Activity {
			return storage.Activity{At: at(when), ActorID: actor, Action: action, DistrictID: g.district,
				SchoolID: s.school.id, SubjectID: subject, Subject: subj, Detail: b.Detail(detail)}
		}
		acts := []storage.Activity{act(created, s.id, "tutoring.request", map[string]any{"grade": s.grade})}
		type offer struct {
			t                 *teacher
			outcome           string
			offered, closedAt int64
		}
		var offers []offer
		when := created
		nOffers := 0
		switch x := r.Float64(); {
		case x < 0.15:
			nOffers = 2
		case x < 0.55:
			nOffers = 1
		}
		for range nOffers {
			t := g.helper(r, subject, 0)
			if len(offers) > 0 && offers[0].t == t {
				break
			}
			o := offer{t: t, outcome: "lapsed", offered: when + int64(math.Min(lognormal(r, 25, 0.9), 600)*1000)}
			o.closedAt = o.offered + 30_000
			if r.Float64() < 0.4 {
				o.outcome = "declined"
				o.closedAt = o.offered + int64(3+r.IntN(20))*1000
			}
			when = o.closedAt
			offers = append(offers, o)
		}
		cancelled := max(when, created+int64(math.Min(lognormal(r, 150, 0.7), 1800)*1000)) + int64(1+r.IntN(20))*1000
		if err := b.Add("tutoring_requests", id, int64(s.id), int64(g.district), int64(s.school.id), int64(subject), s.grade, kp,
			askTexts[r.IntN(len(askTexts))], "cancelled", int64(0), created, cancelled); err != nil {
			return err
		}
		for _, o := range offers {
			if err := g.extra("tutoring_offers", id, int64(o.t.id), o.outcome, o.offered, o.offered+30_000, o.closedAt); err != nil {
				return err
			}
			detail := map[string]any{"teacher_id": int64(o.t.id)}
			closer := storage.UserID(0)
			if o.outcome == "declined" {
				closer = o.t.id
			}
			acts = append(acts, act(o.offered, 0, "tutoring.offer", detail), act(o.closedAt, closer, "tutoring.offer_"+o.outcome, detail))
		}
		acts = append(acts, act(cancelled, s.id, "tutoring.cancel", nil))
		g.sum.TutoringRequests++
		g.sum.TutoringUnmatched++
		for _, a := range acts {
			if err := g.activity(a); err != nil {
				return err
			}
		}
	}
	return nil
}

// voters draws the teachers who up-vote one answer, and when: most
// answers get no vote, a good one several.
func (g *gen) voters(r *rand.Rand, by storage.UserID, answered int64, subject storage.SubjectID) ([]storage.UserID, []int64) {
	if r.Float64() < 0.85 {
		return nil, nil
	}
	n := 1
	for n < 6 && r.Float64() < 0.4 {
		n++
	}
	seen := map[storage.UserID]bool{by: true}
	var who []storage.UserID
	var when []int64
	for range n {
		t := g.helper(r, subject, by)
		if seen[t.id] {
			continue
		}
		seen[t.id] = true
		who = append(who, t.id)
		when = append(when, answered+int64(math.Min(lognormal(r, 3*3600, 1.2), 7*86_400))*1000)
	}
	return who, when
}

// vote writes one up-vote of an answer (after the answer itself).
func (g *gen) vote(answerID int64, t storage.UserID, when int64, a actFn) error {
	if err := g.extra("qa_votes", answerID, int64(t), when); err != nil {
		return err
	}
	g.sum.QAVotes++
	return g.activity(a(when, t, "qa.vote", 0, map[string]any{"answer_id": answerID}))
}

var followTexts = []string{"谢谢老师，明白了", "还是不太懂第二步", "这样做对吗？", "能再讲一下吗？", "懂了！"}
var teacherNotes = []string{"请把题目拍完整", "注意审题", "先复习课本相关内容"}

// comments writes the follow-ups of one question: the asker's to an
// answer, now and then a teacher's to the question.
func (g *gen) comments(r *rand.Rand, qid int64, asker storage.UserID, asked int64, answers []answer, a actFn) error {
	write := func(answerID int64, author storage.UserID, text string, when int64) error {
		id, err := g.b.NextID("qa_comments")
		if err != nil {
			return err
		}
		if err := g.extra("qa_comments", id, qid, answerID, int64(author), text, when); err != nil {
			return err
		}
		g.sum.QAComments++
		return g.activity(a(when, author, "qa.comment", 0, nil))
	}
	if len(answers) > 0 && r.Float64() < 0.12 {
		ans := answers[r.IntN(len(answers))]
		when := ans.at + int64(math.Min(lognormal(r, 1200, 1.0), 2*86_400))*1000
		if err := write(ans.id, asker, followTexts[r.IntN(len(followTexts))], when); err != nil {
			return err
		}
	}
	if len(answers) > 0 && r.Float64() < 0.04 {
		when := asked + int64(math.Min(lognormal(r, 3600, 1.0), 2*86_400))*1000
		if err := write(0, answers[0].by, teacherNotes[r.IntN(len(teacherNotes))], when); err != nil {
			return err
		}
	}
	return nil
}

// signIns makes the year's sign-ins ("auth.signin", as signing in records
// it): teachers and experts on school days, students from home in the
// evenings and at weekends; some accounts never sign in, most a few times
// a month, a few almost daily.
func (g *gen) signIns() error {
	if g.p.Lean {
		return nil
	}
	r := g.rng(50)
	one := func(u storage.UserID, school storage.SchoolID, never, median, sigma float64, atSchool float64) error {
		if r.Float64() < never {
			return nil
		}
		k := min(250, max(1, int(math.Round(lognormal(r, median, sigma)))))
		for range k {
			when := g.cal.atHome(r)
			if r.Float64() < atSchool {
				when = g.cal.lesson(r).Add(-randDuration(r, 20))
			}
			if err := g.activity(storage.Activity{At: when, ActorID: u, Action: "auth.signin", DistrictID: g.district,
				SchoolID: school, Subject: "user:" + strconv.FormatInt(int64(u), 10)}); err != nil {
				return err
			}
			g.sum.SignIns++
		}
		return nil
	}
	for _, t := range g.teachers {
		if err := one(t.id, t.school.id, 0.06, 10, 0.9, 0.7); err != nil {
			return err
		}
	}
	for _, e := range g.experts {
		if err := one(e, 0, 0, 25, 0.5, 0.9); err != nil {
			return err
		}
	}
	for _, s := range g.students {
		if err := one(s.id, s.school.id, 0.15, 5, 1.0, 0); err != nil {
			return err
		}
	}
	return nil
}

// lessonStyles are the kinds of lesson recorded, with their shares: the
// lengths of the teacher's and the students' turns (seconds, from–to)
// and how often the students' turns are heard (not silent practice).
var lessonStyles = []struct {
	share         float64
	tFrom, tTo    int
	sFrom, sTo    int
	studentsHeard float64
}{
	{0.42, 60, 300, 20, 90, 0.5},  // lecture: long stretches of teaching
	{0.30, 60, 180, 40, 150, 0.6}, // mixed
	{0.16, 18, 45, 18, 45, 0.9},   // dialogue: question and answer
	{0.12, 20, 90, 120, 480, 0.3}, // practice: the students work
}

// speech writes what a class recording of durMS heard — the teacher's and
// the students' stretches of speech, by the lesson's style — and its
// automatic S-T result, as finishing a recording stores them.
func (g *gen) speech(recID int64, teacherID storage.UserID, durMS, ended int64) error {
	if g.speakR == nil {
		g.speakR = g.rng(12)
	}
	r := g.speakR
	x := r.Float64()
	st := lessonStyles[len(lessonStyles)-1]
	for _, s := range lessonStyles {
		if x < s.share {
			st = s
			break
		}
		x -= s.share
	}
	teacherIdentity := strconv.FormatInt(int64(teacherID), 10)
	var iv []stanalysis.Interval
	add := func(identity, role string, s, e int64) error {
		if e <= s {
			return nil
		}
		iv = append(iv, stanalysis.Interval{Teacher: role == "teacher", StartMS: s, EndMS: e})
		g.sum.SpeakingIntervals++
		return g.b.Add("recording_speaking", recID, identity, role, s, e, 0.3+r.Float64()*0.5)
	}
	teacherTurn := true
	for at := int64(r.IntN(20)) * 1000; at < durMS; teacherTurn = !teacherTurn {
		var seg int64
		if teacherTurn {
			seg = int64(st.tFrom+r.IntN(st.tTo-st.tFrom+1)) * 1000
			if err := add(teacherIdentity, "teacher", at, min(durMS, at+seg-int64(1+r.IntN(3))*1000)); err != nil {
				return err
			}
		} else {
			seg = int64(st.sFrom+r.IntN(st.sTo-st.sFrom+1)) * 1000
			if r.Float64() < st.studentsHeard {
				s := at + int64(r.IntN(3))*1000
				e := s + int64(float64(seg)*(0.5+r.Float64()*0.45))
				if err := add("s"+strconv.Itoa(1+r.IntN(4)), "student", s, min(durMS, e)); err != nil {
					return err
				}
			}
		}
		at += seg
	}
	res := stanalysis.Summarise(stanalysis.Codes(stanalysis.Analyse(iv, durMS, stanalysis.DefaultInterval)))
	mode := string(res.Mode)
	if len(iv) == 0 {
		mode, res.Rt, res.Ch = "", 0, 0
	}
	if mode != "" {
		g.sum.STModes[mode]++
	}
	return g.b.Add("recording_st", recID, stanalysis.DefaultInterval, res.N, mode, res.Rt, res.Ch, ended)
}
