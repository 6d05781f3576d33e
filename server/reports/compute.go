package reports

import (
	"context"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"yunke/storage"
)

// Place is where statistics are counted: everywhere, one district, or a
// list of schools (one, for a school's dashboard).
type Place struct {
	DistrictID storage.DistrictID
	SchoolIDs  []storage.SchoolID // nil: every school of the district (or everywhere)
	TeacherID  storage.UserID     // one teacher's rows only (0: everyone's)
}

// Values are an indicator's numbers per group key ("" without a breakdown);
// a nil value has no number (a share of nothing).
type Values map[string]*float64

// factKey is one fact asked over one period, place and grouping.
type factKey struct {
	fact storage.Fact
	from time.Time
	by   storage.Dimension
}

// computer computes indicators, asking the store each fact once.
type computer struct {
	st    Store
	place Place
	mu    sync.Mutex
	cache map[factKey]map[string]storage.FactValue
}

// prefetchWorkers is how many facts one report asks the store at once.
const prefetchWorkers = 4

// prefetch asks the store the facts of inds over every period, a few at
// a time, so that a dashboard waits for its slowest facts rather than
// for the sum of them all.
func (c *computer) prefetch(ctx context.Context, inds []Indicator, ps []Period, by storage.Dimension) error {
	type job struct {
		f storage.Fact
		p Period
	}
	var jobs []job
	seen := map[factKey]bool{}
	for _, in := range inds {
		for _, f := range in.calc.facts {
			for _, p := range ps {
				if k := (factKey{f, p.Start, by}); !seen[k] {
					seen[k] = true
					jobs = append(jobs, job{f, p})
				}
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan job)
	errs := make(chan error, prefetchWorkers)
	var wg sync.WaitGroup
	for range prefetchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				if _, err := c.fact(ctx, j.f, j.p, by); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func newComputer(st Store, place Place) *computer {
	return &computer{st: st, place: place, cache: map[factKey]map[string]storage.FactValue{}}
}

func (c *computer) fact(ctx context.Context, f storage.Fact, p Period, by storage.Dimension) (map[string]storage.FactValue, error) {
	k := factKey{f, p.Start, by}
	c.mu.Lock()
	v, ok := c.cache[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	rows, err := c.st.ReportFact(ctx, storage.FactQuery{Fact: f, From: p.Start, To: p.End,
		DistrictID: c.place.DistrictID, SchoolIDs: c.place.SchoolIDs, TeacherID: c.place.TeacherID, By: by})
	if err != nil {
		return nil, err
	}
	m := make(map[string]storage.FactValue, len(rows))
	for _, r := range rows {
		m[r.Key] = r
	}
	c.mu.Lock()
	c.cache[k] = m
	c.mu.Unlock()
	return m, nil
}

// compute is in's numbers over p, per group of by: the groups with rows,
// and the extra ones (schools without activity, say).
func (c *computer) compute(ctx context.Context, in Indicator, p Period, by storage.Dimension, extra ...string) (Values, error) {
	got := map[storage.Fact]map[string]storage.FactValue{}
	keys := map[string]bool{}
	for _, f := range in.calc.facts {
		m, err := c.fact(ctx, f, p, by)
		if err != nil {
			return nil, err
		}
		got[f] = m
		for k := range m {
			keys[k] = true
		}
	}
	if by == storage.DimNone {
		keys[""] = true
	}
	for _, k := range extra {
		keys[k] = true
	}
	out := Values{}
	for k := range keys {
		out[k] = in.calc.eval(func(f storage.Fact) storage.FactValue { return got[f][k] })
	}
	return out, nil
}

// Gini is the Gini coefficient of xs: the mean absolute difference of
// every ordered pair over twice the mean, Σ|xi−xj| / (2·n²·mean). 0 when
// all are equal (or there is nothing), nearer 1 the more one holds all.
func Gini(xs []float64) float64 {
	n := float64(len(xs))
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	if n == 0 || sum == 0 {
		return 0
	}
	diff := 0.0
	for _, a := range xs {
		for _, b := range xs {
			diff += math.Abs(a - b)
		}
	}
	return diff / (2 * n * sum) // n²·mean = n·sum
}

// TopShare is the percentage of the total held by the largest ceil(n·frac) of xs.
func TopShare(xs []float64, frac float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	k := int(math.Ceil(float64(len(s)) * frac))
	top, total := 0.0, 0.0
	for i, x := range s {
		total += x
		if i < k {
			top += x
		}
	}
	if total == 0 {
		return 0
	}
	return top / total * 100
}

// Imbalance compares the schools of a place over a period.
type Imbalance struct {
	Schools int `json:"schools"` // schools counted (those with at least one teacher, for the Gini)
	// GiniLessonsPerTeacher is the Gini coefficient of the schools' lessons recorded per teacher.
	GiniLessonsPerTeacher float64 `json:"gini_lessons_per_teacher"`
	// TopTenthShare is the percentage of the lessons recorded by the top 10 % of schools (by lessons).
	TopTenthShare float64 `json:"top_tenth_share_pct"`
}

// TargetRow is one school's yearly targets and how far it is.
type TargetRow struct {
	SchoolID   storage.SchoolID `json:"school_id"`
	SchoolName string           `json:"school_name"`
	Year       int              `json:"year"`
	Items      []TargetItem     `json:"items"`
	Behind     bool             `json:"behind"` // some item is below the pace the year asks
}

// TargetItem is one target of a school: lessons, teachers, trainee coverage or lessons reviewed.
type TargetItem struct {
	Key    string  `json:"key"`    // the indicator measured
	Target float64 `json:"target"` // for the year
	Done   float64 `json:"done"`   // from 1 January up to now
	// AttainmentPct is Done / Target × 100.
	AttainmentPct float64 `json:"attainment_pct"`
	// Expected is where the school should be now at an even pace: Target × the elapsed part of the year.
	Expected float64 `json:"expected"`
	// NeededPerWeek is what is left, spread over the weeks left (0 when reached; for coverage, percentage points).
	NeededPerWeek float64 `json:"needed_per_week"`
	Behind        bool    `json:"behind"`
}

// targetIndicators: which indicator each column of school_targets is measured by.
var targetIndicators = []struct {
	key    string
	target func(storage.Target) int
}{
	{"recording.lessons", func(t storage.Target) int { return t.LessonsRecorded }},
	{"recording.teachers", func(t storage.Target) int { return t.TeachersParticipating }},
	{"recording.trainee_coverage", func(t storage.Target) int { return t.TraineeCoveragePct }},
	{"recording.lessons_reviewed", func(t storage.Target) int { return t.LessonsReviewed }},
}

// hasTarget reports whether some target of t is set (above 0).
func hasTarget(t storage.Target) bool {
	for _, ti := range targetIndicators {
		if ti.target(t) > 0 {
			return true
		}
	}
	return false
}

// targetItem measures done against a yearly target at elapsed (0–1) of
// the year with weeksLeft weeks to go. A target of 0 is no target: no
// attainment, nothing expected or needed, never behind.
func targetItem(key string, target, done, elapsed, weeksLeft float64) TargetItem {
	it := TargetItem{Key: key, Target: target, Done: done}
	if target <= 0 {
		it.Target = 0
		return it
	}
	it.Expected = target * elapsed
	it.AttainmentPct = done / target * 100
	if left := target - done; left > 0 {
		it.NeededPerWeek = left / math.Max(weeksLeft, 1)
	}
	it.Behind = done < it.Expected
	return it
}
