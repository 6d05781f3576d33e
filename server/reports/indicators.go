package reports

import (
	"math"
	"slices"

	"yunke/storage"
)

// Unit is what an indicator's number measures.
type Unit string

const (
	UnitCount   Unit = "count"
	UnitPercent Unit = "percent" // 0–100
	UnitRatio   Unit = "ratio"   // e.g. answers per question
	UnitMinutes Unit = "minutes"
	UnitSeconds Unit = "seconds"
	UnitScore   Unit = "score" // a mean score
)

// Indicator is one number of the statistics: its key, its names, its
// unit and how it is computed from the store's facts for a period and a
// place. Every indicator is one entry of the list in this file.
type Indicator struct {
	Key   string `json:"key"`
	Group string `json:"group"` // recording, classes, tutoring, qa, microlessons, users
	Zh    string `json:"label_zh"`
	En    string `json:"label_en"`
	Unit  Unit   `json:"unit"`
	calc  calc
}

// calc computes an indicator from the facts it names; nil when it has no
// value (a share of nothing).
type calc struct {
	facts []storage.Fact
	eval  func(v func(storage.Fact) storage.FactValue) *float64
}

func count(f storage.Fact) calc {
	return calc{[]storage.Fact{f}, func(v func(storage.Fact) storage.FactValue) *float64 {
		x := v(f).Value
		return &x
	}}
}

// scaled is f times k (seconds to minutes).
func scaled(f storage.Fact, k float64) calc {
	return calc{[]storage.Fact{f}, func(v func(storage.Fact) storage.FactValue) *float64 {
		x := v(f).Value * k
		return &x
	}}
}

// ratio is num / den × k; none when den is 0.
func ratio(num, den storage.Fact, k float64) calc {
	return calc{[]storage.Fact{num, den}, func(v func(storage.Fact) storage.FactValue) *float64 {
		d := v(den).Value
		if d == 0 {
			return nil
		}
		x := v(num).Value / d * k
		return &x
	}}
}

// quantile is the q-quantile of the values of f; none without values.
func quantile(f storage.Fact, q float64) calc {
	return calc{[]storage.Fact{f}, func(v func(storage.Fact) storage.FactValue) *float64 {
		return Quantile(v(f).Values, q)
	}}
}

// Quantile of sorted values, interpolating linearly between the two
// nearest ranks (the median of 1, 2, 3, 10 is 2.5); nil for no values.
func Quantile(sorted []float64, q float64) *float64 {
	n := len(sorted)
	if n == 0 {
		return nil
	}
	pos := q * float64(n-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, n-1)
	x := sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
	return &x
}

