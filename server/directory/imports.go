package directory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"sync"

	"yunke/server/auth"
	"yunke/server/authz"
	"yunke/server/httpapi"
	"yunke/server/importer"
	"yunke/storage"
)

// rowError is one bad cell or row of an imported file.
type rowError = importer.RowError

// maxUpload bounds a multipart import request: the file plus the form fields.
const maxUpload = 10<<20 + 64<<10

// invalidRows is the 422 answer listing rows, its messages in l.
func invalidRows(rows []rowError, l importer.Lang) *httpapi.Error {
	out := make([]httpapi.RowError, len(rows))
	for i, r := range rows {
		r = r.In(l)
		out[i] = httpapi.RowError{Row: r.Row, Column: r.Column, Message: r.Message}
	}
	return &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rows",
		Message: importer.Summary(len(rows), l), Rows: out}
}

// fileTooLarge is the 413 answer to a file over importer.MaxFileSize, in l.
func fileTooLarge(l importer.Lang) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
		Message: importer.Message(importer.ErrTooLarge, l)}
}

// importLang is the language of the caller's import messages.
func importLang(r *http.Request) importer.Lang {
	return importer.Negotiate(r.Header.Get("Accept-Language"))
}

func (h *Handler) handleImportTemplate(w http.ResponseWriter, r *http.Request) error {
	if _, err := httpapi.Authorize(r, authz.ImportTemplate); err != nil {
		return err
	}
	f := httpapi.Fields{}
	q := r.URL.Query()
	kind, err := importer.ParseKind(q.Get("kind"))
	if err != nil {
		f.Add("kind", "must be schools, teachers, students or knowledge_points")
	}
	format := importer.FormatXLSX
	if v := q.Get("format"); v != "" {
		if format, err = importer.ParseFormat(v); err != nil {
			f.Add("format", "must be csv or xlsx")
		}
	}
	if err := f.Err(); err != nil {
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
// at most importer.MaxFileSize, into memory. A larger one is refused with
// a message in l.
func readUpload(w http.ResponseWriter, r *http.Request, l importer.Lang) (*upload, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, httpapi.BadRequest("the request must be multipart/form-data")
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
				return nil, fileTooLarge(l)
			}
			return nil, httpapi.BadRequest("unreadable multipart form: %v", err)
		}
		name := part.FormName()
		if name == "file" {
			if u.hasFile {
				return nil, httpapi.BadRequest("send one file")
			}
			data, err := readPart(part, importer.MaxFileSize)
			if errors.Is(err, httpapi.ErrTooLarge) {
				return nil, fileTooLarge(l)
			}
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
		return nil, httpapi.ErrTooLarge
	case err != nil:
		return nil, httpapi.BadRequest("unreadable multipart form: %v", err)
	}
	return b.Bytes(), nil
}

// parseUpload runs the importer on the uploaded file. Row errors come
// back beside the valid rows, to be checked further: the answer lists
// every problem of the file at once. A file that cannot be read at all is
// answered at once, in l.
func (h *Handler) parseUpload(r *http.Request, u *upload, kind importer.Kind, l importer.Lang) (*importer.Parsed, []rowError, error) {
	subjects, err := h.store.ListSubjects(r.Context())
	if err != nil {
		return nil, nil, err
	}
	parsed, err := importer.Parse(bytes.NewReader(u.file), u.fileName, kind, subjects)
	var re *importer.RowsError
	switch {
	case errors.As(err, &re):
		if re.Truncated() {
			return nil, nil, invalidRows(re.Errors, l)
		}
		return parsed, re.Errors, nil
	case errors.Is(err, importer.ErrTooLarge):
		return nil, nil, fileTooLarge(l)
	case errors.Is(err, importer.ErrExpands):
		return nil, nil, &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: importer.Message(err, l)}
	case err != nil:
		msg := importer.Message(err, l)
		return nil, nil, &httpapi.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_rows", Message: msg,
			Rows: []httpapi.RowError{{Row: 1, Message: msg}}}
	}
	return parsed, nil, nil
}

