// Package demodata fills a database with one school district's year of
// demonstration data at the scale of the programmes Yunke was built from:
// 156 schools of uneven sizes, 12,000 teachers (349 of them trainees),
// students, experts, and a year of sign-ins, classes, recorded lessons
// (with what they heard and their S-T results) and their reviews,
// one-to-one tutoring (requests withdrawn unmatched too), questions,
// answers, votes and comments, and micro-lessons, with the daily, weekly
// and yearly rhythms of a school year.
//
// The same seed gives the same rows. Every row is written the way the live
// code paths write it, with its activity row, and the activity rollup is
// kept exactly as they keep it, so statistics read from raw rows and from
// the rollup agree (Params.Lean, for tests, leaves the activity log out).
// Rows go in with bulk writes in one transaction.
package demodata

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"yunke/storage"
)

// The seeds' figures, at scale 1.
const (
	FullPrimarySecondary = 123
	FullKindergartens    = 33
	FullTeachers         = 12_000
	FullTrainees         = 349
	FullStudents         = 16_000
	FullExperts          = 40
	FullLessonsHalfYear  = 5_596 // lessons recorded in each half-year
	FullClasses          = 15_974
	FullSessions         = 330_448
	FullQuestions        = 133_386
	FullAnswers          = 381_720
	FullMicrolessons     = 1_341 // reviewed, tagged and published
)

// Satisfaction the seeds report: share of ratings of 4 or 5.
const (
	tutoringSatisfaction = 0.978
	classSatisfaction    = 0.969
	qaSatisfaction       = 0.838
)

// Demo accounts: the administrators sign in with these names and
// Password.
const (
	DistrictAdmin = "demo-admin"
	SchoolAdmin   = "demo-school-admin"
	ExpertUser    = "demo-expert"
	TeacherUser   = "demo-t00001"
	StudentUser   = "demo-s00001"
	// Password is the password of every demo account.
	Password = "Yunke-Demo-2026"
)

// Params choose what to generate.
type Params struct {
	Seed  uint64
	Scale float64 // 1: the seeds' figures; 0.01 for tests
	Year  int     // the calendar year of activity
	// PasswordHash is the stored hash of Password, computed once by the
	// caller and given to every demo account.
	PasswordHash string
	// TraineeCoverage is the share of trainee teachers who record at
	// least one lesson (the seeds' rule: all of them).
	TraineeCoverage float64
	// Force loads next to data that is not demonstration data.
	Force bool
	// Trainees, Sessions, Questions and Answers, when not 0, replace the
	// scaled seeds' figures of trainee teachers, tutoring sessions,
	// questions and answers.
	Trainees, Sessions, Questions, Answers int
	// Lean leaves out the rows no statistic reads but the active-user
	// counts — the activity log (sign-ins included), the Q&A search index,
	// tutoring offers, votes and comments — so that a test of the other
	// statistics loads a fraction of the rows.
	Lean bool
}

// Errors of Generate.
var (
	ErrRealData      = errors.New("the database holds data that is not demonstration data")
	ErrAlreadyLoaded = errors.New("the database already holds demonstration data")
)

