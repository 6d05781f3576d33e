package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"yunke/storage"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, storage.Zone) }

func TestPeriods(t *testing.T) {
	terms, err := ParseTerms([]string{"02-01", "09-01"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind       PeriodKind
		at         time.Time
		start, end time.Time
		label      string
		prevStart  time.Time
	}{
		// Monday 7 December 2026 opens ISO week 50; the Sunday before is week 49.
		{Week, day(2026, 12, 7).Add(time.Minute), day(2026, 12, 7), day(2026, 12, 14), "2026-W50", day(2026, 11, 30)},
		{Week, day(2026, 12, 7).Add(-time.Minute), day(2026, 11, 30), day(2026, 12, 7), "2026-W49", day(2026, 11, 23)},
		// 16:10 UTC on 30 November is 00:10 on 1 December in Shanghai.
		{Month, time.Date(2026, 11, 30, 16, 10, 0, 0, time.UTC), day(2026, 12, 1), day(2027, 1, 1), "2026-12", day(2026, 11, 1)},
		{Month, day(2026, 1, 31), day(2026, 1, 1), day(2026, 2, 1), "2026-01", day(2025, 12, 1)},
		{Term, day(2026, 1, 15), day(2025, 9, 1), day(2026, 2, 1), "2025-09-01 term", day(2025, 2, 1)},
		{Term, day(2026, 2, 1), day(2026, 2, 1), day(2026, 9, 1), "2026-02-01 term", day(2025, 9, 1)},
		{Term, day(2026, 12, 31), day(2026, 9, 1), day(2027, 2, 1), "2026-09-01 term", day(2026, 2, 1)},
		{Year, day(2026, 7, 1), day(2026, 1, 1), day(2027, 1, 1), "2026", day(2025, 1, 1)},
	} {
		p, err := PeriodOf(c.kind, c.at, terms)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Start.Equal(c.start) || !p.End.Equal(c.end) || p.Label != c.label {
			t.Errorf("%s of %s = %+v; want %s–%s %s", c.kind, c.at, p, c.start, c.end, c.label)
		}
		if prev := p.Previous(terms); !prev.Start.Equal(c.prevStart) || !prev.End.Equal(p.Start) {
			t.Errorf("%s before %s = %+v; want from %s", c.kind, p.Label, prev, c.prevStart)
		}
	}
	if ts, err := ParseTerms(nil); err != nil || ts != nil || len(New(Params{}).p.Terms) != 2 {
		t.Errorf("no terms: %v %v, want the default two", ts, err)
	}
	if _, err := ParseTerms([]string{"13-01"}); err == nil {
		t.Error("month 13: no error")
	}
	if _, err := PeriodOf("decade", day(2026, 1, 1), terms); err == nil {
		t.Error("unknown period: no error")
	}
	if e := (Period{Start: day(2026, 1, 1), End: day(2026, 1, 11)}).Elapsed(day(2026, 1, 3)); e != 0.2 {
		t.Errorf("Elapsed = %v; want 0.2", e)
	}
}

// TestImbalanceExample is the worked example of docs/reports.md.
func TestImbalanceExample(t *testing.T) {
	// Lessons per teacher of four schools: 10/5, 4/4, 0/2, 6/2.
	g := Gini([]float64{2, 1, 0, 3})
	if math.Abs(g-20.0/48) > 1e-12 {
		t.Errorf("Gini = %v; want 20/48", g)
	}
	if g := Gini([]float64{1, 1, 1}); g != 0 {
		t.Errorf("Gini of equals = %v", g)
	}
	if g := Gini([]float64{0, 0, 0, 4}); g != 0.75 {
		t.Errorf("Gini of one holding all of 4 = %v; want 0.75", g)
	}
	if s := TopShare([]float64{10, 4, 0, 6}, 0.1); s != 50 {
		t.Errorf("top tenth share = %v; want 50", s)
	}
	// 11 schools: the top tenth is 2 schools (ceil 1.1).
	if s := TopShare([]float64{5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 2}, 0.1); s != 50 {
		t.Errorf("top tenth of 11 = %v; want 50", s)
	}
	if TopShare(nil, 0.1) != 0 || Gini(nil) != 0 {
		t.Error("empty inputs are not 0")
	}
}

func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{1, 2, 3, 10}, 0.5, 2.5},
		{[]float64{7}, 0.9, 7},
		{[]float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 0.9, 90},
		{[]float64{1, 2}, 0.9, 1.9},
	} {
		if got := Quantile(c.xs, c.q); got == nil || math.Abs(*got-c.want) > 1e-9 {
			t.Errorf("Quantile(%v, %v) = %v; want %v", c.xs, c.q, got, c.want)
		}
	}
	if Quantile(nil, 0.5) != nil {
		t.Error("quantile of nothing is not nil")
	}
}

