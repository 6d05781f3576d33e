package reports

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/jobs"
	"yunke/storage"
)

// Kept reports: after each Asia/Shanghai week, month and term ends, the
// schedule job (hourly, and once at start, so that a node that was down
// over a Monday catches up) adds the report of the finished period for
// every district and every active school, and one generate job per
// report writes the dashboard's export files (exactly those of
// GET /reports/export) into the kept_reports table. Only the last few
// finished periods are looked at (keepLast), so a fresh install does not
// back-fill years; a report already kept is never generated again unless
// an administrator asks for it.

// Job kinds.
const (
	JobSchedule = "reports.schedule"
	JobGenerate = "reports.generate"
)

type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return JobSchedule }

type generateArgs struct {
	Report int64 `json:"report"`
}

func (generateArgs) Kind() string { return JobGenerate }

// keepLast is how many finished periods of each kind the schedule makes
// sure are kept: four weeks, two months, one term.
var keepLast = []struct {
	kind PeriodKind
	n    int
}{{Week, 4}, {Month, 2}, {Term, 1}}

// weekRetention is how long weekly reports are kept after their week
// ended; monthly and term reports are kept.
const weekRetention = 366 * 24 * time.Hour

// scheduleEvery is how often the schedule looks for finished periods.
const scheduleEvery = time.Hour

// KeptStore is what kept reports need of the store.
type KeptStore interface {
	ListDistricts(ctx context.Context) ([]storage.District, error)
	AddKeptReports(ctx context.Context, ps []storage.KeptPeriod) (int, error)
	ListKeptReports(ctx context.Context, f storage.KeptReportFilter) ([]storage.KeptReport, int, error)
	GetKeptReport(ctx context.Context, id storage.KeptReportID) (storage.KeptReport, error)
	KeptReportFile(ctx context.Context, id storage.KeptReportID, format string) ([]byte, error)
	FinishKeptReport(ctx context.Context, id storage.KeptReportID, xlsx, csv []byte, at time.Time) error
	FailKeptReport(ctx context.Context, id storage.KeptReportID, msg string) error
	RequestKeptReport(ctx context.Context, a storage.Actor, id storage.KeptReportID) (storage.KeptReport, error)
	DeleteKeptReports(ctx context.Context, kind string, end time.Time) (int, error)
}

var _ KeptStore = (*storage.Store)(nil)

// Limiter counts a user's requests in fixed windows (the Q&A centre's
// limiters fit: the composition root passes the same one).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retry time.Duration, err error)
}

// enqueuer adds jobs (a *jobs.Queue).
type enqueuer interface {
	Enqueue(ctx context.Context, args jobs.Args, o jobs.Options) (jobs.Enqueued, error)
}

// Regenerations a user may ask for per window.
const (
	regenerateLimit  = 10
	regenerateWindow = 10 * time.Minute
)

// registerJobs makes q work the kept reports' jobs and schedules them.
func (s *Service) registerJobs(q *jobs.Queue) {
	jobs.Register(q, func(ctx context.Context, _ *jobs.Job[scheduleArgs]) error {
		return s.Schedule(ctx)
	}, jobs.WorkerOptions{Timeout: 10 * time.Minute})
	jobs.Register(q, func(ctx context.Context, j *jobs.Job[generateArgs]) error {
		return s.Generate(ctx, storage.KeptReportID(j.Args.Report))
	}, jobs.WorkerOptions{Timeout: 10 * time.Minute})
	jobs.Every(q, scheduleEvery, func() scheduleArgs { return scheduleArgs{} }, true)
}

// FinishedPeriods are the periods the schedule keeps at now: the last
// keepLast finished weeks, months and terms, newest first in each kind.
func (s *Service) FinishedPeriods(now time.Time) []Period {
	var out []Period
	for _, k := range keepLast {
		p, err := PeriodOf(k.kind, now, s.p.Terms)
		if err != nil {
			continue // no terms: none configured is impossible after New
		}
		for range k.n {
			p = p.Previous(s.p.Terms)
			out = append(out, p)
		}
	}
	return out
}