// Summary is what was generated.
type Summary struct {
	Seed      uint64  `json:"seed"`
	Scale     float64 `json:"scale"`
	Year      int     `json:"year"`
	Districts int     `json:"districts"`
	Schools   int     `json:"schools"` // primary and secondary
	// Kindergartens are counted apart from Schools.
	Kindergartens      int `json:"kindergartens"`
	Teachers           int `json:"teachers"` // trainees included
	Trainees           int `json:"trainees"`
	TraineesRecorded   int `json:"trainees_recorded"`
	Students           int `json:"students"`
	Experts            int `json:"experts"`
	KnowledgePoints    int `json:"knowledge_points"`
	Classes            int `json:"classes"`
	ClassAttendance    int `json:"class_attendance"`
	ClassRatings       int `json:"class_ratings"`
	Recordings         int `json:"recordings"`
	TeachersRecording  int `json:"teachers_recording"`
	Reviews            int `json:"reviews"`
	RecordingsReviewed int `json:"recordings_reviewed"`
	TutoringRequests   int `json:"tutoring_requests"`
	TutoringSessions   int `json:"tutoring_sessions"`
	TutoringRatings    int `json:"tutoring_ratings"`
	Questions          int `json:"questions"`
	Answers            int `json:"answers"`
	AdoptedQuestions   int `json:"adopted_questions"`
	QARatings          int `json:"qa_ratings"`
	Microlessons       int `json:"microlessons"`
	MicrolessonsPub    int `json:"microlessons_published"`
	Targets            int `json:"targets"`
	// TutoringUnmatched are the requests withdrawn without a session.
	TutoringUnmatched int `json:"tutoring_unmatched"`
	QAVotes           int `json:"qa_votes"`
	QAComments        int `json:"qa_comments"`
	SignIns           int `json:"sign_ins"`
	// SpeakingIntervals are the recordings' stretches of speech; STModes
	// counts the class recordings per automatic S-T mode.
	SpeakingIntervals int            `json:"speaking_intervals"`
	STModes           map[string]int `json:"st_modes"`
	// ActiveStudents and ActiveTeachers acted (signed in, asked, taught, …)
	// in the year: the actors of its activity rows (none when Lean).
	ActiveStudents int   `json:"active_students"`
	ActiveTeachers int   `json:"active_teachers"`
	ActivityRows   int64 `json:"activity_rows"`
	// Rows is the number of rows written per table.
	Rows map[string]int64 `json:"rows"`
	// DistrictID is the district created.
	DistrictID storage.DistrictID `json:"district_id"`
}

// n scales a full figure, keeping at least least.
func (p Params) n(full int, least int) int {
	return max(least, int(math.Round(float64(full)*p.Scale)))
}

// or is given when not 0, else the scaled full figure.
func (p Params) or(given, full, least int) int {
	if given > 0 {
		return given
	}
	return p.n(full, least)
}

// Generate checks that the database may take demonstration data and
// writes it in one transaction.
func Generate(ctx context.Context, st *storage.Store, p Params) (Summary, error) {
	if p.Scale <= 0 || p.Scale > 10 {
		return Summary{}, fmt.Errorf("demodata: scale %v is outside (0, 10]", p.Scale)
	}
	if p.Year < 2000 || p.Year > 2100 {
		return Summary{}, fmt.Errorf("demodata: year %d is outside 2000–2100", p.Year)
	}
	if p.PasswordHash == "" {
		return Summary{}, errors.New("demodata: no password hash")
	}
	if p.Trainees < 0 || p.Sessions < 0 || p.Questions < 0 || p.Answers < 0 {
		return Summary{}, errors.New("demodata: a negative figure")
	}
	if p.TraineeCoverage < 0 || p.TraineeCoverage > 1 {
		return Summary{}, fmt.Errorf("demodata: trainee coverage %v is outside [0, 1]", p.TraineeCoverage)
	}
	have, err := st.DataPresence(ctx)
	if err != nil {
		return Summary{}, err
	}
	if have.DemoDistricts > 0 {
		return Summary{}, ErrAlreadyLoaded
	}
	if have.Real() && !p.Force {
		return Summary{}, fmt.Errorf("%w (%d districts, %d schools, %d users); give --force to add demonstration data next to it",
			ErrRealData, have.RealDistricts, have.RealSchools, have.RealUsers)
	}
	subjects, err := st.ListSubjects(ctx)
	if err != nil {
		return Summary{}, err
	}
	var subs []storage.SubjectID
	for _, s := range subjects {
		if s.Active {
			subs = append(subs, s.ID)
		}
	}
	if len(subs) == 0 {
		return Summary{}, errors.New("demodata: no active subjects")
	}
	cal := newCalendar(p.Year)
	var g *gen
	rows, err := st.Bulk(ctx, func(b *storage.BulkLoader) error {
		// From the start on every attempt: the store retries a transaction
		// that collided with another.
		g = &gen{p: p, b: b, cal: cal, subjects: subs, loc: storage.Zone}
		g.sum = Summary{Seed: p.Seed, Scale: p.Scale, Year: p.Year, Districts: 1, STModes: map[string]int{}}
		g.actors = map[storage.UserID]bool{}
		return g.run()
	})
	if err != nil {
		return Summary{}, fmt.Errorf("demodata: %w", err)
	}
	g.sum.Rows = rows
	g.sum.DistrictID = g.district
	g.sum.ActivityRows = rows["activity_log"]
	return g.sum, nil
}

