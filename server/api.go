package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"yunke/server/token"
)

// apiError is the JSON error shape of every API: {"error": {...}}.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
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

const maxJSONBody = 16 << 10

func (s *Server) registerAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/server", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"version":     s.version,
			"protocol":    CompatVersion,
			"development": s.cfg.Development,
		})
	})
	mux.HandleFunc("POST /api/v1/dev/join", s.handleDevJoin)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{Code: "not_found", Message: "no such API: " + r.Method + " " + r.URL.Path})
	})
}

type devJoinRequest struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type devJoinResponse struct {
	URL      string `json:"url"`
	Token    string `json:"token"`
	Identity string `json:"identity"`
	Room     string `json:"room"`
	Role     string `json:"role"`
}

// handleDevJoin mints a room token for a name and role without an account.
// It exists only in development mode, so a newcomer can try a class at once.
func (s *Server) handleDevJoin(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Development {
		writeError(w, http.StatusForbidden, apiError{Code: "forbidden", Message: "joining without an account is only available in development mode"})
		return
	}
	var req devJoinRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, apiError{Code: "too_large", Message: "request body too large"})
			return
		}
		writeError(w, http.StatusBadRequest, apiError{Code: "bad_request", Message: "request body must be JSON: {room, name, role}"})
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	req.Room = strings.TrimSpace(req.Room)
	if req.Room == "" {
		req.Room = "demo"
	}
	fields := map[string]string{}
	switch n := utf8.RuneCountInString(req.Name); {
	case n == 0:
		fields["name"] = "required"
	case n > 64:
		fields["name"] = "at most 64 characters"
	case strings.IndexFunc(req.Name, unicode.IsControl) >= 0:
		fields["name"] = "must not contain control characters"
	}
	if utf8.RuneCountInString(req.Room) > 64 || strings.IndexFunc(req.Room, func(c rune) bool {
		return unicode.IsControl(c) || unicode.IsSpace(c) || c == '/'
	}) >= 0 {
		fields["room"] = "at most 64 characters, no spaces or slashes"
	}
	role, err := token.ParseRole(req.Role)
	if err != nil || role == token.RoleObserver {
		fields["role"] = "must be teacher or student"
	}
	if len(fields) > 0 {
		writeError(w, http.StatusBadRequest, apiError{Code: "invalid", Message: "please correct the highlighted fields", Fields: fields})
		return
	}
	key, secret := s.devKey()
	identity := identityFor(req.Name)
	tok, err := token.Mint(key, secret, token.Params{Room: req.Room, Identity: identity, Name: req.Name, Role: role})
	if err != nil {
		writeError(w, http.StatusInternalServerError, apiError{Code: "internal", Message: "could not mint a token"})
		s.log.Error("mint dev token", "err", err)
		return
	}
	scheme := "ws://"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "wss://"
	}
	writeJSON(w, http.StatusOK, devJoinResponse{URL: scheme + r.Host, Token: tok, Identity: identity, Room: req.Room, Role: string(role)})
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
