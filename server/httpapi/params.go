package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"yunke/server/textcheck"
)

// MaxSearch bounds a list's search text q, in characters.
const MaxSearch = 100

// PathID parses the path value name as a positive id; anything else is
// ErrNotFound.
func PathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrNotFound
	}
	return id, nil
}

// ListPage reads limit (default 50, at most 500) and offset.
func ListPage(r *http.Request, f Fields) (limit, offset int) {
	q := r.URL.Query()
	limit, offset = 50, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			f.Add("limit", "must be a number from 1 to 500")
		} else {
			limit = n
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			f.Add("offset", "must be a number, 0 or more")
		} else {
			offset = n
		}
	}
	return limit, offset
}

// QueryBool reads an optional true/false query parameter.
func QueryBool(r *http.Request, name string, f Fields) *bool {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		f.Add(name, "must be true or false")
		return nil
	}
	return &b
}

// QueryID reads an optional positive id query parameter (0 when absent).
func QueryID(r *http.Request, name string, f Fields) int64 {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		f.Add(name, "must be a positive number")
		return 0
	}
	return id
}

// QuerySearch reads a list's search text q: at most MaxSearch characters.
func QuerySearch(r *http.Request, f Fields) string {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > MaxSearch {
		f.Add("q", fmt.Sprintf("at most %d characters", MaxSearch))
		return ""
	}
	return q
}

// CheckText trims *s and checks it has between min and max characters and
// no control or format characters (see textcheck.Invisible).
func CheckText(f Fields, field string, s *string, min, max int) {
	*s = strings.TrimSpace(*s)
	switch n := utf8.RuneCountInString(*s); {
	case !utf8.ValidString(*s):
		f.Add(field, "must be valid UTF-8")
	case n == 0 && min > 0:
		f.Add(field, "required")
	case n < min:
		f.Add(field, fmt.Sprintf("at least %d characters", min))
	case n > max:
		f.Add(field, fmt.Sprintf("at most %d characters", max))
	case textcheck.Invisible(*s):
		f.Add(field, "must not contain control or invisible formatting characters")
	}
}

// CheckCode trims *s and checks it is a code: 1–max letters, digits, '-', '_' or '.'.
func CheckCode(f Fields, field string, s *string, max int) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		f.Add(field, "required")
		return
	}
	if len(*s) > max || strings.IndexFunc(*s, func(c rune) bool {
		return !(c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_' || c == '.'))
	}) >= 0 {
		f.Add(field, fmt.Sprintf("1 to %d letters, digits, '-', '_' or '.'", max))
	}
}

// CheckRoom checks a room name: at most 64 characters, no spaces, slashes,
// control or format characters.
func CheckRoom(f Fields, room string) {
	if room == "" {
		f.Add("room", "required")
		return
	}
	if utf8.RuneCountInString(room) > 64 || !utf8.ValidString(room) || textcheck.Invisible(room) || strings.IndexFunc(room, func(c rune) bool {
		return unicode.IsSpace(c) || c == '/'
	}) >= 0 {
		f.Add("room", "at most 64 characters, no spaces or slashes")
	}
}

// ParseMonth reads YYYY-MM as the integer yyyymm.
func ParseMonth(v string) (int, bool) {
	t, err := time.Parse("2006-01", v)
	if err != nil {
		return 0, false
	}
	return t.Year()*100 + int(t.Month()), true
}

// SetIf sets *dst to *v when v is given (a PATCH body's optional field).
func SetIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
