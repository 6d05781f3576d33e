// Package activity answers what happened, from the append-only activity
// log: monthly counts of actions by school and subject, and the recent
// changes an administrator's home shows.
package activity

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Store is what activity needs of durable storage.
type Store interface {
	httpapi.Schools
	GetUser(ctx context.Context, id storage.UserID) (storage.User, error)
	GetDistrict(ctx context.Context, id storage.DistrictID) (storage.District, error)
	ListSubjects(ctx context.Context) ([]storage.Subject, error)
	GetTutoringRequest(ctx context.Context, id storage.TutoringRequestID) (storage.TutoringRequest, error)
	GetTutoringSession(ctx context.Context, id storage.TutoringSessionID) (storage.TutoringSession, error)
	RecentActivity(ctx context.Context, district storage.DistrictID, schools []storage.SchoolID, limit int) ([]storage.Activity, error)
	SummarizeActivity(ctx context.Context, q storage.ActivityQuery) ([]storage.ActivityBucket, error)
}

var _ Store = (*storage.Store)(nil)

// Params are what New needs.
type Params struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler serves the activity routes.
type Handler struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New returns the activity handler.
func New(p Params) *Handler {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Handler{store: p.Store, log: p.Logger, now: p.Now}
}

// Routes are the activity API routes.
func (h *Handler) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Path: "/activity", Actions: []authz.Action{authz.ActivityRead}, Handle: h.handleActivity},
		{Method: "GET", Path: "/activity/recent", Actions: []authz.Action{authz.ActivityRead}, Handle: h.handleRecentActivity},
	}
}

// ---- activity

func (h *Handler) handleActivity(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.ActivityRead)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	q := r.URL.Query()
	now := h.now().In(storage.Zone)
	aq := storage.ActivityQuery{FromMonth: now.Year()*100 + 1, ToMonth: now.Year()*100 + int(now.Month())}
	if v := q.Get("from"); v != "" {
		if aq.FromMonth, _ = httpapi.ParseMonth(v); aq.FromMonth == 0 {
			f.Add("from", "must be YYYY-MM")
		}
	}
	if v := q.Get("to"); v != "" {
		if aq.ToMonth, _ = httpapi.ParseMonth(v); aq.ToMonth == 0 {
			f.Add("to", "must be YYYY-MM")
		}
	}
	if aq.FromMonth != 0 && aq.ToMonth != 0 && aq.FromMonth > aq.ToMonth {
		f.Add("to", "must not be before from")
	}
	for _, v := range q["action"] {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				if len(a) > 64 {
					f.Add("action", "at most 64 characters")
				}
				aq.Actions = append(aq.Actions, a)
			}
		}
	}
	school, err := httpapi.ExplicitSchool(r, h.store, authz.ActivityRead, "school_id", f)
	if err != nil {
		return err
	}
	if err := f.Err(); err != nil {
		return err
	}
	if school != 0 {
		aq.SchoolIDs = []storage.SchoolID{school}
	} else if aq.DistrictID, aq.SchoolIDs, err = httpapi.ScopeFilter(r.Context(), h.store, authz.ScopeOf(&p.User, authz.ActivityRead)); err != nil {
		return err
	}
	bs, err := h.store.SummarizeActivity(r.Context(), aq)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.ActivityBucket]{Items: httpapi.NonNil(bs)})
	return nil
}

func (h *Handler) handleRecentActivity(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.ActivityRead)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	limit, _ := httpapi.ListPage(r, f)
	if err := f.Err(); err != nil {
		return err
	}
	district, schools, err := httpapi.ScopeFilter(r.Context(), h.store, authz.ScopeOf(&p.User, authz.ActivityRead))
	if err != nil {
		return err
	}
	acts, err := h.store.RecentActivity(r.Context(), district, schools, limit)
	if err != nil {
		return err
	}
	items, err := h.named(r.Context(), acts)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[RecentItem]{Items: items})
	return nil
}

// RecentItem is an activity row with the names a reader needs to say it
// in words: who did it, to whom or what, where, and who took part in a
// tutoring entry. The names are told whatever the reader's scope, since
// the row itself is in scope.
type RecentItem struct {
	storage.Activity
	// ActorName is the acting user's name ("" for the system).
	ActorName string `json:"actor_name"`
	// SubjectName names the entity in Subject: a user, school, district or
	// school subject; a target's school; a tutoring request's student.
	SubjectName string `json:"subject_name,omitempty"`
	SchoolName  string `json:"school_name,omitempty"`
	// StudentName and TeacherName are the two sides of a tutoring entry.
	StudentName string `json:"student_name,omitempty"`
	TeacherName string `json:"teacher_name,omitempty"`
}

