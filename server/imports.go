package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"yunke/server/auth"
	"yunke/server/authz"
	"yunke/server/importer"
	"yunke/storage"
)

// rowError is one bad cell or row of an imported file.
type rowError = importer.RowError

func invalidRows(rows []rowError) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_rows",
		Message: fmt.Sprintf("%d problems in the file: nothing was imported", len(rows)), Rows: rows}
}

func (s *Server) handleImportTemplate(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.ImportTemplate); err != nil {
		return err
	}
	f := fieldErrors{}
	q := r.URL.Query()
	kind, err := importer.ParseKind(q.Get("kind"))
	if err != nil {
		f.add("kind", "must be schools, teachers, students or knowledge_points")
	}
	format := importer.FormatXLSX
	if v := q.Get("format"); v != "" {
		if format, err = importer.ParseFormat(v); err != nil {
			f.add("format", "must be csv or xlsx")
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	data, name, ctype, err := importer.Template(kind, format)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
	return nil
}

// upload is a multipart import request.
type upload struct {
	fields   map[string]string
	file     []byte
	fileName string
	hasFile  bool
}

// readUpload reads a multipart form of small fields and one "file" part,
// at most importer.MaxFileSize, into memory.
func readUpload(w http.ResponseWriter, r *http.Request) (*upload, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("the request must be multipart/form-data")
	}
	u := &upload{fields: map[string]string{}}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge
			}
			return nil, badRequest("unreadable multipart form: %v", err)
		}
		name := part.FormName()
		if name == "file" {
			if u.hasFile {
				return nil, badRequest("send one file")
			}
			data, err := readPart(part, importer.MaxFileSize)
			if err != nil {
				return nil, err
			}
			u.file, u.fileName, u.hasFile = data, part.FileName(), true
			continue
		}
		v, err := readPart(part, 1024)
		if err != nil {
			return nil, err
		}
		u.fields[name] = string(v)
	}
	return u, nil
}

func readPart(p *multipart.Part, limit int64) ([]byte, error) {
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(p, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), n > limit:
		return nil, errTooLarge
	case err != nil:
		return nil, badRequest("unreadable multipart form: %v", err)
	}
	return b.Bytes(), nil
}

// parseUpload runs the importer on the uploaded file.
func (s *Server) parseUpload(r *http.Request, u *upload, kind importer.Kind) (*importer.Parsed, error) {
	subjects, err := s.catalog.ListSubjects(r.Context())
	if err != nil {
		return nil, err
	}
	parsed, err := importer.Parse(bytes.NewReader(u.file), u.fileName, kind, subjects)
	var re *importer.RowsError
	switch {
	case errors.As(err, &re):
		return nil, invalidRows(re.Errors)
	case errors.Is(err, importer.ErrTooLarge):
		return nil, errTooLarge
	case err != nil:
		return nil, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_rows", Message: err.Error(),
			Rows: []rowError{{Row: 1, Message: err.Error()}}}
	}
	return parsed, nil
}

type importAnswer struct {
	Kind   importer.Kind        `json:"kind"`
	Rows   int                  `json:"rows"`
	DryRun bool                 `json:"dry_run"`
	Result storage.ImportResult `json:"result"`
}