type importAnswer struct {
	Kind   importer.Kind        `json:"kind"`
	Rows   int                  `json:"rows"`
	DryRun bool                 `json:"dry_run"`
	Result storage.ImportResult `json:"result"`
}

// errImportBusy answers a second import of a user whose first still runs.
var errImportBusy = &httpapi.Error{Status: http.StatusTooManyRequests, Code: "import_busy",
	Message: "another import of yours is still running: wait for it to finish"}

// importGate lets each user run one import at a time: an import holds its
// file, and what the file expands to, in memory.
type importGate struct {
	mu   sync.Mutex
	busy map[storage.UserID]bool
}

// enter reports whether user may start an import; if so, leave must follow.
func (g *importGate) enter(user storage.UserID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[user] {
		return false
	}
	if g.busy == nil {
		g.busy = map[storage.UserID]bool{}
	}
	g.busy[user] = true
	return true
}

func (g *importGate) leave(user storage.UserID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.busy, user)
}

// importAuthorizer is what the store asks, inside the import's
// transaction, about every teacher and student row: may u do through the
// import what the users API would let them do? Create the user, or change
// the account as it is into what it will be (handleUpdateUser's two
// checks).
func importAuthorizer(u *storage.User) func(old *storage.User, in storage.UserInput) bool {
	return func(old *storage.User, in storage.UserInput) bool {
		to := authz.Subject{District: in.DistrictID, School: in.SchoolID, Roles: in.Roles}
		if old == nil {
			return authz.CanManageUser(u, authz.UserCreate, to)
		}
		return authz.CanManageUser(u, authz.UserUpdate, authz.Subject(httpapi.AccountOf(*old))) &&
			authz.CanManageUser(u, authz.UserUpdate, to)
	}
}

// beginImport authorizes an import, takes the caller's one import place
// (done gives it back) and reads the upload; lang is the caller's language.
func (h *Handler) beginImport(w http.ResponseWriter, r *http.Request, a authz.Action, at ...httpapi.Target) (
	p *httpapi.Principal, u *upload, lang importer.Lang, done func(), err error) {
	if p, err = httpapi.Authorize(r, a, at...); err != nil {
		return nil, nil, lang, nil, err
	}
	if !h.importing.enter(p.User.ID) {
		return nil, nil, lang, nil, errImportBusy
	}
	done = func() { h.importing.leave(p.User.ID) }
	lang = importLang(r)
	if u, err = readUpload(w, r, lang); err != nil {
		done()
		return nil, nil, lang, nil, err
	}
	return p, u, lang, done, nil
}

