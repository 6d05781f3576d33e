package storage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// QAMetrics are the Q&A centre's figures over the questions asked in a
// period and scope (docs/metrics.md defines each).
type QAMetrics struct {
	Questions          int     `json:"questions"` // asked, not deleted
	Answers            int     `json:"answers"`
	AnswersPerQuestion float64 `json:"answers_per_question"`
	Answered           int     `json:"answered"` // questions with at least one answer
	// FirstAnswerMedianSeconds and FirstAnswerP90Seconds: time from a
	// question to its first answer, over the answered questions
	// (nearest-rank percentiles).
	FirstAnswerMedianSeconds int64 `json:"first_answer_median_s"`
	FirstAnswerP90Seconds    int64 `json:"first_answer_p90_s"`
	// AnsweredWithinHour counts questions first answered within an hour;
	// the share is of all Questions.
	AnsweredWithinHour      int     `json:"answered_within_hour"`
	AnsweredWithinHourShare float64 `json:"answered_within_hour_share"`
	Adopted                 int     `json:"adopted"`       // questions with an adopted answer
	AdoptionRate            float64 `json:"adoption_rate"` // Adopted / Answered
	Escalated               int     `json:"escalated"`
	// Satisfaction: the askers' ratings of adopted answers (Key empty).
	Satisfaction Satisfaction `json:"satisfaction"`
}

// QATeacherStats are one teacher's answering figures.
type QATeacherStats struct {
	TeacherID    UserID  `json:"teacher_id,omitempty"`
	Answers      int     `json:"answers"`
	Adopted      int     `json:"adopted"`
	AdoptionRate float64 `json:"adoption_rate"` // Adopted / Answers
	// MedianAnswerSeconds is the median time from a question to this
	// teacher's first answer to it (nearest rank).
	MedianAnswerSeconds int64 `json:"median_answer_s"`
}

// ByBand groups Q&A satisfaction by the question's grade band: "p"
// (grades 1–6), "j" (7–9), "s" (10–12).
const ByBand SatisfactionGroup = "band"

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 1) of sorted
// values: the smallest value with at least p of them at or below it; 0 for
// none.
func Percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// qaScope is the condition on questions (alias q) of a period and scope.
func (s *Store) qaScope(q SatisfactionQuery, args []any) ([]string, []any) {
	var conds []string
	if q.FromMonth != 0 {
		args = append(args, ms(time.Date(q.FromMonth/100, time.Month(q.FromMonth%100), 1, 0, 0, 0, 0, Zone)))
		conds = append(conds, fmt.Sprintf("q.created_at >= $%d", len(args)))
	}
	if q.ToMonth != 0 {
		args = append(args, ms(time.Date(q.ToMonth/100, time.Month(q.ToMonth%100)+1, 1, 0, 0, 0, 0, Zone)))
		conds = append(conds, fmt.Sprintf("q.created_at < $%d", len(args)))
	}
	if q.DistrictID != 0 {
		args = append(args, int64(q.DistrictID))
		conds = append(conds, fmt.Sprintf("q.district_id = $%d", len(args)))
	}
	if q.SchoolIDs != nil {
		args = append(args, s.d.listArg(ids(q.SchoolIDs)))
		conds = append(conds, s.d.inList("q.school_id", len(args)))
	}
	conds = append(conds, "q.status <> 'deleted'")
	return conds, args
}

// QAMetrics computes the figures of the questions asked in q's months and
// scope (q.GroupBy is ignored).
func (s *Store) QAMetrics(ctx context.Context, q SatisfactionQuery) (QAMetrics, error) {
	conds, args := s.qaScope(q, nil)
	where := " WHERE " + strings.Join(conds, " AND ")
	rs, err := s.r().query(ctx, `SELECT q.status, q.created_at, q.first_answer_at, q.adopted_answer_id, q.answer_count
		FROM qa_questions q`+where, args...)
	if err != nil {
		return QAMetrics{}, fmt.Errorf("storage: Q&A metrics: %w", err)
	}
	defer rs.Close()
	var m QAMetrics
	var waits []int64
	for rs.Next() {
		var status string
		var created, first, adopted int64
		var answers int
		if err := rs.Scan(&status, &created, &first, &adopted, &answers); err != nil {
			return QAMetrics{}, fmt.Errorf("storage: Q&A metrics: %w", err)
		}
		m.Questions++
		m.Answers += answers
		if first != 0 {
			m.Answered++
			waits = append(waits, (first-created)/1000)
			if first-created <= time.Hour.Milliseconds() {
				m.AnsweredWithinHour++
			}
		}
		if adopted != 0 {
			m.Adopted++
		}
		if status == string(QuestionEscalated) {
			m.Escalated++
		}
	}
	if err := rs.Err(); err != nil {
		return QAMetrics{}, fmt.Errorf("storage: Q&A metrics: %w", err)
	}
	slices.Sort(waits)
	m.FirstAnswerMedianSeconds = Percentile(waits, 0.5)
	m.FirstAnswerP90Seconds = Percentile(waits, 0.9)
	if m.Questions > 0 {
		m.AnswersPerQuestion = float64(m.Answers) / float64(m.Questions)
		m.AnsweredWithinHourShare = float64(m.AnsweredWithinHour) / float64(m.Questions)
	}
	if m.Answered > 0 {
		m.AdoptionRate = float64(m.Adopted) / float64(m.Answered)
	}
	sat, err := s.qaSatisfaction(ctx, "''", conds, args)
	if err != nil {
		return QAMetrics{}, err
	}
	if len(sat) == 1 {
		m.Satisfaction = sat[0]
	}
	return m, nil
}

