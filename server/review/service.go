// Package review runs lesson review (评课): the rubric library and the
// evaluation schemes built from it, assignments of recordings and
// micro-lessons to review experts (by hand or by rule), the experts'
// reviews — per-criterion scores, notes pinned to moments of the target and
// a final comment, saved as drafts and locked on submission — their
// aggregation and inter-rater reliability, calibration against a master,
// teachers' reflections and the feedback each teacher receives.
//
// A target is "recording:<id>" or "microlesson:<id>"; it lies where its
// recording or micro-lesson is filed (district and school), and every
// route checks the caller's scope there. The formulas are in
// docs/review.md and stats.go.
package review

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"yunke/server/stats"
	"yunke/storage"
)

// Store is what lesson review needs of durable storage.
type Store interface {
	CreateRubric(ctx context.Context, a storage.Actor, in storage.RubricInput) (storage.Rubric, error)
	UpdateRubric(ctx context.Context, a storage.Actor, id storage.RubricID, in storage.RubricInput) (storage.Rubric, error)
	GetRubric(ctx context.Context, id storage.RubricID, version int) (storage.Rubric, error)
	ListRubrics(ctx context.Context, district storage.DistrictID) ([]storage.Rubric, error)
	SeedRubric(ctx context.Context, in storage.RubricInput) (bool, error)
	CreateScheme(ctx context.Context, a storage.Actor, sc storage.Scheme) (storage.Scheme, error)
	GetScheme(ctx context.Context, id storage.SchemeID) (storage.Scheme, error)
	ListSchemes(ctx context.Context, district storage.DistrictID) ([]storage.Scheme, error)
	CreateAssignments(ctx context.Context, a storage.Actor, ins []storage.AssignmentInput) ([]storage.Assignment, error)
	GetAssignment(ctx context.Context, id storage.AssignmentID) (storage.Assignment, error)
	DeleteAssignment(ctx context.Context, a storage.Actor, id storage.AssignmentID) error
	ListAssignments(ctx context.Context, f storage.AssignmentFilter) ([]storage.Assignment, error)
	SaveReviewDraft(ctx context.Context, id storage.AssignmentID, b storage.ReviewBody) (storage.Review, error)
	SubmitReview(ctx context.Context, a storage.Actor, id storage.AssignmentID, b storage.ReviewBody, total float64) (storage.Review, error)
	RateReview(ctx context.Context, a storage.Actor, id storage.AssignmentID, score int) (storage.Review, error)
	ReopenReview(ctx context.Context, a storage.Actor, id storage.AssignmentID, reason string) (storage.Review, error)
	LibraryRecordings(ctx context.Context, district storage.DistrictID) (map[storage.RecordingID]storage.LibraryLessonID, error)
	GetReview(ctx context.Context, id storage.AssignmentID) (storage.Review, error)
	ListReviews(ctx context.Context, f storage.AssignmentFilter) ([]storage.Review, error)
	CreateCalibration(ctx context.Context, a storage.Actor, c storage.Calibration) (storage.Calibration, error)
	GetCalibration(ctx context.Context, id storage.CalibrationID) (storage.Calibration, error)
	ListCalibrations(ctx context.Context, district storage.DistrictID, ids []storage.CalibrationID, limit int) ([]storage.Calibration, error)
	SaveCalibrationResult(ctx context.Context, r storage.CalibrationResult) error
	CalibrationResults(ctx context.Context, cal storage.CalibrationID, expert storage.UserID) ([]storage.CalibrationResult, error)
	SetReflection(ctx context.Context, a storage.Actor, r storage.Reflection, district storage.DistrictID, school storage.SchoolID) (storage.Reflection, error)
	GetReflection(ctx context.Context, target string) (storage.Reflection, error)
	FeedbackSeen(ctx context.Context, user storage.UserID) (time.Time, error)
	SetFeedbackSeen(ctx context.Context, user storage.UserID, t time.Time) error

	GetRecording(ctx context.Context, id storage.RecordingID) (storage.Recording, error)
	GetMicrolesson(ctx context.Context, id storage.MicrolessonID) (storage.Microlesson, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	ListUsers(ctx context.Context, f storage.UserFilter) ([]storage.User, int, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
}

var _ Store = (*storage.Store)(nil)

// Params configure a Service. Zero values take the defaults.
type Params struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// PassAgreement is the calibration pass mark, in percent (default 80).
	PassAgreement float64
	// HighMark is the normalized mean from which a criterion counts as
	// scored high when suggesting quality lessons (default 0.85).
	HighMark float64
	// FlagPoints is how far (in total points, 0..100) an expert's mean
	// deviation from the other experts may go before it is flagged (default 15).
	FlagPoints float64
	// Limiter bounds each expert's draft saves: at most DraftSaves
	// (default 60) in DraftWindow (default a minute); nil for no bound.
	Limiter     Limiter
	DraftSaves  int
	DraftWindow time.Duration
}

// Limiter counts a user's actions of one kind in fixed windows; the Q&A
// centre's memory and Redis limiters serve.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Service is lesson review.
type Service struct{ p Params }

// New builds a Service.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.Logger = p.Logger.With("domain", "review")
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.PassAgreement <= 0 {
		p.PassAgreement = 80
	}
	if p.HighMark <= 0 {
		p.HighMark = 0.85
	}
	if p.FlagPoints <= 0 {
		p.FlagPoints = 15
	}
	if p.DraftSaves <= 0 {
		p.DraftSaves = 60
	}
	if p.DraftWindow <= 0 {
		p.DraftWindow = time.Minute
	}
	return &Service{p: p}
}