// all is every indicator, in the order of the dashboard and its exports.
// An indicator whose facts the store does not (yet) have is left out.
var all = []Indicator{
	{Key: "recording.lessons", Group: "recording", Zh: "录制课例数", En: "Lessons recorded", Unit: UnitCount, calc: count("recording.lessons")},
	{Key: "recording.teachers", Group: "recording", Zh: "参与录课教师数", En: "Teachers recording", Unit: UnitCount, calc: count("recording.teachers")},
	{Key: "recording.teacher_share", Group: "recording", Zh: "录课教师占比", En: "Share of teachers who recorded", Unit: UnitPercent, calc: ratio("recording.teachers", "users.teachers", 100)},
	{Key: "recording.trainees", Group: "recording", Zh: "录课见习教师数", En: "Trainee teachers who recorded", Unit: UnitCount, calc: count("recording.trainees")},
	{Key: "recording.trainee_coverage", Group: "recording", Zh: "见习教师覆盖率", En: "Trainee coverage", Unit: UnitPercent, calc: ratio("recording.trainees", "users.trainees", 100)},
	{Key: "recording.reviews", Group: "recording", Zh: "评课次数", En: "Lesson reviews submitted", Unit: UnitCount, calc: count("review.reviews")},
	{Key: "recording.lessons_reviewed", Group: "recording", Zh: "已评课例数", En: "Lessons reviewed", Unit: UnitCount, calc: count("review.lessons")},
	{Key: "recording.review_coverage", Group: "recording", Zh: "评课覆盖率", En: "Review coverage", Unit: UnitPercent, calc: ratio("recording.lessons_reviewed", "recording.lessons", 100)},
	{Key: "recording.review_score", Group: "recording", Zh: "平均评课得分", En: "Mean review score", Unit: UnitScore, calc: ratio("review.score_sum", "review.reviews", 1)},
	// The S-T mode distribution: the share of the lessons with an automatic
	// S-T result (speech heard) in each mode; the four shares add up to 100.
	{Key: "recording.st_lessons", Group: "recording", Zh: "S-T分析课例数", En: "Lessons with S-T analysis", Unit: UnitCount, calc: count("recording.st_lessons")},
	{Key: "recording.st_lecture", Group: "recording", Zh: "讲授型课例占比", En: "Lecture mode (S-T)", Unit: UnitPercent, calc: ratio("recording.st_lecture", "recording.st_lessons", 100)},
	{Key: "recording.st_practice", Group: "recording", Zh: "练习型课例占比", En: "Practice mode (S-T)", Unit: UnitPercent, calc: ratio("recording.st_practice", "recording.st_lessons", 100)},
	{Key: "recording.st_dialogue", Group: "recording", Zh: "对话型课例占比", En: "Dialogue mode (S-T)", Unit: UnitPercent, calc: ratio("recording.st_dialogue", "recording.st_lessons", 100)},
	{Key: "recording.st_mixed", Group: "recording", Zh: "混合型课例占比", En: "Mixed mode (S-T)", Unit: UnitPercent, calc: ratio("recording.st_mixed", "recording.st_lessons", 100)},

	{Key: "classes.held", Group: "classes", Zh: "互动课堂数", En: "Classes held", Unit: UnitCount, calc: count("class.held")},
	{Key: "classes.premium_held", Group: "classes", Zh: "精品课数", En: "Premium classes held", Unit: UnitCount, calc: count("class.premium_held")},
	{Key: "classes.attendance", Group: "classes", Zh: "听课人次", En: "Attendance", Unit: UnitCount, calc: count("class.attendance")},
	{Key: "classes.median_minutes", Group: "classes", Zh: "在课时长中位数", En: "Median minutes present", Unit: UnitMinutes, calc: quantile("class.minutes_present", 0.5)},
	{Key: "classes.satisfaction", Group: "classes", Zh: "课堂满意度", En: "Class satisfaction (≥ 4)", Unit: UnitPercent, calc: ratio("class.ratings_good", "class.ratings", 100)},
	{Key: "classes.mean_rating", Group: "classes", Zh: "课堂平均评分", En: "Class mean rating", Unit: UnitScore, calc: ratio("class.rating_sum", "class.ratings", 1)},

	{Key: "tutoring.requests", Group: "tutoring", Zh: "辅导请求数", En: "Tutoring requests", Unit: UnitCount, calc: count("tutoring.requests")},
	{Key: "tutoring.matched", Group: "tutoring", Zh: "匹配成功数", En: "Requests matched", Unit: UnitCount, calc: count("tutoring.matched")},
	{Key: "tutoring.median_wait", Group: "tutoring", Zh: "等待时长中位数", En: "Median wait", Unit: UnitSeconds, calc: quantile("tutoring.wait_seconds", 0.5)},
	{Key: "tutoring.p90_wait", Group: "tutoring", Zh: "等待时长90分位", En: "90th percentile wait", Unit: UnitSeconds, calc: quantile("tutoring.wait_seconds", 0.9)},
	{Key: "tutoring.sessions", Group: "tutoring", Zh: "一对一辅导次数", En: "Tutoring sessions", Unit: UnitCount, calc: count("tutoring.sessions")},
	{Key: "tutoring.minutes", Group: "tutoring", Zh: "辅导时长（分钟）", En: "Tutoring minutes", Unit: UnitMinutes, calc: scaled("tutoring.seconds", 1.0/60)},
	{Key: "tutoring.satisfaction", Group: "tutoring", Zh: "辅导满意度", En: "Tutoring satisfaction (≥ 4)", Unit: UnitPercent, calc: ratio("tutoring.ratings_good", "tutoring.ratings", 100)},
	{Key: "tutoring.mean_rating", Group: "tutoring", Zh: "辅导平均评分", En: "Tutoring mean rating", Unit: UnitScore, calc: ratio("tutoring.rating_sum", "tutoring.ratings", 1)},
	{Key: "tutoring.solved", Group: "tutoring", Zh: "问题解决率", En: "Problem solved", Unit: UnitPercent, calc: ratio("tutoring.solved", "tutoring.ratings", 100)},

	{Key: "qa.questions", Group: "qa", Zh: "提问数", En: "Questions", Unit: UnitCount, calc: count("qa.questions")},
	{Key: "qa.answers", Group: "qa", Zh: "回答数", En: "Answers", Unit: UnitCount, calc: count("qa.answers")},
	{Key: "qa.answers_per_question", Group: "qa", Zh: "每题回答数", En: "Answers per question", Unit: UnitRatio, calc: ratio("qa.answers", "qa.questions", 1)},
	{Key: "qa.adoption", Group: "qa", Zh: "采纳率", En: "Adoption rate", Unit: UnitPercent, calc: ratio("qa.adopted", "qa.questions", 100)},
	{Key: "qa.median_first_answer", Group: "qa", Zh: "首答时长中位数", En: "Median time to first answer", Unit: UnitMinutes, calc: quantile("qa.first_answer_minutes", 0.5)},
	{Key: "qa.satisfaction", Group: "qa", Zh: "问答满意度", En: "Q&A satisfaction (≥ 4)", Unit: UnitPercent, calc: ratio("qa.ratings_good", "qa.ratings", 100)},

	{Key: "microlessons.submitted", Group: "microlessons", Zh: "微课提交数", En: "Micro-lessons submitted", Unit: UnitCount, calc: count("microlesson.submitted")},
	{Key: "microlessons.reviewed", Group: "microlessons", Zh: "微课审核数", En: "Micro-lessons reviewed", Unit: UnitCount, calc: count("microlesson.reviewed")},
	{Key: "microlessons.published", Group: "microlessons", Zh: "微课发布数", En: "Micro-lessons published", Unit: UnitCount, calc: count("microlesson.published")},

	{Key: "users.active_students", Group: "users", Zh: "活跃学生数", En: "Active students", Unit: UnitCount, calc: count("users.active_students")},
	{Key: "users.active_teachers", Group: "users", Zh: "活跃教师数", En: "Active teachers", Unit: UnitCount, calc: count("users.active_teachers")},
}

