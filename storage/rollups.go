package storage

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// The statistics' slowest facts read roll-ups that triggers keep in the
// transaction writing the domain rows (migration 0018_report_rollups):
//
//   - report_active_users: who acted in which week, month and year, so
//     that active users are exact distinct counts over any period made of
//     whole years, months and weeks (a term is its months);
//   - report_tutoring_waits and report_qa_first_answers: histograms (value
//     → count) per day and place, so medians and percentiles are exact;
//   - report_tutoring_daily: sessions, minutes and ratings per day and school;
//   - report_class_presence: a histogram of the time each student was
//     present in each ended class (attendance is its count);
//   - report_requests_daily and report_qa_daily: tutoring requests, and
//     questions with their answers and ratings, per day asked and school.
//
// A fact reads its roll-up when the period starts and ends at Shanghai
// midnights (for active users: is whole years, months or weeks) and the
// roll-up has the grouping asked; otherwise it reads the raw rows, whose
// query stays the reference (TestReportRollupsEqualRaw checks them equal).

// dayMS is a day in milliseconds; zoneOffsetMS is Asia/Shanghai's offset
// from UTC (no summer time since 1991), in milliseconds.
const (
	dayMS        = 86_400_000
	zoneOffsetMS = 28_800_000
)

// shanghaiDay is the number of the Asia/Shanghai day t falls in, counted
// from 1970-01-01, as the roll-ups' triggers compute it.
func shanghaiDay(t time.Time) int64 {
	v := ms(t) + zoneOffsetMS
	if v < 0 {
		return (v - dayMS + 1) / dayMS
	}
	return v / dayMS
}

// atMidnight reports whether t is a Shanghai midnight (after 1970).
func atMidnight(t time.Time) bool { return ms(t) >= 0 && (ms(t)+zoneOffsetMS)%dayMS == 0 }

// dayStart is the time Shanghai day d starts at.
func dayStart(d int64) time.Time { return time.UnixMilli(d*dayMS - zoneOffsetMS).In(Zone) }

// activeUnits splits [from, to) into whole calendar years, then months,
// then Monday weeks, as report_active_users keys them (unit, first day);
// false when something is left over.
func activeUnits(from, to time.Time) (map[string][]int64, bool) {
	if !atMidnight(from) || !atMidnight(to) || !from.Before(to) {
		return nil, false
	}
	out := map[string][]int64{}
	for t := from.In(Zone); t.Before(to); {
		y, m, d := t.Date()
		switch {
		case m == time.January && d == 1 && !time.Date(y+1, 1, 1, 0, 0, 0, 0, Zone).After(to):
			out["y"] = append(out["y"], shanghaiDay(t))
			t = time.Date(y+1, 1, 1, 0, 0, 0, 0, Zone)
		case d == 1 && !time.Date(y, m+1, 1, 0, 0, 0, 0, Zone).After(to):
			out["m"] = append(out["m"], shanghaiDay(t))
			t = time.Date(y, m+1, 1, 0, 0, 0, 0, Zone)
		case t.Weekday() == time.Monday && !t.AddDate(0, 0, 7).After(to):
			out["w"] = append(out["w"], shanghaiDay(t))
			t = t.AddDate(0, 0, 7)
		default:
			return nil, false
		}
	}
	return out, true
}

