package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/storage"
)

// Scope is the place a report covers, named.
type Scope struct {
	Level        string             `json:"level"` // all, district, school, schools, teacher
	DistrictID   storage.DistrictID `json:"district_id,omitempty"`
	DistrictName string             `json:"district_name,omitempty"`
	SchoolID     storage.SchoolID   `json:"school_id,omitempty"`
	SchoolName   string             `json:"school_name,omitempty"`
	TeacherID    storage.UserID     `json:"teacher_id,omitempty"`
	TeacherName  string             `json:"teacher_name,omitempty"`
	place        Place
}

// Name is the scope for people: "全部", the district's or the school's name.
func (sc Scope) Name() string {
	switch sc.Level {
	case "district":
		return sc.DistrictName
	case "school":
		return sc.SchoolName
	case "teacher":
		return sc.SchoolName + " · " + sc.TeacherName
	case "schools":
		return "所辖学校 / schools in scope"
	}
	return "全部 / all"
}

// Routes are the statistics routes; each resolves the place from the
// caller's scope (scope below).
func (s *Service) Routes() []httpapi.Route {
	read := []authz.Action{authz.ReportRead}
	return append([]httpapi.Route{
		{Method: "GET", Path: "/reports/indicators", Actions: read, Handle: s.handleIndicators},
		{Method: "GET", Path: "/reports/dashboard", Actions: read, Handle: s.limited(s.handleDashboard)},
		{Method: "GET", Path: "/reports/breakdown", Actions: read, Handle: s.limited(s.handleBreakdown)},
		{Method: "GET", Path: "/reports/targets", Actions: read, Handle: s.limited(s.handleTargets)},
		{Method: "GET", Path: "/reports/export", Actions: read, Handle: s.limited(s.handleExport)},
	}, s.keptRoutes()...)
}

// limited runs h while the caller has fewer than PerUser reports in flight.
func (s *Service) limited(h httpapi.HandlerFunc) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := httpapi.Authorize(r, authz.ReportRead)
		if err != nil {
			return err
		}
		done, err := s.admit(p.User.ID)
		if err != nil {
			return err
		}
		defer done()
		return h(w, r)
	}
}

// catalogEntry is an indicator as the catalog lists it.
type catalogEntry struct {
	Indicator
	Dimensions []storage.Dimension `json:"dimensions"`
}

func (s *Service) handleIndicators(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.ReportRead); err != nil {
		return err
	}
	out := []catalogEntry{}
	for _, in := range registry {
		out = append(out, catalogEntry{in, in.Dimensions()})
	}
	terms := []string{}
	for _, t := range s.p.Terms {
		terms = append(terms, fmt.Sprintf("%02d-%02d", int(t.Month), t.Day))
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"indicators":  out,
		"periods":     []PeriodKind{Week, Month, Term, Year},
		"term_starts": terms,
	})
	return nil
}

