// Package research runs teaching research (网络教研) and same-lesson
// comparison (同课异构): research groups — a school's subject group or a
// district group — whose members (teachers and experts in the group's
// place) hold research activities on a topic, each studying a few
// recordings and discussing them in comments that may pin to a moment of a
// recording.
//
// Administrators in scope create the groups, edit them (name, description,
// subject, members) and delete them (softly, with an activity row); a
// member or such an administrator creates activities and adds recordings
// they may watch themselves that lie in the group's place; members comment;
// a comment's author or an administrator deletes it (softly, with an
// activity row). A member watches the recordings of their groups'
// activities (the recording domain asks MayWatch). Everything else — a
// group or activity of another school or district, or of a group one is no
// member of — answers 404, so ids say nothing. docs/research.md has the
// rules, docs/authorization.md the table.
package research

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Store is what teaching research needs of durable storage.
type Store interface {
	CreateResearchGroup(ctx context.Context, a storage.Actor, in storage.ResearchGroupInput) (storage.ResearchGroup, error)
	UpdateResearchGroup(ctx context.Context, a storage.Actor, id storage.ResearchGroupID, in storage.ResearchGroupEdit) (storage.ResearchGroup, error)
	DeleteResearchGroup(ctx context.Context, a storage.Actor, id storage.ResearchGroupID) error
	SetResearchMembers(ctx context.Context, a storage.Actor, id storage.ResearchGroupID, members []storage.UserID) (storage.ResearchGroup, error)
	GetResearchGroup(ctx context.Context, id storage.ResearchGroupID) (storage.ResearchGroup, error)
	ListResearchGroups(ctx context.Context, f storage.ResearchGroupFilter) ([]storage.ResearchGroup, error)
	IsResearchMember(ctx context.Context, group storage.ResearchGroupID, user storage.UserID) (bool, error)
	ResearchGroupsWatching(ctx context.Context, user storage.UserID, rec storage.RecordingID) ([]storage.ResearchGroupID, error)
	CreateResearchActivity(ctx context.Context, a storage.Actor, in storage.ResearchActivityInput) (storage.ResearchActivity, error)
	AddResearchRecording(ctx context.Context, a storage.Actor, id storage.ResearchActivityID, rec storage.RecordingID) (storage.ResearchActivity, error)
	GetResearchActivity(ctx context.Context, id storage.ResearchActivityID) (storage.ResearchActivity, error)
	ListResearchActivities(ctx context.Context, group storage.ResearchGroupID) ([]storage.ResearchActivity, error)
	AddResearchComment(ctx context.Context, a storage.Actor, c storage.ResearchComment) (storage.ResearchComment, error)
	GetResearchComment(ctx context.Context, id storage.ResearchCommentID) (storage.ResearchComment, error)
	ListResearchComments(ctx context.Context, activity storage.ResearchActivityID, recording storage.RecordingID) ([]storage.ResearchComment, error)
	DeleteResearchComment(ctx context.Context, a storage.Actor, id storage.ResearchCommentID) error

	GetRecording(ctx context.Context, id storage.RecordingID) (storage.Recording, error)
	ListAssignments(ctx context.Context, f storage.AssignmentFilter) ([]storage.Assignment, error)
	GetScheme(ctx context.Context, id storage.SchemeID) (storage.Scheme, error)
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSubjects(ctx context.Context) ([]storage.Subject, error)
}

var _ Store = (*storage.Store)(nil)

// Limiter counts a user's comments in fixed windows (the Q&A centre's
// limiters fit: the composition root passes the same one).
type Limiter interface {
	// Allow takes one of limit places of key's current window; when none is
	// left it reports how long until the window ends.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retry time.Duration, err error)
}

