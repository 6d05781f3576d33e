package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxJSONBody bounds a JSON request body.
const MaxJSONBody = 64 << 10

// WriteJSON answers v as JSON with status; answers are never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// List is the answer of a paged list.
type List[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

// Items is the answer of an unpaged list.
type Items[T any] struct {
	Items []T `json:"items"`
}

// NonNil makes an empty list encode as [] rather than null.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DecodeJSON reads one JSON object into v, rejecting other media types,
// invalid UTF-8 (which encoding/json would quietly turn into U+FFFD),
// unknown fields, trailing data and bodies over MaxJSONBody.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if !isJSON(r.Header.Get("Content-Type")) {
		return ErrMediaType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrTooLarge
		}
		return BadRequest("reading the request body: %v", err)
	}
	if !utf8.Valid(body) {
		return BadRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return BadRequest("request body must be a JSON object")
		case errors.As(err, &ute) && ute.Field != "":
			return Invalid(ute.Field, "must be "+jsonKind(ute.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return BadRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return BadRequest("request body must be a JSON object: %v", err)
	}
	if dec.More() {
		return BadRequest("request body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("request body must be one JSON object")
	}
	return nil
}

// isJSON reports whether a Content-Type header names JSON: application/json,
// with no charset or UTF-8.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice":
		return "a list"
	}
	return "a " + k
}
