package demodata

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"yunke/server/review"
	"yunke/storage"
)

func month(t time.Time) int {
	t = t.In(storage.Zone)
	return t.Year()*100 + int(t.Month())
}

func at(msec int64) time.Time { return time.UnixMilli(msec) }

// review makes the evaluation scheme the experts score recorded lessons with.
func (g *gen) review() error {
	b := g.b
	numeric := storage.RubricScale{Kind: storage.ScaleNumeric, Min: 0, Max: 10, Step: 1}
	body := storage.RubricBody{Domains: []storage.RubricDomain{
		{Name: "教学设计", Criteria: []storage.RubricCriterion{
			{Code: "goals", Name: "教学目标", Weight: 1, Scale: numeric},
			{Code: "content", Name: "教学内容", Weight: 1, Scale: numeric}}},
		{Name: "课堂实施", Criteria: []storage.RubricCriterion{
			{Code: "interaction", Name: "师生互动", Weight: 1.5, Scale: numeric},
			{Code: "effect", Name: "教学效果", Weight: 1.5, Scale: numeric}}},
	}}
	rid, err := b.NextID("review_rubrics")
	if err != nil {
		return err
	}
	at := g.created.Add(2 * time.Hour)
	name := "课堂教学评价量表（示范）"
	code := fmt.Sprintf("demo-%d", g.p.Seed)
	bodyJSON, _ := json.Marshal(body)
	if err := b.Add("review_rubrics", rid, int64(g.district), code, name, "general", 1, false, ms(at), ms(at)); err != nil {
		return err
	}
	if err := b.Add("review_rubric_versions", rid, 1, name, string(bodyJSON), int64(g.admin), ms(at)); err != nil {
		return err
	}
	if err := g.activity(storage.Activity{At: at, ActorID: g.admin, Action: "review.rubric_create", DistrictID: g.district,
		Subject: fmt.Sprintf("review_rubric:%d", rid), Detail: b.Detail(map[string]any{"code": code})}); err != nil {
		return err
	}
	sid, err := b.NextID("review_schemes")
	if err != nil {
		return err
	}
	g.scheme = storage.SchemeID(sid)
	g.schemeV = storage.Scheme{ID: g.scheme, DistrictID: g.district, Name: "课堂教学评价（示范）", Purpose: "general",
		RubricID: storage.RubricID(rid), RubricVersion: 1, Threshold: 0.6, Criteria: body.Criteria()}
	critJSON, _ := json.Marshal(g.schemeV.Criteria)
	if err := b.Add("review_schemes", sid, int64(g.district), g.schemeV.Name, "general", int64(0), "", rid, 1, false, 0.6,
		string(critJSON), int64(g.admin), ms(at)); err != nil {
		return err
	}
	return g.activity(storage.Activity{At: at, ActorID: g.admin, Action: "review.scheme_create", DistrictID: g.district,
		Subject: fmt.Sprintf("review_scheme:%d", sid), Detail: b.Detail(map[string]any{"rubric": rid, "version": 1})})
}

// lessonPlan is one class to generate.
type lessonPlan struct {
	t        *teacher
	start    time.Time
	recorded bool
}

// classes makes the year's interactive classes; the recorded lessons are
// classes with a recording, each trainee teacher's first among them.
func (g *gen) classes() error {
	r := g.rng(10)
	half := g.cal.halfYear()
	days := len(g.cal.days)
	var plans []lessonPlan
	covered := int(math.Round(g.p.TraineeCoverage * float64(g.sum.Trainees)))
	seenTrainee := 0
	recorders := map[*teacher]bool{}
	for _, sc := range g.schools {
		var waiting []*teacher // trainees still to record their first lesson
		var regular []*teacher
		for _, t := range sc.teachers {
			switch {
			case t.trainee && seenTrainee < covered:
				seenTrainee++
				waiting = append(waiting, t)
			case !t.trainee:
				regular = append(regular, t)
			}
		}
		engaged := regular[:min(len(regular), max(1, (len(regular)*3+9)/10))]
		for h := range 2 {
			from, to := 0, half
			if h == 1 {
				from, to = half, days
			}
			for k := range sc.lessons[h] {
				var t *teacher
				switch {
				case len(waiting) > 0 && (h == 1 || k%2 == 0 || len(waiting) >= sc.lessons[h]-k):
					t, waiting = waiting[0], waiting[1:]
				case len(regular) == 0:
					continue
				case r.Float64() < 0.65:
					t = engaged[r.IntN(len(engaged))]
				default:
					t = regular[r.IntN(len(regular))]
				}
				recorders[t] = true
				plans = append(plans, lessonPlan{t: t, start: g.cal.lessonIn(r, from, to), recorded: true})
			}
		}
	}
	for t := range recorders {
		if t.trainee {
			g.sum.TraineesRecorded++
		}
	}
	g.sum.TeachersRecording = len(recorders)
	for range max(0, g.p.n(FullClasses, 1)-len(plans)) {
		plans = append(plans, lessonPlan{t: g.teachers[r.IntN(len(g.teachers))], start: g.cal.lesson(r)})
	}
	names := map[storage.SubjectID]string{}
	for i, s := range g.subjects {
		names[s] = subjectNames[i%len(subjectNames)]
	}
	for _, pl := range plans {
		if err := g.class(r, pl, names[pl.t.subject]); err != nil {
			return err
		}
	}
	return nil
}

