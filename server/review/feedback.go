package review

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"

	"yunke/server/httpapi"
	"yunke/storage"
)

// NoteView is a note of a review on the teacher's lesson, for the timeline.
type NoteView struct {
	ReviewID storage.AssignmentID `json:"review_id"`
	storage.ReviewNote
}

// Suggestion is a quality lesson to watch: another teacher's lesson of the
// district that scored high on criteria where this one is below threshold.
// Lessons of the shared library come first: the teacher can watch them.
type Suggestion struct {
	Target string `json:"target"`
	// LibraryID is the lesson's id in the shared library (0: not in it).
	LibraryID storage.LibraryLessonID `json:"library_id,omitempty"`
	Title     string                  `json:"title"`
	Teacher   string                  `json:"teacher_name"`
	Criteria  []string                `json:"criteria"` // the weak criteria it scored high on
	// Score is its mean normalized score on those criteria (0..1).
	Score float64 `json:"score"`
}

// FeedbackItem is one of the teacher's lessons with its submitted reviews.
type FeedbackItem struct {
	Target      Target             `json:"target"`
	Reflection  storage.Reflection `json:"reflection"`
	Reviews     []storage.Review   `json:"reviews"`
	Aggregates  []Aggregate        `json:"aggregates"`
	Notes       []NoteView         `json:"notes"`
	Below       []CriterionStats   `json:"below_threshold"`
	Suggestions []Suggestion       `json:"suggestions"`
}

// Feedback is what a teacher's home shows of the reviews of their lessons.
type Feedback struct {
	// New counts the reviews submitted since the teacher last marked their feedback seen.
	New   int            `json:"new"`
	Items []FeedbackItem `json:"items"`
}

// maxSuggestions bounds the quality lessons suggested for one lesson.
const maxSuggestions = 5

func (s *Service) handleFeedback(w http.ResponseWriter, r *http.Request) error {
	u := me(r)
	ctx := r.Context()
	seen, err := s.p.Store.FeedbackSeen(ctx, u.ID)
	if err != nil {
		return err
	}
	own, err := s.p.Store.ListReviews(ctx, storage.AssignmentFilter{TeacherID: u.ID, Status: storage.AssignmentSubmitted})
	if err != nil {
		return err
	}
	fb := Feedback{Items: []FeedbackItem{}}
	byTarget := map[string][]storage.Review{}
	var order []string
	for _, rv := range own {
		if rv.CalibrationID != 0 {
			continue
		}
		if rv.SubmittedAt.After(seen) {
			fb.New++
		}
		if _, ok := byTarget[rv.Target]; !ok {
			order = append(order, rv.Target)
		}
		byTarget[rv.Target] = append(byTarget[rv.Target], rv)
	}
	if len(order) == 0 {
		httpapi.WriteJSON(w, http.StatusOK, fb)
		return nil
	}
	schemes := map[storage.SchemeID]storage.Scheme{}
	scheme := func(id storage.SchemeID) (storage.Scheme, error) {
		if sc, ok := schemes[id]; ok {
			return sc, nil
		}
		sc, err := s.p.Store.GetScheme(ctx, id)
		schemes[id] = sc
		return sc, err
	}
	// Others' lessons of the district, summed up per target and scheme: the pool of suggestions.
	pool, err := s.p.Store.ListReviews(ctx, storage.AssignmentFilter{DistrictID: u.DistrictID, Status: storage.AssignmentSubmitted})
	if err != nil {
		return err
	}
	others := map[aggKey][]storage.Review{}
	for _, rv := range pool {
		if rv.TeacherID != u.ID && rv.CalibrationID == 0 && u.DistrictID != 0 {
			k := aggKey{rv.Target, rv.SchemeID}
			others[k] = append(others[k], rv)
		}
	}
	lib := map[string]storage.LibraryLessonID{}
	if u.DistrictID != 0 {
		byRec, err := s.p.Store.LibraryRecordings(ctx, u.DistrictID)
		if err != nil {
			return err
		}
		for rec, id := range byRec {
			lib[storage.TargetRecording+":"+strconv.FormatInt(int64(rec), 10)] = id
		}
	}
	otherAgg := map[aggKey]Aggregate{}
	for k, rvs := range others {
		sc, err := scheme(k.scheme)
		if err != nil {
			return err
		}
		otherAgg[k] = aggregate(sc, rvs)
	}
	for _, tg := range order {
		t, err := s.target(ctx, tg)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return err
		}
		it := FeedbackItem{Target: t, Reviews: []storage.Review{}, Aggregates: []Aggregate{}, Notes: []NoteView{},
			Below: []CriterionStats{}, Suggestions: []Suggestion{}}
		if it.Reflection, err = s.p.Store.GetReflection(ctx, tg); err != nil {
			return err
		}
		perScheme := map[storage.SchemeID][]storage.Review{}
		var schemeOrder []storage.SchemeID
		for _, rv := range byTarget[tg] {
			rv = anonymous(rv)
			it.Reviews = append(it.Reviews, rv)
			for _, n := range rv.Body.Notes {
				it.Notes = append(it.Notes, NoteView{ReviewID: rv.ID, ReviewNote: n})
			}
			if _, ok := perScheme[rv.SchemeID]; !ok {
				schemeOrder = append(schemeOrder, rv.SchemeID)
			}
			perScheme[rv.SchemeID] = append(perScheme[rv.SchemeID], rv)
		}
		slices.SortStableFunc(it.Notes, func(a, b NoteView) int { return cmp.Compare(a.StartMS, b.StartMS) })
		weak := map[string]bool{}
		for _, id := range schemeOrder {
			sc, err := scheme(id)
			if err != nil {
				return err
			}
			ag := aggregate(sc, perScheme[id])
			it.Aggregates = append(it.Aggregates, ag)
			for _, c := range ag.Criteria {
				if c.Below {
					it.Below = append(it.Below, c)
					weak[c.Code] = true
				}
			}
		}
		if it.Suggestions, err = s.suggest(ctx, weak, otherAgg, lib, tg); err != nil {
			return err
		}
		fb.Items = append(fb.Items, it)
	}
	httpapi.WriteJSON(w, http.StatusOK, fb)
	return nil
}

