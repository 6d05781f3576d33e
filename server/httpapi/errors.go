package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"yunke/server/auth"
	"yunke/storage"
)

// Error is the JSON error shape of every API: {"error": {...}}. It is also
// an error, so handlers return it and the gate writes it.
type Error struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Rows    []RowError        `json:"rows,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header (whole seconds).
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// RowError is one bad row (and column) of an uploaded file; rows are
// numbered as in the file, its header being row 1.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// Coded is an error of a domain that says how a client sees it.
type Coded interface {
	error
	// HTTPStatus is the status to answer with.
	HTTPStatus() int
	// Code is the machine-readable code of the error body.
	Code() string
}

// The errors every handler may answer with.
var (
	ErrUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "please sign in"}
	ErrForbidden       = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "you may not do this"}
	ErrCSRF            = &Error{Status: http.StatusForbidden, Code: "csrf", Message: "missing or wrong X-CSRF-Token, or a request from another site"}
	ErrMustChange      = &Error{Status: http.StatusForbidden, Code: "password_change_required", Message: "please change your password first"}
	ErrNotFound        = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such thing"}
	ErrTooLarge        = &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body too large"}
	ErrMediaType       = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the body as JSON, with Content-Type: application/json"}
	ErrLongQuery       = &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf("the query string is longer than %d bytes", MaxQuery)}
	// ErrBusy answers a request that found every password hashing slot
	// taken for a while: a flood of sign-ins waits, it does not take the
	// server down.
	ErrBusy = &Error{Status: http.StatusServiceUnavailable, Code: "busy", RetryAfter: 2 * time.Second,
		Message: "the server is checking many passwords at once: try again in a few seconds"}
)

// BadRequest is a 400 bad_request with a message.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// Fields collects what is wrong with each input field.
type Fields map[string]string

// Add records msg for field unless it already has a complaint.
func (f Fields) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err is nil when no field is wrong, else a 400 invalid.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "please correct the highlighted fields", Fields: f}
}

// Invalid is a 400 invalid naming one field.
func Invalid(field, msg string) error { return Fields{field: msg}.Err() }

// ToError maps any error a handler returns to what the client sees. It is
// the one place errors become statuses; unexpected reports an error no
// rule knows (it is logged, and answered 500).
func ToError(err error) (e *Error, unexpected bool) {
	var ae *Error
	var coded Coded
	var dup *storage.DuplicateError
	var fe *storage.FieldError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &coded):
		return &Error{Status: coded.HTTPStatus(), Code: coded.Code(), Message: coded.Error()}, false
	case errors.As(err, &mbe):
		return ErrTooLarge, false
	case errors.Is(err, auth.ErrBusy):
		return ErrBusy, false
	case errors.As(err, &dup):
		return &Error{Status: http.StatusConflict, Code: "duplicate", Message: "already exists",
			Fields: map[string]string{dup.Field: "already exists"}}, false
	case errors.Is(err, storage.ErrDuplicate):
		return &Error{Status: http.StatusConflict, Code: "duplicate", Message: "already exists"}, false
	case errors.Is(err, storage.ErrNotFound):
		return ErrNotFound, false
	case errors.Is(err, storage.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: "changed by someone else: reload and try again"}, false
	case errors.Is(err, storage.ErrClosed):
		return &Error{Status: http.StatusConflict, Code: "closed", Message: "this can no longer be changed"}, false
	case errors.As(err, &fe):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "please correct the highlighted fields",
			Fields: map[string]string{fe.Field: fe.Message}}, false
	case errors.Is(err, storage.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the input breaks a rule: " + err.Error()}, false
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "something went wrong on the server"}, true
}

// WriteError writes e as the {"error": {...}} body with its status (and
// Retry-After, if it has one).
func WriteError(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetrySeconds(e.RetryAfter)))
	}
	WriteJSON(w, e.Status, map[string]*Error{"error": e})
}

// RetrySeconds is wait in whole seconds, rounded up, at least 1.
func RetrySeconds(wait time.Duration) int {
	return max(1, int((wait+time.Second-1)/time.Second))
}