// Schedule adds the missing reports of the finished periods at Now, for
// every district and active school, and enqueues a generate job for each
// report still pending (unique per report: two nodes, or two runs, add
// one). It deletes weekly reports past their retention.
func (s *Service) Schedule(ctx context.Context) error {
	if s.p.Kept == nil || s.enq == nil {
		return errors.New("reports: schedule: no store of kept reports or no job queue")
	}
	now := s.p.Now()
	districts, err := s.p.Kept.ListDistricts(ctx)
	if err != nil {
		return err
	}
	schools, err := s.schoolsOf(ctx, Scope{place: Place{}})
	if err != nil {
		return err
	}
	var places []storage.KeptPeriod
	for _, d := range districts {
		places = append(places, storage.KeptPeriod{DistrictID: d.ID})
		for _, sch := range schools {
			if sch.DistrictID == d.ID && sch.Active {
				places = append(places, storage.KeptPeriod{DistrictID: d.ID, SchoolID: sch.ID})
			}
		}
	}
	added := 0
	for _, p := range s.FinishedPeriods(now) {
		kept, err := s.allKept(ctx, storage.KeptReportFilter{All: true, Kind: string(p.Kind), Start: p.Start})
		if err != nil {
			return err
		}
		have := map[[2]int64]bool{}
		for _, k := range kept {
			have[[2]int64{int64(k.DistrictID), int64(k.SchoolID)}] = true
		}
		var missing []storage.KeptPeriod
		for _, pl := range places {
			if have[[2]int64{int64(pl.DistrictID), int64(pl.SchoolID)}] {
				continue
			}
			pl.Kind, pl.Label, pl.Start, pl.End = string(p.Kind), p.Label, p.Start, p.End
			missing = append(missing, pl)
		}
		n, err := s.p.Kept.AddKeptReports(ctx, missing)
		if err != nil {
			return err
		}
		added += n
		pending, err := s.allKept(ctx, storage.KeptReportFilter{All: true, Kind: string(p.Kind), Start: p.Start, Status: storage.KeptPending})
		if err != nil {
			return err
		}
		for _, k := range pending {
			if _, err := s.enqueueGenerate(ctx, k, true); err != nil {
				return err
			}
		}
	}
	gone, err := s.p.Kept.DeleteKeptReports(ctx, string(Week), now.Add(-weekRetention))
	if err != nil {
		return err
	}
	if added > 0 || gone > 0 {
		s.p.Logger.Info("kept reports scheduled", "added", added, "deleted", gone)
	}
	return nil
}