// gen holds the generation's state.
type gen struct {
	p        Params
	b        *storage.BulkLoader
	cal      *calendar
	loc      *time.Location
	subjects []storage.SubjectID
	sum      Summary

	district  storage.DistrictID
	admin     storage.UserID
	schools   []*school
	teachers  []*teacher
	bySubject map[storage.SubjectID][]*teacher
	students  []*student
	experts   []storage.UserID
	points    map[storage.SubjectID][]storage.KnowledgePointID
	scheme    storage.SchemeID
	schemeV   storage.Scheme
	created   time.Time // when the accounts were made
	// actors are the users with an activity row in the year.
	actors map[storage.UserID]bool
	speakR *rand.Rand // what recordings heard
}

type school struct {
	id       storage.SchoolID
	kind     storage.SchoolKind
	code     string
	grades   []int // grades taught
	teachers []*teacher
	students []*student
	byGrade  map[int][]*student
	lessons  [2]int // recorded lessons per half-year
}

type teacher struct {
	id      storage.UserID
	school  *school
	subject storage.SubjectID
	grades  []int
	trainee bool
}

type student struct {
	id     storage.UserID
	school *school
	grade  int
}

// rng is a random source of its own for each part, so that changing one
// part leaves the others' data as it was.
func (g *gen) rng(part uint64) *rand.Rand {
	return rand.New(rand.NewPCG(g.p.Seed, part*0x9e3779b97f4a7c15+1))
}

func (g *gen) run() error {
	g.created = time.Date(g.p.Year, 1, 1, 7, 30, 0, 0, g.loc)
	for _, step := range []func() error{g.declare, g.places, g.people, g.knowledge, g.targets, g.review,
		g.classes, g.tutoring, g.questions, g.microlessons, g.signIns} {
		if err := step(); err != nil {
			return err
		}
	}
	g.countActive()
	return nil
}

// activity writes an activity row (none when Lean) and notes its actor.
func (g *gen) activity(a storage.Activity) error {
	if g.p.Lean {
		return nil
	}
	if a.ActorID != 0 && a.At.In(g.loc).Year() == g.p.Year {
		g.actors[a.ActorID] = true
	}
	return g.b.Activity(a)
}

// extra writes a row that no statistic reads (none when Lean).
func (g *gen) extra(table string, row ...any) error {
	if g.p.Lean {
		return nil
	}
	return g.b.Add(table, row...)
}

// countActive counts the students and teachers who acted in the year.
func (g *gen) countActive() {
	for _, s := range g.students {
		if g.actors[s.id] {
			g.sum.ActiveStudents++
		}
	}
	for _, t := range g.teachers {
		if g.actors[t.id] {
			g.sum.ActiveTeachers++
		}
	}
}