// TestTargetPace is the targets example of docs/reports.md.
func TestTargetPace(t *testing.T) {
	// 40 lessons for the year, 10 done a quarter of the way through, 39 weeks left.
	it := targetItem("recording.lessons", 40, 10, 0.25, 39)
	if it.AttainmentPct != 25 || it.Expected != 10 || it.Behind || math.Abs(it.NeededPerWeek-30.0/39) > 1e-12 {
		t.Errorf("on pace: %+v", it)
	}
	it = targetItem("recording.lessons", 40, 9, 0.25, 39)
	if !it.Behind || it.AttainmentPct != 22.5 {
		t.Errorf("behind: %+v", it)
	}
	it = targetItem("recording.lessons", 40, 45, 1, 0)
	if it.Behind || it.NeededPerWeek != 0 || it.AttainmentPct != 112.5 {
		t.Errorf("past the target: %+v", it)
	}
	if it := targetItem("recording.lessons", 0, 3, 0.5, 20); it.Behind || it.AttainmentPct != 0 {
		t.Errorf("no target: %+v", it)
	}
}

// TestRegistry: every indicator is computable, keys are unique, and the
// breakdowns offered are those of its facts.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, in := range Indicators() {
		if seen[in.Key] || in.Zh == "" || in.En == "" || in.Unit == "" || in.Group == "" {
			t.Errorf("indicator %+v", in)
		}
		seen[in.Key] = true
		for _, f := range in.Facts() {
			if !storage.KnownFact(f) {
				t.Errorf("%s: unknown fact %s", in.Key, f)
			}
		}
	}
	share, _ := Lookup("recording.teacher_share")
	for _, d := range share.Dimensions() {
		if d == storage.DimSubject {
			t.Error("the share of teachers has no subject breakdown (teachers are counted without one)")
		}
	}
	lessons, _ := Lookup("recording.lessons")
	if got := lessons.Dimensions(); len(got) != 7 || got[6] != storage.DimPoint {
		t.Errorf("lessons break down by %v", got)
	}
	if _, ok := Lookup("recording.st_mode"); ok {
		t.Error("an indicator without its facts is listed")
	}
}

