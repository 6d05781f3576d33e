package classes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/importer"
	"yunke/storage"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// MaxImportClasses bounds the classes one import creates (its rows times
// their weeks): one transaction holds them all.
const MaxImportClasses = 5000

// maxUpload bounds a multipart import request: the file plus the form fields.
const maxUpload = importer.MaxFileSize + 64<<10

// two is a message in both languages of the importer.
type two struct{ en, zh string }

func (m two) in(l importer.Lang) string {
	if l == importer.English {
		return m.en
	}
	return m.zh
}

// importGate lets each user run one import at a time.
type importGate struct {
	mu   sync.Mutex
	busy map[storage.UserID]bool
}

func (g *importGate) enter(u storage.UserID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy == nil {
		g.busy = map[storage.UserID]bool{}
	}
	if g.busy[u] {
		return false
	}
	g.busy[u] = true
	return true
}

func (g *importGate) leave(u storage.UserID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.busy, u)
}

var imports importGate

// importAnswer is what an import did (or, dry, would do).
type importAnswer struct {
	Created int             `json:"created"`
	DryRun  bool            `json:"dry_run"`
	Items   []storage.Class `json:"items"`
}

// handleImport schedules the classes of a spreadsheet, all or nothing: a
// file with any bad row creates nothing, and the answer lists every bad
// row with its number.
func (s *Service) handleImport(w http.ResponseWriter, r *http.Request) error {
	p, err := httpapi.Authorize(r, authz.ClassSchedule)
	if err != nil {
		return err
	}
	l := importer.Negotiate(r.Header.Get("Accept-Language"))
	if !imports.enter(p.User.ID) {
		return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "import_busy",
			Message: "another import of yours is still running: wait for it to finish"}
	}
	defer imports.leave(p.User.ID)
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: importer.Message(importer.ErrTooLarge, l)}
		}
		return httpapi.BadRequest("the request must be multipart/form-data with a file")
	}
	defer r.MultipartForm.RemoveAll()
	dry := false
	if v := r.FormValue("dry_run"); v != "" {
		if dry, err = strconv.ParseBool(v); err != nil {
			return httpapi.Invalid("dry_run", "must be true or false")
		}
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return httpapi.Invalid("file", "required")
	}
	data, err := io.ReadAll(io.LimitReader(file, importer.MaxFileSize+1))
	file.Close()
	if err != nil {
		return httpapi.BadRequest("could not read the file: %v", err)
	}
	subjects, err := s.p.Store.ListSubjects(r.Context())
	if err != nil {
		return err
	}
	parsed, err := importer.Parse(bytes.NewReader(data), hdr.Filename, importer.KindClasses, subjects)
	var re *importer.RowsError
	var rows []importer.RowError
	switch {
	case errors.As(err, &re):
		if re.Truncated() {
			return invalidRows(re.Errors, l)
		}
		rows = re.Errors
	case errors.Is(err, importer.ErrTooLarge), errors.Is(err, importer.ErrExpands):
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: importer.Message(err, l)}
	case err != nil:
		msg := importer.Message(err, l)
		return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rows", Message: msg,
			Rows: []httpapi.RowError{{Row: 1, Message: msg}}}
	}
	if parsed != nil && len(parsed.Classes) > MaxImportClasses {
		return httpapi.BadRequest("the file has %d classes; at most %d at once: split it", len(parsed.Classes), MaxImportClasses)
	}
	series, more := s.resolveRows(r, &p.User, parsed, subjects, l)
	rows = importer.SortErrors(rows, more)
	if len(rows) > 0 {
		return invalidRows(rows, l)
	}
	total := 0
	for _, occ := range series {
		total += len(occ)
	}
	if total > MaxImportClasses {
		return httpapi.BadRequest("the file schedules %d classes; at most %d at once: split it", total, MaxImportClasses)
	}
	if dry {
		httpapi.WriteJSON(w, http.StatusOK, importAnswer{Created: total, DryRun: true, Items: []storage.Class{}})
		return nil
	}
	made, err := s.p.Store.CreateClasses(r.Context(), httpapi.Actor(r), series)
	var se *storage.SeriesError
	var fe *storage.FieldError
	if errors.As(err, &se) && errors.As(se.Err, &fe) && se.Index < len(parsed.RowNumbers) {
		return invalidRows([]importer.RowError{{Row: parsed.RowNumbers[se.Index], Column: fe.Field, Message: fe.Message}}, l)
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, importAnswer{Created: len(made), Items: made})
	return nil
}

// invalidRows is the 422 answer listing rows, its messages in l.
func invalidRows(rows []importer.RowError, l importer.Lang) *httpapi.Error {
	out := make([]httpapi.RowError, len(rows))
	for i, r := range rows {
		r = r.In(l)
		out[i] = httpapi.RowError{Row: r.Row, Column: r.Column, Message: r.Message}
	}
	return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rows",
		Message: importer.Summary(len(rows), l), Rows: out}
}

