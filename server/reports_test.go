package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"yunke/storage"
	"yunke/storage/storagetest"
)

type reportRow struct {
	Key      string   `json:"key"`
	Unit     string   `json:"unit"`
	Current  *float64 `json:"current"`
	Previous *float64 `json:"previous"`
	Target   *float64 `json:"target"`
}

type dashboardReply struct {
	Period struct {
		Label string `json:"label"`
	} `json:"period"`
	Scope struct {
		Level        string `json:"level"`
		DistrictName string `json:"district_name"`
		SchoolID     int64  `json:"school_id"`
		SchoolName   string `json:"school_name"`
	} `json:"scope"`
	Indicators []reportRow `json:"indicators"`
}

func (d dashboardReply) value(t *testing.T, key string) reportRow {
	t.Helper()
	for _, r := range d.Indicators {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no indicator %s", key)
	return reportRow{}
}

// sameNumber: a spreadsheet cell holds exactly the number (or is empty for none).
func sameNumber(cell string, p *float64) bool {
	if p == nil {
		return cell == ""
	}
	f, err := strconv.ParseFloat(cell, 64)
	return err == nil && f == *p
}

func fnum(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

// TestReportsScopeAndExport: the statistics API counts a hand-made
// November, names schools and teachers, keeps every caller to their scope
// (a school admin never sees another school nor the district; ids of
// another district answer 403), refuses bad periods, and its CSV and XLSX
// carry exactly the dashboard's numbers in its order.
func TestReportsScopeAndExport(t *testing.T) {
	t.Parallel()
	st := storagetest.OpenSQLite(t)
	srv := startServer(t, withStore(st))
	fx := newFixture(t, srv)
	ctx := context.Background()
	sys, da, sa, expert := fx.users["system_admin"], fx.users["district_admin"], fx.users["school_admin"], fx.users["expert"]
	teacherID := storage.UserID(fx.userIDs["teacher"])

	// Two lessons of school A's teacher in November 2026 (Shanghai), one in October.
	for _, at := range []time.Time{
		time.Date(2026, 11, 10, 10, 0, 0, 0, storage.Zone),
		time.Date(2026, 11, 30, 23, 30, 0, 0, storage.Zone),
		time.Date(2026, 10, 31, 23, 59, 0, 0, storage.Zone),
	} {
		rec, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "r", TeacherID: teacherID, StartedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: storage.RecordingReady, EndedAt: at.Add(40 * time.Minute), DurationMS: 2400000}); err != nil {
			t.Fatal(err)
		}
	}
	nov := "period=month&date=2026-11-15"

	var cat struct {
		Indicators []struct {
			Key        string   `json:"key"`
			Dimensions []string `json:"dimensions"`
		} `json:"indicators"`
		TermStarts []string `json:"term_starts"`
	}
	expert.must(200, "GET", "/api/v1/reports/indicators", nil, &cat)
	if len(cat.Indicators) < 30 || cat.Indicators[0].Key != "recording.lessons" || len(cat.TermStarts) != 2 || cat.TermStarts[1] != "09-01" {
		t.Errorf("catalog: %+v", cat)
	}

	var d dashboardReply
	da.must(200, "GET", "/api/v1/reports/dashboard?"+nov, nil, &d)
	if d.Period.Label != "2026-11" || d.Scope.Level != "district" || d.Scope.DistrictName == "" {
		t.Fatalf("district dashboard: %+v", d)
	}
	if r := d.value(t, "recording.lessons"); fnum(r.Current) != "2" || fnum(r.Previous) != "1" {
		t.Errorf("lessons: %+v", r)
	}
	// The district has 2 teachers (teacher and teacher+school_admin): 1 of 2 recorded.
	if r := d.value(t, "recording.teacher_share"); fnum(r.Current) != "50" {
		t.Errorf("share of teachers: %s", fnum(r.Current))
	}
	if r := d.value(t, "recording.review_coverage"); r.Current != nil && *r.Current != 0 {
		t.Errorf("review coverage: %+v", r)
	}
	if r := d.value(t, "tutoring.satisfaction"); r.Current != nil {
		t.Errorf("satisfaction without ratings: %s, want none", fnum(r.Current))
	}

	// Drill down: by school (every school of the district, named), then a school's teachers.
	var b struct {
		Rows []struct {
			Key     string   `json:"key"`
			Name    string   `json:"name"`
			Current *float64 `json:"current"`
		} `json:"rows"`
	}
	da.must(200, "GET", "/api/v1/reports/breakdown?indicator=recording.lessons&by=school&"+nov, nil, &b)
	if len(b.Rows) != 2 || b.Rows[0].Name != "学校 A" || fnum(b.Rows[0].Current) != "2" || b.Rows[1].Name != "学校 B" || fnum(b.Rows[1].Current) != "0" {
		t.Errorf("lessons by school: %+v", b.Rows)
	}
	da.must(400, "GET", "/api/v1/reports/breakdown?indicator=recording.lessons&by=teacher&"+nov, nil, nil)
	da.must(200, "GET", "/api/v1/reports/breakdown?indicator=recording.lessons&by=teacher&school_id="+itoa(fx.schoolA)+"&"+nov, nil, &b)
	if len(b.Rows) != 1 || b.Rows[0].Name != "用户 teacher" || fnum(b.Rows[0].Current) != "2" {
		t.Errorf("lessons by teacher: %+v", b.Rows)
	}

	// Scope: a school admin sees their school only.
	sa.must(200, "GET", "/api/v1/reports/dashboard?"+nov, nil, &d)
	if d.Scope.Level != "school" || d.Scope.SchoolID != fx.schoolA || fnum(d.value(t, "recording.lessons").Current) != "2" {
		t.Errorf("school admin's dashboard: %+v", d.Scope)
	}
	for _, q := range []string{"school_id=" + itoa(fx.schoolB), "school_id=" + itoa(fx.schoolC), "district_id=" + itoa(fx.district)} {
		sa.must(403, "GET", "/api/v1/reports/dashboard?"+q, nil, nil)
		sa.must(403, "GET", "/api/v1/reports/breakdown?indicator=recording.lessons&by=school&"+q, nil, nil)
		sa.must(403, "GET", "/api/v1/reports/export?format=csv&"+q, nil, nil)
		sa.must(403, "GET", "/api/v1/reports/targets?"+q, nil, nil)
	}
	// A district admin: not another district, nor its school.
	da.must(403, "GET", "/api/v1/reports/dashboard?district_id="+itoa(fx.district2), nil, nil)
	da.must(403, "GET", "/api/v1/reports/dashboard?school_id="+itoa(fx.schoolC), nil, nil)
	da.must(404, "GET", "/api/v1/reports/dashboard?school_id=999999", nil, nil)
	// An expert of school A: that school, not the district.
	expert.must(403, "GET", "/api/v1/reports/dashboard?district_id="+itoa(fx.district), nil, nil)
	expert.must(200, "GET", "/api/v1/reports/dashboard?"+nov, nil, &d)
	if d.Scope.Level != "school" || d.Scope.SchoolID != fx.schoolA {
		t.Errorf("expert's dashboard: %+v", d.Scope)
	}
	// An expert of two schools: both, as a list.
	expert2, _ := addUser(t, srv, sys, "reports.expert2", map[string]any{"roles": []string{"expert"}, "district_id": fx.district,
		"expert_scope": map[string]any{"district": false, "school_ids": []int64{fx.schoolA, fx.schoolB}}})
	expert2.must(200, "GET", "/api/v1/reports/dashboard?"+nov, nil, &d)
	if d.Scope.Level != "schools" || fnum(d.value(t, "recording.lessons").Current) != "2" {
		t.Errorf("expert of two schools: %+v", d.Scope)
	}
	expert2.must(403, "GET", "/api/v1/reports/dashboard?school_id="+itoa(fx.schoolC), nil, nil)
	// Named groups: districts, school kinds, subjects.
	var nb struct {
		Rows []struct {
			Name    string   `json:"name"`
			NameEn  string   `json:"name_en"`
			Current *float64 `json:"current"`
		} `json:"rows"`
	}
	sys.must(200, "GET", "/api/v1/reports/breakdown?indicator=recording.lessons&by=district&"+nov, nil, &nb)
	if len(nb.Rows) != 1 || nb.Rows[0].Name == "" || fnum(nb.Rows[0].Current) != "2" {
		t.Errorf("lessons by district: %+v", nb.Rows)
	}
	da.must(200, "GET", "/api/v1/reports/breakdown?indicator=recording.lessons&by=kind&"+nov, nil, &nb)
	if len(nb.Rows) != 1 || nb.Rows[0].Name != "小学" || nb.Rows[0].NameEn != "Primary" {
		t.Errorf("lessons by kind: %+v", nb.Rows)
	}
	// Down to one teacher: their indicators only (questions are the students').
	tq := "teacher_id=" + itoa(fx.userIDs["teacher"]) + "&" + nov
	sa.must(200, "GET", "/api/v1/reports/dashboard?"+tq, nil, &d)
	if d.Scope.Level != "teacher" || d.Scope.SchoolID != fx.schoolA || fnum(d.value(t, "recording.lessons").Current) != "2" {
		t.Errorf("a teacher's dashboard: %+v", d.Scope)
	}
	for _, r := range d.Indicators {
		if r.Key == "qa.questions" {
			t.Error("a teacher's dashboard lists questions")
		}
	}
	_, teacherB := addUser(t, srv, sys, "reports.tb", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolB})
	sa.must(403, "GET", "/api/v1/reports/dashboard?teacher_id="+itoa(teacherB), nil, nil)
	expert.must(403, "GET", "/api/v1/reports/dashboard?teacher_id="+itoa(teacherB), nil, nil)
	sa.must(400, "GET", "/api/v1/reports/dashboard?teacher_id="+itoa(fx.userIDs["student"]), nil, nil)
	sa.must(404, "GET", "/api/v1/reports/dashboard?teacher_id=999999", nil, nil)
	sa.must(400, "GET", "/api/v1/reports/breakdown?indicator=qa.questions&by=school&"+tq, nil, nil)
	sa.must(400, "GET", "/api/v1/reports/targets?"+tq, nil, nil)
	da.must(200, "GET", "/api/v1/reports/breakdown?indicator=qa.questions&by=knowledge_point&"+nov, nil, &nb)
	if len(nb.Rows) != 0 {
		t.Errorf("questions by knowledge point, none asked: %+v", nb.Rows)
	}
	fx.users["teacher"].must(403, "GET", "/api/v1/reports/dashboard", nil, nil)
	sys.must(200, "GET", "/api/v1/reports/dashboard?district_id="+itoa(fx.district2), nil, nil)

	// Bad input.
	for _, q := range []string{"period=decade", "date=1900-01-01", "date=2026-13-01", "school_id=abc"} {
		da.must(400, "GET", "/api/v1/reports/dashboard?"+q, nil, nil)
	}
	da.must(400, "GET", "/api/v1/reports/breakdown?indicator=nope&by=school", nil, nil)
	da.must(400, "GET", "/api/v1/reports/breakdown?indicator=recording.teacher_share&by=subject", nil, nil)
	da.must(400, "GET", "/api/v1/reports/export?format=pdf", nil, nil)
	da.must(400, "GET", "/api/v1/reports/targets?year=99999", nil, nil)

	// Parallel calls: one user has at most two reports in flight (429
	// beyond, with Retry-After); nothing fails.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := da
			if i%4 == 0 {
				c = sys
			}
			r := c.send("GET", "/api/v1/reports/dashboard?"+nov, nil)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
			if r.status == 429 && r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}()
	}
	wg.Wait()
	if statuses[200] < 2 || statuses[200]+statuses[429] != 12 {
		t.Errorf("parallel dashboards: %v", statuses)
	}

	// Exports: the dashboard's numbers in its order, the period and scope on top.
	var dd dashboardReply
	da.must(200, "GET", "/api/v1/reports/dashboard?"+nov, nil, &dd)
	r := da.must(200, "GET", "/api/v1/reports/export?format=csv&"+nov, nil, nil)
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\ufeff"))))
	cr.FieldsPerRecord = -1 // the head lines are shorter
	lines, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if lines[0][2] != "2026-11" || lines[0][3] != "2026-11-01" || lines[0][4] != "2026-11-30" || lines[2][2] != dd.Scope.DistrictName {
		t.Errorf("CSV head: %q", lines[:3])
	}
	if len(lines) != 4+len(dd.Indicators) {
		t.Fatalf("CSV has %d lines for %d indicators", len(lines), len(dd.Indicators))
	}
	for i, row := range dd.Indicators {
		got := lines[4+i]
		if got[0] != row.Key || got[4] != fnum(row.Current) || got[5] != fnum(row.Previous) || got[6] != fnum(row.Target) {
			t.Errorf("CSV line %d = %q; dashboard %+v", 4+i, got, row)
		}
	}
	r = da.must(200, "GET", "/api/v1/reports/export?format=xlsx&"+nov, nil, nil)
	x, err := excelize.OpenReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0), excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range dd.Indicators {
		got := rows[4+i]
		for len(got) < 7 {
			got = append(got, "")
		}
		if got[0] != row.Key || !sameNumber(got[4], row.Current) || !sameNumber(got[5], row.Previous) || !sameNumber(got[6], row.Target) {
			t.Errorf("XLSX row %d = %q; dashboard %+v", 4+i, got, row)
		}
	}
	if rows[0][2] != "2026-11" || rows[2][2] != dd.Scope.DistrictName {
		t.Errorf("XLSX head: %q", rows[:3])
	}

	// Targets: school A wants 4 lessons in 2026 and has 3.
	da.must(200, "PUT", "/api/v1/schools/"+itoa(fx.schoolA)+"/targets/2026", map[string]any{"lessons_recorded": 4, "teachers_participating": 2, "trainee_coverage_pct": 0, "version": 0}, nil)
	var tg struct {
		Schools []struct {
			SchoolName string `json:"school_name"`
			Items      []struct {
				Key           string  `json:"key"`
				Target        float64 `json:"target"`
				Done          float64 `json:"done"`
				AttainmentPct float64 `json:"attainment_pct"`
			} `json:"items"`
		} `json:"schools"`
		Behind []struct {
			SchoolName string `json:"school_name"`
		} `json:"behind"`
		Imbalance struct {
			Schools       int     `json:"schools"`
			Gini          float64 `json:"gini_lessons_per_teacher"`
			TopTenthShare float64 `json:"top_tenth_share_pct"`
		} `json:"imbalance"`
	}
	// A client that does not know lessons_reviewed keeps it.
	da.must(200, "PUT", "/api/v1/schools/"+itoa(fx.schoolA)+"/targets/2026", map[string]any{"lessons_recorded": 4, "teachers_participating": 2, "trainee_coverage_pct": 0, "lessons_reviewed": 3, "version": 0}, nil)
	var kept map[string]any
	da.must(200, "PUT", "/api/v1/schools/"+itoa(fx.schoolA)+"/targets/2026", map[string]any{"lessons_recorded": 4, "teachers_participating": 2, "trainee_coverage_pct": 0, "version": 0}, &kept)
	if kept["lessons_reviewed"] != float64(3) {
		t.Errorf("lessons_reviewed not kept: %v", kept)
	}
	da.must(400, "PUT", "/api/v1/schools/"+itoa(fx.schoolA)+"/targets/2026", map[string]any{"lessons_reviewed": -1, "version": 0}, nil)
	da.must(200, "GET", "/api/v1/reports/targets?year=2026", nil, &tg)
	if len(tg.Schools) != 1 || tg.Schools[0].SchoolName != "学校 A" || tg.Schools[0].Items[0].Done != 3 || tg.Schools[0].Items[0].AttainmentPct != 75 ||
		tg.Schools[0].Items[1].Done != 1 || tg.Schools[0].Items[1].AttainmentPct != 50 ||
		len(tg.Schools[0].Items) != 4 || tg.Schools[0].Items[3].Key != "recording.lessons_reviewed" || tg.Schools[0].Items[3].Target != 3 || tg.Schools[0].Items[3].Done != 0 {
		t.Errorf("targets: %+v", tg.Schools)
	}
	// In December (or later) 3 of 4 lessons is below an even pace.
	if len(tg.Behind) != 1 || tg.Behind[0].SchoolName != "学校 A" {
		t.Errorf("schools behind: %+v", tg.Behind)
	}
	// All 3 lessons are school A's (2 teachers: 1.5 each), none of B's (1 teacher):
	// Gini = 2·|1.5 − 0| / (2 · 2² · 0.75) = 0.5.
	if tg.Imbalance.TopTenthShare != 100 || tg.Imbalance.Schools != 2 || tg.Imbalance.Gini != 0.5 {
		t.Errorf("imbalance: %+v", tg.Imbalance)
	}
	da.must(200, "GET", "/api/v1/reports/dashboard?period=year&date=2026-06-01", nil, &d)
	if r := d.value(t, "recording.lessons"); fnum(r.Target) != "4" || fnum(r.Current) != "3" {
		t.Errorf("yearly lessons against the target: %+v", r)
	}

	// The district's only trainee teacher records once: trainee coverage 100 %.
	_, trainee := addUser(t, srv, sys, "reports.trainee", map[string]any{"roles": []string{"teacher"}, "school_id": fx.schoolA, "trainee": true})
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, storage.Zone)
	rec, err := st.CreateRecording(ctx, storage.Actor{}, storage.RecordingInput{Kind: storage.RecordingClass, Room: "t", TeacherID: storage.UserID(trainee), StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishRecording(ctx, storage.Actor{}, rec.ID, storage.RecordingFinish{Status: storage.RecordingInterrupted, EndedAt: at.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	da.must(200, "GET", "/api/v1/reports/dashboard?"+nov, nil, &d)
	if r := d.value(t, "recording.trainee_coverage"); fnum(r.Current) != "100" || r.Previous != nil && *r.Previous != 0 {
		t.Errorf("trainee coverage: %+v", r)
	}
	if r := d.value(t, "recording.trainees"); fnum(r.Current) != "1" {
		t.Errorf("trainees recording: %s", fnum(r.Current))
	}
}
