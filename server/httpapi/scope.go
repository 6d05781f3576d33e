package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"

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