var subjectNames = []string{"语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治"}

func (g *gen) class(r *rand.Rand, pl lessonPlan, subjectName string) error {
	b := g.b
	t := pl.t
	id, err := b.NextID("classes")
	if err != nil {
		return err
	}
	cid := storage.ClassID(id)
	grade := t.grades[r.IntN(len(t.grades))]
	title := fmt.Sprintf("%s：%s", subjectName, topicNames[r.IntN(len(topicNames))])
	starts := ms(pl.start)
	created := starts - int64(1+r.IntN(7))*86_400_000 - int64(r.IntN(36_000))*1000
	started := starts + int64(r.IntN(180))*1000
	ended := started + int64(35*60+r.IntN(13*60))*1000
	premium := !pl.recorded && r.Float64() < 0.04
	sc := t.school
	if err := b.Add("classes", id, int64(g.district), int64(sc.id), int64(t.subject), grade, title, int64(t.id), "classes",
		starts, 40, premium, pl.recorded, "ended", started, ended, "teacher", int64(0), int64(1), int64(t.id), created, ended); err != nil {
		return err
	}
	g.sum.Classes++
	act := func(action string, when int64, actor storage.UserID, value int64, detail map[string]any) storage.Activity {
		return storage.Activity{At: at(when), ActorID: actor, Action: action, DistrictID: g.district, SchoolID: sc.id,
			SubjectID: t.subject, Subject: "class:" + strconv.FormatInt(id, 10), RoomID: "class-" + strconv.FormatInt(id, 10),
			Value: value, Detail: b.Detail(detail)}
	}
	if err := g.activity(act("class.schedule", created, t.id, 0, map[string]any{"starts_at": starts,
		"teacher_id": int64(t.id), "series_id": int64(0)})); err != nil {
		return err
	}
	if err := g.activity(act("class.start", started, t.id, 0, map[string]any{"late_s": (started - starts) / 1000})); err != nil {
		return err
	}
	join := func(u storage.UserID, role string, joined, left int64) error {
		if err := b.Add("class_attendance", int64(cid), int64(u), role, joined, left, left); err != nil {
			return err
		}
		g.sum.ClassAttendance++
		a := act("class.join", joined, u, 0, map[string]any{"role": role})
		a.SessionID = "class:" + strconv.FormatInt(id, 10)
		return g.activity(a)
	}
	if err := join(t.id, "teacher", started, ended); err != nil {
		return err
	}
	pool := sc.byGrade[grade]
	if len(pool) == 0 {
		pool = sc.students
	}
	want := min(len(pool), 15+r.IntN(26))
	for _, i := range r.Perm(len(pool))[:want] {
		s := pool[i]
		joined := started + int64(r.IntN(240))*1000
		left := ended - int64(r.IntN(120))*1000
		if err := join(s.id, "student", joined, left); err != nil {
			return err
		}
		if r.Float64() < 0.3 {
			sc := score(r, classSatisfaction)
			rated := ended + int64(r.IntN(900))*1000
			if err := b.Add("class_ratings", int64(cid), int64(s.id), int64(g.district), int64(t.school.id), int64(t.subject),
				int64(t.id), premium, month(at(starts)), sc, "", rated, rated); err != nil {
				return err
			}
			g.sum.ClassRatings++
			if err := g.activity(act("class.rate", rated, s.id, int64(sc), map[string]any{"teacher_id": int64(t.id)})); err != nil {
				return err
			}
		}
	}
	if err := g.activity(act("class.end", ended, t.id, (ended-started)/1000, map[string]any{"reason": "teacher"})); err != nil {
		return err
	}
	if pl.recorded {
		return g.recording(r, cid, t, grade, title, started+5000, ended)
	}
	return nil
}

