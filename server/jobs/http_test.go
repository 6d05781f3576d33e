package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"yunke/server/httpapi"
	"yunke/server/jobs"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// The administrators' list: a system admin sees every job, a district
// admin those of their district only, whatever they ask for.
func TestListRoute(t *testing.T) {
	t.Parallel()
	st := storagetest.OpenSQLite(t)
	q := newQueue(t, st, nil, 1)
	jobs.Register(q, func(context.Context, *jobs.Job[echoArgs]) error { return nil }, jobs.WorkerOptions{})
	ctx := context.Background()
	mine, _ := q.Enqueue(ctx, echoArgs{N: 1}, jobs.Options{District: 1})
	theirs, _ := q.Enqueue(ctx, echoArgs{N: 2}, jobs.Options{District: 2})
	system, _ := q.Enqueue(ctx, echoArgs{N: 3}, jobs.Options{})
	routes := q.Routes()
	if len(routes) != 1 || routes[0].Path != "/jobs" || routes[0].Method != "GET" {
		t.Fatalf("routes %+v", routes)
	}
	sysAdmin := storage.User{ID: 1, Active: true, Roles: []storage.Role{storage.RoleSystemAdmin}}
	distAdmin := storage.User{ID: 2, Active: true, DistrictID: 1, Roles: []storage.Role{storage.RoleDistrictAdmin}}
	teacher := storage.User{ID: 3, Active: true, DistrictID: 1, SchoolID: 5, Roles: []storage.Role{storage.RoleTeacher}}
	list := func(u storage.User, query string) ([]jobs.JobID, error) {
		r := httptest.NewRequest("GET", "/api/v1/jobs"+query, nil)
		r = r.WithContext(httpapi.WithPrincipal(r.Context(), &httpapi.Principal{User: u}))
		w := httptest.NewRecorder()
		if err := routes[0].Handle(w, r); err != nil {
			return nil, err
		}
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", query, w.Code)
		}
		var body struct{ Items []jobs.Info }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		ids := []jobs.JobID{}
		for _, in := range body.Items {
			ids = append(ids, in.ID)
		}
		return ids, nil
	}
	for _, tc := range []struct {
		name  string
		u     storage.User
		query string
		want  []jobs.JobID
	}{
		{"system admin", sysAdmin, "", []jobs.JobID{system.ID, theirs.ID, mine.ID}},
		{"system admin, a page", sysAdmin, "?limit=1&before=" + strconv.FormatInt(int64(system.ID), 10), []jobs.JobID{theirs.ID}},
		{"district admin", distAdmin, "", []jobs.JobID{mine.ID}},
		{"district admin, filtered", distAdmin, "?state=available&kind=test.echo", []jobs.JobID{mine.ID}},
		{"district admin, another state", distAdmin, "?state=running", []jobs.JobID{}},
	} {
		got, err := list(tc.u, tc.query)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	if _, err := list(teacher, ""); !errors.Is(err, httpapi.ErrForbidden) {
		t.Errorf("teacher: %v", err)
	}
	for _, query := range []string{"?state=lost", "?kind=DROP%20TABLE", "?limit=0", "?limit=501", "?before=-1", "?kind=" + strings.Repeat("a", 101)} {
		var he *httpapi.Error
		if _, err := list(sysAdmin, query); !errors.As(err, &he) || he.Status != http.StatusBadRequest {
			t.Errorf("%s: %v, want 400", query, err)
		}
	}
}
