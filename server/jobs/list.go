package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// States are a job's states, as River names them: available (due),
// scheduled (later), pending, running, retryable (failed, to be tried
// again), completed, cancelled (given up by Permanent), discarded (failed
// MaxAttempts times).
var States = []string{"available", "scheduled", "pending", "running", "retryable", "completed", "cancelled", "discarded"}

// Info describes a job to administrators.
type Info struct {
	ID          JobID              `json:"id"`
	Kind        string             `json:"kind"`
	State       string             `json:"state"`
	Attempt     int                `json:"attempt"`
	MaxAttempts int                `json:"max_attempts"`
	Args        json.RawMessage    `json:"args"`
	District    storage.DistrictID `json:"district_id,omitempty"`
	// Queue is "default" (any node) or the node queue of the one node
	// that may work it ("node-yunke-1-7880").
	Queue string `json:"queue"`
	// Errors are the failed attempts' errors, oldest first.
	Errors      []AttemptError `json:"errors"`
	CreatedAt   time.Time      `json:"created_at"`
	ScheduledAt time.Time      `json:"scheduled_at"`
	AttemptedAt *time.Time     `json:"attempted_at"`
	FinishedAt  *time.Time     `json:"finished_at"`
}

// AttemptError is why one attempt failed.
type AttemptError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

// Filter selects jobs, newest first.
type Filter struct {
	State string // one of States; "" all
	Kind  string // "" all
	// District: only the jobs of this district (0: every job).
	District storage.DistrictID
	// Before: only jobs with a smaller ID (the next page); 0 from the newest.
	Before JobID
	Limit  int // 1..500; 0 is 50
}

// List returns the jobs f selects.
func (q *Queue) List(ctx context.Context, f Filter) ([]Info, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	p := river.NewJobListParams().First(min(f.Limit, 500)).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if f.State != "" {
		if !slices.Contains(States, f.State) {
			return nil, fmt.Errorf("jobs: no state %q", f.State)
		}
		p = p.States(rivertype.JobState(f.State))
	} else {
		states := make([]rivertype.JobState, len(States))
		for i, s := range States {
			states[i] = rivertype.JobState(s)
		}
		p = p.States(states...)
	}
	if f.Kind != "" {
		p = p.Kinds(f.Kind)
	}
	if f.District != 0 {
		p = p.Where("metadata ->> 'district_id' = @district", river.NamedArgs{"district": strconv.FormatInt(int64(f.District), 10)})
	}
	if f.Before != 0 {
		p = p.Where("id < @before", river.NamedArgs{"before": int64(f.Before)})
	}
	res, err := q.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	out := make([]Info, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, info(j))
	}
	return out, nil
}

// Get returns one job; ok is false when there is none.
func (q *Queue) Get(ctx context.Context, id JobID) (Info, bool, error) {
	j, err := q.client.JobGet(ctx, int64(id))
	if err != nil {
		if err == river.ErrNotFound {
			return Info{}, false, nil
		}
		return Info{}, false, fmt.Errorf("jobs: get %d: %w", id, err)
	}
	return info(j), true, nil
}

func info(j *rivertype.JobRow) Info {
	in := Info{ID: JobID(j.ID), Kind: j.Kind, State: string(j.State), Queue: j.Queue, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		Args: json.RawMessage(j.EncodedArgs), Errors: []AttemptError{}, CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt,
		AttemptedAt: j.AttemptedAt, FinishedAt: j.FinalizedAt}
	if !json.Valid(in.Args) {
		in.Args = json.RawMessage("null")
	}
	var md struct {
		District string `json:"district_id"`
	}
	if json.Unmarshal(j.Metadata, &md) == nil && md.District != "" {
		n, _ := strconv.ParseInt(md.District, 10, 64)
		in.District = storage.DistrictID(n)
	}
	for _, e := range j.Errors {
		in.Errors = append(in.Errors, AttemptError{At: e.At, Attempt: e.Attempt, Error: e.Error})
	}
	return in
}

// Routes are the administrators' view of the jobs.
func (q *Queue) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: "GET", Path: "/jobs", Actions: []authz.Action{authz.JobList}, Handle: q.handleList},
	}
}

// kindRE is what a job kind looks like.
var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,99}$`)

// handleList lists jobs, newest first: a system administrator's all of
// them, a district administrator's those of their district.
func (q *Queue) handleList(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.JobList)
	if err != nil {
		return err
	}
	scope := authz.ScopeOf(&p.User, authz.JobList)
	f := httpapi.Fields{}
	qs := r.URL.Query()
	filter := Filter{State: qs.Get("state"), Kind: qs.Get("kind"), Limit: 50}
	if filter.State != "" && !slices.Contains(States, filter.State) {
		f.Add("state", "must be one of available, scheduled, pending, running, retryable, completed, cancelled, discarded")
	}
	if filter.Kind != "" && !kindRE.MatchString(filter.Kind) {
		f.Add("kind", "is not a job kind")
	}
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			f.Add("limit", "must be a number from 1 to 500")
		}
		filter.Limit = n
	}
	filter.Before = JobID(httpapi.QueryID(r, "before", f))
	if err := f.Err(); err != nil {
		return err
	}
	switch {
	case scope.All:
	case scope.District != 0:
		filter.District = scope.District
	default:
		return httpapi.ErrForbidden
	}
	items, err := q.List(r.Context(), filter)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, httpapi.Items[Info]{Items: items})
	return nil
}