// registry is all, less the indicators the store cannot compute.
var registry = func() []Indicator {
	var out []Indicator
	for _, in := range all {
		if !slices.ContainsFunc(in.calc.facts, func(f storage.Fact) bool { return !storage.KnownFact(f) }) {
			out = append(out, in)
		}
	}
	return out
}()

// Indicators lists the indicators, in dashboard order.
func Indicators() []Indicator { return slices.Clone(registry) }

// Lookup finds an indicator by key.
func Lookup(key string) (Indicator, bool) {
	i := slices.IndexFunc(registry, func(in Indicator) bool { return in.Key == key })
	if i < 0 {
		return Indicator{}, false
	}
	return registry[i], true
}

// Dimensions lists what in may be broken down by: those every fact of it has.
func (in Indicator) Dimensions() []storage.Dimension {
	var out []storage.Dimension
	for _, d := range storage.FactDimensions(in.calc.facts[0]) {
		if d == storage.DimNone {
			continue
		}
		if !slices.ContainsFunc(in.calc.facts, func(f storage.Fact) bool { return !slices.Contains(storage.FactDimensions(f), d) }) {
			out = append(out, d)
		}
	}
	return out
}

// Facts lists the facts in is computed from.
func (in Indicator) Facts() []storage.Fact { return slices.Clone(in.calc.facts) }