// recording writes a class's finished recording, and the experts' reviews
// of some of them.
func (g *gen) recording(r *rand.Rand, class storage.ClassID, t *teacher, grade int, title string, started, ended int64) error {
	b := g.b
	id, err := b.NextID("recordings")
	if err != nil {
		return err
	}
	room := "class-" + strconv.FormatInt(int64(class), 10)
	dur := ended - started
	if err := b.Add("recordings", id, "class", room, title, int64(t.id), int64(g.district), int64(t.school.id), int64(t.subject),
		grade, started, ended, dur, "ready", started, ended, int64(class)); err != nil {
		return err
	}
	g.sum.Recordings++
	identity := strconv.FormatInt(int64(t.id), 10)
	for _, tr := range []struct{ sid, source, kind, codec, file string }{
		{"TR_cam", "camera", "video", "vp8", "camera.webm"}, {"TR_mic", "microphone", "audio", "opus", "microphone.ogg"}} {
		size := dur * 40 // about 320 kbit/s of video
		if tr.kind == "audio" {
			size = dur * 4
		}
		if err := b.Add("recording_tracks", id, tr.sid, identity, "", "teacher", tr.source, tr.kind, tr.codec, tr.file,
			size, dur, "ready"); err != nil {
			return err
		}
	}
	if err := b.Add("recording_participants", id, identity, int64(t.id), "", "teacher"); err != nil {
		return err
	}
	if err := g.speech(id, t.id, dur, ended); err != nil {
		return err
	}
	subject := "recording:" + strconv.FormatInt(id, 10)
	if err := g.activity(storage.Activity{At: at(started), Action: "recording.start", DistrictID: g.district, SchoolID: t.school.id,
		SubjectID: t.subject, Subject: subject, RoomID: room,
		Detail: b.Detail(map[string]any{"teacher_id": int64(t.id), "kind": "class", "class_id": int64(class)})}); err != nil {
		return err
	}
	if err := g.activity(storage.Activity{At: at(ended), Action: "recording.ready", DistrictID: g.district, SchoolID: t.school.id,
		SubjectID: t.subject, Subject: subject, RoomID: room, Value: dur / 1000,
		Detail: b.Detail(map[string]any{"teacher_id": int64(t.id), "tracks": 2})}); err != nil {
		return err
	}
	if r.Float64() >= 0.62 {
		return nil
	}
	g.sum.RecordingsReviewed++
	experts := 1
	if x := r.Float64(); x < 0.05 {
		experts = 3
	} else if x < 0.3 {
		experts = 2
	}
	quality := 5.5 + r.Float64()*3.5 // the lesson's quality, shared by its reviewers
	for _, e := range r.Perm(len(g.experts))[:min(experts, len(g.experts))] {
		expert := g.experts[e]
		aid, err := b.NextID("review_assignments")
		if err != nil {
			return err
		}
		assigned := ended + int64(1+r.IntN(5))*86_400_000 + int64(r.IntN(28_800))*1000
		submitted := assigned + int64(1+r.IntN(9))*86_400_000 + int64(r.IntN(28_800))*1000
		var body storage.ReviewBody
		for _, c := range g.schemeV.Criteria {
			v := math.Round(min(10, max(0, quality+r.NormFloat64()*0.9)))
			body.Scores = append(body.Scores, storage.ReviewScore{Criterion: c.Code, Value: v})
		}
		body.Notes = []storage.ReviewNote{}
		body.Strengths = "教学目标清晰，课堂组织有序。"
		body.Improve = "可增加学生自主探究的时间。"
		total, ok := review.WeightedTotal(g.schemeV, body.Scores)
		if !ok {
			return fmt.Errorf("review scores off the scale")
		}
		bodyJSON, _ := json.Marshal(body)
		if err := b.Add("review_assignments", aid, int64(g.scheme), subject, int64(expert), int64(t.id), int64(g.district),
			int64(t.school.id), int64(t.subject), assigned+14*86_400_000, "submitted", int64(g.admin), assigned); err != nil {
			return err
		}
		if err := b.Add("reviews", aid, "submitted", string(bodyJSON), total, submitted, submitted); err != nil {
			return err
		}
		g.sum.Reviews++
		if err := g.activity(storage.Activity{At: at(assigned), ActorID: g.admin, Action: "review.assign", DistrictID: g.district,
			SchoolID: t.school.id, SubjectID: t.subject, Subject: subject,
			Detail: b.Detail(map[string]any{"assignment": aid, "expert": int64(expert)})}); err != nil {
			return err
		}
		if err := g.activity(storage.Activity{At: at(submitted), ActorID: expert, Action: "review.submit", DistrictID: g.district,
			SchoolID: t.school.id, SubjectID: t.subject, Subject: subject, Value: int64(math.Round(total)),
			Detail: b.Detail(map[string]any{"assignment": aid, "scheme": int64(g.scheme)})}); err != nil {
			return err
		}
	}
	return nil
}
