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
	ListSubjects(ctx context.Context) ([]storage.Subject, error)
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
// in words: who did it, to whom or what, where and in which subject.
type RecentItem struct {
	storage.Activity
	// ActorName is the acting user's name ("" for the system).
	ActorName string `json:"actor_name"`
	// TargetKind and TargetName say what Subject names: "user" and the
	// user's name, "school" and its name, "tutoring_request" and its number…
	TargetKind string `json:"target_kind,omitempty"`
	TargetName string `json:"target_name,omitempty"`
	SchoolName string `json:"school_name,omitempty"`
	// SubjectName is the school subject's name (math: 数学).
	SubjectName string `json:"subject_name,omitempty"`
}

// named looks up the names of the people, schools and subjects acts
// mention, each once.
func (h *Handler) named(ctx context.Context, acts []storage.Activity) ([]RecentItem, error) {
	users := map[storage.UserID]string{}
	schools := map[storage.SchoolID]string{}
	userName := func(id storage.UserID) (string, error) {
		if n, ok := users[id]; ok || id == 0 {
			return n, nil
		}
		u, err := h.store.GetUser(ctx, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return "", err
		}
		users[id] = u.Name
		return u.Name, nil
	}
	schoolName := func(id storage.SchoolID) (string, error) {
		if n, ok := schools[id]; ok || id == 0 {
			return n, nil
		}
		sc, err := h.store.GetSchool(ctx, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return "", err
		}
		schools[id] = sc.Name
		return sc.Name, nil
	}
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
		it := RecentItem{Activity: a, SubjectName: subjectName[a.SubjectID]}
		var err error
		if it.ActorName, err = userName(a.ActorID); err != nil {
			return nil, err
		}
		if it.SchoolName, err = schoolName(a.SchoolID); err != nil {
			return nil, err
		}
		kind, id, ok := strings.Cut(a.Subject, ":")
		n, perr := strconv.ParseInt(id, 10, 64)
		if ok && perr == nil && n > 0 {
			it.TargetKind = kind
			switch kind {
			case "user":
				it.TargetName, err = userName(storage.UserID(n))
			case "school":
				it.TargetName, err = schoolName(storage.SchoolID(n))
			default:
				it.TargetName = "#" + id
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, it)
	}
	return out, nil
}
