// Package activity answers what happened, from the append-only activity
// log: monthly counts of actions by school and subject, and the recent
// changes an administrator's home shows.
package activity

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Store is what activity needs of durable storage.
type Store interface {
	httpapi.Schools
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
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[storage.Activity]{Items: httpapi.NonNil(acts)})
	return nil
}
