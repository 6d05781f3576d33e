package server

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"yunke/server/authz"
	"yunke/server/textcheck"
	"yunke/server/token"
	"yunke/signaling/events"
	"yunke/storage"
)

// apiError is the JSON error shape of every API: {"error": {...}}. It is
// also an error, so handlers return it and apiFail writes it.
type apiError struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Rows    []rowError        `json:"rows,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// The errors every handler may answer with.
var (
	errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "please sign in"}
	errForbidden       = &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "you may not do this"}
	errCSRF            = &apiError{Status: http.StatusForbidden, Code: "csrf", Message: "missing or wrong X-CSRF-Token, or a request from another site"}
	errMustChange      = &apiError{Status: http.StatusForbidden, Code: "password_change_required", Message: "please change your password first"}
	errNotFound        = &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such thing"}
	errTooLarge        = &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "request body too large"}
	errMediaType       = &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send the body as JSON, with Content-Type: application/json"}
	errTooManySockets  = &apiError{Status: http.StatusTooManyRequests, Code: "too_many_sockets", Message: "too many connections open: close other tabs or windows of this site"}
	errLongQuery       = &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf("the query string is longer than %d bytes", maxQuery)}
)

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// fieldErrors collects what is wrong with each input field.
type fieldErrors map[string]string

// add records msg for field unless it already has a complaint.
func (f fieldErrors) add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// err is nil when no field is wrong, else a 400 invalid.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "please correct the highlighted fields", Fields: f}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	writeJSON(w, status, map[string]apiError{"error": e})
}

// toAPIError maps any error a handler returns to what the client sees. It
// is the one place store errors become statuses; the bool says the error
// was unexpected (and should be logged).
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var dup *storage.DuplicateError
	var fe *storage.FieldError
	var mbe *http.MaxBytesError
	if te, ok := tutoringAPIError(err); ok {
		return te, false
	}
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.As(err, &mbe):
		return errTooLarge, false
	case errors.Is(err, events.ErrTooManySockets):
		return errTooManySockets, false
	case errors.As(err, &dup):
		return &apiError{Status: http.StatusConflict, Code: "duplicate", Message: "already exists",
			Fields: map[string]string{dup.Field: "already exists"}}, false
	case errors.Is(err, storage.ErrDuplicate):
		return &apiError{Status: http.StatusConflict, Code: "duplicate", Message: "already exists"}, false
	case errors.Is(err, storage.ErrNotFound):
		return errNotFound, false
	case errors.Is(err, storage.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: "changed by someone else: reload and try again"}, false
	case errors.As(err, &fe):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "please correct the highlighted fields",
			Fields: map[string]string{fe.Field: fe.Message}}, false
	case errors.Is(err, storage.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "the input breaks a rule: " + err.Error()}, false
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "something went wrong on the server"}, true
}

// apiFail writes err as an API error; unexpected errors are logged (the
// message of a store error never carries a secret).
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	ae, unexpected := toAPIError(err)
	if unexpected {
		s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if ae.Status == http.StatusUnauthorized {
		clearSessionCookie(w, s.cookieSecure(r))
	}
	writeError(w, ae.Status, *ae)
}

const (
	maxJSONBody = 64 << 10
	// maxUpload bounds a multipart import request: the file plus the form fields.
	maxUpload = 10<<20 + 64<<10
	// maxQuery bounds the query string of every API request.
	maxQuery = 4 << 10
	// maxSearch bounds a list's search text q, in characters.
	maxSearch = 100
)

// decodeJSON reads one JSON object into v, rejecting other media types,
// invalid UTF-8 (which encoding/json would quietly turn into U+FFFD),
// unknown fields, trailing data and bodies over maxJSONBody.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if !isJSON(r.Header.Get("Content-Type")) {
		return errMediaType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return badRequest("reading the request body: %v", err)
	}
	if !utf8.Valid(body) {
		return badRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return errTooLarge
		case errors.Is(err, io.EOF):
			return badRequest("request body must be a JSON object")
		case errors.As(err, &ute) && ute.Field != "":
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "please correct the highlighted fields",
				Fields: map[string]string{ute.Field: "must be " + jsonKind(ute.Type.Kind().String())}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return badRequest("request body must be a JSON object: %v", err)
	}
	if dec.More() {
		return badRequest("request body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("request body must be one JSON object")
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

// route is one API endpoint. The table of routes both registers the
// handlers and is what tests and the OpenAPI check enumerate.
type route struct {
	method, path string
	// public routes need no session.
	public bool
	// actions: the caller needs at least one of them; checked before the
	// handler runs. Empty on a non-public route: any signed-in user.
	actions []authz.Action
	// duringPasswordChange routes stay open while the user must change
	// their password.
	duringPasswordChange bool
	handle               func(w http.ResponseWriter, r *http.Request) error
}

// RouteInfo describes one API route for tests and documentation.
type RouteInfo struct {
	Method, Path string
	Public       bool
	// Actions: the caller needs at least one (none: any signed-in user).
	Actions []authz.Action
}

// APIRoutes lists the routes under /api/v1.
func (s *Server) APIRoutes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.apiRoutes() {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path, Public: rt.public, Actions: rt.actions})
	}
	return out
}

func (s *Server) apiRoutes() []route {
	const v1 = "/api/v1"
	a := func(as ...authz.Action) []authz.Action { return as }
	return []route{
		{method: "GET", path: v1 + "/server", public: true, handle: s.handleServerInfo},
		{method: "GET", path: v1 + "/openapi.json", public: true, handle: s.handleOpenAPI},
		{method: "POST", path: v1 + "/dev/join", public: true, handle: s.handleDevJoin},

		{method: "POST", path: v1 + "/auth/signin", public: true, handle: s.handleSignIn},
		{method: "POST", path: v1 + "/auth/signout", duringPasswordChange: true, handle: s.handleSignOut},
		{method: "GET", path: v1 + "/me", duringPasswordChange: true, handle: s.handleMe},
		{method: "POST", path: v1 + "/me/password", duringPasswordChange: true, handle: s.handleChangePassword},

		{method: "GET", path: v1 + "/districts", actions: a(authz.DistrictList), handle: s.handleListDistricts},
		{method: "POST", path: v1 + "/districts", actions: a(authz.DistrictCreate), handle: s.handleCreateDistrict},
		{method: "GET", path: v1 + "/schools", actions: a(authz.SchoolList), handle: s.handleListSchools},
		{method: "POST", path: v1 + "/schools", actions: a(authz.SchoolCreate), handle: s.handleCreateSchool},
		{method: "GET", path: v1 + "/schools/{id}", actions: a(authz.SchoolRead), handle: s.handleGetSchool},
		{method: "PATCH", path: v1 + "/schools/{id}", actions: a(authz.SchoolUpdate), handle: s.handleUpdateSchool},
		{method: "GET", path: v1 + "/users", actions: a(authz.UserList), handle: s.handleListUsers},
		{method: "POST", path: v1 + "/users", actions: a(authz.UserCreate), handle: s.handleCreateUser},
		{method: "GET", path: v1 + "/users/{id}", actions: a(authz.UserRead), handle: s.handleGetUser},
		{method: "PATCH", path: v1 + "/users/{id}", actions: a(authz.UserUpdate), handle: s.handleUpdateUser},
		{method: "POST", path: v1 + "/users/{id}/password", actions: a(authz.UserResetPassword), handle: s.handleResetPassword},

		{method: "GET", path: v1 + "/subjects", actions: a(authz.SubjectList), handle: s.handleListSubjects},
		{method: "POST", path: v1 + "/subjects", actions: a(authz.SubjectCreate), handle: s.handleCreateSubject},
		{method: "PATCH", path: v1 + "/subjects/{id}", actions: a(authz.SubjectUpdate), handle: s.handleUpdateSubject},
		{method: "GET", path: v1 + "/knowledge-points", actions: a(authz.KnowledgeList), handle: s.handleListKnowledgePoints},
		{method: "POST", path: v1 + "/knowledge-points/import", actions: a(authz.KnowledgeImport), handle: s.handleImportKnowledgePoints},
		{method: "GET", path: v1 + "/targets", actions: a(authz.TargetRead), handle: s.handleListTargets},
		{method: "PUT", path: v1 + "/schools/{id}/targets/{year}", actions: a(authz.TargetWrite), handle: s.handleSetTarget},

		{method: "GET", path: v1 + "/import/template", actions: a(authz.ImportTemplate), handle: s.handleImportTemplate},
		{method: "POST", path: v1 + "/import", actions: a(authz.ImportRun), handle: s.handleImport},

		{method: "POST", path: v1 + "/rooms/token", actions: a(authz.RoomJoin, authz.RoomObserve), handle: s.handleRoomToken},
		{method: "GET", path: v1 + "/activity", actions: a(authz.ActivityRead), handle: s.handleActivity},
		{method: "GET", path: v1 + "/activity/recent", actions: a(authz.ActivityRead), handle: s.handleRecentActivity},

		{method: "GET", path: v1 + "/ws", handle: s.handleEvents},
		{method: "POST", path: v1 + "/tutoring/requests", actions: a(authz.TutoringAsk), handle: s.handleAsk},
		{method: "GET", path: v1 + "/tutoring/requests/current", actions: a(authz.TutoringAsk), handle: s.handleCurrentRequest},
		{method: "POST", path: v1 + "/tutoring/requests/{id}/cancel", actions: a(authz.TutoringAsk), handle: s.handleCancelRequest},
		{method: "GET", path: v1 + "/tutoring/requests/{id}/image", actions: a(authz.TutoringAsk, authz.TutoringTeach), handle: s.handleRequestImage},
		{method: "GET", path: v1 + "/tutoring/sessions", actions: a(authz.TutoringHistory), handle: s.handleSessionHistory},
		{method: "GET", path: v1 + "/tutoring/sessions/{id}", actions: a(authz.TutoringHistory, authz.TutoringReview), handle: s.handleGetSession},
		{method: "POST", path: v1 + "/tutoring/sessions/{id}/token", actions: a(authz.TutoringHistory), handle: s.handleSessionToken},
		{method: "POST", path: v1 + "/tutoring/sessions/{id}/end", actions: a(authz.TutoringHistory), handle: s.handleEndSession},
		{method: "PUT", path: v1 + "/tutoring/sessions/{id}/rating", actions: a(authz.TutoringAsk), handle: s.handleRateSession},
		{method: "PUT", path: v1 + "/tutoring/sessions/{id}/note", actions: a(authz.TutoringTeach), handle: s.handleNoteSession},
		{method: "GET", path: v1 + "/tutoring/satisfaction", actions: a(authz.TutoringReview), handle: s.handleSatisfaction},
	}
}

func (s *Server) registerAPI(mux *http.ServeMux) {
	for _, rt := range s.apiRoutes() {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{Code: "not_found", Message: "no such API: " + r.Method + " " + r.URL.Path})
	})
}

// wrap puts the checks every route shares in front of its handler:
// same-origin writes, the session, CSRF, the pending password change and
// the route's actions.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, err := s.gate(r, rt)
		if err == nil {
			err = rt.handle(w, r)
		}
		if err != nil {
			s.apiFail(w, r, err)
		}
	})
}

// gate returns the request carrying its signed-in user, or why it may not proceed.
func (s *Server) gate(r *http.Request, rt route) (*http.Request, error) {
	if len(r.URL.RawQuery) > maxQuery {
		return r, errLongQuery
	}
	unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
	if unsafe && !sameOrigin(r) {
		return r, errCSRF
	}
	if rt.public {
		return r, nil
	}
	p, err := s.loadSession(r)
	if err != nil {
		return r, err
	}
	if unsafe && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(p.session.CSRF)) != 1 {
		return r, errCSRF
	}
	if p.user.MustChangePassword && !rt.duringPasswordChange {
		return r, errMustChange
	}
	r = r.WithContext(withPrincipal(r.Context(), p))
	if len(rt.actions) == 0 {
		return r, nil
	}
	for _, a := range rt.actions {
		if _, err := s.authorize(r, a); err == nil {
			return r, nil
		}
	}
	return r, errForbidden
}

// sameOrigin rejects a write whose Origin header names another site than
// the one the request is addressed to. No Origin (a non-browser client, an
// old browser on a same-origin request) passes; the CSRF token still guards.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// target is something an action is taken on: a place or an account.
type target interface {
	permits(u *storage.User, a authz.Action) bool
}

// place is a district and (optionally) one of its schools.
type place struct {
	district storage.DistrictID
	school   storage.SchoolID
}

func (p place) permits(u *storage.User, a authz.Action) bool {
	return authz.ScopeOf(u, a).Covers(p.district, p.school)
}

func schoolPlace(sc storage.School) place { return place{sc.DistrictID, sc.ID} }

// account is a user account as it is or will be.
type account authz.Subject

func (t account) permits(u *storage.User, a authz.Action) bool {
	switch a {
	case authz.UserCreate, authz.UserUpdate, authz.UserResetPassword:
		return authz.CanManageUser(u, a, authz.Subject(t))
	}
	return place{t.District, t.School}.permits(u, a)
}

func accountOf(u storage.User) account {
	return account{District: u.DistrictID, School: u.SchoolID, Roles: u.Roles}
}

// authorize is the one gate of the API: the signed-in user may take action
// a, and at every target given (none: somewhere). It returns the user, or
// errUnauthenticated or errForbidden.
func (s *Server) authorize(r *http.Request, a authz.Action, targets ...target) (*principal, error) {
	p := principalFrom(r.Context())
	if p == nil {
		return nil, errUnauthenticated
	}
	if authz.ScopeOf(&p.user, a).Empty() {
		return nil, errForbidden
	}
	for _, t := range targets {
		if !t.permits(&p.user, a) {
			return nil, errForbidden
		}
	}
	return p, nil
}

// actor is who the store records as making a change.
func actor(r *http.Request) storage.Actor {
	a := storage.Actor{IP: clientIP(r)}
	if p := principalFrom(r.Context()); p != nil {
		a.UserID = p.user.ID
	}
	return a
}

// clientIP is the address the request came from. Forwarding headers are
// not trusted: anybody can set them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// pathID parses the path value name as a positive id.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// listPage reads limit (default 50, at most 500) and offset.
func listPage(r *http.Request, f fieldErrors) (limit, offset int) {
	q := r.URL.Query()
	limit, offset = 50, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			f.add("limit", "must be a number from 1 to 500")
		} else {
			limit = n
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			f.add("offset", "must be a number, 0 or more")
		} else {
			offset = n
		}
	}
	return limit, offset
}

// queryBool reads an optional true/false query parameter.
func queryBool(r *http.Request, name string, f fieldErrors) *bool {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		f.add(name, "must be true or false")
		return nil
	}
	return &b
}

// queryID reads an optional positive id query parameter.
func queryID(r *http.Request, name string, f fieldErrors) int64 {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		f.add(name, "must be a positive number")
		return 0
	}
	return id
}

// querySearch reads a list's search text q: at most maxSearch characters.
func querySearch(r *http.Request, f fieldErrors) string {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > maxSearch {
		f.add("q", fmt.Sprintf("at most %d characters", maxSearch))
		return ""
	}
	return q
}

// hasInvisible reports whether s holds a character that has no place in a
// name or a one-line text (see textcheck.Invisible).
func hasInvisible(s string) bool { return textcheck.Invisible(s) }

// checkText trims *s and checks it has between min and max characters and
// no control or format characters.
func checkText(f fieldErrors, field string, s *string, min, max int) {
	*s = strings.TrimSpace(*s)
	switch n := utf8.RuneCountInString(*s); {
	case !utf8.ValidString(*s):
		f.add(field, "must be valid UTF-8")
	case n == 0 && min > 0:
		f.add(field, "required")
	case n < min:
		f.add(field, fmt.Sprintf("at least %d characters", min))
	case n > max:
		f.add(field, fmt.Sprintf("at most %d characters", max))
	case hasInvisible(*s):
		f.add(field, "must not contain control or invisible formatting characters")
	}
}

// checkCode trims *s and checks it is a code: 1–max letters, digits, '-', '_' or '.'.
func checkCode(f fieldErrors, field string, s *string, max int) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		f.add(field, "required")
		return
	}
	if len(*s) > max || strings.IndexFunc(*s, func(c rune) bool {
		return !(c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_' || c == '.'))
	}) >= 0 {
		f.add(field, fmt.Sprintf("1 to %d letters, digits, '-', '_' or '.'", max))
	}
}

func (s *Server) handleServerInfo(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"version":     s.version,
		"protocol":    CompatVersion,
		"development": s.cfg.Development,
	})
	return nil
}

type devJoinRequest struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type joinResponse struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	Identity string `json:"identity"`
	Room     string `json:"room"`
	Role     string `json:"role"`
}

// handleDevJoin mints a room token for a name and role without an account.
// It exists only in development mode, so a newcomer can try a class at once.
func (s *Server) handleDevJoin(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.Development {
		return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: "joining without an account is only available in development mode"}
	}
	var req devJoinRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Name = strings.TrimSpace(req.Name)
	req.Room = strings.TrimSpace(req.Room)
	if req.Room == "" {
		req.Room = "demo"
	}
	f := fieldErrors{}
	checkText(f, "name", &req.Name, 1, 64)
	checkRoom(f, req.Room)
	role, err := token.ParseRole(req.Role)
	if err != nil || (role != token.RoleTeacher && role != token.RoleStudent) {
		f.add("role", "must be teacher or student")
	}
	if err := f.err(); err != nil {
		return err
	}
	identity := identityFor(req.Name)
	return s.writeRoomToken(w, r, req.Room, identity, req.Name, role)
}

// checkRoom checks a room name: at most 64 characters, no spaces, slashes,
// control or format characters.
func checkRoom(f fieldErrors, room string) {
	if room == "" {
		f.add("room", "required")
		return
	}
	if utf8.RuneCountInString(room) > 64 || !utf8.ValidString(room) || hasInvisible(room) || strings.IndexFunc(room, func(c rune) bool {
		return unicode.IsSpace(c) || c == '/'
	}) >= 0 {
		f.add("room", "at most 64 characters, no spaces or slashes")
	}
}

// writeRoomToken mints and answers a token for room.
func (s *Server) writeRoomToken(w http.ResponseWriter, r *http.Request, room, identity, name string, role token.Role) error {
	key, secret := s.devKey()
	tok, err := token.Mint(key, secret, token.Params{Room: room, Identity: identity, Name: name, Role: role, ValidFor: token.JoinValidFor})
	if err != nil {
		return fmt.Errorf("mint token: %w", err)
	}
	scheme := "ws://"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "wss://"
	}
	writeJSON(w, http.StatusOK, joinResponse{URL: scheme + r.Host, Token: tok, Identity: identity, Room: room, Role: string(role)})
	return nil
}

// devKey is the first API key in sorted order.
func (s *Server) devKey() (string, string) {
	keys := make([]string, 0, len(s.cfg.Keys))
	for k := range s.cfg.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0], s.cfg.Keys[keys[0]]
}

// identityFor makes a room-unique identity from a display name: two people
// may share a name, never an identity.
func identityFor(name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := strings.Map(func(c rune) rune {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			return c
		}
		return '-'
	}, name)
	if utf8.RuneCountInString(base) > 32 {
		base = string([]rune(base)[:32])
	}
	return base + "-" + hex.EncodeToString(b[:])
}