// suggest picks other lessons whose mean normalized score reaches HighMark
// on the weak criteria: lessons of the shared library (lib) first, then
// those covering the most weak criteria, then the highest scoring.
func (s *Service) suggest(ctx context.Context, weak map[string]bool, others map[aggKey]Aggregate, lib map[string]storage.LibraryLessonID, self string) ([]Suggestion, error) {
	out := []Suggestion{}
	if len(weak) == 0 {
		return out, nil
	}
	best := map[string]Suggestion{}
	for k, ag := range others {
		if k.target == self {
			continue
		}
		var codes []string
		var sum float64
		for _, c := range ag.Criteria {
			if weak[c.Code] && c.N > 0 && c.Normalized >= s.p.HighMark {
				codes = append(codes, c.Code)
				sum += c.Normalized
			}
		}
		if len(codes) == 0 {
			continue
		}
		sg := Suggestion{Target: k.target, LibraryID: lib[k.target], Criteria: codes, Score: sum / float64(len(codes))}
		if cur, ok := best[k.target]; !ok || len(codes) > len(cur.Criteria) || (len(codes) == len(cur.Criteria) && sg.Score > cur.Score) {
			best[k.target] = sg
		}
	}
	for _, sg := range best {
		out = append(out, sg)
	}
	slices.SortFunc(out, func(a, b Suggestion) int {
		if (a.LibraryID != 0) != (b.LibraryID != 0) {
			if a.LibraryID != 0 {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(len(b.Criteria), len(a.Criteria)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Target, b.Target)
	})
	if len(out) > maxSuggestions {
		out = out[:maxSuggestions]
	}
	for i := range out {
		t, err := s.target(ctx, out[i].Target)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		out[i].Title, out[i].Teacher = t.Title, t.Teacher
	}
	return out, nil
}

// aggKey is one target under one scheme.
type aggKey struct {
	target string
	scheme storage.SchemeID
}

func (s *Service) handleFeedbackSeen(w http.ResponseWriter, r *http.Request) error {
	if err := s.p.Store.SetFeedbackSeen(r.Context(), me(r).ID, s.p.Now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