// handleImport imports schools, teachers or students from a spreadsheet:
// all rows or none.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authorize(r, authz.ImportRun)
	if err != nil {
		return err
	}
	u, err := readUpload(w, r)
	if err != nil {
		return err
	}
	f := fieldErrors{}
	kind, err := importer.ParseKind(u.fields["kind"])
	switch {
	case err != nil:
		f.add("kind", "must be schools, teachers or students")
	case kind == importer.KindKnowledgePoints:
		f.add("kind", "knowledge points are imported at /api/v1/knowledge-points/import")
	}
	dryRun := false
	if v := u.fields["dry_run"]; v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			f.add("dry_run", "must be true or false")
		}
	}
	pw := u.fields["initial_password"]
	if kind == importer.KindTeachers || kind == importer.KindStudents {
		if msg := auth.CheckPassword(pw, ""); msg != "" {
			f.add("initial_password", msg)
		}
	}
	district := p.user.DistrictID
	if v := u.fields["district_id"]; v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.add("district_id", "must be a positive number")
		}
		district = storage.DistrictID(id)
	}
	if !u.hasFile {
		f.add("file", "required")
	}
	if err := f.err(); err != nil {
		return err
	}
	if kind == importer.KindSchools {
		if district == 0 {
			if district, err = s.onlyDistrict(r); err != nil {
				return err
			}
		}
		// New schools land in the district: a school admin may not create them.
		if _, err := s.authorize(r, authz.ImportRun, place{district: district}); err != nil {
			return err
		}
		if _, err := s.directory.GetDistrict(r.Context(), district); errors.Is(err, storage.ErrNotFound) {
			return (fieldErrors{"district_id": "no such district"}).err()
		} else if err != nil {
			return err
		}
	}
	parsed, err := s.parseUpload(r, u, kind)
	if err != nil {
		return err
	}
	batch := storage.ImportBatch{DistrictID: district, Schools: parsed.Schools, Teachers: parsed.Teachers, Students: parsed.Students}
	if rows, err := s.checkImportScope(r, &p.user, batch, parsed.RowNumbers); err != nil {
		return err
	} else if len(rows) > 0 {
		return invalidRows(rows)
	}
	ans := importAnswer{Kind: kind, Rows: parsed.Rows, DryRun: dryRun}
	// A dry run goes through the same transaction, which is then rolled
	// back: its counts are exactly what the import would do.
	batch.DryRun = dryRun
	if kind != importer.KindSchools {
		if batch.InitialPasswordHash, err = s.hashPassword(w, r, pw); err != nil {
			return err
		}
	}
	if ans.Result, err = s.imports.Import(r.Context(), actor(r), batch); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// onlyDistrict is the district of an installation that has just one, for
// a system administrator who named none.
func (s *Server) onlyDistrict(r *http.Request) (storage.DistrictID, error) {
	ds, err := s.directory.ListDistricts(r.Context())
	if err != nil {
		return 0, err
	}
	if len(ds) != 1 {
		return 0, (fieldErrors{"district_id": "required: there is more than one district"}).err()
	}
	return ds[0].ID, nil
}

// checkImportScope answers a row error for every row naming a school the
// caller may not import into (or that does not exist). Rows are numbered
// as in the file, the header being row 1.
func (s *Server) checkImportScope(r *http.Request, u *storage.User, b storage.ImportBatch, rowNumbers []int) ([]rowError, error) {
	// rowNo is the spreadsheet row of the i-th parsed entry (the header is row 1).
	rowNo := func(i int) int {
		if i < len(rowNumbers) {
			return rowNumbers[i]
		}
		return i + 2
	}
	var rows []rowError
	known := map[string]*storage.School{}
	lookup := func(code string) (*storage.School, error) {
		if sc, ok := known[code]; ok {
			return sc, nil
		}
		sc, err := s.imports.GetSchoolByCode(r.Context(), code)
		if errors.Is(err, storage.ErrNotFound) {
			known[code] = nil
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		known[code] = &sc
		return &sc, nil
	}
	scope := authz.ScopeOf(u, authz.ImportRun)
	check := func(i int, column, code string, mustExist bool) error {
		sc, err := lookup(code)
		if err != nil {
			return err
		}
		switch {
		case sc == nil && mustExist:
			rows = append(rows, rowError{Row: rowNo(i), Column: column, Message: fmt.Sprintf("no school has the code %q", code)})
		case sc != nil && !scope.Covers(sc.DistrictID, sc.ID):
			rows = append(rows, rowError{Row: rowNo(i), Column: column, Message: fmt.Sprintf("school %q is not one you may import into", code)})
		case sc != nil && !mustExist && sc.DistrictID != b.DistrictID:
			rows = append(rows, rowError{Row: rowNo(i), Column: column, Message: fmt.Sprintf("school %q belongs to another district", code)})
		}
		return nil
	}
	for i, row := range b.Schools {
		if err := check(i, "code", row.Code, false); err != nil {
			return nil, err
		}
	}
	for i, row := range b.Teachers {
		if err := check(i, "school_code", row.SchoolCode, true); err != nil {
			return nil, err
		}
	}
	for i, row := range b.Students {
		if err := check(i, "school_code", row.SchoolCode, true); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// handleImportKnowledgePoints imports a knowledge-point tree: all rows or none.
func (s *Server) handleImportKnowledgePoints(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.authorize(r, authz.KnowledgeImport, place{}); err != nil {
		return err
	}
	u, err := readUpload(w, r)
	if err != nil {
		return err
	}
	if !u.hasFile {
		return (fieldErrors{"file": "required"}).err()
	}
	parsed, err := s.parseUpload(r, u, importer.KindKnowledgePoints)
	if err != nil {
		return err
	}
	counts, err := s.catalog.ImportKnowledgePoints(r.Context(), actor(r), parsed.KnowledgePoints)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, counts)
	return nil
}