// allKept lists every kept report f selects.
func (s *Service) allKept(ctx context.Context, f storage.KeptReportFilter) ([]storage.KeptReport, error) {
	var out []storage.KeptReport
	f.Limit = 1000
	for {
		page, total, err := s.p.Kept.ListKeptReports(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		f.Offset += len(page)
		if len(page) == 0 || f.Offset >= total {
			return out, nil
		}
	}
}

// enqueueGenerate adds the generate job of a report, in its district for
// the administrators' job list. The schedule's jobs are unique per report;
// an administrator's request is not (one made earlier the same day, done,
// would hide it).
func (s *Service) enqueueGenerate(ctx context.Context, k storage.KeptReport, unique bool) (jobs.Enqueued, error) {
	return s.enq.Enqueue(ctx, generateArgs{Report: int64(k.ID)}, jobs.Options{Unique: unique, District: k.DistrictID, MaxAttempts: 5})
}

// Generate computes a pending report and keeps its files; a report
// already ready is left as it is (the job may run twice).
func (s *Service) Generate(ctx context.Context, id storage.KeptReportID) error {
	k, err := s.p.Kept.GetKeptReport(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return jobs.Permanent(err) // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if k.Status == storage.KeptReady {
		return nil
	}
	// One report at a time per node, so that a catch-up of many leaves
	// the other computing slots to the people reading statistics; the
	// job waits its turn without counting an attempt.
	select {
	case s.bg <- struct{}{}:
		defer func() { <-s.bg }()
	default:
		return jobs.Snooze(2 * time.Second)
	}
	xlsx, csv, err := s.generate(ctx, k)
	if err != nil {
		if ferr := s.p.Kept.FailKeptReport(context.WithoutCancel(ctx), id, err.Error()); ferr != nil {
			s.p.Logger.Error("kept report failure not recorded", "report", id, "err", ferr)
		}
		return err
	}
	return s.p.Kept.FinishKeptReport(ctx, id, xlsx, csv, s.p.Now())
}

func (s *Service) generate(ctx context.Context, k storage.KeptReport) (xlsx, csv []byte, err error) {
	p := Period{Kind: PeriodKind(k.Kind), Start: k.Start.In(storage.Zone), End: k.End.In(storage.Zone), Label: k.Label}
	var sc Scope
	if k.SchoolID != 0 {
		sch, err := s.p.Store.GetSchool(ctx, k.SchoolID)
		if err != nil {
			return nil, nil, err
		}
		sc, err = s.schoolScope(ctx, sch)
		if err != nil {
			return nil, nil, err
		}
	} else if sc, err = s.districtScope(ctx, k.DistrictID); err != nil {
		return nil, nil, err
	}
	d, err := s.Dashboard(ctx, p, sc)
	if err != nil {
		return nil, nil, err
	}
	rows := ExportRows(d)
	if csv, err = exportCSV(rows); err != nil {
		return nil, nil, err
	}
	if xlsx, err = exportXLSX(rows); err != nil {
		return nil, nil, err
	}
	return xlsx, csv, nil
}

// KeptView is a kept report as the API lists it.
type KeptView struct {
	ID           storage.KeptReportID `json:"id"`
	Kind         PeriodKind           `json:"kind"`
	Label        string               `json:"label"`
	Start        time.Time            `json:"start"`
	End          time.Time            `json:"end"`
	Level        string               `json:"level"` // district or school
	DistrictID   storage.DistrictID   `json:"district_id"`
	DistrictName string               `json:"district_name"`
	SchoolID     storage.SchoolID     `json:"school_id,omitempty"`
	SchoolName   string               `json:"school_name,omitempty"`
	Status       string               `json:"status"`
	// RequestedBy is 0 for the schedule, else the user who asked again.
	RequestedBy     storage.UserID `json:"requested_by"`
	RequestedByName string         `json:"requested_by_name,omitempty"`
	Error           string         `json:"error,omitempty"`
	GeneratedAt     *time.Time     `json:"generated_at"`
	CreatedAt       time.Time      `json:"created_at"`
	XLSXSize        int            `json:"xlsx_size"`
	CSVSize         int            `json:"csv_size"`
}

func keptView(k storage.KeptReport) KeptView {
	v := KeptView{ID: k.ID, Kind: PeriodKind(k.Kind), Label: k.Label, Start: k.Start.In(storage.Zone), End: k.End.In(storage.Zone),
		Level: "district", DistrictID: k.DistrictID, DistrictName: k.DistrictName, SchoolID: k.SchoolID, SchoolName: k.SchoolName,
		Status: k.Status, RequestedBy: k.RequestedBy, RequestedByName: k.RequestedByName, Error: k.Error, CreatedAt: k.CreatedAt,
		XLSXSize: k.XLSXSize, CSVSize: k.CSVSize}
	if k.SchoolID != 0 {
		v.Level = "school"
	}
	if !k.GeneratedAt.IsZero() {
		t := k.GeneratedAt
		v.GeneratedAt = &t
	}
	return v
}

// keptRoutes are the kept reports' routes.
func (s *Service) keptRoutes() []httpapi.Route {
	read := []authz.Action{authz.ReportRead}
	return []httpapi.Route{
		{Method: "GET", Path: "/reports/kept", Actions: read, Handle: s.handleKeptList},
		{Method: "GET", Path: "/reports/kept/{id}/file", Actions: read, Handle: s.handleKeptFile},
		{Method: "POST", Path: "/reports/kept/{id}/regenerate", Actions: []authz.Action{authz.ReportRegenerate}, Handle: s.handleKeptRegenerate},
	}
}

var labelPattern = regexp.MustCompile(`^[0-9A-Za-z -]{1,20}$`)

// handleKeptList lists the kept reports in the caller's report.read scope
// (a district admin: the district's and its schools'; a school admin:
// their school's), newest period first; kind and period (a label) filter.
func (s *Service) handleKeptList(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.ReportRead)
	if err != nil {
		return err
	}
	f := httpapi.Fields{}
	q := r.URL.Query()
	kind := q.Get("kind")
	if kind != "" && !slices.Contains([]PeriodKind{Week, Month, Term}, PeriodKind(kind)) {
		f.Add("kind", "must be week, month or term")
	}
	label := q.Get("period")
	if label != "" && !labelPattern.MatchString(label) {
		f.Add("period", "must be a period's label: 2026-W49, 2026-11, 2026-09-01 term")
	}
	limit, offset := httpapi.ListPage(r, f)
	if err := f.Err(); err != nil {
		return err
	}
	sc := authz.ScopeOf(&p.User, authz.ReportRead)
	list, total, err := s.p.Kept.ListKeptReports(r.Context(), storage.KeptReportFilter{Kind: kind, Label: label,
		All: sc.All, District: sc.District, Schools: sc.Schools, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := make([]KeptView, len(list))
	for i, k := range list {
		out[i] = keptView(k)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"reports": out, "total": total})
	return nil
}

// kept loads a report the caller may act on with a; one outside their
// scope is not found.
func (s *Service) kept(r *http.Request, a authz.Action) (storage.KeptReport, *httpapi.Principal, error) {
	p, err := httpapi.Authorize(r, a)
	if err != nil {
		return storage.KeptReport{}, nil, err
	}
	id, err := httpapi.PathID(r, "id")
	if err != nil {
		return storage.KeptReport{}, nil, err
	}
	k, err := s.p.Kept.GetKeptReport(r.Context(), storage.KeptReportID(id))
	if err != nil {
		return storage.KeptReport{}, nil, err
	}
	if !authz.ScopeOf(&p.User, a).Covers(k.DistrictID, k.SchoolID) {
		return storage.KeptReport{}, nil, httpapi.ErrNotFound
	}
	return k, p, nil
}

// handleKeptFile downloads a kept report as xlsx or csv.
func (s *Service) handleKeptFile(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "xlsx" {
		return httpapi.Invalid("format", "must be csv or xlsx")
	}
	k, _, err := s.kept(r, authz.ReportRead)
	if err != nil {
		return err
	}
	b, err := s.p.Kept.KeptReportFile(r.Context(), k.ID, format)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return &httpapi.Error{Status: http.StatusConflict, Code: "not_ready", Message: "this report has not been generated yet"}
		}
		return err
	}
	w.Header().Set("Content-Type", contentTypes[format])
	w.Header().Set("Content-Disposition", `attachment; filename="`+keptFileName(k)+"."+format+`"`)
	_, err = w.Write(b)
	return err
}

