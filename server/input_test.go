package server_test

// Input the API refuses before it reaches a handler's logic: bodies that
// are not JSON, invalid UTF-8, invisible characters in names and codes,
// and over-long query strings.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestJSONNeedsItsMediaType: a JSON body sent as anything but
// application/json (UTF-8) is refused with 415 unsupported_media_type, and
// changes nothing.
func TestJSONNeedsItsMediaType(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	signin := `{"username":"admin","password":"` + adminPassword + `"}`
	for _, ct := range []string{"text/plain", "", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonp"} {
		r := newAPI(t, srv).send("POST", "/api/v1/auth/signin", signin, "Content-Type", ct)
		if r.status != http.StatusUnsupportedMediaType || r.errCode() != "unsupported_media_type" {
			t.Errorf("Content-Type %q: %v, want 415 unsupported_media_type", ct, r)
		}
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		if r := newAPI(t, srv).send("POST", "/api/v1/auth/signin", signin, "Content-Type", ct); r.status != http.StatusOK {
			t.Errorf("Content-Type %q: %v, want 200", ct, r)
		}
	}

	admin := signedIn(t, srv, "admin", adminPassword)
	r := admin.send("POST", "/api/v1/districts", `{"code":"plain","name":"纯文本"}`, "Content-Type", "text/plain")
	if r.status != http.StatusUnsupportedMediaType || r.errCode() != "unsupported_media_type" {
		t.Errorf("text/plain district: %v, want 415", r)
	}
	if body := admin.must(200, "GET", "/api/v1/districts", nil, nil).body; strings.Contains(string(body), "plain") {
		t.Errorf("a refused request created a district: %s", body)
	}
}

// TestJSONInvalidUTF8: invalid UTF-8 inside a JSON string is a 400, not
// quietly replaced with U+FFFD and stored.
func TestJSONInvalidUTF8(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	r := admin.send("POST", "/api/v1/districts", []byte("{\"code\":\"bad8\",\"name\":\"东\xff区\"}"))
	if r.status != http.StatusBadRequest || r.errCode() != "bad_request" || !strings.Contains(string(r.body), "UTF-8") {
		t.Errorf("invalid UTF-8: %v, want 400 bad_request naming UTF-8", r)
	}
	if body := admin.must(200, "GET", "/api/v1/districts", nil, nil).body; strings.Contains(string(body), "bad8") {
		t.Errorf("a refused request created a district: %s", body)
	}
}

// invisibles are characters that make a name display as another, or not
// at all: zero-width spaces and joiners, bidirectional overrides and
// isolates, the byte-order mark, the soft hyphen, a line separator and a
// control character.
var invisibles = map[string]string{
	"zero-width space": "\u200b", "zero-width joiner": "\u200d", "left-to-right mark": "\u200e",
	"right-to-left override": "\u202e", "left-to-right embedding": "\u202a", "isolate": "\u2066",
	"pop isolate": "\u2069", "byte-order mark": "\ufeff", "soft hyphen": "\u00ad",
	"word joiner": "\u2060", "line separator": "\u2028", "escape": "\x1b",
}

// TestNamesRefuseInvisibleCharacters: names, codes and room names with
// control or format characters are refused with the field named; an
// ordinary name with spaces and Chinese passes.
func TestNamesRefuseInvisibleCharacters(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	fx := newFixture(t, srv)
	admin := fx.users["system_admin"]
	for what, c := range invisibles {
		for _, tc := range []struct {
			path, field string
			body        map[string]any
		}{
			{"/api/v1/districts", "name", map[string]any{"code": "d1", "name": "东" + c + "区"}},
			{"/api/v1/districts", "code", map[string]any{"code": "d" + c + "2", "name": "西区"}},
			{"/api/v1/schools", "name", map[string]any{"code": "s1", "name": "第一" + c + "小学", "kind": "primary", "district_id": fx.district}},
			{"/api/v1/users", "name", map[string]any{"username": "u1", "name": "王" + c + "明", "password": "password-1", "roles": []string{"teacher"}, "school_id": fx.schoolA}},
			{"/api/v1/users", "class", map[string]any{"username": "u2", "name": "李明", "password": "password-1", "roles": []string{"student"}, "school_id": fx.schoolA, "student_no": "X1", "class": "1" + c + "班"}},
			{"/api/v1/subjects", "name", map[string]any{"code": "sub1", "name": "数" + c + "学", "name_en": "Maths", "sort": 1}},
			{"/api/v1/dev/join", "name", map[string]any{"room": "demo", "name": "An" + c + "n", "role": "student"}},
			{"/api/v1/dev/join", "room", map[string]any{"room": "de" + c + "mo", "name": "Ann", "role": "student"}},
		} {
			r := admin.send("POST", tc.path, tc.body)
			if r.status != http.StatusBadRequest || r.errFields()[tc.field] == nil {
				t.Errorf("%s in %s %s: %v, want 400 naming %s", what, tc.path, tc.field, r, tc.field)
			}
		}
	}
	admin.must(201, "POST", "/api/v1/districts", map[string]any{"code": "ok-1", "name": "新 区 (东)"}, nil)
	// A joiner inside an emoji sequence is text.
	for _, name := range []string{"Ann 👩\u200d🏫", "Bo 👩🏽\u200d🏫", "Cy ❤\ufe0f\u200d🔥"} {
		admin.must(200, "POST", "/api/v1/dev/join", map[string]any{"room": "demo", "name": name, "role": "student"}, nil)
	}
	admin.must(201, "POST", "/api/v1/users", map[string]any{"username": "ok.user", "name": "Zoë 王小明", "password": "password-1", "roles": []string{"teacher"}, "school_id": fx.schoolA}, nil)
}

// TestSearchTextCapped: a list's search text q is at most 100 characters
// (a 400 naming q, not a database error), and no API takes a query string
// over 4 KiB.
func TestSearchTextCapped(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	admin := signedIn(t, srv, "admin", adminPassword)
	for _, path := range []string{"/api/v1/schools", "/api/v1/users"} {
		admin.must(200, "GET", path+"?q="+url.QueryEscape(strings.Repeat("学", 100)), nil, nil)
		if r := admin.send("GET", path+"?q="+strings.Repeat("a", 101), nil); r.status != http.StatusBadRequest || r.errFields()["q"] == nil {
			t.Errorf("%s with 101 characters of q: %v, want 400 naming q", path, r)
		}
		if r := admin.send("GET", path+"?q="+strings.Repeat("%25", 50001), nil); r.status != http.StatusBadRequest || r.errCode() != "bad_request" {
			t.Errorf("%s with 50,001 characters of q: %v, want 400 bad_request", path, r)
		}
	}
	if r := admin.send("GET", "/api/v1/subjects?x="+strings.Repeat("a", 5000), nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "query string") {
		t.Errorf("a 5,000-byte query string: %v, want 400", r)
	}
}
