// Package reports is the statistics administrators and experts read: a
// list of indicators (each one small definition in indicators.go),
// counted over Asia/Shanghai calendar weeks, months, terms and years, for
// everywhere, a district, a school or a teacher, broken down by school,
// school kind, teacher, subject or grade; each school's yearly targets
// with the attainment so far and the pace needed; and the imbalance
// between schools. docs/reports.md gives every formula.
package reports

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"yunke/server/httpapi"
	"yunke/server/jobs"
	"yunke/storage"
)

// Store is what statistics read.
type Store interface {
	httpapi.Schools
	ReportFact(ctx context.Context, q storage.FactQuery) ([]storage.FactValue, error)
	ListTargets(ctx context.Context, year int, schools []storage.SchoolID) ([]storage.Target, error)
	GetDistrict(ctx context.Context, id storage.DistrictID) (storage.District, error)
	ListSubjects(ctx context.Context) ([]storage.Subject, error)
	UserNames(ctx context.Context, users []storage.UserID) (map[storage.UserID]string, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	KnowledgePointNames(ctx context.Context, points []storage.KnowledgePointID) (map[storage.KnowledgePointID]string, error)
}

var _ Store = (*storage.Store)(nil)

// Params configure the service.
type Params struct {
	Store  Store
	Terms  Terms
	Now    func() time.Time
	Logger *slog.Logger
	// Concurrent bounds the reports computed at once (default 4); a
	// request waits for a slot as long as its client does.
	Concurrent int
	// PerUser bounds one user's reports in flight (default 2); more answer
	// 429, so that one account cannot hold every slot.
	PerUser int
	// Kept keeps the scheduled reports (kept.go); Jobs, when set, works
	// their jobs and schedules them; Limiter bounds a user's requests to
	// generate one again (nil: unbounded).
	Kept    KeptStore
	Jobs    *jobs.Queue
	Limiter Limiter
}

// Service computes reports and serves them.
type Service struct {
	p   Params
	sem chan struct{}
	enq enqueuer      // nil without Params.Jobs
	bg  chan struct{} // the one kept report generated at a time

	mu       sync.Mutex
	inFlight map[storage.UserID]int
}

// New builds the service.
func New(p Params) *Service {
	if p.Concurrent <= 0 {
		p.Concurrent = 4
	}
	if p.PerUser <= 0 {
		p.PerUser = 2
	}
	if len(p.Terms) == 0 {
		p.Terms = Terms{{time.February, 1}, {time.September, 1}}
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	s := &Service{p: p, sem: make(chan struct{}, p.Concurrent), bg: make(chan struct{}, 1), inFlight: map[storage.UserID]int{}}
	if p.Jobs != nil && p.Kept != nil {
		s.enq = p.Jobs
		s.registerJobs(p.Jobs)
	}
	return s
}

// errTooMany answers a user asking for more reports at once than PerUser.
var errTooMany = &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: time.Second,
	Message: "your other reports are still being computed: try again when they are done"}

// admit counts one more report in flight for user, or refuses it.
func (s *Service) admit(user storage.UserID) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[user] >= s.p.PerUser {
		return nil, errTooMany
	}
	s.inFlight[user]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inFlight[user]--; s.inFlight[user] <= 0 {
			delete(s.inFlight, user)
		}
	}, nil
}

// acquire takes a computing slot, or gives up with the request.
func (s *Service) acquire(ctx context.Context) (func(), error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("reports: waiting for a slot: %w", ctx.Err())
	}
}

// Row is one indicator of a dashboard.
type Row struct {
	Indicator
	Current  *float64 `json:"current"`
	Previous *float64 `json:"previous"`
	// Target is the place's yearly target for the period's year, where
	// the indicator has one (the sum of the schools' targets; for trainee
	// coverage their mean).
	Target *float64 `json:"target"`
}

// Dashboard is every indicator over a period and the one before, in a place.
type Dashboard struct {
	Period   Period `json:"period"`
	Previous Period `json:"previous"`
	Scope    Scope  `json:"scope"`
	Rows     []Row  `json:"indicators"`
}