// named looks up the names of the people, places and sessions acts
// mention, each once.
func (h *Handler) named(ctx context.Context, acts []storage.Activity) ([]RecentItem, error) {
	n := namer{ctx: ctx, store: h.store, users: map[storage.UserID]string{}, schools: map[storage.SchoolID]string{},
		districts: map[storage.DistrictID]string{}, sessions: map[storage.TutoringSessionID]*storage.TutoringSession{}}
	subs, err := h.store.ListSubjects(ctx)
	if err != nil {
		return nil, err
	}
	subjectName := map[storage.SubjectID]string{}
	for _, s := range subs {
		subjectName[s.ID] = s.Name
	}
	out := make([]RecentItem, 0, len(acts))
	for _, a := range acts {
		it := RecentItem{Activity: a, ActorName: n.user(a.ActorID), SchoolName: n.school(a.SchoolID)}
		kind, rest, _ := strings.Cut(a.Subject, ":")
		first, _, _ := strings.Cut(rest, ":")
		id, _ := strconv.ParseInt(first, 10, 64)
		switch kind {
		case "user":
			it.SubjectName = n.user(storage.UserID(id))
		case "school", "target":
			it.SubjectName = n.school(storage.SchoolID(id))
		case "district":
			it.SubjectName = n.district(storage.DistrictID(id))
		case "subject":
			it.SubjectName = subjectName[storage.SubjectID(id)]
		case "tutoring_request":
			if req, err := h.store.GetTutoringRequest(ctx, storage.TutoringRequestID(id)); err == nil {
				it.SubjectName, it.StudentName = req.StudentName, req.StudentName
				if req.SessionID != 0 {
					if sess := n.session(req.SessionID); sess != nil {
						it.TeacherName = sess.TeacherName
					}
				}
			} else if !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
		}
		if sid, ok := strings.CutPrefix(a.SessionID, "tutoring:"); ok {
			if id, err := strconv.ParseInt(sid, 10, 64); err == nil {
				if sess := n.session(storage.TutoringSessionID(id)); sess != nil {
					it.StudentName, it.TeacherName = sess.StudentName, sess.TeacherName
				}
			}
		}
		if n.err != nil {
			return nil, n.err
		}
		out = append(out, it)
	}
	return out, nil
}

// namer looks names up once each; the first store failure (other than a
// missing record) is kept in err.
type namer struct {
	ctx       context.Context
	store     Store
	users     map[storage.UserID]string
	schools   map[storage.SchoolID]string
	districts map[storage.DistrictID]string
	sessions  map[storage.TutoringSessionID]*storage.TutoringSession
	err       error
}

func (n *namer) keep(err error) {
	if err != nil && !errors.Is(err, storage.ErrNotFound) && n.err == nil {
		n.err = err
	}
}

// cached answers name(id) from m, asking get once per id; the zero id has
// no name.
func cached[K comparable](n *namer, m map[K]string, id K, get func() (string, error)) string {
	var zero K
	if name, ok := m[id]; ok || id == zero {
		return name
	}
	name, err := get()
	n.keep(err)
	m[id] = name
	return name
}

func (n *namer) user(id storage.UserID) string {
	return cached(n, n.users, id, func() (string, error) { u, err := n.store.GetUser(n.ctx, id); return u.Name, err })
}

func (n *namer) school(id storage.SchoolID) string {
	return cached(n, n.schools, id, func() (string, error) { sc, err := n.store.GetSchool(n.ctx, id); return sc.Name, err })
}

func (n *namer) district(id storage.DistrictID) string {
	return cached(n, n.districts, id, func() (string, error) { d, err := n.store.GetDistrict(n.ctx, id); return d.Name, err })
}

func (n *namer) session(id storage.TutoringSessionID) *storage.TutoringSession {
	if s, ok := n.sessions[id]; ok {
		return s
	}
	s, err := n.store.GetTutoringSession(n.ctx, id)
	n.keep(err)
	var out *storage.TutoringSession
	if err == nil {
		out = &s
	}
	n.sessions[id] = out
	return out
}