// scope is the place a request asks about, checked against the caller:
// teacher_id — that teacher (403 unless their school is in the caller's
// scope); school_id — that school (403 outside the caller's scope);
// district_id — that district (403 unless the caller's scope holds the
// whole district, so never for a school admin); none — all the caller may see.
func (s *Service) scope(r *http.Request, f httpapi.Fields) (Scope, error) {
	p, err := httpapi.Authorize(r, authz.ReportRead)
	if err != nil {
		return Scope{}, err
	}
	ctx := r.Context()
	teacher := storage.UserID(httpapi.QueryID(r, "teacher_id", f))
	school := storage.SchoolID(httpapi.QueryID(r, "school_id", f))
	district := storage.DistrictID(httpapi.QueryID(r, "district_id", f))
	if err := f.Err(); err != nil {
		return Scope{}, err
	}
	if teacher != 0 {
		u, err := s.p.Store.GetUser(ctx, teacher)
		if err != nil {
			return Scope{}, err
		}
		if _, err := httpapi.Authorize(r, authz.ReportRead, httpapi.Place{District: u.DistrictID, School: u.SchoolID}); err != nil {
			return Scope{}, err
		}
		if !u.Has(storage.RoleTeacher) {
			return Scope{}, httpapi.Invalid("teacher_id", "is not a teacher")
		}
		sc := Scope{Level: "teacher", DistrictID: u.DistrictID, TeacherID: u.ID, TeacherName: u.Name,
			place: Place{DistrictID: u.DistrictID, TeacherID: u.ID}}
		if u.SchoolID != 0 {
			sch, err := s.p.Store.GetSchool(ctx, u.SchoolID)
			if err != nil {
				return Scope{}, err
			}
			sc.SchoolID, sc.SchoolName = sch.ID, sch.Name
		}
		return sc, nil
	}
	if school != 0 {
		sch, err := s.p.Store.GetSchool(ctx, school)
		if err != nil {
			return Scope{}, err
		}
		if _, err := httpapi.Authorize(r, authz.ReportRead, httpapi.SchoolPlace(sch)); err != nil {
			return Scope{}, err
		}
		return s.schoolScope(ctx, sch)
	}
	if district != 0 {
		if _, err := httpapi.Authorize(r, authz.ReportRead, httpapi.Place{District: district}); err != nil {
			return Scope{}, err
		}
		return s.districtScope(ctx, district)
	}
	sc := authz.ScopeOf(&p.User, authz.ReportRead)
	switch {
	case sc.All:
		return Scope{Level: "all"}, nil
	case sc.District != 0 && len(sc.Schools) == 0:
		return s.districtScope(ctx, sc.District)
	case sc.District == 0 && len(sc.Schools) == 1:
		sch, err := s.p.Store.GetSchool(ctx, sc.Schools[0])
		if err != nil {
			return Scope{}, err
		}
		return s.schoolScope(ctx, sch)
	}
	_, schools, err := httpapi.ScopeFilter(ctx, s.p.Store, sc)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Level: "schools", place: Place{SchoolIDs: schools}}, nil
}

func (s *Service) schoolScope(ctx context.Context, sch storage.School) (Scope, error) {
	d, err := s.p.Store.GetDistrict(ctx, sch.DistrictID)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Level: "school", DistrictID: d.ID, DistrictName: d.Name, SchoolID: sch.ID, SchoolName: sch.Name,
		place: Place{SchoolIDs: []storage.SchoolID{sch.ID}}}, nil
}

func (s *Service) districtScope(ctx context.Context, id storage.DistrictID) (Scope, error) {
	d, err := s.p.Store.GetDistrict(ctx, id)
	if err != nil {
		return Scope{}, err
	}
	return DistrictScope(d), nil
}

// DistrictScope is the scope of one district's statistics.
func DistrictScope(d storage.District) Scope {
	return Scope{Level: "district", DistrictID: d.ID, DistrictName: d.Name, place: Place{DistrictID: d.ID}}
}

// period reads period (week, month, term, year; default month) and date
// (YYYY-MM-DD, any day of it; default today), years 2000–2100 only.
func (s *Service) period(r *http.Request, f httpapi.Fields) Period {
	q := r.URL.Query()
	kind := PeriodKind(q.Get("period"))
	if kind == "" {
		kind = Month
	}
	if !slices.Contains([]PeriodKind{Week, Month, Term, Year}, kind) {
		f.Add("period", "must be week, month, term or year")
		return Period{}
	}
	at := s.p.Now()
	if v := q.Get("date"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, storage.Zone)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			f.Add("date", "must be a day YYYY-MM-DD between 2000 and 2100")
			return Period{}
		}
		at = t
	}
	p, err := PeriodOf(kind, at, s.p.Terms)
	if err != nil {
		f.Add("period", err.Error())
	}
	return p
}