// Dashboard computes the dashboard of p in place.
func (s *Service) Dashboard(ctx context.Context, p Period, sc Scope) (Dashboard, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return Dashboard{}, err
	}
	defer release()
	c := newComputer(s.p.Store, sc.place)
	prev := p.Previous(s.p.Terms)
	targets, err := s.placeTargets(ctx, sc, p.Start.Year())
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{Period: p, Previous: prev, Scope: sc}
	var inds []Indicator
	for _, in := range registry {
		if sc.place.TeacherID != 0 && !slices.Contains(in.Dimensions(), storage.DimTeacher) {
			continue // not counted per teacher (questions are the students')
		}
		inds = append(inds, in)
	}
	if err := c.prefetch(ctx, inds, []Period{p, prev}, storage.DimNone); err != nil {
		return Dashboard{}, err
	}
	for _, in := range inds {
		cur, err := c.compute(ctx, in, p, storage.DimNone)
		if err != nil {
			return Dashboard{}, err
		}
		pv, err := c.compute(ctx, in, prev, storage.DimNone)
		if err != nil {
			return Dashboard{}, err
		}
		d.Rows = append(d.Rows, Row{Indicator: in, Current: cur[""], Previous: pv[""], Target: targets[in.Key]})
	}
	return d, nil
}

// placeTargets sums the yearly targets of the schools of a place, by
// indicator; a teacher has none.
func (s *Service) placeTargets(ctx context.Context, sc Scope, year int) (map[string]*float64, error) {
	if sc.place.TeacherID != 0 {
		return map[string]*float64{}, nil
	}
	ts, err := s.p.Store.ListTargets(ctx, year, sc.place.SchoolIDs)
	if err != nil {
		return nil, err
	}
	var inDistrict map[storage.SchoolID]bool
	if sc.place.DistrictID != 0 && sc.place.SchoolIDs == nil {
		ids, err := httpapi.DistrictSchoolIDs(ctx, s.p.Store, sc.place.DistrictID)
		if err != nil {
			return nil, err
		}
		inDistrict = map[storage.SchoolID]bool{}
		for _, id := range ids {
			inDistrict[id] = true
		}
	}
	// A target of 0 is no target: it adds nothing to the sum and is not
	// part of the mean; with none set the place has no target (nil).
	out := map[string]*float64{}
	sums := map[string]float64{}
	set := map[string]int{}
	for _, t := range ts {
		if inDistrict != nil && !inDistrict[t.SchoolID] {
			continue
		}
		for _, ti := range targetIndicators {
			if v := ti.target(t); v > 0 {
				sums[ti.key] += float64(v)
				set[ti.key]++
			}
		}
	}
	for _, ti := range targetIndicators {
		n := set[ti.key]
		if n == 0 {
			continue
		}
		v := sums[ti.key]
		if ti.key == "recording.trainee_coverage" {
			v /= float64(n)
		}
		out[ti.key] = &v
	}
	return out, nil
}

// BreakdownRow is one group of a breakdown, named.
type BreakdownRow struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	NameEn   string   `json:"name_en"`
	Current  *float64 `json:"current"`
	Previous *float64 `json:"previous"`
}

// Breakdown is one indicator over a period and the one before, by a dimension.
type Breakdown struct {
	Indicator Indicator         `json:"indicator"`
	By        storage.Dimension `json:"by"`
	Period    Period            `json:"period"`
	Previous  Period            `json:"previous"`
	Scope     Scope             `json:"scope"`
	Total     Row               `json:"total"`
	Rows      []BreakdownRow    `json:"rows"`
}

// Breakdown computes in over p and the period before, by by, in place.
// Groups are sorted by the current value, largest first.
func (s *Service) Breakdown(ctx context.Context, in Indicator, by storage.Dimension, p Period, sc Scope) (Breakdown, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return Breakdown{}, err
	}
	defer release()
	c := newComputer(s.p.Store, sc.place)
	prev := p.Previous(s.p.Terms)
	b := Breakdown{Indicator: in, By: by, Period: p, Previous: prev, Scope: sc, Rows: []BreakdownRow{}}
	var extra []string
	var schools []storage.School
	if by == storage.DimSchool {
		// Every school of the place shows, those without activity too.
		if schools, err = s.schoolsOf(ctx, sc); err != nil {
			return b, err
		}
		for _, sch := range schools {
			extra = append(extra, fmt.Sprint(int64(sch.ID)))
		}
	}
	cur, err := c.compute(ctx, in, p, by, extra...)
	if err != nil {
		return b, err
	}
	pv, err := c.compute(ctx, in, prev, by, extra...)
	if err != nil {
		return b, err
	}
	tc, err := c.compute(ctx, in, p, storage.DimNone)
	if err != nil {
		return b, err
	}
	tp, err := c.compute(ctx, in, prev, storage.DimNone)
	if err != nil {
		return b, err
	}
	b.Total = Row{Indicator: in, Current: tc[""], Previous: tp[""]}
	keys := map[string]bool{}
	for k := range cur {
		keys[k] = true
	}
	for k := range pv {
		keys[k] = true
	}
	// A group with rows in one period only has a number in the other too
	// (the facts are cached: this asks the store nothing more).
	all := slices.Collect(maps.Keys(keys))
	if cur, err = c.compute(ctx, in, p, by, all...); err != nil {
		return b, err
	}
	if pv, err = c.compute(ctx, in, prev, by, all...); err != nil {
		return b, err
	}
	names, err := s.names(ctx, by, keys, schools)
	if err != nil {
		return b, err
	}
	for k := range keys {
		n := names[k]
		b.Rows = append(b.Rows, BreakdownRow{Key: k, Name: n[0], NameEn: n[1], Current: cur[k], Previous: pv[k]})
	}
	slices.SortFunc(b.Rows, func(x, y BreakdownRow) int {
		a, c := val(x.Current), val(y.Current)
		switch {
		case a > c:
			return -1
		case a < c:
			return 1
		}
		if x.Name != y.Name {
			if x.Name < y.Name {
				return -1
			}
			return 1
		}
		if x.Key < y.Key {
			return -1
		}
		return 1
	})
	return b, nil
}