//go:embed defaults.json
var defaultsJSON []byte

// Defaults are the rubrics shipped with Yunke, installation-wide.
func Defaults() ([]storage.RubricInput, error) {
	var rs []struct {
		Code    string             `json:"code"`
		Name    string             `json:"name"`
		Purpose string             `json:"purpose"`
		Body    storage.RubricBody `json:"body"`
	}
	if err := json.Unmarshal(defaultsJSON, &rs); err != nil {
		return nil, fmt.Errorf("review: default rubrics: %w", err)
	}
	out := make([]storage.RubricInput, 0, len(rs))
	for _, r := range rs {
		out = append(out, storage.RubricInput{Code: r.Code, Name: r.Name, Purpose: r.Purpose, Body: r.Body})
	}
	return out, nil
}

// SeedDefaults adds the shipped rubrics installation-wide where missing
// (an administrator's edits, new versions of them, are kept).
func (s *Service) SeedDefaults(ctx context.Context) error {
	ds, err := Defaults()
	if err != nil {
		return err
	}
	for _, d := range ds {
		created, err := s.p.Store.SeedRubric(ctx, d)
		if err != nil {
			return fmt.Errorf("review: seed rubric %s: %w", d.Code, err)
		}
		if created {
			s.p.Logger.Info("default rubric added", "code", d.Code)
		}
	}
	return nil
}

// Target is what a review points at, as the API shows it.
type Target struct {
	Target     string             `json:"target"`
	Kind       string             `json:"kind"`
	ID         int64              `json:"id"`
	Title      string             `json:"title"`
	TeacherID  storage.UserID     `json:"teacher_id"`
	Teacher    string             `json:"teacher_name"`
	DistrictID storage.DistrictID `json:"district_id"`
	SchoolID   storage.SchoolID   `json:"school_id"`
	SchoolName string             `json:"school_name"`
	SubjectID  storage.SubjectID  `json:"subject_id"`
	Grade      int                `json:"grade"`
	DurationMS int64              `json:"duration_ms"`
	TrackIDs   []int64            `json:"track_ids,omitempty"`
}

// errBadTarget is a target string that names nothing reviewable.
var errBadTarget = &storage.FieldError{Field: "target", Message: "must be recording:<id> or microlesson:<id>"}

