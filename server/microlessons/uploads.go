package microlessons

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"yunke/server/httpapi"
	"yunke/server/textcheck"
	"yunke/storage"
)

// The tus endpoint (https://tus.io/protocols/resumable-upload, v1.0.0 with
// the creation and termination extensions): each of its requests comes
// through the API's gate like any route — session, CSRF token on writes,
// the microlesson.upload action — and then, for an existing upload, past
// the ownership check, before tusd's handler sees it. tusd's plain-text
// errors are rewritten as the API's JSON errors.

// createdKey carries, through tusd, the id of the upload a POST created.
type createdKey struct{}

// handleCreateUpload is the tus creation request: POST with Upload-Length
// and Upload-Metadata (filename, filetype: shown, never trusted).
func (s *Service) handleCreateUpload(w http.ResponseWriter, r *http.Request) error {
	if n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64); err == nil && n > s.p.MaxBytes {
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
			Message: "a micro-lesson's video may be at most " + sizeText(s.p.MaxBytes)}
	}
	var created string
	r = r.WithContext(context.WithValue(r.Context(), createdKey{}, &created))
	tw := s.serveTus(s.tusPost, w, r, "")
	if created != "" && tw.status != http.StatusCreated {
		// Refused after the row was written (tusd could not create the
		// files): nothing of it may stay.
		if err := s.discard(context.WithoutCancel(r.Context()), created); err != nil {
			s.log.Warn("discard failed upload", "upload", created, "err", err)
		}
	}
	return nil
}

// preCreate runs inside tusd's creation, once the request's length is
// known to be within MaxBytes: it names the upload and records it as the
// caller's, unless they have too many uploads in progress or the staging
// space is claimed.
func (s *Service) preCreate(hook handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	p := httpapi.PrincipalFrom(hook.Context)
	created, _ := hook.Context.Value(createdKey{}).(*string)
	if p == nil || created == nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, handler.NewError("ERR_FORBIDDEN", "please sign in", http.StatusForbidden)
	}
	now := s.p.Now()
	u := storage.MicrolessonUpload{ID: newUploadID(), UserID: p.User.ID, SizeBytes: hook.Upload.Size,
		Filename: cleanFilename(hook.Upload.MetaData["filename"]), CreatedAt: now, ExpiresAt: now.Add(s.p.UploadTTL)}
	err := s.p.Store.CreateMicrolessonUpload(hook.Context, u, s.p.UploadsPerUser, s.p.StagingBytes)
	switch {
	case errors.Is(err, storage.ErrTooMany):
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, handler.NewError("ERR_TOO_MANY_UPLOADS",
			"you have "+strconv.Itoa(s.p.UploadsPerUser)+" uploads in progress: finish or cancel one first", http.StatusTooManyRequests)
	case errors.Is(err, storage.ErrFull):
		e := handler.NewError("ERR_UPLOADS_FULL", "the server holds as many unfinished uploads as it has room for: try again later", http.StatusServiceUnavailable)
		e.HTTPResponse.Header["Retry-After"] = "600"
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, e
	case err != nil:
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, err
	}
	*created = u.ID
	// Only what the client said of the file, cleaned; nothing it sends
	// can name where the bytes go.
	meta := handler.MetaData{}
	if u.Filename != "" {
		meta["filename"] = u.Filename
	}
	return handler.HTTPResponse{}, handler.FileInfoChanges{ID: u.ID, MetaData: meta}, nil
}

// cleanFilename keeps a client's file name only as a label.
func cleanFilename(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if !utf8.ValidString(name) || textcheck.Invisible(name) {
		return ""
	}
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	return name
}

// handleUploadOffset is the tus HEAD request: how much of the caller's
// upload has arrived (Upload-Offset), to resume from there.
func (s *Service) handleUploadOffset(w http.ResponseWriter, r *http.Request) error {
	return s.existing(s.tusHead, w, r)
}

// handleUploadChunk is the tus PATCH request: bytes appended at Upload-Offset.
func (s *Service) handleUploadChunk(w http.ResponseWriter, r *http.Request) error {
	return s.existing(s.tusPatch, w, r)
}