func val(p *float64) float64 {
	if p == nil {
		return math.Inf(-1)
	}
	return *p
}

// schoolsOf lists the schools of a place.
func (s *Service) schoolsOf(ctx context.Context, sc Scope) ([]storage.School, error) {
	if sc.place.SchoolIDs != nil {
		out := []storage.School{}
		for _, id := range sc.place.SchoolIDs {
			sch, err := s.p.Store.GetSchool(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, sch)
		}
		return out, nil
	}
	out := []storage.School{}
	for off := 0; ; off += 500 {
		page, total, err := s.p.Store.ListSchools(ctx, storage.SchoolFilter{DistrictID: sc.place.DistrictID, Limit: 500, Offset: off})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) == 0 || off+len(page) >= total {
			return out, nil
		}
	}
}

var kindNames = map[storage.SchoolKind][2]string{
	storage.KindPrimary:           {"小学", "Primary"},
	storage.KindJuniorSecondary:   {"初中", "Junior secondary"},
	storage.KindSeniorSecondary:   {"高中", "Senior secondary"},
	storage.KindCompleteSecondary: {"完全中学", "Complete secondary"},
	storage.KindNineYear:          {"九年一贯制", "Nine-year school"},
	storage.KindKindergarten:      {"幼儿园", "Kindergarten"},
}

// names names the groups of a breakdown (zh, en); schools are those of
// the place, already listed.
func (s *Service) names(ctx context.Context, by storage.Dimension, keys map[string]bool, schools []storage.School) (map[string][2]string, error) {
	out := map[string][2]string{}
	switch by {
	case storage.DimSchool:
		known := map[string]string{}
		for _, sch := range schools {
			known[fmt.Sprint(int64(sch.ID))] = sch.Name
		}
		for k := range keys {
			id := storage.ParseKey(k)
			if id == 0 {
				out[k] = [2]string{"区级", "District-wide"}
				continue
			}
			if n, ok := known[k]; ok {
				out[k] = [2]string{n, n}
				continue
			}
			sch, err := s.p.Store.GetSchool(ctx, storage.SchoolID(id))
			if err != nil {
				return nil, err
			}
			out[k] = [2]string{sch.Name, sch.Name}
		}
	case storage.DimDistrict:
		for k := range keys {
			d, err := s.p.Store.GetDistrict(ctx, storage.DistrictID(storage.ParseKey(k)))
			if err != nil {
				return nil, err
			}
			out[k] = [2]string{d.Name, d.Name}
		}
	case storage.DimTeacher:
		var ids []storage.UserID
		for k := range keys {
			ids = append(ids, storage.UserID(storage.ParseKey(k)))
		}
		m, err := s.p.Store.UserNames(ctx, ids)
		if err != nil {
			return nil, err
		}
		for k := range keys {
			n := m[storage.UserID(storage.ParseKey(k))]
			out[k] = [2]string{n, n}
		}
	case storage.DimSubject:
		subs, err := s.p.Store.ListSubjects(ctx)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			out[fmt.Sprint(int64(sub.ID))] = [2]string{sub.Name, sub.NameEn}
		}
		for k := range keys {
			if _, ok := out[k]; !ok {
				out[k] = [2]string{"未注明", "Not given"}
			}
		}
	case storage.DimGrade:
		for k := range keys {
			if g := storage.ParseKey(k); g > 0 {
				out[k] = [2]string{fmt.Sprintf("%d年级", g), fmt.Sprintf("Grade %d", g)}
			} else {
				out[k] = [2]string{"未注明", "Not given"}
			}
		}
	case storage.DimPoint:
		var ids []storage.KnowledgePointID
		for k := range keys {
			ids = append(ids, storage.KnowledgePointID(storage.ParseKey(k)))
		}
		m, err := s.p.Store.KnowledgePointNames(ctx, ids)
		if err != nil {
			return nil, err
		}
		for k := range keys {
			if n, ok := m[storage.KnowledgePointID(storage.ParseKey(k))]; ok {
				out[k] = [2]string{n, n}
			} else {
				out[k] = [2]string{"未注明", "Not given"}
			}
		}
	case storage.DimKind:
		for k := range keys {
			if n, ok := kindNames[storage.SchoolKind(k)]; ok {
				out[k] = n
			} else {
				out[k] = [2]string{"区级", "District-wide"} // no school
			}
		}
	}
	return out, nil
}