// QATeacherMetrics are the answering figures of everyone who answered the
// questions asked in q's months and scope, by teacher id.
func (s *Store) QATeacherMetrics(ctx context.Context, q SatisfactionQuery) ([]QATeacherStats, error) {
	conds, args := s.qaScope(q, nil)
	return s.teacherStats(ctx, conds, args)
}

// QATeacherStats counts a teacher's answers (to questions not deleted),
// how many were adopted, and the median time to their first answer.
func (s *Store) QATeacherStats(ctx context.Context, teacher UserID) (QATeacherStats, error) {
	out, err := s.teacherStats(ctx, []string{"q.status <> 'deleted'", "a.author_id = $1"}, []any{int64(teacher)})
	if err != nil || len(out) == 0 {
		return QATeacherStats{}, err
	}
	st := out[0]
	st.TeacherID = 0
	return st, nil
}

func (s *Store) teacherStats(ctx context.Context, conds []string, args []any) ([]QATeacherStats, error) {
	rs, err := s.r().query(ctx, `SELECT a.author_id, a.question_id, a.created_at - q.created_at,
		CASE WHEN a.id = q.adopted_answer_id THEN 1 ELSE 0 END
		FROM qa_answers a JOIN qa_questions q ON q.id = a.question_id
		WHERE `+strings.Join(conds, " AND ")+` ORDER BY a.author_id, a.question_id, a.created_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("storage: Q&A teacher figures: %w", err)
	}
	defer rs.Close()
	out := []QATeacherStats{}
	var waits []int64
	var lastQ int64
	finish := func() {
		if n := len(out); n > 0 {
			st := &out[n-1]
			if st.Answers > 0 {
				st.AdoptionRate = float64(st.Adopted) / float64(st.Answers)
			}
			slices.Sort(waits)
			st.MedianAnswerSeconds = Percentile(waits, 0.5)
		}
		waits = waits[:0]
	}
	for rs.Next() {
		var author, qid, wait int64
		var adopted int
		if err := rs.Scan(&author, &qid, &wait, &adopted); err != nil {
			return nil, fmt.Errorf("storage: Q&A teacher figures: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].TeacherID != UserID(author) {
			finish()
			out = append(out, QATeacherStats{TeacherID: UserID(author)})
			lastQ = 0
		}
		st := &out[len(out)-1]
		st.Answers++
		st.Adopted += adopted
		if qid != lastQ { // the teacher's first answer to this question
			waits = append(waits, wait/1000)
			lastQ = qid
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("storage: Q&A teacher figures: %w", err)
	}
	finish()
	return out, nil
}

// QASatisfaction groups the ratings of adopted answers as TutoringSatisfaction
// groups sessions' (Solved stays 0): by teacher (the adopted answer's
// author), school, subject and grade band (the question's), or month (of
// the question).
func (s *Store) QASatisfaction(ctx context.Context, q SatisfactionQuery) ([]Satisfaction, error) {
	var key string
	switch q.GroupBy {
	case ByTeacher:
		key = "r.teacher_id"
	case BySchool:
		key = "r.school_id"
	case BySubject:
		key = "r.subject_id"
	case ByBand:
		key = "CASE WHEN q.grade <= 6 THEN 'p' WHEN q.grade <= 9 THEN 'j' ELSE 's' END"
	case ByMonth, "":
		key = "r.month"
	default:
		return nil, &FieldError{Field: "group", Message: "must be teacher, school, subject, band or month"}
	}
	conds, args := s.satisfactionConds(q, "r.")
	return s.qaSatisfaction(ctx, key, conds, args)
}

// qaSatisfaction groups the ratings of the questions (alias q, ratings r)
// meeting conds by key.
func (s *Store) qaSatisfaction(ctx context.Context, key string, conds []string, args []any) ([]Satisfaction, error) {
	out, err := s.satisfaction(ctx, ratingGroups{what: "Q&A satisfaction", key: "CAST(" + key + " AS TEXT)", score: "r.score",
		from: "qa_ratings r JOIN qa_questions q ON q.id = r.question_id", conds: conds, args: args})
	if out == nil && err == nil {
		out = []Satisfaction{}
	}
	return out, err
}