// Params configure a Service. Zero values take the defaults.
type Params struct {
	Store   Store
	Limiter Limiter // nil: comments are not limited
	// MaxComments a user may post in LimitWindow (default 20 in 5 minutes).
	MaxComments int
	LimitWindow time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Service is teaching research.
type Service struct{ p Params }

// New builds a Service.
func New(p Params) *Service {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.Logger = p.Logger.With("domain", "research")
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxComments <= 0 {
		p.MaxComments = 20
	}
	if p.LimitWindow <= 0 {
		p.LimitWindow = 5 * time.Minute
	}
	return &Service{p: p}
}

// eligible reports whether u may be a member of g: an active teacher or
// expert of g's district who, for a school's group, belongs to that school
// (a teacher) or whose expert scope covers it (an expert).
func eligible(u *storage.User, g storage.ResearchGroup) bool {
	if !u.Active || u.DistrictID != g.DistrictID || !authz.Allows(u.Roles, authz.ResearchTakePart) {
		return false
	}
	if g.SchoolID == 0 {
		return true
	}
	return authz.ScopeOf(u, authz.ResearchTakePart).Covers(g.DistrictID, g.SchoolID)
}

// manages reports whether u administers g: a school admin their school's
// groups, a district admin their district's, a system admin all.
func manages(u *storage.User, g storage.ResearchGroup) bool {
	return authz.ScopeOf(u, authz.ResearchManage).Covers(g.DistrictID, g.SchoolID)
}

// role is what u is in g: "admin", "member" or "" (nothing).
func (s *Service) role(ctx context.Context, u *storage.User, g storage.ResearchGroup) (string, error) {
	if manages(u, g) {
		return "admin", nil
	}
	if !eligible(u, g) {
		return "", nil
	}
	ok, err := s.p.Store.IsResearchMember(ctx, g.ID, u.ID)
	if err != nil || !ok {
		return "", err
	}
	return "member", nil
}

// inPlace reports whether a recording lies where g studies: g's district
// and, for a school's group, g's school.
func inPlace(rec storage.Recording, g storage.ResearchGroup) bool {
	return rec.Status != storage.RecordingDeleted && rec.DistrictID == g.DistrictID && (g.SchoolID == 0 || rec.SchoolID == g.SchoolID)
}

// MayWatch reports whether u watches rec as a member of a research group
// one of whose activities studies it (and in whose place it lies).
func (s *Service) MayWatch(ctx context.Context, u *storage.User, rec storage.Recording) (bool, error) {
	gs, err := s.p.Store.ResearchGroupsWatching(ctx, u.ID, rec.ID)
	if err != nil {
		return false, err
	}
	for _, id := range gs {
		g, err := s.p.Store.GetResearchGroup(ctx, id)
		if err != nil {
			return false, err
		}
		if eligible(u, g) && inPlace(rec, g) {
			return true, nil
		}
	}
	return false, nil
}

// mayAdd reports whether u may add rec to an activity of g: u watches it
// in their own right (their own recording, or one in their recording
// scope) and it lies in g's place.
func mayAdd(u *storage.User, rec storage.Recording, g storage.ResearchGroup) bool {
	if !inPlace(rec, g) {
		return false
	}
	if rec.TeacherID == u.ID && authz.Allows(u.Roles, authz.RecordingOwn) {
		return true
	}
	return authz.ScopeOf(u, authz.RecordingRead).Covers(rec.DistrictID, rec.SchoolID)
}

// limit takes a place of the user's comment window, or answers 429 with Retry-After.
func (s *Service) limit(ctx context.Context, user storage.UserID) error {
	if s.p.Limiter == nil {
		return nil
	}
	ok, retry, err := s.p.Limiter.Allow(ctx, fmt.Sprintf("research:comment:%d", user), s.p.MaxComments, s.p.LimitWindow)
	if err != nil {
		return err
	}
	if !ok {
		return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: max(retry, time.Second),
			Message: fmt.Sprintf("at most %d comments in %s: try again later", s.p.MaxComments, s.p.LimitWindow)}
	}
	return nil
}

// Result is a recording's reviews under one scheme, as a research group
// compares them: how many were submitted and the mean weighted total.
type Result struct {
	SchemeID   storage.SchemeID `json:"scheme_id"`
	SchemeName string           `json:"scheme_name"`
	Reviews    int              `json:"reviews"`
	TotalMean  float64          `json:"total_mean"`
}

// results are the submitted (not calibration) reviews of a recording, per scheme.
func (s *Service) results(ctx context.Context, rec storage.RecordingID) ([]Result, error) {
	as, err := s.p.Store.ListAssignments(ctx, storage.AssignmentFilter{Target: fmt.Sprintf("%s:%d", storage.TargetRecording, rec),
		Status: storage.AssignmentSubmitted})
	if err != nil {
		return nil, err
	}
	out := []Result{}
	for _, a := range as {
		if a.CalibrationID != 0 {
			continue
		}
		i := slices.IndexFunc(out, func(r Result) bool { return r.SchemeID == a.SchemeID })
		if i < 0 {
			sc, err := s.p.Store.GetScheme(ctx, a.SchemeID)
			if err != nil {
				return nil, err
			}
			out = append(out, Result{SchemeID: a.SchemeID, SchemeName: sc.Name})
			i = len(out) - 1
		}
		out[i].TotalMean += a.Total
		out[i].Reviews++
	}
	for i := range out {
		out[i].TotalMean /= float64(out[i].Reviews)
	}
	return out, nil
}