// Targets is each school's yearly targets in a place, and the imbalance.
type Targets struct {
	Year      int         `json:"year"`
	Scope     Scope       `json:"scope"`
	Elapsed   float64     `json:"elapsed"` // the part of the year passed, 0–1
	Schools   []TargetRow `json:"schools"` // every school with a target above 0
	Behind    []TargetRow `json:"behind"`  // those below the pace
	Imbalance Imbalance   `json:"imbalance"`
}

// Targets measures the schools of a place against their targets for year,
// from 1 January to now (or the year's end), and the imbalance between
// them over that time.
func (s *Service) Targets(ctx context.Context, year int, sc Scope) (Targets, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return Targets{}, err
	}
	defer release()
	yp, err := PeriodOf(Year, time.Date(year, 6, 1, 0, 0, 0, 0, storage.Zone), s.p.Terms)
	if err != nil {
		return Targets{}, err
	}
	now := s.p.Now()
	elapsed := yp.Elapsed(now)
	weeksLeft := 0.0
	if now.Before(yp.End) {
		weeksLeft = yp.End.Sub(maxTime(now, yp.Start)).Hours() / (24 * 7)
	}
	out := Targets{Year: year, Scope: sc, Elapsed: elapsed, Schools: []TargetRow{}, Behind: []TargetRow{}}
	schools, err := s.schoolsOf(ctx, sc)
	if err != nil {
		return out, err
	}
	c := newComputer(s.p.Store, sc.place)
	byKey := map[string]Values{}
	for _, ti := range targetIndicators {
		in, _ := Lookup(ti.key)
		v, err := c.compute(ctx, in, yp, storage.DimSchool)
		if err != nil {
			return out, err
		}
		byKey[ti.key] = v
	}
	ids := make([]storage.SchoolID, len(schools))
	for i, sch := range schools {
		ids[i] = sch.ID
	}
	ts, err := s.p.Store.ListTargets(ctx, year, ids)
	if err != nil {
		return out, err
	}
	tByID := map[storage.SchoolID]storage.Target{}
	for _, t := range ts {
		tByID[t.SchoolID] = t
	}
	for _, sch := range schools {
		t, ok := tByID[sch.ID]
		if !ok || !hasTarget(t) {
			continue // every target 0: the school has none
		}
		k := fmt.Sprint(int64(sch.ID))
		row := TargetRow{SchoolID: sch.ID, SchoolName: sch.Name, Year: year}
		for _, ti := range targetIndicators {
			it := targetItem(ti.key, float64(ti.target(t)), val0(byKey[ti.key][k]), elapsed, weeksLeft)
			row.Items = append(row.Items, it)
			row.Behind = row.Behind || it.Behind
		}
		out.Schools = append(out.Schools, row)
		if row.Behind {
			out.Behind = append(out.Behind, row)
		}
	}
	out.Imbalance, err = s.imbalance(ctx, c, yp, schools)
	return out, err
}

// imbalance compares the schools' lessons over p: the Gini coefficient of
// lessons per teacher (schools with teachers) and the top tenth's share.
func (s *Service) imbalance(ctx context.Context, c *computer, p Period, schools []storage.School) (Imbalance, error) {
	lessons, err := c.fact(ctx, "recording.lessons", p, storage.DimSchool)
	if err != nil {
		return Imbalance{}, err
	}
	teachers, err := c.fact(ctx, "users.teachers", p, storage.DimSchool)
	if err != nil {
		return Imbalance{}, err
	}
	var perTeacher, all []float64
	for _, sch := range schools {
		k := fmt.Sprint(int64(sch.ID))
		l := lessons[k].Value
		all = append(all, l)
		if t := teachers[k].Value; t > 0 {
			perTeacher = append(perTeacher, l/t)
		}
	}
	return Imbalance{Schools: len(perTeacher), GiniLessonsPerTeacher: Gini(perTeacher), TopTenthShare: TopShare(all, 0.1)}, nil
}

func val0(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
