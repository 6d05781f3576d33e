package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"yunke/server/jobs"
	"yunke/storage"
	"yunke/storage/storagetest"
)

// fakeQueue records the jobs enqueued.
type fakeQueue struct {
	mu   sync.Mutex
	jobs []generateArgs
	opts []jobs.Options
}

func (q *fakeQueue) Enqueue(_ context.Context, args jobs.Args, o jobs.Options) (jobs.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, args.(generateArgs))
	q.opts = append(q.opts, o)
	return jobs.Enqueued{ID: jobs.JobID(len(q.jobs))}, nil
}

// take returns the jobs enqueued since the last take.
func (q *fakeQueue) take() ([]generateArgs, []jobs.Options) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, o := q.jobs, q.opts
	q.jobs, q.opts = nil, nil
	return j, o
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestKeptSchedule: at 01:00 on Monday 7 December 2026 the schedule keeps
// the last four weeks, two months and one term of the district and each
// active school — once, though two nodes run it together — and the
// generate jobs write the export files; later runs add only the periods
// finished since (all of those missed while down), never generate a
// kept report again, and drop weekly reports after a year.
func TestKeptSchedule(t *testing.T) {
	storagetest.ForEachBackend(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		d, err := st.CreateDistrict(ctx, storage.Actor{}, "kd", "区 K")
		if err != nil {
			t.Fatal(err)
		}
		var schools []storage.School
		for i, name := range []string{"学校 A", "学校 B", "学校 C"} {
			sch, err := st.CreateSchool(ctx, storage.Actor{}, storage.SchoolInput{DistrictID: d.ID, Code: "k" + name[len(name)-1:],
				Name: name, Kind: storage.KindPrimary, Active: i < 2}) // C is closed
			if err != nil {
				t.Fatal(err)
			}
			schools = append(schools, sch)
		}
		clk := &clock{t: time.Date(2026, 12, 7, 1, 0, 0, 0, storage.Zone)}
		q := &fakeQueue{}
		node := func() *Service {
			s := New(Params{Store: st, Kept: st, Now: clk.now})
			s.enq = q
			return s
		}
		s1, s2 := node(), node()

		ps := s1.FinishedPeriods(clk.now())
		var labels []string
		for _, p := range ps {
			labels = append(labels, p.Label)
		}
		want := []string{"2026-W49", "2026-W48", "2026-W47", "2026-W46", "2026-11", "2026-10", "2026-02-01 term"}
		if len(labels) != len(want) {
			t.Fatalf("finished periods %q; want %q", labels, want)
		}
		for i := range want {
			if labels[i] != want[i] {
				t.Fatalf("finished periods %q; want %q", labels, want)
			}
		}

		// Two nodes at once: one report per period and place.
		var wg sync.WaitGroup
		for _, s := range []*Service{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Schedule(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		all := func() []storage.KeptReport {
			t.Helper()
			ks, err := s1.allKept(ctx, storage.KeptReportFilter{All: true})
			if err != nil {
				t.Fatal(err)
			}
			return ks
		}
		if ks := all(); len(ks) != 7*3 {
			t.Fatalf("%d reports kept; want 21 (7 periods × district, A, B)", len(ks))
		}
		for _, k := range all() {
			if k.SchoolID == schools[2].ID {
				t.Errorf("a report of the closed school: %+v", k)
			}
			if k.Status != storage.KeptPending || k.RequestedBy != 0 {
				t.Errorf("new report %+v; want pending, by the schedule", k)
			}
		}
		jobsRun, opts := q.take()
		for _, o := range opts {
			if !o.Unique || o.District != d.ID {
				t.Fatalf("generate job options %+v; want unique, in the district", o)
			}
		}
		for _, j := range jobsRun {
			if err := s1.Generate(ctx, storage.KeptReportID(j.Report)); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range all() {
			if k.Status != storage.KeptReady || k.XLSXSize == 0 || k.CSVSize == 0 || !k.GeneratedAt.Equal(clk.now()) {
				t.Fatalf("generated report %+v", k)
			}
		}

		// School A's report of the previous week: the export's lines.
		ks, _, err := st.ListKeptReports(ctx, storage.KeptReportFilter{Schools: []storage.SchoolID{schools[0].ID}, Kind: "week", Label: "2026-W49"})
		if err != nil || len(ks) != 1 {
			t.Fatalf("school A's W49: %v %+v", err, ks)
		}
		b, err := st.KeptReportFile(ctx, ks[0].ID, "csv")
		if err != nil {
			t.Fatal(err)
		}
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
		cr.FieldsPerRecord = -1
		lines, err := cr.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if lines[0][2] != "2026-W49" || lines[0][3] != "2026-11-30" || lines[0][4] != "2026-12-06" || lines[2][1] != "school" || lines[2][2] != "学校 A" || len(lines) < 30 {
			t.Errorf("CSV of school A's W49: %q", lines[:3])
		}
		xb, err := st.KeptReportFile(ctx, ks[0].ID, "xlsx")
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(bytes.NewReader(xb))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows(x.GetSheetName(0))
		x.Close()
		if err != nil || len(rows) != len(lines) || rows[0][2] != "2026-W49" {
			t.Errorf("XLSX of school A's W49: %v %d rows", err, len(rows))
		}

		// The same hour again: nothing to add or generate; a job run
		// twice leaves a kept report as it is.
		if err := s2.Schedule(ctx); err != nil {
			t.Fatal(err)
		}
		if j, _ := q.take(); len(j) != 0 || len(all()) != 21 {
			t.Errorf("a second run enqueued %d jobs, %d reports kept", len(j), len(all()))
		}
		clk.set(clk.now().Add(time.Hour))
		if err := s1.Generate(ctx, ks[0].ID); err != nil {
			t.Fatal(err)
		}
		if k, _ := st.GetKeptReport(ctx, ks[0].ID); !k.GeneratedAt.Equal(clk.now().Add(-time.Hour)) {
			t.Errorf("a ready report generated again at %v", k.GeneratedAt)
		}

		// Down from Monday 14 December to Monday 4 January: the four
		// weeks and December are made up for, nothing else.
		clk.set(time.Date(2027, 1, 4, 3, 0, 0, 0, storage.Zone))
		if err := s1.Schedule(ctx); err != nil {
			t.Fatal(err)
		}
		jobsRun, _ = q.take()
		added := map[string]int{}
		for _, j := range jobsRun {
			k, err := st.GetKeptReport(ctx, storage.KeptReportID(j.Report))
			if err != nil {
				t.Fatal(err)
			}
			added[k.Label]++
		}
		if len(jobsRun) != 15 || added["2026-W50"] != 3 || added["2026-W53"] != 3 || added["2026-12"] != 3 {
			t.Errorf("after the break: %v", added)
		}

		// A year on, the weeks that ended over a year ago are gone; months stay.
		clk.set(time.Date(2027, 12, 20, 1, 0, 0, 0, storage.Zone))
		if err := s1.Schedule(ctx); err != nil {
			t.Fatal(err)
		}
		left := map[string]bool{}
		for _, k := range all() {
			left[k.Label] = true
		}
		if left["2026-W49"] || left["2026-W50"] || !left["2026-W51"] || !left["2026-11"] {
			t.Errorf("after a year: %v", left)
		}
	})
}