// target resolves a target string; one that does not exist (or a deleted
// recording) is ErrNotFound.
func (s *Service) target(ctx context.Context, t string) (Target, error) {
	kind, id, ok := storage.ParseTarget(t)
	if !ok {
		return Target{}, errBadTarget
	}
	switch kind {
	case storage.TargetRecording:
		r, err := s.p.Store.GetRecording(ctx, storage.RecordingID(id))
		if err != nil {
			return Target{}, err
		}
		if r.Status == storage.RecordingDeleted {
			return Target{}, fmt.Errorf("review: %s: %w", t, storage.ErrNotFound)
		}
		out := Target{Target: t, Kind: kind, ID: id, Title: r.Title, TeacherID: r.TeacherID, Teacher: r.TeacherName,
			DistrictID: r.DistrictID, SchoolID: r.SchoolID, SchoolName: r.SchoolName, SubjectID: r.SubjectID, Grade: r.Grade,
			DurationMS: r.DurationMS}
		for _, tr := range r.Tracks {
			out.TrackIDs = append(out.TrackIDs, int64(tr.ID))
		}
		return out, nil
	default:
		m, err := s.p.Store.GetMicrolesson(ctx, storage.MicrolessonID(id))
		if err != nil {
			return Target{}, err
		}
		if m.Status == storage.MicrolessonDeleted {
			return Target{}, fmt.Errorf("review: %s: %w", t, storage.ErrNotFound)
		}
		return Target{Target: t, Kind: kind, ID: id, Title: m.Title, TeacherID: m.TeacherID, Teacher: m.TeacherName,
			DistrictID: m.DistrictID, SchoolID: m.SchoolID, SchoolName: m.SchoolName, SubjectID: m.SubjectID, Grade: m.Grade,
			DurationMS: m.DurationMS}, nil
	}
}

// checkBody validates a review body against its scheme and target: known
// criteria scored on their scales, notes within the target's length, on
// one of its tracks and about one of the scheme's criteria.
func checkBody(sc storage.Scheme, t Target, b *storage.ReviewBody) error {
	seen := map[string]bool{}
	for _, s := range b.Scores {
		c, ok := sc.Criterion(s.Criterion)
		if !ok {
			return &storage.FieldError{Field: "scores", Message: "no criterion " + s.Criterion + " in this scheme"}
		}
		if seen[s.Criterion] {
			return &storage.FieldError{Field: "scores", Message: "criterion " + s.Criterion + " scored twice"}
		}
		seen[s.Criterion] = true
		if _, ok := c.Scale.Normalize(s.Value); !ok {
			return &storage.FieldError{Field: "scores", Message: "criterion " + s.Criterion + ": the score is not on its scale"}
		}
	}
	for _, n := range b.Notes {
		if n.Criterion != "" {
			if _, ok := sc.Criterion(n.Criterion); !ok {
				return &storage.FieldError{Field: "notes", Message: "no criterion " + n.Criterion + " in this scheme"}
			}
		}
		if t.DurationMS > 0 && (n.StartMS > t.DurationMS || n.EndMS > t.DurationMS) {
			return &storage.FieldError{Field: "notes", Message: "a note lies beyond the end of the lesson"}
		}
		if n.TrackID != 0 && !slices.Contains(t.TrackIDs, n.TrackID) {
			return &storage.FieldError{Field: "notes", Message: "no such track in this recording"}
		}
	}
	return nil
}

// complete reports whether every criterion of the scheme is scored.
func complete(sc storage.Scheme, b storage.ReviewBody) bool {
	for _, c := range sc.Criteria {
		if !slices.ContainsFunc(b.Scores, func(s storage.ReviewScore) bool { return s.Criterion == c.Code }) {
			return false
		}
	}
	return true
}

// incomplete is a submission with criteria left unscored (400 incomplete).
type incomplete struct{}

func (incomplete) Error() string   { return "score every criterion of the scheme before submitting" }
func (incomplete) HTTPStatus() int { return 400 }
func (incomplete) Code() string    { return "incomplete" }