// handleImport imports schools, teachers or students from a spreadsheet:
// all rows or none. What is wrong with the file is said in the caller's
// language (Accept-Language).
func (h *Handler) handleImport(w http.ResponseWriter, r *http.Request) error {
	p, u, lang, done, err := h.beginImport(w, r, authz.ImportRun)
	if err != nil {
		return err
	}
	defer done()
	f := httpapi.Fields{}
	kind, err := importer.ParseKind(u.fields["kind"])
	switch {
	case err != nil:
		f.Add("kind", "must be schools, teachers or students")
	case kind == importer.KindKnowledgePoints:
		f.Add("kind", "knowledge points are imported at /api/v1/knowledge-points/import")
	}
	dryRun := false
	if v := u.fields["dry_run"]; v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			f.Add("dry_run", "must be true or false")
		}
	}
	pw := u.fields["initial_password"]
	if kind == importer.KindTeachers || kind == importer.KindStudents {
		if msg := auth.CheckPassword(pw, ""); msg != "" {
			f.Add("initial_password", msg)
		}
	}
	district := p.User.DistrictID
	if v := u.fields["district_id"]; v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.Add("district_id", "must be a positive number")
		}
		district = storage.DistrictID(id)
	}
	if !u.hasFile {
		f.Add("file", "required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if district == 0 {
		if district, err = h.onlyDistrict(r); err != nil {
			return err
		}
	}
	if kind == importer.KindSchools {
		// New schools land in the district: a school admin may not create them.
		if _, err := httpapi.Authorize(r, authz.ImportRun, httpapi.Place{District: district}); err != nil {
			return err
		}
	}
	if _, err := h.store.GetDistrict(r.Context(), district); errors.Is(err, storage.ErrNotFound) {
		return (httpapi.Fields{"district_id": "no such district"}).Err()
	} else if err != nil {
		return err
	}
	parsed, rows, err := h.parseUpload(r, u, kind, lang)
	if err != nil {
		return err
	}
	// The store checks the valid rows against the database and the
	// caller's scope, in the transaction that writes them. A dry run goes
	// through the same transaction, which is then rolled back: its counts
	// are exactly what the import would do. A file with bad rows is only
	// checked, so that the answer lists all its problems.
	batch := storage.ImportBatch{DistrictID: district, Schools: parsed.Schools, Teachers: parsed.Teachers, Students: parsed.Students,
		DryRun: dryRun || len(rows) > 0, Authorize: importAuthorizer(&p.User)}
	if kind != importer.KindSchools {
		if batch.InitialPasswordHash, err = h.hashPassword(r.Context(), pw); err != nil {
			return err
		}
	}
	ans := importAnswer{Kind: kind, Rows: parsed.Rows, DryRun: dryRun}
	ans.Result, err = h.store.Import(r.Context(), httpapi.Actor(r), batch)
	var ire *storage.ImportRowsError
	switch {
	case errors.As(err, &ire):
		rows = append(rows, fileRows(ire, parsed.RowNumbers)...)
	case err != nil && len(rows) > 0:
		// The file's own problems come first.
		if _, unexpected := httpapi.ToError(err); unexpected {
			return err
		}
	case err != nil:
		return err
	}
	if len(rows) > 0 {
		return invalidRows(importer.SortErrors(rows), lang)
	}
	httpapi.WriteJSON(w, http.StatusOK, ans)
	return nil
}

// fileRows numbers the store's row errors as the file does: the batch
// holds one kind, whose i-th row is on the file's row rowNumbers[i].
func fileRows(e *storage.ImportRowsError, rowNumbers []int) []rowError {
	out := make([]rowError, 0, len(e.Rows))
	for _, r := range e.Rows {
		row := r.Index + 2 // the header is row 1
		if r.Index < len(rowNumbers) {
			row = rowNumbers[r.Index]
		}
		out = append(out, importer.StoreError(row, r))
	}
	return out
}

// onlyDistrict is the district of an installation that has just one, for
// a system administrator who named none.
func (h *Handler) onlyDistrict(r *http.Request) (storage.DistrictID, error) {
	ds, err := h.store.ListDistricts(r.Context())
	if err != nil {
		return 0, err
	}
	if len(ds) != 1 {
		return 0, (httpapi.Fields{"district_id": "required: there is more than one district"}).Err()
	}
	return ds[0].ID, nil
}

// handleImportKnowledgePoints imports a knowledge-point tree: all rows or
// none, its problems said in the caller's language.
func (h *Handler) handleImportKnowledgePoints(w http.ResponseWriter, r *http.Request) error {
	_, u, lang, done, err := h.beginImport(w, r, authz.KnowledgeImport, httpapi.Place{})
	if err != nil {
		return err
	}
	defer done()
	if !u.hasFile {
		return (httpapi.Fields{"file": "required"}).Err()
	}
	parsed, rows, err := h.parseUpload(r, u, importer.KindKnowledgePoints, lang)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		return invalidRows(rows, lang)
	}
	counts, err := h.store.ImportKnowledgePoints(r.Context(), httpapi.Actor(r), parsed.KnowledgePoints)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, counts)
	return nil
}