// periodsCond selects the report_active_users rows (a) making up [from, to);
// only called when activeUnits splits it.
func periodsCond(from, to time.Time) string {
	units, _ := activeUnits(from, to)
	var or []string
	for _, u := range []string{"y", "m", "w"} {
		if len(units[u]) == 0 {
			continue
		}
		days := make([]string, len(units[u]))
		for i, d := range units[u] {
			days[i] = fmt.Sprint(d)
		}
		or = append(or, fmt.Sprintf("(a.unit = '%s' AND a.start_day IN (%s))", u, strings.Join(days, ", ")))
	}
	if len(or) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// rollupOf is the roll-up definition answering q for d, when there is one
// that applies.
func rollupOf(d factDef, q FactQuery) (factDef, bool) {
	r := d.rollup
	if r == nil {
		return factDef{}, false
	}
	if !slices.Contains(sourceDimensions(r.src), q.By) || (q.TeacherID != 0 && r.src.teacher == "") {
		return factDef{}, false
	}
	if r.src.periods {
		_, ok := activeUnits(q.From, q.To)
		return *r, ok
	}
	return *r, atMidnight(q.From) && atMidnight(q.To)
}

// sourceDimensions lists the dimensions rows of src can be grouped by.
func sourceDimensions(src factSource) []Dimension {
	out := []Dimension{DimNone, DimDistrict, DimSchool, DimKind}
	for _, c := range []struct {
		col string
		dim Dimension
	}{{src.teacher, DimTeacher}, {src.subject, DimSubject}, {src.grade, DimGrade}, {src.point, DimPoint}} {
		if c.col != "" {
			out = append(out, c.dim)
		}
	}
	return out
}

var (
	rollActive = func(role string) factSource {
		return factSource{
			from: "report_active_users a JOIN users t ON t.id = a.user_id JOIN user_roles ur ON ur.user_id = t.id AND ur.role = '" + role + "'",
			at:   "a.start_day", periods: true, district: "t.district_id", school: "t.school_id",
		}
	}
	rollActiveStudents = func() factSource { s := rollActive("student"); s.grade = "t.grade"; return s }()
	rollActiveTeachers = func() factSource { s := rollActive("teacher"); s.teacher = "t.id"; return s }()
	rollWaits          = factSource{from: "report_tutoring_waits t", at: "t.day", day: true, district: "t.district_id", school: "t.school_id"}
	rollTutoring       = factSource{from: "report_tutoring_daily t", at: "t.day", day: true, district: "t.district_id", school: "t.school_id"}
	rollFirstAnswers   = factSource{from: "report_qa_first_answers t", at: "t.day", day: true, district: "t.district_id", school: "t.school_id"}
	rollRequests       = factSource{from: "report_requests_daily t", at: "t.day", day: true, district: "t.district_id", school: "t.school_id"}
	rollQA             = factSource{from: "report_qa_daily t", at: "t.day", day: true, district: "t.district_id", school: "t.school_id"}
	rollPresence       = factSource{from: "report_class_presence t", at: "t.day", day: true, district: "t.district_id", school: "t.school_id"}
)

// rollups: the roll-up definition of each rolled-up fact. A group has
// rows in the raw query exactly when its roll-up count is above 0, so
// each condition keeps the rows counting something.
// A wait in ms over 1000 in double precision is the same float64 as the
// raw query's exact decimal (read to the nearest float64), and cheaper.
var rollups = map[Fact]factDef{
	"users.active_students":   {src: rollActiveStudents, agg: "COUNT(DISTINCT t.id)"},
	"users.active_teachers":   {src: rollActiveTeachers, agg: "COUNT(DISTINCT t.id)"},
	"tutoring.wait_seconds":   {src: rollWaits, values: "CAST(t.wait_ms AS DOUBLE PRECISION) / 1000", weight: "t.n", sortBy: "t.wait_ms", where: "t.n > 0"},
	"qa.first_answer_minutes": {src: rollFirstAnswers, values: "t.first_ms / 60000.0", weight: "t.n", sortBy: "t.first_ms", where: "t.n > 0"},
	"tutoring.requests":       {src: rollRequests, agg: "SUM(t.requests)", where: "t.requests > 0"},
	"tutoring.matched":        {src: rollRequests, agg: "SUM(t.matched)", where: "t.matched > 0"},
	"qa.questions":            {src: rollQA, agg: "SUM(t.questions)", where: "t.questions > 0"},
	"qa.adopted":              {src: rollQA, agg: "SUM(t.adopted)", where: "t.adopted > 0"},
	"qa.answers":              {src: rollQA, agg: "SUM(t.answers)", where: "t.answers > 0"},
	"qa.ratings":              {src: rollQA, agg: "SUM(t.ratings)", where: "t.ratings > 0"},
	"qa.ratings_good":         {src: rollQA, agg: "SUM(t.ratings_good)", where: "t.ratings_good > 0"},
	"qa.rating_sum":           {src: rollQA, agg: "SUM(t.rating_sum)", where: "t.ratings > 0"},
	"class.attendance":        {src: rollPresence, agg: "SUM(t.n)", where: "t.n > 0"},
	"class.minutes_present":   {src: rollPresence, values: "t.ms / 60000.0", weight: "t.n", sortBy: "t.ms", where: "t.n > 0"},
	"tutoring.sessions":       {src: rollTutoring, agg: "SUM(t.sessions)", where: "t.sessions > 0"},
	"tutoring.seconds":        {src: rollTutoring, agg: "SUM(t.seconds)", where: "t.sessions > 0"},
	"tutoring.ratings":        {src: rollTutoring, agg: "SUM(t.ratings)", where: "t.ratings > 0"},
	"tutoring.ratings_good":   {src: rollTutoring, agg: "SUM(t.ratings_good)", where: "t.ratings_good > 0"},
	"tutoring.rating_sum":     {src: rollTutoring, agg: "SUM(t.rating_sum)", where: "t.ratings > 0"},
	"tutoring.solved":         {src: rollTutoring, agg: "SUM(t.solved)", where: "t.solved > 0"},
}

func init() {
	for f, r := range rollups {
		d, ok := facts[f]
		if !ok {
			panic("storage: roll-up of unknown fact " + f)
		}
		d.rollup = &r
		facts[f] = d
	}
}

// rollupTables are the roll-ups' tables, rebuilt after a bulk load.
var rollupTables = []string{"report_active_users", "report_tutoring_waits", "report_tutoring_daily", "report_qa_first_answers",
	"report_class_presence", "report_requests_daily", "report_qa_daily"}

// setRollupsOff turns the roll-ups' triggers off (or back on) for the rest
// of q's transaction: other transactions never see it off.
func setRollupsOff(ctx context.Context, q querier, off bool) error {
	if _, err := q.exec(ctx, "UPDATE report_rollup_state SET bulk = $1", off); err != nil {
		return fmt.Errorf("roll-up triggers: %w", err)
	}
	return nil
}

// rebuildRollups empties the roll-ups and fills them again from the raw
// rows, with the statements migration 0018 back-filled them with.
func (s *Store) rebuildRollups(ctx context.Context, q querier) error {
	dialect := "sqlite"
	if s.d.postgres {
		dialect = "postgres"
	}
	b, err := migrationFS.ReadFile(path.Join("migrations", dialect, "0018_report_rollups.sql"))
	if err != nil {
		return err
	}
	_, fill, ok := strings.Cut(string(b), "-- Back-fill")
	if !ok {
		return fmt.Errorf("roll-ups: migration 0018 has no back-fill")
	}
	for _, t := range rollupTables {
		if _, err := q.exec(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("roll-ups: empty %s: %w", t, err)
		}
	}
	if _, err := q.exec(ctx, "-- Back-fill"+fill); err != nil {
		return fmt.Errorf("roll-ups: rebuild: %w", err)
	}
	return nil
}

// RebuildReportRollups recomputes every roll-up from the raw rows in one
// transaction (a repair; the triggers keep them exact otherwise).
func (s *Store) RebuildReportRollups(ctx context.Context) error {
	if err := s.tx(ctx, func(q querier) error { return s.rebuildRollups(ctx, q) }); err != nil {
		return fmt.Errorf("storage: rebuild report roll-ups: %w", err)
	}
	return nil
}

// addActiveUsersSince adds the actors of the activity rows after id before
// to report_active_users, as the trigger does one row at a time.
func (s *Store) addActiveUsersSince(ctx context.Context, q querier, before int64) error {
	day := "((at_ms + 28800000) / 86400000)"
	month := "CAST(julianday(date(day * 86400, 'unixepoch', 'start of month')) - 2440587.5 AS INTEGER)"
	year := "CAST(julianday(date(day * 86400, 'unixepoch', 'start of year')) - 2440587.5 AS INTEGER)"
	if s.d.postgres {
		day = "report_day(at_ms)"
		month = "date_trunc('month', (DATE '1970-01-01' + day)::timestamp)::date - DATE '1970-01-01'"
		year = "date_trunc('year', (DATE '1970-01-01' + day)::timestamp)::date - DATE '1970-01-01'"
	}
	days := "(SELECT DISTINCT " + day + " AS day, actor_id FROM activity_log WHERE id > $1 AND actor_id <> 0) d"
	_, err := q.exec(ctx, `INSERT INTO report_active_users (unit, start_day, user_id)
		SELECT 'w', day - (day + 3) % 7, actor_id FROM `+days+`
		UNION SELECT 'm', `+month+`, actor_id FROM `+days+`
		UNION SELECT 'y', `+year+`, actor_id FROM `+days+` WHERE TRUE
		ON CONFLICT DO NOTHING`, before)
	if err != nil {
		return fmt.Errorf("active users: %w", err)
	}
	return nil
}