// declare names the tables in an order where references point backwards.
func (g *gen) declare() error {
	b := g.b
	b.Table("districts", "id", "code", "name", "created_at")
	b.Table("schools", "id", "district_id", "code", "name", "kind", "active", "search", "version", "created_at", "updated_at")
	b.Table("users", "id", "username", "username_key", "name", "district_id", "school_id", "active", "must_change_password",
		"password_hash", "student_no", "staff_no", "grade", "class", "trainee", "expert_district", "search", "version",
		"created_at", "updated_at")
	b.Table("user_roles", "user_id", "role")
	b.Table("user_subjects", "user_id", "subject_id")
	b.Table("user_grades", "user_id", "grade")
	b.Table("knowledge_points", "id", "subject_id", "grade", "code", "name", "sort")
	b.Table("school_targets", "school_id", "year", "lessons_recorded", "teachers_participating", "trainee_coverage_pct",
		"version", "updated_at")
	b.Table("review_rubrics", "id", "district_id", "code", "name", "purpose", "version", "builtin", "created_at", "updated_at")
	b.Table("review_rubric_versions", "rubric_id", "version", "name", "body", "created_by", "created_at")
	b.Table("review_schemes", "id", "district_id", "name", "purpose", "subject_id", "school_kind", "rubric_id",
		"rubric_version", "blind", "threshold", "body", "created_by", "created_at")
	b.Table("classes", "id", "district_id", "school_id", "subject_id", "grade", "title", "teacher_id", "audience",
		"starts_at", "planned_minutes", "premium", "recording", "status", "started_at", "ended_at", "end_reason",
		"series_id", "version", "created_by", "created_at", "updated_at")
	b.Table("class_attendance", "class_id", "user_id", "role", "joined_at", "left_at", "seen_at")
	b.Table("class_ratings", "class_id", "student_id", "district_id", "school_id", "subject_id", "teacher_id", "premium",
		"month", "score", "comment", "rated_at", "updated_at")
	b.Table("recordings", "id", "kind", "room", "title", "teacher_id", "district_id", "school_id", "subject_id", "grade",
		"started_at", "ended_at", "duration_ms", "status", "created_at", "updated_at", "class_id")
	b.Table("recording_tracks", "recording_id", "track_sid", "participant", "name", "role", "source", "kind", "codec",
		"file", "size_bytes", "duration_ms", "status")
	b.Table("recording_participants", "recording_id", "identity", "user_id", "name", "role")
	b.Table("recording_speaking", "recording_id", "identity", "role", "start_ms", "end_ms", "level")
	b.Table("recording_st", "recording_id", "interval_ms", "samples", "mode", "rt", "ch", "computed_at")
	b.Table("review_assignments", "id", "scheme_id", "target", "expert_id", "teacher_id", "district_id", "school_id",
		"subject_id", "due_at", "status", "assigned_by", "created_at")
	b.Table("reviews", "assignment_id", "status", "body", "total", "submitted_at", "updated_at")
	b.Table("tutoring_requests", "id", "student_id", "district_id", "school_id", "subject_id", "grade",
		"knowledge_point_id", "text", "status", "session_id", "created_at", "updated_at")
	b.Table("tutoring_offers", "request_id", "teacher_id", "outcome", "offered_at", "expires_at", "closed_at")
	b.Table("tutoring_sessions", "id", "request_id", "student_id", "teacher_id", "district_id", "school_id", "subject_id",
		"grade", "created_at", "started_at", "ended_at", "duration_s", "end_reason")
	b.Table("tutoring_ratings", "session_id", "district_id", "school_id", "subject_id", "teacher_id", "month", "score",
		"solved", "rated_at", "updated_at")
	b.Table("qa_questions", "id", "author_id", "district_id", "school_id", "subject_id", "grade", "text", "status",
		"answer_count", "adopted_answer_id", "adopted_at", "first_answer_at", "created_at", "updated_at")
	b.Table("qa_question_points", "question_id", "knowledge_point_id")
	b.Table("qa_answers", "id", "question_id", "author_id", "text", "votes", "created_at", "updated_at")
	b.Table("qa_votes", "answer_id", "teacher_id", "voted_at")
	b.Table("qa_comments", "id", "question_id", "answer_id", "author_id", "text", "created_at")
	b.Table("qa_ratings", "question_id", "answer_id", "teacher_id", "district_id", "school_id", "subject_id", "month",
		"score", "rated_at")
	b.Table("qa_search_grams", "district_id", "gram", "question_id")
	b.Table("microlessons", "id", "teacher_id", "district_id", "school_id", "subject_id", "grade", "title", "search",
		"file_key", "size_bytes", "container", "video_codec", "audio_codec", "width", "height", "duration_ms", "status",
		"status_by", "status_at", "published_at", "reviewer_id", "version", "created_at", "updated_at")
	b.Table("microlesson_points", "microlesson_id", "knowledge_point_id")
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// score draws a rating of 1–5 whose share of 4 and 5 is about good.
func score(r *rand.Rand, good float64) int {
	if r.Float64() < good {
		if r.Float64() < 0.72 {
			return 5
		}
		return 4
	}
	switch x := r.Float64(); {
	case x < 0.6:
		return 3
	case x < 0.85:
		return 2
	}
	return 1
}

// lognormal draws exp(N(ln median, sigma)).
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(r.NormFloat64()*sigma)
}
