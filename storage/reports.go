package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Statistics read "facts": one aggregate (a count, a distinct count, a
// sum) or one list of values (for medians) over the rows of one domain
// table whose time falls in [From, To), in a district or a list of
// schools, optionally grouped by a dimension. A fact's SQL is fixed here;
// callers name it. server/reports builds its indicators from facts.

// Fact names one aggregate the store knows how to compute.
type Fact string

// Dimension is what a fact may be grouped by.
type Dimension string

const (
	DimNone     Dimension = ""
	DimDistrict Dimension = "district"
	DimSchool   Dimension = "school"
	DimKind     Dimension = "kind" // the school's kind
	DimTeacher  Dimension = "teacher"
	DimSubject  Dimension = "subject"
	DimGrade    Dimension = "grade"
	DimPoint    Dimension = "knowledge_point" // a row with several points counts in each
)

// factSource is one table (with its joins and filters) facts count rows
// of. Columns are SQL expressions over it; an empty column means the
// dimension does not apply. at is the Unix-millisecond time a row counts
// at; an empty at makes a snapshot (no period: the rows as they are now).
type factSource struct {
	from     string
	where    string
	at       string
	district string
	school   string
	teacher  string
	subject  string
	grade    string
	// pointJoin joins the row's knowledge points as kp (empty: point is a
	// column of the row); point is the knowledge point's id.
	pointJoin string
	point     string
	// day: at is an Asia/Shanghai day number (a roll-up's), not a time.
	day bool
	// periods: the rows are report_active_users a, counted over the weeks,
	// months and years that make up the period (at unused).
	periods bool
}

// factDef is one fact: an aggregate over a source, or (values) one value
// per row, or per group of per when per is set (minutes a student was in
// one class over all their stays).
type factDef struct {
	src    factSource
	agg    string // COUNT(*), COUNT(DISTINCT …), SUM(…)
	where  string // extra condition
	values string // a value per row (or per group of per); agg unused
	per    string
	weight string // with values: how many times each value counts (a histogram's)
	sortBy string // with weight: the column values grows with, grouped and sorted by
	// rollup computes the same from a roll-up (rollups.go), where it
	// applies to the query; the raw definition stays the reference.
	rollup *factDef
}

var (
	srcLessons = factSource{
		from:  "recordings t",
		where: "t.kind = 'class' AND t.status IN ('ready', 'interrupted', 'deleted')",
		at:    "t.started_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN recording_points kp ON kp.recording_id = t.id", point: "kp.knowledge_point_id",
	}
	srcTeachers = factSource{
		from:     "users t JOIN user_roles ur ON ur.user_id = t.id AND ur.role = 'teacher'",
		where:    "t.active = TRUE",
		district: "t.district_id", school: "t.school_id", teacher: "t.id",
	}
	// A submitted review of a recorded lesson counts when it is submitted.
	srcReviews = factSource{
		from: `review_assignments a JOIN reviews rv ON rv.assignment_id = a.id AND rv.status = 'submitted'
			JOIN recordings t ON a.target = 'recording:' || t.id`,
		where: "a.calibration_id = 0",
		at:    "rv.submitted_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN recording_points kp ON kp.recording_id = t.id", point: "kp.knowledge_point_id",
	}
	srcClasses = factSource{
		from: "classes t", where: "t.status = 'ended'",
		at: "t.started_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN class_points kp ON kp.class_id = t.id", point: "kp.knowledge_point_id",
	}
	srcAttendance = factSource{
		from:  "class_attendance a JOIN classes t ON t.id = a.class_id",
		where: "t.status = 'ended' AND t.premium = FALSE AND a.role = 'student'",
		at:    "t.started_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN class_points kp ON kp.class_id = t.id", point: "kp.knowledge_point_id",
	}
	srcClassRatings = factSource{
		from: "class_ratings r JOIN classes t ON t.id = r.class_id", where: "t.premium = FALSE",
		at: "t.started_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN class_points kp ON kp.class_id = t.id", point: "kp.knowledge_point_id",
	}
	srcRequests = factSource{
		from: "tutoring_requests t",
		at:   "t.created_at", district: "t.district_id", school: "t.school_id", subject: "t.subject_id", grade: "t.grade",
		point: "t.knowledge_point_id",
	}
	srcWaits = factSource{
		from: "tutoring_sessions s JOIN tutoring_requests t ON t.id = s.request_id",
		at:   "t.created_at", district: "t.district_id", school: "t.school_id", teacher: "s.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		point: "t.knowledge_point_id",
	}
	// A tutoring session counts, with all its minutes, in the period it started in.
	srcSessions = factSource{
		from: "tutoring_sessions t", where: "t.started_at > 0",
		at: "t.started_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN tutoring_note_points kp ON kp.session_id = t.id", point: "kp.knowledge_point_id",
	}
	srcSessionRatings = factSource{
		from: "tutoring_ratings r JOIN tutoring_sessions t ON t.id = r.session_id", where: "t.started_at > 0",
		at: "t.started_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN tutoring_note_points kp ON kp.session_id = t.id", point: "kp.knowledge_point_id",
	}
	srcQuestions = factSource{
		from: "qa_questions t", where: "t.status <> 'deleted'",
		at: "t.created_at", district: "t.district_id", school: "t.school_id", subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN qa_question_points kp ON kp.question_id = t.id", point: "kp.knowledge_point_id",
	}
	// Answers count with their question: the answers to the questions asked in the period.
	srcAnswers = factSource{
		from: "qa_answers a JOIN qa_questions t ON t.id = a.question_id", where: "t.status <> 'deleted'",
		at: "t.created_at", district: "t.district_id", school: "t.school_id", teacher: "a.author_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN qa_question_points kp ON kp.question_id = t.id", point: "kp.knowledge_point_id",
	}
	srcQARatings = factSource{
		from: "qa_ratings r JOIN qa_questions t ON t.id = r.question_id", where: "t.status <> 'deleted'",
		at: "t.created_at", district: "t.district_id", school: "t.school_id", teacher: "r.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN qa_question_points kp ON kp.question_id = t.id", point: "kp.knowledge_point_id",
	}
	srcMicrolessons = factSource{
		from: "microlessons t",
		at:   "t.created_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN microlesson_points kp ON kp.microlesson_id = t.id", point: "kp.knowledge_point_id",
	}
	srcMicroPublished = factSource{
		from: "microlessons t", where: "t.published_at > 0 AND t.status = 'published'",
		at: "t.published_at", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN microlesson_points kp ON kp.microlesson_id = t.id", point: "kp.knowledge_point_id",
	}
	// A review of a micro-lesson ends when it is approved or returned.
	srcMicroReviewed = factSource{
		from:  "activity_log l JOIN microlessons t ON l.subject = 'microlesson:' || t.id",
		where: "l.action IN ('microlesson.approve', 'microlesson.return')",
		at:    "l.at_ms", district: "t.district_id", school: "t.school_id", teacher: "t.teacher_id",
		subject: "t.subject_id", grade: "t.grade",
		pointJoin: "JOIN microlesson_points kp ON kp.microlesson_id = t.id", point: "kp.knowledge_point_id",
	}
	// A user is active in a period when they acted (signed in, asked, …):
	// an activity row with them as the actor. They count at their own school.
	srcActiveStudents = factSource{
		from: "activity_log l JOIN users t ON t.id = l.actor_id JOIN user_roles ur ON ur.user_id = t.id AND ur.role = 'student'",
		at:   "l.at_ms", district: "t.district_id", school: "t.school_id", grade: "t.grade",
	}
	srcActiveTeachers = factSource{
		from: "activity_log l JOIN users t ON t.id = l.actor_id JOIN user_roles ur ON ur.user_id = t.id AND ur.role = 'teacher'",
		at:   "l.at_ms", district: "t.district_id", school: "t.school_id", teacher: "t.id",
	}
)

// srcLessonsST is the recorded lessons with a stored automatic S-T result
// in which speech was heard (recording_st, docs/st-analysis.md).
var srcLessonsST = func() factSource {
	src := srcLessons
	src.from = "recordings t JOIN recording_st st ON st.recording_id = t.id"
	src.where += " AND st.mode <> ''"
	return src
}()

var facts = map[Fact]factDef{
	"recording.lessons":          {src: srcLessons, agg: "COUNT(*)"},
	"recording.teachers":         {src: srcLessons, agg: "COUNT(DISTINCT t.teacher_id)"},
	"recording.trainees":         {src: srcLessons, agg: "COUNT(DISTINCT t.teacher_id)", where: "t.teacher_id IN (SELECT id FROM users WHERE trainee = TRUE)"},
	"recording.lessons_reviewed": {src: srcLessons, agg: "COUNT(*)", where: "EXISTS (SELECT 1 FROM review_assignments a JOIN reviews rv ON rv.assignment_id = a.id AND rv.status = 'submitted' WHERE a.target = 'recording:' || t.id AND a.calibration_id = 0)"},
	"recording.st_lessons":       {src: srcLessonsST, agg: "COUNT(*)"},
	"recording.st_lecture":       {src: srcLessonsST, agg: "COUNT(*)", where: "st.mode = 'lecture'"},
	"recording.st_practice":      {src: srcLessonsST, agg: "COUNT(*)", where: "st.mode = 'practice'"},
	"recording.st_dialogue":      {src: srcLessonsST, agg: "COUNT(*)", where: "st.mode = 'dialogue'"},
	"recording.st_mixed":         {src: srcLessonsST, agg: "COUNT(*)", where: "st.mode = 'mixed'"},
	"users.teachers":             {src: srcTeachers, agg: "COUNT(DISTINCT t.id)"},
	"users.trainees":             {src: srcTeachers, agg: "COUNT(DISTINCT t.id)", where: "t.trainee = TRUE"},
	"review.reviews":             {src: srcReviews, agg: "COUNT(*)"},
	"review.score_sum":           {src: srcReviews, agg: "SUM(rv.total)"},
	"review.lessons":             {src: srcReviews, agg: "COUNT(DISTINCT t.id)"},
	"class.held":                 {src: srcClasses, agg: "COUNT(*)", where: "t.premium = FALSE"},
	"class.premium_held":         {src: srcClasses, agg: "COUNT(*)", where: "t.premium = TRUE"},
	"class.attendance":           {src: srcAttendance, agg: "COUNT(DISTINCT CAST(a.class_id AS TEXT) || ':' || CAST(a.user_id AS TEXT))"},
	"class.minutes_present": {src: srcAttendance, per: "a.class_id, a.user_id",
		values: "SUM(CASE WHEN a.left_at > a.joined_at THEN a.left_at - a.joined_at ELSE 0 END) / 60000.0"},
	"class.ratings":           {src: srcClassRatings, agg: "COUNT(*)"},
	"class.ratings_good":      {src: srcClassRatings, agg: "COUNT(*)", where: "r.score >= 4"},
	"class.rating_sum":        {src: srcClassRatings, agg: "SUM(r.score)"},
	"tutoring.requests":       {src: srcRequests, agg: "COUNT(*)"},
	"tutoring.matched":        {src: srcRequests, agg: "COUNT(*)", where: "t.status = 'matched'"},
	"tutoring.wait_seconds":   {src: srcWaits, values: "(s.created_at - t.created_at) / 1000.0"},
	"tutoring.sessions":       {src: srcSessions, agg: "COUNT(*)"},
	"tutoring.seconds":        {src: srcSessions, agg: "SUM(t.duration_s)"},
	"tutoring.ratings":        {src: srcSessionRatings, agg: "COUNT(*)"},
	"tutoring.ratings_good":   {src: srcSessionRatings, agg: "COUNT(*)", where: "r.score >= 4"},
	"tutoring.rating_sum":     {src: srcSessionRatings, agg: "SUM(r.score)"},
	"tutoring.solved":         {src: srcSessionRatings, agg: "COUNT(*)", where: "r.solved = TRUE"},
	"qa.questions":            {src: srcQuestions, agg: "COUNT(*)"},
	"qa.adopted":              {src: srcQuestions, agg: "COUNT(*)", where: "t.adopted_answer_id <> 0"},
	"qa.first_answer_minutes": {src: srcQuestions, values: "(t.first_answer_at - t.created_at) / 60000.0", where: "t.first_answer_at > 0"},
	"qa.answers":              {src: srcAnswers, agg: "COUNT(*)"},
	"qa.ratings":              {src: srcQARatings, agg: "COUNT(*)"},
	"qa.ratings_good":         {src: srcQARatings, agg: "COUNT(*)", where: "r.score >= 4"},
	"qa.rating_sum":           {src: srcQARatings, agg: "SUM(r.score)"},
	"microlesson.submitted":   {src: srcMicrolessons, agg: "COUNT(*)"},
	"microlesson.reviewed":    {src: srcMicroReviewed, agg: "COUNT(DISTINCT t.id)"},
	"microlesson.published":   {src: srcMicroPublished, agg: "COUNT(*)"},
	"users.active_students":   {src: srcActiveStudents, agg: "COUNT(DISTINCT t.id)"},
	"users.active_teachers":   {src: srcActiveTeachers, agg: "COUNT(DISTINCT t.id)"},
}

// Facts lists every fact the store computes, sorted.
func Facts() []Fact {
	out := make([]Fact, 0, len(facts))
	for f := range facts {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// KnownFact reports whether the store can compute f.
func KnownFact(f Fact) bool { _, ok := facts[f]; return ok }

// FactIsValues reports whether f is a list of values (not one aggregate).
func FactIsValues(f Fact) bool { return facts[f].values != "" }

// FactDimensions lists the dimensions f may be grouped by.
func FactDimensions(f Fact) []Dimension {
	d, ok := facts[f]
	if !ok {
		return nil
	}
	return sourceDimensions(d.src)
}

// FactIsSnapshot reports whether f ignores the period (the rows as they are now).
func FactIsSnapshot(f Fact) bool { return facts[f].src.at == "" }

// FactQuery asks for one fact over [From, To) in a place, grouped By.
// DistrictID 0 and SchoolIDs nil mean everywhere; SchoolIDs empty (not nil) nothing.
type FactQuery struct {
	Fact       Fact
	From, To   time.Time
	DistrictID DistrictID
	SchoolIDs  []SchoolID
	// TeacherID narrows to one teacher's rows (a fact without a teacher
	// dimension refuses it).
	TeacherID UserID
	By        Dimension
}

// FactValue is a fact for one group: its key (the id or the kind; "" with
// no grouping), the aggregate, or the values.
type FactValue struct {
	Key    string
	Value  float64
	Values []float64
}

// ReportFact computes one fact, one FactValue per group that has rows.
// Values come sorted ascending.
func (s *Store) ReportFact(ctx context.Context, q FactQuery) ([]FactValue, error) {
	d, ok := facts[q.Fact]
	if !ok {
		return nil, fmt.Errorf("storage: report fact %q: %w", q.Fact, &FieldError{Field: "fact", Message: "is unknown"})
	}
	if !slices.Contains(FactDimensions(q.Fact), q.By) {
		return nil, fmt.Errorf("storage: report fact %q: %w", q.Fact, &FieldError{Field: "by", Message: "does not apply"})
	}
	if q.TeacherID != 0 && d.src.teacher == "" {
		return nil, fmt.Errorf("storage: report fact %q: %w", q.Fact, &FieldError{Field: "teacher_id", Message: "does not apply"})
	}
	if q.SchoolIDs != nil && len(q.SchoolIDs) == 0 {
		return []FactValue{}, nil
	}
	var query string
	var args []any
	if r, ok := rollupOf(d, q); ok && !s.rawFacts {
		d = r
		query, args = s.factSQL(d, q)
	} else {
		query, args = s.rawFactSQL(d, q)
	}
	r, err := s.r().query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: report fact %q: %w", q.Fact, err)
	}
	defer r.Close()
	out := []FactValue{}
	for r.Next() {
		var k string
		var v *float64
		n := int64(1)
		dest := []any{&k, &v}
		if d.weight != "" {
			dest = append(dest, &n)
		}
		if err := r.Scan(dest...); err != nil {
			return nil, fmt.Errorf("storage: report fact %q: %w", q.Fact, err)
		}
		val := 0.0
		if v != nil {
			val = *v
		}
		if d.values == "" {
			out = append(out, FactValue{Key: k, Value: val})
			continue
		}
		if n <= 0 {
			continue
		}
		if l := len(out); l == 0 || out[l-1].Key != k {
			out = append(out, FactValue{Key: k})
		}
		for range n {
			out[len(out)-1].Values = append(out[len(out)-1].Values, val)
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: report fact %q: %w", q.Fact, err)
	}
	if d.per != "" {
		for i := range out {
			slices.Sort(out[i].Values) // sorted by key, then by v within it already; kept safe
		}
	}
	return out, nil
}

// rawFactSQL is the query computing fact d for q from the domain's own
// rows: the reference the roll-ups are checked against.
func (s *Store) rawFactSQL(d factDef, q FactQuery) (string, []any) {
	d.rollup = nil
	return s.factSQL(d, q)
}

// factSQL is the query computing fact d (raw or a roll-up) for q.
func (s *Store) factSQL(d factDef, q FactQuery) (string, []any) {
	src := d.src
	from := src.from
	key := "''"
	switch q.By {
	case DimDistrict:
		key = "CAST(" + src.district + " AS TEXT)"
	case DimSchool:
		key = "CAST(" + src.school + " AS TEXT)"
	case DimKind:
		from += " LEFT JOIN schools sk ON sk.id = " + src.school
		key = "COALESCE(sk.kind, '')"
	case DimTeacher:
		key = "CAST(" + src.teacher + " AS TEXT)"
	case DimSubject:
		key = "CAST(" + src.subject + " AS TEXT)"
	case DimGrade:
		key = "CAST(" + src.grade + " AS TEXT)"
	case DimPoint:
		if src.pointJoin != "" {
			from += " " + src.pointJoin
		}
		key = "CAST(" + src.point + " AS TEXT)"
	}
	var where []string
	var args []any
	for _, c := range []string{src.where, d.where} {
		if c != "" {
			where = append(where, "("+c+")")
		}
	}
	switch {
	case src.periods:
		where = append(where, periodsCond(q.From, q.To))
	case src.day:
		args = append(args, shanghaiDay(q.From), shanghaiDay(q.To))
		where = append(where, fmt.Sprintf("%s >= $%d AND %s < $%d", src.at, len(args)-1, src.at, len(args)))
	case src.at != "":
		args = append(args, ms(q.From), ms(q.To))
		where = append(where, fmt.Sprintf("%s >= $%d AND %s < $%d", src.at, len(args)-1, src.at, len(args)))
	}
	if q.DistrictID != 0 {
		args = append(args, int64(q.DistrictID))
		where = append(where, fmt.Sprintf("%s = $%d", src.district, len(args)))
	}
	if q.SchoolIDs != nil {
		args = append(args, s.d.listArg(ids(q.SchoolIDs)))
		where = append(where, s.d.inList(src.school, len(args)))
	}
	if q.TeacherID != 0 {
		args = append(args, int64(q.TeacherID))
		where = append(where, fmt.Sprintf("%s = $%d", src.teacher, len(args)))
	}
	var query string
	switch {
	case d.values != "" && d.per != "":
		group := d.per
		if q.By != DimNone {
			group = key + ", " + d.per
		}
		query = "SELECT k, v FROM (SELECT " + key + " AS k, " + d.values + " AS v FROM " + from + whereClause(where) +
			" GROUP BY " + group + ") x ORDER BY k, v"
	case d.values != "" && d.weight != "":
		// Grouped and sorted by the stored integer the value is computed from.
		group := d.sortBy
		if q.By != DimNone {
			group = key + ", " + d.sortBy
		}
		query = "SELECT " + key + " AS k, " + d.values + " AS v, CAST(SUM(" + d.weight + ") AS BIGINT) AS n FROM " + from +
			whereClause(where) + " GROUP BY " + group + " ORDER BY " + group
	case d.values != "":
		query = "SELECT " + key + " AS k, " + d.values + " AS v FROM " + from + whereClause(where) + " ORDER BY k, v"
	case q.By == DimNone:
		// One row, even over no rows: COUNT 0, SUM NULL (read as 0).
		query = "SELECT '' AS k, CAST(" + d.agg + " AS DOUBLE PRECISION) FROM " + from + whereClause(where)
	default:
		query = "SELECT " + key + " AS k, CAST(" + d.agg + " AS DOUBLE PRECISION) FROM " + from + whereClause(where) +
			" GROUP BY " + key + " ORDER BY k"
	}
	return query, args
}

// UserNames maps user ids to names; unknown ids are left out.
func (s *Store) UserNames(ctx context.Context, users []UserID) (map[UserID]string, error) {
	return namesOf(ctx, s, "users", "user names", users)
}

// KnowledgePointNames maps knowledge point ids to names; unknown ids are left out.
func (s *Store) KnowledgePointNames(ctx context.Context, points []KnowledgePointID) (map[KnowledgePointID]string, error) {
	return namesOf(ctx, s, "knowledge_points", "knowledge point names", points)
}

// namesOf maps ids of table (a table with id and name columns) to their
// names; unknown ids are left out.
func namesOf[K ~int64](ctx context.Context, s *Store, table, what string, keys []K) (map[K]string, error) {
	out := map[K]string{}
	if len(keys) == 0 {
		return out, nil
	}
	r, err := s.r().query(ctx, "SELECT id, name FROM "+table+" WHERE "+s.d.inList("id", 1), s.d.listArg(ids(keys)))
	if err != nil {
		return nil, fmt.Errorf("storage: %s: %w", what, err)
	}
	defer r.Close()
	for r.Next() {
		var id int64
		var name string
		if err := r.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("storage: %s: %w", what, err)
		}
		out[K(id)] = name
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("storage: %s: %w", what, err)
	}
	return out, nil
}

// ParseKey reads a grouping key as an id (0 when it is not a number).
func ParseKey(k string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(k), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