// Submit locks a review with its weighted total; a calibration assignment
// also keeps the expert's agreement with the master.
func (s *Service) Submit(ctx context.Context, a storage.Actor, x storage.Assignment, sc storage.Scheme, t Target, b storage.ReviewBody) (storage.Review, *storage.CalibrationResult, error) {
	if err := checkBody(sc, t, &b); err != nil {
		return storage.Review{}, nil, err
	}
	if !complete(sc, b) {
		return storage.Review{}, nil, incomplete{}
	}
	total, ok := WeightedTotal(sc, b.Scores)
	if !ok {
		return storage.Review{}, nil, &storage.FieldError{Field: "scores", Message: "cannot be totalled"}
	}
	rv, err := s.p.Store.SubmitReview(ctx, a, x.ID, b, total)
	if err != nil {
		return rv, nil, err
	}
	if x.CalibrationID == 0 {
		return rv, nil, nil
	}
	cal, err := s.p.Store.GetCalibration(ctx, x.CalibrationID)
	if err != nil {
		return rv, nil, err
	}
	agree := Agreement(sc, cal.Master, b.Scores)
	res := storage.CalibrationResult{CalibrationID: cal.ID, ExpertID: x.ExpertID, ExpertName: x.ExpertName, Agreement: agree,
		Passed: agree >= s.p.PassAgreement, At: s.p.Now()}
	if err := s.p.Store.SaveCalibrationResult(ctx, res); err != nil {
		return rv, nil, err
	}
	s.p.Logger.Info("calibration scored", "calibration", cal.ID, "expert", x.ExpertID, "agreement", agree)
	return rv, &res, nil
}

