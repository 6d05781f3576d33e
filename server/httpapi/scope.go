package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"yunke/server/authz"
	"yunke/storage"
)

// Schools is what turning scopes into store filters needs.
type Schools interface {
	GetSchool(ctx context.Context, id storage.SchoolID) (storage.School, error)
	ListSchools(ctx context.Context, f storage.SchoolFilter) ([]storage.School, int, error)
}

// ScopeFilter turns a scope into store filters: a district, and/or a list
// of schools. A scope with both (an expert's schools plus a district) is
// expanded into the district's schools.
func ScopeFilter(ctx context.Context, st Schools, sc authz.Scope) (storage.DistrictID, []storage.SchoolID, error) {
	switch {
	case sc.All:
		return 0, nil, nil
	case len(sc.Schools) == 0:
		return sc.District, nil, nil
	case sc.District == 0:
		return 0, sc.Schools, nil
	}
	ids, err := DistrictSchoolIDs(ctx, st, sc.District)
	if err != nil {
		return 0, nil, err
	}
	for _, id := range sc.Schools {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return 0, ids, nil
}

// DistrictSchoolIDs lists the ids of every school of a district.
func DistrictSchoolIDs(ctx context.Context, st Schools, d storage.DistrictID) ([]storage.SchoolID, error) {
	ids := []storage.SchoolID{}
	for off := 0; ; off += 500 {
		page, total, err := st.ListSchools(ctx, storage.SchoolFilter{DistrictID: d, Limit: 500, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, sc := range page {
			ids = append(ids, sc.ID)
		}
		if len(page) == 0 || off+len(page) >= total {
			return ids, nil
		}
	}
}

// ExplicitSchool checks that the caller may take action a in the school
// named by the query parameter name, if any; 0 when none was named.
func ExplicitSchool(r *http.Request, st Schools, a authz.Action, name string, f Fields) (storage.SchoolID, error) {
	id := storage.SchoolID(QueryID(r, name, f))
	if id == 0 {
		return 0, nil
	}
	sc, err := st.GetSchool(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		f.Add(name, "no such school")
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if _, err := Authorize(r, a, SchoolPlace(sc)); err != nil {
		return 0, err
	}
	return id, nil
}

// SatisfactionQuery reads a satisfaction report's parameters — group (one
// of groups; the first is the default), from and to (YYYY-MM; default this
// year up to this month, on now's calendar in storage.Zone), school_id — and
// narrows it to what the caller may see with action a.
func SatisfactionQuery(r *http.Request, st Schools, a authz.Action, now time.Time, groups ...storage.SatisfactionGroup) (storage.SatisfactionQuery, error) {
	p, err := Authorize(r, a)
	if err != nil {
		return storage.SatisfactionQuery{}, err
	}
	f := Fields{}
	q := r.URL.Query()
	now = now.In(storage.Zone)
	sq := storage.SatisfactionQuery{FromMonth: now.Year()*100 + 1, ToMonth: now.Year()*100 + int(now.Month()),
		GroupBy: storage.SatisfactionGroup(q.Get("group"))}
	if sq.GroupBy == "" && len(groups) > 0 {
		sq.GroupBy = groups[0]
	}
	if !slices.Contains(groups, sq.GroupBy) {
		names := make([]string, len(groups))
		for i, g := range groups {
			names[i] = string(g)
		}
		f.Add("group", "must be one of "+strings.Join(names, ", "))
	}
	if v := q.Get("from"); v != "" {
		if sq.FromMonth, _ = ParseMonth(v); sq.FromMonth == 0 {
			f.Add("from", "must be YYYY-MM")
		}
	}
	if v := q.Get("to"); v != "" {
		if sq.ToMonth, _ = ParseMonth(v); sq.ToMonth == 0 {
			f.Add("to", "must be YYYY-MM")
		}
	}
	school, err := ExplicitSchool(r, st, a, "school_id", f)
	if err != nil {
		return sq, err
	}
	if err := f.Err(); err != nil {
		return sq, err
	}
	if school != 0 {
		sq.SchoolIDs = []storage.SchoolID{school}
	} else if sq.DistrictID, sq.SchoolIDs, err = ScopeFilter(r.Context(), st, authz.ScopeOf(&p.User, a)); err != nil {
		return sq, err
	}
	return sq, nil
}
