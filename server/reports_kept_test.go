package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"yunke/server"
	"yunke/server/config"
	"yunke/storage"
	"yunke/storage/storagetest"
)

type keptReply struct {
	Reports []keptItem `json:"reports"`
	Total   int        `json:"total"`
}

type keptItem struct {
	ID              int64      `json:"id"`
	Kind            string     `json:"kind"`
	Label           string     `json:"label"`
	Level           string     `json:"level"`
	DistrictID      int64      `json:"district_id"`
	SchoolID        int64      `json:"school_id"`
	Status          string     `json:"status"`
	RequestedBy     int64      `json:"requested_by"`
	RequestedByName string     `json:"requested_by_name"`
	GeneratedAt     *time.Time `json:"generated_at"`
}

// csvLines reads an export's CSV.
func csvLines(t *testing.T, b []byte) [][]string {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	cr.FieldsPerRecord = -1
	lines, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func csvValue(lines [][]string, key string) string {
	for _, l := range lines {
		if l[0] == key {
			return l[4]
		}
	}
	return "?"
}

// TestKeptReports: a server down over Monday 7 December 2026 generates,
// when it starts at 01:00 that day, the previous week's report of every
// district and school (by its durable job); each caller lists and
// downloads those in their scope only (another place's id is 404), the
// files are exactly the export's, and an administrator's regeneration
// (202, rate-limited) replaces them with the present numbers.
func TestKeptReports(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var st *storage.Store
			if backend == "sqlite" {
				st = storagetest.OpenSQLite(t)
			} else {
				st = storagetest.OpenPostgres(t)
			}
			testKeptReports(t, st)
		})
	}
}

func withFastJobs(_ *config.Config, p *server.Params) { p.JobPoll = 50 * time.Millisecond }