// CriterionStats is one criterion's scores across a target's reviews.
type CriterionStats struct {
	Code   string  `json:"code"`
	Name   string  `json:"name"`
	Domain string  `json:"domain"`
	Kind   string  `json:"kind"`
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	SD     float64 `json:"sd"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Normalized is the mean of the normalized scores (0..1).
	Normalized float64 `json:"normalized"`
	Below      bool    `json:"below_threshold"`
}

// Aggregate is a target's submitted reviews under one scheme, summed up.
type Aggregate struct {
	SchemeID    storage.SchemeID `json:"scheme_id"`
	SchemeName  string           `json:"scheme_name"`
	Reviews     int              `json:"reviews"`
	TotalMean   float64          `json:"total_mean"`
	TotalMedian float64          `json:"total_median"`
	TotalSD     float64          `json:"total_sd"`
	Criteria    []CriterionStats `json:"criteria"`
}

// aggregate sums up submitted reviews (all of one scheme and one target).
func aggregate(sc storage.Scheme, rvs []storage.Review) Aggregate {
	ag := Aggregate{SchemeID: sc.ID, SchemeName: sc.Name, Criteria: []CriterionStats{}}
	var totals []float64
	for _, rv := range rvs {
		if rv.Status == storage.AssignmentSubmitted {
			totals = append(totals, rv.Total)
		}
	}
	ag.Reviews = len(totals)
	ag.TotalMean, ag.TotalMedian, ag.TotalSD = stats.Mean(totals), stats.Median(totals), stats.SD(totals)
	for _, c := range sc.Criteria {
		var vs, ns []float64
		for _, rv := range rvs {
			if rv.Status != storage.AssignmentSubmitted {
				continue
			}
			for _, s := range rv.Body.Scores {
				if s.Criterion == c.Code {
					vs = append(vs, s.Value)
					n, _ := c.Scale.Normalize(s.Value)
					ns = append(ns, n)
				}
			}
		}
		cs := CriterionStats{Code: c.Code, Name: c.Name, Domain: c.Domain, Kind: c.Scale.Kind, N: len(vs),
			Mean: stats.Mean(vs), Median: stats.Median(vs), SD: stats.SD(vs), Normalized: stats.Mean(ns)}
		if len(vs) > 0 {
			cs.Min, cs.Max = slices.Min(vs), slices.Max(vs)
			cs.Below = cs.Normalized < sc.Threshold
		}
		ag.Criteria = append(ag.Criteria, cs)
	}
	return ag
}

// Reliability is how far a scheme's experts agree in one round.
type Reliability struct {
	SchemeID storage.SchemeID `json:"scheme_id"`
	Round    string           `json:"round"`
	Reviews  int              `json:"reviews"`
	// Total is ICC(2,1) of the weighted totals over the targets every
	// rater kept scored (null when it cannot be computed).
	Total    *Coefficient           `json:"total"`
	Criteria []CriterionReliability `json:"criteria"`
	Experts  []ExpertDeviation      `json:"experts"`
}

// Coefficient is one reliability coefficient and what it was computed on.
type Coefficient struct {
	Method  string  `json:"method"` // icc21, alpha_ordinal
	Value   float64 `json:"value"`
	Targets int     `json:"targets"`
	Raters  int     `json:"raters"`
}

// CriterionReliability is one criterion's coefficient: ICC(2,1) for a
// numeric criterion, Krippendorff's ordinal alpha for levels.
type CriterionReliability struct {
	Code        string       `json:"code"`
	Kind        string       `json:"kind"`
	Coefficient *Coefficient `json:"coefficient"`
	// Kappa is Cohen's quadratic-weighted kappa, for a levels criterion
	// scored by exactly two experts (on the targets both scored).
	Kappa *Coefficient `json:"kappa,omitempty"`
}

// ExpertDeviation is how far an expert's totals sit from the others' on
// the same targets.
type ExpertDeviation struct {
	ExpertID storage.UserID `json:"expert_id"`
	Name     string         `json:"name"`
	Reviews  int            `json:"reviews"`
	Shared   int            `json:"shared"` // targets also scored by others
	// MeanDeviation is the mean of (own total − the others' mean total).
	MeanDeviation float64 `json:"mean_deviation"`
	Flagged       bool    `json:"flagged"`
}

// reliability computes a scheme's reliability from its submitted reviews
// of one round.
func (s *Service) reliability(sc storage.Scheme, round string, rvs []storage.Review) Reliability {
	out := Reliability{SchemeID: sc.ID, Round: round, Criteria: []CriterionReliability{}, Experts: []ExpertDeviation{}}
	// by[target][expert] = review
	by := map[string]map[storage.UserID]storage.Review{}
	names := map[storage.UserID]string{}
	for _, rv := range rvs {
		if rv.Status != storage.AssignmentSubmitted {
			continue
		}
		out.Reviews++
		if by[rv.Target] == nil {
			by[rv.Target] = map[storage.UserID]storage.Review{}
		}
		by[rv.Target][rv.ExpertID] = rv
		names[rv.ExpertID] = rv.ExpertName
	}
	value := func(rv storage.Review, code string) (float64, bool) {
		if code == "" {
			return rv.Total, true
		}
		for _, s := range rv.Body.Scores {
			if s.Criterion == code {
				return s.Value, true
			}
		}
		return 0, false
	}
	out.Total = iccOf(by, func(rv storage.Review) (float64, bool) { return value(rv, "") })
	for _, c := range sc.Criteria {
		cr := CriterionReliability{Code: c.Code, Kind: c.Scale.Kind}
		get := func(rv storage.Review) (float64, bool) { return value(rv, c.Code) }
		if c.Scale.Kind == storage.ScaleNumeric {
			cr.Coefficient = iccOf(by, get)
		} else {
			var units [][]float64
			raters := map[storage.UserID]bool{}
			for _, m := range by {
				var u []float64
				for e, rv := range m {
					if v, ok := get(rv); ok {
						u = append(u, v)
						raters[e] = true
					}
				}
				units = append(units, u)
			}
			if a, ok := Alpha(units, Ordinal); ok {
				n := 0
				for _, u := range units {
					if len(u) >= 2 {
						n++
					}
				}
				cr.Coefficient = &Coefficient{Method: "alpha_ordinal", Value: a, Targets: n, Raters: len(raters)}
			}
			if len(raters) == 2 {
				cr.Kappa = kappaOf(by, get, len(c.Scale.Levels))
			}
		}
		out.Criteria = append(out.Criteria, cr)
	}
	devs := map[storage.UserID]*ExpertDeviation{}
	for _, m := range by {
		for e, rv := range m {
			d := devs[e]
			if d == nil {
				d = &ExpertDeviation{ExpertID: e, Name: names[e]}
				devs[e] = d
			}
			d.Reviews++
			var others []float64
			for o, orv := range m {
				if o != e {
					others = append(others, orv.Total)
				}
			}
			if len(others) > 0 {
				d.Shared++
				d.MeanDeviation += rv.Total - stats.Mean(others)
			}
		}
	}
	for _, d := range devs {
		if d.Shared > 0 {
			d.MeanDeviation /= float64(d.Shared)
			d.Flagged = d.MeanDeviation > s.p.FlagPoints || d.MeanDeviation < -s.p.FlagPoints
		}
		out.Experts = append(out.Experts, *d)
	}
	slices.SortFunc(out.Experts, func(a, b ExpertDeviation) int { return int(a.ExpertID - b.ExpertID) })
	return out
}

// kappaOf is the weighted kappa of the two raters of by, on the targets both scored.
func kappaOf(by map[string]map[storage.UserID]storage.Review, get func(storage.Review) (float64, bool), levels int) *Coefficient {
	var raters []storage.UserID
	for _, m := range by {
		for e, rv := range m {
			if _, ok := get(rv); ok && !slices.Contains(raters, e) {
				raters = append(raters, e)
			}
		}
	}
	if len(raters) != 2 {
		return nil
	}
	slices.Sort(raters)
	var a, b []int
	for _, m := range by {
		x, okx := m[raters[0]]
		y, oky := m[raters[1]]
		if !okx || !oky {
			continue
		}
		vx, ok1 := get(x)
		vy, ok2 := get(y)
		if ok1 && ok2 {
			a, b = append(a, int(vx)), append(b, int(vy))
		}
	}
	k, ok := WeightedKappa(a, b, levels)
	if !ok {
		return nil
	}
	return &Coefficient{Method: "kappa_quadratic", Value: k, Targets: len(a), Raters: 2}
}

// iccOf builds the largest complete targets × raters matrix it can —
// dropping the rater with the fewest scores until at least two targets are
// scored by every remaining rater — and computes ICC(2,1) on it.
func iccOf(by map[string]map[storage.UserID]storage.Review, get func(storage.Review) (float64, bool)) *Coefficient {
	vals := map[string]map[storage.UserID]float64{}
	count := map[storage.UserID]int{}
	for t, m := range by {
		for e, rv := range m {
			if v, ok := get(rv); ok {
				if vals[t] == nil {
					vals[t] = map[storage.UserID]float64{}
				}
				vals[t][e] = v
				count[e]++
			}
		}
	}
	raters := make([]storage.UserID, 0, len(count))
	for e := range count {
		raters = append(raters, e)
	}
	slices.Sort(raters)
	targets := make([]string, 0, len(vals))
	for t := range vals {
		targets = append(targets, t)
	}
	slices.Sort(targets)
	for len(raters) >= 2 {
		var x [][]float64
		for _, t := range targets {
			row := make([]float64, 0, len(raters))
			for _, e := range raters {
				if v, ok := vals[t][e]; ok {
					row = append(row, v)
				}
			}
			if len(row) == len(raters) {
				x = append(x, row)
			}
		}
		if len(x) >= 2 {
			if icc, ok := ICC21(x); ok {
				return &Coefficient{Method: "icc21", Value: icc, Targets: len(x), Raters: len(raters)}
			}
			return nil
		}
		fewest := 0
		for i, e := range raters {
			if count[e] < count[raters[fewest]] {
				fewest = i
			}
		}
		raters = slices.Delete(raters, fewest, fewest+1)
	}
	return nil
}

// isNotFound reports a store's not-found.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