// TestAdmit: one user has at most PerUser reports in flight; others are
// not held up by them.
func TestAdmit(t *testing.T) {
	s := New(Params{PerUser: 2})
	a1, err := s.admit(1)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.admit(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admit(1); err != errTooMany {
		t.Fatalf("third report of one user: %v, want 429", err)
	}
	b, err := s.admit(2)
	if err != nil {
		t.Fatalf("another user: %v", err)
	}
	a1()
	a3, err := s.admit(1)
	if err != nil {
		t.Fatalf("after one finished: %v", err)
	}
	a2()
	a3()
	b()
	if len(s.inFlight) != 0 {
		t.Errorf("in flight after all finished: %v", s.inFlight)
	}
}

// factStore answers every fact with its call count; failing makes one fail.
type factStore struct {
	Store   // nil: only ReportFact is called
	mu      sync.Mutex
	calls   map[storage.Fact]int
	running int
	most    int
	failing storage.Fact
}

func (f *factStore) ReportFact(ctx context.Context, q storage.FactQuery) ([]storage.FactValue, error) {
	f.mu.Lock()
	f.calls[q.Fact]++
	f.running++
	f.most = max(f.most, f.running)
	f.mu.Unlock()
	time.Sleep(time.Millisecond) // overlap the workers
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
	if q.Fact == f.failing {
		return nil, errors.New("broken")
	}
	return []storage.FactValue{{Value: 1}}, nil
}

// TestPrefetch: every fact of a dashboard is asked once per period, at
// most prefetchWorkers at a time, and a failure stops the report.
func TestPrefetch(t *testing.T) {
	st := &factStore{calls: map[storage.Fact]int{}}
	c := newComputer(st, Place{})
	ps := []Period{{Start: day(2026, 11, 1), End: day(2026, 12, 1)}, {Start: day(2026, 10, 1), End: day(2026, 11, 1)}}
	if err := c.prefetch(context.Background(), Indicators(), ps, storage.DimNone); err != nil {
		t.Fatal(err)
	}
	facts := map[storage.Fact]bool{}
	for _, in := range Indicators() {
		for _, f := range in.Facts() {
			facts[f] = true
		}
	}
	for f := range facts {
		if st.calls[f] != 2 {
			t.Errorf("%s asked %d times; want 2", f, st.calls[f])
		}
	}
	if st.most > prefetchWorkers || st.most < 2 {
		t.Errorf("at most %d facts at once; want 2..%d", st.most, prefetchWorkers)
	}
	v, err := c.compute(context.Background(), registry[0], ps[0], storage.DimNone)
	if err != nil || *v[""] != 1 || st.calls[registry[0].calc.facts[0]] != 2 {
		t.Errorf("compute after prefetch: %v %v, calls %d", v, err, st.calls[registry[0].calc.facts[0]])
	}
	bad := &factStore{calls: map[storage.Fact]int{}, failing: "qa.answers"}
	if err := newComputer(bad, Place{}).prefetch(context.Background(), Indicators(), ps, storage.DimNone); err == nil {
		t.Error("a failing fact: no error")
	}
}

// targetStore holds three schools' targets and lessons recorded: school 1
// has a lessons target of 0, school 2 only targets of 0, school 3 a
// lessons target it is behind on.
type targetStore struct {
	Store // nil: only what Targets and Dashboard's targets ask
}

func (targetStore) GetSchool(_ context.Context, id storage.SchoolID) (storage.School, error) {
	return storage.School{ID: id, Name: fmt.Sprintf("School %d", id)}, nil
}

func (targetStore) ListTargets(_ context.Context, year int, _ []storage.SchoolID) ([]storage.Target, error) {
	return []storage.Target{
		{SchoolID: 1, Year: year, LessonsRecorded: 0, TeachersParticipating: 2, TraineeCoveragePct: 80},
		{SchoolID: 2, Year: year},
		{SchoolID: 3, Year: year, LessonsRecorded: 10, TraineeCoveragePct: 0},
	}, nil
}

func (targetStore) ReportFact(_ context.Context, q storage.FactQuery) ([]storage.FactValue, error) {
	switch q.Fact {
	case "recording.lessons":
		return []storage.FactValue{{Key: "1", Value: 2}, {Key: "2", Value: 5}}, nil
	case "recording.teachers", "users.teachers":
		return []storage.FactValue{{Key: "1", Value: 2}, {Key: "2", Value: 1}, {Key: "3", Value: 1}}, nil
	case "recording.trainees", "users.trainees":
		return []storage.FactValue{{Key: "1", Value: 1}}, nil
	}
	return nil, nil
}

// TestTargetZero: a target of 0 is no target — no attainment, not behind
// (school 1's 2 lessons against 0); a school whose targets are all 0 has
// none and is not counted; a place's target leaves the 0s out of its sum
// and its mean, and has none where every school's is 0.
func TestTargetZero(t *testing.T) {
	s := New(Params{Store: targetStore{}, Now: func() time.Time { return day(2026, 7, 2) }})
	sc := Scope{Level: "schools", place: Place{SchoolIDs: []storage.SchoolID{1, 2, 3}}}
	tg, err := s.Targets(context.Background(), 2026, sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Schools) != 2 || tg.Schools[0].SchoolID != 1 || tg.Schools[1].SchoolID != 3 {
		t.Fatalf("schools with a target: %+v; want 1 and 3", tg.Schools)
	}
	lessons := tg.Schools[0].Items[0]
	if lessons.Key != "recording.lessons" || lessons.Target != 0 || lessons.Done != 2 || lessons.AttainmentPct != 0 ||
		lessons.Expected != 0 || lessons.NeededPerWeek != 0 || lessons.Behind {
		t.Errorf("a lessons target of 0 with 2 recorded: %+v", lessons)
	}
	if tg.Schools[0].Behind {
		t.Errorf("school 1 is behind: %+v", tg.Schools[0])
	}
	if len(tg.Behind) != 1 || tg.Behind[0].SchoolID != 3 || !tg.Behind[0].Items[0].Behind || tg.Behind[0].Items[2].Behind {
		t.Errorf("behind: %+v; want school 3, on lessons only", tg.Behind)
	}
	got, err := s.placeTargets(context.Background(), sc, 2026)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"recording.lessons": 10, "recording.teachers": 2, "recording.trainee_coverage": 80}
	for k, w := range want {
		if got[k] == nil || *got[k] != w {
			t.Errorf("place target %s = %v; want %v", k, got[k], w)
		}
	}
	if v, ok := got["recording.lessons_reviewed"]; ok {
		t.Errorf("lessons reviewed: every target 0, place target %v; want none", *v)
	}
}