func (s *Service) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	d, err := s.dashboard(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (s *Service) dashboard(r *http.Request) (Dashboard, error) {
	f := httpapi.Fields{}
	p := s.period(r, f)
	sc, err := s.scope(r, f)
	if err != nil {
		return Dashboard{}, err
	}
	return s.Dashboard(r.Context(), p, sc)
}

func (s *Service) handleBreakdown(w http.ResponseWriter, r *http.Request) error {
	f := httpapi.Fields{}
	q := r.URL.Query()
	in, ok := Lookup(q.Get("indicator"))
	if !ok {
		f.Add("indicator", "is not an indicator of GET /reports/indicators")
	}
	by := storage.Dimension(q.Get("by"))
	if ok && !slices.Contains(in.Dimensions(), by) {
		f.Add("by", "does not apply to this indicator")
	}
	p := s.period(r, f)
	sc, err := s.scope(r, f)
	if err != nil {
		return err
	}
	if by == storage.DimTeacher && sc.Level != "school" {
		return httpapi.Invalid("by", "teachers are listed for one school: give school_id")
	}
	if sc.Level == "teacher" && !slices.Contains(in.Dimensions(), storage.DimTeacher) {
		return httpapi.Invalid("indicator", "is not counted per teacher")
	}
	b, err := s.Breakdown(r.Context(), in, by, p, sc)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (s *Service) handleTargets(w http.ResponseWriter, r *http.Request) error {
	f := httpapi.Fields{}
	year := s.p.Now().In(storage.Zone).Year()
	if v := r.URL.Query().Get("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2000 || n > 2100 {
			f.Add("year", "must be a year between 2000 and 2100")
		}
		year = n
	}
	sc, err := s.scope(r, f)
	if err != nil {
		return err
	}
	if sc.Level == "teacher" {
		return httpapi.Invalid("teacher_id", "targets are set per school")
	}
	t, err := s.Targets(r.Context(), year, sc)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
	return nil
}

// handleExport writes the dashboard as CSV or XLSX: the period and the
// scope first, then one line per indicator in the dashboard's order.
func (s *Service) handleExport(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "xlsx" {
		return httpapi.Invalid("format", "must be csv or xlsx")
	}
	d, err := s.dashboard(r)
	if err != nil {
		return err
	}
	rows := ExportRows(d)
	name := fmt.Sprintf("yunke-report-%s-%s", d.Period.Kind, d.Period.Label)
	var b []byte
	if format == "csv" {
		b, err = exportCSV(rows)
	} else {
		b, err = exportXLSX(rows)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentTypes[format])
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	_, err = w.Write(b)
	return err
}

// exportCSV writes the lines of an export as CSV, UTF-8 with a byte-order
// mark so that spreadsheet programs read it as such.
func exportCSV(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("reports: csv: %w", err)
	}
	return buf.Bytes(), nil
}

// exportXLSX writes the lines of an export as a workbook of one sheet,
// numbers as numbers.
func exportXLSX(rows [][]string) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	sheet := x.GetSheetName(0)
	for i, row := range rows {
		for j, cell := range row {
			ref, _ := excelize.CoordinatesToCellName(j+1, i+1)
			var v any = cell
			if n, err := strconv.ParseFloat(cell, 64); err == nil && i >= exportHeaderRows {
				v = n
			}
			if err := x.SetCellValue(sheet, ref, v); err != nil {
				return nil, fmt.Errorf("reports: xlsx: %w", err)
			}
		}
	}
	// Readable as opened: the labels wide enough, the column names bold
	// and kept in view while scrolling.
	_ = x.SetColWidth(sheet, "A", "A", 30)
	_ = x.SetColWidth(sheet, "B", "C", 32)
	_ = x.SetColWidth(sheet, "D", "G", 14)
	if bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err == nil {
		last, _ := excelize.CoordinatesToCellName(7, exportHeaderRows)
		_ = x.SetCellStyle(sheet, "A1", last, bold)
	}
	_ = x.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: exportHeaderRows, TopLeftCell: fmt.Sprintf("A%d", exportHeaderRows+1), ActivePane: "bottomLeft"})
	buf, err := x.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("reports: xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

// exportHeaderRows is how many lines come before the indicators.
const exportHeaderRows = 4

// ExportRows is the dashboard as the lines of its exports: the period,
// the previous period and the scope, the column names, and
// one line per indicator in the dashboard's order. Numbers are written
// as the API answers them (full precision); no number is an empty cell.
func ExportRows(d Dashboard) [][]string {
	day := func(t time.Time) string { return t.In(storage.Zone).Format(time.DateOnly) }
	last := func(p Period) string { return day(p.End.Add(-time.Hour)) }
	out := [][]string{
		{"周期 Period", string(d.Period.Kind), d.Period.Label, day(d.Period.Start), last(d.Period)},
		{"上一周期 Previous", string(d.Previous.Kind), d.Previous.Label, day(d.Previous.Start), last(d.Previous)},
		{"范围 Scope", d.Scope.Level, d.Scope.Name()},
		{"key", "指标", "indicator", "unit", "current", "previous", "target"},
	}
	for _, r := range d.Rows {
		out = append(out, []string{r.Key, r.Zh, r.En, string(r.Unit), num(r.Current), num(r.Previous), num(r.Target)})
	}
	return out
}

func num(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}