func testKeptReports(t *testing.T, st *storage.Store) {
	ctx := context.Background()
	// Before: the fixture, and two lessons of school A's teacher in week 49.
	before := &testClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, storage.Zone)}
	srv := startServer(t, withStore(st), withClock(before))
	fx := newFixture(t, srv)
	for _, at := range []time.Time{time.Date(2026, 12, 1, 9, 0, 0, 0, storage.Zone), time.Date(2026, 12, 6, 23, 0, 0, 0, storage.Zone)} {
		rec, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "r",
			TeacherID: storage.UserID(fx.userIDs["teacher"]), StartedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: at.Add(40 * time.Minute), DurationMS: 2400000}); err != nil {
			t.Fatal(err)
		}
	}
	srv.stop()

	// Down over the weekend; back at 01:00 on Monday.
	monday := &testClock{t: time.Date(2026, 12, 7, 1, 0, 0, 0, storage.Zone)}
	srv = startServer(t, withStore(st), withClock(monday), withFastJobs)
	sys := signedIn(t, srv, "admin", adminPassword)
	da := signedIn(t, srv, "district_admin", userPassword)
	sa := signedIn(t, srv, "school_admin", userPassword)
	expert := signedIn(t, srv, "expert", userPassword)
	teacher := signedIn(t, srv, "teacher", userPassword)

	var all keptReply
	w49 := "/api/v1/reports/kept?kind=week&period=2026-W49"
	ready := func(r keptReply) bool {
		for _, k := range r.Reports {
			if k.Status != "ready" {
				return false
			}
		}
		return true
	}
	// Two districts and three schools.
	if !pollUntil(90*time.Second, func() bool {
		all = keptReply{}
		var terms keptReply // the schedule's last period: it has run through
		sys.must(200, "GET", "/api/v1/reports/kept?kind=term", nil, &terms)
		sys.must(200, "GET", w49, nil, &all)
		return all.Total == 5 && ready(all) && terms.Total == 5
	}) {
		t.Fatalf("week 49 kept for the system admin: %+v", all)
	}
	byPlace := map[[2]int64]keptItem{}
	for _, k := range all.Reports {
		if k.Kind != "week" || k.Label != "2026-W49" || k.RequestedBy != 0 || k.GeneratedAt == nil {
			t.Errorf("scheduled report %+v", k)
		}
		byPlace[[2]int64{k.DistrictID, k.SchoolID}] = k
	}
	district, schoolA := byPlace[[2]int64{fx.district, 0}], byPlace[[2]int64{fx.district, fx.schoolA}]
	schoolB, district2 := byPlace[[2]int64{fx.district, fx.schoolB}], byPlace[[2]int64{fx.district2, 0}]
	if district.ID == 0 || schoolA.ID == 0 || schoolB.ID == 0 || district2.ID == 0 || district.Level != "district" || schoolA.Level != "school" {
		t.Fatalf("reports by place: %+v", byPlace)
	}

	// Scope: the district admin their district and its schools; the school
	// admin and the school's expert school A's only.
	ids := func(a *api, query string) map[int64]bool {
		var r keptReply
		a.must(200, "GET", "/api/v1/reports/kept?"+query, nil, &r)
		out := map[int64]bool{}
		for _, k := range r.Reports {
			out[k.ID] = true
		}
		if len(out) != r.Total {
			t.Errorf("%s: %d listed of %d", query, len(out), r.Total)
		}
		return out
	}
	if got := ids(da, "kind=week&period=2026-W49"); len(got) != 3 || !got[district.ID] || !got[schoolA.ID] || !got[schoolB.ID] {
		t.Errorf("district admin's week 49: %v", got)
	}
	for _, a := range []*api{sa, expert} {
		if got := ids(a, "kind=week&period=2026-W49"); len(got) != 1 || !got[schoolA.ID] {
			t.Errorf("school A's week 49: %v", got)
		}
		for id := range ids(a, "") {
			var r keptItem
			for _, k := range all.Reports {
				if k.ID == id {
					r = k
				}
			}
			if r.ID != 0 && r.SchoolID != fx.schoolA {
				t.Errorf("outside school A: %+v", r)
			}
		}
	}
	// October, two months back, is kept too; each place once, though
	// both starts scheduled it.
	if got := ids(sys, "kind=month&period=2026-10"); len(got) != 5 {
		t.Errorf("system admin sees %d reports of October, want 5", len(got))
	}
	if got := ids(da, "kind=month&period=2026-11"); len(got) != 3 {
		t.Errorf("district admin's November: %v", got)
	}
	da.must(400, "GET", "/api/v1/reports/kept?kind=year", nil, nil)
	da.must(400, "GET", "/api/v1/reports/kept?period=%3Cx%3E", nil, nil)
	teacher.must(403, "GET", "/api/v1/reports/kept", nil, nil)

	// Downloads: the export's very bytes, named by period and place.
	file := func(id int64) string { return "/api/v1/reports/kept/" + itoa(id) + "/file?format=" }
	r := da.must(200, "GET", file(district.ID)+"csv", nil, nil)
	exp := da.must(200, "GET", "/api/v1/reports/export?format=csv&period=week&date=2026-11-30", nil, nil)
	if !bytes.Equal(r.body, exp.body) {
		t.Errorf("kept CSV differs from the export:\n%s\n%s", r.body, exp.body)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="yunke-report-week-2026-W49-district-`+itoa(fx.district)+`.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if v := csvValue(csvLines(t, r.body), "recording.lessons"); v != "2" {
		t.Errorf("district's lessons of week 49: %s", v)
	}
	r = sa.must(200, "GET", file(schoolA.ID)+"xlsx", nil, nil)
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "spreadsheetml") || !strings.Contains(r.header.Get("Content-Disposition"), "school-"+itoa(fx.schoolA)+".xlsx") {
		t.Errorf("XLSX headers: %v", r.header)
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(x.GetSheetName(0))
	x.Close()
	if len(rows) < 5 || rows[0][2] != "2026-W49" || rows[2][2] != "学校 A" {
		t.Errorf("school A's XLSX: %q", rows[:min(3, len(rows))])
	}
	// Another school's or district's report: 404, as one that does not exist.
	for _, c := range []struct {
		a  *api
		id int64
	}{{sa, district.ID}, {sa, schoolB.ID}, {expert, schoolB.ID}, {da, district2.ID}, {da, 999999}} {
		c.a.must(404, "GET", file(c.id)+"csv", nil, nil)
		if c.a != expert {
			c.a.must(404, "POST", "/api/v1/reports/kept/"+itoa(c.id)+"/regenerate", nil, nil)
		}
	}
	da.must(400, "GET", file(district.ID)+"pdf", nil, nil)
	expert.must(403, "POST", "/api/v1/reports/kept/"+itoa(schoolA.ID)+"/regenerate", nil, nil)
	teacher.must(403, "GET", file(schoolA.ID)+"csv", nil, nil)

	// A third lesson, late; the school admin asks for week 49 again.
	late := time.Date(2026, 12, 4, 9, 0, 0, 0, storage.Zone)
	rec, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "r",
		TeacherID: storage.UserID(fx.userIDs["teacher"]), StartedAt: late})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: late.Add(time.Hour), DurationMS: 3600000}); err != nil {
		t.Fatal(err)
	}
	var accepted struct {
		Report keptItem `json:"report"`
		Job    struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"job"`
	}
	sa.must(202, "POST", "/api/v1/reports/kept/"+itoa(schoolA.ID)+"/regenerate", nil, &accepted)
	if accepted.Report.ID != schoolA.ID || accepted.Report.Status != "pending" || accepted.Report.RequestedBy != fx.userIDs["school_admin"] ||
		accepted.Job.ID == 0 || accepted.Job.Kind != "reports.generate" {
		t.Errorf("regeneration accepted: %+v", accepted)
	}
	var again keptReply
	if !pollUntil(60*time.Second, func() bool {
		again = keptReply{}
		sa.must(200, "GET", w49, nil, &again)
		return len(again.Reports) == 1 && again.Reports[0].Status == "ready"
	}) {
		t.Fatalf("regenerated report: %+v", again)
	}
	if k := again.Reports[0]; k.RequestedByName != "用户 school_admin" {
		t.Errorf("regenerated report %+v; want asked by the school admin", k)
	}
	if v := csvValue(csvLines(t, sa.must(200, "GET", file(schoolA.ID)+"csv", nil, nil).body), "recording.lessons"); v != "3" {
		t.Errorf("school A's lessons of week 49 after regeneration: %s", v)
	}
	// The district's report was not asked again: it keeps its numbers.
	if v := csvValue(csvLines(t, da.must(200, "GET", file(district.ID)+"csv", nil, nil).body), "recording.lessons"); v != "2" {
		t.Errorf("district's lessons of week 49, not regenerated: %s", v)
	}
	// Ten requests in ten minutes; the eleventh waits.
	for range 9 {
		sa.must(202, "POST", "/api/v1/reports/kept/"+itoa(schoolA.ID)+"/regenerate", nil, nil)
	}
	if r := sa.send("POST", "/api/v1/reports/kept/"+itoa(schoolA.ID)+"/regenerate", nil); r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Errorf("eleventh regeneration: %v", r)
	}
	da.must(202, "POST", "/api/v1/reports/kept/"+itoa(schoolA.ID)+"/regenerate", nil, nil) // another user's own count
}