// handleCancelUpload is the tus DELETE request (termination): the upload
// and its bytes are removed.
func (s *Service) handleCancelUpload(w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	u, err := s.ownUpload(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if tw := s.serveTus(s.tusDelete, w, r, u.ID); tw.status == http.StatusNoContent {
		if err := s.p.Store.DeleteMicrolessonUpload(context.WithoutCancel(r.Context()), u.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("forget cancelled upload", "upload", u.ID, "err", err)
		}
	}
	return nil
}

// existing passes a request for one of the caller's uploads to tusd.
func (s *Service) existing(h http.Handler, w http.ResponseWriter, r *http.Request) error {
	p := httpapi.PrincipalFrom(r.Context())
	u, err := s.ownUpload(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.serveTus(h, w, r, u.ID)
	return nil
}

// serveTus runs a tusd handler on r: for an existing upload with the path
// reduced to its id (tusd takes the whole path for the id), always
// without a method override (the method is the route's).
func (s *Service) serveTus(h http.Handler, w http.ResponseWriter, r *http.Request, id string) *tusWriter {
	r = r.Clone(r.Context())
	r.Header.Del("X-HTTP-Method-Override")
	if id != "" {
		u := *r.URL
		u.Path, u.RawPath = id, ""
		r.URL = &u
	}
	tw := &tusWriter{ResponseWriter: w, log: s.log}
	h.ServeHTTP(tw, r)
	tw.finish()
	return tw
}

// tusWriter rewrites what tusd answers: an error's "ERR_CODE: message"
// text as the API's JSON error (a server error without its details,
// which are logged), and the absolute Location of a new upload as a path
// (tusd builds it from the request, which behind a TLS proxy names the
// wrong scheme; clients resolve it against the endpoint).
type tusWriter struct {
	http.ResponseWriter
	log    *slog.Logger
	status int
	errBuf *bytes.Buffer // an error answer being held back
}

func (w *tusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if loc := w.Header().Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			w.Header().Set("Location", u.EscapedPath())
		}
	}
	if code >= 400 {
		w.errBuf = &bytes.Buffer{}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.errBuf != nil {
		if w.errBuf.Len() < 4096 {
			w.errBuf.Write(b)
		}
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets tusd's http.ResponseController reach the connection (it
// extends the read deadline while a body streams in).
func (w *tusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes a held-back error as JSON.
func (w *tusWriter) finish() {
	if w.errBuf == nil {
		return
	}
	tusCode, msg, _ := strings.Cut(strings.TrimSpace(w.errBuf.String()), ": ")
	e := &httpapi.Error{Status: w.status, Code: apiCode(tusCode, w.status), Message: msg}
	if w.status >= 500 && tusCode == "ERR_INTERNAL_SERVER_ERROR" {
		w.log.Error("tus upload", "err", msg)
		e.Message = "something went wrong on the server"
	}
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(w.status))
	}
	w.Header().Del("Content-Length")
	httpapi.WriteError(w.ResponseWriter, e)
}

// apiCode is the API error code of a tusd error code: the same words in
// lower case (ERR_MISMATCHED_OFFSET: mismatched_offset), except those the
// API names already.
func apiCode(tusCode string, status int) string {
	switch {
	case tusCode == "ERR_MAX_SIZE_EXCEEDED", tusCode == "ERR_UPLOAD_SIZE_EXCEEDED":
		return "too_large"
	case tusCode == "ERR_UPLOAD_NOT_FOUND":
		return "not_found"
	case tusCode == "ERR_INTERNAL_SERVER_ERROR":
		return "internal"
	case strings.HasPrefix(tusCode, "ERR_") && len(tusCode) > 4 && !strings.ContainsAny(tusCode, " \n"):
		return strings.ToLower(strings.TrimPrefix(tusCode, "ERR_"))
	}
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusConflict:
		return "conflict"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

// sizeText writes a byte count for people: "2 GiB", "500 MiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<20:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// tusLogger passes tusd's warnings and errors to logger; its line per
// request and response is left out, and a body cut off by the client (a
// paused or dropped upload, which resumes) is only information.
func tusLogger(logger *slog.Logger) *xslog.Logger {
	return xslog.New(tusLog{logger.Handler()})
}

type tusLog struct{ h slog.Handler }

func (t tusLog) Enabled(ctx context.Context, l xslog.Level) bool {
	return l >= xslog.LevelWarn && t.h.Enabled(ctx, slog.Level(l))
}

func (t tusLog) Handle(ctx context.Context, r xslog.Record) error {
	level := slog.Level(r.Level)
	if r.Message == "BodyReadError" {
		level = slog.LevelInfo
	}
	rec := slog.NewRecord(r.Time, level, "tus: "+r.Message, r.PC)
	r.Attrs(func(a xslog.Attr) bool {
		rec.AddAttrs(slog.Any(a.Key, a.Value.Any()))
		return true
	})
	return t.h.Handle(ctx, rec)
}

func (t tusLog) WithAttrs(as []xslog.Attr) xslog.Handler {
	out := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		out = append(out, slog.Any(a.Key, a.Value.Any()))
	}
	return tusLog{t.h.WithAttrs(out)}
}

func (t tusLog) WithGroup(name string) xslog.Handler { return tusLog{t.h.WithGroup(name)} }