// resolveRows turns the parsed rows into class series, checking each
// against the directory and the caller's scope; it returns the problems
// as row errors.
func (s *Service) resolveRows(r *http.Request, u *storage.User, parsed *importer.Parsed, subjects []storage.Subject, l importer.Lang) ([][]storage.ClassInput, []importer.RowError) {
	ctx := r.Context()
	var errs []importer.RowError
	fail := func(row int, col string, m two, args ...any) {
		errs = append(errs, importer.RowError{Row: row, Column: col, Message: fmt.Sprintf(m.in(l), args...)})
	}
	if parsed == nil {
		return nil, nil
	}
	subjectID := map[string]storage.SubjectID{}
	for _, sub := range subjects {
		subjectID[sub.Code] = sub.ID
	}
	schools := map[string]*storage.School{}
	teachers := map[string]*storage.User{}
	points := map[storage.SubjectID]map[string]storage.KnowledgePointID{}
	teacher := func(no string) *storage.User {
		if t, ok := teachers[no]; ok {
			return t
		}
		var t *storage.User
		if got, err := s.p.Store.GetUserByStaffNo(ctx, no); err == nil {
			t = &got
		}
		teachers[no] = t
		return t
	}
	var out [][]storage.ClassInput
	for i, row := range parsed.Classes {
		n := parsed.RowNumbers[i]
		before := len(errs)
		in := storage.ClassInput{Title: row.Title, SubjectID: subjectID[row.SubjectCode], Grade: row.Grade, Audience: row.Audience,
			Groups: row.Groups, StartsAt: row.StartsAt, PlannedMinutes: row.Minutes, Premium: row.Premium, Recording: row.Recording}
		switch {
		case row.SchoolCode != "":
			sc, ok := schools[row.SchoolCode]
			if !ok {
				if got, err := s.p.Store.GetSchoolByCode(ctx, row.SchoolCode); err == nil {
					sc = &got
				}
				schools[row.SchoolCode] = sc
			}
			if sc == nil {
				fail(n, "school_code", two{"no school has the code %q", "没有学校代码为 %q 的学校"}, row.SchoolCode)
				continue
			}
			in.DistrictID, in.SchoolID = sc.DistrictID, sc.ID
		case row.Audience == storage.AudienceDistrict:
			in.DistrictID = u.DistrictID
		default:
			in.DistrictID, in.SchoolID = u.DistrictID, u.SchoolID
			if u.SchoolID == 0 {
				fail(n, "school_code", two{"required, unless the audience is the district (全区)", "不能为空（上课对象为全区时除外）"})
				continue
			}
		}
		if !authz.ScopeOf(u, authz.ClassSchedule).Covers(in.DistrictID, in.SchoolID) {
			fail(n, "school_code", two{"you may not schedule classes there", "你无权在此安排课程"})
			continue
		}
		if in.SchoolID != 0 && row.Audience == storage.AudienceDistrict {
			fail(n, "audience", two{"a district-wide class (全区) has no school code", "全区课程不填学校代码"})
		}
		where := func(t *storage.User) bool {
			return t != nil && t.Active && t.Has(storage.RoleTeacher) && t.DistrictID == in.DistrictID &&
				(in.SchoolID == 0 || t.SchoolID == in.SchoolID)
		}
		if t := teacher(row.TeacherStaffNo); !where(t) {
			fail(n, "teacher", two{"%q is not an active teacher of the class's school", "%q 不是本校在职教师"}, row.TeacherStaffNo)
		} else {
			in.TeacherID = t.ID
		}
		for _, no := range row.AssistantNos {
			if t := teacher(no); !where(t) {
				fail(n, "assistants", two{"%q is not an active teacher of the class's school", "%q 不是本校在职教师"}, no)
			} else if t.ID != in.TeacherID {
				in.Assistants = append(in.Assistants, t.ID)
			}
		}
		if len(row.KnowledgePoints) > 0 {
			codes, ok := points[in.SubjectID]
			if !ok {
				codes = map[string]storage.KnowledgePointID{}
				kps, err := s.p.Store.ListKnowledgePoints(ctx, in.SubjectID, 0)
				if err != nil {
					fail(n, "knowledge_points", two{"could not read knowledge points: %v", "无法读取知识点：%v"}, err)
				}
				for _, kp := range kps {
					codes[kp.Code] = kp.ID
				}
				points[in.SubjectID] = codes
			}
			for _, c := range row.KnowledgePoints {
				if id, ok := codes[c]; ok {
					in.KnowledgePoints = append(in.KnowledgePoints, id)
				} else {
					fail(n, "knowledge_points", two{"the subject has no knowledge point %q", "该学科没有知识点 %q"}, c)
				}
			}
		}
		if len(errs) > before {
			continue
		}
		occ, err := s.Series(in, row.Weeks)
		if err != nil {
			fail(n, "weeks", two{"must be 1–%d", "必须在 1 到 %d 之间"}, s.p.MaxWeeks)
			continue
		}
		out = append(out, occ)
	}
	return out, errs
}