var contentTypes = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// keptFileName names a kept report's file by its period and place:
// yunke-report-week-2026-W49-district-3, yunke-report-term-2026-09-01-school-17.
func keptFileName(k storage.KeptReport) string {
	label := regexp.MustCompile(`[^0-9A-Za-z-]+`).ReplaceAllString(k.Label, "-")
	place := fmt.Sprintf("district-%d", k.DistrictID)
	if k.SchoolID != 0 {
		place = fmt.Sprintf("school-%d", k.SchoolID)
	}
	return fmt.Sprintf("yunke-report-%s-%s-%s", k.Kind, label, place)
}

// handleKeptRegenerate asks for a kept report again: it is marked pending
// and a generate job enqueued; 202 with the report and the job.
func (s *Service) handleKeptRegenerate(w http.ResponseWriter, r *http.Request) error {
	k, p, err := s.kept(r, authz.ReportRegenerate)
	if err != nil {
		return err
	}
	if s.enq == nil {
		return errors.New("reports: regenerate: no job queue")
	}
	if s.p.Limiter != nil {
		ok, retry, err := s.p.Limiter.Allow(r.Context(), fmt.Sprintf("reports:regenerate:%d", p.User.ID), regenerateLimit, regenerateWindow)
		if err != nil {
			return err
		}
		if !ok {
			return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: max(retry, time.Second),
				Message: fmt.Sprintf("at most %d reports asked again in %s: try again later", regenerateLimit, regenerateWindow)}
		}
	}
	k, err = s.p.Kept.RequestKeptReport(r.Context(), httpapi.Actor(r), k.ID)
	if err != nil {
		return err
	}
	job, err := s.enqueueGenerate(r.Context(), k, false)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{
		"report": keptView(k),
		"job":    map[string]any{"id": job.ID, "kind": JobGenerate},
	})
	return nil
}
