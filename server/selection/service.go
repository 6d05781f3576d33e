// Package selection runs quality-lesson selection (优质课评选) and the
// shared library (精品课). A district's selection round has a scope (the
// district, optionally one subject and grade), an evaluation scheme, its
// experts, a per-school quota and two deadlines; school administrators
// nominate recordings of their school, each nomination assigning the
// round's experts through lesson review (the assignments carry the review
// round "selection-<id>"); the shortlist ranks the entries by their mean
// weighted total; the district selects and publishes them to the library.
//
// The students in a class are minors: outside its school a library lesson
// is played in its teacher-only version — only the teacher's own camera,
// microphone and screen-share tracks — unless the school has recorded its
// consent, or the viewer may read the recording itself. The library's
// track list and media route enforce that; the library offers no download.
//
// The district's administrators withdraw a lesson (with a reason, kept and
// audited): it leaves the listing and its play routes at once; they may
// publish it again.
package selection

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"yunke/server/stats"
	"yunke/storage"
)

// Store is what selection and the library need of durable storage.
type Store interface {
	CreateSelectionRound(ctx context.Context, a storage.Actor, r storage.SelectionRound) (storage.SelectionRound, error)
	GetSelectionRound(ctx context.Context, id storage.SelectionRoundID) (storage.SelectionRound, error)
	ListSelectionRounds(ctx context.Context, district storage.DistrictID) ([]storage.SelectionRound, error)
	Nominate(ctx context.Context, a storage.Actor, round storage.SelectionRound, rec storage.Recording, assign []storage.AssignmentInput) (storage.SelectionEntry, error)
	ListSelectionEntries(ctx context.Context, round storage.SelectionRoundID) ([]storage.SelectionEntry, error)
	WithdrawEntry(ctx context.Context, a storage.Actor, round storage.SelectionRound, id storage.SelectionEntryID) error
	SetSelection(ctx context.Context, a storage.Actor, round storage.SelectionRound, selected []storage.SelectionEntryID) error
	PublishRound(ctx context.Context, a storage.Actor, round storage.SelectionRound, lessons []storage.LibraryLesson) ([]storage.LibraryLessonID, error)
	GetLibraryLesson(ctx context.Context, id storage.LibraryLessonID) (storage.LibraryLesson, error)
	ListLibrary(ctx context.Context, f storage.LibraryFilter) ([]storage.LibraryLesson, int, error)
	WithdrawLesson(ctx context.Context, a storage.Actor, id storage.LibraryLessonID, reason string) (storage.LibraryLesson, error)
	RepublishLesson(ctx context.Context, a storage.Actor, id storage.LibraryLessonID) (storage.LibraryLesson, error)
	CountPlay(ctx context.Context, a storage.Actor, l storage.LibraryLesson, viewer storage.UserID, at time.Time) (bool, int64, error)
	GetSchoolConsent(ctx context.Context, school storage.SchoolID) (storage.SchoolConsent, error)
	SetSchoolConsent(ctx context.Context, a storage.Actor, district storage.DistrictID, c storage.SchoolConsent) (storage.SchoolConsent, error)

	GetScheme(ctx context.Context, id storage.SchemeID) (storage.Scheme, error)
	ListAssignments(ctx context.Context, f storage.AssignmentFilter) ([]storage.Assignment, error)
	GetRecording(ctx context.Context, id storage.RecordingID) (storage.Recording, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
}

// Media serves one track's file of a recording (the recording domain does).
type Media interface {
	ServeTrack(w http.ResponseWriter, r *http.Request, rec storage.Recording, t storage.RecordingTrack) error
}

// Params configures the service.
type Params struct {
	Store  Store
	Media  Media
	Logger *slog.Logger
	Now    func() time.Time
}

// Service runs selection rounds and the library.
type Service struct {
	p Params
}

// New builds the service.
func New(p Params) *Service {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	return &Service{p: p}
}

// Ranked is an entry of a round with its reviews summed up: the shortlist.
type Ranked struct {
	storage.SelectionEntry
	Rank      int     `json:"rank"`      // 1 = best; 0: no submitted review yet
	Assigned  int     `json:"assigned"`  // assignments of the round on it
	Reviews   int     `json:"reviews"`   // submitted reviews
	Mean      float64 `json:"mean"`      // mean weighted total of the submitted reviews
	Median    float64 `json:"median"`    // their median
	Overdue   int     `json:"overdue"`   // assignments past the review deadline, not submitted
	Submitted bool    `json:"submitted"` // every assignment submitted
}

// Shortlist ranks a round's entries by the mean weighted total of their
// submitted reviews in the round; ties go to the higher median, then to
// the entry with more reviews, then to the earlier nomination. Entries
// without a submitted review come last, unranked.
func Shortlist(entries []storage.SelectionEntry, xs []storage.Assignment, now time.Time) []Ranked {
	byTarget := map[string][]storage.Assignment{}
	for _, x := range xs {
		byTarget[x.Target] = append(byTarget[x.Target], x)
	}
	out := make([]Ranked, 0, len(entries))
	for _, e := range entries {
		rk := Ranked{SelectionEntry: e}
		var totals []float64
		for _, x := range byTarget[target(e.RecordingID)] {
			rk.Assigned++
			if x.Status == storage.AssignmentSubmitted {
				totals = append(totals, x.Total)
			} else if !x.DueAt.IsZero() && now.After(x.DueAt) {
				rk.Overdue++
			}
		}
		rk.Reviews = len(totals)
		rk.Mean, rk.Median = round2(stats.Mean(totals)), round2(stats.Median(totals))
		rk.Submitted = rk.Assigned > 0 && rk.Reviews == rk.Assigned
		out = append(out, rk)
	}
	slices.SortStableFunc(out, func(a, b Ranked) int {
		if (a.Reviews > 0) != (b.Reviews > 0) {
			if a.Reviews > 0 {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Mean, a.Mean); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Median, a.Median); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Reviews, a.Reviews); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for i := range out {
		if out[i].Reviews > 0 {
			out[i].Rank = i + 1
		}
	}
	return out
}

func target(id storage.RecordingID) string { return storage.TargetRecording + ":" + itoa(int64(id)) }

func round2(x float64) float64 { return math.Round(x*100) / 100 }
